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
// years and days and stamps the template's use.
func (d *Detector) FindAt(line string, now time.Time) (m Match, ok bool, err error) {
	if d.none {
		return Match{}, false, nil
	}
	idx, loc := d.match(line, now)
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
	m.Time, err = d.parse(t, line, loc, now)
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

// parse converts a template match to a time following fail2ban's rules:
// a missing year is the current one, or the previous one when the date
// would lie more than a day in the future; a missing day is today, or
// yesterday when the time would lie in the future.
func (d *Detector) parse(t *template, line string, loc []int, now time.Time) (time.Time, error) {
	text := line[loc[2*t.grp]:loc[2*t.grp+1]]
	switch t.kind {
	case kindEpoch, kindLongEpoch:
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse epoch: %w", err)
		}
		if t.kind == kindLongEpoch && len(text) >= 13 {
			if len(text) >= 16 && !strings.Contains(text, ".") {
				v /= 1e6
			} else {
				v /= 1e3
			}
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3), nil
	case kindTAI64N:
		sec, err := strconv.ParseInt(text[2:17], 16, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse tai64n: %w", err)
		}
		return time.Unix(sec, 0), nil
	}
	num := func(f byte) (int, bool, error) {
		s, ok := d.group(t, line, loc, f)
		if !ok {
			return 0, false, nil
		}
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, false, fmt.Errorf("field %%%c: %w", f, err)
		}
		return v, true, nil
	}
	year, month, day := -1, -1, -1
	hour, minute, second := 0, 0, 0
	if v, ok, err := num('y'); err != nil {
		return time.Time{}, err
	} else if ok {
		year = v
		if year <= 2000 {
			year += 2000
		}
	}
	if v, ok, err := num('Y'); err != nil {
		return time.Time{}, err
	} else if ok {
		year = v
	}
	if v, ok, err := num('m'); err != nil {
		return time.Time{}, err
	} else if ok {
		month = v
	}
	if s, ok := d.group(t, line, loc, 'b'); ok {
		month = indexOf(monthAbbr, s) + 1
	}
	if s, ok := d.group(t, line, loc, 'B'); ok {
		month = indexOf(monthFull, s) + 1
	}
	if v, ok, err := num('d'); err != nil {
		return time.Time{}, err
	} else if ok {
		day = v
	}
	if v, ok, err := num('H'); err != nil {
		return time.Time{}, err
	} else if ok {
		hour = v
	}
	if v, ok, err := num('I'); err != nil {
		return time.Time{}, err
	} else if ok {
		hour = v
		p, _ := d.group(t, line, loc, 'p')
		switch strings.ToLower(p) {
		case "", "am":
			if hour == 12 {
				hour = 0
			}
		case "pm":
			if hour != 12 {
				hour += 12
			}
		}
	}
	if v, ok, err := num('M'); err != nil {
		return time.Time{}, err
	} else if ok {
		minute = v
	}
	if v, ok, err := num('S'); err != nil {
		return time.Time{}, err
	} else if ok {
		second = v
	}
	var yday = -1
	if v, ok, err := num('j'); err != nil {
		return time.Time{}, err
	} else if ok {
		yday = v
	}
	zone := d.loc
	for _, f := range []byte{'z', 'Z'} {
		if s, ok := d.group(t, line, loc, f); ok {
			if s == d.zoneText && d.zoneLoc != nil {
				zone = d.zoneLoc
				continue
			}
			off, err := ZoneOffset(s)
			if err != nil {
				return time.Time{}, err
			}
			s = strings.Clone(s)
			zone = time.FixedZone(s, off*60)
			d.zoneText, d.zoneLoc = s, zone
		}
	}
	assumeYear := year < 0
	if assumeYear {
		year = now.In(zone).Year()
	}
	if (month < 0 || day < 0) && yday > 0 {
		yd := time.Date(year, 1, yday, 0, 0, 0, 0, time.UTC)
		month, day = int(yd.Month()), yd.Day()
	}
	assumeToday := month < 0 && day < 0
	if assumeToday {
		n := now.In(zone)
		month, day = int(n.Month()), n.Day()
	}
	if month < 1 || day < 1 {
		return time.Time{}, fmt.Errorf("incomplete date")
	}
	if day > daysIn(year, month) {
		return time.Time{}, fmt.Errorf("day %d out of range for month", day)
	}
	res := time.Date(year, time.Month(month), day, hour, minute, second, 0, zone)
	if assumeToday && res.After(now) {
		res = res.AddDate(0, 0, -1)
	}
	if assumeYear && res.After(now.Add(24*time.Hour)) {
		if day > daysIn(year-1, month) {
			return time.Time{}, fmt.Errorf("day %d out of range for month", day)
		}
		res = time.Date(year-1, time.Month(month), day, hour, minute, second, 0, zone)
	}
	return res, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
