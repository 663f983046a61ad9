package filter

// groupSet maps group names to the text they matched (user, ip4, mlfid,
// nofail...). A match has a handful of groups: a slice searched in order
// is cheaper than a map to build, read and copy, and is one allocation.
// Names are the compiled regexes' own strings.
type groupSet struct{ kv []groupKV }

// groupKV is one group of a groupSet.
type groupKV struct{ k, v string }

// get returns the value of group k and whether it is set.
func (g *groupSet) get(k string) (string, bool) {
	for i := range g.kv {
		if g.kv[i].k == k {
			return g.kv[i].v, true
		}
	}
	return "", false
}

// val is the value of group k ("" when not set).
func (g *groupSet) val(k string) string {
	v, _ := g.get(k)
	return v
}

// has reports whether group k is set.
func (g *groupSet) has(k string) bool {
	_, ok := g.get(k)
	return ok
}

// set sets group k to v.
func (g *groupSet) set(k, v string) {
	for i := range g.kv {
		if g.kv[i].k == k {
			g.kv[i].v = v
			return
		}
	}
	g.kv = append(g.kv, groupKV{k, v})
}

// del removes group k.
func (g *groupSet) del(k string) {
	for i := range g.kv {
		if g.kv[i].k == k {
			g.kv = append(g.kv[:i], g.kv[i+1:]...)
			return
		}
	}
}

// pop removes group k and returns its value ("" when not set).
func (g *groupSet) pop(k string) string {
	for i := range g.kv {
		if g.kv[i].k == k {
			v := g.kv[i].v
			g.kv = append(g.kv[:i], g.kv[i+1:]...)
			return v
		}
	}
	return ""
}

// update sets every group of o.
func (g *groupSet) update(o *groupSet) {
	for _, e := range o.kv {
		g.set(e.k, e.v)
	}
}

// public is the groups a Failure shows: all but the bookkeeping ones
// (mlf*, nofail).
func (g *groupSet) public() map[string]string {
	m := make(map[string]string, len(g.kv))
	for _, e := range g.kv {
		if len(e.k) >= 3 && e.k[:3] == "mlf" || e.k == "nofail" {
			continue
		}
		m[e.k] = e.v
	}
	return m
}
