package filter

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/pkg/pyregex"
)

// prefixPieces builds syslog-like lines around the shapes the fast
// prefregex matcher handles and the ones where it must defer to the regex.
var prefixPieces = [][]string{
	{" ", "", "  ", "\t", "[]", "[] ", "\u00a0", "\x1c", "\n"},
	{"", "<auth.info> ", "<a.b>", "<x> "},
	{"srv ", "srv1  ", "host.example.org\t", "h\u00e9 ", "srv", "sshd[1]: ", "", "kernel: [ 12.5] ", "a:b "},
	{"", "kernel: ", "kernel:[ 1.25]: ", "@vserver_x ", "@x "},
	{"sshd[1234]: ", "sshd[1234]:", "sshd: ", "sshd ", "sshd[]: ", "sshd[12a]: ", "sshd[12]x ", "[12]: sshd ", ": sshd ",
		"(sshd) ", "sshd(pam_unix)[3]: ", "sshd]: ", "sshd)[4]: ", "sshdx[1]: ", "sshd[1]:\u00a0", "sshd[1]:\t\t", "sshd:[7]: ",
		"CRON[99]: ", "sshd[1]: [ID 123 auth.info] ", "sshd[1] :", "[sshd] ", "sshd[1]: \n"},
	{"", "[ID 1 x] ", "error: ", "fatal: PAM: ", "error: PAM: ", "error:", "fatal: PAM:", "warning: "},
	{"Failed password for root from 192.0.2.1 port 22 ssh2", "", "x", "a\nb", "\u00e9t\u00e9", " ", "Connection from 1.2.3.4", "error: x"},
	{"\n", "", "\n\n", " \n"},
}

// randomPrefixLine returns a line assembled from prefixPieces (the first,
// usual, piece of each list half the time; daemon for "sshd"), sometimes
// mutated by a few byte edits.
func randomPrefixLine(r *rand.Rand, daemon string) string {
	var b strings.Builder
	for _, ps := range prefixPieces {
		p := ps[0]
		if r.IntN(2) == 0 {
			p = ps[r.IntN(len(ps))]
		}
		b.WriteString(strings.ReplaceAll(p, "sshd", daemon))
	}
	s := b.String()
	const alphabet = " \t\n[]():<>.@0123456789sshdkernelIDxé\u00a0"
	for n := r.IntN(4); n > 0 && r.IntN(3) == 0; n-- {
		i := r.IntN(len(s) + 1)
		switch r.IntN(3) {
		case 0:
			c := string([]rune(alphabet)[r.IntN(len([]rune(alphabet)))])
			s = s[:i] + c + s[i:]
		case 1:
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		default:
			if i < len(s) {
				s = s[:i] + string(alphabet[r.IntN(20)]) + s[i+1:]
			}
		}
	}
	return s
}

// prefixRegexes are the expanded prefregexes the fast matcher takes on:
// sshd's (with __pref) and the plain form, for a few daemons.
func prefixRegexes(t testing.TB) []string {
	var out []string
	for _, d := range []string{"sshd", "CRON", "dropbear"} {
		pl := strings.ReplaceAll(prefixLineFile, "%s", d)
		out = append(out, `^(?P<mlfid>`+pl+`)`+sshdPref+`(?P<content>.+)$`, `^(?P<mlfid>`+pl+`)(?P<content>.+)$`)
	}
	return out
}

// TestSyslogPrefixRecognized: the stock sshd filter uses the fast matcher.
func TestSyslogPrefixRecognized(t *testing.T) {
	f, err := New(resolvedFilter(t, "sshd", ""))
	if err != nil {
		t.Fatal(err)
	}
	if f.fastPre == nil || f.fastPre.daemon != "sshd" || !f.fastPre.errPref {
		t.Fatalf("sshd prefregex not recognized: %+v\n%s", f.fastPre, f.pref.String())
	}
	for _, src := range []string{`^(?P<mlfid>x)(?P<content>.+)$`, strings.Replace(prefixRegexes(t)[0], `\s+)?(?:\[ID`, `\s*)?(?:\[ID`, 1),
		strings.Replace(prefixRegexes(t)[0], "sshd", `ss\w`, 2)} {
		if p := newSyslogPrefix(src); p != nil {
			t.Errorf("%s: recognized as %+v", src, p)
		}
	}
}

// TestSyslogPrefixEquivalence: whenever the fast matcher decides, its
// offsets are the prefregex's (Python semantics via pyregex), on random
// syslog-shaped lines and their mutations; and it decides for the usual
// shape.
func TestSyslogPrefixEquivalence(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, src := range prefixRegexes(t) {
		p := newSyslogPrefix(src)
		if p == nil {
			t.Fatalf("not recognized: %s", src)
		}
		re := pyregex.MustCompile(src)
		daemon := p.daemon
		decided := 0
		const n = 60000
		for k := 0; k < n; k++ {
			s := randomPrefixLine(r, daemon)
			got, ok := p.match(s, nil)
			if !ok {
				continue
			}
			decided++
			want, err := re.FindIndex(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s\non %q: fast %v, regex %v", src, s, got, want)
			}
		}
		t.Logf("%s: %d of %d decided", daemon, decided, n)
		if decided < n/10 {
			t.Errorf("%s: fast matcher decided only %d of %d lines", src, decided, n)
		}
	}
	p := newSyslogPrefix(prefixRegexes(t)[0])
	for _, s := range []string{" srv sshd[1234]: Failed password for root from 192.0.2.1 port 22 ssh2\n",
		"srv sshd[1]: error: PAM: x\n", " host sshd: Connection closed\n"} {
		if _, ok := p.match(s, nil); !ok {
			t.Errorf("%q: not decided", s)
		}
	}
}

// FuzzSyslogPrefix compares the fast matcher with the sshd prefregex.
func FuzzSyslogPrefix(f *testing.F) {
	for _, s := range []string{" srv sshd[1234]: Failed password\n", "srv sshd: error: PAM: x\n", "[] a sshd[1]:  \n"} {
		f.Add(s)
	}
	src := prefixRegexes(f)[0]
	p, re := newSyslogPrefix(src), pyregex.MustCompile(src)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := p.match(s, nil)
		if !ok {
			return
		}
		want, _ := re.FindIndex(s, nil)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("on %q: fast %v, regex %v", s, got, want)
		}
	})
}
