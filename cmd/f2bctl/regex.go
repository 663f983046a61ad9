package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/datedetect"
	"github.com/f2bd/f2bd/pkg/filter"
)

// filterRefRE is a filter name with optional [k=v] parameters.
var filterRefRE = regexp.MustCompile(`^[\w.@-]+(?:\[.*\])?$`)

// regexCommand is `f2bctl regex`, f2bd's fail2ban-regex:
//
//	f2bctl regex [-c CONFDIR] [--json] [--explain] [--now UNIX] [--usedns MODE] [--raw]
//	             LOG FILTER[opts] [IGNOREREGEX]
//
// LOG is a file or one literal line; FILTER a filter name of CONFDIR/filter.d
// (with parameters such as sshd[mode=aggressive]), a .conf path or a
// literal failregex; IGNOREREGEX a literal ignoreregex. Every failregex is
// tried on each line, as fail2ban-regex does. It prints a summary ending in
// fail2ban-regex's "Lines:" line, or with --json one object per failure. It
// returns 0, or 255 on errors.
func regexCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("f2bctl regex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confDir := fs.String("c", "/etc/fail2ban", "configuration `dir`ectory holding filter.d")
	asJSON := fs.Bool("json", false, "print one JSON object per failure: lineno, fid, time, groups")
	explain := fs.Bool("explain", false, "print which regex engine runs each regex, and why")
	nowFlag := fs.String("now", "", "clock as Unix `seconds` (for dates without a year)")
	useDNS := fs.String("usedns", "", "usedns `mode` (yes, warn, no, raw; default: the filter's, else warn)")
	raw := fs.Bool("raw", false, "do not normalise or resolve failure ids (fail2ban-regex --raw)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: f2bctl regex [-c CONFDIR] [--json] [--explain] [--now UNIX] LOG FILTER[opts] [IGNOREREGEX]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return 255
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return 255
	}
	if err := runRegex(regexArgs{
		confDir: *confDir, json: *asJSON, explain: *explain, now: *nowFlag, useDNS: *useDNS, raw: *raw,
		log: fs.Arg(0), filter: fs.Arg(1), ignore: fs.Arg(2),
	}, stdout); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 255
	}
	return 0
}

// reorderFlags moves flags after the positional arguments in front of them
// (fail2ban-regex accepts options anywhere). A lone "--" ends the flags.
func reorderFlags(args []string) []string {
	valued := map[string]bool{"-c": true, "--c": true, "-now": true, "--now": true, "-usedns": true, "--usedns": true}
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1 && !strings.Contains(a, " "):
			flags = append(flags, a)
			if valued[a] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}

type regexArgs struct {
	confDir, now, useDNS, log, filter, ignore string
	json, explain, raw                        bool
}

// jsonFailure is one --json output line.
type jsonFailure struct {
	Line   int               `json:"lineno"`
	FID    string            `json:"fid"`
	Time   float64           `json:"time"`
	Groups map[string]string `json:"groups"`
}

func runRegex(a regexArgs, stdout io.Writer) error {
	loc, err := datedetect.LocalFromTZ(os.Getenv("TZ"))
	if err != nil {
		return fmt.Errorf("TZ: %w", err)
	}
	clock := time.Now
	if a.now != "" {
		sec, err := strconv.ParseFloat(a.now, 64)
		if err != nil {
			return fmt.Errorf("--now %q: %w", a.now, err)
		}
		t := time.UnixMicro(int64(sec * 1e6))
		clock = func() time.Time { return t }
	}
	// the summary counts failures by failregex; only --json prints their
	// groups
	opts := filter.Options{CheckAll: true, RawHost: a.raw, Location: loc, Now: clock, CountOnly: !a.json}
	what, err := loadRegexFilter(a.confDir, a.filter, &opts)
	if err != nil {
		return err
	}
	if a.ignore != "" {
		opts.IgnoreRegex = append(opts.IgnoreRegex, a.ignore)
	}
	if a.useDNS != "" {
		opts.UseDNS = a.useDNS
	}
	f, err := filter.New(opts)
	if err != nil {
		return fmt.Errorf("filter %s: %w", a.filter, err)
	}
	if os.Getenv("GOGC") == "" {
		// Each match (a third of an sshd log's lines, NOFAIL ones
		// included) returns its failures in new memory: at the
		// collector's default the live heap of a few megabytes was
		// collected 101 times over a 1M-line log, at 400 23 times, for
		// a run 20-35% shorter and a peak RSS of 26-31 MB instead of 16
		// (fail2ban-regex: 584 MB). A one-shot run can afford it.
		debug.SetGCPercent(400)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if !a.json {
		fmt.Fprintf(w, "\nRunning tests\n=============\n\nUse   failregex %s\n", what)
		if a.ignore != "" {
			fmt.Fprintf(w, "Use ignoreregex line : %s\n", a.ignore)
		}
	}
	if a.explain {
		for _, e := range f.Explain() {
			fmt.Fprintf(w, "%s[%d]: %s\n    %s\n", e.Kind, e.Index, e.Engine, e.Source)
		}
	}
	var src io.Reader
	if st, err := os.Stat(a.log); err == nil && !st.IsDir() {
		fh, err := os.Open(a.log)
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		defer fh.Close()
		src = fh
		if !a.json {
			fmt.Fprintf(w, "Use         log file : %s\n", a.log)
		}
	} else {
		src = strings.NewReader(a.log)
		if !a.json {
			fmt.Fprintf(w, "Use      single line : %s\n", a.log)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var tested, ignored, matched, missed int
	perRegex := make([]int, len(opts.FailRegex))
	var errs []error
	sc := bufio.NewScanner(src)
	sc.Buffer(nil, 1<<20)
	lineno := 0
	for sc.Scan() {
		lineno++
		// the line aliases the scanner's buffer, which the next Scan
		// overwrites: the filter copies what it keeps of a line (the
		// daemon hands it lines cut from recycled buffers alike)
		b := sc.Bytes()
		line := strings.TrimRight(unsafe.String(unsafe.SliceData(b), len(b)), "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tested++
		before := f.Buffer()
		full := len(before) >= f.MaxLines()
		res, err := f.ProcessLine(line)
		if err != nil && len(errs) < 10 {
			errs = append(errs, fmt.Errorf("line %d: %w", lineno, err))
		}
		found, nofail := 0, false
		for _, r := range res {
			if !r.Pending {
				perRegex[r.Regex]++
			}
			if r.NoFail {
				nofail = true
				continue
			}
			found++ // fail2ban-regex counts pending multi-line matches as matched
			if r.Pending {
				continue
			}
			if a.json {
				if err := enc.Encode(jsonFailure{Line: lineno, FID: r.ID, Time: float64(r.Time.UnixMicro()) / 1e6, Groups: r.Groups}); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
		}
		if f.MaxLines() > 1 {
			// Earlier lines a multi-line match consumed turn from missed
			// to matched, as fail2ban-regex counts them.
			after := map[string]int{}
			for _, l := range f.Buffer() {
				after[l]++
			}
			if full && len(before) > 0 {
				before = before[1:]
			}
			for _, l := range before {
				if after[l] > 0 {
					after[l]--
					continue
				}
				matched++
				missed--
			}
		}
		switch {
		case nofail || f.Ignored():
			ignored++
		case found > 0:
			matched++
		default:
			missed++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	if a.json {
		return nil
	}
	total := 0
	for _, n := range perRegex {
		total += n
	}
	fmt.Fprintf(w, "\nResults\n=======\n\nFailregex: %d total\n", total)
	for i, n := range perRegex {
		if n > 0 {
			fmt.Fprintf(w, "|  %d) [%d] %s\n", i+1, n, opts.FailRegex[i])
		}
	}
	for _, e := range errs {
		fmt.Fprintf(w, "WARNING: %v\n", e)
	}
	fmt.Fprintf(w, "\nLines: %d lines, %d ignored, %d matched, %d missed\n", tested, ignored, matched, missed)
	return nil
}

// loadRegexFilter fills opts from FILTER: a .conf path, a filter name of
// confDir/filter.d with optional parameters, or a literal failregex. It
// returns a description for the summary.
func loadRegexFilter(confDir, spec string, opts *filter.Options) (string, error) {
	fill := func(def *config.Filter) {
		opts.PrefRegex, opts.FailRegex, opts.IgnoreRegex = def.PrefRegex, def.FailRegex, def.IgnoreRegex
		opts.DatePattern, opts.MaxLines = def.DatePattern, def.MaxLines
		opts.UseDNS = def.Options["usedns"]
	}
	name, params, perr := config.ParseOptions(spec)
	if perr == nil && strings.HasSuffix(name, ".conf") {
		if _, err := os.Stat(name); err == nil {
			abs, err := filepath.Abs(name)
			if err != nil {
				return "", fmt.Errorf("filter %s: %w", spec, err)
			}
			dir := filepath.Dir(abs)
			if filepath.Base(dir) != "filter.d" {
				return "", fmt.Errorf("filter %s: a filter file must be in a filter.d directory", spec)
			}
			base := strings.TrimSuffix(filepath.Base(abs), ".conf")
			def, err := config.LoadFilter(filepath.Dir(dir), base, params)
			if err != nil {
				return "", err
			}
			fill(def)
			return fmt.Sprintf("filter file : %s, basedir: %s", base, filepath.Dir(dir)), nil
		}
	}
	if perr == nil && filterRefRE.MatchString(spec) {
		for _, ext := range []string{".conf", ".local"} {
			if _, err := os.Stat(filepath.Join(confDir, "filter.d", name+ext)); err == nil {
				def, err := config.LoadFilter(confDir, name, params)
				if err != nil {
					return "", err
				}
				fill(def)
				return fmt.Sprintf("filter file : %s, basedir: %s", name, confDir), nil
			}
		}
	}
	if strings.TrimSpace(spec) == "" {
		return "", errors.New("empty failregex")
	}
	opts.FailRegex = []string{spec}
	return "line : " + spec, nil
}
