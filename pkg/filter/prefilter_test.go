package filter

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/internal/benchlog"
)

// filterPair builds a stock filter twice: with its prefilter and without.
func filterPair(t testing.TB, name string, params map[string]string) (with, without *Filter) {
	t.Helper()
	def, err := config.LoadFilter(f2bConfDir, name, params)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	mk := func() *Filter {
		f, err := New(Options{
			PrefRegex: def.PrefRegex, FailRegex: def.FailRegex, IgnoreRegex: def.IgnoreRegex,
			DatePattern: def.DatePattern, MaxLines: def.MaxLines, CheckAll: true, RawHost: true,
			Location: testLocation(t), Now: func() time.Time { return time.Unix(testNow, 0) },
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f
	}
	with, without = mk(), mk()
	without.pre, without.mask = nil, nil
	return with, without
}

// samePrefiltered runs line through both filters and reports a difference.
func samePrefiltered(t testing.TB, name string, with, without *Filter, line string) bool {
	t.Helper()
	r1, e1 := with.ProcessLine(line)
	r2, e2 := without.ProcessLine(line)
	// Only errors about the regexes the prefilter skipped may differ
	// (a backtracking timeout on a failregex that cannot match).
	if !reflect.DeepEqual(r1, r2) || (e1 == nil) != (e2 == nil) && !strings.Contains(fmt.Sprint(e1, e2), "timeout") ||
		with.Ignored() != without.Ignored() || !reflect.DeepEqual(with.Buffer(), without.Buffer()) {
		t.Errorf("%s: %q:\nprefiltered %+v %v\nunfiltered  %+v %v", name, line, r1, e1, r2, e2)
		return false
	}
	return true
}

// TestPrefilterCorpus runs every stock filter (and sshd in each mode) over
// its own sample log and a share of the others, with and without the
// literal prefilter, and requires identical results, line by line.
func TestPrefilterCorpus(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	logs, _ := filepath.Glob(filepath.Join(f2bLogs, "*"))
	var all []string
	for _, l := range logs {
		if st, err := os.Stat(l); err == nil && !st.IsDir() {
			all = append(all, benchlog.Read(t, l)...)
		}
	}
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
	r := rand.New(rand.NewPCG(3, 4))
	checked, skippedLines := 0, 0
	for _, j := range jobs {
		with, without := filterPair(t, j.name, j.params)
		lines := []string{}
		if p := filepath.Join(f2bLogs, j.name); fileExists(p) {
			lines = benchlog.Read(t, p)
		}
		for range 300 {
			lines = append(lines, all[r.IntN(len(all))])
		}
		for _, l := range lines {
			checked++
			if with.pre != nil && !with.pre.scan(l+"\n", with.mask) {
				skippedLines++
			}
			if !samePrefiltered(t, fmt.Sprint(j.name, j.params), with, without, l) {
				return
			}
		}
	}
	t.Logf("%d filters, %d lines checked, %d of them no failregex could match by the prefilter", len(jobs), checked, skippedLines)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// prefilterMutate builds a line from corpus lines: spliced halves,
// inserted prefilter literals, deleted or changed characters.
func prefilterMutate(r *rand.Rand, lines []string, lits []string) string {
	s := lines[r.IntN(len(lines))]
	switch r.IntN(5) {
	case 0:
		o := lines[r.IntN(len(lines))]
		s = s[:r.IntN(len(s)+1)] + o[r.IntN(len(o)+1):]
	case 1:
		i := r.IntN(len(s) + 1)
		s = s[:i] + lits[r.IntN(len(lits))] + s[i:]
	case 2:
		if len(s) > 0 {
			i := r.IntN(len(s))
			s = s[:i] + s[i+1:]
		}
	case 3:
		if len(s) > 0 {
			i := r.IntN(len(s))
			s = s[:i] + string("aAfF :.[]()0123456789"[r.IntN(21)]) + s[i+1:]
		}
	}
	return s
}

// TestPrefilterMutations compares prefiltered and unfiltered sshd (every
// mode) on many mutated corpus lines: a deterministic stand-in for
// FuzzPrefilter in ordinary test runs.
func TestPrefilterMutations(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	lines := append(benchlog.Read(t, filepath.Join(f2bLogs, "sshd")), benchlog.Read(t, filepath.Join(f2bLogs, "sshd-journal"))...)
	for _, mode := range []string{"normal", "aggressive"} {
		with, without := filterPair(t, "sshd", map[string]string{"mode": mode})
		var lits []string
		for _, r := range with.fail {
			for _, set := range r.RequiredLiteralSets() {
				lits = append(lits, set...)
			}
		}
		r := rand.New(rand.NewPCG(5, 6))
		for range 10000 {
			if !samePrefiltered(t, "sshd "+mode, with, without, prefilterMutate(r, lines, lits)) {
				return
			}
		}
	}
}

// FuzzPrefilter compares prefiltered and unfiltered sshd (aggressive mode)
// on arbitrary lines.
func FuzzPrefilter(f *testing.F) {
	need(f, f2bConfDir, f2bLogs)
	for i, l := range benchlog.Read(f, filepath.Join(f2bLogs, "sshd")) {
		if i%7 == 0 {
			f.Add(l)
		}
	}
	with, without := filterPair(f, "sshd", map[string]string{"mode": "aggressive"})
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		samePrefiltered(t, "sshd aggressive", with, without, line)
	})
}

// TestPrefilterLiterals checks the automaton against strings.Contains:
// a failregex is admitted exactly when each of its literal sets has a
// literal in the subject, with all the sets and with the first one only.
func TestPrefilterLiterals(t *testing.T) {
	opts := resolvedFilter(t, "sshd", "mode = aggressive\n")
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, multi := range []bool{true, false} {
		p := buildPrefilter(f.fail, multi)
		mask := make([]uint64, p.words)
		r := rand.New(rand.NewPCG(7, 8))
		var pool []string
		several := 0
		for i, re := range f.fail {
			want := prefilterSets(re, multi)
			if !reflect.DeepEqual(p.lits[i], want) {
				t.Fatalf("failregex %d: sets %q, want %q", i, p.lits[i], want)
			}
			if len(want) > 1 {
				several++
			}
			for _, set := range want {
				pool = append(pool, set...)
			}
		}
		if multi && several < 10 {
			t.Fatalf("only %d failregexes with several sets", several)
		}
		for range 20000 {
			var b strings.Builder
			for range r.IntN(6) {
				w := pool[r.IntN(len(pool))]
				b.WriteString(w[r.IntN(len(w)):])
				b.WriteString("xyz "[r.IntN(4):])
				b.WriteString(w[:r.IntN(len(w)+1)])
			}
			s := b.String()
			got := p.scan(s, mask)
			anyWant := false
			for i, sets := range p.lits {
				want := true
				for _, set := range sets {
					found := false
					for _, l := range set {
						found = found || strings.Contains(s, l)
					}
					want = want && found
				}
				anyWant = anyWant || want
				if has(mask, i) != want {
					t.Fatalf("multi=%v %q: failregex %d: prefilter %v, strings.Contains %v (%q)", multi, s, i, has(mask, i), want, sets)
				}
			}
			if got != anyWant || (p.admitted(mask) > 0) != got {
				t.Fatalf("multi=%v %q: scan %v, want %v", multi, s, got, anyWant)
			}
		}
	}
}
