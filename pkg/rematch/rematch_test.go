package rematch

import (
	"bufio"
	"compress/bzip2"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// compileBoth compiles expr for regexp and for rematch (nil when rematch
// does not take it).
func compileBoth(t testing.TB, expr string) (*regexp.Regexp, *Prog) {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, nil
	}
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		t.Fatalf("%q: regexp compiles it, syntax does not: %v", expr, err)
	}
	p, err := Compile(tree)
	if err != nil {
		return re, nil
	}
	if p.NumCap() != 2*(re.NumSubexp()+1) {
		t.Fatalf("%q: %d capture slots, regexp has %d", expr, p.NumCap(), 2*(re.NumSubexp()+1))
	}
	return re, p
}

// same checks that rematch finds what regexp finds in s.
func same(t testing.TB, re *regexp.Regexp, p *Prog, s string) {
	t.Helper()
	want := re.FindStringSubmatchIndex(s)
	caps := make([]int, p.NumCap())
	found, decided := p.Find(s, caps, Budget(s))
	if !decided {
		return // the caller would ask regexp
	}
	if found != (want != nil) || (found && !slices.Equal(caps, want)) {
		if !found {
			caps = nil
		}
		t.Errorf("%q on %q: rematch %v, regexp %v", re, s, caps, want)
	}
}

// sameWithMemo checks that rematch finds what regexp finds in each of
// subjects, as compiled and with the memo of failed continuations from the
// first step (it normally starts after memoAfter steps).
func sameWithMemo(t testing.TB, re *regexp.Regexp, p *Prog, subjects []string) {
	t.Helper()
	memo := *p
	memo.memoAfter = 0
	for _, s := range subjects {
		same(t, re, p, s)
		same(t, re, &memo, s)
	}
}

func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// searchCorpus reads RE2's search tests as Go ships them
// ($GOROOT/src/regexp/testdata): blocks of strings and the regexps tried
// on each of them. The expected results are not read: regexp is the oracle.
func searchCorpus(t *testing.T, r io.Reader, each func(expr string, subjects []string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var strs []string
	mode := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "strings":
			mode, strs = "strings", nil
			continue
		case line == "regexps":
			mode = "regexps"
			continue
		case line == "" || line[0] != '"':
			continue
		}
		q, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("unquote %q: %v", line, err)
		}
		if mode == "strings" {
			strs = append(strs, q)
		} else {
			each(q, strs)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRE2Corpus runs every expression of RE2's search and exhaustive test
// corpora on their subjects (the search corpus also on subjects with
// invalid UTF-8, multi-byte runes and newlines mixed in; with the memo
// from the first step, both corpora) and requires the results of regexp.
func TestRE2Corpus(t *testing.T) {
	dir := filepath.Join(goroot(t), "src", "regexp", "testdata")
	files := []string{"re2-search.txt", "re2-exhaustive.txt.bz2"}
	if testing.Short() {
		files = files[:1]
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		exhaustive := strings.HasSuffix(name, ".bz2")
		if exhaustive {
			r = bzip2.NewReader(f)
		}
		exprs, compiled, subjects := 0, 0, 0
		searchCorpus(t, r, func(expr string, strs []string) {
			exprs++
			re, p := compileBoth(t, expr)
			if p == nil {
				return
			}
			compiled++
			// and with the memo of failed continuations from the first
			// step of every search (it normally starts after memoAfter
			// steps, which few of these searches take)
			memo := *p
			memo.memoAfter = 0
			for _, s := range strs {
				subjects++
				same(t, re, p, s)
				same(t, re, &memo, s)
				for _, mixed := range []string{s + "\xff" + s, "é" + s + "\n" + s + "x"} {
					if !exhaustive {
						same(t, re, p, mixed)
					}
					same(t, re, &memo, mixed)
				}
			}
		})
		f.Close()
		t.Logf("%s: %d expressions, %d compiled, %d subjects", name, exprs, compiled, subjects)
		// the exhaustive corpus is rich in repetitions of empty matches
		if compiled < exprs*8/10 {
			t.Errorf("%s: only %d of %d expressions compiled", name, compiled, exprs)
		}
	}
}

// TestLogExpressions are expressions of the shape log filters use, on
// lines that match them and lines that almost do.
func TestLogExpressions(t *testing.T) {
	host := `(?:\[?(?:(?:::f{4}f?f?:)?(?P<ip4>\d{1,3}(?:\.\d{1,3}){3})|(?P<ip6>(?:[0-9A-Fa-f]{1,4}:{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:)))\]?|(?P<dns>[\p{L}\p{N}_.^-]*[\p{L}\p{N}_]))`
	exprs := []string{
		`^(?P<nofail>Connection from) ` + host,
		`^(?P<nofail>Received (?P<mlfforget>disconnect)) from ` + host + `(?: (?:port \d+|on \S+)){0,2}:\s*11:`,
		`^(?P<mlfforget>(?P<mlfgained>Accepted \w+)) for (?P<user>\S+) from ` + host + `(?:\s|$)`,
		`^Failed \S+ for (?P<cond_inv>invalid user )?(?P<user>\S+|[^:]+) from ` + host + `(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?:: |(?:(?: from ).)*$)`,
		`^[aA]uthentication (?:failure|error|failed) for (?P<user>.*) from ` + host + `( via \S+)?\s*$`,
		`^User (?P<user>\S+|.*?) from ` + host + ` not allowed because not listed in AllowUsers\s*$`,
		`(?i)^user (?P<user>\S+) from ` + host,
		`\bfrom\b.*?(\d+)$`,
		`(?m)^Failed .* from (\S+)$`,
		`^(\w+) (.*) from (?P<host>\S+) from$`,
		`^(?:[^:]+)(x) from (y)?`,
	}
	lines := []string{
		"Connection from 198.51.100.7 port 5022 on 10.0.0.1 port 22 rdomain \"\"\n",
		"Connection from 2001:db8::7 port 5022 on 10.0.0.1 port 22\n",
		"Connection from host.example.org\n",
		"Received disconnect from 198.51.100.7 port 5022:11: disconnected by user\n",
		"Received disconnect from 198.51.100.7 port 5022:3: x: Auth fail\n",
		"Accepted publickey for root from 198.51.100.7 port 5022 ssh2: RSA SHA256:abc\n",
		"Failed password for invalid user admin from 198.51.100.7 port 5022 ssh2\n",
		"Failed password for root from 198.51.100.7 port 5022 ssh2\n",
		"Failed password for user from 1.2.3.4 from 198.51.100.7 port 22 ssh2\n",
		"authentication failure for bob from 203.0.113.9 via 10.0.0.1\n",
		"User bob from 203.0.113.9 not allowed because not listed in AllowUsers\n",
		"USER Bob FROM 203.0.113.9\n",
		"a\nFailed x from 1.2.3.4\nb from 12\n",
		"Failed pässword for jürgen from 198.51.100.7 port 5022 ssh2\n",
		"Failed \xffpassword for \xfe\xfd from 198.51.100.7\xff port 22\n",
		"",
		"\n",
		"user a from b from c from d from e from f from g from h from i from j from\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaax from y x from x from yx from y: from from\n",
	}
	for _, expr := range exprs {
		re, p := compileBoth(t, expr)
		if p == nil {
			t.Fatalf("%q: not compiled", expr)
		}
		for _, l := range lines {
			same(t, re, p, l)
			for i := 0; i < len(l); i++ {
				same(t, re, p, l[:i])
				same(t, re, p, l[i:])
			}
		}
	}
}

// TestBudget: an expression that backtracks exponentially on a subject
// gives up within its budget instead of running for ever.
func TestBudget(t *testing.T) {
	re, p := compileBoth(t, `^(?:(a)|a(a))*(?:(a)|a(a))*c`)
	if p == nil {
		t.Fatal("not compiled")
	}
	s := strings.Repeat("a", 60)
	caps := make([]int, p.NumCap())
	found, decided := p.Find(s, caps, Budget(s))
	if decided {
		t.Fatalf("decided (found=%v) within the budget on an exponential search", found)
	}
	if re.MatchString(s) {
		t.Fatal("regexp matched")
	}
	// a generous budget on a short subject decides
	if found, decided := p.Find("aac", caps, Budget("aac")); !found || !decided {
		t.Fatalf("aac: found %v decided %v", found, decided)
	}
}

// TestMemo compares rematch with regexp on expressions that backtrack over
// the same ground many times (exponentially often without the memo of
// failed continuations) and checks that they now decide within the
// budget on subjects where plain backtracking exhausts it.
func TestMemo(t *testing.T) {
	for _, c := range []struct {
		expr     string
		alphabet string
		hard     string // one that backtracks a lot, most of them exponentially without the memo ("": none)
	}{
		{`(?:aa|a)*b`, "ab", strings.Repeat("a", 40)},
		{`^(?:a+a+)+b`, "ab", strings.Repeat("a", 40)},
		{`(?:x|xy|y)*?z`, "xyz", strings.Repeat("xy", 30)},
		{`^(?:[\w.]+\s?)+: Auth fail`, "a. :", "Received disconnect from 198.19.237.80 port 31178:11: disconnected by user\n"},
		{`^(?:\w+\s?)*$`, "ab !", strings.Repeat("ab ", 20) + "!"},
		{`(a|ab)(c|bcd)(d*)`, "abcd", ""},
		{`^((?:a|b)+?)(b*)((?:ab|b)+)$`, "ab", ""},
		{`(?:([0-9A-Fa-f]{1,4}):{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:)( port)`, "1a:. p", "2001:db8::1:2:3:4:5:6:7 port"},
	} {
		re, p := compileBoth(t, c.expr)
		if p == nil {
			t.Fatalf("%q: not compiled", c.expr)
		}
		// every subject over the alphabet up to 8 long, and longer ones
		// made of repeated pieces of them (where the memo starts)
		var subjects []string
		var gen func(s string)
		gen = func(s string) {
			subjects = append(subjects, s, strings.Repeat(s, 40))
			if len(s) < 8 && len(subjects) < 20000 {
				for _, r := range c.alphabet {
					gen(s + string(r))
				}
			}
		}
		gen("")
		for _, s := range subjects {
			same(t, re, p, s)
		}
		if c.hard == "" {
			continue
		}
		caps := make([]int, p.NumCap())
		found, decided := p.Find(c.hard, caps, Budget(c.hard))
		if !decided {
			t.Errorf("%q on %q: not decided within the budget", c.expr, c.hard)
		}
		same(t, re, p, c.hard)
		if found != re.MatchString(c.hard) {
			t.Errorf("%q on %q: found %v", c.expr, c.hard, found)
		}
	}
}

// TestUnsupported: repetitions of what can match empty are left to regexp.
func TestUnsupported(t *testing.T) {
	for _, expr := range []string{`(a*)*`, `(?:a?b?)+x`, `(\b)*`} {
		tree, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(tree); err == nil {
			t.Errorf("%q compiled", expr)
		}
	}
}

// FuzzSameAsRegexp compares rematch with regexp on arbitrary expressions
// and subjects.
func FuzzSameAsRegexp(f *testing.F) {
	for _, seed := range [][2]string{
		{`^(a+|b)*?c`, "aabbc"},
		{`(?i)k\w+`, "\u212aelvin"},
		{`x(.*?)y|(\d+)`, "x12y 34"},
		{`^(?:\S+ )*(\w+)$`, "a b c d"},
		{`\bfoo\B`, "foobar foo"},
		{`(?m)^b$`, "a\nb\nc"},
		{`[^a-c]+?d`, "xyzd\xffd"},
		{`(?s).{2,4}?(z)`, "\n\nz"},
		{`^(?:(a)|b(c)?){1,3}?(b|ab)*$`, "abcbab"},
		{`(ab|a){2,4}(b*)`, "abababab"},
		{`((?:a|ab){0,3})(b?)c`, "ababc"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, expr, s string) {
		if len(expr) > 64 || len(s) > 128 {
			return
		}
		re, p := compileBoth(t, expr)
		if p == nil {
			return
		}
		same(t, re, p, s)
	})
}

// TestEnumerated compares rematch with regexp on every expression of a
// small grammar (atoms, groups, alternations, every kind of repetition,
// greedy and lazy, in pairs) and every subject over {a, b} up to 6 long.
func TestEnumerated(t *testing.T) {
	atoms := []string{`a`, `b`, `(a)`, `(ab|a)`, `(?:a|b)`, `(a*)`, `[ab]`, `\b`, `$`}
	quants := []string{``, `*`, `+`, `?`, `*?`, `+?`, `??`, `{2}`, `{0,2}`, `{1,3}`, `{2,}`, `{0,2}?`, `{1,3}?`, `{2,}?`}
	var pieces []string
	for _, a := range atoms {
		for _, q := range quants {
			pieces = append(pieces, a+q)
		}
	}
	var subjects []string
	var gen func(s string)
	gen = func(s string) {
		subjects = append(subjects, s)
		if len(s) < 6 {
			gen(s + "a")
			gen(s + "b")
		}
	}
	gen("")
	exprs, compiled := 0, 0
	for _, p1 := range pieces {
		for _, p2 := range pieces {
			for _, expr := range []string{p1 + p2, `^` + p1 + p2 + `$`} {
				exprs++
				re, p := compileBoth(t, expr)
				if p == nil {
					continue
				}
				compiled++
				sameWithMemo(t, re, p, subjects)
				if t.Failed() {
					t.FailNow()
				}
			}
		}
	}
	t.Logf("%d expressions, %d compiled, %d subjects each", exprs, compiled, len(subjects))
}

// TestEnumeratedEnds compares rematch with regexp on the expressions of a
// small grammar around the end assertions ($, multi-line $, \z), whose
// first sets prune the paths that cannot reach a newline or the end (and
// with them the ends a loop followed by a class tries: stopPair), and
// every subject over {a, b, newline} up to 5 long.
func TestEnumeratedEnds(t *testing.T) {
	atoms := []string{`a`, `\n`, `[ab]`, `[^b]`, `$`, `(?m:$)`, `\z`, `(a|$)`}
	quants := []string{``, `*`, `?`, `+?`, `{0,2}`, `*?`, `{1}`}
	var pieces []string
	for _, a := range atoms {
		for _, q := range quants {
			if strings.HasPrefix(a, "$") || strings.HasPrefix(a, "(?m:$") || strings.HasPrefix(a, `\z`) {
				if q != "" {
					continue // a repeated assertion: nothing new
				}
			}
			pieces = append(pieces, a+q)
		}
	}
	var subjects []string
	var gen func(s string)
	gen = func(s string) {
		subjects = append(subjects, s)
		if len(s) < 5 {
			gen(s + "a")
			gen(s + "b")
			gen(s + "\n")
		}
	}
	gen("")
	compiled := 0
	for _, p1 := range pieces {
		for _, p2 := range pieces {
			for _, expr := range []string{p1 + p2, `(` + p1 + `)` + p2 + `b?`, p1 + p2 + `(?m:$)`} {
				re, p := compileBoth(t, expr)
				if p == nil {
					continue
				}
				compiled++
				for _, s := range subjects {
					same(t, re, p, s)
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		}
	}
	if compiled < 1000 {
		t.Fatalf("only %d expressions compiled", compiled)
	}
}
