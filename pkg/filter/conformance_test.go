package filter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/datedetect"
)

// Paths of fail2ban's own sample-test material.
const (
	knownGapsFile = "testdata/known_gaps.txt"
)

// testTZ is the POSIX zone fail2ban's tests run in.
const testTZ = "CET-01CEST-02,M3.5.0,M10.5.0"

func testLocation(t testing.TB) *time.Location {
	t.Helper()
	loc, err := datedetect.PosixLocation(testTZ)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPosixLocation(t *testing.T) {
	loc := testLocation(t)
	for _, c := range []struct {
		utc  string
		want string
	}{
		{"2005-08-14T10:00:00Z", "2005-08-14T12:00:00+02:00"},
		{"2005-01-14T10:00:00Z", "2005-01-14T11:00:00+01:00"},
		{"2013-03-31T00:59:59Z", "2013-03-31T01:59:59+01:00"},
		{"2013-03-31T01:00:00Z", "2013-03-31T03:00:00+02:00"},
		// The rule's end is at 02:00 local summer time (00:00 UTC), one
		// hour before the EU rule of tzdata's CET: CET would be wrong here.
		{"2013-10-26T23:59:59Z", "2013-10-27T01:59:59+02:00"},
		{"2013-10-27T00:00:00Z", "2013-10-27T01:00:00+01:00"},
	} {
		u, _ := time.Parse(time.RFC3339, c.utc)
		if got := u.In(loc).Format(time.RFC3339); got != c.want {
			t.Errorf("%s in %s: %s want %s", c.utc, testTZ, got, c.want)
		}
	}
}

var (
	annotationRE = regexp.MustCompile(`^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$`)
	exprRE       = regexp.MustCompile(`^\s*(name|opts\.get\('([\w.-]+)'\))\s*(==|!=)\s*'([^']*)'\s*$`)
)

// evalCond evaluates the Python conditions of the corpus (name=='x',
// opts.get('k') != 'v').
func evalCond(t *testing.T, expr, name string, opts map[string]any) bool {
	t.Helper()
	m := exprRE.FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("unsupported sample condition %q", expr)
	}
	var v any = name
	if m[1] != "name" {
		v = opts[m[2]]
	}
	s, isStr := v.(string)
	eq := isStr && s == m[4]
	return eq == (m[3] == "==")
}

// sampleFilter is one filter built for an option combination; it keeps
// its state across the lines (and files) that use it, as fail2ban's test
// caches its Filter objects.
type sampleFilter struct {
	name string
	f    *Filter
	err  error
	opts map[string]any
}

// checkResult is the outcome of one check.
type checkResult struct {
	key    string // filter \t file:line \t options
	reason string // "" when passed
}

type conformance struct {
	t       *testing.T
	loc     *time.Location
	filters map[string]*sampleFilter
	results []checkResult
	extra   []checkResult // non-annotated lines that matched
}

func optString(opts map[string]any) string {
	if len(opts) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(opts)
	return string(b)
}

func (c *conformance) filter(name, basedir, fltName string, opts map[string]any) *sampleFilter {
	if sf, ok := c.filters[fltName]; ok {
		return sf
	}
	params := map[string]string{}
	for k, v := range opts {
		params[k] = fmt.Sprint(v)
	}
	sf := &sampleFilter{name: fltName, opts: opts}
	c.filters[fltName] = sf
	def, err := config.LoadFilter(basedir, name, params)
	if err != nil {
		sf.err = err
		return sf
	}
	sf.f, sf.err = New(Options{
		PrefRegex:   def.PrefRegex,
		FailRegex:   def.FailRegex,
		IgnoreRegex: def.IgnoreRegex,
		DatePattern: def.DatePattern,
		MaxLines:    def.MaxLines,
		CheckAll:    true,
		RawHost:     true,
		Location:    c.loc,
		Now:         func() time.Time { return time.Unix(testNow, 0) },
	})
	return sf
}

type testSet struct {
	sf   *sampleFilter
	opts map[string]any // all options, test.* included
}

// runFile processes one sample test (the filter's log and its addFILE
// files) the way fail2ban's samplestestcase does.
func (c *conformance) runFile(name, basedir string) {
	t := c.t
	files := []string{name}
	commonOpts := map[string]any{}
	var sets []testSet
	for i := 0; i < len(files); i++ {
		path := filepath.Join(f2bLogs, files[i])
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		var lines []string
		for sc.Scan() {
			lines = append(lines, strings.ToValidUTF8(sc.Text(), "\uFFFD"))
		}
		ignoreBlock := false
		for n := 0; n < len(lines); n++ {
			line := strings.TrimRight(lines[n], "\r\n")
			lnum := n + 1
			var faildata map[string]any
			annotated := false
			if m := annotationRE.FindStringSubmatch(line); m != nil {
				var v any
				if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
					t.Fatalf("%s:%d: %v", files[i], lnum, err)
				}
				switch m[1] {
				case "fileOptions":
					commonOpts, _ = v.(map[string]any)
					continue
				case "filterOptions":
					sets = sets[:0:0]
					ignoreBlock = false
					list, ok := v.([]any)
					if !ok {
						list = []any{v}
					}
					for _, o := range list {
						opts := map[string]any{}
						for k, x := range commonOpts {
							opts[k] = x
						}
						om, _ := o.(map[string]any)
						for k, x := range om {
							opts[k] = x
						}
						if cond, _ := opts["test.condition"].(string); cond != "" {
							ignoreBlock = !evalCond(t, cond, name, opts)
						}
						if ignoreBlock {
							continue
						}
						flt := map[string]any{}
						for k, x := range opts {
							if !strings.HasPrefix(k, "test.") {
								flt[k] = x
							}
						}
						fltName, _ := opts["test.filter-name"].(string)
						if fltName == "" && len(flt) > 0 {
							fltName = optString(flt)
						}
						sets = append(sets, testSet{sf: c.filter(name, basedir, name+fltName, flt), opts: opts})
					}
					continue
				case "addFILE":
					s, _ := v.(string)
					files = append(files, s)
					continue
				}
				faildata, _ = v.(map[string]any)
				annotated = true
				n++
				if n >= len(lines) {
					break
				}
				line = strings.TrimRight(lines[n], "\r\n")
				lnum = n + 1
			} else if ignoreBlock || strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			} else {
				faildata = map[string]any{}
			}
			if ignoreBlock {
				continue
			}
			if len(sets) == 0 {
				sets = []testSet{{sf: c.filter(name, basedir, name, nil), opts: map[string]any{}}}
			}
			for _, set := range sets {
				if cons, _ := faildata["constraint"].(string); cons != "" && !evalCond(t, cons, name, set.opts) {
					continue
				}
				key := fmt.Sprintf("%s\t%s:%d\t%s", name, files[i], lnum, optString(set.sf.opts))
				reason := c.check(set, line, faildata)
				if annotated {
					c.results = append(c.results, checkResult{key: key, reason: reason})
				} else if reason != "" {
					c.extra = append(c.extra, checkResult{key: key, reason: reason})
				}
			}
		}
	}
}

// check runs one line through a filter and compares with the failJSON data;
// it returns "" or why the check fails.
func (c *conformance) check(set testSet, line string, want map[string]any) string {
	sf := set.sf
	if sf.err != nil {
		return "filter: " + sf.err.Error()
	}
	var res []Failure
	if set.opts["logtype"] != "journal" {
		res, _ = sf.f.ProcessLine(line)
	} else {
		prefix, _ := set.opts["test.prefix-line"].(string)
		res, _ = sf.f.ProcessLineAt(prefix+line, time.Unix(testNow, 0))
	}
	var found []Failure
	for _, r := range res {
		if r.Pending || r.NoFail {
			continue
		}
		found = append(found, r)
	}
	wantMatch, _ := want["match"].(bool)
	if len(found) == 0 {
		if wantMatch {
			return "not matched"
		}
		return ""
	}
	if !wantMatch {
		return fmt.Sprintf("matched (failregex %d, id %q) when it should not", found[0].Regex, found[0].ID)
	}
	if len(found) > 1 {
		var idx []int
		for _, r := range found {
			idx = append(idx, r.Regex)
		}
		return fmt.Sprintf("several failregexes matched %v", idx)
	}
	got := found[0]
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := want[k]
		switch k {
		case "match", "desc", "constraint":
			continue
		case "time":
			ts, _ := v.(string)
			layout := "2006-1-2T15:04:05"
			if strings.Contains(ts, ".") {
				layout += ".999999"
			}
			wt, err := time.ParseInLocation(layout, ts, c.loc)
			if err != nil {
				return fmt.Sprintf("bad time %q in sample", ts)
			}
			if got.Time.UnixMicro() != wt.UnixMicro() {
				return fmt.Sprintf("time %s want %s", got.Time.In(c.loc).Format("2006-01-02T15:04:05.999999"), ts)
			}
			continue
		}
		var fv any
		if s, ok := got.Groups[k]; ok {
			fv = s
		} else if k == "users" && len(got.Users) > 0 {
			fv = got.Users
		} else if k == "host" {
			fv = got.ID
		} else if k == "attempts" {
			fv = len(got.Matches)
		}
		if !sameValue(k, fv, v) {
			return fmt.Sprintf("%s %v want %v", k, fv, v)
		}
	}
	return ""
}

// sameValue compares a result value with a failJSON value as the Python
// test does (sets sorted, IP addresses compared as addresses).
func sameValue(k string, got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		n, ok := got.(int)
		return ok && float64(n) == w
	case []any:
		g, ok := got.([]string)
		if !ok || len(g) != len(w) {
			return false
		}
		ws := make([]string, len(w))
		for i, x := range w {
			ws[i] = fmt.Sprint(x)
		}
		sort.Strings(ws)
		gs := append([]string(nil), g...)
		sort.Strings(gs)
		return strings.Join(gs, "\x00") == strings.Join(ws, "\x00")
	case string:
		g, ok := got.(string)
		if !ok {
			return false
		}
		if k == "host" {
			// fail2ban's IPAddr equality: a parsed address equals any
			// spelling of the same address.
			if n := normID(g, "", true); n != g || g == normID(w, "", true) {
				return n == normID(w, "", true)
			}
		}
		return g == w
	}
	return false
}

func readKnownGaps(t *testing.T) map[string]string {
	gaps := map[string]string{}
	data, err := os.ReadFile(knownGapsFile)
	if err != nil {
		if os.IsNotExist(err) {
			return gaps
		}
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p := strings.SplitN(l, "\t", 4)
		if len(p) < 3 {
			t.Fatalf("%s: malformed line %q", knownGapsFile, l)
		}
		reason := ""
		if len(p) == 4 {
			reason = p[3]
		}
		gaps[strings.Join(p[:3], "\t")] = reason
	}
	return gaps
}

// TestCorpusConformance runs every stock filter over fail2ban's sample
// corpus as fail2ban's samplestestcase does (frozen clock, CET zone,
// every failregex tried, filter state kept from line to line) and checks
// each failJSON expectation. Failing checks must be listed in
// testdata/known_gaps.txt; a listed check that passes fails the test too.
func TestCorpusConformance(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	c := &conformance{t: t, loc: testLocation(t), filters: map[string]*sampleFilter{}}
	type job struct{ name, basedir string }
	var jobs []job
	// Only the stock filters: the zzz-* filters of fail2ban's test config
	// include a common.conf symlink that Debian's package does not ship.
	for _, dir := range []string{f2bConfDir} {
		ents, err := os.ReadDir(filepath.Join(dir, "filter.d"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			if dir == f2bConfDir && strings.HasSuffix(n, "common.conf") {
				continue
			}
			jobs = append(jobs, job{strings.TrimSuffix(n, ".conf"), dir})
		}
	}
	for _, j := range jobs {
		c.filters = map[string]*sampleFilter{}
		c.runFile(j.name, j.basedir)
	}
	gaps := readKnownGaps(t)
	pass, filters, filtersOK := 0, map[string]bool{}, map[string]bool{}
	var report []string
	for _, r := range append(c.results, c.extra...) {
		fn := strings.SplitN(r.key, "\t", 2)[0]
		if _, seen := filtersOK[fn]; !seen {
			filtersOK[fn] = true
		}
		reason, listed := gaps[r.key]
		delete(gaps, r.key)
		if r.reason == "" {
			if listed {
				t.Errorf("listed as a known gap but passes now (remove it from %s): %s", knownGapsFile, r.key)
			}
			continue
		}
		filtersOK[fn] = false
		if !listed {
			t.Errorf("conformance failure: %s: %s", r.key, r.reason)
		}
		_ = reason
		report = append(report, r.key+"\t"+r.reason)
	}
	for _, r := range c.results {
		filters[strings.SplitN(r.key, "\t", 2)[0]] = true
		if r.reason == "" {
			pass++
		}
	}
	for k := range gaps {
		t.Errorf("known gap %q is no longer checked", k)
	}
	if out := os.Getenv("F2BD_WRITE_GAPS"); out != "" {
		os.WriteFile(out, []byte(strings.Join(report, "\n")+"\n"), 0o644)
	}
	ok := 0
	for _, v := range filtersOK {
		if v {
			ok++
		}
	}
	fmt.Printf("corpus conformance: %d/%d checks pass (%d/%d filters fully pass; %d extra non-annotated lines failing)\n",
		pass, len(c.results), ok, len(filters), len(c.extra))
}
