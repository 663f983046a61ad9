package pyregex

import (
	"slices"
	"strings"
	"testing"
)

func TestLead(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    string // the set's bytes among printable ASCII and \n; "-": not known
	}{
		{`^Connection from`, "C"},
		{`\AConnection from`, "C"},
		{`^(?P<x>Failed|Invalid) user`, "FI"},
		{`^[iI](?:llegal|nvalid) user`, "Ii"},
		{`(?i)^user`, "Uu"},
		{`^(?:a|b)|^c`, "abc"},
		{`^x*y`, "xy"},
		{`^(?:x{0,2})z`, "xz"},
		{`^\d+ `, "0123456789"},
		{`^(?=abc)a`, "a"},
		{`^(?P<a>x)?(?(a)y|z)`, "-"}, // the superset reads a conditional as possibly empty
		{`Connection from`, "-"},     // not anchored
		{`(?m)^abc`, "-"},            // any line's start
		{`^x*`, "-"},                 // may be empty
		{`^$`, "-"},
		{`^a|b`, "-"},
		{`^(a)\1`, "a"},
	} {
		r, err := Compile(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		set, ok := r.Lead()
		got := "-"
		if ok {
			var b strings.Builder
			for i := 0; i < 128; i++ {
				if set.Has(byte(i)) && (i == '\n' || i >= ' ' && i < 127) {
					b.WriteByte(byte(i))
				}
			}
			got = b.String()
		}
		if got != c.want {
			t.Errorf("Lead(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestLeadUnicode: a non-ASCII first character (or one folding to it)
// admits every byte from 0x80 on.
func TestLeadUnicode(t *testing.T) {
	for _, p := range []string{`^é`, `(?i)^k`, `^\w`, `^[^a]`, `^.`} {
		r := MustCompile(p)
		set, ok := r.Lead()
		if !ok {
			t.Fatalf("Lead(%q) not known", p)
		}
		for b := 0x80; b < 0x100; b++ {
			if !set.Has(byte(b)) {
				t.Fatalf("Lead(%q) lacks byte %#x", p, b)
			}
		}
	}
}

// TestFallbackCompiledOnce: Go's regexp is compiled on the first search
// rematch gives up on (an exponentially backtracking one exceeds its
// budget), from whichever goroutine gets there first, and gives the same
// answer to all of them.
func TestFallbackCompiledOnce(t *testing.T) {
	r := MustCompile(`^(?:a|a)*(?:a|a)*(?:a|a)*b`)
	if r.re2 == nil || r.re2.fast == nil || r.re2.slow != nil {
		t.Fatalf("want a pattern rematch takes, with regexp not compiled yet (engine %s)", r.Engine())
	}
	s := strings.Repeat("a", 200) + "c"
	done := make(chan bool)
	for range 8 {
		go func() {
			ok, err := r.MatchString(s)
			done <- ok || err != nil
		}()
	}
	for range 8 {
		if <-done {
			t.Fatal("matched (or failed) where nothing can match")
		}
	}
	if r.re2.slow == nil {
		t.Fatal("rematch decided alone: the test does not reach the fallback")
	}
}

func TestPrefixes(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    []string // nil: not known
	}{
		{`^Connection from`, []string{"Connection from"}},
		{`^(?P<x>Connection (?:closed|reset)|Disconnected) (?:by|from)`, []string{"Connection closed by", "Connection closed from", "Connection reset by", "Connection reset from", "Disconnected by", "Disconnected from"}},
		{`^Failed (?:publickey|\S+) for`, []string{"Failed "}},
		{`^[iI](?:llegal|nvalid) user `, []string{"Illegal user ", "Invalid user ", "illegal user ", "invalid user "}},
		{`^pam_[a-z]+\(sshd:auth\)`, []string{"pam_"}},
		{`^User (?:\S+|.*?) from`, []string{"User "}},
		{`^(?:ab)+c`, []string{"ab"}},
		{`^a?b`, nil}, // "b" or "ab": cut before the optional part, nothing is left
		{`(?i)^ab`, []string{"AB", "Ab", "aB", "ab"}},
		{`(?i)^user`, []string{"USE", "USe", "UsE", "Use", "UſE", "Uſe", "uSE", "uSe", "usE", "use", "uſE", "uſe"}}, // cut at 16 strings
		{`^\d+`, nil},
		{`Connection from`, nil},
		{`(?m)^abc`, nil},
		{`^abc|^abd`, []string{"abc", "abd"}},
		{`^abc|def`, nil},
	} {
		got := MustCompile(c.pattern).Prefixes()
		if !slices.Equal(got, c.want) {
			t.Errorf("Prefixes(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}
