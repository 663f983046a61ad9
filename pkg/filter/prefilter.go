package filter

import "github.com/f2bd/f2bd/pkg/pyregex"

// prefilter tells, from literal substrings alone, which failregexes can
// match a subject: every failregex with a required-literal set
// (pyregex.Regexp.RequiredLiterals) can only match a subject holding one of
// its literals. One pass of an Aho-Corasick automaton over the subject finds
// the literals present; failregexes without such a set always run.
//
// It is conservative by construction: a failregex is skipped only when none
// of the strings that every one of its matches contains occurs in the
// subject (or a larger text holding it).
type prefilter struct {
	ncls   int
	class  [256]uint8 // byte -> class (0: in no literal)
	delta  []uint16   // state*ncls + class -> next state
	outIdx []uint32   // outputs of state s: outs[outIdx[s]:outIdx[s+1]]
	outs   []uint16   // failregex indexes
	always []uint64   // failregexes that always run (no literal set)
	words  int        // uint64 words of a mask
	// need is the number of distinct failregexes with literal sets: the
	// scan stops once all of them are found.
	need int
}

// maxPrefilterStates bounds the automaton (state ids are uint16).
const maxPrefilterStates = 1 << 15

// newPrefilter builds the prefilter of a filter's failregexes; nil when no
// failregex has a literal set (it would never skip anything).
func newPrefilter(fail []*pyregex.Regexp) *prefilter {
	lits := make([][]string, len(fail))
	any := false
	for i, r := range fail {
		lits[i] = r.RequiredLiterals()
		any = any || lits[i] != nil
	}
	if !any || len(fail) > 1<<16 {
		return nil
	}
	p := &prefilter{words: (len(fail) + 63) / 64}
	p.always = make([]uint64, p.words)
	// byte classes
	ncls := 1
	for _, set := range lits {
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
	p.ncls = ncls
	// trie
	type node struct {
		next map[uint8]int
		out  []uint16
	}
	nodes := []node{{next: map[uint8]int{}}}
	for ri, set := range lits {
		if set == nil {
			p.always[ri/64] |= 1 << (ri % 64)
			continue
		}
		p.need++
		for _, l := range set {
			s := 0
			for i := 0; i < len(l); i++ {
				c := p.class[l[i]]
				n, ok := nodes[s].next[c]
				if !ok {
					nodes = append(nodes, node{next: map[uint8]int{}})
					n = len(nodes) - 1
					nodes[s].next[c] = n
				}
				s = n
			}
			nodes[s].out = append(nodes[s].out, uint16(ri))
		}
	}
	if len(nodes) > maxPrefilterStates {
		return nil
	}
	// failure links and the complete transition table, breadth first
	p.delta = make([]uint16, len(nodes)*ncls)
	fail0 := make([]int, len(nodes))
	queue := []int{}
	for c := 0; c < ncls; c++ {
		if n, ok := nodes[0].next[uint8(c)]; ok {
			p.delta[c] = uint16(n)
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[fail0[s]].out...)
		for c := 0; c < ncls; c++ {
			if n, ok := nodes[s].next[uint8(c)]; ok {
				fail0[n] = int(p.delta[fail0[s]*ncls+c])
				p.delta[s*ncls+c] = uint16(n)
				queue = append(queue, n)
			} else {
				p.delta[s*ncls+c] = p.delta[fail0[s]*ncls+c]
			}
		}
	}
	p.outIdx = make([]uint32, len(nodes)+1)
	for s, n := range nodes {
		p.outIdx[s] = uint32(len(p.outs))
		seen := map[uint16]bool{}
		for _, o := range n.out {
			if !seen[o] {
				seen[o] = true
				p.outs = append(p.outs, o)
			}
		}
	}
	p.outIdx[len(nodes)] = uint32(len(p.outs))
	return p
}

// scan sets in mask (p.words long) the failregexes that can match s and
// reports whether any can.
func (p *prefilter) scan(s string, mask []uint64) bool {
	copy(mask, p.always)
	anyBit := false
	for _, w := range mask {
		anyBit = anyBit || w != 0
	}
	found := 0
	state := 0
	ncls := p.ncls
	for i := 0; i < len(s); i++ {
		state = int(p.delta[state*ncls+int(p.class[s[i]])])
		if lo, hi := p.outIdx[state], p.outIdx[state+1]; lo != hi {
			for _, r := range p.outs[lo:hi] {
				b := uint64(1) << (r % 64)
				if mask[r/64]&b == 0 {
					mask[r/64] |= b
					found++
				}
			}
			anyBit = true
			if found == p.need {
				break
			}
		}
	}
	return anyBit
}

// has reports whether failregex i is set in mask.
func has(mask []uint64, i int) bool { return mask[i/64]&(1<<(i%64)) != 0 }
