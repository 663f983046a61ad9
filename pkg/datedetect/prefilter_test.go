package datedetect

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// prefilterPatterns are date patterns whose templates the prefilter tests
// run: the default set, its line-begin part, and custom patterns in many
// shapes (anchored or not, with lookarounds, backreferences, conditionals,
// alternations, flags, escapes and sets).
var prefilterPatterns = []string{
	"", "{^LN-BEG}",
	"^%b %d %H:%M:%S", "{^LN-BEG}%Y-%m-%d %H:%M:%S", "^%Y-%m-%d %H:%M:%S %z", "{^LN-BEG}EPOCH", "^LEPOCH",
	"{^LN-BEG}TAI64N", "{^LN-BEG}%d/%b/%Y:%H:%M:%S %z", `^\[%Y-%m-%d %H:%M:%S\]`, `^\s*%Y-%m-%d`, `^(?=\d)%Y`,
	`^(?!x)%H:%M:%S`, `^%Y-%m-%d|%H:%M`, `^(?:%Y|%b)-%d`, `^(?P<q>")?%Y(?(q)")`, `^(?P<a>x)?(?P=a)%H`, `^\x41%H`,
	`^[[]%H`, `^[\s\d]%H`, `^[^a-z]%H`, `(?i)^[A-C]%H`, `(?a)^\w%H`, `^\d{,2}:%M`, `^{%H`, `^%%%H`, `^\.%H`,
	"{^LN-BEG}%ExY%Exm%Exd", "{^LN-BEG}x%Exk:%M", "{^LN-BEG}%p %I:%M", "{^LN-BEG}%a %b", "^(?:%Z )?%H", `^\bx%H`,
	"{^LN-BEG}{DATE}", "^x{DATE}", `(?s)^.%H`, `^\W%H`, `^.?%H:%M`,
}

// prefilterLines are lines for the prefilter tests: fail2ban's sample
// logs, the mixed benchmark log, generated dates, short random strings
// of characters that matter to the first sets (white space Python has
// and Go has not, non-ASCII letters that fold to ASCII ones), and
// mutations of all.
func prefilterLines(t testing.TB, r *rand.Rand) []string {
	lines := sampleLines(t)
	mixed, _ := mixedSequence(t)
	lines = append(lines, mixed[:1000]...)
	lines = append(lines, genDateLines(r, 3000)...)
	const alphabet = "aZz0912 \t\v\f\x1c\x1f[]<>@+-_.:,/\u017f\u212a\u0130\u00e4\u0663\"x"
	chars := []rune(alphabet)
	for range 3000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteRune(chars[r.IntN(len(chars))])
		}
		lines = append(lines, b.String()+[]string{"", "12:34:56 x", "Jan 02 12:34:56", "2005-01-02 12:34:56"}[r.IntN(4)])
	}
	n := len(lines)
	for i := range n {
		lines = append(lines, mutate(r, lines[i]))
	}
	return lines
}

// prefilterTemplates returns the templates of prefilterPatterns, each once.
func prefilterTemplates(t testing.TB) []*template {
	var out []*template
	seen := map[string]bool{}
	for _, p := range prefilterPatterns {
		d, err := New(Options{Pattern: p, Location: time.UTC, Now: func() time.Time { return time.Unix(testNow, 0) }})
		if err != nil {
			t.Fatalf("New(%q): %v", p, err)
		}
		for _, tp := range d.templates {
			if k := tp.re.String(); !seen[k] {
				seen[k] = true
				out = append(out, tp)
			}
		}
	}
	return out
}

// checkFirstFilter checks that the regex of a template whose prefilter
// rejects line does not match it; it returns whether it rejected.
func checkFirstFilter(t testing.TB, tp *template, line string) bool {
	if tp.first == nil || !tp.first.rejects(line) {
		return false
	}
	loc, err := tp.re.FindIndex(line, nil)
	if err != nil {
		t.Fatalf("%s: %q: %v", tp.re, line, err)
	}
	if loc != nil {
		t.Errorf("%s: prefilter rejects %q, regex matches %q", tp.re, line, line[loc[0]:loc[1]])
	}
	return true
}

// TestFirstFilter checks that no template's regex matches a line its
// prefilter rejects, on fail2ban's sample logs, the mixed log, generated
// and mutated lines, for the default templates and custom patterns; that
// every line-begin anchored default template has a prefilter; and that
// the prefilters reject the lines of the other formats of a mixed log.
func TestFirstFilter(t *testing.T) {
	tps := prefilterTemplates(t)
	r := rand.New(rand.NewPCG(3, 5))
	lines := prefilterLines(t, r)
	filters, rejects := 0, 0
	for _, tp := range tps {
		if tp.first == nil {
			continue
		}
		filters++
		for _, l := range lines {
			if checkFirstFilter(t, tp, l) {
				rejects++
			}
		}
	}
	t.Logf("%d templates, %d with a prefilter, %d lines: %d rejections", len(tps), filters, len(lines), rejects)

	d, err := New(Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range d.templates {
		if tp.flags&flagLineBegin != 0 && tp.first == nil {
			t.Errorf("%s: no prefilter", tp.name)
		}
	}
	iso, syslog := d.templates[0], d.templates[1]
	for _, c := range []struct {
		tp   *template
		line string
	}{
		{iso, "Mar  1 00:00:00 srv1 sshd[1032]: Connection from 198.51.100.213 port 60326"},
		{iso, "[Mar  1 00:00:00] x"},
		{syslog, "2025/03/01 00:01:59 [error] 911#0: *272093 user \"nagios\": password mismatch"},
		{syslog, "[2025-03-01 00:00:00] VERBOSE[1645] pbx.c: Executing [534@default:1]"},
		{syslog, "  1740787200 x"},
	} {
		if !c.tp.first.rejects(c.line) {
			t.Errorf("%s: prefilter does not reject %q", c.tp.name, c.line)
		}
	}
}

// TestFirstSets checks the first sets the prefilter computes for some
// regexes (Python syntax, as wrap builds them), and that it has none for
// regexes it cannot judge.
func TestFirstSets(t *testing.T) {
	for _, c := range []struct {
		re    string
		first string // "" when no prefilter
		skip  bool
	}{
		{lineBegin + `((?P<Y>(?:200|201|202)\d)-)`, "2", true},
		{`(?i)` + lineBegin + `((?:(?P<a>mon|tue) )?(?P<b>jan|feb))`, "FJMTfjmt", true},
		{`^(<(?P<m>0?[1-9]|1[0-2]))`, "<", false},
		{lineBegin + `(\s*x)`, "\t\n\v\f\r\x1c\x1d\x1e\x1f x", true},
		{lineBegin + `((?P<q>")?(?(q)a|b)c)`, "\"abc", true},
		{lineBegin + `((?<=^\[)?\d{10})`, "0123456789", true},
		{lineBegin + `((?=x)y)`, "y", true},
		{lineBegin + `(?P<x>a)?(?P=x)b`, "", true}, // a backreference may start anywhere
		{lineBegin + `(a|^)b`, "ab", true},         // an anchor is empty
		{lineBegin + `(a?)`, "", true},             // may be empty
		{`^a|b`, "", false},                        // top-level alternation
		{`(?m)^a`, "", false},                      // ^ after newlines
		{`(?x)^a`, "", false},                      // verbose
		{`a`, "", false},                           // not anchored
		{lineBegin + `(\u00e4)`, "", true},         // non-ASCII: folding unknown
		{lineBegin + `(a++)`, "", true},            // possessive
		{lineBegin + `((?i:k)x)`, "Kk", true},      // scoped flag
		{lineBegin + `([\s\d]x)`, "\t\n\v\f\r\x1c\x1d\x1e\x1f 0123456789", true},
		{lineBegin + `(\{a)`, "{", true},
		{lineBegin + `(x{,2}a)`, "ax", true}, // Python's {,2} is {0,2}
		{lineBegin + `({,2}a)`, "", true},    // nothing to repeat
	} {
		f := firstFilterOf(c.re)
		if c.first == "" {
			if f != nil {
				t.Errorf("%q: prefilter %q, want none", c.re, firstString(f))
			}
			continue
		}
		if f == nil {
			t.Errorf("%q: no prefilter, want %q", c.re, c.first)
			continue
		}
		if got := firstString(f); got != c.first || f.skip != c.skip {
			t.Errorf("%q: first %q skip %v, want %q %v", c.re, got, f.skip, c.first, c.skip)
		}
	}
}

// firstString lists the bytes of a prefilter's first set in order.
func firstString(f *firstFilter) string {
	var b []byte
	for c := range 0x80 {
		if f.has(byte(c)) {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// FuzzFirstFilter checks on any line that no template's regex matches it
// when the template's prefilter rejects it.
func FuzzFirstFilter(f *testing.F) {
	for _, s := range []string{"Nov 22 10:00:00 srv", "2024-11-22T10:00:00.123+01:00 x", "[2025-03-01 00:00:00] x",
		"\v12:00:00", "\u017fep 1 10:00:00", "@4000000037c219bf2ef02e94", "<09/16/08@05:03:30> x", " +0100 Jan 2 10:00:00"} {
		f.Add(s)
	}
	tps := prefilterTemplates(f)
	f.Fuzz(func(t *testing.T, line string) {
		for _, tp := range tps {
			checkFirstFilter(t, tp, line)
		}
	})
}
