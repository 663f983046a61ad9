package datedetect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// cacheLines makes a log of n lines for the cache test, with its clock:
// dates mostly in runs of the same second then the next one, with jumps
// (forward, backward, to the turn of a year and to the DST changes of
// 2025), in many shapes (syslog in canonical and other forms, ISO, epoch,
// Apache, no date, invalid dates and times, mutations), and a clock
// mostly a little after the date but also near the limit of a day ahead
// of it (the missing-year rule), far from it, or before it.
func cacheLines(r *rand.Rand, loc *time.Location, n int) (lines []string, nows []time.Time) {
	specials := []time.Time{
		time.Date(2024, 12, 31, 23, 58, 30, 0, loc), // year turn
		time.Date(2025, 12, 31, 23, 59, 50, 0, loc),
		time.Date(2024, 2, 28, 23, 59, 50, 0, loc), // leap day
		time.Date(2025, 3, 30, 1, 59, 30, 0, loc),  // DST begins (CET)
		time.Date(2025, 10, 26, 1, 59, 30, 0, loc), // DST ends (CET)
		time.Date(2025, 3, 1, 0, 0, 0, 0, loc),
		time.Date(2025, 8, 14, 11, 59, 0, 0, loc),
	}
	hosts := []string{" srv1 sshd[1047]: Connection from 198.19.237.80 port 31178", " srv1 CRON[22]: (root) CMD (x)",
		" srv1 systemd[1]: Started x.", "", ":", " 2005 x", ".5 x", " x 2005-08-14 10:00:00 y"}
	day := func(t time.Time, pad string) string {
		if t.Day() < 10 {
			return pad + fmt.Sprint(t.Day())
		}
		return fmt.Sprint(t.Day())
	}
	formats := []func(t time.Time, host string) string{
		func(t time.Time, host string) string { return t.Format(time.Stamp) + host },
		func(t time.Time, host string) string { return t.Format(time.Stamp) + host },
		func(t time.Time, host string) string { return t.Format(time.Stamp) + host },
		func(t time.Time, host string) string { return "[" + t.Format(time.Stamp) + "]" + host },
		func(t time.Time, host string) string {
			return t.Format("Jan") + " " + day(t, "0") + " " + t.Format("15:04:05") + host
		},
		func(t time.Time, host string) string {
			return t.Format("Jan") + " " + day(t, "") + "  " + t.Format("15:04:05") + host
		},
		func(t time.Time, host string) string { return strings.ToUpper(t.Format(time.Stamp)) + host },
		func(t time.Time, host string) string { return "Mon " + t.Format(time.StampMilli) + host },
		func(t time.Time, host string) string { return t.Format("Jan _2 15:04:05 2006") + host },
		func(t time.Time, host string) string { return "ü " + t.Format(time.Stamp) + host },
		func(t time.Time, host string) string { return t.Format("2006-01-02T15:04:05-07:00") + host },
		func(t time.Time, host string) string { return t.Format("2006-01-02 15:04:05") + host },
		func(t time.Time, host string) string { return t.Format("2006-01-02 15:04:05 -0700 MST") + host },
		func(t time.Time, host string) string { return fmt.Sprintf("[%d]%s", t.Unix(), host) },
		func(t time.Time, host string) string {
			return "1.2.3.4 - - [" + t.Format("02/Jan/2006:15:04:05 -0700") + "] \"GET /\"" + host
		},
		func(t time.Time, host string) string { return t.Format("15:04:05") + " time only" + host },
		func(t time.Time, host string) string { return "no date here" + host },
		func(t time.Time, host string) string { return "Feb 29 " + t.Format("15:04:05") + host },
		func(t time.Time, host string) string { return "Feb 30 " + t.Format("15:04:05") + host },
		func(t time.Time, host string) string { return t.Format("Jan _2") + " 24:00:00" + host },
		func(t time.Time, host string) string { return t.Format("Jan _2 15:04") + ":60" + host },
		func(t time.Time, host string) string { return mutate(r, t.Format(time.Stamp)+host) },
	}
	t := specials[r.IntN(len(specials))]
	f, host := formats[0], hosts[0]
	for len(lines) < n {
		switch x := r.IntN(1000); {
		case x < 700: // the same second
		case x < 930:
			t = t.Add(time.Second)
		case x < 970:
			t = t.Add(time.Duration(2+r.IntN(300)) * time.Second)
		case x < 985:
			t = t.Add(time.Duration(r.IntN(800)-400) * time.Hour)
		default:
			t = specials[r.IntN(len(specials))].Add(time.Duration(r.IntN(120)) * time.Second)
		}
		if r.IntN(40) == 0 {
			f = formats[r.IntN(len(formats))]
		}
		if r.IntN(10) == 0 {
			host = hosts[r.IntN(len(hosts))]
		}
		var now time.Time
		switch x := r.IntN(100); {
		case x < 75: // a little after the date
			now = t.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
		case x < 90: // near the limit of a day ahead
			now = t.Add(-24*time.Hour + time.Duration(r.IntN(6000)-3000)*time.Millisecond)
		case x < 93:
			now = t.Add(time.Duration(r.IntN(800)-400) * time.Hour)
		case x < 95: // months away (other zone periods)
			now = t.Add(time.Duration(r.IntN(14400)-7200)*time.Hour + time.Duration(r.IntN(7200))*time.Second)
		default: // exactly at the limit, or just around it
			now = t.Add(-24*time.Hour + time.Duration(r.IntN(3)-1)*time.Nanosecond)
		}
		if r.IntN(5) == 0 {
			now = now.In(time.UTC)
		}
		lines = append(lines, f(t.In(loc), host))
		nows = append(nows, now)
	}
	return lines, nows
}

// detState is the state of a detector that decides what it does with the
// next lines: the template order and statistics, the last match, the zone.
func detState(d *Detector) string {
	var b strings.Builder
	for _, s := range d.slots {
		fmt.Fprintf(&b, "%d:%d/%d/%d/%d ", slices.Index(d.templates, s.t), s.hits, s.t.hits, s.distance, s.lastUsed.UnixNano())
	}
	fmt.Fprintf(&b, "last %d first %d pos %v end %v zone %q", d.lastIdx, d.firstUnused, d.lastPos, d.lastEnd, d.zoneText)
	return b.String()
}

// sameState reports whether two detectors built alike have the same state
// (see detState).
func sameState(a, b *Detector) bool {
	if a.lastIdx != b.lastIdx || a.firstUnused != b.firstUnused || a.lastPos != b.lastPos || a.lastEnd != b.lastEnd ||
		a.zoneText != b.zoneText {
		return false
	}
	for i, s := range a.slots {
		o := b.slots[i]
		if slices.Index(a.templates, s.t) != slices.Index(b.templates, o.t) || s.hits != o.hits || s.t.hits != o.t.hits ||
			s.distance != o.distance || !s.lastUsed.Equal(o.lastUsed) {
			return false
		}
	}
	return true
}

// TestCacheSameResults runs long random sequences of lines and clocks
// through two detectors, one with the caches (match memo, last parse,
// current year) and one without, and checks that they find the same
// dates, times and errors and end each line in the same state.
func TestCacheSameResults(t *testing.T) {
	cet, err := PosixLocation("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{time.UTC, cet, time.FixedZone("X", -7*3600-1800)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	patterns := []string{"", "{^LN-BEG}", "%b %d %H:%M:%S", "{^LN-BEG}%b %d %H:%M:%S", "%Y-%m-%d %H:%M:%S %z %Z",
		"%H:%M:%S", "EPOCH", "^%b %d %H:%M:%S\n%Y-%m-%d %H:%M:%S"}
	n := 5000
	if testing.Short() {
		n = 1000
	}
	hits, ticks, again := 0, 0, 0
	for zi, loc := range zones {
		for pi, pattern := range patterns {
			seed := uint64(zi*100 + pi)
			lines, nows := cacheLines(rand.New(rand.NewPCG(seed, 11)), loc, n)
			h, k, _ := compareWithUncached(t, pattern, loc, lines, nows)
			hits, ticks = hits+h, ticks+k
			// and dated in batches, as a jail dates its lines: one clock
			// reading for runs of lines (the memo's answer again)
			r := rand.New(rand.NewPCG(seed, 12))
			for i := 1; i < len(nows); i++ {
				if r.IntN(16) != 0 {
					nows[i] = nows[i-1]
				}
			}
			_, _, a := compareWithUncached(t, pattern, loc, lines, nows)
			again += a
		}
	}
	t.Logf("%d lines by memo match, %d ticks, %d answered again", hits, ticks, again)
	if again < n {
		t.Errorf("only %d lines answered again: the batched runs do not exercise it", again)
	}
}

// compareWithUncached runs lines with their clocks nows through two
// detectors for pattern in zone loc, one with the caches (match memos,
// last parses, current year) and one without, and checks that they find
// the same dates, times and errors and end each line in the same state.
// It returns how many lines the memos took unchanged, and how many ticked.
func compareWithUncached(t *testing.T, pattern string, loc *time.Location, lines []string, nows []time.Time) (hits, ticks, agained int) {
	t.Helper()
	opts := Options{Pattern: pattern, Location: loc, Now: func() time.Time { return nows[0] }}
	cached, err := New(opts)
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	plain, _ := New(opts)
	plain.noCache = true
	where := func(i int) string {
		return fmt.Sprintf("%s %q line %d %q now %v", loc, pattern, i, lines[i], nows[i])
	}
	bad := 0
	for i, line := range lines {
		var gen uint64
		if cached.memoHit != nil {
			gen = cached.memoHit.gen
		}
		prev := cached.memoHit
		mc, okc, errc := cached.FindAt(line, nows[i])
		mp, okp, errp := plain.FindAt(line, nows[i])
		if cached.memoTicked {
			ticks++
		}
		if cached.locIsMemo && cached.memoHit == prev && cached.memoHit.gen == gen && okc && !mc.Empty {
			hits++
		}
		if okc != okp || fmt.Sprint(errc) != fmt.Sprint(errp) || mc.Start != mp.Start || mc.End != mp.End || mc.Empty != mp.Empty {
			t.Errorf("%s: cached %+v %v %v, uncached %+v %v %v", where(i), mc, okc, errc, mp, okp, errp)
			bad++
		} else if !sameTime(mc.Time, mp.Time, loc) {
			t.Errorf("%s: cached time %v, uncached %v", where(i), mc.Time, mp.Time)
			bad++
		} else if !sameState(cached, plain) {
			t.Errorf("%s: cached state\n%s\nuncached\n%s", where(i), detState(cached), detState(plain))
			bad++
		}
		if bad > 5 {
			t.FailNow()
		}
	}
	return hits, ticks, cached.agained
}

// TestCacheInterleaved is TestCacheSameResults for logs whose formats
// alternate line by line, as in a log several programs write (the
// templates' own last parses and memos, two memos a template, the zone
// state shared by templates with explicit zones): several sequences of
// cacheLines merged at random, and the mixed benchmark log with clocks
// around the lines' dates.
func TestCacheInterleaved(t *testing.T) {
	cet, err := PosixLocation("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{time.UTC, cet}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	patterns := []string{"", "{^LN-BEG}", "%Y-%m-%d %H:%M:%S %z\n%d/%b/%Y:%H:%M:%S %z", "^%b %d %H:%M:%S\n%Y-%m-%d %H:%M:%S %Z",
		"{^LN-BEG}%Y-%m-%d %H:%M:%S %z\n{^LN-BEG}%Y-%m-%d %H:%M:%S\nEPOCH\n%b %d %H:%M:%S"}
	n := 4000
	if testing.Short() {
		n = 1000
	}
	hits, ticks := 0, 0
	for zi, loc := range zones {
		for pi, pattern := range patterns {
			r := rand.New(rand.NewPCG(uint64(zi*100+pi), 12))
			var ls [][]string
			var ns [][]time.Time
			for range 2 + r.IntN(3) {
				l, c := cacheLines(rand.New(rand.NewPCG(r.Uint64(), 13)), loc, n)
				ls, ns = append(ls, l), append(ns, c)
			}
			var lines []string
			var nows []time.Time
			for len(lines) < n {
				k := r.IntN(len(ls))
				lines, nows = append(lines, ls[k][0]), append(nows, ns[k][0])
				ls[k], ns[k] = ls[k][1:], ns[k][1:]
			}
			h, k, _ := compareWithUncached(t, pattern, loc, lines, nows)
			hits, ticks = hits+h, ticks+k
		}
	}
	lines, nows := mixedSequence(t)
	r := rand.New(rand.NewPCG(5, 13))
	for i := range nows {
		switch x := r.IntN(100); {
		case x < 3: // near the day-ahead limit
			nows[i] = nows[i].Add(-24*time.Hour + time.Duration(r.IntN(4000)-2000)*time.Millisecond)
		case x < 5:
			nows[i] = nows[i].Add(time.Duration(r.IntN(800)-400) * time.Hour)
		}
	}
	for _, pattern := range patterns[:2] {
		for _, loc := range zones {
			h, k, _ := compareWithUncached(t, pattern, loc, lines, nows)
			hits, ticks = hits+h, ticks+k
		}
	}
	t.Logf("%d lines by memo match, %d ticks", hits, ticks)
}

// sameTime compares times of two detectors: the same value (zone
// included) in the detectors' zone loc, else the same instant in a zone
// of the same name and offset (each detector makes its own zones).
func sameTime(a, b time.Time, loc *time.Location) bool {
	if a.Location() == loc || b.Location() == loc {
		return a == b
	}
	an, ao := a.Zone()
	bn, bo := b.Zone()
	return a.Equal(b) && an == bn && ao == bo && a.Location().String() == b.Location().String()
}

// TestFindNoAllocMixed checks that dating the mixed log (syslog, nginx
// and asterisk lines interleaved) allocates nothing once the memos are
// set up.
func TestFindNoAllocMixed(t *testing.T) {
	lines, nows := mixedSequence(t)
	d, err := New(Options{Location: time.UTC, Now: func() time.Time { return nows[0] }})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		d.FindAt(l, nows[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(len(lines), func() {
		if _, ok, _ := d.FindAt(lines[i], nows[i]); !ok {
			t.Fatal("no date")
		}
		i = (i + 1) % len(lines)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per line", allocs)
	}
}

// TestMemoTick checks the memo on the usual sequence: the same second
// repeated, then the next one, a new minute, hour and day.
func TestMemoTick(t *testing.T) {
	d, err := New(Options{Pattern: "{^LN-BEG}", Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)
	for i, c := range []struct {
		line   string
		ticked bool
		want   time.Time
	}{
		{"Dec 31 23:59:58 a", false, time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)},
		{"Dec 31 23:59:58 b", false, time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)},
		{"Dec 31 23:59:59 c", true, time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Dec 31 23:59:60 d", false, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, // the regex's %S takes 60
		{"Dec 31 23:59:59.5 e", false, time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Dec 31 23:59:59 f", false, time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Dec 31 24:00:00 g", false, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, // %k takes 24
		{"Jan  1 00:00:00 h", false, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, // now is still 2025
		{"Jan  1 00:00:01 i", true, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)},  // now is 2026
	} {
		if i == 8 {
			now = time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
		}
		m, ok, err := d.FindAt(c.line, now)
		if c.want.IsZero() {
			if ok {
				t.Errorf("%q: found %v", c.line, m.Time)
			}
			continue
		}
		if !ok || err != nil || m.Time != c.want {
			t.Errorf("%q: %v %v %v, want %v", c.line, m.Time, ok, err, c.want)
		}
		if d.memoTicked != c.ticked {
			t.Errorf("%q: ticked %v, want %v", c.line, d.memoTicked, c.ticked)
		}
	}
}

// TestFindNoAlloc checks that dating syslog lines allocates nothing.
func TestFindNoAlloc(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
	lines, nows := syslogSequence(rand.New(rand.NewPCG(5, 6)), start, loc, 500)
	d, err := New(Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		if _, ok, _ := d.FindAt(lines[i], nows[i]); !ok {
			t.Fatal("no date")
		}
		i = (i + 1) % len(lines)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per line", allocs)
	}
}

// TestMemoMatchesFast checks the match memo's claim on pairs of lines, for
// each template with a memo (syslog, ISO): when it takes the second line
// (the same start, or only another time of day), the fast matcher is sure
// of it and gives the memo's offsets, and a tick reads the time the
// fields hold.
func TestMemoMatchesFast(t *testing.T) {
	tails := []string{"", " x", ".5", " 2024", "x", ":", "\u00e4", " 1", ",5 x", " +01:00", "+0100", "Z", " Z x", " UTC", " U x",
		"]", "] x", "\t-01:30", "  [error]", " [", "-", "+x", "\n"}
	for _, tp := range fastTemplates(t) {
		if tp.fastTail == nil || !tp.memoClock {
			t.Fatalf("%s: no memo", tp.name)
		}
		r := rand.New(rand.NewPCG(7, 8))
		firsts := genDateLines(r, 20000)
		mixed, _ := mixedSequence(t)
		firsts = append(firsts, mixed[:2000]...)
		for i := range 5000 {
			// ISO dates in canonical shapes with varied tails
			firsts = append(firsts, []string{"", "[", "  "}[i%3]+fmt.Sprintf("20%02d%c%02d%c%02d%s%02d:%02d:%02d", 5+r.IntN(20),
				"-/."[i%3], 1+r.IntN(12), "-/."[i%3], 1+r.IntN(28), []string{"T", " ", "  "}[r.IntN(3)], r.IntN(24), r.IntN(60), r.IntN(60))+
				tails[r.IntN(len(tails))])
		}
		same, ticks := 0, 0
		for _, a := range firsts {
			loc, sure := tp.fast(tp, a, nil)
			if !sure {
				continue
			}
			var m matchMemo
			m.set(tp, a, loc)
			for range 6 {
				b := a
				switch r.IntN(5) {
				case 0: // another time of day, maybe out of range
					if h := m.clock; h >= 0 {
						bs := []byte(a)
						for _, k := range []int{0, 1, 3, 4, 6, 7} {
							if r.IntN(3) == 0 {
								bs[h+k] = byte('0' + r.IntN(10))
							}
						}
						b = string(bs)
					}
				case 1: // another tail
					b = a[:loc[1]] + tails[r.IntN(len(tails))]
				case 2: // another time of day and tail
					if h := m.clock; h >= 0 {
						b = a[:h] + fmt.Sprintf("%02d:%02d:%02d", r.IntN(25), r.IntN(61), r.IntN(61)) + tails[r.IntN(len(tails))]
					}
				case 3:
					b = mutate(r, a)
				}
				ok, ticked := m.match(b)
				if !ok {
					m.set(tp, a, loc) // match only moves the memo when it takes the line
					continue
				}
				want, sure := tp.fast(tp, b, nil)
				if !sure || !slices.Equal(want, m.loc) {
					t.Fatalf("%s: %q then %q: memo %v, fast matcher %v %v", tp.name, a, b, m.loc, want, sure)
				}
				if string(m.prefix) != b[:len(m.prefix)] {
					t.Fatalf("%s: %q then %q: memo prefix %q", tp.name, a, b, m.prefix)
				}
				if ticked {
					ticks++
					hh, mm, ss := m.clockOf(b)
					g := func(f byte) int { i := tp.fields[f]; v, _ := atoi(b[want[2*i]:want[2*i+1]]); return v }
					if hh != g('H') || mm != g('M') || ss != g('S') {
						t.Fatalf("%s: %q then %q: clock %d:%d:%d", tp.name, a, b, hh, mm, ss)
					}
				} else {
					same++
				}
				// the memo now holds b's match: it takes b again, untouched
				if ok, ticked := m.match(b); !ok || ticked {
					t.Fatalf("%s: %q then %q: memo does not take it again (%v %v)", tp.name, a, b, ok, ticked)
				}
				m.set(tp, a, loc)
			}
		}
		t.Logf("%s: %d same, %d ticks", tp.name, same, ticks)
		if same == 0 || ticks == 0 {
			t.Errorf("%s: no memo match or no tick", tp.name)
		}
	}
}

// TestShiftedMatchesDate checks lastParse.shifted, which moves the time
// of a date with year, month and day to another time of day without
// time.Date: whenever it gives a time, it is time.Date's, on random dates
// and times of day around the zone transitions of several zones (DST
// rules forward and back, a half-hour DST, fixed zones).
func TestShiftedMatchesDate(t *testing.T) {
	cet, err := PosixLocation("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{time.UTC, cet, time.FixedZone("X", -7*3600-1800)}
	for _, name := range []string{"America/New_York", "Australia/Lord_Howe", "Europe/London", "Asia/Kolkata"} {
		if z, err := time.LoadLocation(name); err == nil {
			zones = append(zones, z)
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	shifted, tried := 0, 0
	for _, zone := range zones {
		// dates around the zone's transitions of 2024 to 2026, and others
		var days []time.Time
		for y := 2024; y <= 2026; y++ {
			at := time.Date(y, 1, 1, 0, 0, 0, 0, zone)
			for range 4 {
				_, end := at.ZoneBounds()
				if end.IsZero() {
					break
				}
				days = append(days, end.In(zone).AddDate(0, 0, -1), end.In(zone), end.In(zone).AddDate(0, 0, 1))
				at = end
			}
		}
		for range 20 {
			days = append(days, time.Date(2020+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, zone))
		}
		for _, day := range days {
			y, mo, dd := day.Date()
			for range 40 {
				f := fields{year: y, month: int(mo), day: dd, hour: r.IntN(24), minute: r.IntN(60), second: r.IntN(62), yday: -1, zone: zone}
				var c lastParse
				c.t, c.f, c.span = &template{}, f, anyClock
				c.time = time.Date(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.second, 0, zone)
				for range 20 {
					g := f
					if r.IntN(2) == 0 {
						g.hour, g.minute, g.second = r.IntN(24), r.IntN(60), r.IntN(62)
					} else { // near: the usual next second or minute
						g.second += r.IntN(3)
						g.minute += r.IntN(2)
					}
					tried++
					got, local, ok := c.shifted(&g)
					if !ok {
						continue
					}
					shifted++
					want := time.Date(g.year, time.Month(g.month), g.day, g.hour, g.minute, g.second, 0, zone)
					if got != want {
						t.Fatalf("%s: %+v shifted to %02d:%02d:%02d: %v, time.Date %v", zone, f, g.hour, g.minute, g.second, got, want)
					}
					// as FindAt does: the shifted time becomes the last parse
					var n lastParse
					n.t, n.f, n.span, n.time = c.t, g, anyClock, got
					n.setShift(&c, local)
					c = n
					f = g
				}
			}
		}
	}
	t.Logf("%d of %d shifted", shifted, tried)
	if shifted == 0 {
		t.Error("nothing shifted")
	}
}
