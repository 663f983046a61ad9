package rematch

import "regexp/syntax"

// firstSet is what a match from a node can start with: a set of bytes and
// whether it can start at the end of the subject (end), or anything
// (nullable: the node can reach the end of the expression without
// consuming input or meeting an end assertion, so no byte, and not even
// the end of the subject, rules it out). The end assertions ($, \z) are
// read: what follows them can only be a newline (multi-line $) or the
// end; other assertions are ignored. So the set may be larger than the
// truth, never smaller: it only prunes paths that cannot match.
type firstSet struct {
	bytes    [4]uint64
	end      bool
	nullable bool
}

// may reports whether a match from the node can start at pos.
func (f *firstSet) may(s string, pos int) bool {
	if f.nullable {
		return true
	}
	if pos >= len(s) {
		return f.end
	}
	b := s[pos]
	return f.bytes[b>>6]&(1<<(b&63)) != 0
}

func (f *firstSet) addByte(b byte) { f.bytes[b>>6] |= 1 << (b & 63) }

func (f *firstSet) union(g firstSet) {
	for i := range f.bytes {
		f.bytes[i] |= g.bytes[i]
	}
	f.end = f.end || g.end
	f.nullable = f.nullable || g.nullable
}

// endAssert is the first set of an end assertion (empty: its flags) whose
// continuation has the first set g: only the end, and a newline for a
// multi-line $, can follow it, if the continuation may start there.
func endAssert(empty syntax.EmptyOp, g firstSet) firstSet {
	f := firstSet{end: g.end || g.nullable}
	if empty&syntax.EmptyEndText == 0 && (g.nullable || g.bytes[0]&(1<<'\n') != 0) {
		f.addByte('\n')
	}
	return f
}

// classBytes is the set of first bytes of the runes of c: its ASCII bytes,
// and every non-ASCII byte when it has non-ASCII runes (their lead bytes,
// and the invalid bytes that read as U+FFFD).
func classBytes(c *class) firstSet {
	f := firstSet{}
	f.bytes[0], f.bytes[1] = c.ascii[0], c.ascii[1]
	if len(c.ranges) > 0 {
		f.bytes[2], f.bytes[3] = ^uint64(0), ^uint64(0)
	}
	return f
}

// firstSets computes every node's first set.
func (c *compiler) firstSets() {
	state := make(map[*node]uint8, len(c.nodes)) // 1: in progress, 2: done
	var visit func(n *node) firstSet
	visit = func(n *node) firstSet {
		switch state[n] {
		case 1:
			// a cycle that consumes nothing so far: stay conservative
			return firstSet{nullable: true}
		case 2:
			return n.first
		}
		state[n] = 1
		var f firstSet
		switch n.op {
		case opMatch:
			f.nullable = true
		case opFail:
		case opLit:
			f.addByte(n.str[0])
		case opClass:
			f = classBytes(n.cls)
		case opLoop:
			f = classBytes(n.cls)
			if n.min == 0 {
				f.union(visit(n.next))
			}
		case opAlt:
			for _, a := range n.alts {
				f.union(visit(a))
			}
		case opStar:
			f = visit(n.body)
			f.union(visit(n.next))
		case opQuad:
			f = classBytes(n.cls)
		case opHex:
			f = classBytes(n.cls)
			f.addByte(n.sep)
		case opEmpty:
			f = visit(n.next)
			if n.empty&(syntax.EmptyEndText|syntax.EmptyEndLine) != 0 {
				f = endAssert(n.empty, f)
			}
		case opCap:
			f = visit(n.next)
		}
		n.first = f
		state[n] = 2
		return f
	}
	for _, n := range c.nodes {
		visit(n)
	}
}
