package filter

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/f2bd/f2bd/pkg/pyregex"
)

// prefilter tells, from literal substrings alone, which failregexes can
// match a subject. Every failregex has a few required-literal sets
// (pyregex.Regexp.RequiredLiteralSets): each match holds at least one
// literal of each set, so a subject lacking all the literals of any one of
// them cannot match. A failregex is admitted when every one of its sets has
// a literal in the subject; failregexes without a set always run.
//
// One pass of an Aho-Corasick automaton over the subject finds the
// literals present. The first set of a failregex (the most selective one,
// that of RequiredLiterals) makes it a candidate: its literals' outputs set
// the failregex's result bit. Its further sets are numbered once for all
// the failregexes sharing them (" from " is required by most sshd
// failregexes), their literals' outputs mark the set as present, and after
// the pass each candidate keeps its bit only when all its further sets are
// present. The outputs of a state are grouped by mask word, so an
// occurrence of a literal costs one update per mask word holding the bits
// of the failregexes and shared sets it is in (one or two, but for
// filters of more than 64 failregexes or shared sets).
//
// It is conservative by construction: a failregex is skipped only when
// none of the strings of one of its sets, which every one of its matches
// contains, occurs in the subject (or a larger text holding it).
//
// A scan keeps its state in the caller's mask (p.words long): the result
// bits first (bit i of the first (n+63)/64 words: failregex i may match),
// then the bits of the shared sets present. The prefilter itself is
// read-only, so scans with different masks may run concurrently.
type prefilter struct {
	class [256]uint8 // byte -> class (0: in no literal)
	// The automaton's states are rows of stride entries of delta, each
	// state named by the offset of its row (state number * stride, so no
	// multiplication in the scan), the root by 0: delta[st+class] is the
	// next state. States with outputs come last, from offset len(inner)
	// on, so that one comparison tells whether a state has outputs and
	// the scan's transitions from the others, in inner (delta[:len(inner)]),
	// need no other bounds check. The outputs of a state with some are
	// outs[delta[st+ncls]:delta[st+ncls+1]]: mask words with the bits they
	// set, those of failregexes (first set) and of shared sets present.
	delta  []uint32
	inner  []uint32
	ncls   int
	stride int // ncls+2
	outs   []maskBits
	always []uint64 // failregexes that always run (no literal set)
	anyAlw bool     // some failregex always runs
	multi  []uint64 // failregexes with further sets
	// ext[extIdx[r]:extIdx[r+1]] are the bits of the further sets of
	// failregex r in the mask words of the shared sets.
	extIdx []uint32
	ext    []maskBits
	nsets  int // shared sets
	rwords int // result words of a mask: (n+63)/64
	words  int // uint64 words of a mask: result words, then shared sets
	// need is the number of distinct failregexes with literal sets: the
	// scan stops once all of them are candidates and all the shared sets
	// are present.
	need int
	// lits are the literal sets of each failregex the automaton checks.
	lits [][][]string
	// lead[b*rwords:][:rwords] are the failregexes a subject starting with
	// byte b may match (pyregex.Regexp.Lead; every failregex whose lead is
	// not known); nil when no failregex's is known.
	lead []uint64
	// pre[r] are literal prefixes one of which every match of failregex r
	// starts with (pyregex.Regexp.Prefixes; nil: not known), rest[r] its
	// literal sets (lits[r]) that not every one of them holds, restCost[r]
	// the number of their literals; restLits[r] is rest[r] prepared for
	// lookups.
	pre      [][]string
	rest     [][][]string
	restLits []pyregex.LiteralSets
	restCost []int
}

// maskBits are bits of a word of a mask.
type maskBits struct {
	w    int    // word index in the mask
	bits uint64 // bits of mask[w]
}

// addBits adds bits b of mask word w to list, whose entries from start on
// are for distinct words.
func addBits(list []maskBits, start, w int, b uint64) []maskBits {
	for j := start; j < len(list); j++ {
		if list[j].w == w {
			list[j].bits |= b
			return list
		}
	}
	return append(list, maskBits{w, b})
}

const (
	// setOut marks an output of a shared set.
	setOut = 1 << 31
	// minExtraLit: sets past the first whose shortest literal is shorter
	// are left out (one-character literals hardly ever filter, and cost
	// an output each time they occur).
	minExtraLit = 2
)

// maxPrefilterStates bounds the automaton (state ids times strides are
// uint32).
const maxPrefilterStates = 1 << 15

// prefilterSets returns the literal sets the prefilter checks for r: its
// RequiredLiteralSets, all of them (multi) or only the first one (that of
// RequiredLiterals, or one implying it), leaving out further sets of too
// short literals.
func prefilterSets(r *pyregex.Regexp, multi bool) [][]string {
	all := r.RequiredLiteralSets()
	if len(all) == 0 {
		return nil
	}
	out := [][]string{all[0]}
	if multi {
		for _, set := range all[1:] {
			short := false
			for _, l := range set {
				short = short || len(l) < minExtraLit
			}
			if !short {
				out = append(out, set)
			}
		}
	}
	return out
}

// newPrefilter builds the prefilter of a filter's failregexes; nil when no
// failregex has a literal set (it would never skip anything). When the
// automaton of all the sets is too large, it checks only the first set of
// each failregex.
func newPrefilter(fail []*pyregex.Regexp) *prefilter {
	if p := buildPrefilter(fail, true); p != nil {
		return p
	}
	return buildPrefilter(fail, false)
}

func buildPrefilter(fail []*pyregex.Regexp, multi bool) *prefilter {
	if len(fail) > 1<<16 {
		return nil
	}
	lits := make([][][]string, len(fail))
	anySet := false
	for i, r := range fail {
		lits[i] = prefilterSets(r, multi)
		anySet = anySet || lits[i] != nil
	}
	if !anySet {
		return nil
	}
	rw := (len(fail) + 63) / 64
	p := &prefilter{rwords: rw, lits: lits}
	p.always = make([]uint64, rw)
	p.multi = make([]uint64, rw)
	p.extIdx = make([]uint32, len(fail)+1)
	// byte classes
	ncls := 1
	for _, sets := range lits {
		for _, set := range sets {
			for _, l := range set {
				for i := 0; i < len(l); i++ {
					if p.class[l[i]] == 0 {
						if ncls == 256 {
							return nil
						}
						p.class[l[i]] = uint8(ncls)
						ncls++
					}
				}
			}
		}
	}
	p.ncls, p.stride = ncls, ncls+2
	// trie
	type node struct {
		next map[uint8]int
		out  []uint32
	}
	nodes := []node{{next: map[uint8]int{}}}
	add := func(set []string, out uint32) bool {
		for _, l := range set {
			s := 0
			for i := 0; i < len(l); i++ {
				c := p.class[l[i]]
				n, ok := nodes[s].next[c]
				if !ok {
					if len(nodes) == maxPrefilterStates {
						return false
					}
					nodes = append(nodes, node{next: map[uint8]int{}})
					n = len(nodes) - 1
					nodes[s].next[c] = n
				}
				s = n
			}
			nodes[s].out = append(nodes[s].out, out)
		}
		return true
	}
	shared := map[string]uint32{} // further set (NUL-joined) -> id
	for ri, sets := range lits {
		p.extIdx[ri] = uint32(len(p.ext))
		if sets == nil {
			p.always[ri/64] |= 1 << (ri % 64)
			p.anyAlw = true
			continue
		}
		p.need++
		if !add(sets[0], uint32(ri)) {
			return nil
		}
		start := len(p.ext)
		for _, set := range sets[1:] {
			key := strings.Join(set, "\x00")
			id, ok := shared[key]
			if !ok {
				id = uint32(len(shared))
				shared[key] = id
				if !add(set, setOut|id) {
					return nil
				}
			}
			p.ext = addBits(p.ext, start, rw+int(id/64), 1<<(id%64))
			p.multi[ri/64] |= 1 << (ri % 64)
		}
	}
	p.extIdx[len(fail)] = uint32(len(p.ext))
	p.nsets = len(shared)
	p.words = rw + (p.nsets+63)/64
	// failure links and the complete transition table, breadth first
	delta := make([]int, len(nodes)*ncls)
	fail0 := make([]int, len(nodes))
	queue := []int{}
	for c := 0; c < ncls; c++ {
		if n, ok := nodes[0].next[uint8(c)]; ok {
			delta[c] = n
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[fail0[s]].out...)
		for c := 0; c < ncls; c++ {
			if n, ok := nodes[s].next[uint8(c)]; ok {
				fail0[n] = delta[fail0[s]*ncls+c]
				delta[s*ncls+c] = n
				queue = append(queue, n)
			} else {
				delta[s*ncls+c] = delta[fail0[s]*ncls+c]
			}
		}
	}
	// renumbered: states without outputs first (the root, 0, has none),
	// then the others, with their deduplicated outputs
	id := make([]int, len(nodes))
	next := 0
	for s, n := range nodes {
		if len(n.out) == 0 {
			id[s] = next
			next++
		}
	}
	firstOut := next
	outIdx := make([]uint32, len(nodes)+1) // state (new id) -> outs
	for s, n := range nodes {
		if len(n.out) == 0 {
			continue
		}
		id[s] = next
		next++
		// the outputs' bits, word by word
		start := len(p.outs)
		outIdx[id[s]] = uint32(start)
		for _, o := range n.out {
			w, b := int(o/64), uint64(1)<<(o%64)
			if o&setOut != 0 {
				id := o &^ setOut
				w, b = rw+int(id/64), 1<<(id%64)
			}
			p.outs = addBits(p.outs, start, w, b)
		}
		outIdx[id[s]+1] = uint32(len(p.outs))
	}
	p.delta = make([]uint32, len(nodes)*p.stride)
	for s := range nodes {
		row := p.delta[id[s]*p.stride:][:p.stride]
		for c := 0; c < ncls; c++ {
			row[c] = uint32(id[delta[s*ncls+c]] * p.stride)
		}
		if id[s] >= firstOut {
			row[ncls], row[ncls+1] = outIdx[id[s]], outIdx[id[s]+1]
		}
	}
	p.inner = p.delta[:firstOut*p.stride]
	p.setLead(fail)
	return p
}

// setLead fills p.lead from the failregexes' leads.
func (p *prefilter) setLead(fail []*pyregex.Regexp) {
	lead := make([]uint64, 256*p.rwords)
	known := false
	for ri, r := range fail {
		set, ok := r.Lead()
		known = known || ok
		for b := 0; b < 256; b++ {
			if !ok || set.Has(byte(b)) {
				lead[b*p.rwords+ri/64] |= 1 << (ri % 64)
			}
		}
	}
	if !known {
		return
	}
	p.lead = lead
	p.pre = make([][]string, len(fail))
	p.rest = make([][][]string, len(fail))
	p.restLits = make([]pyregex.LiteralSets, len(fail))
	p.restCost = make([]int, len(fail))
	for ri, r := range fail {
		p.pre[ri] = r.Prefixes()
		for _, set := range p.lits[ri] {
			if !impliedBy(set, p.pre[ri]) {
				p.rest[ri] = append(p.rest[ri], set)
				p.restCost[ri] += len(set)
			}
		}
		p.restLits[ri] = pyregex.NewLiteralSets(p.rest[ri])
	}
}

// impliedBy reports whether each of pre (none when nil) holds a literal of
// set.
func impliedBy(set, pre []string) bool {
	if pre == nil {
		return false
	}
	for _, x := range pre {
		if !slices.ContainsFunc(set, func(l string) bool { return strings.Contains(x, l) }) {
			return false
		}
	}
	return true
}

// maxDirect is the most literals admit looks for one by one, with
// strings.Contains, rather than by the automaton's pass over the subject:
// an absent literal is searched through the whole subject once each, so a
// few of them cost less than the pass, more do not.
const maxDirect = 4

// admit is scan narrowed by what the subject starts with: to the
// failregexes whose matches can start with its first byte (p.lead) and
// then with its first bytes (p.pre, the literal prefixes of anchored
// failregexes). When none is left, the subject is rejected; when the
// literal sets the candidates' prefixes do not already hold are few, they
// are looked for one by one; else the automaton's pass decides. It sets
// the result bits scan sets, less those of failregexes that cannot match
// at the start, and reports whether any is left.
func (p *prefilter) admit(s string, mask []uint64) bool {
	if p.lead == nil || len(s) == 0 {
		return p.scan(s, mask)
	}
	cand := p.lead[int(s[0])*p.rwords:][:p.rwords]
	if p.rwords > 1 {
		// (filters of more than 64 failregexes: the first byte only)
		none := true
		for _, w := range cand {
			none = none && w == 0
		}
		if none || !p.scan(s, mask) {
			return false
		}
		any := false
		for k, w := range cand {
			mask[k] &= w
			any = any || mask[k] != 0
		}
		return any
	}
	left, cost := uint64(0), 0
	for c := cand[0]; c != 0; c &= c - 1 {
		r := bits.TrailingZeros64(c)
		if pre := p.pre[r]; pre != nil && !hasPrefix(s, pre) {
			continue
		}
		left |= 1 << r
		cost += p.restCost[r]
	}
	if left == 0 {
		return false
	}
	if cost > maxDirect {
		if !p.scan(s, mask) {
			return false
		}
		mask[0] &= left
		return mask[0] != 0
	}
	for c := left; c != 0; c &= c - 1 {
		r := bits.TrailingZeros64(c)
		if !p.restLits[r].HeldBy(s) {
			left &^= 1 << r
		}
	}
	mask[0] = left
	return left != 0
}

// hasPrefix reports whether s starts with one of pre. (A binary search
// of the sorted prefixes costs more: sets are small, and most subjects
// differ from most prefixes at their first bytes.)
func hasPrefix(s string, pre []string) bool {
	for _, x := range pre {
		if strings.HasPrefix(s, x) {
			return true
		}
	}
	return false
}

// scan sets in mask (p.words long) the failregexes that can match s and
// reports whether any can. It uses the rest of mask as scratch space.
func (p *prefilter) scan(s string, mask []uint64) bool {
	mask = mask[:p.words]
	for i, w := range p.always {
		mask[i] = w
	}
	for i := len(p.always); i < len(mask); i++ {
		mask[i] = 0
	}
	got := 0 // result and shared set bits set: p.need+p.nsets at most
	inner := p.inner
	st := uint(0)
	for {
		// Run the automaton over s, four bytes at a time, until the end
		// of s or a state with outputs: the transition from it, by s[i],
		// is then out of inner (t >= len(inner)). The loops' indexes
		// need no bounds checks, and their transitions no other than the
		// comparison with len(inner).
		t, i, n := uint(0), 0, len(s)-3
		for ; i < n; i += 4 {
			if t = st + uint(p.class[s[i]]); t >= uint(len(inner)) {
				break
			}
			st = uint(inner[t])
			if t = st + uint(p.class[s[i+1]]); t >= uint(len(inner)) {
				i++
				break
			}
			st = uint(inner[t])
			if t = st + uint(p.class[s[i+2]]); t >= uint(len(inner)) {
				i += 2
				break
			}
			st = uint(inner[t])
			if t = st + uint(p.class[s[i+3]]); t >= uint(len(inner)) {
				i += 3
				break
			}
			st = uint(inner[t])
		}
		if t < uint(len(inner)) {
			for ; i < len(s); i++ {
				if t = st + uint(p.class[s[i]]); t >= uint(len(inner)) {
					break
				}
				st = uint(inner[t])
			}
		}
		end := t < uint(len(inner)) // the end of s, in state st
		if end && st < uint(len(inner)) {
			break
		}
		// the outputs of st: literals ending just before s[i] (or the
		// end of s)
		k := st + uint(p.ncls)
		outs, hi := p.outs, p.delta[k+1]
		for j := p.delta[k]; j < hi; j++ {
			o := outs[j]
			if b := o.bits &^ mask[o.w]; b != 0 {
				mask[o.w] |= b
				got += bits.OnesCount64(b)
			}
		}
		if got == p.need+p.nsets {
			return true
		}
		if end {
			break
		}
		st = uint(p.delta[t])
		s = s[i+1:]
	}
	if got == 0 {
		return p.anyAlw
	}
	// candidates lacking one of their further sets
	any := false
	ext := p.ext
	for k, w := range mask[:p.rwords] {
		for c := w & p.multi[k]; c != 0; c &= c - 1 {
			j := bits.TrailingZeros64(c)
			r := k*64 + j
			for e, hi := p.extIdx[r], p.extIdx[r+1]; e < hi; e++ {
				if mask[ext[e].w]&ext[e].bits != ext[e].bits {
					w &^= 1 << j
					break
				}
			}
		}
		mask[k] = w
		any = any || w != 0
	}
	return any
}

// admitted counts the failregexes set in the result part of mask.
func (p *prefilter) admitted(mask []uint64) int {
	n := 0
	for _, w := range mask[:p.rwords] {
		n += bits.OnesCount64(w)
	}
	return n
}

// has reports whether failregex i is set in mask.
func has(mask []uint64, i int) bool { return mask[i/64]&(1<<(i%64)) != 0 }
