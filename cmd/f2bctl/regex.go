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
	"runtime"
	"runtime/debug"
	"slices"
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
		// collected 31 times over a 1M-line log, at 400 10 times, for
		// 12% less CPU time and a peak RSS of 25-27 MB instead of 15-16
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
	t := &tally{f: f, json: a.json, enc: enc, perRegex: make([]int, len(opts.FailRegex))}
	sc := bufio.NewScanner(src)
	sc.Buffer(nil, 1<<20)
	if f.MaxLines() <= 1 {
		err = matchBatches(f, sc, t)
	} else {
		err = matchLines(f, sc, t)
	}
	if err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	if a.json {
		return nil
	}
	total := 0
	for _, n := range t.perRegex {
		total += n
	}
	fmt.Fprintf(w, "\nResults\n=======\n\nFailregex: %d total\n", total)
	for i, n := range t.perRegex {
		if n > 0 {
			fmt.Fprintf(w, "|  %d) [%d] %s\n", i+1, n, opts.FailRegex[i])
		}
	}
	for _, e := range t.errs {
		fmt.Fprintf(w, "WARNING: %v\n", e)
	}
	fmt.Fprintf(w, "\nLines: %d lines, %d ignored, %d matched, %d missed\n", t.tested, t.ignored, t.matched, t.missed)
	return nil
}

// tally counts the lines of a run as fail2ban-regex does, and writes the
// failures with --json.
type tally struct {
	f                                *filter.Filter
	json                             bool
	enc                              *json.Encoder
	tested, ignored, matched, missed int
	perRegex                         []int
	errs                             []error // the first ten
}

// line counts a tested line from what ProcessLine (or FinishAll) returned
// for it.
func (t *tally) line(lineno int, res []filter.Failure, err error) error {
	t.tested++
	if err != nil && len(t.errs) < 10 {
		t.errs = append(t.errs, fmt.Errorf("line %d: %w", lineno, err))
	}
	found, nofail := 0, false
	for _, r := range res {
		if !r.Pending {
			t.perRegex[r.Regex]++
		}
		if r.NoFail {
			nofail = true
			continue
		}
		found++ // fail2ban-regex counts pending multi-line matches as matched
		if r.Pending {
			continue
		}
		if t.json {
			if err := t.enc.Encode(jsonFailure{Line: lineno, FID: r.ID, Time: float64(r.Time.UnixMicro()) / 1e6, Groups: r.Groups}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
	switch {
	case nofail || t.f.Ignored():
		t.ignored++
	case found > 0:
		t.matched++
	default:
		t.missed++
	}
	return nil
}

// tested returns a scanned line as tested (without its line end), or
// false for the lines fail2ban-regex skips (empty ones and comments).
// The line aliases the scanner's buffer, which the next Scan overwrites:
// the filter copies what it keeps of a line (the daemon hands it lines
// cut from recycled buffers alike).
func tested(b []byte) (string, bool) {
	line := strings.TrimRight(unsafe.String(unsafe.SliceData(b), len(b)), "\r\n")
	return line, line != "" && !strings.HasPrefix(line, "#")
}

// matchLines runs a multi-line filter over the lines, one at a time.
func matchLines(f *filter.Filter, sc *bufio.Scanner, t *tally) error {
	lineno := 0
	for sc.Scan() {
		lineno++
		line, ok := tested(sc.Bytes())
		if !ok {
			continue
		}
		before := f.Buffer()
		full := len(before) >= f.MaxLines()
		res, err := f.ProcessLine(line)
		if err := t.line(lineno, res, err); err != nil {
			return err
		}
		// Earlier lines a multi-line match consumed turn from missed to
		// matched, as fail2ban-regex counts them.
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
			t.matched++
			t.missed--
		}
	}
	return nil
}

// regexBatch is the most lines matchBatches hands to the workers at once.
const regexBatch = 256

// lineBatch is a batch of matchBatches: its lines' text, their items and
// line numbers, and its match stage while it runs.
type lineBatch struct {
	text    []byte
	ends    []int // where each line, with its newline, ends in text
	items   []filter.Item
	linenos []int
	job     *filter.Job
}

// regexDepth is the most batches matchBatches has in flight: scanned and
// dated, matching, or waiting to be counted.
const regexDepth = 4

// matchBatches runs a filter of single lines over the lines in batches,
// as the daemon does, in three stages that overlap: a reading goroutine
// scans the lines and finds their dates (filter.Filter.Start), one worker
// per core matches them, and this goroutine finishes and counts each batch
// in order (FinishAll). The filter's dates and finish stages share no
// state, so the first and the last may run at once on two goroutines.
// The results are ProcessLine's (filter's TestBatchAllMatchesProcessLine).
func matchBatches(f *filter.Filter, sc *bufio.Scanner, t *tally) error {
	pool := filter.NewPool(runtime.GOMAXPROCS(0), filter.PoolOptions{Yield: true})
	defer pool.Close()
	free := make(chan *lineBatch, regexDepth)
	for range regexDepth {
		free <- new(lineBatch)
	}
	started := make(chan *lineBatch, regexDepth) // never full: there are regexDepth batches
	stop := make(chan struct{})
	go func() {
		defer close(started)
		lineno := 0
		for {
			var b *lineBatch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.text, b.ends, b.linenos = b.text[:0], b.ends[:0], b.linenos[:0]
			for len(b.ends) < regexBatch && sc.Scan() {
				lineno++
				line, ok := tested(sc.Bytes())
				if !ok {
					continue
				}
				b.text = append(append(b.text, line...), '\n') // matched in place (ResetNL)
				b.ends = append(b.ends, len(b.text))
				b.linenos = append(b.linenos, lineno)
			}
			if len(b.ends) == 0 {
				return // the end of the log (or a read error, which the caller reports)
			}
			// the items' lines are cut from text once it stops growing
			b.items = slices.Grow(b.items[:0], len(b.ends))[:len(b.ends)]
			from := 0
			for i, end := range b.ends {
				b.items[i].ResetNL(unsafe.String(unsafe.SliceData(b.text[from:]), end-from), time.Time{})
				from = end
			}
			b.job = f.Start(b.items, pool)
			started <- b
		}
	}()
	var err error
	for b := range started {
		b.job.Wait()
		if err != nil {
			continue // stopping: the batches in flight are only waited for
		}
		for i := range b.items {
			res, ferr := f.FinishAll(&b.items[i])
			if err = t.line(b.linenos[i], res, ferr); err != nil {
				close(stop)
				break
			}
		}
		if err == nil {
			free <- b
		}
	}
	return err
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
