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
	// MaxLiteralSets bounds the sets RequiredLiteralSets returns.
	MaxLiteralSets = 8
)

// litInfo is what the analysis knows about the strings a subexpression
// matches: the exact set of them (when small and known), a set of literals
// one of which occurs in every one of them (req, the most selective one
// known; nil when none is known), and more such sets (all: each of them
// holds on its own, so together they are a conjunction; unusable or
// redundant sets are weeded out at the end, by RequiredLiteralSets).
type litInfo struct {
	exact    []string
	hasExact bool
	req      []string
	all      [][]string
}

// sets lists every required set of li: its exact set, req and all.
func (li litInfo) sets() [][]string {
	var out [][]string
	if li.hasExact {
		out = append(out, li.exact)
	}
	if li.req != nil {
		out = append(out, li.req)
	}
	return append(out, li.all...)
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
	re, err := r.superTree()
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
	return normSet(set)
}

// normSet returns a sorted, deduplicated copy of set.
func normSet(set []string) []string {
	out := slices.Clone(set)
	slices.Sort(out)
	return slices.Compact(out)
}

// minimalSet returns normSet(set) without the strings that contain another
// of its strings (a subject holding them holds the other one too).
func minimalSet(set []string) []string {
	set = normSet(set)
	out := make([]string, 0, len(set))
	for _, a := range set {
		if !slices.ContainsFunc(set, func(b string) bool { return b != a && strings.Contains(a, b) }) {
			out = append(out, a)
		}
	}
	return out
}

// RequiredLiteralSets returns sets of strings such that every string the
// pattern matches (every match, not only whole subjects) contains at least
// one string of each set: a conjunction of RequiredLiterals-like sets, so
// a subject lacking every string of any one set cannot match. It returns
// nil when no set is known.
//
// The sets come from the same conservative analysis as RequiredLiterals
// (whose set, when it has one, comes first or is replaced by a set that
// implies it): the literals required by each element of a concatenation,
// by the body of a repetition, and, for an alternation, unions taking one
// set from each branch. Each set is sorted and deduplicated; sets that are
// empty, hold the empty string or are too large are dropped, as are sets
// implied by another one (every string of the other contains one of
// theirs). At most MaxLiteralSets sets are returned, the first one then the
// most selective (longest shortest string, then fewest strings).
func (r *Regexp) RequiredLiteralSets() [][]string {
	re, err := r.superTree()
	if err != nil {
		return nil
	}
	return literalSetsOf(re)
}

// literalSets is RequiredLiteralSets for an RE2 expression.
func literalSets(expr string) [][]string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return literalSetsOf(re)
}

// literalSetsOf is RequiredLiteralSets for a parsed RE2 expression.
func literalSetsOf(re *syntax.Regexp) [][]string {
	li := analyse(re.Simplify())
	cands := li.sets()
	// the RequiredLiterals set first
	if first := li.best(); usable(first) {
		cands = append([][]string{first}, cands...)
	}
	var sets [][]string
	for _, c := range cands {
		if !usable(c) {
			continue
		}
		c = minimalSet(c)
		if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, c) }) {
			sets = append(sets, c)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	// the rest by selectivity (a bounded number of them: dropping sets
	// only weakens the conjunction)
	slices.SortStableFunc(sets[1:], bySelectivity)
	if len(sets) > 4*MaxLiteralSets {
		sets = sets[:4*MaxLiteralSets]
	}
	// drop implied sets (of two equivalent ones, the later)
	drop := make([]bool, len(sets))
	for i := range sets {
		for j := range sets {
			if i == j || drop[j] || !implies(sets[j], sets[i]) {
				continue
			}
			if j < i || !implies(sets[i], sets[j]) {
				drop[i] = true
				break
			}
		}
	}
	if drop[0] {
		// keep the RequiredLiterals set's place for a set implying it
		for j := 1; j < len(sets); j++ {
			if !drop[j] && implies(sets[j], sets[0]) {
				sets[0], sets[j], drop[0], drop[j] = sets[j], sets[0], false, true
				break
			}
		}
	}
	out := sets[:0]
	for i, s := range sets {
		if !drop[i] {
			out = append(out, s)
		}
	}
	if len(out) > MaxLiteralSets {
		out = out[:MaxLiteralSets]
	}
	return slices.Clip(out)
}

// implies reports whether every string of t contains one of s (so a
// subject holding a string of t holds one of s).
func implies(t, s []string) bool {
	for _, a := range t {
		if !slices.ContainsFunc(s, func(b string) bool { return strings.Contains(a, b) }) {
			return false
		}
	}
	return true
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
		return litInfo{req: c.best(), all: c.sets()}
	case syntax.OpRepeat:
		if re.Max == 0 {
			return litInfo{exact: emptyOnly, hasExact: true}
		}
		if re.Min >= 1 {
			c := analyse(re.Sub[0])
			if re.Min == 1 && re.Max == 1 {
				return c
			}
			return litInfo{req: c.best(), all: c.sets()}
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
			set = nil
		}
		return litInfo{req: set, all: alternateSets(subs)}
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

// alternateSets returns required sets of an alternation beyond the union
// of its branches' best sets: every match is a match of one branch, so the
// union of one required set of each branch is a required set. The k-th one
// takes each branch's k-th most selective set (its last when it has fewer).
func alternateSets(subs []litInfo) [][]string {
	ranked := make([][][]string, len(subs))
	most := 0
	for i, s := range subs {
		for _, set := range s.sets() {
			if usable(set) {
				ranked[i] = append(ranked[i], set)
			}
		}
		if len(ranked[i]) == 0 {
			return nil
		}
		slices.SortStableFunc(ranked[i], bySelectivity)
		most = max(most, len(ranked[i]))
	}
	var out [][]string
	for k := range min(most, MaxLiteralSets) {
		var set []string
		for _, r := range ranked {
			set = append(set, r[min(k, len(r)-1)]...)
		}
		if len(set) <= maxLitSet {
			out = append(out, set)
		}
	}
	return out
}

// bySelectivity orders required sets from the most selective: longest
// shortest string, then fewest strings.
func bySelectivity(a, b []string) int {
	if ma, mb := minLen(a), minLen(b); ma != mb {
		return mb - ma
	}
	return len(a) - len(b)
}

// analyseConcat joins runs of exactly known neighbours (cross product) and
// keeps the best of the required sets found along the sequence (req), and
// all of them (all): the runs and the sets of the other elements.
func analyseConcat(subs []*syntax.Regexp) litInfo {
	cur := emptyOnly
	exact := true
	var best []string
	var all [][]string
	flush := func() {
		best = betterSet(best, cur)
		all = append(all, cur)
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
			all = append(all, c.sets()...)
		}
	}
	if exact {
		return litInfo{exact: cur, hasExact: true, req: best, all: all}
	}
	flush()
	return litInfo{req: best, all: all}
}

// foldable reports whether c has other case forms (so a case-folded
// literal holding it is not one fixed string).
func foldable(c rune) bool {
	return unicode.SimpleFold(c) != c
}
