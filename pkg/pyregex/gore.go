package pyregex

import (
	"regexp"
	"regexp/syntax"
	"sync"

	"github.com/f2bd/f2bd/pkg/rematch"
)

// goRE is one RE2 program: Go's regexp, with rematch as its fast path
// (same results; regexp answers when rematch gives up or does not take
// the expression).
type goRE struct {
	expr string
	nsub int
	fast *rematch.Prog // nil: regexp only
	// slow is Go's regexp. When rematch takes the expression, regexp is
	// needed only for the rare search rematch gives up on: it is compiled
	// then (it would hold about as much memory as rematch's program for
	// the life of the daemon).
	slowOnce sync.Once
	slow     *regexp.Regexp
}

// compileGo compiles an RE2 expression. The expression is parsed once for
// rematch; Go's regexp, which parses it again, is compiled now only when
// rematch does not take the expression (else on its first use, see
// regexp): a third of a filter's compile time went to regexp.Compile.
func compileGo(expr string) (*goRE, error) {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err // as regexp.Compile reports it
	}
	g := &goRE{expr: expr, nsub: tree.MaxCap()}
	if p, err := rematch.Compile(tree); err == nil && p.NumCap() == 2*(g.nsub+1) {
		g.fast = p
		return g, nil
	}
	if g.slow, err = regexp.Compile(expr); err != nil {
		return nil, err
	}
	g.nsub = g.slow.NumSubexp()
	return g, nil
}

// regexp returns Go's regexp of the expression, compiled on first use.
func (g *goRE) regexp() *regexp.Regexp {
	g.slowOnce.Do(func() {
		if g.slow == nil {
			g.slow = regexp.MustCompile(g.expr) // compiled once already
		}
	})
	return g.slow
}

// stackCaps is the most capture slots found without allocating.
const stackCaps = 64

// find is regexp's FindStringSubmatchIndex with the result in dst (nil: no
// match). A miss does not allocate; a hit allocates only when dst is too
// small.
func (g *goRE) find(s string, dst []int) []int {
	if g.fast != nil {
		n := g.fast.NumCap()
		if cap(dst) >= n {
			// in place: dst is the caller's to overwrite
			caps := dst[:n]
			found, decided := g.fast.Find(s, caps, rematch.Budget(s))
			if decided {
				if !found {
					return nil
				}
				return caps
			}
		} else if loc, decided := g.findSmall(s, dst); decided {
			return loc
		}
	}
	loc := g.regexp().FindStringSubmatchIndex(s)
	if loc == nil {
		return nil
	}
	return append(dst[:0], loc...)
}

// findSmall is find's rematch search for a dst too small for the result:
// the search runs in a buffer on the stack, and dst grows only on a match.
func (g *goRE) findSmall(s string, dst []int) (loc []int, decided bool) {
	n := g.fast.NumCap()
	var buf [stackCaps]int
	var caps []int
	if n <= stackCaps {
		caps = buf[:n]
	} else {
		caps = make([]int, n)
	}
	found, decided := g.fast.Find(s, caps, rematch.Budget(s))
	if !decided || !found {
		return nil, decided
	}
	return append(dst[:0], caps...), true
}

// match is regexp's MatchString.
func (g *goRE) match(s string) bool {
	if g.fast != nil && g.fast.NumCap() <= stackCaps {
		var buf [stackCaps]int
		found, decided := g.fast.Find(s, buf[:g.fast.NumCap()], rematch.Budget(s))
		if decided {
			return found
		}
	}
	return g.regexp().MatchString(s)
}

// numSubexp is the number of groups.
func (g *goRE) numSubexp() int { return g.nsub }
