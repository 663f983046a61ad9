package pyregex

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Expanded sshd failregexes (fail2ban 1.0.2 sshd.conf, publickey=nofail)
// that need conditionals and tempered lookaheads.
const (
	sshdHost     = `(?:\[?(?:(?:::f{4}f?f?:)?(?P<ip4>\d{1,3}(?:\.\d{1,3}){3})|(?P<ip6>(?:[0-9A-Fa-f]{1,4}:{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:)))\]?|(?P<dns>[\w.^-]*\w))`
	sshdFailed   = `^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from ` + sshdHost + `(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`
	sshdFailedPK = `^Failed publickey for invalid user (?P<user>(?P<cond_user>\S+)|(?:(?! from ).)*?) from ` + sshdHost + `(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`
)

// rewritePatterns are checked against their regexp2 programs (and Python).
var rewritePatterns = []string{
	sshdFailed,
	sshdFailedPK,
	"(?m)" + sshdFailed,
	`^(?P<a>x)?(?(a)y|z)w`,
	`(?P<a>a|b)(?(a)c|d)`,
	`^(?:(?P<a>a)|b)(?(a)x|y)(?(a)z)`,
	`^(?P<a>a)??(?(a)b|a)`,
	`(?P<o>\()?(?P<v>\w+)(?(o)\))$`,
	`^(?P<p>x)?(?P<q>y)?(?(p)(?(q)1|2)|(?(q)3|4))`,
	`^(?P<u>(?:(?!ab).)*?)ab(?P<r>.*)`,
	`^(?:(?!aa).)*?aa(?P<r>.*)`,
	`(?P<u>(?:(?!aba).)*?)aba`,
	`^(?P<u>(?:(?!xx).)*)$`,
	`(?P<u>(?:(?!xx).)*)\Z`,
	`a(?:(?!a x).)*?a x(?P<t>\w*)`,
	`^(?P<c>y)?(?P<u>(?:(?! b ).)*?) b (?(c)x|\w+)`,
}

// netOnly compiles p for regexp2 alone (the engine before the rewrite),
// with a time limit generous enough for a loaded test machine.
func netOnly(t testing.TB, p string) *Regexp {
	tr, err := translate(p)
	if err != nil {
		t.Fatal(err)
	}
	net, idx, err := compileNet(p, tr.netExpr, len(tr.names), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &Regexp{src: p, names: tr.names, net: net, netIdx: idx, timeout: 10 * time.Second}
}

// randomSubject builds an sshd-like message or, for the synthetic
// patterns, a short string over their alphabet, with random edits.
func randomSubject(r *rand.Rand, sshd bool) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	var s string
	if sshd {
		s = pick("Failed ", "Failed ", "Failed  ", "failed ") + pick("password", "publickey", "publickey", "none", "keyboard-interactive/pam", "") +
			pick(" for ", " for ", " for  ", " for") + pick("", "invalid user ", "invalid user ", "invalid user  ") +
			pick("root", "x y", "a from b", " from ", "from", "x from", " fro", " from", "ab:c", "", "a  b", "u from 1.2.3.4 port 1", "é ü", "a\tb", "x: y") +
			pick(" from ", " from  ", " from", "from ") +
			pick("1.2.3.4", "::1", "2001:db8::2", "host.example", "[1.2.3.4]", "::ffff:10.0.0.1", "1.2.3.4 from 5.6.7.8", "h") +
			pick("", " port 22", " port 22 ssh2", " on eth0 port 1", " ssh2", " ssh2: RSA SHA256:x", " ssh2: ", " from 5.6.7.8", " port 1 from x", " x from", " port 22 ssh2 from ", " ssh2 fro") +
			pick("\n", "", "\nmore\n", "  \n", " \n\n")
	} else {
		const alpha = "abcdwxyz1234 ()\n"
		n := r.IntN(14)
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		s = string(b)
		for _, w := range []string{"ab", "aa", "aba", "xx", "a x", " b ", "y"} {
			if r.IntN(4) == 0 {
				i := r.IntN(len(s) + 1)
				s = s[:i] + w + s[i:]
			}
		}
	}
	for k := r.IntN(3); k > 0; k-- {
		i := r.IntN(len(s) + 1)
		switch r.IntN(3) {
		case 0:
			s = s[:i] + pick(" ", "f", "from", " from ", ":", "\n", "é", "x") + s[i:]
		case 1:
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		}
	}
	return s
}

// TestRewriteEquivalence compares the RE2 program of each rewritten
// pattern with the pattern's regexp2 program on random subjects.
func TestRewriteEquivalence(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, p := range rewritePatterns {
		re := MustCompile(p)
		if re.re2 == nil || re.groupMap == nil {
			t.Errorf("%s: not rewritten (%s)", p, re.Engine())
			continue
		}
		net := netOnly(t, p)
		sshd := strings.HasPrefix(strings.TrimPrefix(p, "(?m)"), "^Failed")
		matched := 0
		for k := 0; k < 20000; k++ {
			s := randomSubject(r, sshd)
			got, err1 := re.FindIndex(s, nil)
			want, err2 := net.FindIndex(s, nil)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s\non %q: rewritten %v, regexp2 %v\nrewritten as %s", p, s, got, want, mustRewrite(p))
			}
			if got != nil {
				matched++
			}
		}
		if matched < 30 {
			t.Errorf("%s: only %d matching subjects", p, matched)
		}
	}
}

func mustRewrite(p string) string {
	rw, err := rewriteForRE2(p, MustCompile(p).alts != nil)
	if err != nil {
		return err.Error()
	}
	var srcs []string
	for _, a := range rw.alts {
		srcs = append(srcs, a.src)
	}
	return strings.Join(srcs, "\n  or ")
}

// TestRewriteAgainstPython checks a sample of the rewritten patterns'
// results against Python's re.
func TestRewriteAgainstPython(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	var cases []diffCase
	for _, p := range rewritePatterns {
		sshd := strings.HasPrefix(strings.TrimPrefix(p, "(?m)"), "^Failed")
		for k := 0; k < 150; k++ {
			cases = append(cases, diffCase{p, randomSubject(r, sshd)})
		}
	}
	want := pythonOracle(t, cases)
	for i, c := range cases {
		got, err := MustCompile(c.Pattern).FindIndex(c.Subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s\non %q: got %v, python %v", c.Pattern, c.Subject, got, want[i])
		}
	}
}

// TestAvoidRegex checks the tempered-token languages by brute force over
// short strings.
func TestAvoidRegex(t *testing.T) {
	for _, lit := range []string{" from ", "aa", "aba", "ab", "a", "abab", "xyx y"} {
		for _, before := range []bool{false, true} {
			src := avoidRegex([]rune(lit), before)
			re := MustCompile(`\A(?:` + src + `)\Z`)
			alpha := uniqueRunes(lit + "q\n")
			var walk func(s string, depth int)
			walk = func(s string, depth int) {
				want := !strings.Contains(s, "\n") && !strings.Contains(s, lit)
				if before {
					want = want && strings.Index(s+lit, lit) == len(s)
				}
				if got, _ := re.MatchString(s); got != want {
					t.Fatalf("lit %q before=%v: %q matched %v, want %v (%s)", lit, before, s, got, want, src)
				}
				if depth == 0 {
					return
				}
				for _, c := range alpha {
					walk(s+string(c), depth-1)
				}
			}
			walk("", min(6, 3+len(lit)))
			// and longer random strings made of pieces of lit
			r := rand.New(rand.NewPCG(uint64(len(lit)), 1))
			for k := 0; k < 20000; k++ {
				var b strings.Builder
				for n := r.IntN(6); n >= 0; n-- {
					i, j := r.IntN(len(lit)+1), r.IntN(len(lit)+1)
					b.WriteString(lit[min(i, j):max(i, j)])
					if r.IntN(3) == 0 {
						b.WriteRune(alpha[r.IntN(len(alpha))])
					}
				}
				walk(b.String(), 0)
			}
		}
	}
}

func uniqueRunes(s string) []rune {
	var out []rune
	for _, c := range s {
		if !containsRune(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// FuzzRewriteSSHD compares the rewritten sshd "Failed" failregex with its
// regexp2 program.
func FuzzRewriteSSHD(f *testing.F) {
	for _, s := range []string{"Failed password for root from 1.2.3.4 port 22 ssh2\n",
		"Failed password for invalid user a from b from 1.2.3.4 port 22 ssh2\n",
		"Failed publickey for invalid user x from 1.2.3.4 port 22 ssh2: RSA SHA256:x\n"} {
		f.Add(s)
	}
	re, net := MustCompile(sshdFailed), netOnly(f, sshdFailed)
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := re.FindIndex(s, nil)
		want, err := net.FindIndex(s, nil)
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("on %q: rewritten %v, regexp2 %v", s, got, want)
		}
	})
}
