package filter

import (
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
