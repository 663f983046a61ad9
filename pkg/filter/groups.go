package filter

import "strings"

// groupSet maps groups to the text they matched (user, ip4, mlfid,
// nofail...). A match has a handful of groups: a slice searched in order
// is cheaper than a map to build, read and copy, and is one allocation.
// Groups are known by number (see groupID): comparing numbers, not names,
// is what makes the lookups of the F-MLFID merge cheap.
type groupSet struct{ kv []groupKV }

// groupKV is one group of a groupSet.
type groupKV struct {
	k groupID
	v string
}

// groupID numbers a group name within a Filter: the names the filter's
// own logic reads have fixed numbers, the others get theirs when the
// filter is compiled (Filter.names).
type groupID int32

// The fixed group numbers.
const (
	gMLFID groupID = iota
	gNoFail
	gMLFForget
	gMLFGained
	gMLFPending
	gUser
	gIP4
	gIP6
	gDNS
	gFID
	gCIDR
	gIP
	gContent
	numFixed
)

// fixedNames are the names of the fixed group numbers, in order.
var fixedNames = [numFixed]string{"mlfid", "nofail", "mlfforget", "mlfgained", "mlfpending",
	"user", "ip4", "ip6", "dns", "fid", "cidr", "ip", "content"}

// groupNames numbers group names: the fixed ones first, then the others
// in the order id is first asked for them.
type groupNames struct {
	names []string
	ids   map[string]groupID
}

func newGroupNames() groupNames {
	n := groupNames{names: append([]string(nil), fixedNames[:]...), ids: map[string]groupID{}}
	for i, name := range n.names {
		n.ids[name] = groupID(i)
	}
	return n
}

// id returns the number of name, giving it the next one when it has none.
func (n *groupNames) id(name string) groupID {
	if k, ok := n.ids[name]; ok {
		return k
	}
	k := groupID(len(n.names))
	n.names = append(n.names, name)
	n.ids[name] = k
	return k
}

// idsOf numbers a regex's groups, by index (-1: unnamed).
func (n *groupNames) idsOf(names []string) []groupID {
	ids := make([]groupID, len(names))
	for i, name := range names {
		ids[i] = -1
		if name != "" {
			ids[i] = n.id(name)
		}
	}
	return ids
}

// get returns the value of group k and whether it is set.
func (g *groupSet) get(k groupID) (string, bool) {
	for i := range g.kv {
		if g.kv[i].k == k {
			return g.kv[i].v, true
		}
	}
	return "", false
}

// val is the value of group k ("" when not set).
func (g *groupSet) val(k groupID) string {
	v, _ := g.get(k)
	return v
}

// has reports whether group k is set.
func (g *groupSet) has(k groupID) bool {
	_, ok := g.get(k)
	return ok
}

// set sets group k to v.
func (g *groupSet) set(k groupID, v string) {
	for i := range g.kv {
		if g.kv[i].k == k {
			g.kv[i].v = v
			return
		}
	}
	g.kv = append(g.kv, groupKV{k, v})
}

// del removes group k.
func (g *groupSet) del(k groupID) {
	for i := range g.kv {
		if g.kv[i].k == k {
			g.kv = append(g.kv[:i], g.kv[i+1:]...)
			return
		}
	}
}

// pop removes group k and returns its value ("" when not set).
func (g *groupSet) pop(k groupID) string {
	for i := range g.kv {
		if g.kv[i].k == k {
			v := g.kv[i].v
			g.kv = append(g.kv[:i], g.kv[i+1:]...)
			return v
		}
	}
	return ""
}

// public is the groups a Failure shows, by name: all but the bookkeeping
// ones (mlf*, nofail), copied (the values may be cut from a batch item's
// line or an F-MLFID entry's text, both reused).
func (g *groupSet) public(names []string) map[string]string {
	m := make(map[string]string, len(g.kv))
	for _, e := range g.kv {
		name := names[e.k]
		if len(name) >= 3 && name[:3] == "mlf" || name == "nofail" {
			continue
		}
		m[name] = strings.Clone(e.v)
	}
	return m
}
