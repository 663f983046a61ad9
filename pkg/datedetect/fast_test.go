package datedetect

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

const f2bLogs = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"

// fastTemplates returns the default templates that have a fast matcher.
func fastTemplates(t testing.TB) []*template {
	d, err := New(Options{Pattern: "{^LN-BEG}", Location: time.UTC, Now: func() time.Time { return time.Unix(testNow, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	var out []*template
	for _, tp := range d.templates {
		if tp.fast != nil {
			out = append(out, tp)
		}
	}
	if len(out) != 2 {
		t.Fatalf("%d templates with a fast matcher, want 2", len(out))
	}
	return out
}

// checkFast compares a template's fast matcher with its regex on line; it
// returns whether the fast matcher was sure.
func checkFast(t testing.TB, tp *template, line string) bool {
	loc, sure := tp.fast(tp, line, nil)
	if !sure {
		return false
	}
	want, err := tp.re.FindIndex(line, nil)
	if err != nil {
		t.Fatalf("%s: %q: %v", tp.name, line, err)
	}
	if !slices.Equal(loc, want) {
		t.Errorf("%s: %q: fast %v, regex %v", tp.name, line, loc, want)
	}
	return true
}

// sampleLines reads fail2ban's sample logs (comments included: they are lines too).
func sampleLines(t testing.TB) []string {
	if _, err := os.Stat(f2bLogs); err != nil {
		testenv.Missing(t, "fail2ban sample logs not installed: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(f2bLogs, "*"))
	var lines []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, strings.ToValidUTF8(sc.Text(), "\uFFFD"))
		}
		fh.Close()
	}
	return lines
}

// genDateLines makes lines with syslog and ISO dates in many shapes.
func genDateLines(r *rand.Rand, n int) []string {
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "nov", "NOV", "Foo"}
	prefixes := []string{"", "", "", "[", " ", "  ", "   ", "<", "[(", "ä", "_"}
	tails := []string{"", " srv sshd[12]: x", ":x", ".123 x", ".1234567", " 2005 x", " 2024", "x", "\u00a0x", ",5 x", " +01:00 x",
		"+0100", "Z", "Z x", "Zulu", " UTC", "UTC", " GMT x", " GMTx", "-01:30", "+13:00", " - x", " Ux", "\n", "\t+0100", "0"}
	num := func(max int, pad string) string {
		v := r.IntN(max + 3)
		s := itoa(v)
		if v < 10 {
			s = pad + s
		}
		return s
	}
	pads := []string{"0", " ", ""}
	var out []string
	for range n {
		pre := prefixes[r.IntN(len(prefixes))]
		tail := tails[r.IntN(len(tails))]
		pad := pads[r.IntN(len(pads))]
		hms := num(23, "0") + ":" + num(59, "0") + ":" + num(60, "0")
		if r.IntN(2) == 0 {
			sp := " "
			if r.IntN(4) == 0 {
				sp = "  "
			}
			out = append(out, pre+months[r.IntN(len(months))]+" "+num(31, pad)+sp+hms+tail)
		} else {
			seps := "-/.x"
			sep := string(seps[r.IntN(len(seps))])
			ts := []string{"T", " ", "  ", "t", "   "}
			y := []string{"2005", "2024", "1999", "2031", "205"}[r.IntN(5)]
			out = append(out, pre+y+sep+num(12, pad)+sep+num(31, pad)+ts[r.IntN(len(ts))]+hms+tail)
		}
	}
	return out
}

func itoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// mutate changes a few bytes of s near its start.
func mutate(r *rand.Rand, s string) string {
	const alphabet = " 0123456789:.,-+/TZUGMCna[]\t_\u00e4"
	b := []rune(s)
	for range 1 + r.IntN(3) {
		if len(b) == 0 {
			break
		}
		i := r.IntN(min(len(b), 32))
		c := []rune(alphabet)[r.IntN(len([]rune(alphabet)))]
		switch r.IntN(3) {
		case 0:
			b[i] = c
		case 1:
			b = slices.Insert(b, i, c)
		default:
			b = slices.Delete(b, i, i+1)
		}
	}
	return string(b)
}

// TestFastMatchers checks that the hand-written date matchers give exactly
// the regex's match whenever they are sure, on fail2ban's sample logs, on
// generated lines and on mutations of both, and that they are sure for the
// common shapes.
func TestFastMatchers(t *testing.T) {
	tps := fastTemplates(t)
	r := rand.New(rand.NewPCG(1, 2))
	lines := append(sampleLines(t), genDateLines(r, 20000)...)
	mixed, _ := mixedSequence(t)
	lines = append(lines, mixed...)
	n := len(lines)
	for i := range n {
		lines = append(lines, mutate(r, lines[i]))
	}
	sure := 0
	for _, l := range lines {
		for _, tp := range tps {
			if checkFast(t, tp, l) {
				sure++
			}
		}
	}
	t.Logf("%d lines, fast matcher sure %d times", len(lines), sure)
	for _, l := range []string{
		"Nov 22 10:00:00 srv sshd[1234]: x", "Nov  2 10:00:00 srv x", "Nov 2 10:00:00 x", "[Nov 22 10:00:00] x",
		"2024-11-22T10:00:00.123456+01:00 x", "2024-11-22 10:00:00 x", "2024/11/22 10:00:00,5 UTC x", "2005-08-14T11:58:59Z",
		"2025/03/01 00:01:59 [error] 911#0: *272093 x", "[2025-03-01 00:00:00] VERBOSE[1645] pbx.c: x",
	} {
		ok := false
		for _, tp := range tps {
			ok = ok || checkFast(t, tp, l)
		}
		if !ok {
			t.Errorf("%q: no fast matcher is sure", l)
		}
	}
}

// FuzzFastMatchers compares the fast matchers with the regexes on any line.
func FuzzFastMatchers(f *testing.F) {
	for _, s := range []string{"Nov 22 10:00:00 srv", "2024-11-22T10:00:00.123+01:00 x", "[Jan  1 00:00:00.5", " 2005/08/14 11:58:59 GMT"} {
		f.Add(s)
	}
	tps := fastTemplates(f)
	f.Fuzz(func(t *testing.T, line string) {
		for _, tp := range tps {
			checkFast(t, tp, line)
		}
	})
}
