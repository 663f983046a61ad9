package rematch

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/f2bd/f2bd/internal/rarebyte"
)

// Find searches s for the leftmost match, preferring alternatives and
// repetitions as Go's regexp does (leftmost-first), and writes the match's
// capture offsets into caps (len NumCap(); -1 for groups that did not take
// part), as regexp.FindStringSubmatchIndex returns them. When there is no
// match, the contents of caps are unspecified.
//
// budget bounds the work (steps of the walk); when it runs out, Find
// gives up: decided is false and the caller must ask regexp instead.
// Otherwise found says whether there is a match.
func (p *Prog) Find(s string, caps []int, budget int) (found, decided bool) {
	// Most searches fail at once (a line a prefilter let through for
	// another expression): reject those before setting anything up.
	if p.anchored {
		if !strings.HasPrefix(s, p.prefix) || !p.entry.first.may(s, p.skip) {
			return false, true
		}
		var m machine
		m.s, m.caps, m.nmemo = s, caps, p.nmemo
		m.steps, m.reserve = p.steps(budget)
		resetCaps(caps)
		caps[0] = 0
		found = m.run(p.entry, p.skip)
		return found, m.steps >= 0
	}
	pos := p.next(s, 0)
	if pos < 0 {
		return false, true
	}
	var m machine
	m.s, m.caps, m.nmemo = s, caps, p.nmemo
	m.steps, m.reserve = p.steps(budget)
	resetCaps(caps)
	for pos >= 0 {
		caps[0] = pos
		if m.try(p.start, pos) {
			return true, true
		}
		if m.steps < 0 {
			return false, false
		}
		if pos == len(s) {
			break
		}
		if s[pos] < utf8.RuneSelf {
			pos++
		} else {
			_, w := utf8.DecodeRuneInString(s[pos:])
			pos += w
		}
		pos = p.next(s, pos)
	}
	return false, true
}

// next is the first offset from pos on (at the start of a rune) where a
// match may start, -1 when there is none.
func (p *Prog) next(s string, pos int) int {
	if p.prefix != "" {
		i := strings.Index(s[pos:], p.prefix)
		if i < 0 {
			return -1
		}
		return pos + i
	}
	f := &p.start.first
	if f.nullable {
		return pos
	}
	for pos < len(s) {
		b := s[pos]
		if f.bytes[b>>6]&(1<<(b&63)) != 0 {
			return pos
		}
		if b < utf8.RuneSelf {
			pos++
		} else {
			_, w := utf8.DecodeRuneInString(s[pos:])
			pos += w
		}
	}
	if f.end {
		return len(s)
	}
	return -1
}

// Budget is a step budget for Find proportional to the subject: enough
// for the expressions of log filters on ordinary lines many times over.
func Budget(s string) int { return 2000 + 64*len(s) }

// machine is the state of one Find.
type machine struct {
	s     string
	caps  []int
	steps int // left; below zero: gave up (unless more gives more)
	// reserve is the part of the budget held back until steps runs out
	// for the first time (memoAfter): then the memo starts.
	reserve int
	// trail[:ntrail] holds (slot, old offset) pairs of the captures set
	// on the current path, so that a failed path can restore them (undo).
	// A path that sets more captures than it holds gives up (to regexp).
	trail  [48]int
	ntrail int
	// memo (nil: none) is a bitmap of the continuations known to fail:
	// bit node.memo-1 * width + pos is set once try(node, pos) has failed
	// without running out of steps. What follows a node only depends on
	// the node and the position (there are no backreferences, captures
	// only record, and loop counts are local to greedyLoop and lazyLoop),
	// so such a try fails again: the memo skips it, which bounds the
	// work of an expression that backtracks over the same ground (like
	// RE2's BitState) without changing the match found.
	memo  []uint64
	width int // len(s) + 1: the positions of a row of memo
	nmemo int // rows of memo (Prog.nmemo)
}

// memoAfter is the number of steps after which a search starts its memo
// of failed continuations: a search that decides sooner (nearly all of
// them) does not pay for one; a longer one may be backtracking over the
// same ground, which the memo bounds.
const memoAfter = 256

// memoMax bounds the size of the memo (bits): a larger one (a very long
// subject) is not worth its memory; such a search only has its budget.
const memoMax = 1 << 20

// A search sets its machine up in place, in Find: a method storing caps
// in the machine through a pointer would make every caller's buffer escape
// to the heap, and a constructor returning the machine (a trail of 48
// ints) would copy it.

// steps splits a search's budget into the steps before the memo starts and
// the reserve after.
func (p *Prog) steps(budget int) (steps, reserve int) {
	steps = min(budget, p.memoAfter)
	return steps, budget - steps
}

// resetCaps marks every capture unset.
func resetCaps(caps []int) {
	for i := range caps {
		caps[i] = -1
	}
}

// more is called when steps runs out: it gives the search the rest of its
// budget, with a memo (when not too large) from now on, and reports
// whether there are steps left.
func (m *machine) more() bool {
	if m.reserve <= 0 {
		return false
	}
	m.steps += m.reserve
	m.reserve = 0
	if m.steps >= 0 && m.nmemo*(len(m.s)+1) <= memoMax {
		m.width = len(m.s) + 1
		m.memo = make([]uint64, (m.nmemo*m.width+63)/64)
	}
	return m.steps >= 0
}

// giveUp ends the search undecided.
func (m *machine) giveUp() { m.steps, m.reserve = -1, 0 }

// undo restores the captures set since the trail had length mark.
func (m *machine) undo(mark int) {
	for i := m.ntrail - 2; i >= mark; i -= 2 {
		m.caps[m.trail[i]] = m.trail[i+1]
	}
	m.ntrail = mark
}

// try is run that leaves the captures as they were when it fails.
func (m *machine) try(n *node, pos int) bool {
	if m.memo != nil {
		return m.tryMemo(n, pos)
	}
	mark := m.ntrail
	if m.run(n, pos) {
		return true
	}
	m.undo(mark)
	return false
}

// tryMemo is try with the memo: it skips a continuation known to fail,
// and records one that fails.
func (m *machine) tryMemo(n *node, pos int) bool {
	i := uint((n.memo-1)*m.width + pos)
	w, bit := i/64, uint64(1)<<(i%64)
	if m.memo[w]&bit != 0 {
		return false
	}
	mark := m.ntrail
	if m.run(n, pos) {
		return true
	}
	m.undo(mark)
	if m.steps >= 0 {
		m.memo[w] |= bit
	}
	return false
}

// run reports whether the graph from n matches s from pos on, trying the
// paths in order of preference; the first complete one wins and leaves its
// captures in caps. A failed run may leave captures changed: callers that
// go on use try.
func (m *machine) run(n *node, pos int) bool {
	s := m.s
	for {
		m.steps--
		if m.steps < 0 && !m.more() {
			return false
		}
		switch n.op {
		case opMatch:
			m.caps[1] = pos
			return true
		case opFail:
			return false
		case opLit:
			// the first byte inline: most literals that fail, fail there
			str := n.str
			if len(s)-pos < len(str) || s[pos] != str[0] || (len(str) > 1 && s[pos+1:pos+len(str)] != str[1:]) {
				return false
			}
			pos += len(str)
			n = n.next
		case opClass:
			if pos >= len(s) {
				return false
			}
			if c := s[pos]; c < utf8.RuneSelf {
				if !n.cls.hasASCII(c) {
					return false
				}
				pos++
			} else {
				r, w := utf8.DecodeRuneInString(s[pos:])
				if !n.cls.has(r) {
					return false
				}
				pos += w
			}
			n = n.next
		case opEmpty:
			if !m.assert(n.empty, pos) {
				return false
			}
			n = n.next
		case opCap:
			if m.ntrail == len(m.trail) {
				m.giveUp()
				return false
			}
			m.trail[m.ntrail], m.trail[m.ntrail+1] = n.idx, m.caps[n.idx]
			m.ntrail += 2
			m.caps[n.idx] = pos
			n = n.next
		case opAlt:
			last := len(n.alts) - 1
			for _, a := range n.alts[:last] {
				if !a.first.may(m.s, pos) {
					continue
				}
				if m.try(a, pos) {
					return true
				}
				if m.steps < 0 {
					return false
				}
			}
			n = n.alts[last]
		case opAlt2:
			if n.body.first.may(s, pos) {
				if m.try(n.body, pos) {
					return true
				}
				if m.steps < 0 {
					return false
				}
			}
			n = n.next
		case opStar:
			if n.greedy {
				if n.body.first.may(s, pos) && m.try(n.body, pos) {
					return true
				}
				if m.steps < 0 {
					return false
				}
				n = n.next
			} else {
				if n.next.first.may(s, pos) && m.try(n.next, pos) {
					return true
				}
				if m.steps < 0 {
					return false
				}
				n = n.body
			}
		case opLoop:
			if n.max == 1 && n.greedy && (pos == len(s) || s[pos] < utf8.RuneSelf) {
				// x? (or x{1}) of an ASCII rune: at most two choices, the
				// last one run here
				if pos < len(s) && n.cls.hasASCII(s[pos]) {
					m.steps--
					if n.min == 0 && n.next.first.may(s, pos) {
						if n.next.first.may(s, pos+1) && m.try(n.next, pos+1) {
							return true
						}
						if m.steps < 0 {
							return false
						}
					} else {
						pos++
					}
				} else if n.min > 0 {
					return false
				}
				n = n.next
				continue
			}
			if !n.greedy {
				return m.lazyLoop(n, pos)
			}
			ok, last := m.greedyLoop(n, pos)
			if ok || last < 0 {
				return ok
			}
			// the loop's last choice: its continuation runs here (no
			// choice left to come back to, no call)
			pos, n = last, n.next
		case opQuad:
			return m.quad(n, pos)
		case opHex:
			var tried [2]uint64
			return m.hexGroups(n, pos, pos, 0, &tried)
		}
	}
}

// hexGroups matches an opHex node, (?:C{1,h}s{1,2}|ss){1,r}(?:C{1,h}|s),
// from pos, where k groups were taken since start, and then n.next. It
// tries the node's ends in the order the generic graph would: another
// group first (its separators two before one, as s{1,2} is greedy; its
// class run whole, as a shorter one would be followed by a rune of the
// class, not the separator), then the last part (its run longest first,
// then a separator). What follows the node depends only on where it
// starts, so each end is tried once (tried: bits by offset from start).
func (m *machine) hexGroups(n *node, start, pos, k int, tried *[2]uint64) bool {
	s := m.s
	m.steps--
	if m.steps < 0 && !m.more() {
		return false
	}
	run := 0
	for pos+run < len(s) && run < n.min && s[pos+run] < utf8.RuneSelf && n.cls.hasASCII(s[pos+run]) {
		run++
	}
	if k < n.max {
		if q := pos + run; run > 0 && q < len(s) && s[q] == n.sep {
			if q+1 < len(s) && s[q+1] == n.sep {
				if m.hexGroups(n, start, q+2, k+1, tried) {
					return true
				}
				if m.steps < 0 {
					return false
				}
			}
			if m.hexGroups(n, start, q+1, k+1, tried) {
				return true
			}
			if m.steps < 0 {
				return false
			}
		}
		if pos+1 < len(s) && s[pos] == n.sep && s[pos+1] == n.sep {
			if m.hexGroups(n, start, pos+2, k+1, tried) {
				return true
			}
			if m.steps < 0 {
				return false
			}
		}
	}
	if k == 0 {
		return false
	}
	for j := run; j >= 1; j-- {
		if m.hexEnd(n, start, pos+j, tried) {
			return true
		}
		if m.steps < 0 {
			return false
		}
	}
	if pos < len(s) && s[pos] == n.sep {
		return m.hexEnd(n, start, pos+1, tried)
	}
	return false
}

// hexEnd tries n.next from e, an end of the opHex node n that started at
// start, unless it was tried from there before.
func (m *machine) hexEnd(n *node, start, e int, tried *[2]uint64) bool {
	if off := e - start; off < 128 {
		if tried[off>>6]&(1<<(off&63)) != 0 {
			return false
		}
		tried[off>>6] |= 1 << (off & 63)
	}
	return n.next.first.may(m.s, e) && m.try(n.next, e)
}

// one matches one rune of c at pos and returns the position after it (-1: none).
func (m *machine) one(c *class, pos int) int {
	s := m.s
	if pos >= len(s) {
		return -1
	}
	if b := s[pos]; b < utf8.RuneSelf {
		if c.hasASCII(b) {
			return pos + 1
		}
		return -1
	}
	r, w := utf8.DecodeRuneInString(s[pos:])
	if c.has(r) {
		return pos + w
	}
	return -1
}

// quad matches an opQuad node at pos: four groups of one to three runes
// of n.cls, separated by n.sep, then n.next. As the separator is not in
// the class, each of the first three groups can only take its whole run
// (a shorter one is followed by another rune of the class, not the
// separator): only the last one gives runes back, longest first, as the
// generic graph would. Text other than ASCII goes to that graph (n.body),
// which knows the class's other runes.
func (m *machine) quad(n *node, pos int) bool {
	s := m.s
	p := pos
	for g := 0; ; g++ {
		q, lim := p, min(len(s), p+4)
		for q < lim {
			if k := n.kinds[s[q]]; k != quadIn {
				if k == quadOther {
					return m.run(n.body, pos)
				}
				break
			}
			q++
		}
		run := q - p
		if g < 3 {
			if run < 1 || run > 3 || q == len(s) || s[q] != n.sep {
				return false
			}
			p = q + 1
			continue
		}
		if run < 1 {
			return false
		}
		run = min(run, 3)
		m.steps -= p + run - pos
		if m.steps < 0 && !m.more() {
			return false
		}
		for k := run; k >= 1; k-- {
			if n.next.first.may(s, p+k) && m.try(n.next, p+k) {
				return true
			}
			if m.steps < 0 {
				return false
			}
		}
		return false
	}
}

// greedyLoop takes as many runes of the class as it may, then gives them
// back one by one until the continuation matches (ok). The continuation
// from its last choice, when that one is worth trying, it leaves to the
// caller (last >= 0: run it from there), which has nothing left to try
// after it: a loop followed by what it cannot take (\S+ then a space)
// costs no call then.
func (m *machine) greedyLoop(n *node, pos int) (ok bool, last int) {
	s := m.s
	// ASCII runs first: one byte, one rune
	lim := len(s)
	if n.max >= 0 && pos+n.max < lim {
		lim = pos + n.max
	}
	a0, a1 := n.cls.ascii[0], n.cls.ascii[1]
	end := pos
	for end < lim {
		b := s[end]
		if b < 64 {
			if a0&(1<<b) == 0 {
				break
			}
		} else if b < utf8.RuneSelf {
			if a1&(1<<(b-64)) == 0 {
				break
			}
		} else {
			break
		}
		end++
	}
	count := end - pos
	ascii := true
	if end < len(s) && s[end] >= utf8.RuneSelf && (n.max < 0 || count < n.max) && len(n.cls.ranges) > 0 {
		for (n.max < 0 || count < n.max) && end < len(s) {
			q := m.one(n.cls, end)
			if q < 0 {
				break
			}
			ascii = ascii && q == end+1 && s[end] < utf8.RuneSelf
			end = q
			count++
		}
	}
	m.steps -= count
	if count < n.min || (m.steps < 0 && !m.more()) {
		return false, -1
	}
	if ascii {
		if n.stopOnly {
			// the bytes before end are the loop's: none can start next
			if !n.next.first.may(s, end) {
				return false, -1
			}
			return false, end
		}
		lo := pos + n.min
		if n.stopPair {
			// before end-1, the class would take a byte of the run and
			// leave another one, which nothing after it can start with
			for q := end; q >= max(lo, end-1); q-- {
				if !n.next.first.may(s, q) {
					continue
				}
				if q == max(lo, end-1) {
					return false, q
				}
				if m.try(n.next, q) {
					return true, -1
				}
				if m.steps < 0 {
					return false, -1
				}
			}
			return false, -1
		}
		if lit := n.litAfter; len(lit) > 1 && end-lo > 16 {
			// only where the literal that follows starts: its last
			// occurrence at or before q, found by a (vectorized) search
			for q := end; q >= lo; q-- {
				j := rarebyte.LastIndex(s[lo:min(q+len(lit), len(s))], lit, n.litRare)
				if j < 0 {
					return false, -1
				}
				if q = lo + j; m.try(n.next, q) {
					return true, -1
				}
				if m.steps < 0 {
					return false, -1
				}
			}
			return false, -1
		}
		next := n.next
		if f := &next.first; !f.nullable {
			// only where the continuation may start (inline: this is
			// the loop most searches spend their time in)
			if end == len(s) {
				if f.end {
					if end == lo {
						return false, end
					}
					if m.try(next, end) {
						return true, -1
					}
					if m.steps < 0 {
						return false, -1
					}
				}
				end-- // no byte there
			}
			for q := end; q >= lo; q-- {
				if b := s[q]; f.bytes[b>>6]&(1<<(b&63)) == 0 {
					continue
				}
				if q == lo {
					return false, q
				}
				if m.try(next, q) {
					return true, -1
				}
				if m.steps < 0 {
					return false, -1
				}
			}
			return false, -1
		}
		for q := end; q > lo; q-- {
			if m.try(next, q) {
				return true, -1
			}
			if m.steps < 0 {
				return false, -1
			}
		}
		return false, lo
	}
	// multi-byte runes: the ends of the runes taken, to give them back
	ends := make([]int, 0, count+1)
	for q, k := pos, 0; ; k++ {
		ends = append(ends, q)
		if k == count {
			break
		}
		q = m.one(n.cls, q)
	}
	for k := count; k >= n.min; k-- {
		q := ends[k]
		if n.next.first.may(s, q) && m.try(n.next, q) {
			return true, -1
		}
		if m.steps < 0 {
			return false, -1
		}
	}
	return false, -1
}

// lazyLoop takes as few runes of the class as it must, then one more each
// time the continuation fails.
func (m *machine) lazyLoop(n *node, pos int) bool {
	q := pos
	for k := 0; k < n.min; k++ {
		if q = m.one(n.cls, q); q < 0 {
			return false
		}
	}
	m.steps -= n.min
	if m.steps < 0 && !m.more() {
		return false
	}
	for count := n.min; ; count++ {
		if n.next.first.may(m.s, q) && m.try(n.next, q) {
			return true
		}
		if (m.steps < 0 && !m.more()) || (n.max >= 0 && count >= n.max) {
			return false
		}
		if q = m.one(n.cls, q); q < 0 {
			return false
		}
		m.steps--
	}
}

// assert checks zero-width assertions at pos as Go's regexp does: from the
// runes before and after pos (word characters are ASCII).
func (m *machine) assert(op syntax.EmptyOp, pos int) bool {
	s := m.s
	before, after := -1, -1 // -1: text edge; else the byte (only ASCII bytes matter)
	if pos > 0 {
		before = int(s[pos-1])
	}
	if pos < len(s) {
		after = int(s[pos])
	}
	if op&syntax.EmptyBeginText != 0 && before != -1 {
		return false
	}
	if op&syntax.EmptyEndText != 0 && after != -1 {
		return false
	}
	if op&syntax.EmptyBeginLine != 0 && before != -1 && before != '\n' {
		return false
	}
	if op&syntax.EmptyEndLine != 0 && after != -1 && after != '\n' {
		return false
	}
	if op&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
		boundary := isWord(before) != isWord(after)
		if op&syntax.EmptyWordBoundary != 0 && !boundary {
			return false
		}
		if op&syntax.EmptyNoWordBoundary != 0 && boundary {
			return false
		}
	}
	return true
}

// isWord is syntax.IsWordChar for a byte (-1: none); bytes of multi-byte
// runes are never word characters, as their runes are not.
func isWord(b int) bool {
	return b >= 0 && b < utf8.RuneSelf && syntax.IsWordChar(rune(b))
}
