package config

import "strings"

// omap is an insertion-ordered string map, the Go stand-in for the Python
// dicts fail2ban iterates in insertion order. src remembers the file each
// value came from, so errors can name it.
type omap struct {
	keys []string
	vals map[string]string
	src  map[string]string
}

func newOmap() *omap {
	return &omap{vals: map[string]string{}, src: map[string]string{}}
}

func (m *omap) get(k string) (string, bool) {
	if m == nil {
		return "", false
	}
	v, ok := m.vals[k]
	return v, ok
}

func (m *omap) has(k string) bool {
	if m == nil {
		return false
	}
	_, ok := m.vals[k]
	return ok
}

// set stores v under k, appending k if it is new (Python dict semantics).
func (m *omap) set(k, v, src string) {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	if src != "" {
		m.src[k] = src
	}
}

func (m *omap) len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

func (m *omap) clone() *omap {
	c := &omap{
		keys: append([]string(nil), m.keys...),
		vals: make(map[string]string, len(m.vals)),
		src:  make(map[string]string, len(m.src)),
	}
	for k, v := range m.vals {
		c.vals[k] = v
	}
	for k, v := range m.src {
		c.src[k] = v
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
	c := m.clone()
	c.update(o)
	return c
}

// plain returns the entries as an ordinary map.
func (m *omap) plain() map[string]string {
	out := make(map[string]string, m.len())
	if m == nil {
		return out
	}
	for k, v := range m.vals {
		out[k] = v
	}
	return out
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
