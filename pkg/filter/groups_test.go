package filter

import "testing"

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
