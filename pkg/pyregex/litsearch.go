package pyregex

import "strings"

// LiteralSets are literal sets (as RequiredLiteralSets returns them: a
// subject that lacks a string of one of them cannot match) prepared for
// looking them up in log lines. Each literal is looked for by its rarest
// byte in log text (a vectorized byte search, then a comparison where it
// is found), not by its first one: the literals of filters start with
// spaces, colons and lower-case letters, which every line is full of.
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
			k := 0
			for i := 1; i < len(s); i++ {
				if byteRank[s[i]] < byteRank[s[k]] {
					k = i
				}
			}
			lits = append(lits, rareLit{s: s, k: k})
		}
		l.sets = append(l.sets, lits)
	}
	return l
}

// Len is the number of sets.
func (l LiteralSets) Len() int { return len(l.sets) }

// HeldBy reports whether s holds a string of each set.
func (l LiteralSets) HeldBy(s string) bool {
	for _, set := range l.sets {
		found := false
		for _, lit := range set {
			if lit.in(s) {
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

// in reports whether s holds the literal.
func (l rareLit) in(s string) bool {
	n := len(l.s)
	if n == 0 {
		return true
	}
	if n > len(s) {
		return false
	}
	c := l.s[l.k]
	// the literal's byte k can be at k .. len(s)-n+k
	for i, hi := l.k, len(s)-n+l.k+1; i < hi; {
		j := strings.IndexByte(s[i:hi], c)
		if j < 0 {
			return false
		}
		if p := i + j - l.k; s[p:p+n] == l.s {
			return true
		}
		i += j + 1
	}
	return false
}

// byteRank orders bytes by how common they are in log lines (lower:
// rarer): spaces, then digits and the punctuation of addresses, times and
// key=value pairs, then lower-case letters by their frequency in English,
// then the other punctuation, upper-case letters, and other bytes.
var byteRank = func() (r [256]uint8) {
	for b := range r {
		r[b] = 1 // control and non-ASCII bytes
	}
	for b := 'A'; b <= 'Z'; b++ {
		r[b] = 10
	}
	for _, b := range `()[]{};"'<>@#$%&*+!?^|~\,` + "`" {
		r[b] = 20
	}
	// lower-case letters, rarest first
	for i, b := range "zqxjkvbpygfwmucldrhsnioate" {
		r[b] = uint8(40 + 6*i)
	}
	for b := '0'; b <= '9'; b++ {
		r[b] = 220
	}
	for i, b := range "_=/-.:" {
		r[b] = uint8(30 + 35*i) // _ 30 ... : 205
	}
	r[' '] = 255
	return r
}()
