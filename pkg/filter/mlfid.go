package filter

import (
	"slices"
	"time"
	"unsafe"
)

// entry is the data of one failure: its groups, its matched lines and,
// for F-MLFID connections, every user seen.
type entry struct {
	g       groupSet
	users   []string  // distinct, in the order seen
	user1   [1]string // users' storage while there is one
	matches []string
	// nofailMatches are lines matched while the connection was in a
	// no-failure state; they join the matches when a failure follows.
	nofailMatches []string
	// id and expires are set while the entry is cached (mlfidCache.set).
	id      string
	expires time.Time
	// gen counts the times the entry was recycled (mlfidCache.release):
	// a queue record of an earlier use is stale.
	gen uint32
	// cached says the entry is the cache's entry for its id (no map
	// lookup needed to tell).
	cached bool
	// text holds the entry's own copies of the strings it keeps (group
	// values, users, matched lines; see keep): a merged match's strings
	// are cut from its batch item's line, which the item's next line
	// overwrites. It is only appended to while the entry is in use, and
	// reused once the entry is recycled.
	text []byte
}

// keep returns a copy of s in the entry's text.
func (e *entry) keep(s string) string {
	if s == "" {
		return ""
	}
	if cap(e.text)-len(e.text) < len(s) {
		e.regrow(len(s))
	}
	e.text = append(e.text, s...)
	return unsafe.String(unsafe.SliceData(e.text[len(e.text)-len(s):]), len(s))
}

// regrow gives the entry a new text with room for n more bytes, into
// which it moves the strings it still refers to: a long-lived entry merged
// into over and over (one process's lines under one id) keeps a text the
// size of what it holds, not of everything it was given. The old text is
// left as it is (its strings may still be read, until the next merge).
func (e *entry) regrow(n int) {
	size := n
	for _, kv := range e.g.kv {
		size += len(kv.v)
	}
	for _, ss := range [...][]string{e.users, e.matches, e.nofailMatches} {
		for _, s := range ss {
			size += len(s)
		}
	}
	e.text = make([]byte, 0, max(2*size, 256))
	move := func(s string) string {
		if s == "" {
			return ""
		}
		e.text = append(e.text, s...)
		return unsafe.String(unsafe.SliceData(e.text[len(e.text)-len(s):]), len(s))
	}
	for i := range e.g.kv {
		e.g.kv[i].v = move(e.g.kv[i].v)
	}
	for _, ss := range [...][]string{e.users, e.matches, e.nofailMatches} {
		for i := range ss {
			ss[i] = move(ss[i])
		}
	}
}

// keepGroup sets group k to a kept copy of v (no copy when it holds v).
func (e *entry) keepGroup(k groupID, v string) {
	if old, ok := e.g.get(k); ok && old == v {
		return
	}
	e.g.set(k, e.keep(v))
}

// keepLines appends kept copies of lines to dst.
func (e *entry) keepLines(dst, lines []string) []string {
	for _, l := range lines {
		dst = append(dst, e.keep(l))
	}
	return dst
}

// mlfidCache merges matches sharing a multi-line failure id (F-MLFID,
// e.g. an sshd connection prefix) into one failure. It keeps fail2ban's
// cache rules (Utils.Cache as its filter uses it): an entry lives ttl from
// when it was first cached, however often it is merged into since; when
// the cache is full, entries are dropped in the order they were cached,
// every expired one at the front and then one live one. Lookups and
// inserts cost O(1) (amortized): order is a queue of the cached entries,
// in which entries dropped (by drop or get) stay until they reach the
// front (they are then no longer cached, or were recycled
// since).
//
// Entries are recycled, with their storage, once they leave the cache and
// are no longer in use: a connection's entry costs no allocation once the
// cache has seen as many connections at once. The entry merge returns is
// in use until the next merge.
type mlfidCache struct {
	m     map[string]*entry
	order []record // order[head:]: cached entries, oldest first, and stale records
	head  int
	max   int
	ttl   time.Duration
	free  []*entry // recycled entries
	held  *entry   // the entry the last merge returned
	// noLines: the entries keep no matched lines (matches and
	// nofailMatches stay empty), for failures that do not carry them
	// (Options.CountOnly); nothing else in the merge reads them.
	noLines bool
}

// record is an entry in the cache's queue, in its gen-th use.
type record struct {
	e   *entry
	gen uint32
}

// live reports whether r is an entry still cached in the use it was
// queued for.
func (c *mlfidCache) live(r record) bool { return r.e.gen == r.gen && r.e.cached }

// alloc returns an empty entry, a recycled one when there is one.
func (c *mlfidCache) alloc() *entry {
	if n := len(c.free); n > 0 {
		e := c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		return e
	}
	return new(entry)
}

// release recycles e, which is neither cached nor in use: its data goes,
// its storage stays.
func (c *mlfidCache) release(e *entry) {
	clear(e.g.kv)
	clear(e.users)
	clear(e.matches)
	clear(e.nofailMatches)
	e.g.kv, e.users, e.matches, e.nofailMatches = e.g.kv[:0], e.users[:0], e.matches[:0], e.nofailMatches[:0]
	e.id, e.expires = "", time.Time{}
	e.text = e.text[:0]
	e.gen++
	c.free = append(c.free, e)
}

func newMLFIDCache(max int, ttl time.Duration) mlfidCache {
	if max <= 0 {
		max = 100
	}
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return mlfidCache{m: map[string]*entry{}, max: max, ttl: ttl}
}

// get returns the entry cached as id, nil when there is none or it
// expired (it is then dropped).
func (c *mlfidCache) get(id string, now time.Time) *entry {
	e := c.m[id]
	if e != nil && !now.Before(e.expires) {
		c.drop(e)
		c.release(e)
		return nil
	}
	return e
}

// set caches e as id, which get just found absent, until now+ttl (an
// entry it replaces would become a stale record). A full cache first drops
// entries from the oldest on: while they are expired, and one more that is
// not.
func (c *mlfidCache) set(id string, e *entry, now time.Time) {
	if len(c.m) >= c.max {
		for len(c.m) > 0 {
			old := c.pop()
			live := now.Before(old.expires)
			c.release(old)
			if live && len(c.m) < c.max {
				break
			}
		}
	}
	e.id, e.expires, e.cached = id, now.Add(c.ttl), true
	c.m[id] = e
	if c.head > 0 && c.head >= len(c.order)/2 || len(c.order)-c.head >= 2*c.max+16 {
		// the queue is half popped, or holds as many stale records as
		// live entries at least: keep its live entries, in order (so it
		// stays within 2*max+16 records)
		n := 0
		for _, o := range c.order[c.head:] {
			if c.live(o) {
				c.order[n] = o
				n++
			}
		}
		clear(c.order[n:])
		c.order, c.head = c.order[:n], 0
	}
	c.order = append(c.order, record{e, e.gen})
}

// pop drops the oldest cached entry and returns it (stale records of
// entries dropped before are passed over). The cache must not be empty.
func (c *mlfidCache) pop() *entry {
	for {
		r := c.order[c.head]
		c.order[c.head] = record{}
		c.head++
		if c.live(r) {
			c.drop(r.e)
			return r.e
		}
	}
}

// drop takes the cached entry e out of the cache (its user recycles it).
func (c *mlfidCache) drop(e *entry) {
	delete(c.m, e.id)
	e.cached = false
}

// State bits used while merging.
const (
	mlNoFail  = 1 // current match is F-NOFAIL
	mlForget  = 2 // current match ends the connection (F-MLFFORGET)
	mlPrevNF  = 4 // cached data was in a no-failure state
	mlGained  = 8 // current match gained access (F-MLFGAINED)
	mlNoFailG = mlNoFail | mlGained
)

func (e *entry) addUser(u string) int {
	if u != "" {
		if !slices.Contains(e.users, u) {
			if e.users == nil {
				e.users = e.user1[:0]
			}
			e.users = append(e.users, e.keep(u))
		}
	}
	return len(e.users)
}

// merge folds the current match cur (whose matched lines are matched) into
// the cached data of id and returns the merged failure, following
// fail2ban's rules: F-MLFGAINED and F-NOFAIL mark a no-failure state that a
// later failure or a second user resets, F-MLFFORGET drops the cached
// connection. The entry returned, the cached one or one that holds a copy
// of cur, may be used until the next merge. What stays cached keeps no
// reference to cur's or matched's storage, nor to the strings in them; an
// entry an F-MLFFORGET match drops may hold cur's group values (it is
// recycled at the next merge). A caller that keeps a string of the entry
// beyond the next merge, or beyond cur's strings, copies it
// (Filter.failure).
func (c *mlfidCache) merge(id string, cur entry, matched []string, now time.Time) *entry {
	if h := c.held; h != nil {
		c.held = nil
		if !h.cached {
			c.release(h) // no longer cached: done with
		}
	}
	st := 0
	if v := cur.g.val(gMLFGained); truthy(v) {
		st |= mlNoFailG
		if !truthy(cur.g.val(gNoFail)) {
			cur.g.set(gNoFail, v)
		}
	} else if truthy(cur.g.val(gNoFail)) {
		st |= mlNoFail
	}
	if truthy(cur.g.pop(gMLFForget)) {
		st |= mlForget
	}
	users := 0
	var fail *entry
	if cached := c.get(id, now); cached != nil {
		users = cached.addUser(cur.g.val(gUser))
		if truthy(cached.g.pop(gNoFail)) {
			st |= mlPrevNF
		}
		if truthy(cached.g.pop(gMLFGained)) {
			st |= mlPrevNF
		}
		if st&mlGained != 0 {
			cached.g.del(gMLFPending)
		}
		if st&mlPrevNF == 0 && !truthy(cached.g.val(gMLFPending)) {
			clear(cached.matches)
			cached.matches = cached.matches[:0]
		}
		fail = cached
		if st&mlForget != 0 {
			// the entry leaves the cache and is recycled at the next
			// merge, before which cur's strings stay valid (the caller
			// finishes the line first): no copies
			for _, kv := range cur.g.kv {
				cached.g.set(kv.k, kv.v)
			}
			c.drop(cached)
		} else {
			for _, kv := range cur.g.kv {
				cached.keepGroup(kv.k, kv.v)
			}
		}
	} else {
		// cur's groups may be in a batch item's storage (Item.kvBuf),
		// reused by the item's next line: the entry gets its own (with
		// room for the groups later merges add)
		fail = c.alloc()
		if cap(fail.g.kv) < len(cur.g.kv)+4 {
			fail.g.kv = make([]groupKV, 0, len(cur.g.kv)+4)
		}
		for _, kv := range cur.g.kv {
			fail.g.kv = append(fail.g.kv, groupKV{kv.k, fail.keep(kv.v)})
		}
		if !c.noLines {
			fail.matches = fail.keepLines(fail.matches, cur.matches)
			fail.nofailMatches = fail.keepLines(fail.nofailMatches, cur.nofailMatches)
		}
		for _, u := range cur.users {
			fail.addUser(u)
		}
		if st&mlForget == 0 {
			users = fail.addUser(fail.g.val(gUser))
			c.set(fail.keep(id), fail, now)
		}
	}
	if truthy(fail.g.pop(gMLFPending)) || users > 1 {
		// pending failures or several users tried: not a no-failure any more
		fail.g.del(gNoFail)
		fail.g.del(gMLFGained)
		st &^= mlNoFailG
	}
	switch {
	case c.noLines:
	case st&mlNoFail == 0:
		if len(fail.nofailMatches) > 0 {
			fail.matches = slices.Insert(fail.matches, 0, fail.nofailMatches...)
			clear(fail.nofailMatches)
			fail.nofailMatches = fail.nofailMatches[:0]
		}
		if st&mlGained == 0 {
			fail.matches = fail.keepLines(fail.matches, matched)
		}
	case st&(mlNoFail|mlForget) == mlNoFail:
		fail.nofailMatches = fail.keepLines(fail.nofailMatches, matched)
	}
	c.held = fail
	return fail
}
