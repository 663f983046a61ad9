package rarebyte

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSameAsStrings compares Index and LastIndex with the strings
// package's on random subjects and literals over a small alphabet (so that
// partial matches, overlaps and literals at both ends are frequent).
func TestSameAsStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		const alpha = "ab :A1("
		var b strings.Builder
		for range n {
			b.WriteByte(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	found := 0
	for range 100000 {
		s, lit := word(r.IntN(24)), word(r.IntN(5))
		k := Pick(lit)
		if got, want := Index(s, lit, k), strings.Index(s, lit); got != want {
			t.Fatalf("Index(%q, %q): %d, strings.Index %d", s, lit, got, want)
		}
		if got, want := LastIndex(s, lit, k), strings.LastIndex(s, lit); got != want {
			t.Fatalf("LastIndex(%q, %q): %d, strings.LastIndex %d", s, lit, got, want)
		}
		if strings.Contains(s, lit) {
			found++
		}
	}
	if found < 5000 || found > 95000 {
		t.Fatalf("%d of 100000 subjects hold their literal: the test does not exercise both answers", found)
	}
}

// TestPick: a literal is looked for by its rarest byte.
func TestPick(t *testing.T) {
	for lit, want := range map[string]byte{": Auth fail": 'A', " from ": 'f', "11:": ':', "(sshd:auth):": '(', " port ": 'p'} {
		if k := Pick(lit); lit[k] != want {
			t.Errorf("%q is looked for by %q, want %q", lit, lit[k], want)
		}
	}
}
