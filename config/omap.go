package config

import (
	"maps"
	"strings"
)

// omap is an insertion-ordered string map, the Go stand-in for the Python
// dicts fail2ban iterates in insertion order. src remembers the file each
// value came from, so errors can name it (allocated on first use).
// upper records whether a key has upper-case or non-ASCII letters, so
// lower-casing the keys can be skipped when it would change nothing.
//
// under, when not nil, makes m a layered view for lookups: get, has and
// lowered see {**under, **m} without copying under. Only interpolation
// variables are layered; keys, vals and the other methods ignore under.
type omap struct {
	keys  []string
	vals  map[string]string
	src   map[string]string
	upper bool
	under *omap
}

func newOmap() *omap {
	return &omap{vals: map[string]string{}}
}

func newOmapSize(n int) *omap {
	return &omap{vals: make(map[string]string, n), keys: make([]string, 0, n)}
}

// hasUpper reports whether k has bytes strings.ToLower could change.
func hasUpper(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

func (m *omap) get(k string) (string, bool) {
	if m == nil {
		return "", false
	}
	v, ok := m.vals[k]
	if !ok && m.under != nil {
		return m.under.get(k)
	}
	return v, ok
}

func (m *omap) has(k string) bool {
	if m == nil {
		return false
	}
	_, ok := m.vals[k]
	if !ok && m.under != nil {
		return m.under.has(k)
	}
	return ok
}

// over returns a copy of m layered over under: a view of {**under, **m}
// for lookups that does not copy under (which must not change while the
// view is used). Later changes to m do not show in the view.
func (m *omap) over(under *omap) *omap {
	c := m.clone()
	c.under = under
	return c
}

// flat returns the entries m shows, its layers merged into one map (m
// itself when it is not layered).
func (m *omap) flat() *omap {
	if m == nil || m.under == nil {
		return m
	}
	c := m.under.flat().clone()
	for _, k := range m.keys {
		c.set(k, m.vals[k], m.src[k])
	}
	return c
}

// anyUpper reports whether a key of m or of a layer under it has
// upper-case or non-ASCII letters.
func (m *omap) anyUpper() bool {
	for ; m != nil; m = m.under {
		if m.upper {
			return true
		}
	}
	return false
}

// set stores v under k, appending k if it is new (Python dict semantics).
func (m *omap) set(k, v, src string) {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
		if !m.upper && hasUpper(k) {
			m.upper = true
		}
	}
	m.vals[k] = v
	if src != "" {
		m.setSrc(k, src)
	}
}

// setSrc records the file the value of k came from.
func (m *omap) setSrc(k, src string) {
	if m.src == nil {
		m.src = map[string]string{}
	}
	m.src[k] = src
}

func (m *omap) len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

func (m *omap) clone() *omap {
	// maps.Clone copies the table as a whole, much faster than inserting
	// the entries one by one.
	c := &omap{
		keys:  append(make([]string, 0, len(m.keys)+4), m.keys...),
		vals:  maps.Clone(m.vals),
		upper: m.upper,
	}
	if len(m.src) > 0 {
		c.src = maps.Clone(m.src)
	}
	return c
}

// update copies every entry of o into m (dict.update).
func (m *omap) update(o *omap) {
	if o == nil {
		return
	}
	for _, k := range o.keys {
		m.set(k, o.vals[k], o.src[k])
	}
}

// merged returns {**m, **o} as a new map.
func (m *omap) merged(o *omap) *omap {
	if o.len() == 0 {
		return m.clone()
	}
	return m.cloneSize(len(m.keys) + len(o.keys)).updated(o)
}

// cloneSize returns a copy of m with room for n entries, so that adding
// to it does not grow its table.
func (m *omap) cloneSize(n int) *omap {
	c := newOmapSize(max(n, len(m.keys)))
	c.upper = m.upper
	c.keys = append(c.keys, m.keys...)
	for _, k := range m.keys {
		c.vals[k] = m.vals[k]
	}
	if len(m.src) > 0 {
		c.src = maps.Clone(m.src)
	}
	return c
}

// updated is update returning m.
func (m *omap) updated(o *omap) *omap {
	m.update(o)
	return m
}

// lowered returns m with lower-cased keys, m itself when they already
// are.
func (m *omap) lowered() *omap {
	if m == nil || !m.anyUpper() {
		return m
	}
	return m.flat().lowerKeys()
}

// plain returns the entries as an ordinary map.
func (m *omap) plain() map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m.vals)
}

// lowerKeys returns a copy whose keys are lower-cased (ConfigParser's
// optionxform applied to a vars mapping).
func (m *omap) lowerKeys() *omap {
	c := newOmap()
	if m == nil {
		return c
	}
	for _, k := range m.keys {
		c.set(strings.ToLower(k), m.vals[k], m.src[k])
	}
	return c
}

// keyList returns the keys in order (none for a nil map).
func (m *omap) keyList() []string {
	if m == nil {
		return nil
	}
	return m.keys
}
