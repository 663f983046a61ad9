package rematch

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// hasQuad reports whether p has an opQuad node.
func hasQuad(p *Prog) bool { return hasOp(p, opQuad) }

// hasOp reports whether p has a node of op.
func hasOp(p *Prog, op op) bool {
	seen := map[*node]bool{}
	var walk func(n *node) bool
	walk = func(n *node) bool {
		for ; n != nil && !seen[n]; n = n.next {
			seen[n] = true
			if n.op == op {
				return true
			}
			for _, a := range n.alts {
				if walk(a) {
					return true
				}
			}
			if walk(n.body) {
				return true
			}
		}
		return false
	}
	return walk(p.start)
}

// TestQuad: an address-shaped repetition, matched by its own node, finds
// what regexp finds, in contexts that make its last group give runes back
// and on text with other digits than ASCII ones (the node hands those to
// the generic graph).
func TestQuad(t *testing.T) {
	exprs := []string{
		`\d{1,3}(?:\.\d{1,3}){3}`,
		`(?P<ip4>\d{1,3}(?:\.\d{1,3}){3})`,
		`^from (\d{1,3}(?:\.\d{1,3}){3})\d`,
		`(\d{1,3}(?:\.\d{1,3}){3})(\d*)x`,
		`[\p{Nd}]{1,3}(?:\.[\p{Nd}]{1,3}){3}(?: port (\d+))?$`,
		`([0-9a-f]{1,3}(?::[0-9a-f]{1,3}){3})\b`,
		`(?:\[?([\p{Nd}]{1,3}(?:\.[\p{Nd}]{1,3}){3})\]?|([\w.]*\w))`,
		`a\d{1,3}(?:\.\d{1,3}){3}3`,
	}
	alphabet := []string{"1", "2", "3", "9", "0", ".", ".", ".", ":", "a", "f", "x", " ", "٣", "]", "[", "port ", "\xff"}
	subjects := randomSubjects(rand.New(rand.NewPCG(7, 8)), alphabet, 3000, 24)
	subjects = append(subjects, "from 1.2.3.4", "from 1.2.3.45", "from 1.2.3.456", "from 1.2.3.4567",
		"1234.5.6.7", "1.2.3.4x", "1.2.3.44x", "a1.2.3.43", "a1.2.3.3", "1.2.3.٣", "1.2.٣.4", "٣.2.3.4 port 22",
		"[198.51.100.7] port 22", "198.51.100.7 port 22", "ff:1:2:3", "fff:1:2:3x")
	quads := 0
	for _, expr := range exprs {
		re, p := compileBoth(t, expr)
		if p == nil {
			t.Fatalf("%q: not compiled", expr)
		}
		if hasQuad(p) {
			quads++
		}
		for _, s := range subjects {
			same(t, re, p, s)
		}
	}
	if quads != len(exprs) {
		t.Errorf("%d of %d expressions got an address node", quads, len(exprs))
	}
}

// TestHex: an IPv6-shaped repetition, matched by its own node, finds what
// regexp finds, in contexts that make it give back separators, groups and
// the runes of its last part, or that only its host-name alternative fits.
func TestHex(t *testing.T) {
	const h6 = `(?:[0-9A-Fa-f]{1,4}:{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:)`
	exprs := []string{
		h6,
		`(?P<ip6>` + h6 + `)`,
		`^from (` + h6 + `)$`,
		`(` + h6 + `)(\d*)x`,
		`(` + h6 + `):(\d+)`,
		`\[?(` + h6 + `)\]?(?: port (\d+))?$`,
		`(` + h6 + `)a`,
		`(` + h6 + `)(?::a|::|b)`,
		`(?:(\d{1,3}(?:\.\d{1,3}){3})|(` + h6 + `)|([\w.-]*\w)) port`,
		`((?:[0-9a-f]{1,2}:{1,2}|::){1,3}(?:[0-9a-f]{1,2}|:))(.*)`,
	}
	alphabet := []string{"1", "a", "f", "0", ":", ":", ":", "::", "g", "x", " ", "port ", "]", "[", ".", "٣", "\xff"}
	subjects := randomSubjects(rand.New(rand.NewPCG(9, 10)), alphabet, 4000, 40)
	subjects = append(subjects, "2001:db8::1", "from 2001:db8::1", "2001:db8:c9da:f6cb:6c00:a800:: port 22",
		"2001:db8:b92a:f4f9:0:6700:77:0 port 5", "[2001:db8::f600]:22", "::1", "::ffff:1.2.3.4", ":::",
		"1:2:3:4:5:6:7:8:9", "12345::1", "ab::cd::ef x", "fe80::1%eth0", "a:b:c:d:e:f:a:b:c:d:e:f a",
		"1::::::::", "::::::::::::::::: port 1", "2001:db8::1:a", "2001:db8::1::")
	hexes := 0
	for _, expr := range exprs {
		re, p := compileBoth(t, expr)
		if p == nil {
			t.Fatalf("%q: not compiled", expr)
		}
		if hasOp(p, opHex) {
			hexes++
		}
		sameWithMemo(t, re, p, subjects)
	}
	if hexes != len(exprs) {
		t.Errorf("%d of %d expressions got an IPv6 node", hexes, len(exprs))
	}
}

// randomSubjects returns n subjects of fewer than pieces pieces of alphabet each.
func randomSubjects(r *rand.Rand, alphabet []string, n, pieces int) []string {
	subjects := make([]string, 0, n)
	for range n {
		var b strings.Builder
		for range r.IntN(pieces) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		subjects = append(subjects, b.String())
	}
	return subjects
}
