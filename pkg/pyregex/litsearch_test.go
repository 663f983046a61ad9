package pyregex

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLiteralSetsHeldBy compares HeldBy with strings.Contains over every
// literal, on random subjects and literals over a small alphabet (so that
// partial matches, overlaps and literals at both ends are frequent).
func TestLiteralSetsHeldBy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	word := func(alpha string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	const alpha = "ab :A1("
	checked, held := 0, 0
	for range 20000 {
		var sets [][]string
		for range 1 + r.IntN(3) {
			var set []string
			for range 1 + r.IntN(3) {
				set = append(set, word(alpha, 1+r.IntN(4)))
			}
			sets = append(sets, set)
		}
		l := NewLiteralSets(sets)
		for range 5 {
			s := word(alpha, r.IntN(24))
			want := true
			for _, set := range sets {
				any := false
				for _, lit := range set {
					any = any || strings.Contains(s, lit)
				}
				want = want && any
			}
			if got := l.HeldBy(s); got != want {
				t.Fatalf("%q in %q: HeldBy %v, strings.Contains %v", sets, s, got, want)
			}
			checked++
			if want {
				held++
			}
		}
	}
	if held < checked/20 || held > checked*19/20 {
		t.Fatalf("%d of %d subjects hold their sets: the test does not exercise both answers", held, checked)
	}
}
