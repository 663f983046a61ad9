package datedetect

import (
	"math"
	"time"
)

// Caches of the hot path. A daemon dates its lines in order, and the
// consecutive lines of one format nearly always have the same template
// and very often the same date (many lines per second), else the next
// second, also when lines of other formats come between them (a log
// several programs write). So a Detector remembers, for each template:
//
//   - the last two sure matches of its fast matcher (matchMemo), each
//     with the last parse of its match: a line that starts with the same
//     bytes up to that match's end has the same match, and when only the
//     time of day differs, the same offsets and the same other fields;
//   - its last parse (lastParse), keyed by the texts of the fields read:
//     the same texts give the same time while the clock stays where it
//     cannot change the result, and texts that differ only in the time of
//     day give the same other fields;
//
// and the clock's current year (yearMemo), read for dates without a year.
// None changes a result or the template order: TestCacheSameResults and
// TestCacheInterleaved compare a Detector with and without them on long
// random sequences, in runs of one format and with formats alternating.

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

// lastParse remembers a parse (Detector.parse) so that the next lines
// with the same date skip it: each template has its last parse
// (template.last, keyed by the texts read), and each match memo the last
// parse of its match (matchMemo.parse, by generation), so that the lines
// of several formats interleaved in one log each find theirs. parse's
// result is a function of the template, the texts of the groups it reads
// (the fields of a strptime date, else the date text: template.keys),
// the clock (only for dates without a year: see fieldsTime) and the
// detector's zone state (the zone of the last explicit zone text, which
// parse reuses for the same text and else replaces). So the result is
// reused when the template is the same, the groups read have the same
// texts, the clock is in the interval where it cannot change the result,
// and, for a date with an explicit zone, the detector's zone is still the
// one the parse gave it (then parse would take it again and leave the
// state as it is). Templates with both %z and %Z are not cached: each of
// their parses may change the state. The texts are known the same when
// the match is the match memo's one the parse was of (gen), or else
// compared. A date whose texts differ only in %H, %M and %S (a template
// without %I) has the same other fields: only those are read again
// (tick), and for a date with a year its time is often the last one
// moved by as much as the time of day (shifted).
type lastParse struct {
	t    *template // nil: nothing to reuse
	time time.Time
	span clockSpan // where the clock cannot change time
	// f holds the fields read (zone nil: not a strptime date); zoned is
	// set when f.zone is the zone of an explicit zone text.
	f     fields
	zoned bool
	// gen is the generation of the match memo whose match this parse was
	// of, else 0.
	gen uint64
	// keyed: key is set (for a parse with gen 0): the texts of the groups
	// of t.keys, packed (see packText), those longer than 7 bytes in long.
	keyed bool
	key   [len(parseFields)]uint64
	long  []byte
	// shift is what shifted knows of time (0: not known yet, 1: known,
	// -1: not shiftable); local is f's wall clock as Unix seconds (f's
	// fields in UTC), q the zone offset time.Date took for it, in the
	// zone period [qs, qe) holding the instant local.
	shift    int8
	local, q int64
	qs, qe   int64
}

// shifted returns, for a tick (f: the last parse's fields but for the
// time of day), the time fieldsTime gives for f without calling it, when
// it can tell: the last parse's time is time.Date of its fields (a date
// with year, month and day, good for any clock), and for both wall
// clocks time.Date finds the same zone offset in one lookup (their
// instants, and the wall clocks taken as instants, lie in the one zone
// period): then the new time is the last one moved by the difference of
// the wall clocks, and good for any clock too.
func (c *lastParse) shifted(f *fields) (time.Time, int64, bool) {
	if c.shift == 0 {
		c.initShift()
	}
	if c.shift < 0 {
		return time.Time{}, 0, false
	}
	delta := int64(f.hour-c.f.hour)*3600 + int64(f.minute-c.f.minute)*60 + int64(f.second-c.f.second)
	local := c.local + delta
	if local < c.qs || local >= c.qe || local-c.q < c.qs || local-c.q >= c.qe {
		return time.Time{}, 0, false
	}
	return c.time.Add(time.Duration(delta) * time.Second), local, true
}

// initShift sets shift, local, q, qs and qe (see shifted).
func (c *lastParse) initShift() {
	c.shift = -1
	f := c.f
	if c.t == nil || f.zone == nil || f.year < 0 || f.month < 1 || f.day < 1 || c.span != anyClock {
		return
	}
	// time.Date(f...) looked up the zone at the wall clock taken as an
	// instant (local), and kept its offset when the instant local-q lies
	// in the same zone period.
	local := time.Date(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.second, 0, time.UTC).Unix()
	at := time.Unix(local, 0).In(f.zone)
	_, q := at.Zone()
	start, end := at.ZoneBounds()
	qs, qe := int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		qs = start.Unix()
	}
	if !end.IsZero() {
		qe = end.Unix()
	}
	if local-int64(q) < qs || local-int64(q) >= qe || c.time.Unix() != local-int64(q) || c.time.Nanosecond() != 0 {
		return
	}
	c.local, c.q, c.qs, c.qe, c.shift = local, int64(q), qs, qe, 1
}

// setShift records, after a store of a time src.shifted gave for the wall
// clock local, that it is shiftable with src's zone period.
func (c *lastParse) setShift(src *lastParse, local int64) {
	if c.t == nil {
		return
	}
	c.q, c.qs, c.qe = src.q, src.qs, src.qe
	c.local, c.shift = local, 1
}

// Packed texts: up to 7 bytes, little-endian, with the length in the top
// byte; unsetKey for an unset group; a longer text as longKey with its
// offsets in lastParse.long (bits 32-62 start, 0-31 end).
const (
	unsetKey = ^uint64(0)
	longKey  = 1 << 63
)

// packText packs line[s:e], a text of at most 7 bytes.
func packText(line string, s, e int) uint64 {
	n := uint(e - s)
	if s+8 <= len(line) {
		return load8(line, s)&(1<<(8*n)-1) | uint64(n)<<56
	}
	var v uint64
	for i := e - 1; i >= s; i-- {
		v = v<<8 | uint64(line[i])
	}
	return v | uint64(n)<<56
}

// load8 returns line[i:i+8] as a little-endian number.
func load8(line string, i int) uint64 {
	b := line[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// sameText reports whether the group at line[s:e] (s < 0: unset) has the
// text packed in key.
func (c *lastParse) sameText(key uint64, line string, s, e int) bool {
	switch {
	case s < 0:
		return key == unsetKey
	case e-s <= 7:
		return key == packText(line, s, e)
	case key == unsetKey || key&longKey == 0:
		return false
	}
	return line[s:e] == string(c.long[key>>32&0x7fffffff:uint32(key)])
}

// valid reports whether the last parse was of template t and, if it read
// a zone, the detector's zone is still the one it gave.
func (c *lastParse) valid(d *Detector, t *template) bool {
	return c.t == t && (!c.zoned || c.f.zone == d.zoneLoc)
}

// lookup compares template t's match of line at loc with the last parse.
// hit: parse would give the last result again with the clock now (the
// texts read are the same, or the match is the match memo's one the
// parse was of: gen, as for store, is its generation, else 0). tick:
// parse would read the last parse's fields but for the hour, minute and
// second, which may differ (the clock span does not hold, or only the
// texts of %H, %M and %S differ, in a template without %I, which
// overrides %H); *f is set to those fields. Neither: parse must run.
func (c *lastParse) lookup(d *Detector, t *template, line string, loc []int, now time.Time, gen uint64, f *fields) (res time.Time, hit, tick bool) {
	if !c.valid(d, t) {
		return time.Time{}, false, false
	}
	if gen == 0 || gen != c.gen {
		if !c.keyed {
			return time.Time{}, false, false
		}
		hour, minute, second := c.f.hour, c.f.minute, c.f.second
		same := true
		for k, i := range t.keys {
			s, e := loc[2*i], loc[2*i+1]
			key := c.key[k]
			if s >= 0 && e-s <= 7 && s+8 <= len(line) {
				n := uint(e - s)
				if key == load8(line, s)&(1<<(8*n)-1)|uint64(n)<<56 {
					continue
				}
			} else if c.sameText(key, line, s, e) {
				continue
			}
			if !t.tickable || s < 0 || key == unsetKey {
				return time.Time{}, false, false
			}
			var p *int
			switch t.readFields[k] {
			case 'H':
				p = &hour
			case 'M':
				p = &minute
			case 'S':
				p = &second
			default:
				return time.Time{}, false, false
			}
			v, err := atoi(line[s:e])
			if err != nil {
				return time.Time{}, false, false
			}
			*p, same = v, false
		}
		if !same {
			*f = c.f
			f.hour, f.minute, f.second = hour, minute, second
			return time.Time{}, false, true
		}
	}
	if c.span.has(now) {
		return c.time, true, false
	}
	if t.tickable {
		*f = c.f
		return time.Time{}, false, true
	}
	return time.Time{}, false, false
}

// store remembers a parse's result and fields, valid for the clock in span
// (nothing is remembered for an empty span); gen is as for reuse.
func (c *lastParse) store(d *Detector, t *template, line string, loc []int, res time.Time, span clockSpan, f fields, gen uint64) {
	c.t = nil
	if !t.cacheable || span.lo >= span.hi {
		return
	}
	c.keyed = false
	if gen == 0 {
		c.long = c.long[:0]
		for k, i := range t.keys {
			s, e := loc[2*i], loc[2*i+1]
			switch {
			case s < 0:
				c.key[k] = unsetKey
			case e-s <= 7:
				c.key[k] = packText(line, s, e)
			default:
				c.key[k] = longKey | uint64(len(c.long))<<32
				c.long = append(c.long, line[s:e]...)
				c.key[k] |= uint64(len(c.long))
			}
		}
		c.keyed = true
	}
	c.t, c.time, c.span, c.f, c.gen = t, res, span, f, gen
	c.zoned = f.zone != nil && f.zone != d.loc
	c.shift = 0
}

// matchMemo remembers a sure match of a fast matcher that has a tail
// check (template.fastTail): a line starting with the same bytes up to
// that match's end, and passing the tail check, has the same match.
// With a clock (the match ends with the fields H, M, S as HH:MM:SS, as
// the fast matchers read them with validClock, and nothing before depends
// on them), a line that differs from the memo only there, with a time
// validClock takes, has the same match offsets: the memo moves to it
// (ticks) and takes a new generation. A template has two (template.memo),
// so that two formats it matches (nginx's "2025/03/01 00:00:00" and
// asterisk's "[2025-03-01 00:00:00]" for the ISO template) may
// alternate in a log and each keep its own; each also keeps the last
// parse of its match (parse).
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
	// byWords: the prefix has 8 to 40 bytes, compared by words: last is
	// its last 8 bytes, words the 8-byte words of the rest, the front
	// (front of them, the last one partial: frontMask marks its bytes in
	// the front). A clock is the last 8 bytes.
	byWords         bool
	front           int
	words           [4]uint64
	last, frontMask uint64
	// parse is the last parse of the memo's match, of generation
	// parse.gen (never keyed: see lastParse).
	parse lastParse
}

// set remembers loc, the sure fast match of t on line (t is anchored and
// its match is not empty).
func (m *matchMemo) set(t *template, line string, loc []int) {
	m.setMatch(t, line, loc)
	m.setWords()
}

// setMatch is set but for the word fields.
func (m *matchMemo) setMatch(t *template, line string, loc []int) {
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
	if !m.byWords {
		if line[:e] != string(m.prefix) {
			h := m.clock
			if h < 0 || line[:h] != string(m.prefix[:h]) || !validClock(line, h) || !m.t.fastTail(line, e) {
				return false, false
			}
			return m.tick(line), true
		}
		return m.t.fastTail(line, e), false
	}
	// by words: the front words, then the last 8 bytes
	x := uint64(0)
	k := 0
	for ; k < m.front-1; k++ {
		x |= load8(line, 8*k) ^ m.words[k]
	}
	if m.front > 0 {
		x |= (load8(line, 8*k) ^ m.words[k]) & m.frontMask
	}
	if x != 0 {
		return false, false
	}
	if load8(line, e-8) == m.last {
		return m.t.fastTail(line, e), false
	}
	// only the last 8 bytes differ: the clock's, if the memo has one
	if m.clock != e-8 || !validClock(line, e-8) || !m.t.fastTail(line, e) {
		return false, false
	}
	return m.tick(line), true
}

// tick moves the memo to line, which differs from it only in the time of
// day, and returns true.
func (m *matchMemo) tick(line string) bool {
	e := len(m.prefix)
	copy(m.prefix[m.clock:], line[m.clock:e])
	if m.byWords {
		m.last = load8(line, e-8)
	}
	m.gen++
	m.endBefore = rune(line[e-1])
	return true
}

// setWords sets the word fields from prefix.
func (m *matchMemo) setWords() {
	p := string(m.prefix)
	e := len(p)
	m.byWords = e >= 8 && e <= 8*(len(m.words)+1)
	if !m.byWords {
		return
	}
	n := e - 8 // the front's length
	m.front = (n + 7) / 8
	for k := range m.front {
		m.words[k] = load8(p, 8*k)
	}
	m.frontMask = ^uint64(0)
	if r := n - 8*(m.front-1); m.front > 0 && r < 8 {
		m.frontMask = 1<<(8*r) - 1
	}
	m.last = load8(p, e-8)
}

// clockOf returns the time of day of line, which has the memo's match
// (the memo has a clock).
func (m *matchMemo) clockOf(line string) (hour, minute, second int) {
	c := line[m.clock : m.clock+8]
	return int(c[0]-'0')*10 + int(c[1]-'0'), int(c[3]-'0')*10 + int(c[4]-'0'), int(c[6]-'0')*10 + int(c[7]-'0')
}

// memoMatch returns t's memo whose match is line's match, the one used
// last first, or nil; ticked: the memo moved to line's time of day. All
// of t's memos that take line give the same match: the fast matcher's.
func (t *template) memoMatch(line string) (m *matchMemo, ticked bool) {
	m = &t.memo[t.mru&1]
	if m.t != nil {
		if ok, ticked := m.match(line); ok {
			return m, ticked
		}
	}
	m, ticked, _ = t.otherMemoMatch(line)
	return m, ticked
}

// otherMemoMatch is memoMatch for the memo not used last. A line the
// template's prefilter rejects is no memo's match: it is not tried, and
// rejected says the template does not match the line.
func (t *template) otherMemoMatch(line string) (m *matchMemo, ticked, rejected bool) {
	if t.first != nil && t.first.rejects(line) {
		return nil, false, true
	}
	w := (t.mru & 1) ^ 1
	m = &t.memo[w]
	if m.t == nil {
		return nil, false, false
	}
	if ok, ticked := m.match(line); ok {
		t.mru = w
		return m, ticked, false
	}
	return nil, false, false
}

// newMemo returns the memo of t to replace with a new match: the one not
// used last, which becomes the one used last.
func (t *template) newMemo() *matchMemo {
	t.mru = (t.mru & 1) ^ 1
	return &t.memo[t.mru]
}

// matchByMemo is match for a line on which the last winner has a match
// memo's match (the usual case: a line with the same date as the line
// before of the same format, or the next second). It gives the same
// result, and leaves the same state, as match: the last winner is
// anchored (it has a fast matcher), so its match wins at once and, as it
// is the last winner, it is not moved. ok is false when the line is not
// such a line (nothing is changed then but the flags).
func (d *Detector) matchByMemo(line string, now time.Time) (idx int, loc []int, ok bool) {
	i := d.lastIdx
	d.memoFailed, d.memoTicked, d.memoHit, d.rejected = nil, false, nil, nil
	if uint(i) >= uint(len(d.slots)) {
		return -1, nil, false
	}
	s := d.slots[i]
	// memoMatch, the memo used last inline
	m := &s.t.memo[s.t.mru&1]
	ok, ticked := false, false
	if m.t != nil {
		ok, ticked = m.match(line)
	}
	d.memoFirst = ok
	if !ok {
		var rejected bool
		if m, ticked, rejected = s.t.otherMemoMatch(line); m == nil {
			d.memoFailed = s.t
			if rejected {
				d.rejected = s.t
			}
			return -1, nil, false
		}
	}
	d.memoTicked = ticked
	s.t.hits++
	s.hits++
	s.lastUsed = now
	s.distance = m.start.pos
	if d.firstUnused == i {
		d.firstUnused++
	}
	d.lastPos = m.start
	d.lastEnd = position{pos: m.end, before: m.endBefore, at: runeFrom(line, len(m.prefix))}
	d.locIsMemo, d.memoHit = true, m
	return i, m.loc, true
}
