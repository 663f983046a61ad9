package filter

import (
	"math/bits"
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
// present. So an occurrence of a literal costs one output per failregex
// holding it in its first set, plus one per shared set holding it.
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
	ncls  int
	class [256]uint8 // byte -> class (0: in no literal)
	delta []uint16   // state*ncls + class -> next state
	// States with outputs are numbered from firstOut on; the outputs of
	// state s are outs[outIdx[s-firstOut]:outIdx[s-firstOut+1]].
	firstOut int
	outIdx   []uint32
	outs     []uint32 // failregex index (first set), or setOut | shared set id
	always   []uint64 // failregexes that always run (no literal set)
	anyAlw   bool     // some failregex always runs
	multi    []uint64 // failregexes with further sets
	extIdx   []uint32 // further sets of failregex r: ext[extIdx[r]:extIdx[r+1]]
	ext      []uint32 // shared set ids
	nsets    int      // shared sets
	rwords   int      // result words of a mask: (n+63)/64
	words    int      // uint64 words of a mask: result words, then shared sets
	// need is the number of distinct failregexes with literal sets: the
	// scan stops once all of them are candidates and all the shared sets
	// are present.
	need int
	// lits are the literal sets of each failregex the automaton checks.
	lits [][][]string
}

const (
	// setOut marks an output of a shared set.
	setOut = 1 << 31
	// minExtraLit: sets past the first whose shortest literal is shorter
	// are left out (one-character literals hardly ever filter, and cost
	// an output each time they occur).
	minExtraLit = 2
)

// maxPrefilterStates bounds the automaton (state ids are uint16).
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
	p.ncls = ncls
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
			p.ext = append(p.ext, id)
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
	p.firstOut = next
	for s, n := range nodes {
		if len(n.out) == 0 {
			continue
		}
		id[s] = next
		next++
		p.outIdx = append(p.outIdx, uint32(len(p.outs)))
		seen := map[uint32]bool{}
		for _, o := range n.out {
			if !seen[o] {
				seen[o] = true
				p.outs = append(p.outs, o)
			}
		}
	}
	p.outIdx = append(p.outIdx, uint32(len(p.outs)))
	p.delta = make([]uint16, len(nodes)*ncls)
	for s := range nodes {
		for c := 0; c < ncls; c++ {
			p.delta[id[s]*ncls+c] = uint16(id[delta[s*ncls+c]])
		}
	}
	return p
}

// scan sets in mask (p.words long) the failregexes that can match s and
// reports whether any can. It uses the rest of mask as scratch space.
func (p *prefilter) scan(s string, mask []uint64) bool {
	res := mask[:p.rwords]
	sets := mask[p.rwords:p.words]
	copy(res, p.always)
	clear(sets)
	found, present := 0, 0
	state, ncls, firstOut := 0, p.ncls, p.firstOut
	for i := 0; i < len(s); i++ {
		state = int(p.delta[state*ncls+int(p.class[s[i]])])
		if state < firstOut {
			continue
		}
		k := state - firstOut
		for _, o := range p.outs[p.outIdx[k]:p.outIdx[k+1]] {
			b := uint64(1) << (o % 64)
			if o&setOut == 0 {
				if res[o/64]&b == 0 {
					res[o/64] |= b
					found++
				}
			} else if id := o &^ setOut; sets[id/64]&b == 0 {
				sets[id/64] |= b
				present++
			}
		}
		if found == p.need && present == p.nsets {
			return true
		}
	}
	if found == 0 {
		return p.anyAlw
	}
	// candidates lacking one of their further sets
	for k, w := range res {
		for c := w & p.multi[k]; c != 0; c &= c - 1 {
			j := bits.TrailingZeros64(c)
			r := k*64 + j
			for _, id := range p.ext[p.extIdx[r]:p.extIdx[r+1]] {
				if sets[id/64]&(1<<(id%64)) == 0 {
					res[k] &^= 1 << j
					found--
					break
				}
			}
		}
	}
	return found > 0 || p.anyAlw
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
