package filter

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2bd/f2bd/pkg/pyregex"
)

// stockFilter is a stock filter with its sample log's name.
type stockFilter struct {
	label, name string
	f           *Filter
}

// stockFilters builds every stock filter (and sshd in each mode).
func stockFilters(t testing.TB) (out []stockFilter) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(f2bConfDir, "filter.d"))
	type job struct {
		name   string
		params map[string]string
	}
	var jobs []job
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".conf") && !strings.HasSuffix(n, "common.conf") {
			jobs = append(jobs, job{strings.TrimSuffix(n, ".conf"), nil})
		}
	}
	for _, m := range []string{"ddos", "extra", "aggressive"} {
		jobs = append(jobs, job{"sshd", map[string]string{"mode": m}})
	}
	for _, j := range jobs {
		f, _ := filterPair(t, j.name, j.params)
		out = append(out, stockFilter{fmt.Sprint(j.name, " ", j.params), j.name, f})
	}
	return out
}

// subjects returns what f's prefilter scans for a one-line buffer (the
// line, date cut out, and a newline) and the text the failregexes search
// in it (the prefregex's content, newline-terminated, when it has one).
func subjects(f *Filter, line string) (scan, text string) {
	_, cs, ce, _ := f.dateOf(line, time.Time{}, false, time.Unix(testNow, 0))
	scan = line[:cs] + line[ce:] + "\n"
	text = scan
	if f.pref != nil {
		if loc, _ := f.pref.FindIndex(scan, nil); loc != nil {
			if k := f.pref.SubexpIndex("content"); k >= 0 && loc[2*k] >= 0 && loc[2*k+1] > loc[2*k] {
				text = scan[loc[2*k]:loc[2*k+1]] + "\n"
			}
		}
	}
	return scan, text
}

// admitsMatches checks, for one line, that every failregex matching the
// text it searches (or the whole buffer) is admitted by the prefilter of
// the buffer and that its match holds a literal of each of its
// RequiredLiteralSets. It returns the number of matches.
func admitsMatches(t *testing.T, name string, f *Filter, mask []uint64, sets [][][]string, line string) int {
	t.Helper()
	scan, text := subjects(f, line)
	if f.pre != nil {
		f.pre.scan(scan, mask)
	}
	n := 0
	for i, r := range f.fail {
		for _, s := range []string{text, scan} {
			loc, err := r.FindIndex(s, nil)
			if err != nil || loc == nil {
				continue
			}
			n++
			m := s[loc[0]:loc[1]]
			for _, set := range sets[i] {
				if !slices.ContainsFunc(set, func(l string) bool { return strings.Contains(m, l) }) {
					t.Errorf("%s: failregex %d (%s) matches %q in %q, which holds none of %q", name, i, r, m, s, set)
				}
			}
			if f.pre != nil && !has(mask, i) {
				t.Errorf("%s: failregex %d (%s) matches %q but the prefilter of %q skips it (sets %q)", name, i, r, s, scan, f.pre.lits[i])
			}
		}
	}
	return n
}

// TestPrefilterAdmitsMatches runs every failregex of every stock filter
// over its sample log, a share of the others and mutations of them: each
// match holds a literal of each of the failregex's literal sets, and the
// prefilter admits every failregex that matches.
func TestPrefilterAdmitsMatches(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	logs, _ := filepath.Glob(filepath.Join(f2bLogs, "*"))
	var all []string
	for _, l := range logs {
		if st, err := os.Stat(l); err == nil && !st.IsDir() {
			all = append(all, readLines(t, l)...)
		}
	}
	filters := stockFilters(t)
	r := rand.New(rand.NewPCG(21, 22))
	matches, several := 0, 0
	for _, flt := range filters {
		var mask []uint64
		if flt.f.pre != nil {
			mask = make([]uint64, flt.f.pre.words)
		}
		sets := make([][][]string, len(flt.f.fail))
		var pool []string
		for i, re := range flt.f.fail {
			sets[i] = re.RequiredLiteralSets()
			if len(sets[i]) > 1 {
				several++
			}
			for _, set := range sets[i] {
				pool = append(pool, set...)
			}
		}
		if len(pool) == 0 {
			pool = []string{"x"}
		}
		lines := []string{}
		if p := filepath.Join(f2bLogs, flt.name); fileExists(p) {
			lines = readLines(t, p)
		}
		for range 150 {
			lines = append(lines, all[r.IntN(len(all))])
		}
		for _, l := range lines {
			matches += admitsMatches(t, flt.label, flt.f, mask, sets, l)
			for range 2 {
				matches += admitsMatches(t, flt.label, flt.f, mask, sets, prefilterMutate(r, lines, pool))
			}
			if t.Failed() {
				return
			}
		}
	}
	t.Logf("%d filters, %d failregexes with several literal sets, %d matches checked", len(filters), several, matches)
	if matches < 1000 || several < 50 {
		t.Errorf("%d matches, %d failregexes with several sets", matches, several)
	}
}

// FuzzPrefilterAdmits checks on arbitrary lines that the prefilter of sshd
// (aggressive mode) admits every failregex that matches.
func FuzzPrefilterAdmits(f *testing.F) {
	need(f, f2bConfDir, f2bLogs)
	for i, l := range readLines(f, filepath.Join(f2bLogs, "sshd")) {
		if i%5 == 0 {
			f.Add(l)
		}
	}
	f.Add("Received disconnect from 192.0.2.2 port 50000:11: disconnected by user")
	f.Add("Received disconnect from 192.0.2.2 port 50000:3: com.jcraft.jsch.JSchException: Auth fail [preauth]")
	opts := resolvedFilter(f, "sshd", "mode = aggressive\n")
	flt, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	sets := make([][][]string, len(flt.fail))
	for i, re := range flt.fail {
		sets[i] = re.RequiredLiteralSets()
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		mask := make([]uint64, flt.pre.words)
		admitsMatches(t, "sshd aggressive", flt, mask, sets, line)
	})
}

// TestPrefilterConjunction checks that the conjunction skips what the first
// set alone admits: the "Auth fail" failregex of sshd on a normal
// disconnection, and never admits more than the first set alone, over the
// sshd sample log.
func TestPrefilterConjunction(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	opts := resolvedFilter(t, "sshd", "")
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	authFail := -1
	for i, r := range f.fail {
		if strings.Contains(r.String(), "Auth fail") {
			authFail = i
		}
	}
	if authFail < 0 {
		t.Fatal("no Auth fail failregex")
	}
	all, first := f.pre, buildPrefilter(f.fail, false)
	mAll, mFirst := make([]uint64, all.words), make([]uint64, first.words)
	for _, c := range []struct {
		line  string
		admit bool
	}{
		{" srv sshd[1]: Received disconnect from 192.0.2.2 port 50000:11: disconnected by user\n", false},
		{" srv sshd[1]: Received disconnect from 192.0.2.2 port 50000:3: com.jcraft.jsch.JSchException: Auth fail [preauth]\n", true},
	} {
		all.scan(c.line, mAll)
		first.scan(c.line, mFirst)
		if has(mAll, authFail) != c.admit || !has(mFirst, authFail) {
			t.Errorf("%q: admitted %v (first set alone %v), want %v", c.line, has(mAll, authFail), has(mFirst, authFail), c.admit)
		}
	}
	lines := append(readLines(t, filepath.Join(f2bLogs, "sshd")), readLines(t, filepath.Join(f2bLogs, "sshd-journal"))...)
	fewer := 0
	for _, l := range lines {
		all.scan(l+"\n", mAll)
		first.scan(l+"\n", mFirst)
		for i := range f.fail {
			if has(mAll, i) && !has(mFirst, i) {
				t.Fatalf("%q: failregex %d admitted by all the sets, not by the first", l, i)
			}
		}
		fewer += first.admitted(mFirst) - all.admitted(mAll)
	}
	t.Logf("%d lines: %d fewer failregex runs", len(lines), fewer)
	if fewer == 0 {
		t.Error("the conjunction skips nothing more")
	}
}

// TestPrefilterConcurrent scans from several goroutines, each with its own
// mask, and compares with sequential scans (run with -race).
func TestPrefilterConcurrent(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	opts := resolvedFilter(t, "sshd", "mode = aggressive\n")
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := f.pre
	lines := append(readLines(t, filepath.Join(f2bLogs, "sshd")), readLines(t, filepath.Join(f2bLogs, "sshd-journal"))...)
	want := make([][]uint64, len(lines))
	wantOK := make([]bool, len(lines))
	for i, l := range lines {
		m := make([]uint64, p.words)
		wantOK[i] = p.scan(l, m)
		want[i] = m[:p.rwords]
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			mask := make([]uint64, p.words)
			for n := range 5 * len(lines) {
				i := (n*7 + g*13) % len(lines)
				if ok := p.scan(lines[i], mask); ok != wantOK[i] || !slices.Equal(mask[:p.rwords], want[i]) {
					errs <- fmt.Sprintf("%q: %v %x, sequential %v %x", lines[i], ok, mask[:p.rwords], wantOK[i], want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestPrefilterFallback builds failregexes whose further literal sets are
// too many for the automaton: the prefilter then checks the first set of
// each, and still skips and admits rightly.
func TestPrefilterFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]
		}
		return string(b)
	}
	var fail []*pyregex.Regexp
	var firsts [][]string
	for i := range 160 {
		first := fmt.Sprintf("P%03d_%s", i, word(45))
		pat := first
		var extras []string
		for range 7 {
			w := word(25)
			extras = append(extras, w)
			pat += `.*` + w
		}
		fail = append(fail, pyregex.MustCompile(pat))
		firsts = append(firsts, append([]string{first}, extras...))
	}
	if buildPrefilter(fail, true) != nil {
		t.Fatal("the automaton of all the sets fits: make the test larger")
	}
	p := newPrefilter(fail)
	if p == nil {
		t.Fatal("no prefilter")
	}
	for i := range fail {
		if want := [][]string{{firsts[i][0]}}; !slices.EqualFunc(p.lits[i], want, slices.Equal) {
			t.Fatalf("failregex %d: sets %q, want %q", i, p.lits[i], want)
		}
	}
	mask := make([]uint64, p.words)
	for i := range fail {
		s := "x " + strings.Join(firsts[i], " ") + "\n"
		if !p.scan(s, mask) || !has(mask, i) || p.admitted(mask) != 1 {
			t.Fatalf("%q: admitted %d, failregex %d %v", s, p.admitted(mask), i, has(mask, i))
		}
		if ok, _ := fail[i].MatchString(s); !ok {
			t.Fatalf("%q does not match %s", s, fail[i])
		}
	}
	if p.scan("x "+strings.Join(firsts[0][1:], " ")+"\n", mask) {
		t.Fatal("admitted without the first literal")
	}
}
