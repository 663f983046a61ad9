package pyregex

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// LeadBytes is a set of bytes.
type LeadBytes [4]uint64

// Has reports whether b is in the set.
func (l *LeadBytes) Has(b byte) bool { return l[b>>6]&(1<<(b&63)) != 0 }

func (l *LeadBytes) add(b byte) { l[b>>6] |= 1 << (b & 63) }

// addRune adds the first byte of r's UTF-8 form; a non-ASCII rune adds
// every byte from 0x80 on (its lead byte, and the invalid bytes a subject
// may hold where a decoder reads U+FFFD).
func (l *LeadBytes) addRune(r rune) {
	if r < utf8.RuneSelf {
		l.add(byte(r))
		return
	}
	l[2], l[3] = ^uint64(0), ^uint64(0)
}

// Lead reports the bytes a match of the pattern can start with, when every
// match starts at the start of the subject (the pattern begins with `^`
// or `\A` in every alternative, without the MULTILINE flag) and none is
// empty: a subject whose first byte is not in the set cannot match. ok is
// false when that is not known. Like RequiredLiterals, it reads the RE2
// expression for a superset of the matches, so it holds for every engine.
func (r *Regexp) Lead() (set LeadBytes, ok bool) {
	re, err := syntax.Parse(r.super, syntax.Perl)
	if err != nil || !atTextStart(re) {
		return LeadBytes{}, false
	}
	set, nullable := firstBytes(re)
	return set, !nullable
}

// atTextStart reports whether every match of re starts at the start of
// the text.
func atTextStart(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText:
		return true
	case syntax.OpCapture:
		return atTextStart(re.Sub[0])
	case syntax.OpConcat:
		return len(re.Sub) > 0 && atTextStart(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !atTextStart(s) {
				return false
			}
		}
		return true
	}
	return false
}

// firstBytes returns the bytes a match of re can start with, and whether re
// can match the empty string (then the bytes of what follows re count too,
// and a match of re alone may start with anything). Assertions match empty
// and are otherwise ignored: the set may be larger than the truth, never
// smaller.
func firstBytes(re *syntax.Regexp) (set LeadBytes, nullable bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return set, false
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return set, true
		}
		r := re.Rune[0]
		set.addRune(r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				set.addRune(f)
			}
		}
		return set, false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for c := lo; c <= hi && c < utf8.RuneSelf; c++ {
				set.add(byte(c))
			}
			if hi >= utf8.RuneSelf {
				set.addRune(hi)
			}
		}
		return set, false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		for c := 0; c < 256; c++ {
			set.add(byte(c))
		}
		if re.Op == syntax.OpAnyCharNotNL {
			set[0] &^= 1 << '\n'
		}
		return set, false
	case syntax.OpCapture:
		return firstBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		set, _ = firstBytes(re.Sub[0])
		return set, true
	case syntax.OpPlus:
		return firstBytes(re.Sub[0])
	case syntax.OpRepeat:
		set, nullable = firstBytes(re.Sub[0])
		return set, nullable || re.Min == 0
	case syntax.OpConcat:
		for _, s := range re.Sub {
			f, n := firstBytes(s)
			for i := range set {
				set[i] |= f[i]
			}
			if !n {
				return set, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			f, n := firstBytes(s)
			for i := range set {
				set[i] |= f[i]
			}
			nullable = nullable || n
		}
		return set, nullable
	}
	// empty matches and assertions (^, $, \b, ...)
	return set, true
}
