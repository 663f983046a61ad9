package filter

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestGroupSet checks the group set's operations, for fixed and compiled
// group numbers.
func TestGroupSet(t *testing.T) {
	for _, k := range []groupID{gUser, 63, 64, 200} {
		var g groupSet
		g.set(gIP4, "192.0.2.1")
		if g.has(k) || g.val(k) != "" {
			t.Fatalf("group %d: found before it was set", k)
		}
		g.set(k, "a")
		g.set(k, "b")
		if v, ok := g.get(k); !ok || v != "b" || len(g.kv) != 2 {
			t.Fatalf("group %d: get %q %v, %d groups, want b, 2", k, v, ok, len(g.kv))
		}
		if v := g.pop(k); v != "b" || g.has(k) {
			t.Fatalf("group %d: pop %q, then has %v", k, v, g.has(k))
		}
		g.set(k, "c")
		g.del(gIP4)
		if g.val(k) != "c" || g.has(gIP4) || len(g.kv) != 1 {
			t.Fatalf("group %d: after add and del: %+v", k, g)
		}
		g.del(k)
		if g.has(k) || len(g.kv) != 0 {
			t.Fatalf("group %d: after del: %+v", k, g)
		}
	}
}

// TestNormAddr checks the address normAddr gives with an id: failure
// takes it instead of parsing the id again, so it must be what parsing
// the id gives (none when the id is no address's text).
func TestNormAddr(t *testing.T) {
	for _, c := range []struct{ s, cidr string }{
		{"192.0.2.1", ""}, {"[192.0.2.1]", ""}, {"::ffff:192.0.2.1", ""}, {"::ffff:192.0.2.1", "128"},
		{"2001:DB8:0:0::1", ""}, {"[2001:db8::1]", ""}, {"192.0.2.1", "24"}, {"192.0.2.1/24", ""},
		{"192.0.2.1", "32"}, {"192.0.2.1", "0"}, {"2001:db8::1", "64"}, {"fe80::1%eth0", ""},
		{"host.example.org", ""}, {"192.0.2.300", ""}, {"192.0.2.1", "x"},
	} {
		for _, norm := range []bool{true, false} {
			id, a := normAddr(c.s, c.cidr, norm)
			if id != normID(c.s, c.cidr, norm) {
				t.Errorf("%q/%q/%v: id %q, normID %q", c.s, c.cidr, norm, id, normID(c.s, c.cidr, norm))
			}
			want, err := netip.ParseAddr(id)
			if err != nil || want.Zone() != "" {
				want = netip.Addr{}
			}
			if a != want {
				t.Errorf("%q/%q/%v: id %q with address %v, parsing the id gives %v", c.s, c.cidr, norm, id, a, want)
			}
		}
	}
}

// TestCanonicalIPv4 checks normAddr's fast path against netip: it must
// take exactly the texts that parse to an IPv4 address printing as the
// text itself, and give that address. The texts are random strings of
// digits and dots (most near misses: leading zeros, numbers over 255,
// too few or many parts), and addresses written every way.
func TestCanonicalIPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	texts := []string{"", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "192.0.2.1", "1.2.3.-4", "1.2.3.4/8", "::1", "1.2.3.00", "100.200.250.255"}
	for range 200000 {
		var b []byte
		for n := r.IntN(17); n > 0; n-- {
			b = append(b, "0123456789.0123456789.25x"[r.IntN(25)])
		}
		texts = append(texts, string(b))
	}
	for range 20000 {
		texts = append(texts, fmt.Sprintf("%d.%d.%d.%d", r.IntN(300), r.IntN(300), r.IntN(300), r.IntN(300)))
	}
	took := 0
	for _, s := range texts {
		a, ok := canonicalIPv4(s)
		p, err := netip.ParseAddr(s)
		want := err == nil && p.Is4() && p.String() == s
		if ok != want || ok && a != p {
			t.Fatalf("%q: canonicalIPv4 gives %v %v, netip parses %v (%v)", s, a, ok, p, err)
		}
		if ok {
			took++
		}
	}
	if took < 10000 {
		t.Fatalf("only %d of %d texts were addresses: the test does not try the fast path", took, len(texts))
	}
}
