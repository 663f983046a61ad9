// Package failcount counts failures per failure id over a jail's findtime
// and says when an id has reached maxretry.
//
// It follows fail2ban's accounting: an id's attempts accumulate while its
// failures keep coming; when the span since its first failure grows past
// findtime, the count is scaled down to the rate over the last findtime
// (fail2ban's FailTicket.adjustTime), and an id whose last failure is older
// than findtime is forgotten by Cleanup.
//
// A Counter is owned by one goroutine: it has no lock, so that the matching
// pipeline can shard ids over goroutines without contention.
package failcount

import (
	"math"
	"time"
)

// Counter counts failures per id (of type K: an address for a jail's
// failures). The zero value is not usable; call New.
type Counter[K comparable] struct {
	findTime time.Duration
	maxRetry int
	maxMatch int
	entries  map[K]*entry
	total    int
}

type entry struct {
	first, last time.Time
	retry       int
	matches     []string
}

// Result is what Add reports for one failure.
type Result struct {
	// Attempts is the id's current count after this failure.
	Attempts int
	// Ban is true when Attempts reached maxretry. The id's entry is then
	// removed: the next failure starts a new count.
	Ban bool
	// Matches holds up to maxmatches lines that led to the ban (only set
	// when Ban is true).
	Matches []string
}

// maxPrealloc bounds the matched lines a new id's entry has room for at
// once; more grow as they come.
const maxPrealloc = 16

// New returns a Counter for a jail with the given findtime and maxretry.
// maxMatches bounds the lines kept per id (fail2ban's maxmatches); 0 keeps
// none.
func New[K comparable](findTime time.Duration, maxRetry, maxMatches int) *Counter[K] {
	if maxRetry < 1 {
		maxRetry = 1
	}
	return &Counter[K]{
		findTime: findTime,
		maxRetry: maxRetry,
		maxMatch: maxMatches,
		entries:  make(map[K]*entry),
	}
}

// Add records one failure of id at time t with the matched line.
func (c *Counter[K]) Add(id K, t time.Time, line string) Result {
	return c.AddWeighted(id, t, line, 1)
}

// AddWeighted records one failure of id that counts as n attempts (with
// bantime.increment, a failure of an address banned before weighs more,
// as fail2ban's observer has it). n below 1 counts as 1.
func (c *Counter[K]) AddWeighted(id K, t time.Time, line string, n int) Result {
	n = max(n, 1)
	c.total++
	e, ok := c.entries[id]
	if !ok {
		e = &entry{first: t, last: t}
		if c.maxMatch > 0 {
			// room for the lines up to a ban, at once: the id's
			// entry then grows its matches no more (each of its
			// failures counts at least 1 of maxretry). Bounded:
			// a jail with a large maxretry must not reserve it for
			// every address seen once.
			e.matches = make([]string, 0, min(c.maxMatch, c.maxRetry, maxPrealloc))
		}
		c.entries[id] = e
	} else if t.After(e.last) {
		if e.first.Before(t.Add(-c.findTime)) {
			// The interval outgrew findtime: estimate the count over
			// the last findtime from the rate over the whole interval.
			span := t.Sub(e.first).Seconds()
			e.retry = int(math.Round(float64(e.retry) / span * c.findTime.Seconds()))
			e.first = t.Add(-c.findTime)
		}
		e.last = t
	}
	e.retry += n
	if c.maxMatch > 0 {
		e.matches = append(e.matches, line)
		if n := len(e.matches); n > c.maxMatch {
			e.matches = append(e.matches[:0], e.matches[n-c.maxMatch:]...)
		}
	}
	r := Result{Attempts: e.retry}
	if e.retry >= c.maxRetry {
		r.Ban = true
		r.Matches = e.matches
		delete(c.entries, id)
	}
	return r
}

// Forget drops any count for id (after a manual ban, for instance).
func (c *Counter[K]) Forget(id K) { delete(c.entries, id) }

// Cleanup forgets ids whose last failure is at or before now - findtime.
func (c *Counter[K]) Cleanup(now time.Time) {
	limit := now.Add(-c.findTime)
	for id, e := range c.entries {
		if !e.last.After(limit) {
			delete(c.entries, id)
		}
	}
}

// Current is the number of ids with failures being counted
// (fail2ban's "Currently failed").
func (c *Counter[K]) Current() int { return len(c.entries) }

// Total is the number of failures ever added (fail2ban's "Total failed").
func (c *Counter[K]) Total() int { return c.total }
