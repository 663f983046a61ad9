package filter

import (
	"slices"
	"time"
)

// entry is the data of one failure: its groups, its matched lines and,
// for F-MLFID connections, every user seen.
type entry struct {
	g       groupSet
	users   []string // distinct, in the order seen
	matches []string
	// nofailMatches are lines matched while the connection was in a
	// no-failure state; they join the matches when a failure follows.
	nofailMatches []string
	seen          time.Time
	seq           uint64 // insertion order: breaks ties between equal seen times
}

// mlfidCache merges matches sharing a multi-line failure id (F-MLFID,
// e.g. an sshd connection prefix) into one failure.
type mlfidCache struct {
	m   map[string]*entry
	max int
	ttl time.Duration
	seq uint64
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
			e.users = append(e.users, u)
		}
	}
	return len(e.users)
}

// merge folds the current match cur (whose matched lines are matched) into
// the cached data of id and returns the merged failure (the cached entry
// while the id is cached; cur is copied when it becomes one), following fail2ban's rules: F-MLFGAINED and
// F-NOFAIL mark a no-failure state that a later failure or a second user
// resets, F-MLFFORGET drops the cached connection.
func (c *mlfidCache) merge(id string, cur entry, matched []string, now time.Time) *entry {
	st := 0
	if v := cur.g.val("mlfgained"); truthy(v) {
		st |= mlNoFailG
		if !truthy(cur.g.val("nofail")) {
			cur.g.set("nofail", v)
		}
	} else if truthy(cur.g.val("nofail")) {
		st |= mlNoFail
	}
	if truthy(cur.g.pop("mlfforget")) {
		st |= mlForget
	}
	users := 0
	var fail *entry
	cached, ok := c.m[id]
	if ok && c.expired(cached, now) {
		// expired entries are dropped when met (see set)
		delete(c.m, id)
		ok = false
	}
	if ok {
		users = cached.addUser(cur.g.val("user"))
		if truthy(cached.g.pop("nofail")) {
			st |= mlPrevNF
		}
		if truthy(cached.g.pop("mlfgained")) {
			st |= mlPrevNF
		}
		if st&mlGained != 0 {
			cached.g.del("mlfpending")
		}
		if st&mlPrevNF == 0 && !truthy(cached.g.val("mlfpending")) {
			cached.matches = nil
		}
		cached.g.update(&cur.g)
		cached.seen = now
		fail = cached
		if st&mlForget != 0 {
			delete(c.m, id)
		}
	} else {
		fail = new(entry)
		*fail = cur
		if st&mlForget == 0 {
			users = fail.addUser(fail.g.val("user"))
			fail.seen = now
			c.set(id, fail, now)
		}
	}
	if truthy(fail.g.pop("mlfpending")) || users > 1 {
		// pending failures or several users tried: not a no-failure any more
		fail.g.del("nofail")
		fail.g.del("mlfgained")
		st &^= mlNoFailG
	}
	switch {
	case st&mlNoFail == 0:
		m := append(fail.nofailMatches, fail.matches...)
		fail.nofailMatches = nil
		if st&mlGained == 0 {
			m = append(m, matched...)
		}
		fail.matches = m
	case st&(mlNoFail|mlForget) == mlNoFail:
		fail.nofailMatches = append(fail.nofailMatches, matched...)
	}
	return fail
}

// set caches e as id, first dropping expired entries when the cache is
// full, then the oldest one if it still is. Expiring entries only here and
// when they are looked up keeps the cache as if every merge expired them
// first, without a scan per line.
func (c *mlfidCache) set(id string, e *entry, now time.Time) {
	if len(c.m) >= c.max {
		c.expire(now)
	}
	if len(c.m) >= c.max {
		// drop the oldest entry (the first inserted among equally old
		// ones, so that the choice does not depend on map order)
		var oldID string
		var old *entry
		for k, v := range c.m {
			if old == nil || v.seen.Before(old.seen) || (v.seen.Equal(old.seen) && v.seq < old.seq) {
				oldID, old = k, v
			}
		}
		delete(c.m, oldID)
	}
	c.seq++
	e.seq = c.seq
	c.m[id] = e
}

func (c *mlfidCache) expire(now time.Time) {
	for k, v := range c.m {
		if c.expired(v, now) {
			delete(c.m, k)
		}
	}
}

func (c *mlfidCache) expired(e *entry, now time.Time) bool { return now.Sub(e.seen) > c.ttl }
