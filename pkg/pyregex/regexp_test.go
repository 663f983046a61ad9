package pyregex

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/testenv"
)

type diffCase struct {
	Pattern string `json:"p"`
	Subject string `json:"s"`
}

// diffCases are checked against the real Python `re` module.
var diffCases = []diffCase{
	{`^abc$`, "abc\n"},
	{`^abc$`, "abc\nx"},
	{`abc$`, "x\nabc\n"},
	{`(?m)^b$`, "a\nb\nc\n"},
	{`^(\w+)\s(\d+)$`, "héllo ١٢٣\n"},
	{`^(\w+)\s(\d+)$`, "hello\u00a0123\n"},
	{`^(\w+)\s(\d+)$`, "hello\v123"},
	{`(?a)^(\w+)\s(\d+)$`, "héllo 123"},
	{`\bfoo\b`, "a foo b"},
	{`\bfoo\b`, "éfoo b"},
	{`\bfoo\b`, "éfoo\n"},
	{`x\Z`, "x\n"},
	{`x\Z`, "ax"},
	{`a{,2}b`, "aaab"},
	{`a{x}`, "a{x}"},
	{`x{1}y{`, "xy{"},
	{`[[:alpha:]]+`, "ab[:a]"},
	{`[]a]+`, "]]a"},
	{`[\d.]+`, "v1.2.3"},
	{`(?P<a>x)(?P=a)`, "axxb"},
	{`(a)(b)?\1`, "aba aa"},
	{`(?P<c>\[)?\d+(?(c)\])`, "[123] 45"},
	{`(?P<c>\[)?\d+(?(c)\])`, "x 45]"},
	{`foo(?=bar)`, "foobaz foobar"},
	{`(?<!x)y`, "xy zy"},
	{`(?i:ab)C`, "ABC abC"},
	{`(?i)ab(?-i:C)`, "ABc ABC"},
	{`(?x) a  b # comment
	  c`, "abc"},
	{`a(?#note)b`, "ab"},
	{`\x41\u00e9\0`, "A\u00e9\x00"},
	{`é(.)\S`, "xéab"},
	{`(?:(a)|b)+`, "ab"},
	{`^(?:(?! from ).)*?x from (\S+)`, "u x from 1.2.3.4 port"},
	{`\s*$`, "abc  \n"},
	{`(.+)$`, "line\n"},
	{`[\S.]+`, " a.b "},
	{`[\d\W]+`, "ab1.2cd"},
	{`[\d\W]+`, "ab1.2cd"},
	{`\.\*\?\(\)\|\{\}\^\$\-\ `, ".*?()|{}^$- "},
	{`a|b|`, "c"},
}

// pythonOracle runs the installed Python 3 over cases and returns, for each,
// the flattened group spans of re.search or nil.
func pythonOracle(t *testing.T, cases []diffCase) [][]int {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not installed: %v", err)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	// Python offsets are code points; convert them to UTF-8 byte offsets.
	script := `
import json, re, sys
out = []
for c in json.load(sys.stdin):
    m = re.search(c["p"], c["s"])
    if not m:
        out.append(None); continue
    spans = []
    for i in range(m.re.groups + 1):
        a, b = m.span(i)
        if a < 0:
            spans += [-1, -1]
        else:
            spans += [len(c["s"][:a].encode()), len(c["s"][:b].encode())]
    out.append(spans)
print(json.dumps(out))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var res [][]int
	if err := json.Unmarshal(outb, &res); err != nil {
		t.Fatalf("decode python output: %v", err)
	}
	return res
}

func TestAgainstPython(t *testing.T) {
	want := pythonOracle(t, diffCases)
	for i, c := range diffCases {
		r, err := Compile(c.Pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.Pattern, err)
			continue
		}
		got, err := r.FindIndex(c.Subject, nil)
		if err != nil {
			t.Errorf("FindIndex(%q, %q): %v", c.Pattern, c.Subject, err)
			continue
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%q on %q [%s]: got %v, python %v", c.Pattern, c.Subject, r.Engine(), got, want[i])
		}
		ok, _ := r.MatchString(c.Subject)
		if ok != (want[i] != nil) {
			t.Errorf("MatchString(%q, %q) = %v", c.Pattern, c.Subject, ok)
		}
	}
}

func TestEngineChoice(t *testing.T) {
	for p, want := range map[string]string{
		`^Failed \S+ for (?P<user>.*) from (\d+\.\d+)$`: EngineRE2,
		`foo(?=bar)`:             EngineRegexp2,
		`(?P<a>x)(?P=a)`:         EngineRegexp2,
		`(?P<c>x)?(?(c)y|z)`:     EngineRE2,
		`(?P<c>x)*(?(c)y|z)`:     EngineRegexp2,
		`(?P<c>x?)?(?(c)y|z)`:    EngineRegexp2,
		`a(?:(?! b).)*? b`:       EngineRE2,
		`a(?:(?! b).)*?b`:        EngineRegexp2,
		`a(?:(?! b).)*$`:         EngineRE2,
		`(?i)a(?:(?! b).)*$`:     EngineRegexp2,
		`a(?:(?! b).)*c`:         EngineRegexp2,
		`(?<=^\[)\d+`:            EngineRegexp2,
		`\bword\b`:               EngineRE2,
		`[\d\W]`:                 EngineRE2,
		`[^\d\W]`:                EngineRegexp2,
		`(?a)[\w\s]+\b`:          EngineRE2,
		`(?:(?i)x)`:              "error",
		`(?P<n>a)(?P<n>b)`:       "error",
		`\q`:                     "error",
		`(unbalanced`:            "error",
		`a++`:                    "error",
		`(?P<user>x)(?P=nouser)`: "error",
	} {
		r, err := Compile(p)
		got := "error"
		if err == nil {
			got = strings.Fields(r.Engine())[0]
		}
		if got != want {
			t.Errorf("Compile(%q): engine %q, want %q", p, got, want)
		}
	}
}

func TestGroupNames(t *testing.T) {
	r := MustCompile(`(a)(?P<user>b)(?:c)(?P<x>(d))(?=e)`)
	if got, want := r.SubexpNames(), []string{"", "", "user", "x", ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("SubexpNames = %q, want %q", got, want)
	}
	if r.SubexpIndex("x") != 3 || r.SubexpIndex("nope") != -1 || r.NumSubexp() != 4 {
		t.Fatalf("SubexpIndex/NumSubexp wrong")
	}
	m, err := r.FindIndex("zabcde", nil)
	if err != nil || m == nil {
		t.Fatalf("no match: %v", err)
	}
	if got := "zabcde"[m[4]:m[5]]; got != "b" {
		t.Fatalf("user = %q", got)
	}
}

func TestNoAllocOnMiss(t *testing.T) {
	r := MustCompile(`^Failed (?:password|publickey) for (?P<user>\S+) from (?P<ip>[\d.]+)`)
	dst := make([]int, 0, 16)
	line := "Accepted password for root from 192.0.2.1 port 22 ssh2\n"
	n := testing.AllocsPerRun(100, func() {
		if m, _ := r.FindIndex(line, dst); m != nil {
			t.Fatal("unexpected match")
		}
	})
	if n != 0 {
		t.Fatalf("non-matching RE2 search allocated %v times", n)
	}
}

func BenchmarkFindIndexRE2Miss(b *testing.B) {
	r := MustCompile(`^Failed (?:password|publickey) for (?P<user>\S+) from (?P<ip>[\d.]+)`)
	dst := make([]int, 0, 16)
	line := "Accepted password for root from 192.0.2.1 port 22 ssh2\n"
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.FindIndex(line, dst)
	}
}

func BenchmarkFindIndexRegexp2Hit(b *testing.B) {
	r := MustCompile(`^Failed \S+ for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip>[\d.]+)`)
	dst := make([]int, 0, 16)
	line := "Failed password for invalid user nobody from 192.0.2.2 port 50000 ssh2\n"
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.FindIndex(line, dst)
	}
}
