package datedetect

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options configures a Detector.
type Options struct {
	// Pattern is the datepattern option: "" or "{DEFAULT}" for the default
	// set, "{^LN-BEG}" for its line-begin anchored part, "{NONE}" for no
	// date, EPOCH, LEPOCH, TAI64N, or a custom strptime pattern, optionally
	// prefixed by {^LN-BEG} or {UNB}. Several patterns may be given separated
	// by newlines.
	Pattern string
	// Now is the clock (time.Now when nil); it resolves missing years and days.
	Now func() time.Time
	// Location is the zone of dates without an explicit zone (time.Local when nil).
	Location *time.Location
}

// dateRefRE finds an unescaped {DATE} reference in a date pattern.
var dateRefRE = regexp.MustCompile(`(?i)(?:^|[^\\])\{DATE\}`)

// Match is a date found in a line.
type Match struct {
	// Start and End delimit the date text in the line (byte offsets).
	Start, End int
	// Time is the parsed date (zero when Empty).
	Time time.Time
	// Empty is set when a template matched an empty date text (patterns
	// like `^WARNING:()**` that mark lines carrying no date of their
	// own): the caller reuses the last date, as fail2ban does.
	Empty bool
}

// Detector finds and parses dates in log lines as fail2ban does: the
// template that won last is tried first and templates are reordered by
// their hits (see order.go). It is not safe for concurrent use.
type Detector struct {
	templates []*template // in the order given
	slots     []*slot     // the templates in their current order
	none      bool
	now       func() time.Time
	loc       *time.Location
	// fail2ban's __lastTemplIdx (-1: none), __firstUnused, __lastPos, __lastEndPos
	lastIdx     int
	firstUnused int
	lastPos     position
	lastEnd     position
	buf, res    []int // match buffers (current, reserve)
	// the zone of the last date with an explicit zone, by its text
	zoneText string
	zoneLoc  *time.Location
	// year is the current year of the clock (for parse). The flags are
	// for the current line: locIsMemo, its match is memoHit's (a match
	// memo: see matchByMemo); memoFailed, the memos of that template are
	// not its match (checked already); memoTicked, the memo was moved to
	// its time of day; rejected, that template's prefilter rejects it
	// (see find). noCache turns the caches off (the templates' last
	// parses and match memos, and year; for tests).
	year       yearMemo
	locIsMemo  bool
	memoHit    *matchMemo
	memoFailed *template
	memoTicked bool
	rejected   *template
	noCache    bool
	// again is what the last FindAt answered by its usual case (a match
	// memo's match, the first memo tried, with the memo's parse good for
	// the clock), while nothing else happened since: see FindAt.
	again   againMemo
	agained int // lines answered by again (for tests)
	// memoFirst: matchByMemo's match is the first memo it tried.
	memoFirst bool
}

// againMemo is a Detector's last usual answer (Detector.again).
type againMemo struct {
	ok   bool
	memo *matchMemo
	slot *slot
	now  time.Time
	m    Match
}

// New builds a Detector.
func New(o Options) (*Detector, error) {
	d := &Detector{now: o.Now, loc: o.Location, lastIdx: -1,
		lastPos: position{pos: 1, before: noneChar, at: noneChar},
		lastEnd: position{pos: int(^uint(0) >> 1), before: noneChar, at: noneChar}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.loc == nil {
		d.loc = time.Local
	}
	now := d.now()
	for _, p := range strings.Split(o.Pattern, "\n") {
		p = strings.TrimSpace(p)
		up := strings.ToUpper(p)
		switch {
		case p == "" && len(d.templates) > 0:
			continue
		case p == "" || up == "{DEFAULT}":
			ts, err := defaultTemplates(now, false)
			if err != nil {
				return nil, err
			}
			d.templates = append(d.templates, ts...)
		case up == "{^LN-BEG}":
			ts, err := defaultTemplates(now, true)
			if err != nil {
				return nil, err
			}
			d.templates = append(d.templates, ts...)
		case up == "{NONE}":
			d.none = true
		case dateRefRE.MatchString(p):
			// {DATE} stands for each default template, unbounded.
			for _, dp := range defaultPatterns {
				if dp == "EPOCH" || dp == "TAI64N" {
					continue
				}
				dp = strings.TrimPrefix(strings.TrimPrefix(dp, "{UNB}"), "{^LN-BEG}")
				pat := dateRefRE.ReplaceAllStringFunc(p, func(m string) string { return m[:len(m)-len("{DATE}")] + dp })
				t, err := newTemplate(pat, now)
				if err != nil {
					return nil, err
				}
				d.templates = append(d.templates, t)
			}
		default:
			t, err := newTemplate(p, now)
			if err != nil {
				return nil, err
			}
			d.templates = append(d.templates, t)
		}
	}
	seen := map[string]bool{}
	for _, t := range d.templates {
		// fail2ban ignores a default template already given by name.
		if seen[t.name] {
			continue
		}
		seen[t.name] = true
		d.slots = append(d.slots, &slot{t: t, distance: 0x7fffffff})
	}
	return d, nil
}

// Find locates the date in line and parses it. With {NONE}, or when no
// template matches, ok is false. A date that matches but cannot be parsed
// (e.g. unknown zone name) returns an error with ok false.
func (d *Detector) Find(line string) (m Match, ok bool, err error) {
	if d.none {
		return Match{}, false, nil
	}
	return d.FindAt(line, d.now())
}

// FindAt is Find with the clock read by the caller: now resolves missing
// years and days and stamps the template's use. A line with the template
// and date of the last line of its format costs no search and no parse,
// one whose date differs only in its time of day no search and part of a
// parse (see cache.go).
func (d *Detector) FindAt(line string, now time.Time) (m Match, ok bool, err error) {
	if d.none {
		return Match{}, false, nil
	}
	if a := &d.again; a.ok {
		// The last line was answered by the usual case below and nothing
		// happened since. A line with the same bytes up to the memo's end
		// (its fast tail holding) and the same clock would be too, with
		// the same answer and the same state but for the hit counts and
		// the character after the match: a log's lines of one second,
		// dated in one batch.
		mm := a.memo
		if e := len(mm.prefix); now == a.now && len(line) >= e && line[:e] == string(mm.prefix) && mm.t.fastTail(line, e) {
			a.slot.t.hits++
			a.slot.hits++
			d.lastEnd.at = runeFrom(line, e)
			d.agained++
			return a.m, true, nil
		}
		a.ok = false
	}
	idx, loc, ok := d.matchByMemo(line, now)
	if !ok {
		idx, loc = d.match(line, now)
	}
	if idx < 0 {
		return Match{}, false, nil
	}
	t := d.slots[idx].t
	start, end := loc[2*t.grp], loc[2*t.grp+1]
	m = Match{Start: start, End: end}
	if start == end {
		m.Empty = true
		return m, true, nil
	}
	var f fields
	var span clockSpan
	var res time.Time
	var hit, tick bool
	var src *lastParse // the last parse a tick is of
	// A memo's match: its last parse, by generation.
	var mc *lastParse
	var gen uint64
	if d.locIsMemo {
		mc, gen = &d.memoHit.parse, d.memoHit.gen
		if mc.gen == gen && mc.valid(d, t) && mc.span.has(now) {
			// the usual case, as lookup finds it
			m.Time = mc.time
			if d.memoFirst && !d.memoTicked && !d.noCache {
				d.again = againMemo{ok: true, memo: d.memoHit, slot: d.slots[idx], now: now, m: m}
			}
			return m, true, nil
		}
		if res, hit, tick = mc.lookup(d, t, line, loc, now, gen, &f); hit {
			m.Time = res
			return m, true, nil
		}
		if !tick && d.memoTicked && mc.t == t && mc.gen == gen-1 && mc.f.zone != nil {
			// The date is the last parse's but for its time of day (the
			// memo's clock): parse would read the same fields but these.
			f = mc.f
			f.hour, f.minute, f.second = d.memoHit.clockOf(line)
			tick = true
		}
		if tick {
			src = mc
		}
	}
	// Else the template's last parse, by the texts read.
	c := &t.last
	keyed := false
	if !tick {
		if res, hit, tick = c.lookup(d, t, line, loc, now, 0, &f); hit {
			m.Time = res
			if mc != nil {
				mc.store(d, t, line, loc, res, c.span, c.f, gen)
			}
			return m, true, nil
		}
		keyed = true
		if tick {
			src = c
		}
	}
	shifted, local := false, int64(0)
	switch {
	case tick && f.year >= 0:
		// a date with a year may be shifted (dates without one depend on
		// the clock)
		if m.Time, local, shifted = src.shifted(&f); shifted {
			span = anyClock
		} else {
			m.Time, span, err = d.fieldsTime(f, now)
		}
	case tick:
		m.Time, span, err = d.fieldsTime(f, now)
	default:
		m.Time, span, f, err = d.parse(t, line, loc, now)
	}
	if !d.noCache {
		if keyed {
			c.store(d, t, line, loc, m.Time, span, f, 0)
			if shifted {
				c.setShift(src, local)
			}
		}
		if mc != nil {
			mc.store(d, t, line, loc, m.Time, span, f, gen)
			if shifted {
				mc.setShift(src, local)
			}
		}
	}
	if err != nil {
		return m, false, fmt.Errorf("date %q (template %s): %w", line[start:end], t.name, err)
	}
	return m, true, nil
}

func (d *Detector) group(t *template, line string, loc []int, f byte) (string, bool) {
	i := t.fields[f&0x7f]
	if i <= 0 || loc[2*i] < 0 {
		return "", false
	}
	return line[loc[2*i]:loc[2*i+1]], true
}

var monthAbbr = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var monthFull = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// abbrMonth is indexOf(monthAbbr, s)+1: the month of an abbreviation,
// 0 if none.
func abbrMonth(s string) int {
	// Three ASCII bytes fold as ASCII; a non-ASCII s of 3 bytes has fewer
	// than 3 characters and matches none.
	if len(s) == 3 && s[0]|s[1]|s[2] < 0x80 {
		return monthNum(s[0], s[1], s[2])
	}
	return indexOf(monthAbbr, s) + 1
}

// atoi is strconv.Atoi(strings.TrimSpace(s)), with a fast path for up to
// 9 ASCII digits after spaces.
func atoi(s string) (int, error) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if n := len(s) - i; n > 0 && n <= 9 {
		v := 0
		for ; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return strconv.Atoi(strings.TrimSpace(s))
			}
			v = v*10 + int(c)
		}
		return v, nil
	}
	return strconv.Atoi(strings.TrimSpace(s))
}

// fields are the fields of a strptime date as parse reads them: year,
// month, day and yday are -1 when absent, zone is the date's zone.
type fields struct {
	year, month, day, hour, minute, second, yday int
	zone                                         *time.Location
}

// parse converts a template match to a time following fail2ban's rules:
// a missing year is the current one, or the previous one when the date
// would lie more than a day in the future; a missing day is today, or
// yesterday when the time would lie in the future. It returns the fields
// read (zone nil for epochs) and the clock interval around now where the
// clock cannot change the result (see fieldsTime; any clock for epochs).
func (d *Detector) parse(t *template, line string, loc []int, now time.Time) (time.Time, clockSpan, fields, error) {
	text := line[loc[2*t.grp]:loc[2*t.grp+1]]
	switch t.kind {
	case kindEpoch, kindLongEpoch:
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return time.Time{}, noClock, fields{}, fmt.Errorf("parse epoch: %w", err)
		}
		if t.kind == kindLongEpoch && len(text) >= 13 {
			if len(text) >= 16 && !strings.Contains(text, ".") {
				v /= 1e6
			} else {
				v /= 1e3
			}
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3), anyClock, fields{}, nil
	case kindTAI64N:
		sec, err := strconv.ParseInt(text[2:17], 16, 64)
		if err != nil {
			return time.Time{}, noClock, fields{}, fmt.Errorf("parse tai64n: %w", err)
		}
		return time.Unix(sec, 0), anyClock, fields{}, nil
	}
	f, err := d.readFields(t, line, loc)
	if err != nil {
		return time.Time{}, noClock, fields{}, err
	}
	res, span, err := d.fieldsTime(f, now)
	return res, span, f, err
}

// readFields reads the fields of a strptime date (the zone of an
// explicit zone is kept in d.zoneText, d.zoneLoc).
func (d *Detector) readFields(t *template, line string, loc []int) (fields, error) {
	f := fields{year: -1, month: -1, day: -1, yday: -1, zone: d.loc}
	// The fields present, in the order fail2ban's strptime reads them
	// (parseFields): later ones override earlier ones (%Y over %y, %b
	// over %m, %I over %H), the first bad one is the error.
	for k, i := range t.reads {
		if loc[2*i] < 0 {
			continue
		}
		s, letter := line[loc[2*i]:loc[2*i+1]], t.readFields[k]
		switch letter {
		case 'b':
			f.month = abbrMonth(s)
			continue
		case 'B':
			f.month = indexOf(monthFull, s) + 1
			continue
		case 'p':
			continue // read with %I
		case 'z', 'Z':
			if s == d.zoneText && d.zoneLoc != nil {
				f.zone = d.zoneLoc
				continue
			}
			off, err := ZoneOffset(s)
			if err != nil {
				return fields{}, err
			}
			s = strings.Clone(s)
			f.zone = time.FixedZone(s, off*60)
			d.zoneText, d.zoneLoc = s, f.zone
			continue
		}
		v, err := atoi(s)
		if err != nil {
			return fields{}, fmt.Errorf("field %%%c: %w", letter, err)
		}
		switch letter {
		case 'y':
			f.year = v
			if f.year <= 2000 {
				f.year += 2000
			}
		case 'Y':
			f.year = v
		case 'm':
			f.month = v
		case 'd':
			f.day = v
		case 'H':
			f.hour = v
		case 'I':
			f.hour = v
			p, _ := d.group(t, line, loc, 'p')
			switch strings.ToLower(p) {
			case "", "am":
				if f.hour == 12 {
					f.hour = 0
				}
			case "pm":
				if f.hour != 12 {
					f.hour += 12
				}
			}
		case 'M':
			f.minute = v
		case 'S':
			f.second = v
		case 'j':
			f.yday = v
		}
	}
	return f, nil
}

// fieldsTime converts the fields of a strptime date to a time (see
// parse). It also returns the clock interval around now where the clock
// cannot change the result, for the last-parse cache: any clock for
// dates with a year, none for errors and dates without a day; for dates
// without a year, the clock must give the same current year (see
// yearSpan) and lie on the same side of the one-day-ahead limit.
func (d *Detector) fieldsTime(f fields, now time.Time) (time.Time, clockSpan, error) {
	year, month, day, zone := f.year, f.month, f.day, f.zone
	assumeYear := year < 0
	if assumeYear {
		// now.In(zone).Year(), kept while the clock stays in its span
		if y := &d.year; y.zone == zone && y.span.has(now) {
			year = y.year
		} else {
			nowIn := now.In(zone)
			year = nowIn.Year()
			if !d.noCache {
				*y = yearMemo{zone: zone, year: year, span: yearSpan(nowIn, year)}
			}
		}
	}
	if (month < 0 || day < 0) && f.yday > 0 {
		yd := time.Date(year, 1, f.yday, 0, 0, 0, 0, time.UTC)
		month, day = int(yd.Month()), yd.Day()
	}
	assumeToday := month < 0 && day < 0
	if assumeToday {
		n := now.In(zone)
		month, day = int(n.Month()), n.Day()
	}
	if month < 1 || day < 1 {
		return time.Time{}, noClock, fmt.Errorf("incomplete date")
	}
	if day > daysIn(year, month) {
		return time.Time{}, noClock, fmt.Errorf("day %d out of range for month", day)
	}
	res := time.Date(year, time.Month(month), day, f.hour, f.minute, f.second, 0, zone)
	if assumeToday && res.After(now) {
		res = res.AddDate(0, 0, -1)
	}
	// The date lies more than a day ahead (res.After(now.Add(24 *
	// time.Hour))) for a clock before limit: res has whole seconds, so
	// comparing now's whole seconds is the same.
	limit := res.Unix() - 24*60*60
	ahead := assumeYear && now.Unix() < limit
	if ahead {
		if day > daysIn(year-1, month) {
			return time.Time{}, noClock, fmt.Errorf("day %d out of range for month", day)
		}
		res = time.Date(year-1, time.Month(month), day, f.hour, f.minute, f.second, 0, zone)
	}
	switch {
	case assumeToday:
		// the day is the clock's: not worth remembering (time-only dates are rare)
		return res, noClock, nil
	case !assumeYear:
		return res, anyClock, nil
	}
	span := d.year.span
	if d.noCache {
		span = noClock
	}
	if ahead {
		span.hi = min(span.hi, limit)
	} else {
		span.lo = max(span.lo, limit)
	}
	return res, span, nil
}

// monthDays are the days of the months of a common year.
var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysIn returns the days of month (1-12; others are normalized as
// time.Date does) in year.
func daysIn(year, month int) int {
	if month < 1 || month > 12 {
		return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	}
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return monthDays[month]
}
