package datedetect

import (
	"math"
	"time"
)

// Caches of the hot path. A daemon dates its lines in order, and
// consecutive lines nearly always have the same template and very often
// the same date (many lines per second), else the next second. So a
// Detector remembers:
//
//   - the last sure match of a fast matcher (matchMemo): a line that
//     starts with the same bytes up to that match's end has the same
//     match, and when only the time of day differs, the same offsets;
//   - the last parse (lastParse): the same date text gives the same time
//     while the clock stays where it cannot change the result, and a date
//     that differs only in its time of day has the same other fields;
//   - the clock's current year (yearMemo), read for dates without a year.
//
// None changes a result or the template order: TestCacheSameResults
// compares a Detector with and without them on long random sequences.

// clockSpan is an interval [lo, hi) of Unix seconds of the clock.
type clockSpan struct{ lo, hi int64 }

var (
	anyClock = clockSpan{math.MinInt64, math.MaxInt64}
	noClock  = clockSpan{}
)

// has reports whether the clock now is in the span.
func (s clockSpan) has(now time.Time) bool {
	sec := now.Unix()
	return sec >= s.lo && sec < s.hi
}

// yearMemo is the current year of the clock in zone while the clock is
// in span (see yearSpan).
type yearMemo struct {
	zone *time.Location
	year int
	span clockSpan
}

// yearSpan returns the clock interval around now (a time in the date's
// zone, in year) where the clock's year in that zone (now.In(zone).Year())
// stays year: within now's zone period (one UTC offset), the local year.
func yearSpan(now time.Time, year int) clockSpan {
	span := anyClock
	start, end := now.ZoneBounds()
	if !start.IsZero() {
		span.lo = start.Unix()
	}
	if !end.IsZero() {
		span.hi = end.Unix()
	}
	_, off := now.Zone()
	span.lo = max(span.lo, time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Unix()-int64(off))
	span.hi = min(span.hi, time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()-int64(off))
	return span
}

// lastParse remembers the last parse (Detector.parse) so that the next
// lines with the same date skip it. parse's result is a function of the
// template, the texts of the fields it reads, the clock (only for dates
// without a year: see fieldsTime) and the detector's zone state, which
// the last parse set and which parse leaves as it is when given the same
// text again (unless a template has both %z and %Z: such templates are
// not cached). So the result is reused when the template is the same,
// the fields read have the same texts, and the clock is in the interval
// where it cannot change the result. The texts are known the same when
// the match is the match memo's one the parse was of (gen), or else
// compared: the date text has the same bytes and the fields read are at
// the same offsets within it. Any other parse replaces it.
type lastParse struct {
	t    *template // nil: nothing to reuse
	time time.Time
	span clockSpan // where the clock cannot change time
	// f holds the fields read (zone nil: not a strptime date)
	f fields
	// gen is the generation of the match memo (Detector.memo) whose
	// match this parse was of, else 0.
	gen uint64
	// keyed: text and rel are set (for a parse with gen 0): the date text
	// (loc group t.grp) and, for each group of t.reads, its offsets
	// relative to the date's start (-1: unset); all lie within the text.
	keyed bool
	text  []byte
	rel   [2 * len(parseFields)]int32
}

// reuse returns the last parse's result for template t matching line at
// loc, when parse would give it again with the clock now. gen is the
// generation of the match memo when loc is its match, else 0.
func (c *lastParse) reuse(t *template, line string, loc []int, now time.Time, gen uint64) (time.Time, bool) {
	if c.t != t || !c.span.has(now) {
		return time.Time{}, false
	}
	if gen == 0 || gen != c.gen {
		if !c.sameKey(t, line, loc) {
			return time.Time{}, false
		}
	}
	return c.time, true
}

// sameKey reports whether t's match of line at loc has the date text and
// read fields of the last parse.
func (c *lastParse) sameKey(t *template, line string, loc []int) bool {
	if !c.keyed {
		return false
	}
	start, end := loc[2*t.grp], loc[2*t.grp+1]
	if end-start != len(c.text) || line[start:end] != string(c.text) {
		return false
	}
	for k, i := range t.reads {
		s, e := loc[2*i], loc[2*i+1]
		if s >= 0 {
			if s < start || e > end {
				return false
			}
			s, e = s-start, e-start
		}
		if int32(s) != c.rel[2*k] || int32(e) != c.rel[2*k+1] {
			return false
		}
	}
	return true
}

// store remembers a parse's result and fields, valid for the clock in span
// (nothing is remembered for an empty span); gen is as for reuse.
func (c *lastParse) store(t *template, line string, loc []int, res time.Time, span clockSpan, f fields, gen uint64) {
	c.t = nil
	if !t.cacheable || span.lo >= span.hi {
		return
	}
	c.keyed = false
	if gen == 0 {
		start, end := loc[2*t.grp], loc[2*t.grp+1]
		for k, i := range t.reads {
			s, e := loc[2*i], loc[2*i+1]
			if s >= 0 {
				if s < start || e > end {
					return // parse reads outside the date text
				}
				s, e = s-start, e-start
			}
			c.rel[2*k], c.rel[2*k+1] = int32(s), int32(e)
		}
		c.keyed, c.text = true, append(c.text[:0], line[start:end]...)
	}
	c.t, c.time, c.span, c.f, c.gen = t, res, span, f, gen
}

// matchMemo remembers the last sure match of a fast matcher that has a
// tail check (template.fastTail): a line starting with the same bytes up
// to that match's end, and passing the tail check, has the same match.
// With a clock (the match ends with the fields H, M, S as HH:MM:SS, as
// fastSyslog reads them with hms, and nothing before depends on them), a
// line that differs from the memo only there, with a time hms takes, has
// the same match offsets: the memo moves to it (ticks) and takes a new
// generation.
type matchMemo struct {
	t      *template // nil: none
	prefix []byte    // the line up to the match's end (loc[1])
	loc    []int     // never written but by set: find and match return it
	gen    uint64    // counts the memos and ticks, from 1
	clock  int       // the time of day's offset in prefix, -1: none
	// the match's bookkeeping (see match), read in prefix: its start
	// (character index and characters around), its end's character index
	// and the character before
	start     position
	end       int
	endBefore rune
}

// set remembers loc, the sure fast match of t on line (t is anchored and
// its match is not empty).
func (m *matchMemo) set(t *template, line string, loc []int) {
	m.t, m.gen = t, m.gen+1
	m.prefix = append(m.prefix[:0], line[:loc[1]]...)
	m.loc = append(m.loc[:0], loc...)
	m.start = position{pos: charIndex(line, loc[0]), before: runeBefore(line, loc[0]), at: runeFrom(line, loc[0])}
	m.end, m.endBefore = charIndex(line, loc[1]), runeBefore(line, loc[1])
	m.clock = -1
	hi, mi, si := t.fields['H'], t.fields['M'], t.fields['S']
	if !t.memoClock || hi == 0 || mi == 0 || si == 0 {
		return
	}
	h := loc[2*hi]
	if h < 0 || loc[2*hi+1] != h+2 || loc[2*mi] != h+3 || loc[2*mi+1] != h+5 ||
		loc[2*si] != h+6 || loc[2*si+1] != h+8 || loc[1] != h+8 {
		return
	}
	// The other fields read must not overlap the time of day, and none
	// may change the hour or the zone.
	for k, i := range t.reads {
		s, e := loc[2*i], loc[2*i+1]
		switch t.readFields[k] {
		case 'H', 'M', 'S':
			continue
		case 'I', 'p', 'z', 'Z':
			if s >= 0 {
				return
			}
		}
		if s >= 0 && s < h+8 && e > h {
			return
		}
	}
	m.clock = h
}

// match reports whether the memo's match is line's match with m.t,
// moving the memo to line when only the time of day differs (ticked).
func (m *matchMemo) match(line string) (ok, ticked bool) {
	e := len(m.prefix)
	if len(line) < e {
		return false, false
	}
	if line[:e] != string(m.prefix) {
		h := m.clock
		if h < 0 || line[:h] != string(m.prefix[:h]) || !validClock(line, h) || !m.t.fastTail(line, e) {
			return false, false
		}
		copy(m.prefix[h:], line[h:e])
		m.gen++
		m.endBefore = rune(line[e-1])
		return true, true
	}
	return m.t.fastTail(line, e), false
}

// validClock reports whether line[h:h+8] is a time of day hms takes.
func validClock(line string, h int) bool {
	return h+8 <= len(line) && twoDigits(line, h, 23) && line[h+2] == ':' && twoDigits(line, h+3, 59) &&
		line[h+5] == ':' && twoDigits(line, h+6, 59)
}

// clockOf returns the time of day of line, which has the memo's match
// (the memo has a clock).
func (m *matchMemo) clockOf(line string) (hour, minute, second int) {
	h := m.clock
	two := func(i int) int { return int(line[i]-'0')*10 + int(line[i+1]-'0') }
	return two(h), two(h + 3), two(h + 6)
}

// matchByMemo is match for a line on which the last winner has the match
// memo's match (the usual case: a line with the same date as the line
// before, or the next second). It gives the same result, and leaves the
// same state, as match: the last winner is anchored (it has a fast
// matcher), so its match wins at once and, as it is the last winner, it
// is not moved. ok is false when the line is not such a line (nothing is
// changed then but the flags).
func (d *Detector) matchByMemo(line string, now time.Time) (idx int, loc []int, ok bool) {
	i, m := d.lastIdx, &d.memo
	d.memoFailed, d.memoTicked = false, false
	if m.t == nil || i < 0 || i >= len(d.slots) || d.slots[i].t != m.t {
		return -1, nil, false
	}
	ok, d.memoTicked = m.match(line)
	if !ok {
		d.memoFailed = true
		return -1, nil, false
	}
	s := d.slots[i]
	s.t.hits++
	s.hits++
	s.lastUsed = now
	s.distance = m.start.pos
	if d.firstUnused == i {
		d.firstUnused++
	}
	d.lastPos = m.start
	d.lastEnd = position{pos: m.end, before: m.endBefore, at: runeFrom(line, len(m.prefix))}
	d.locIsMemo = true
	return i, m.loc, true
}
