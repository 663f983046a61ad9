package pyregex

import (
	"errors"
	"fmt"
	"regexp"
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
	re2   *regexp.Regexp
	net   *regexp2.Regexp
	// netIdx[i] is regexp2's group number for Python group i.
	netIdx []int
	why    string
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
		r.re2, err = regexp.Compile(tr.goExpr)
		if err != nil {
			return nil, fmt.Errorf("pyregex: compile %q (as RE2 %q): %w", pattern, tr.goExpr, err)
		}
		if r.re2.NumSubexp() != len(r.names)-1 {
			return nil, fmt.Errorf("pyregex: compile %q: group count mismatch", pattern)
		}
		r.why = "no backtracking-only constructs"
	} else {
		r.why = tr.netWhy
	}
	// The backtracking program is needed as the engine or as the exact fallback.
	if tr.needsNet || tr.dollar || tr.boundary {
		r.net, r.netIdx, err = compileNet(pattern, tr.netExpr, len(r.names), timeout)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
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
	switch {
	case r.dollar && r.boundary:
		return EngineRE2 + " (regexp2 for non-ASCII or multi-line subjects)"
	case r.dollar:
		return EngineRE2 + " (regexp2 for multi-line subjects)"
	case r.boundary:
		return EngineRE2 + " (regexp2 for non-ASCII subjects)"
	}
	return EngineRE2
}

// useNet reports whether s must be matched by the backtracking program.
func (r *Regexp) useNet(s string) bool {
	if r.re2 == nil {
		return true
	}
	if r.dollar {
		for i := 0; i < len(s)-1; i++ {
			if s[i] == '\n' {
				return true
			}
		}
	}
	if r.boundary {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return true
			}
		}
	}
	return false
}

// MatchString reports whether the pattern matches anywhere in s (Python re.search).
// It does not allocate on the RE2 path.
func (r *Regexp) MatchString(s string) (bool, error) {
	if !r.useNet(s) {
		return r.re2.MatchString(s), nil
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
		// regexp allocates the result only on a match: a miss costs
		// nothing, a hit one slice (copied to dst so callers can reuse it).
		loc := r.re2.FindStringSubmatchIndex(s)
		if loc == nil {
			return nil, nil
		}
		return append(dst[:0], loc...), nil
	}
	m, err := r.netMatch(r.net, s, 0)
	if m == nil {
		return nil, err
	}
	return r.netIndex(m, s, r.netIdx, dst), nil
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
