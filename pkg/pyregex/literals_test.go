package pyregex

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
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
		if lits == nil {
			t.Errorf("%q: no literals", p)
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
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 required: %v", err)
		}
		t.Skip("no python3")
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
