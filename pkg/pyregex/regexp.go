package pyregex

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// DefaultMatchTimeout bounds one backtracking (regexp2) match, so a
// pathological pattern cannot stall log processing.
const DefaultMatchTimeout = 250 * time.Millisecond

// ErrTimeout is returned (wrapped) when a backtracking match exceeded its time limit.
var ErrTimeout = errors.New("pyregex: match timeout")

// Engine names returned by Regexp.Engine.
const (
	EngineRE2     = "re2"
	EngineRegexp2 = "regexp2"
)

// Regexp is a compiled Python `re` pattern. It runs on Go's linear-time
// regexp (RE2) when the translated pattern keeps Python's meaning, and on
// github.com/dlclark/regexp2 (backtracking) when it needs lookarounds,
// backreferences, conditionals or atomic groups. A Regexp is safe for
// concurrent use.
type Regexp struct {
	src   string
	super string   // RE2 expression for a superset of the matches (literal analysis)
	names []string // Python group names by index; "" for unnamed
	re2   *goRE
	net   *regexp2.Regexp
	// netIdx[i] is regexp2's group number for Python group i.
	netIdx []int
	// groupMap, for a pattern rewritten for RE2 (rewriteForRE2): the
	// Python group of each RE2 group (nil: the same numbers).
	groupMap []int
	// alts, for a pattern rewritten as several RE2 programs (re2 is the
	// first): the programs in the order their matches are preferred.
	alts []re2Alt
	why  string
	// dollar/boundary: the RE2 program is exact only for subjects without
	// an inner newline (dollar) or for ASCII subjects (boundary).
	dollar, boundary bool
	runes            sync.Pool
	// rangeNet is the backtracking program used by FindIndexRange when
	// the pattern runs on RE2 (compiled on first use).
	rangeOnce sync.Once
	rangeNet  *regexp2.Regexp
	rangeIdx  []int
	rangeErr  error
	timeout   time.Duration
	// superRE is super parsed (once, on first use: the literal and
	// first-byte analyses all read it, and parsing the Unicode classes
	// of a filter's expressions is most of compiling them).
	superOnce sync.Once
	superRE   *syntax.Regexp
	superErr  error
}

// superTree returns the superset expression parsed. The analyses only
// read it.
func (r *Regexp) superTree() (*syntax.Regexp, error) {
	r.superOnce.Do(func() { r.superRE, r.superErr = syntax.Parse(r.super, syntax.Perl) })
	return r.superRE, r.superErr
}

// Compile translates and compiles a Python regular expression (str pattern
// semantics: \d, \w, \s and \b are Unicode unless the (?a) flag is set;
// `$` also matches before a final newline; \Z is end of text).
func Compile(pattern string) (*Regexp, error) {
	return CompileTimeout(pattern, DefaultMatchTimeout)
}

// CompileTimeout is Compile with an explicit time limit for backtracking matches.
func CompileTimeout(pattern string, timeout time.Duration) (*Regexp, error) {
	tr, err := translate(pattern)
	if err != nil {
		return nil, fmt.Errorf("pyregex: compile %q: %w", pattern, err)
	}
	r := &Regexp{src: pattern, names: tr.names, dollar: tr.dollar, boundary: tr.boundary, super: tr.superExpr, timeout: timeout}
	if !tr.needsNet {
		r.re2, err = compileGo(tr.goExpr)
		if err != nil {
			return nil, fmt.Errorf("pyregex: compile %q (as RE2 %q): %w", pattern, tr.goExpr, err)
		}
		if r.re2.numSubexp() != len(r.names)-1 {
			return nil, fmt.Errorf("pyregex: compile %q: group count mismatch", pattern)
		}
		r.why = "no backtracking-only constructs"
	} else {
		r.why = tr.netWhy
		r.compileRewritten(pattern)
	}
	// The backtracking program is needed as the engine or as the exact fallback.
	if r.re2 == nil || r.dollar || r.boundary {
		r.net, r.netIdx, err = compileNet(pattern, tr.netExpr, len(r.names), timeout)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// re2Alt is one RE2 program of a pattern rewritten into several.
type re2Alt struct {
	re     *goRE
	groups []int // Python group of each RE2 group
	// need are the literal sets the program's matches hold one string of
	// each (RequiredLiteralSets): a subject without one cannot match.
	need [][]string
	// needLits is need prepared for the lookups of mayMatch.
	needLits LiteralSets
}

// keepDiscriminating drops from the programs' literal sets those that the
// whole pattern's sets (whole) imply: a subject is checked for those before
// the pattern runs (the filter's prefilter), so they tell the programs
// apart no more than they rule the subject out.
func keepDiscriminating(alts []re2Alt, whole [][]string) {
	for i := range alts {
		need := alts[i].need[:0]
		for _, set := range alts[i].need {
			if !slices.ContainsFunc(whole, func(w []string) bool { return implies(w, set) }) {
				need = append(need, set)
			}
		}
		alts[i].need = need
		alts[i].needLits = NewLiteralSets(need)
	}
}

// mayMatch reports whether s holds a string of each of a's literal sets.
func (a *re2Alt) mayMatch(s string) bool { return a.needLits.HeldBy(s) }

// maxBacktrackInsts is the largest program Go's regexp runs with its
// backtracker (regexp's maxBacktrackProg); larger ones run on its slower
// NFA simulation.
const maxBacktrackInsts = 500

// maxRewriteAlts bounds the programs of a flat rewrite.
const maxRewriteAlts = 8

// compileRewritten sets the RE2 program(s) of a pattern that translate
// leaves to regexp2 when rewriteForRE2 makes it RE2-expressible: one
// program when it is small enough for Go's backtracker, else one per path
// (each small enough), else none (regexp2 stays faster than the NFA).
func (r *Regexp) compileRewritten(pattern string) {
	for _, flat := range []bool{false, true} {
		rw, err := rewriteForRE2(pattern, flat)
		if err != nil || len(rw.alts) > maxRewriteAlts {
			return
		}
		var alts []re2Alt
		dollar, boundary := false, false
		for _, a := range rw.alts {
			tr, err := translate(a.src)
			if err != nil || tr.needsNet || progSize(tr.goExpr) > maxBacktrackInsts {
				alts = nil
				break
			}
			re, err := compileGo(tr.goExpr)
			if err != nil || re.numSubexp() != len(a.groups)-1 {
				return
			}
			alts = append(alts, re2Alt{re: re, groups: a.groups, need: literalSets(tr.goExpr)})
			dollar, boundary = dollar || tr.dollar, boundary || tr.boundary
		}
		if alts == nil {
			continue
		}
		keepDiscriminating(alts, r.RequiredLiteralSets())
		r.re2, r.groupMap, r.dollar, r.boundary, r.why = alts[0].re, alts[0].groups, dollar, boundary, rw.what
		if len(alts) > 1 {
			r.alts = alts
		}
		return
	}
}

// progSize is the number of instructions of the RE2 program of expr.
func progSize(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

// compileNet compiles the regexp2 program and maps Python group numbers to its own.
func compileNet(pattern, expr string, groups int, timeout time.Duration) (*regexp2.Regexp, []int, error) {
	net, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, nil, fmt.Errorf("pyregex: compile %q (as regexp2 %q): %w", pattern, expr, err)
	}
	net.MatchTimeout = timeout
	idx := make([]int, groups)
	for i := 1; i < groups; i++ {
		idx[i] = net.GroupNumberFromName(fmt.Sprintf("_%d", i))
		if idx[i] < 0 {
			return nil, nil, fmt.Errorf("pyregex: compile %q: lost group %d", pattern, i)
		}
	}
	return net, idx, nil
}

// MustCompile is Compile that panics on error; for patterns fixed in code.
func MustCompile(pattern string) *Regexp {
	r, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the original Python pattern.
func (r *Regexp) String() string { return r.src }

// NumSubexp returns the number of capture groups.
func (r *Regexp) NumSubexp() int { return len(r.names) - 1 }

// SubexpNames returns the group names by index (index 0 and unnamed groups are "").
// The slice must not be modified.
func (r *Regexp) SubexpNames() []string { return r.names }

// SubexpIndex returns the index of the named group, or -1.
func (r *Regexp) SubexpIndex(name string) int {
	for i, n := range r.names {
		if n == name && name != "" {
			return i
		}
	}
	return -1
}

// Engine names the engine running the pattern and why: "re2" or
// "regexp2 (lookahead)" and so on. An RE2 pattern whose exactness depends
// on the subject says which subjects go to regexp2.
func (r *Regexp) Engine() string {
	if r.re2 == nil {
		return EngineRegexp2 + " (" + r.why + ")"
	}
	var notes []string
	if r.groupMap != nil {
		notes = append(notes, r.why)
	}
	switch {
	case r.dollar && r.boundary:
		notes = append(notes, "regexp2 for non-ASCII or multi-line subjects")
	case r.dollar:
		notes = append(notes, "regexp2 for multi-line subjects")
	case r.boundary:
		notes = append(notes, "regexp2 for non-ASCII subjects")
	}
	if len(notes) == 0 {
		return EngineRE2
	}
	return EngineRE2 + " (" + strings.Join(notes, "; ") + ")"
}

// useNet reports whether s must be matched by the backtracking program.
func (r *Regexp) useNet(s string) bool {
	if r.re2 == nil {
		return true
	}
	if r.dollar && len(s) > 1 && strings.IndexByte(s[:len(s)-1], '\n') >= 0 {
		return true
	}
	return r.boundary && !isASCII(s)
}

// isASCII reports whether s holds only ASCII bytes (8 at a time).
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MatchString reports whether the pattern matches anywhere in s (Python re.search).
// It does not allocate on the RE2 path.
func (r *Regexp) MatchString(s string) (bool, error) {
	if !r.useNet(s) {
		if r.alts != nil {
			for i := range r.alts {
				if a := &r.alts[i]; a.mayMatch(s) && a.re.match(s) {
					return true, nil
				}
			}
			return false, nil
		}
		return r.re2.match(s), nil
	}
	m, err := r.netMatch(r.net, s, 0)
	if m == nil {
		return false, err
	}
	r.runes.Put(m.buf)
	return true, nil
}

// FindIndex searches s like Python re.search and returns the byte offsets of
// the match and its groups as pairs (2*(NumSubexp()+1) ints, -1 for groups
// that did not take part), appended to dst[:0]; nil when there is no match.
// A non-matching RE2 search does not allocate.
func (r *Regexp) FindIndex(s string, dst []int) ([]int, error) {
	if !r.useNet(s) {
		// a miss costs no allocation, a hit at most one (dst grown)
		if r.alts != nil {
			return r.findAlts(s, dst), nil
		}
		if r.groupMap == nil {
			return r.re2.find(s, dst), nil
		}
		var buf [stackCaps]int
		loc := r.re2.find(s, buf[:0])
		if loc == nil {
			return nil, nil
		}
		return r.remap(loc, r.groupMap, dst), nil
	}
	m, err := r.netMatch(r.net, s, 0)
	if m == nil {
		return nil, err
	}
	return r.netIndex(m, s, r.netIdx, dst), nil
}

// remap converts the offsets of a rewritten RE2 program to Python groups:
// copies of a group lie in exclusive alternatives, at most one took part.
func (r *Regexp) remap(loc, groups, dst []int) []int {
	dst = dst[:0]
	for range r.names {
		dst = append(dst, -1, -1)
	}
	dst[0], dst[1] = loc[0], loc[1]
	for k := 1; k < len(groups); k++ {
		if loc[2*k] >= 0 {
			g := groups[k]
			dst[2*g], dst[2*g+1] = loc[2*k], loc[2*k+1]
		}
	}
	return dst
}

// findAlts searches with the programs of a flat rewrite: the pattern's
// match is the leftmost of theirs, the first program's among those
// starting at the same position (leftmost-first over the paths, in order).
func (r *Regexp) findAlts(s string, dst []int) []int {
	var bufs [2][stackCaps]int
	var best []int
	bi, cur := -1, 0
	for i := range r.alts {
		a := &r.alts[i]
		if !a.mayMatch(s) {
			continue
		}
		loc := a.re.find(s, bufs[cur][:0])
		if loc != nil && (best == nil || loc[0] < best[0]) {
			best, bi, cur = loc, i, cur^1
			if loc[0] == 0 {
				break
			}
		}
	}
	if best == nil {
		return nil
	}
	return r.remap(best, r.alts[bi].groups, dst)
}

// FindIndexRange is FindIndex for Python's pattern.search(s, pos, endpos)
// (byte offsets): the match starts at pos or later and ends by endpos; `^`
// matches only at the real start of s, and \b and lookbehinds see the text
// before pos, while the text from endpos on is invisible, as in Python.
func (r *Regexp) FindIndexRange(s string, pos, endpos int, dst []int) ([]int, error) {
	endpos = min(max(endpos, 0), len(s))
	pos = min(max(pos, 0), endpos)
	if pos == 0 {
		return r.FindIndex(s[:endpos], dst)
	}
	net, idx := r.net, r.netIdx
	if net == nil {
		r.rangeOnce.Do(func() {
			tr, err := translate(r.src)
			if err != nil {
				r.rangeErr = err
				return
			}
			r.rangeNet, r.rangeIdx, r.rangeErr = compileNet(r.src, tr.netExpr, len(r.names), r.timeout)
		})
		if r.rangeErr != nil {
			return nil, r.rangeErr
		}
		net, idx = r.rangeNet, r.rangeIdx
	}
	start := utf8.RuneCountInString(s[:pos])
	m, err := r.netMatch(net, s[:endpos], start)
	if m == nil {
		return nil, err
	}
	return r.netIndex(m, s[:endpos], idx, dst), nil
}

// netIndex converts a regexp2 match over the runes of s to byte offsets.
func (r *Regexp) netIndex(m *netResult, s string, netIdx []int, dst []int) []int {
	dst = dst[:0]
	ascii := len(m.runes) == len(s)
	var offs []int
	if !ascii {
		offs = make([]int, 0, len(m.runes)+1)
		for i := range s {
			offs = append(offs, i)
		}
		offs = append(offs, len(s))
	}
	conv := func(i int) int {
		if ascii {
			return i
		}
		return offs[i]
	}
	for i := range r.names {
		g := m.m.GroupByNumber(netIdx[i])
		if g == nil || len(g.Captures) == 0 {
			dst = append(dst, -1, -1)
			continue
		}
		dst = append(dst, conv(g.Index), conv(g.Index+g.Length))
	}
	r.runes.Put(m.buf)
	return dst
}

type netResult struct {
	m     *regexp2.Match
	runes []rune
	buf   *[]rune
}

func (r *Regexp) netMatch(net *regexp2.Regexp, s string, start int) (*netResult, error) {
	bp, _ := r.runes.Get().(*[]rune)
	if bp == nil {
		bp = new([]rune)
	}
	runes := (*bp)[:0]
	for _, c := range s {
		runes = append(runes, c)
	}
	*bp = runes
	m, err := net.FindRunesMatchStartingAt(runes, start)
	if err != nil {
		r.runes.Put(bp)
		return nil, fmt.Errorf("pyregex: %q: %w: %v", r.src, ErrTimeout, err)
	}
	if m == nil {
		r.runes.Put(bp)
		return nil, nil
	}
	return &netResult{m: m, runes: runes, buf: bp}, nil
}
