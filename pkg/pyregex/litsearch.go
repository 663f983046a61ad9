package pyregex

import "github.com/f2bd/f2bd/internal/rarebyte"

// LiteralSets are literal sets (as RequiredLiteralSets returns them: a
// subject that lacks a string of one of them cannot match) prepared for
// looking them up in log lines: each literal is looked for by its rarest
// byte (see package rarebyte).
type LiteralSets struct {
	sets [][]rareLit
}

// rareLit is a literal and the index of the byte it is looked for by.
type rareLit struct {
	s string
	k int
}

// NewLiteralSets prepares sets for HeldBy.
func NewLiteralSets(sets [][]string) LiteralSets {
	var l LiteralSets
	for _, set := range sets {
		lits := make([]rareLit, 0, len(set))
		for _, s := range set {
			lits = append(lits, rareLit{s: s, k: rarebyte.Pick(s)})
		}
		l.sets = append(l.sets, lits)
	}
	return l
}

// HeldBy reports whether s holds a string of each set.
func (l LiteralSets) HeldBy(s string) bool {
	for _, set := range l.sets {
		found := false
		for _, lit := range set {
			if rarebyte.Index(s, lit.s, lit.k) >= 0 {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
