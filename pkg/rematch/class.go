package rematch

import (
	"regexp/syntax"
	"unicode"
)

// class is a set of runes: a bitmap for ASCII and sorted ranges for the rest.
type class struct {
	ascii  [2]uint64
	ranges []rune // lo, hi pairs of the runes >= 0x80, sorted
}

// newClass builds a class from lo, hi pairs (as syntax.Regexp.Rune).
func newClass(pairs []rune) *class {
	c := &class{}
	for i := 0; i+1 < len(pairs); i += 2 {
		lo, hi := pairs[i], pairs[i+1]
		for r := lo; r <= hi && r < 0x80; r++ {
			c.ascii[r/64] |= 1 << (r % 64)
		}
		if hi >= 0x80 {
			c.ranges = append(c.ranges, max(lo, 0x80), hi)
		}
	}
	return c
}

// classOf is the class of a character class or any-character expression
// (nil for an empty class, which never matches).
func classOf(re *syntax.Regexp) *class {
	switch re.Op {
	case syntax.OpAnyChar:
		return newClass([]rune{0, unicode.MaxRune})
	case syntax.OpAnyCharNotNL:
		return newClass([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune})
	}
	if len(re.Rune) == 0 {
		return nil
	}
	return newClass(re.Rune)
}

// foldClass is the class of r under simple case folding, as a literal
// with the FoldCase flag matches.
func foldClass(r rune) *class {
	var pairs []rune
	pairs = append(pairs, r, r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		pairs = append(pairs, f, f)
	}
	// newClass needs the non-ASCII ranges sorted
	for i := 2; i < len(pairs); i += 2 {
		for j := i; j >= 2 && pairs[j] < pairs[j-2]; j -= 2 {
			pairs[j], pairs[j-2] = pairs[j-2], pairs[j]
			pairs[j+1], pairs[j-1] = pairs[j-1], pairs[j+1]
		}
	}
	return newClass(pairs)
}

// hasASCII reports whether the ASCII byte b is in the class.
func (c *class) hasASCII(b byte) bool { return c.ascii[b>>6]&(1<<(b&63)) != 0 }

// has reports whether r is in the class.
func (c *class) has(r rune) bool {
	if r < 0x80 {
		return r >= 0 && c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	rs := c.ranges
	if len(rs) <= 16 {
		for i := 0; i < len(rs); i += 2 {
			if r < rs[i] {
				return false
			}
			if r <= rs[i+1] {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(rs)/2
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < rs[2*m]:
			hi = m
		case r > rs[2*m+1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}
