package pyregex

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/f2bd/f2bd/internal/testenv"
)

func TestRequiredLiterals(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    []string // nil: no set
	}{
		{`^Failed password for (?P<user>\S+) from`, []string{"Failed password for "}},
		// RE2's parser reads [aA] as a case-folded a
		{`^[aA]uthentication (?:failure|error) for`, []string{"uthentication error for", "uthentication failure for"}},
		{`^[xy]uthentication (?:failure|error) for`, []string{"xuthentication error for", "xuthentication failure for", "yuthentication error for", "yuthentication failure for"}},
		{`foo(?=bar)baz`, []string{"foobaz"}}, // the lookahead only narrows
		{`(?<!x)ab+c`, []string{"a"}},
		{`(?P<c>\[)?\d+(?(c)\]|xyz)`, nil},          // the conditional may take nothing
		{`(?P<a>xx)\d(?P=a)yyyy`, []string{"yyyy"}}, // backreference read as .*
		{`(?:abc|de)+`, []string{"abc", "de"}},
		{`x*`, nil},
		{`a|`, nil},
		{`(?i)failed password`, nil},
		{`(?i:\d+)-+x`, []string{"-"}},
		{`(?:foo)?bar`, []string{"bar", "foobar"}},
		{`[ab]{2}`, []string{"aa", "ab", "ba", "bb"}},
		{`(?>atomic)z`, []string{"atomicz"}},
		{`^(?:error: )?Invalid user \S+ from`, []string{"Invalid user ", "error: Invalid user "}},
		{`[\S.]+bad`, []string{"bad"}},
		{`é(.)\S`, []string{"é"}},
	} {
		got := MustCompile(c.pattern).RequiredLiterals()
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: literals %q, want %q", c.pattern, got, want)
		}
	}
}

func TestRequiredLiteralSets(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    [][]string // nil: no set
	}{
		// the sshd failregex the conjunction was made for: the line
		// "Received disconnect from ...:11: disconnected by user" has the
		// first literal, not the others
		{`^Received (?P<m>disconnect) from (?P<h>\S+)(?: port \d+)?:\s*3: .*: Auth fail`,
			[][]string{{"Received disconnect from "}, {": Auth fail"}, {"3: "}}},
		{`foo.*bar.*baz`, [][]string{{"foo"}, {"bar"}, {"baz"}}},
		{`(?:abc.*def)+`, [][]string{{"abc"}, {"def"}}}, // the body of a repetition
		// an alternation: the union of one set of each branch
		{`(?:a.*foo|b.*foo)`, [][]string{{"foo"}, {"a", "b"}}},
		{`(?:foo\d+xx|bar)`, [][]string{{"bar", "foo"}, {"bar", "xx"}}},
		{`(?:foo|bar)\d+(?:baz|qux)`, [][]string{{"bar", "foo"}, {"baz", "qux"}}},
		// implied sets are dropped: "Failed password" holds "Failed "
		{`Failed .*Failed password`, [][]string{{"Failed password"}}},
		// so are strings holding another string of their set
		{`(?: for | for invalid user ).*x`, [][]string{{" for "}, {"x"}}},
		{`^(?:error: )?Invalid user \S+ from`, [][]string{{"Invalid user "}, {" from"}}},
		{`(?P<q>['"])user(?P=q) (?:was|is) (?:not found|bad)`,
			[][]string{{" is bad", " is not found", " was bad", " was not found"}, {"\"user", "'user"}}},
		{`(?<=x)(?:yz|zy)+w`, [][]string{{"yz", "zy"}, {"w"}}},
		{`(?i:abc)def.*ghi`, [][]string{{"def"}, {"ghi"}}},
		{`(?:ab|cd)(?:ef|gh)?ij`, [][]string{{"abefij", "abghij", "abij", "cdefij", "cdghij", "cdij"}}},
		// at most MaxLiteralSets
		{`a1.*b2.*c3.*d4.*e5.*f6.*g7.*h8.*i9.*j0`, [][]string{{"a1"}, {"b2"}, {"c3"}, {"d4"}, {"e5"}, {"f6"}, {"g7"}, {"h8"}}},
		{`x*`, nil},
		{`a|`, nil},
		{`(?i)failed password`, nil},
		{`(?P<c>\[)?\d+(?(c)\]|xyz)`, nil},
	} {
		got := MustCompile(c.pattern).RequiredLiteralSets()
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("%q: literal sets %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestRequiredLiteralSetsFirst checks that the conjunction is at least as
// strong as RequiredLiterals: its first set is that set, or implies it.
func TestRequiredLiteralSetsFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 3000 {
		p := randomPattern(r, 3)
		re, err := Compile(p)
		if err != nil {
			continue
		}
		lits, sets := re.RequiredLiterals(), re.RequiredLiteralSets()
		if (lits == nil) != (sets == nil) {
			t.Fatalf("%q: literals %q, sets %q", p, lits, sets)
		}
		if lits == nil {
			continue
		}
		if len(sets) > MaxLiteralSets {
			t.Fatalf("%q: %d sets", p, len(sets))
		}
		if !implies(sets[0], lits) {
			t.Fatalf("%q: first set %q does not imply %q", p, sets[0], lits)
		}
		for _, set := range sets {
			if !usable(set) || !slices.IsSorted(set) || !slices.Equal(set, minimalSet(set)) {
				t.Fatalf("%q: set %q of %q", p, set, sets)
			}
		}
	}
}

// checkSets reports a match of re in s lacking every literal of one of
// its sets (the match only, not the whole of s, must hold them).
func checkSets(t *testing.T, re *Regexp, sets [][]string, s string) (matched bool) {
	t.Helper()
	loc, err := re.FindIndex(s, nil)
	if err != nil || loc == nil {
		return false
	}
	m := s[loc[0]:loc[1]]
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(l string) bool { return strings.Contains(m, l) }) {
			t.Errorf("%q matches %q in %q, which holds none of %q (sets %q)", re, m, s, set, sets)
		}
	}
	return true
}

// randomPattern builds a random Python pattern from literals, classes,
// groups, alternations, quantifiers, lookarounds, backreferences,
// conditionals and anchors.
func randomPattern(r *rand.Rand, depth int) string {
	groups := 0
	var gen func(d int) string
	gen = func(d int) string {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			var a string
			switch k := r.IntN(20); {
			case k < 6 || d == 0:
				a = litWords[r.IntN(len(litWords))]
			case k < 9:
				a = []string{`[ab]`, `[xy]`, `\d`, `\S`, `.`, `[^:]`, `\s`, `[aA]`, `\w`}[r.IntN(9)]
			case k < 11:
				a = "(?:" + gen(d-1) + "|" + gen(d-1) + ")"
			case k < 13:
				groups++
				a = fmt.Sprintf("(?P<g%d>%s)", groups, gen(d-1))
			case k == 13:
				a = []string{"(?=", "(?!"}[r.IntN(2)] + gen(d-1) + ")"
			case k == 14:
				a = []string{"(?<=", "(?<!"}[r.IntN(2)] + litWords[r.IntN(len(litWords))] + ")"
			case k == 15 && groups > 0:
				a = fmt.Sprintf("(?P=g%d)", 1+r.IntN(groups))
			case k == 15:
				a = "(?>" + gen(d-1) + ")"
			case k == 16 && groups > 0:
				a = fmt.Sprintf("(?(g%d)%s|%s)", 1+r.IntN(groups), gen(d-1), gen(d-1))
			case k == 16:
				a = "(?i:" + gen(d-1) + ")"
			case k == 17:
				a = []string{"^", "$", `\b`, `\B`}[r.IntN(4)]
			default:
				a = "(?:" + gen(d-1) + ")"
			}
			if r.IntN(3) == 0 {
				a += []string{"?", "*", "+", "{1,3}", "{2}", "{0,2}", "+?", "*?", "??", "{3,}"}[r.IntN(10)]
			}
			b.WriteString(a)
		}
		return b.String()
	}
	return gen(depth)
}

var litWords = []string{"a", "b", "ab", "x", "yz", "foo", "bar", " from ", "user", ": ", "1", "é", "Failed "}

// randomLitSubject concatenates pieces of the literal words and separators.
func randomLitSubject(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(10) {
		switch r.IntN(4) {
		case 0:
			b.WriteString([]string{" ", ":", "\n", "A", "X", "FOO", "7", "-"}[r.IntN(8)])
		default:
			w := litWords[r.IntN(len(litWords))]
			if r.IntN(5) == 0 {
				w = w[:r.IntN(len(w)+1)]
			}
			b.WriteString(w)
		}
	}
	return strings.ToValidUTF8(b.String(), "")
}

// TestRequiredLiteralSetsRandom checks on random patterns and subjects
// that every match holds a literal of each of the pattern's sets.
func TestRequiredLiteralSetsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	patterns, withSets, multi, matches := 0, 0, 0, 0
	for range 1500 {
		p := randomPattern(r, 3)
		re, err := CompileTimeout(p, time.Second)
		if err != nil {
			continue
		}
		patterns++
		sets := re.RequiredLiteralSets()
		if sets == nil {
			continue
		}
		withSets++
		if len(sets) > 1 {
			multi++
		}
		for range 300 {
			if checkSets(t, re, sets, randomLitSubject(r)) {
				matches++
			}
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d patterns, %d with literal sets (%d with several), %d matches checked", patterns, withSets, multi, matches)
	if matches < 1000 || multi < 100 {
		t.Errorf("only %d matches, %d patterns with several sets", matches, multi)
	}
}

// FuzzRequiredLiteralSets checks a pattern's literal sets against a
// subject it matches.
func FuzzRequiredLiteralSets(f *testing.F) {
	r := rand.New(rand.NewPCG(15, 16))
	for range 50 {
		f.Add(randomPattern(r, 3), randomLitSubject(r))
	}
	f.Add(`^Received (?P<m>disconnect) from (?P<h>\S+)(?: port \d+)?:\s*3: .*: Auth fail`, "Received disconnect from 1.2.3.4 port 5:3: x: Auth fail")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 200 || !utf8.ValidString(s) {
			return
		}
		re, err := CompileTimeout(p, 100*time.Millisecond)
		if err != nil {
			return
		}
		if sets := re.RequiredLiteralSets(); sets != nil {
			checkSets(t, re, sets, s)
		}
	})
}

// TestRequiredLiteralsConservative checks on random subjects built from a
// pattern's pieces that every match holds one of the pattern's literals.
func TestRequiredLiteralsConservative(t *testing.T) {
	patterns := []string{
		`^Failed (?:password|publickey) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip>\S+)(?(cond_user): |(?:(?:(?! from ).)*)$)`,
		`(?P<q>['"])user(?P=q) (?:was|is) (?:not found|bad)`,
		`(?:ab|cd)(?:ef|gh)?ij`,
		`(?<=x)(?:yz|zy)+w`,
		`a(?:b|c(?:d|e))f`,
		`[xy]z[uv]`,
	}
	pieces := []string{"Failed password for ", "Failed publickey for invalid user ", " from 1.2.3.4 port 22", "Failed ", "password", "publickey", " for ", "invalid user ", "root", " from ", "1.2.3.4", ": ",
		"'", `"`, "user", " was", " is", " not found", " bad", "ab", "cd", "ef", "gh", "ij", "x", "yz", "zy", "w",
		"a", "b", "c", "d", "e", "f", "u", "v", "z", " ", "\n", "'user'", "\"user\"", " was not found", " is bad"}
	r := rand.New(rand.NewPCG(1, 1))
	for _, p := range patterns {
		re := MustCompile(p)
		lits := re.RequiredLiterals()
		sets := re.RequiredLiteralSets()
		if lits == nil || sets == nil {
			t.Errorf("%q: literals %q, sets %q", p, lits, sets)
			continue
		}
		matches := 0
		for range 200000 {
			var b strings.Builder
			for range 1 + r.IntN(9) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			s := b.String()
			ok, err := re.MatchString(s)
			if err != nil || !ok {
				continue
			}
			matches++
			found := false
			for _, l := range lits {
				found = found || strings.Contains(s, l)
			}
			if !found {
				t.Errorf("%q matches %q, which holds none of %q", p, s, lits)
				break
			}
			checkSets(t, re, sets, s)
		}
		if matches == 0 {
			t.Errorf("%q: no random subject matched", p)
		}
	}
}

// TestFindIndexRange compares FindIndexRange with Python's
// pattern.search(s, pos, endpos).
func TestFindIndexRange(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testenv.Missing(t, "no python3")
	}
	type rc struct {
		P      string `json:"p"`
		S      string `json:"s"`
		Pos    int    `json:"pos"`
		EndPos int    `json:"end"`
	}
	cases := []rc{
		{`\bb`, "ab b", 1, 4}, {`(?<=a)b`, "ab", 1, 2}, {`^b`, "ab", 1, 2}, {`b$`, "abc", 0, 2},
		{`(\d+)`, "a12345b", 2, 4}, {`x`, "axbx", 2, 4}, {`é(\w)`, "aéxéy", 3, 7}, {`é(\w)`, "aéxéyéz", 1, 6}, {`(?=\W|$)y`, "xy y", 1, 4},
		{`(?:^|\s)(\d\d):(\d\d)`, "at 10:20 and 11:30", 4, 18}, {`\d{2}:\d{2}`, "10:20 x 11:30", 1, 13},
	}
	js, _ := json.Marshal(cases)
	script := `
import json, re, sys
out = []
for c in json.loads(sys.stdin.read()):
    b = c['s'].encode()
    pos = len(b[:c['pos']].decode()); end = len(b[:c['end']].decode())
    m = re.compile(c['p']).search(c['s'], pos, end)
    if not m:
        out.append(None); continue
    spans = []
    for g in range(m.re.groups + 1):
        s, e = m.span(g)
        spans += [len(c['s'][:s].encode()) if s >= 0 else -1, len(c['s'][:e].encode()) if e >= 0 else -1]
    out.append(spans)
print(json.dumps(out))
`
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = strings.NewReader(string(js))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][]int
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		got, err := MustCompile(c.P).FindIndexRange(c.S, c.Pos, c.EndPos, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("%q.search(%q, %d, %d): %v, Python %v", c.P, c.S, c.Pos, c.EndPos, got, want[i])
		}
	}
}
