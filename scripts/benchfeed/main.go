// Command benchfeed times f2bd on a log for scripts/bench-daemon.sh: it
// appends a source file to the file f2bd follows, then asks f2bd for its
// jails' "Total failed" every 20 ms, from this one process, until the
// count reaches -want (or, without -want, has not changed for -settle). It
// prints the seconds from the start of the append to the last change
// seen, and the counts.
//
//	benchfeed -s SOCKET -src FILE -dst FILE -jails a,b,... [-want N] [-settle 2s]
//
// Polling from one process keeps the clock's own cost small: a shell loop
// that starts f2bctl and awk for every look takes about 10 ms of CPU each
// time, CPU the daemon under test would otherwise have. Each look still
// costs f2bd a status (with its list of bans, read from the kernel), so
// they are not made more often than the clock needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/f2bd/f2bd/pkg/control"
)

func main() {
	sock := flag.String("s", "", "f2bd's control `socket`")
	src := flag.String("src", "", "log `file` to append")
	dst := flag.String("dst", "", "`file` f2bd follows")
	jails := flag.String("jails", "sshd", "comma-separated `jails` whose counts are summed")
	want := flag.Int64("want", 0, "stop when the failures counted reach `N` (0: when they settle)")
	settle := flag.Duration("settle", 2*time.Second, "without -want, stop after this long without a change")
	every := flag.Duration("every", 20*time.Millisecond, "time between two looks at the counts")
	flag.Parse()
	if *sock == "" || *src == "" || *dst == "" {
		fmt.Fprintln(os.Stderr, "benchfeed: -s, -src and -dst are needed")
		os.Exit(2)
	}
	if err := run(*sock, *src, *dst, strings.Split(*jails, ","), *want, *settle, *every); err != nil {
		fmt.Fprintln(os.Stderr, "benchfeed:", err)
		os.Exit(1)
	}
}

// counts sums the jails' Total failed and Total banned.
func counts(sock string, jails []string) (failed, banned int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range jails {
		var st control.JailStatus
		if err := control.Call(ctx, sock, []string{"status", j}, &st); err != nil {
			return 0, 0, fmt.Errorf("status %s: %w", j, err)
		}
		failed += st.TotalFailed
		banned += st.TotalBanned
	}
	return failed, banned, nil
}

func run(sock, src, dst string, jails []string, want int64, settle, every time.Duration) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	t0 := time.Now()
	// the append runs beside the looks, as a writing program would
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		copied <- err
	}()
	last, lastAt := int64(-1), t0
	for {
		got, _, err := counts(sock, jails)
		if err != nil {
			return err
		}
		now := time.Now()
		if got != last {
			last, lastAt = got, now
		}
		if want > 0 && got >= want {
			break
		}
		if now.Sub(lastAt) >= settle {
			break // settled (or stuck: the caller compares the counts)
		}
		time.Sleep(every)
	}
	if err := <-copied; err != nil {
		return fmt.Errorf("appending %s to %s: %w", src, dst, err)
	}
	_, banned, err := counts(sock, jails)
	if err != nil {
		return err
	}
	// seconds, failures counted, bans decided
	fmt.Printf("%.3f %d %d\n", lastAt.Sub(t0).Seconds(), last, banned)
	return nil
}
