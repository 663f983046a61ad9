package rematch

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/f2bd/f2bd/internal/rarebyte"
)

// ErrUnsupported is returned (wrapped) by Compile for expressions the
// matcher leaves to the regexp package: a repetition whose body can match
// the empty string, and repetitions Simplify leaves in place.
var ErrUnsupported = errors.New("rematch: unsupported expression")

// op is what a node does.
type op uint8

const (
	opMatch op = iota // the whole expression matched
	opFail            // never matches (an empty class, syntax.OpNoMatch)
	opLit             // the bytes of str
	opClass           // one rune of cls
	opLoop            // min..max runes of cls (max < 0: no limit), greedy or lazy
	opAlt             // the alternatives in order
	opAlt2            // body, else next: opAlt with two alternatives (x?, x{n,m}), made cheaper
	opStar            // body any number of times (body cannot match empty), greedy or lazy
	opCap             // record the position in capture slot idx
	opEmpty           // the zero-width assertions of empty
	opQuad            // C{1,3}(?:sC{1,3}){3} (an IPv4 address: C digits, s '.'), with body the same compiled generically
	opHex             // (?:C{1,h}s{1,2}|ss){1,r}(?:C{1,h}|s) (an IPv6 address: C hex digits, s ':'; h in min, r in max)
)

// node is one step of the compiled expression. Every node knows what
// follows it (next), so matching is a walk over a graph: alternatives
// share their continuation and a star's body leads back to the star.
type node struct {
	op     op
	greedy bool
	str    string // opLit
	cls    *class // opClass, opLoop, opQuad, opHex
	min    int    // opLoop; opHex: the most runes of a group
	max    int    // opLoop, < 0: unbounded; opHex: the most groups
	idx    int    // opCap
	empty  syntax.EmptyOp
	alts   []*node // opAlt
	body   *node   // opStar, opAlt2; opQuad: the generic graph (for non-ASCII text)
	sep    byte    // opQuad, opHex: the separator (ASCII, not in cls)
	// kinds (opQuad) classifies bytes for the scan of a group: quadIn
	// (an ASCII rune of cls), quadOther (a byte of a non-ASCII rune) or
	// 0 (an ASCII rune outside cls).
	kinds *[256]uint8
	next  *node
	// first is the set of bytes a match from this node can start with.
	first firstSet
	// litAfter (opLoop) is the literal that must follow the loop, past
	// capture nodes ("" when none).
	litAfter string
	litRare  int // the byte litAfter is looked for by (rarebyte.Pick)
	// stopOnly (opLoop) says that no ASCII rune of cls can start what
	// follows the loop: of the ASCII runs the loop takes, only the longest
	// can be followed by a match (as in \S+ followed by a space).
	stopOnly bool
	// stopPair (opLoop) says that the loop is followed by a one-rune
	// class and that no ASCII rune of the loop's class can start what
	// follows that class: of the ASCII runs the loop takes, only the
	// longest two can be followed by a match (the class taking the rune
	// after the run, or its last one), as in [\w.-]*\w followed by a space.
	stopPair bool
	// memo is 1 + the node's row in the memo of failed continuations
	// (machine.memo), 0 for nodes that have none: every node the matcher
	// may backtrack to (the nodes machine.try runs) has one.
	memo int
}

// Prog is a compiled expression. It is immutable and safe for concurrent use.
type Prog struct {
	start    *node
	ncap     int  // capture slots (2 per group, group 0 included)
	anchored bool // the expression starts with \A: only offset 0 is tried
	// prefix is the literal every match starts with (past capture nodes,
	// and past \A when anchored), "" when none: a subject without it is
	// rejected before any other work.
	prefix string
	// entry and skip (anchored only) are where the walk begins: past a
	// leading \A, which holds at offset 0, and past the prefix, which
	// Find has checked, when no capture node comes before them.
	entry *node
	skip  int
	nmemo int // nodes with a row in the memo (node.memo <= nmemo)
	// memoAfter is the number of steps after which a search starts its
	// memo (the constant memoAfter; tests set 0 to use it everywhere).
	memoAfter int
}

// Compile compiles a parsed expression (syntax.Parse with the flags
// regexp.Compile uses: syntax.Perl). Counted repetitions are read as
// Simplify rewrites them for regexp, so Find gives regexp's results.
func Compile(re *syntax.Regexp) (*Prog, error) {
	p := &Prog{ncap: 2 * (re.MaxCap() + 1), memoAfter: memoAfter}
	c := compiler{}
	start, err := c.compile(re, c.add(&node{op: opMatch}))
	if err != nil {
		return nil, err
	}
	p.start = start
	c.firstSets()
	p.numberTargets()
	for _, n := range c.nodes {
		if n.op == opAlt && len(n.alts) == 2 {
			n.op, n.body, n.next, n.alts = opAlt2, n.alts[0], n.alts[1], nil
		}
		if n.op == opLoop {
			f := &n.next.first
			n.stopOnly = !f.nullable && f.bytes[0]&n.cls.ascii[0] == 0 && f.bytes[1]&n.cls.ascii[1] == 0
			if c := n.next; !n.stopOnly && c.op == opClass {
				// [\w.-]*\w followed by a space: the class takes one rune
				g := &c.next.first
				n.stopPair = !g.nullable && g.bytes[0]&n.cls.ascii[0] == 0 && g.bytes[1]&n.cls.ascii[1] == 0
			}
			nx := n.next
			for nx.op == opCap {
				nx = nx.next
			}
			if nx.op == opLit {
				n.litAfter, n.litRare = nx.str, rarebyte.Pick(nx.str)
			}
		}
	}
	// leading assertion / literal, past capture nodes
	n := start
	for n.op == opCap {
		n = n.next
	}
	if n.op == opEmpty && n.empty&syntax.EmptyBeginText != 0 {
		p.anchored = true
		p.entry = start
		if n == start && n.empty == syntax.EmptyBeginText {
			p.entry = n.next
		}
		for n = n.next; n.op == opCap; n = n.next {
		}
	}
	if n.op == opLit {
		p.prefix = n.str
		if p.anchored && p.entry == n {
			p.entry, p.skip = n.next, len(n.str)
		}
	}
	return p, nil
}

// numberTargets gives each node the matcher may backtrack to (the nodes
// machine.try runs) a row in the memo; the other nodes need none.
func (p *Prog) numberTargets() {
	seen := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		for ; n != nil && !seen[n]; n = n.next {
			seen[n] = true
			switch n.op {
			case opAlt:
				for _, a := range n.alts[:len(n.alts)-1] {
					p.target(a)
				}
				for _, a := range n.alts {
					walk(a)
				}
			case opStar:
				p.target(n.body)
				p.target(n.next)
				walk(n.body)
			case opLoop:
				p.target(n.next)
			case opQuad:
				p.target(n.next)
				walk(n.body)
			case opHex:
				p.target(n.next)
			}
		}
	}
	p.target(p.start)
	walk(p.start)
}

// target gives n a row in the memo if it has none.
func (p *Prog) target(n *node) {
	if n.memo == 0 {
		p.nmemo++
		n.memo = p.nmemo
	}
}

// NumCap is the length of the slice Find fills: 2 per group, group 0 included.
func (p *Prog) NumCap() int { return p.ncap }

// compiler builds the graph and records its nodes.
type compiler struct {
	nodes   []*node
	classes map[classKey]*class // one of each distinct class, shared by its nodes
}

// classKey identifies a class by its content.
type classKey struct {
	ascii  [2]uint64
	ranges string
}

// add records n and returns it. A class equal to one an earlier node has
// is replaced by that one: counted repetitions copy their classes (\d{1,3}
// three times), and a program keeps one of each.
func (c *compiler) add(n *node) *node {
	if n.cls != nil {
		k := classKey{ascii: n.cls.ascii, ranges: string(n.cls.ranges)}
		if same, ok := c.classes[k]; ok {
			n.cls = same
		} else {
			if c.classes == nil {
				c.classes = map[classKey]*class{}
			}
			c.classes[k] = n.cls
		}
	}
	c.nodes = append(c.nodes, n)
	return n
}

// compile returns the node that matches re and then continues with next.
func (c *compiler) compile(re *syntax.Regexp, next *node) (*node, error) {
	switch re.Op {
	case syntax.OpNoMatch:
		return c.add(&node{op: opFail}), nil
	case syntax.OpEmptyMatch:
		return next, nil
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			n := next
			for i := len(re.Rune) - 1; i >= 0; i-- {
				n = c.add(&node{op: opClass, cls: foldClass(re.Rune[i]), next: n})
			}
			return n, nil
		}
		var b strings.Builder
		for _, r := range re.Rune {
			if r == utf8.RuneError || r < 0 || r > unicode.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				// U+FFFD also matches invalid input bytes: match runes, not bytes
				n := next
				for i := len(re.Rune) - 1; i >= 0; i-- {
					n = c.add(&node{op: opClass, cls: newClass([]rune{re.Rune[i], re.Rune[i]}), next: n})
				}
				return n, nil
			}
			b.WriteRune(r)
		}
		if next.op == opLit {
			return c.add(&node{op: opLit, str: b.String() + next.str, next: next.next}), nil
		}
		return c.add(&node{op: opLit, str: b.String(), next: next}), nil
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		cls := classOf(re)
		if cls == nil {
			return c.add(&node{op: opFail}), nil
		}
		return c.add(&node{op: opClass, cls: cls, next: next}), nil
	case syntax.OpBeginLine:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyBeginLine, next: next}), nil
	case syntax.OpEndLine:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyEndLine, next: next}), nil
	case syntax.OpBeginText:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyBeginText, next: next}), nil
	case syntax.OpEndText:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyEndText, next: next}), nil
	case syntax.OpWordBoundary:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyWordBoundary, next: next}), nil
	case syntax.OpNoWordBoundary:
		return c.add(&node{op: opEmpty, empty: syntax.EmptyNoWordBoundary, next: next}), nil
	case syntax.OpCapture:
		end := c.add(&node{op: opCap, idx: 2*re.Cap + 1, next: next})
		body, err := c.compile(re.Sub[0], end)
		if err != nil {
			return nil, err
		}
		return c.add(&node{op: opCap, idx: 2 * re.Cap, next: body}), nil
	case syntax.OpConcat:
		n := next
		for i := len(re.Sub) - 1; i >= 0; i-- {
			if i > 0 {
				if cls, sep, ok := quadOf(re.Sub[i-1], re.Sub[i]); ok {
					tail, err := c.compile(re.Sub[i], n)
					if err != nil {
						return nil, err
					}
					generic, err := c.compile(re.Sub[i-1], tail)
					if err != nil {
						return nil, err
					}
					n = c.add(&node{op: opQuad, cls: cls, sep: sep, body: generic, kinds: quadKinds(cls), next: n})
					i--
					continue
				}
				if h, ok := hexOf(re.Sub[i-1], re.Sub[i]); ok {
					n = c.add(&node{op: opHex, cls: h.cls, sep: h.sep, min: h.runes, max: h.groups, next: n})
					i--
					continue
				}
			}
			var err error
			if n, err = c.compile(re.Sub[i], n); err != nil {
				return nil, err
			}
		}
		return n, nil
	case syntax.OpAlternate:
		alt := c.add(&node{op: opAlt})
		for _, sub := range re.Sub {
			n, err := c.compile(sub, next)
			if err != nil {
				return nil, err
			}
			alt.alts = append(alt.alts, n)
		}
		return alt, nil
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return c.repeat(re, next)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, re.Op)
}

// repeat compiles x*, x+, x? and x{n,m} as regexp/syntax's Simplify
// rewrites them (x{2,4} is xx(x(x)?)?, x{2,} is xx+, a repetition of the
// same repetition is that one), without unrolling repetitions of a single
// rune: those are one loop node.
func (c *compiler) repeat(re *syntax.Regexp, next *node) (*node, error) {
	sub := re.Sub[0]
	greedy := re.Flags&syntax.NonGreedy == 0
	lo, hi := 0, -1
	switch re.Op {
	case syntax.OpPlus:
		lo = 1
	case syntax.OpQuest:
		hi = 1
	case syntax.OpRepeat:
		lo, hi = re.Min, re.Max
	}
	if sub.Op == syntax.OpEmptyMatch || hi == 0 {
		return next, nil
	}
	if re.Op != syntax.OpRepeat && sub.Op == re.Op && sub.Flags&syntax.NonGreedy == re.Flags&syntax.NonGreedy {
		return c.compile(sub, next) // x** is x*
	}
	if cls := singleRune(sub); cls != nil {
		return c.add(&node{op: opLoop, cls: cls, greedy: greedy, min: lo, max: hi, next: next}), nil
	}
	var err error
	n := next
	switch {
	case hi < 0:
		if canBeEmpty(sub) {
			// Go's regexp gives such loops a meaning of its own (an
			// empty iteration ends them): leave them to it.
			return nil, fmt.Errorf("%w: repetition of %s, which can match empty", ErrUnsupported, sub)
		}
		star := c.add(&node{op: opStar, greedy: greedy, next: next})
		if star.body, err = c.compile(sub, star); err != nil {
			return nil, err
		}
		n = star
	default:
		// the optional copies, nested: x(x(x)?)?, each one skipped to next
		for range hi - lo {
			body, err := c.compile(sub, n)
			if err != nil {
				return nil, err
			}
			if greedy {
				n = c.add(&node{op: opAlt, alts: []*node{body, next}})
			} else {
				n = c.add(&node{op: opAlt, alts: []*node{next, body}})
			}
		}
	}
	for range lo {
		if n, err = c.compile(sub, n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// singleRune is the class of an expression that matches exactly one rune
// (nil when it is not one).
func singleRune(re *syntax.Regexp) *class {
	switch re.Op {
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return classOf(re)
	case syntax.OpLiteral:
		if len(re.Rune) != 1 {
			return nil
		}
		if re.Flags&syntax.FoldCase != 0 {
			return foldClass(re.Rune[0])
		}
		return newClass([]rune{re.Rune[0], re.Rune[0]})
	}
	return nil
}

// quadOf reports whether a followed by b is C{1,3}(?:sC{1,3}){3}, greedy,
// for a class C and an ASCII separator s outside it (an IPv4 address,
// `\d{1,3}(?:\.\d{1,3}){3}`), and returns C and s. Matched as one node
// (opQuad), such an address costs four scans instead of a dozen steps.
func quadOf(a, b *syntax.Regexp) (cls *class, sep byte, ok bool) {
	group := func(re *syntax.Regexp) *class {
		if re.Op != syntax.OpRepeat || re.Min != 1 || re.Max != 3 || re.Flags&syntax.NonGreedy != 0 {
			return nil
		}
		return singleRune(re.Sub[0])
	}
	cls = group(a)
	if cls == nil || b.Op != syntax.OpRepeat || b.Min != 3 || b.Max != 3 || b.Flags&syntax.NonGreedy != 0 {
		return nil, 0, false
	}
	body := b.Sub[0]
	if body.Op != syntax.OpConcat || len(body.Sub) != 2 {
		return nil, 0, false
	}
	lit, last := body.Sub[0], group(body.Sub[1])
	if lit.Op != syntax.OpLiteral || len(lit.Rune) != 1 || lit.Flags&syntax.FoldCase != 0 ||
		lit.Rune[0] < 0 || lit.Rune[0] >= utf8.RuneSelf || last == nil ||
		last.ascii != cls.ascii || !slices.Equal(last.ranges, cls.ranges) || cls.hasASCII(byte(lit.Rune[0])) {
		return nil, 0, false
	}
	return cls, byte(lit.Rune[0]), true
}

// hexShape is what hexOf finds.
type hexShape struct {
	cls           *class
	sep           byte
	runes, groups int
}

// hexOf reports whether a followed by b is (?:C{1,h}s{1,2}|ss){1,r}
// (?:C{1,h}|s), greedy, for an ASCII class C, an ASCII separator s outside
// it, h and r at most 8 (an IPv6 address as fail2ban writes it,
// `(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|:)`), and returns
// its parts. Matched as one node (opHex), such an address costs a few
// scans instead of dozens of steps.
func hexOf(a, b *syntax.Regexp) (h hexShape, ok bool) {
	greedy := func(re *syntax.Regexp, lo int) bool {
		return re.Op == syntax.OpRepeat && re.Min == lo && re.Flags&syntax.NonGreedy == 0
	}
	group := func(re *syntax.Regexp) (*class, int) {
		if !greedy(re, 1) || re.Max < 1 || re.Max > 8 {
			return nil, 0
		}
		cls := singleRune(re.Sub[0])
		if cls == nil || len(cls.ranges) > 0 {
			return nil, 0
		}
		return cls, re.Max
	}
	sepOf := func(re *syntax.Regexp, n int) (byte, bool) {
		if re.Op != syntax.OpLiteral || len(re.Rune) != n || re.Flags&syntax.FoldCase != 0 ||
			re.Rune[0] < 0 || re.Rune[0] >= utf8.RuneSelf || (n == 2 && re.Rune[1] != re.Rune[0]) {
			return 0, false
		}
		return byte(re.Rune[0]), true
	}
	if !greedy(a, 1) || a.Max < 1 || a.Max > 8 {
		return h, false
	}
	alt := a.Sub[0]
	if alt.Op != syntax.OpAlternate || len(alt.Sub) != 2 || b.Op != syntax.OpAlternate || len(b.Sub) != 2 {
		return h, false
	}
	g := alt.Sub[0]
	if g.Op != syntax.OpConcat || len(g.Sub) != 2 || !greedy(g.Sub[1], 1) || g.Sub[1].Max != 2 {
		return h, false
	}
	cls, runes := group(g.Sub[0])
	sep, ok1 := sepOf(g.Sub[1].Sub[0], 1)
	sep2, ok2 := sepOf(alt.Sub[1], 2)
	lcls, lrunes := group(b.Sub[0])
	sep3, ok3 := sepOf(b.Sub[1], 1)
	if cls == nil || !ok1 || !ok2 || !ok3 || sep2 != sep || sep3 != sep || cls.hasASCII(sep) ||
		lcls == nil || lrunes != runes || lcls.ascii != cls.ascii {
		return h, false
	}
	return hexShape{cls: cls, sep: sep, runes: runes, groups: a.Max}, true
}

// Byte kinds of an opQuad scan (node.kinds).
const (
	quadIn    = 1
	quadOther = 2
)

// quadKinds is the byte table of an opQuad node of class cls.
func quadKinds(cls *class) *[256]uint8 {
	var k [256]uint8
	for b := range k {
		switch {
		case b >= utf8.RuneSelf:
			k[b] = quadOther
		case cls.hasASCII(byte(b)):
			k[b] = quadIn
		}
	}
	return &k
}

// canBeEmpty reports whether re can match the empty string.
func canBeEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar, syntax.OpNoMatch:
		return false
	case syntax.OpPlus, syntax.OpCapture:
		return canBeEmpty(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || canBeEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !canBeEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if canBeEmpty(s) {
				return true
			}
		}
		return false
	}
	// empty match, assertions, star, quest
	return true
}
