package pyregex

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the required-literal analysis.
const (
	maxLitSet   = 64 // strings in a set of alternatives
	maxLitClass = 4  // characters of a class expanded to alternatives
)

// litInfo is what the analysis knows about the strings a subexpression
// matches: the exact set of them (when small and known), and a set of
// literals one of which occurs in every one of them (nil when none is known).
type litInfo struct {
	exact    []string
	hasExact bool
	req      []string
}

// RequiredLiterals returns a set of strings such that every string the
// pattern matches (every match, not only whole subjects) contains at least
// one of them; so a subject holding none of them cannot match. It returns
// nil when no such set is known (e.g. for case-insensitive patterns).
//
// The analysis runs on an RE2 expression for a superset of the pattern's
// matches (lookarounds dropped, backreferences read as `.*`, conditionals
// as alternations, atomic groups as plain groups), so it stays conservative
// for patterns that need the backtracking engine.
func (r *Regexp) RequiredLiterals() []string {
	re, err := syntax.Parse(r.super, syntax.Perl)
	if err != nil {
		return nil
	}
	li := analyse(re.Simplify())
	set := li.req
	if li.hasExact {
		set = betterSet(li.exact, li.req)
	}
	if !usable(set) {
		return nil
	}
	out := slices.Clone(set)
	slices.Sort(out)
	return slices.Compact(out)
}

// usable reports whether a set is a real constraint (non-empty, no empty string).
func usable(set []string) bool {
	if len(set) == 0 || len(set) > maxLitSet {
		return false
	}
	for _, s := range set {
		if s == "" {
			return false
		}
	}
	return true
}

// betterSet returns the more selective of two alternative sets: the one
// whose shortest string is longer, then the smaller one.
func betterSet(a, b []string) []string {
	if !usable(a) {
		if usable(b) {
			return b
		}
		return nil
	}
	if !usable(b) {
		return a
	}
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		if ma > mb {
			return a
		}
		return b
	}
	if len(b) < len(a) {
		return b
	}
	return a
}

func minLen(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

var emptyOnly = []string{""}

func analyse(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			for _, c := range re.Rune {
				if foldable(c) {
					return litInfo{}
				}
			}
		}
		s := string(re.Rune)
		if strings.ContainsRune(s, utf8.RuneError) {
			return litInfo{}
		}
		return litInfo{exact: []string{s}, hasExact: true}
	case syntax.OpCharClass:
		n := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > maxLitClass {
				return litInfo{}
			}
		}
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				if c == utf8.RuneError || c > utf8.MaxRune || (c >= 0xD800 && c <= 0xDFFF) {
					return litInfo{}
				}
				set = append(set, string(c))
			}
		}
		if len(set) == 0 {
			return litInfo{}
		}
		return litInfo{exact: set, hasExact: true}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: emptyOnly, hasExact: true}
	case syntax.OpCapture:
		return analyse(re.Sub[0])
	case syntax.OpPlus:
		c := analyse(re.Sub[0])
		return litInfo{req: c.best()}
	case syntax.OpRepeat:
		if re.Max == 0 {
			return litInfo{exact: emptyOnly, hasExact: true}
		}
		if re.Min >= 1 {
			c := analyse(re.Sub[0])
			if re.Min == 1 && re.Max == 1 {
				return c
			}
			return litInfo{req: c.best()}
		}
		return litInfo{}
	case syntax.OpQuest:
		c := analyse(re.Sub[0])
		if c.hasExact && len(c.exact) < maxLitSet {
			return litInfo{exact: append(slices.Clone(c.exact), ""), hasExact: true}
		}
		return litInfo{}
	case syntax.OpConcat:
		return analyseConcat(re.Sub)
	case syntax.OpAlternate:
		subs := make([]litInfo, len(re.Sub))
		allExact, total := true, 0
		for i, s := range re.Sub {
			subs[i] = analyse(s)
			allExact = allExact && subs[i].hasExact
			total += len(subs[i].exact)
		}
		if allExact && total <= maxLitSet {
			var set []string
			for _, s := range subs {
				set = append(set, s.exact...)
			}
			return litInfo{exact: set, hasExact: true}
		}
		var set []string
		for _, s := range subs {
			b := s.best()
			if b == nil {
				return litInfo{}
			}
			set = append(set, b...)
		}
		if len(set) > maxLitSet {
			return litInfo{}
		}
		return litInfo{req: set}
	}
	// OpAnyChar, OpAnyCharNotNL, OpStar, OpNoMatch: nothing known.
	return litInfo{}
}

// best is the most selective required set of li (its exact set counts).
func (li litInfo) best() []string {
	if li.hasExact {
		return betterSet(li.exact, li.req)
	}
	return betterSet(nil, li.req)
}

// analyseConcat joins runs of exactly known neighbours (cross product) and
// keeps the best of the required sets found along the sequence.
func analyseConcat(subs []*syntax.Regexp) litInfo {
	cur := emptyOnly
	exact := true
	var best []string
	flush := func() {
		best = betterSet(best, cur)
		cur = emptyOnly
	}
	for _, s := range subs {
		c := analyse(s)
		switch {
		case c.hasExact && len(cur)*len(c.exact) <= maxLitSet:
			next := make([]string, 0, len(cur)*len(c.exact))
			for _, a := range cur {
				for _, b := range c.exact {
					next = append(next, a+b)
				}
			}
			cur = next
		case c.hasExact:
			exact = false
			flush()
			cur = c.exact
		default:
			exact = false
			flush()
			best = betterSet(best, c.req)
		}
	}
	if exact {
		return litInfo{exact: cur, hasExact: true, req: best}
	}
	flush()
	return litInfo{req: best}
}

// foldable reports whether c has other case forms (so a case-folded
// literal holding it is not one fixed string).
func foldable(c rune) bool {
	return unicode.SimpleFold(c) != c
}
