package filter

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/benchlog"
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
// RequiredLiteralSets, and that admit of the text matched admits it. It
// returns the number of matches.
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
			// admit, as the filter runs it on the text the failregexes
			// search: also narrowed by that text's first byte
			if f.pre != nil {
				m := make([]uint64, f.pre.words)
				if !f.pre.admit(s, m) || !has(m, i) {
					t.Errorf("%s: failregex %d (%s) matches %q but admit skips it", name, i, r, s)
				}
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
			all = append(all, benchlog.Read(t, l)...)
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
			lines = benchlog.Read(t, p)
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
	for i, l := range benchlog.Read(f, filepath.Join(f2bLogs, "sshd")) {
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
	lines := append(benchlog.Read(t, filepath.Join(f2bLogs, "sshd")), benchlog.Read(t, filepath.Join(f2bLogs, "sshd-journal"))...)
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
	lines := append(benchlog.Read(t, filepath.Join(f2bLogs, "sshd")), benchlog.Read(t, filepath.Join(f2bLogs, "sshd-journal"))...)
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

// refAdmits is the prefilter by definition: failregex i is admitted when
// each of its literal sets (p.lits[i]; none: always) has a literal in s.
// It fills want and reports whether any failregex is admitted.
func refAdmits(p *prefilter, s string, want []bool) bool {
	any := false
	for i, sets := range p.lits {
		want[i] = refAdmits1(sets, s)
		any = any || want[i]
	}
	return any
}

// refAdmits1 reports whether each of sets has a literal in s.
func refAdmits1(sets [][]string, s string) bool {
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(l string) bool { return strings.Contains(s, l) }) {
			return false
		}
	}
	return true
}

// genLines returns the lines of a generated sshd auth.log: F2BD_BENCH_LOG
// (its first n lines) or n lines written by scripts/genlog; nil when
// genlog cannot run, outside CI (in CI that fails the test).
func genLines(t testing.TB, n int) []string {
	t.Helper()
	if p := os.Getenv("F2BD_BENCH_LOG"); p != "" {
		lines := benchlog.Read(t, p)
		return lines[:min(n, len(lines))]
	}
	p := filepath.Join(t.TempDir(), "auth.log")
	cmd := exec.Command("go", "run", "../../scripts/genlog", "-n", fmt.Sprint(n), "-seed", "3", "-kind", "sshd", "-o", p)
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("genlog: %v: %s", err, out)
		}
		t.Logf("genlog: %v: %s", err, out)
		return nil
	}
	return benchlog.Read(t, p)
}

// checkReference compares p.scan with refAdmits on subjects and on extra
// random subjects made from them and p's literals: mutated subjects,
// random bytes, pieces of literals, subjects holding many literals (for
// the early stop once all are found).
func checkReference(t *testing.T, r *rand.Rand, p *prefilter, name string, subjects []string, extra int) {
	t.Helper()
	mask := make([]uint64, p.words)
	want := make([]bool, len(p.lits))
	var pool []string
	for _, sets := range p.lits {
		for _, set := range sets {
			pool = append(pool, set...)
		}
	}
	if len(pool) == 0 {
		t.Fatalf("%s: no literal", name)
	}
	// subjects; those admitting a failregex with literal sets, with
	// several sets
	n, admits, multi := 0, 0, 0
	defer func() {
		t.Logf("%s: %d subjects, %d admitting a failregex by its literals, %d one with several sets", name, n, admits, multi)
		if admits == 0 || admits == n {
			t.Errorf("%s: %d subjects of %d admit failregexes by their literals", name, admits, n)
		}
	}()
	one := func(s string) {
		n++
		for i := range mask { // stale bits must not matter
			mask[i] = r.Uint64()
		}
		got := p.scan(s, mask)
		wantAny := refAdmits(p, s, want)
		for i, w := range want {
			if has(mask, i) != w {
				t.Fatalf("%s: %q: failregex %d: scan %v, reference %v (sets %q)", name, s, i, has(mask, i), w, p.lits[i])
			}
		}
		for i := len(p.lits); i < 64*p.rwords; i++ {
			if has(mask, i) {
				t.Fatalf("%s: %q: bit %d set past the failregexes", name, s, i)
			}
		}
		if got != wantAny {
			t.Fatalf("%s: %q: scan %v, reference %v", name, s, got, wantAny)
		}
		if slices.ContainsFunc(p.lits, func(sets [][]string) bool { return sets != nil && refAdmits1(sets, s) }) {
			admits++
		}
		if slices.ContainsFunc(p.lits, func(sets [][]string) bool { return len(sets) > 1 && refAdmits1(sets, s) }) {
			multi++
		}
	}
	for _, s := range subjects {
		one(s)
	}
	for range extra {
		switch r.IntN(4) {
		case 0: // mutated subject
			one(prefilterMutate(r, subjects, pool))
		case 1: // random bytes, often from the literals' alphabet
			b := make([]byte, r.IntN(200))
			for i := range b {
				if r.IntN(2) == 0 {
					b[i] = byte(r.IntN(256))
				} else {
					w := pool[r.IntN(len(pool))]
					b[i] = w[r.IntN(len(w))]
				}
			}
			one(string(b))
		case 2: // literals, their prefixes and suffixes
			var b strings.Builder
			for range r.IntN(12) {
				w := pool[r.IntN(len(pool))]
				switch r.IntN(3) {
				case 0:
					b.WriteString(w)
				case 1:
					b.WriteString(w[:r.IntN(len(w)+1)])
				default:
					b.WriteString(w[r.IntN(len(w)+1):])
				}
				b.WriteString([]string{"", " ", "x", "\n", "\xff"}[r.IntN(5)])
			}
			one(b.String())
		default: // many literals: all the sets present, the early stop
			var b strings.Builder
			b.WriteString(subjects[r.IntN(len(subjects))])
			for range r.IntN(len(pool) + 1) {
				b.WriteString(pool[r.IntN(len(pool))])
			}
			one(b.String())
		}
	}
}

// TestPrefilterReference compares the automaton's scan with refAdmits,
// failregex by failregex, for the stock sshd filter in every mode (all
// the literal sets and the first one only) and every other stock filter,
// over a generated auth.log, the sample logs, buffers of several lines,
// and the random subjects of checkReference.
func TestPrefilterReference(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	sample := append(benchlog.Read(t, filepath.Join(f2bLogs, "sshd")), benchlog.Read(t, filepath.Join(f2bLogs, "sshd-journal"))...)
	ngen, extra := 10000, 20000
	if testing.Short() {
		ngen, extra = 1000, 2000
	}
	gen := genLines(t, ngen)
	if len(gen) == 0 {
		t.Log("no generated log: sample logs only")
	}
	r := rand.New(rand.NewPCG(31, 32))
	var base []string
	for _, mode := range []string{"normal", "ddos", "extra", "aggressive"} {
		opts := resolvedFilter(t, "sshd", "mode = "+mode+"\n")
		f, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if base == nil {
			for _, l := range append(sample, gen...) {
				scan, _ := subjects(f, l)
				base = append(base, l, l+"\n", scan)
			}
			for range 2000 { // buffers of several lines
				var b strings.Builder
				for range 1 + r.IntN(5) {
					b.WriteString(base[r.IntN(len(base))])
					b.WriteByte('\n')
				}
				base = append(base, b.String())
			}
			base = append(base, "", "\n", " ", "\x00", "\xff\xfe")
		}
		for _, multi := range []bool{true, false} {
			checkReference(t, r, buildPrefilter(f.fail, multi), fmt.Sprintf("sshd %s multi=%v", mode, multi), base, extra)
		}
	}
	for _, flt := range stockFilters(t) {
		if flt.f.pre == nil {
			continue
		}
		lines := sample
		if p := filepath.Join(f2bLogs, flt.name); fileExists(p) {
			lines = benchlog.Read(t, p)
		}
		for _, multi := range []bool{true, false} {
			checkReference(t, r, buildPrefilter(flt.f.fail, multi), fmt.Sprintf("%s multi=%v", flt.label, multi), lines, 500)
		}
	}
}

// TestPrefilterReferenceWide compares the scan with refAdmits for a
// prefilter whose masks span several words: 150 failregexes (some
// without literals), sharing 100 further literal sets.
func TestPrefilterReferenceWide(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	word := func() string {
		b := make([]byte, 2+r.IntN(6))
		for i := range b {
			b[i] = "abcdefghij-: "[r.IntN(13)]
		}
		return string(b)
	}
	shared := make([]string, 100) // alternations of 1 to 3 words
	for i := range shared {
		alts := []string{word()}
		for range r.IntN(3) {
			alts = append(alts, word())
		}
		shared[i] = "(?:" + strings.Join(alts, "|") + ")"
	}
	var fail []*pyregex.Regexp
	var subjects []string
	for i := range 150 {
		if i%37 == 5 {
			fail = append(fail, pyregex.MustCompile(`^\d+x?$`))
			continue
		}
		pat := fmt.Sprintf("F%d%s", i, word())
		for range r.IntN(4) {
			pat += ".*" + shared[r.IntN(len(shared))]
		}
		fail = append(fail, pyregex.MustCompile(pat))
	}
	p := buildPrefilter(fail, true)
	if p == nil || p.rwords < 3 || p.nsets <= 64 || !p.anyAlw {
		t.Fatalf("prefilter %v: want 3 result words, more than 64 shared sets, failregexes without literals", p != nil)
	}
	for _, re := range fail[:20] {
		for _, sets := range re.RequiredLiteralSets() {
			subjects = append(subjects, strings.Join(sets, " "))
		}
	}
	checkReference(t, r, p, "wide", subjects, 20000)
}

// FuzzPrefilterReference compares the scan of sshd's prefilter (aggressive
// mode, all the literal sets) with refAdmits on arbitrary subjects.
func FuzzPrefilterReference(f *testing.F) {
	need(f, f2bConfDir, f2bLogs)
	for i, l := range benchlog.Read(f, filepath.Join(f2bLogs, "sshd")) {
		if i%5 == 0 {
			f.Add(l)
		}
	}
	flt, err := New(resolvedFilter(f, "sshd", "mode = aggressive\n"))
	if err != nil {
		f.Fatal(err)
	}
	p := flt.pre
	f.Fuzz(func(t *testing.T, s string) {
		mask := make([]uint64, p.words)
		want := make([]bool, len(p.lits))
		got, wantAny := p.scan(s, mask), refAdmits(p, s, want)
		for i, w := range want {
			if has(mask, i) != w {
				t.Fatalf("%q: failregex %d: scan %v, reference %v (sets %q)", s, i, has(mask, i), w, p.lits[i])
			}
		}
		if got != wantAny {
			t.Fatalf("%q: scan %v, reference %v", s, got, wantAny)
		}
	})
}
