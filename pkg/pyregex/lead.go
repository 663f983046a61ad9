package pyregex

import (
	"regexp/syntax"
	"strings"
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
	re, err := r.superTree()
	if err != nil || !atTextStart(re) {
		return LeadBytes{}, false
	}
	set, nullable := FirstBytes(re)
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

// FirstBytes returns the bytes a match of re (a parsed RE2 expression) can
// start with, and whether re can match the empty string (then the bytes of
// what follows re count too, and a match of re alone may start with
// anything). Assertions match empty and are otherwise ignored: the set may
// be larger than the truth, never smaller. A non-ASCII character adds
// every byte from 0x80 on.
func FirstBytes(re *syntax.Regexp) (set LeadBytes, nullable bool) {
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
		return FirstBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		set, _ = FirstBytes(re.Sub[0])
		return set, true
	case syntax.OpPlus:
		return FirstBytes(re.Sub[0])
	case syntax.OpRepeat:
		set, nullable = FirstBytes(re.Sub[0])
		return set, nullable || re.Min == 0
	case syntax.OpConcat:
		for _, s := range re.Sub {
			f, n := FirstBytes(s)
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
			f, n := FirstBytes(s)
			for i := range set {
				set[i] |= f[i]
			}
			nullable = nullable || n
		}
		return set, nullable
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return set, true
	}
	// an operator this does not know: anything
	for i := range set {
		set[i] = ^uint64(0)
	}
	return set, true
}

// maxPrefixes bounds the strings Prefixes returns.
const maxPrefixes = 16

// Prefixes returns literal strings one of which every match of the pattern
// starts with, when every match starts at the start of the subject (as for
// Lead); nil when that is not known. They are cut where the pattern stops
// being a small set of literals (a class of more than a few characters, a
// repetition, case folding): `^Failed \S+ for` gives "Failed ".
func (r *Regexp) Prefixes() []string {
	re, err := r.superTree()
	if err != nil || !atTextStart(re) {
		return nil
	}
	set, _ := prefixes(re)
	set = normSet(set)
	// a string that starts with another one adds nothing
	out := set[:0]
	for _, p := range set {
		if p == "" {
			return nil
		}
		if len(out) == 0 || !strings.HasPrefix(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

// prefixes returns strings one of which every match of re starts with, and
// whether they are exactly re's matches (complete: what follows re in a
// concatenation may extend them).
func prefixes(re *syntax.Regexp) (set []string, complete bool) {
	switch re.Op {
	case syntax.OpBeginText, syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			return []string{string(re.Rune)}, true
		}
		// every case of each rune ([iI] is parsed as a folded "i")
		acc := []string{""}
		for _, r := range re.Rune {
			var next []string
			for _, a := range acc {
				next = append(next, a+string(r))
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					next = append(next, a+string(f))
				}
			}
			if len(next) > maxPrefixes {
				return acc, false
			}
			acc = next
		}
		return acc, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				if len(out) == maxLitClass {
					return []string{""}, false
				}
				out = append(out, string(c))
			}
		}
		return out, true
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpPlus:
		set, _ = prefixes(re.Sub[0])
		return set, false
	case syntax.OpRepeat:
		if re.Min == 0 {
			return []string{""}, false
		}
		set, _ = prefixes(re.Sub[0])
		return set, false
	case syntax.OpConcat:
		acc := []string{""}
		for _, sub := range re.Sub {
			s, c := prefixes(sub)
			next := make([]string, 0, len(acc)*len(s))
			for _, a := range acc {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			if len(next) > maxPrefixes {
				return acc, false
			}
			acc = next
			if !c {
				return acc, false
			}
		}
		return acc, true
	case syntax.OpAlternate:
		complete = true
		for _, sub := range re.Sub {
			s, c := prefixes(sub)
			set = append(set, s...)
			complete = complete && c
		}
		if len(set) > maxPrefixes {
			return []string{""}, false
		}
		return set, complete
	}
	return []string{""}, false
}
