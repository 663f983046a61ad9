package pyregex

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file rewrites patterns that need regexp2 only for conditionals
// `(?(g)yes|no)` and tempered tokens `(?:(?!LIT).)*?` into equivalent
// patterns RE2 can run.
//
// Conditionals. A backtracking engine and Go's regexp (leftmost-first
// submatches) both return the first complete path in the order in which
// the pattern's choices are tried. That order is kept by distributing
// what follows a choice into its alternatives — (A|B)C ≡ AC|BC and
// X?C ≡ XC|C (X? ≡ (?:X|), X?? ≡ (?:|X)) — so once every choice that can
// set a conditional's group has been split off this way, each copy of the
// rest of the pattern knows whether the group took part, and the
// conditional is replaced by its yes or no branch. Captures duplicated by
// the split lie in exclusive alternatives: at most one copy takes part in
// a match, and it is reported as the Python group. Groups referenced by a
// conditional must not be set inside a repetition other than ? or ??, and
// a split ? must not be able to match the empty string; otherwise the
// pattern is left to regexp2.
//
// Tempered tokens. Python's `(?:(?!LIT).)*?` immediately followed by LIT
// (LIT a literal without newline, no i/s flags) can only end at the first
// occurrence of LIT at or after its start (it cannot step over one, and
// the LIT after it must match): it matches exactly the text w before that
// occurrence, which is the one string of the regular language
// {w without newline : LIT occurs in w+LIT only at len(w)} that LIT can
// follow there. Likewise `(?:(?!LIT).)*` followed by `$` or `\Z` can only
// end at the first newline or the end, and matches there exactly when the
// text up to that point, newline-free, contains no LIT (LIT has no newline,
// so no occurrence can straddle the end). Both languages are written as
// regular expressions from LIT's Knuth-Morris-Pratt automaton; since at
// most one string of the language fits, the preference order inside them
// does not matter.

// errNoRewrite: the pattern is outside what the rewrite handles.
var errNoRewrite = errors.New("pattern not rewritable")

// Private-use runes delimiting capture-group markers in the rewritten text.
const (
	markOpen  = '\uE000'
	markClose = '\uE001'
)

// maxRewriteVariants bounds the copies of the rest of a pattern that the
// conditional rewrite may create.
const maxRewriteVariants = 16

// rnode is a parsed element of a Python pattern.
type rnode struct {
	text    string // atom text, or a group's opening text ("(?:", "(?=", "(?i:", ...)
	group   bool
	capture int        // Python group number of a capturing group (0: none)
	cond    int        // conditional: referenced group (0: not a conditional)
	alts    [][]*ritem // group branches; conditional: yes, no
	lit     string     // a single-character literal atom: the character
	end     bool       // atom `$` or `\Z`
	look    bool       // lookaround group
	endAt   int        // group: source position after its ')'
}

// ritem is an element with its quantifier ("" for none).
type ritem struct {
	n     *rnode
	quant string
}

// rparser parses Python pattern text into rnodes.
type rparser struct {
	src      string
	pos      int
	groups   int
	names    map[string]int
	condRefs map[int][]int // group -> source positions of conditionals on it
	flagged  bool          // i, s or x flags are used somewhere
}

// rewriteResult is a rewritten pattern: one Python pattern, or (flat)
// the paths of the pattern in the order they are tried.
type rewriteResult struct {
	alts []rewriteAlt
	what string // what was rewritten, for Regexp.Engine
}

// rewriteAlt is a rewritten pattern text with its group numbering.
type rewriteAlt struct {
	src    string // Python pattern text, captures unnamed
	groups []int  // groups[k] is the Python group of the k-th capture (from 1)
}

// rewriteForRE2 rewrites a Python pattern without conditionals and with
// tempered tokens in RE2-expressible form; errNoRewrite when it cannot.
// The result still goes through translate, which decides whether RE2 can
// run it. With flat set, the choices that the conditionals depend on are
// not factored into one pattern: each path is a pattern of its own, and
// the paths are returned in the order the engine tries them (the first
// that matches at the leftmost position wins).
func rewriteForRE2(src string, flat bool) (*rewriteResult, error) {
	if strings.ContainsRune(src, markOpen) || strings.ContainsRune(src, markClose) {
		return nil, errNoRewrite
	}
	p := &rparser{src: src, names: map[string]int{}, condRefs: map[int][]int{}}
	head := p.leadingFlags()
	seq, err := p.parseSeq(true)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.src) {
		return nil, errNoRewrite
	}
	w := &rewriter{p: p, flat: flat}
	for g := range p.condRefs {
		if len(w.bitOf) >= 64 {
			return nil, errNoRewrite
		}
		if w.bitOf == nil {
			w.bitOf = map[int]uint{}
		}
		w.bitOf[g] = uint(len(w.bitOf))
	}
	vs, err := w.seq(seq, 0, follow{})
	if err != nil {
		return nil, err
	}
	if !flat && len(vs) > 1 {
		alts := make([]string, len(vs))
		for i, v := range vs {
			alts[i] = v.re
		}
		vs = []variant{{re: "(?:" + strings.Join(alts, "|") + ")"}}
	}
	out := &rewriteResult{}
	size := 0
	for _, v := range vs {
		size += len(v.re)
		out.alts = append(out.alts, unmark(head, v.re))
	}
	if size > 16*len(src)+1024 {
		return nil, errNoRewrite
	}
	var what []string
	if len(p.condRefs) > 0 {
		what = append(what, "conditionals rewritten")
	}
	if w.tempers > 0 {
		what = append(what, "lookaheads rewritten")
	}
	if len(out.alts) > 1 {
		what = append(what, strconv.Itoa(len(out.alts))+" alternatives")
	}
	out.what = strings.Join(what, ", ")
	return out, nil
}

// unmark replaces the capture markers of body by "(" and numbers them.
func unmark(head, body string) rewriteAlt {
	out := rewriteAlt{groups: []int{0}}
	var b strings.Builder
	b.WriteString(head)
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRuneInString(body[i:])
		if r != markOpen {
			b.WriteString(body[i : i+n])
			i += n
			continue
		}
		e := strings.IndexRune(body[i:], markClose)
		g, _ := strconv.Atoi(body[i+n : i+e])
		out.groups = append(out.groups, g)
		b.WriteByte('(')
		i += e + utf8.RuneLen(markClose)
	}
	out.src = b.String()
	return out
}

// leadingFlags consumes global flag groups at the start and returns them.
func (p *rparser) leadingFlags() string {
	start := p.pos
	for strings.HasPrefix(p.src[p.pos:], "(?") {
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			break
		}
		flags := p.src[p.pos+2 : p.pos+end]
		if flags == "" || strings.Trim(flags, "aiLmsux") != "" {
			break
		}
		if strings.ContainsAny(flags, "isx") {
			p.flagged = true
		}
		p.pos += end + 1
	}
	return p.src[start:p.pos]
}

// parseSeq parses branches up to a closing parenthesis (not consumed) or
// the end; top: at the top level.
func (p *rparser) parseAlts(top bool) ([][]*ritem, error) {
	var alts [][]*ritem
	for {
		seq, err := p.parseSeq(top)
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			continue
		}
		return alts, nil
	}
}

// parseSeq parses one branch; at the top level a '|' makes the whole
// pattern one non-capturing group.
func (p *rparser) parseSeq(top bool) ([]*ritem, error) {
	var seq []*ritem
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '|':
			if !top {
				return seq, nil
			}
			p.pos++
			rest, err := p.parseAlts(true)
			if err != nil {
				return nil, err
			}
			g := &rnode{text: "(?:", group: true, alts: append([][]*ritem{seq}, rest...)}
			return []*ritem{{n: g}}, nil
		case ')':
			if top {
				return nil, errNoRewrite
			}
			return seq, nil
		case '*', '+', '?', '{':
			q, ok := p.quantifier()
			if !ok {
				if c != '{' {
					return nil, errNoRewrite
				}
				p.pos++
				seq = append(seq, &ritem{n: &rnode{text: `\{`, lit: "{"}})
				continue
			}
			if len(seq) == 0 || seq[len(seq)-1].quant != "" {
				return nil, errNoRewrite
			}
			seq[len(seq)-1].quant = q
		default:
			n, err := p.atom()
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, &ritem{n: n})
			}
		}
	}
	return seq, nil
}

// quantifier reads a quantifier at pos (with a lazy '?'), as translate does.
func (p *rparser) quantifier() (string, bool) {
	start := p.pos
	switch p.src[p.pos] {
	case '*', '+', '?':
		p.pos++
	default:
		rest := p.src[p.pos:]
		end := strings.IndexByte(rest, '}')
		if end <= 0 {
			return "", false
		}
		lo, hi, comma := strings.Cut(rest[1:end], ",")
		if !((lo == "" || isDigits(lo)) && (isDigits(hi) || hi == "") && (lo != "" || (comma && hi != ""))) {
			return "", false
		}
		p.pos += end + 1
	}
	if p.pos < len(p.src) && p.src[p.pos] == '?' {
		p.pos++
	} else if p.pos < len(p.src) && p.src[p.pos] == '+' {
		p.pos = start
		return "", false // possessive: left to translate's error
	}
	return p.src[start:p.pos], true
}

// atom parses one atom or group; nil for a comment.
func (p *rparser) atom() (*rnode, error) {
	start := p.pos
	c := p.src[p.pos]
	switch c {
	case '\\':
		if p.pos+1 >= len(p.src) {
			return nil, errNoRewrite
		}
		e := p.src[p.pos+1]
		p.pos += 2
		switch {
		case e == 'x':
			p.pos += 2
		case e == 'u':
			p.pos += 4
		case e == 'U':
			p.pos += 8
		case e == '0':
			for k := 0; k < 2 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; k++ {
				p.pos++
			}
		case e >= '1' && e <= '9', e == 'N', e == 'g', e >= utf8.RuneSelf:
			return nil, errNoRewrite
		}
		if p.pos > len(p.src) {
			return nil, errNoRewrite
		}
		n := &rnode{text: p.src[start:p.pos]}
		switch {
		case e == 'Z':
			n.end = true
		case !(e >= 'a' && e <= 'z' || e >= 'A' && e <= 'Z' || e >= '0' && e <= '9'):
			n.lit = string(e)
		case e == 't':
			n.lit = "\t"
		}
		return n, nil
	case '[':
		i := p.pos + 1
		if i < len(p.src) && p.src[i] == '^' {
			i++
		}
		if i < len(p.src) && p.src[i] == ']' {
			i++
		}
		for i < len(p.src) && p.src[i] != ']' {
			if p.src[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(p.src) {
			return nil, errNoRewrite
		}
		p.pos = i + 1
		return &rnode{text: p.src[start:p.pos]}, nil
	case '(':
		return p.group()
	case '.', '^':
		p.pos++
		return &rnode{text: string(c)}, nil
	case '$':
		p.pos++
		return &rnode{text: "$", end: true}, nil
	}
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += n
	return &rnode{text: string(r), lit: string(r)}, nil
}

// group parses a group from its '('.
func (p *rparser) group() (*rnode, error) {
	rest := p.src[p.pos:]
	n := &rnode{group: true}
	switch {
	case !strings.HasPrefix(rest, "(?"):
		p.pos++
		p.groups++
		n.capture = p.groups
	case strings.HasPrefix(rest, "(?P<"):
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return nil, errNoRewrite
		}
		p.groups++
		n.capture = p.groups
		p.names[rest[4:end]] = p.groups
		p.pos += end + 1
	case strings.HasPrefix(rest, "(?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, errNoRewrite
		}
		p.pos += end + 1
		return nil, nil
	case strings.HasPrefix(rest, "(?:"):
		n.text = "(?:"
		p.pos += 3
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		n.text, n.look = rest[:3], true
		p.pos += 3
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		n.text, n.look = rest[:4], true
		p.pos += 4
	case strings.HasPrefix(rest, "(?("):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, errNoRewrite
		}
		ref := rest[3:end]
		g, ok := p.names[ref]
		if isDigits(ref) {
			g, _ = strconv.Atoi(ref)
			ok = g >= 1 && g <= p.groups
		}
		if !ok {
			return nil, errNoRewrite
		}
		n.cond = g
		p.condRefs[g] = append(p.condRefs[g], p.pos)
		p.pos += end + 1
	default:
		// scoped flags (?flags-flags:...); anything else is left to translate
		i := 2
		for i < len(rest) && strings.IndexByte("aiLmsux-", rest[i]) >= 0 {
			i++
		}
		if i >= len(rest) || rest[i] != ':' {
			return nil, errNoRewrite
		}
		if strings.ContainsAny(rest[2:i], "isx") {
			p.flagged = true
		}
		if strings.ContainsRune(rest[2:i], 'x') {
			return nil, errNoRewrite
		}
		n.text = rest[:i+1]
		p.pos += i + 1
	}
	alts, err := p.parseAlts(false)
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.src) || p.src[p.pos] != ')' {
		return nil, errNoRewrite
	}
	p.pos++
	n.alts, n.endAt = alts, p.pos
	if n.cond != 0 && len(alts) > 2 {
		return nil, errNoRewrite
	}
	return n, nil
}

// follow is what is known of the text after an element: it starts with
// lit; end: lit is empty and an end anchor ($ or \Z) comes next.
type follow struct {
	lit string
	end bool
}

// followOf is the follow of the element before rest, within a sequence
// whose own follow is outer.
func followOf(rest []*ritem, outer follow) follow {
	lit := ""
	for _, it := range rest {
		switch {
		case it.quant == "" && it.n.lit != "":
			lit += it.n.lit
			continue
		case it.quant == "" && it.n.end && lit == "":
			return follow{end: true}
		}
		return follow{lit: lit}
	}
	if lit == "" {
		return outer
	}
	return follow{lit: lit + outer.lit}
}

// variant is one way through an element: its RE2-ready text and the
// conditional groups set at its end.
type variant struct {
	re string
	st uint64
}

type rewriter struct {
	p       *rparser
	bitOf   map[int]uint // conditional group -> state bit
	flat    bool         // keep the paths apart (see rewriteForRE2)
	count   int          // variants created (bounded)
	tempers int          // tempered tokens rewritten
}

// live masks the state bits still referenced by a conditional after
// source position pos.
func (w *rewriter) live(st uint64, pos int) uint64 {
	for g, b := range w.bitOf {
		if st&(1<<b) == 0 {
			continue
		}
		keep := false
		for _, at := range w.p.condRefs[g] {
			keep = keep || at >= pos
		}
		if !keep {
			st &^= 1 << b
		}
	}
	return st
}

// seq rewrites a sequence from state st; the variants end in different
// states (adjacent ones with the same state are merged).
func (w *rewriter) seq(items []*ritem, st uint64, fol follow) ([]variant, error) {
	var prefix strings.Builder
	for i, it := range items {
		ivs, err := w.item(it, st, followOf(items[i+1:], fol))
		if err != nil {
			return nil, err
		}
		if len(ivs) == 1 {
			prefix.WriteString(ivs[0].re)
			st = ivs[0].st
			continue
		}
		w.count += len(ivs)
		if w.count > maxRewriteVariants {
			return nil, errNoRewrite
		}
		var out []variant
		for _, iv := range ivs {
			rvs, err := w.seq(items[i+1:], iv.st, fol)
			if err != nil {
				return nil, err
			}
			for _, rv := range rvs {
				out = append(out, variant{iv.re + rv.re, rv.st})
			}
		}
		if !w.flat {
			out = mergeVariants(out)
		}
		for k := range out {
			out[k].re = prefix.String() + out[k].re
		}
		return out, nil
	}
	return []variant{{prefix.String(), st}}, nil
}

// mergeVariants joins adjacent variants ending in the same state
// ((A|B)C ≡ AC|BC keeps the order).
func mergeVariants(vs []variant) []variant {
	var out []variant
	for i := 0; i < len(vs); {
		j := i + 1
		for j < len(vs) && vs[j].st == vs[i].st {
			j++
		}
		if j == i+1 {
			out = append(out, vs[i])
		} else {
			alts := make([]string, 0, j-i)
			for _, v := range vs[i:j] {
				alts = append(alts, v.re)
			}
			out = append(out, variant{"(?:" + strings.Join(alts, "|") + ")", vs[i].st})
		}
		i = j
	}
	return out
}

// item rewrites one element with its quantifier.
func (w *rewriter) item(it *ritem, st uint64, fol follow) ([]variant, error) {
	n := it.n
	if !n.group {
		return []variant{{n.text + it.quant, st}}, nil
	}
	if s, ok := w.tempered(it, fol); ok {
		w.tempers++
		return []variant{{s, st}}, nil
	}
	inner := follow{}
	if it.quant == "" || it.quant == "?" || it.quant == "??" {
		inner = fol
	}
	if n.look {
		inner = follow{}
	}
	if n.cond != 0 {
		if it.quant != "" {
			return nil, errNoRewrite
		}
		b, ok := w.bitOf[n.cond]
		if !ok {
			return nil, errNoRewrite
		}
		var branch []*ritem
		if st&(1<<b) != 0 {
			branch = n.alts[0]
		} else if len(n.alts) > 1 {
			branch = n.alts[1]
		}
		vs, err := w.seq(branch, st, inner)
		if err != nil {
			return nil, err
		}
		for k := range vs {
			vs[k].re = "(?:" + vs[k].re + ")"
			vs[k].st = w.live(vs[k].st, n.endAt)
		}
		if w.flat {
			return vs, nil
		}
		return mergeVariants(vs), nil
	}
	var contents []variant
	for _, alt := range n.alts {
		vs, err := w.seq(alt, st, inner)
		if err != nil {
			return nil, err
		}
		contents = append(contents, vs...)
	}
	// merge adjacent branches with the same end state: a|b inside the group
	var merged []variant
	for _, c := range contents {
		if k := len(merged) - 1; k >= 0 && merged[k].st == c.st {
			merged[k].re += "|" + c.re
			continue
		}
		merged = append(merged, c)
	}
	open := n.text
	if n.capture != 0 {
		open = string(markOpen) + strconv.Itoa(n.capture) + string(markClose)
		if b, ok := w.bitOf[n.capture]; ok {
			for k := range merged {
				merged[k].st |= 1 << b
			}
		}
	}
	for k := range merged {
		merged[k].re = open + merged[k].re + ")"
		merged[k].st = w.live(merged[k].st, n.endAt)
	}
	changed := len(merged) > 1 || merged[0].st != st
	if !changed {
		return []variant{{merged[0].re + it.quant, st}}, nil
	}
	if n.look {
		return nil, errNoRewrite
	}
	switch it.quant {
	case "":
		return merged, nil
	case "?", "??":
		if minWidth(n) == 0 {
			return nil, errNoRewrite
		}
		skip := variant{"", w.live(st, n.endAt)}
		if it.quant == "?" {
			return append(merged, skip), nil
		}
		return append([]variant{skip}, merged...), nil
	}
	return nil, errNoRewrite
}

// minWidth is a lower bound of the length of n's matches (0 when unsure).
func minWidth(n *rnode) int {
	if !n.group {
		if n.end || n.text == "^" || n.text == `\b` || n.text == `\B` || n.text == `\A` {
			return 0
		}
		return 1
	}
	if n.look {
		return 0
	}
	best := -1
	for _, alt := range n.alts {
		sum := 0
		for _, it := range alt {
			m := minWidth(it.n)
			q := it.quant
			if len(q) > 1 && q[len(q)-1] == '?' {
				q = q[:len(q)-1] // lazy
			}
			switch {
			case q == "":
			case q == "+":
			case strings.HasPrefix(q, "{"):
				lo, _, _ := strings.Cut(q[1:len(q)-1], ",")
				k, _ := strconv.Atoi(lo)
				m *= k
			default:
				m = 0
			}
			sum += m
		}
		if best < 0 || sum < best {
			best = sum
		}
	}
	if n.cond != 0 && len(n.alts) < 2 {
		best = 0
	}
	return max(best, 0)
}

// tempered rewrites `(?:(?!LIT).)*?` or `(?:(?!LIT).)*` followed by LIT,
// or by an end anchor (see the file comment).
func (w *rewriter) tempered(it *ritem, fol follow) (string, bool) {
	n := it.n
	if w.p.flagged || n.text != "(?:" || len(n.alts) != 1 || len(n.alts[0]) != 2 || (it.quant != "*" && it.quant != "*?") {
		return "", false
	}
	look, dot := n.alts[0][0], n.alts[0][1]
	if look.quant != "" || look.n.text != "(?!" || len(look.n.alts) != 1 || dot.quant != "" || dot.n.group || dot.n.text != "." {
		return "", false
	}
	lit := ""
	for _, x := range look.n.alts[0] {
		if x.quant != "" || x.n.lit == "" {
			return "", false
		}
		lit += x.n.lit
	}
	if lit == "" || strings.ContainsRune(lit, '\n') {
		return "", false
	}
	switch {
	case fol.lit != "" && strings.HasPrefix(fol.lit, lit):
		return "(?:" + avoidRegex([]rune(lit), true) + ")", true
	case fol.lit == "" && fol.end:
		return "(?:" + avoidRegex([]rune(lit), false) + ")", true
	}
	return "", false
}

// avoidRegex returns Python regex text for the newline-free strings w in
// which lit does not occur; beforeLit: nor in w+lit before len(w) (w is
// followed by lit). It is built from lit's KMP automaton (state k: the
// longest suffix read that is a prefix of lit has k runes) by state
// elimination.
func avoidRegex(lit []rune, beforeLit bool) string {
	n := len(lit)
	fail := make([]int, n) // KMP failure function
	for i, k := 1, 0; i < n; i++ {
		for k > 0 && lit[i] != lit[k] {
			k = fail[k-1]
		}
		if lit[i] == lit[k] {
			k++
		}
		fail[i] = k
	}
	step := func(s int, c rune) int {
		for s > 0 && (s == n || lit[s] != c) {
			s = fail[s-1]
		}
		if lit[s] == c {
			s++
		}
		return s
	}
	var chars []rune
	for _, c := range lit {
		if !containsRune(chars, c) {
			chars = append(chars, c)
		}
	}
	// R[i][j]: regex of the paths i -> j; state n is the final state.
	R := make([][]*rx, n+1)
	for i := range R {
		R[i] = make([]*rx, n+1)
	}
	for s := 0; s < n; s++ {
		for _, c := range chars {
			if t := step(s, c); t < n {
				R[s][t] = rxAlt(R[s][t], &rx{op: opSet, set: []rune{c}})
			}
		}
		R[s][0] = rxAlt(R[s][0], &rx{op: opSet, other: true}) // any other rune but \n
		ok := true
		if beforeLit {
			t := s
			for _, c := range lit[:n-1] {
				if t = step(t, c); t == n {
					ok = false
					break
				}
			}
		}
		if ok {
			R[s][n] = &rx{op: opEps}
		}
	}
	for k := n - 1; k >= 1; k-- {
		loop := rxStar(R[k][k])
		for i := 0; i < k; i++ {
			if R[i][k] == nil {
				continue
			}
			for j := 0; j <= n; j++ {
				if (j < k || j == n) && R[k][j] != nil {
					R[i][j] = rxAlt(R[i][j], rxCat(rxCat(R[i][k], loop), R[k][j]))
				}
			}
		}
	}
	return rxCat(rxStar(R[0][0]), R[0][n]).String(chars)
}

func containsRune(rs []rune, c rune) bool {
	for _, r := range rs {
		if r == c {
			return true
		}
	}
	return false
}

// rx is a small regular-expression tree used by avoidRegex; nil is the
// empty language.
type rx struct {
	op    int
	set   []rune // opSet: these runes
	other bool   // opSet: and every rune outside the literal and '\n'
	subs  []*rx
}

// rx operators.
const (
	opEps = iota
	opSet
	opCat
	opAlt
	opStar
)

func rxAlt(a, b *rx) *rx {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.op == opSet && b.op == opSet:
		s := &rx{op: opSet, other: a.other || b.other, set: append([]rune(nil), a.set...)}
		for _, c := range b.set {
			if !containsRune(s.set, c) {
				s.set = append(s.set, c)
			}
		}
		return s
	case a.op == opEps && b.op == opEps:
		return a
	}
	var subs []*rx
	for _, x := range []*rx{a, b} {
		if x.op == opAlt {
			subs = append(subs, x.subs...)
		} else {
			subs = append(subs, x)
		}
	}
	return &rx{op: opAlt, subs: subs}
}

func rxCat(a, b *rx) *rx {
	switch {
	case a == nil || b == nil:
		return nil
	case a.op == opEps:
		return b
	case b.op == opEps:
		return a
	}
	var subs []*rx
	for _, x := range []*rx{a, b} {
		if x.op == opCat {
			subs = append(subs, x.subs...)
		} else {
			subs = append(subs, x)
		}
	}
	return &rx{op: opCat, subs: subs}
}

func rxStar(a *rx) *rx {
	if a == nil || a.op == opEps {
		return &rx{op: opEps}
	}
	if a.op == opStar {
		return a
	}
	return &rx{op: opStar, subs: []*rx{a}}
}

// String writes x in Python syntax; chars are the literal's runes (the
// ones "other" excludes).
func (x *rx) String(chars []rune) string {
	var b strings.Builder
	x.write(&b, chars)
	return b.String()
}

func writeRune(b *strings.Builder, c rune) {
	if c < utf8.RuneSelf && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		if c < ' ' || c == 0x7f {
			b.WriteString(`\x` + strconv.FormatUint(uint64(c)|0x100, 16)[1:])
			return
		}
		b.WriteByte('\\')
	}
	b.WriteRune(c)
}

func (x *rx) write(b *strings.Builder, chars []rune) {
	switch x.op {
	case opEps:
	case opSet:
		if !x.other && len(x.set) == 1 {
			writeRune(b, x.set[0])
			return
		}
		b.WriteByte('[')
		if x.other {
			b.WriteByte('^')
			for _, c := range chars {
				if !containsRune(x.set, c) {
					writeRune(b, c)
				}
			}
			b.WriteString(`\n`)
		} else {
			for _, c := range x.set {
				writeRune(b, c)
			}
		}
		b.WriteByte(']')
	case opCat:
		for _, s := range x.subs {
			if s.op == opAlt {
				b.WriteString("(?:")
				s.write(b, chars)
				b.WriteString(")")
			} else {
				s.write(b, chars)
			}
		}
	case opAlt:
		var parts []*rx
		eps := false
		for _, s := range x.subs {
			if s.op == opEps {
				eps = true
			} else {
				parts = append(parts, s)
			}
		}
		if eps {
			b.WriteString("(?:")
		}
		for i, s := range parts {
			if i > 0 {
				b.WriteByte('|')
			}
			s.write(b, chars)
		}
		if eps {
			b.WriteString(")?")
		}
	case opStar:
		s := x.subs[0]
		if s.op == opSet {
			s.write(b, chars)
		} else {
			b.WriteString("(?:")
			s.write(b, chars)
			b.WriteString(")")
		}
		b.WriteByte('*')
	}
}
