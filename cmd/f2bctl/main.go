// Command f2bctl controls a running f2bd, speaking fail2ban-client's
// commands and printing their answers as fail2ban-client does.
//
//	f2bctl [-s SOCKET] ping
//	f2bctl [-s SOCKET] status [JAIL]
//	f2bctl [-s SOCKET] banned [IP...]
//	f2bctl [-s SOCKET] set JAIL banip IP... | -      (- reads addresses from stdin)
//	f2bctl [-s SOCKET] set JAIL unbanip [--report-absent] IP...
//	f2bctl [-s SOCKET] unban --all | IP...
//	f2bctl [-s SOCKET] get JAIL banip [--with-time]
//	f2bctl [-s SOCKET] stop
//	f2bctl regex [-c CONFDIR] [--json] [--explain] [--now UNIX] LOG FILTER[opts] [IGNOREREGEX]
//	f2bctl [-c CONFDIR] -d | -t
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/f2bd/f2bd/pkg/control"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is f2bctl; it returns the exit status (255 on error, as
// fail2ban-client).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("f2bctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("s", "/run/f2bd/f2bd.sock", "f2bd's control socket `path`")
	confDir := fs.String("c", "/etc/fail2ban", "configuration `dir`ectory (for -d and -t)")
	dump := fs.Bool("d", false, "print the resolved configuration as fail2ban-client -d does (one JSON array per command) and exit")
	check := fs.Bool("t", false, "test the configuration and exit (non-zero on errors)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for an answer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: f2bctl [-c CONFDIR] -d | -t
       f2bctl [-s SOCKET] COMMAND
  ping | status [JAIL] | banned [IP...] | stop
  set JAIL banip IP... | set JAIL banip -   (addresses from stdin, one per line)
  set JAIL unbanip [--report-absent] IP... | unban --all | unban IP...
  get JAIL banip [--with-time]
  regex [-c CONFDIR] [--json] [--explain] [--now UNIX] LOG FILTER[opts] [IGNOREREGEX]`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 255
	}
	switch {
	case *dump:
		if err := dumpConfig(*confDir, stdout); err != nil {
			fmt.Fprintf(stderr, "ERROR  %v\n", err)
			return 255
		}
		return 0
	case *check:
		if err := testConfig(*confDir, stdout); err != nil {
			fmt.Fprintf(stderr, "ERROR  %v\n", err)
			return 255
		}
		return 0
	}
	argv := fs.Args()
	if len(argv) > 0 && argv[0] == "regex" {
		rargs := argv[1:]
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "c" {
				rargs = append([]string{"-c", *confDir}, rargs...)
			}
		})
		return regexCommand(rargs, stdout, stderr)
	}
	if len(argv) == 0 {
		fs.Usage()
		return 255
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if len(argv) == 4 && argv[0] == "set" && argv[2] == "banip" && argv[3] == "-" {
		addrs, err := readAddrs(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "ERROR  reading addresses from stdin: %v\n", err)
			return 255
		}
		argv = append(argv[:3], addrs...)
	}
	if err := command(ctx, *socket, argv, stdout, stderr); err != nil {
		var se *control.ServerError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "ERROR  %s\n", se.Msg)
		} else {
			fmt.Fprintf(stderr, "ERROR  %v. Is f2bd running?\n", err)
		}
		return 255
	}
	return 0
}

// readAddrs reads one address per line, skipping blank lines and # comments.
func readAddrs(r io.Reader) ([]string, error) {
	var addrs []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			addrs = append(addrs, l)
		}
	}
	return addrs, sc.Err()
}

func command(ctx context.Context, socket string, argv []string, w, errw io.Writer) error {
	switch {
	case argv[0] == "set" && len(argv) >= 3 && argv[2] == "banip":
		var res control.BanResult
		if err := control.Call(ctx, socket, argv, &res); err != nil {
			return err
		}
		for _, a := range res.Ignored {
			fmt.Fprintf(errw, "not banned: %s is never banned by jail %s (loopback, ignoreip or this host)\n", a, argv[1])
		}
		fmt.Fprintln(w, res.Banned)
	case argv[0] == "get" && len(argv) >= 3 && argv[2] == "banip":
		var list []string
		if err := control.Call(ctx, socket, argv, &list); err != nil {
			return err
		}
		sep := " "
		if len(argv) > 3 && argv[3] == "--with-time" {
			sep = "\n"
		}
		fmt.Fprintln(w, strings.Join(list, sep))
	case argv[0] == "ping":
		var pong string
		if err := control.Call(ctx, socket, argv, &pong); err != nil {
			return err
		}
		fmt.Fprintf(w, "Server replied: %s\n", pong)
	case argv[0] == "status" && len(argv) == 1:
		var st control.Status
		if err := control.Call(ctx, socket, argv, &st); err != nil {
			return err
		}
		printStatus(w, st)
	case argv[0] == "status" && len(argv) == 2:
		var st control.JailStatus
		if err := control.Call(ctx, socket, argv, &st); err != nil {
			return err
		}
		printJailStatus(w, st)
	case argv[0] == "banned" && len(argv) == 1:
		var all []control.JailBans
		if err := control.Call(ctx, socket, argv, &all); err != nil {
			return err
		}
		fmt.Fprintln(w, formatBanned(all))
	case argv[0] == "banned":
		var jails [][]string
		if err := control.Call(ctx, socket, argv, &jails); err != nil {
			return err
		}
		fmt.Fprintln(w, pyList(jails))
	default:
		var out any
		if err := control.Call(ctx, socket, argv, &out); err != nil {
			return err
		}
		switch v := out.(type) {
		case string:
			fmt.Fprintln(w, v)
		case float64: // counts, as JSON numbers
			fmt.Fprintln(w, int64(v))
		case nil:
		default:
			fmt.Fprintln(w, v)
		}
	}
	return nil
}

func printStatus(w io.Writer, st control.Status) {
	fmt.Fprintln(w, "Status")
	fmt.Fprintf(w, "|- Number of jail:\t%d\n", len(st.Jails))
	fmt.Fprintf(w, "`- Jail list:\t%s\n", strings.Join(st.Jails, ", "))
}

func printJailStatus(w io.Writer, st control.JailStatus) {
	fmt.Fprintf(w, "Status for the jail: %s\n", st.Name)
	fmt.Fprintln(w, "|- Filter")
	fmt.Fprintf(w, "|  |- Currently failed:\t%d\n", st.CurrentlyFailed)
	fmt.Fprintf(w, "|  |- Total failed:\t%d\n", st.TotalFailed)
	if st.JournalMatches != "" {
		fmt.Fprintf(w, "|  `- Journal matches:\t%s\n", st.JournalMatches)
	} else {
		fmt.Fprintf(w, "|  `- File list:\t%s\n", strings.Join(st.Files, " "))
	}
	fmt.Fprintln(w, "`- Actions")
	fmt.Fprintf(w, "   |- Currently banned:\t%d\n", st.CurrentlyBanned)
	fmt.Fprintf(w, "   |- Total banned:\t%d\n", st.TotalBanned)
	fmt.Fprintf(w, "   `- Banned IP list:\t%s\n", strings.Join(st.Banned, " "))
}

// formatBanned prints every jail's bans as fail2ban-client's "banned"
// does: a Python list of one-key dicts.
func formatBanned(all []control.JailBans) string {
	parts := make([]string, len(all))
	for i, jb := range all {
		parts[i] = "{" + pyStr(jb.Jail) + ": " + pyStrs(jb.Addrs) + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pyList(ls [][]string) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = pyStrs(l)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pyStrs(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = pyStr(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// pyStr quotes s as Python's repr does for plain text.
func pyStr(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
