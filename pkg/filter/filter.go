package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/f2bd/f2bd/pkg/datedetect"
	"github.com/f2bd/f2bd/pkg/pyregex"
)

// Options configures a Filter with a jail's resolved filter settings.
type Options struct {
	PrefRegex   string   // prefregex; may hold <F-CONTENT>...</F-CONTENT>
	FailRegex   []string // failregex lines, tags unexpanded
	IgnoreRegex []string // ignoreregex lines
	DatePattern string   // datepattern ("" = default templates)
	MaxLines    int      // maxlines (lines buffered for multi-line regexes)
	// UseDNS is the usedns setting. Only addresses are returned as IDs for
	// now: "no" restricts <HOST> to addresses; "warn", "yes" and "raw" keep
	// the DNS alternative, and a name found there is returned as the ID
	// without resolving it.
	UseDNS      string
	LogTimezone string           // logtimezone: fixed offset like UTC+0200 or CET ("" = Location)
	Location    *time.Location   // zone of dates without zone when LogTimezone is empty (time.Local if nil)
	Now         func() time.Time // clock (time.Now if nil)
	// MLFIDMax and MLFIDTTL bound the multi-line failure-id cache (defaults 100 and 5m).
	MLFIDMax int
	MLFIDTTL time.Duration
}

// Failure is a failure (or a non-failure F-NOFAIL match) found in a line.
type Failure struct {
	ID     string            // failure id: F-ID, else the ip4/ip6 address, else the DNS name
	Addr   netip.Addr        // valid when the ID is an IP address (IPv4-mapped IPv6 unmapped)
	Time   time.Time         // date found in the line (or the last recent one, or now)
	NoFail bool              // F-NOFAIL matched: not a failure (only returned by ProcessAll)
	Groups map[string]string // named groups that matched: user, port, cidr, ...
	Users  []string          // all users seen for the F-MLFID connection (sorted)
	Line   string            // the line, date included
	Regex  int               // index of the failregex that matched
}

// Filter runs one jail's filter over log lines. It is stateful (date
// template order, multi-line buffer, F-MLFID cache) and must be used from
// one goroutine.
type Filter struct {
	pref   *pyregex.Regexp
	fail   []*pyregex.Regexp
	ignore []*pyregex.Regexp
	alts   [][2]string // per failregex set: alt_ group -> target
	altsOf [][][2]string
	dates  *datedetect.Detector
	now    func() time.Time
	max    int

	lines    []string // buffered lines (date removed) when max > 1
	lastDate time.Time
	lastText string
	mlfid    mlfidCache
	idx      []int
}

// New compiles the filter. Errors name the option that failed, e.g. "failregex[3]: ...".
func New(o Options) (*Filter, error) {
	f := &Filter{now: o.Now, max: o.MaxLines}
	if f.now == nil {
		f.now = time.Now
	}
	if f.max < 1 {
		f.max = 1
	}
	loc := o.Location
	if o.LogTimezone != "" {
		off, err := datedetect.ZoneOffset(o.LogTimezone)
		if err != nil {
			return nil, fmt.Errorf("logtimezone: %w", err)
		}
		loc = time.FixedZone(o.LogTimezone, off*60)
	}
	var err error
	f.dates, err = datedetect.New(datedetect.Options{Pattern: o.DatePattern, Now: f.now, Location: loc})
	if err != nil {
		return nil, fmt.Errorf("datepattern: %w", err)
	}
	compile := func(what string, i int, src string) (*pyregex.Regexp, error) {
		exp := expandTags(src, o.UseDNS)
		if strings.TrimSpace(exp) == "" {
			return nil, fmt.Errorf("%s[%d]: empty regex", what, i)
		}
		if f.max > 1 {
			exp = "(?m)" + exp
		}
		r, err := pyregex.Compile(exp)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		return r, nil
	}
	if strings.TrimSpace(o.PrefRegex) != "" {
		if f.pref, err = compile("prefregex", 0, o.PrefRegex); err != nil {
			return nil, err
		}
	}
	for i, s := range o.FailRegex {
		r, err := compile("failregex", i, s)
		if err != nil {
			return nil, err
		}
		if !hasIDGroup(r) && (f.pref == nil || !hasIDGroup(f.pref)) {
			return nil, fmt.Errorf("failregex[%d]: no failure-id group (<HOST>, <ADDR>, <F-ID>, <F-MLFID>...) in %q", i, s)
		}
		f.fail = append(f.fail, r)
		f.altsOf = append(f.altsOf, altGroups(r))
	}
	for i, s := range o.IgnoreRegex {
		r, err := compile("ignoreregex", i, s)
		if err != nil {
			return nil, err
		}
		f.ignore = append(f.ignore, r)
	}
	f.mlfid = newMLFIDCache(o.MLFIDMax, o.MLFIDTTL)
	return f, nil
}

func hasIDGroup(r *pyregex.Regexp) bool {
	for _, n := range []string{"fid", "ip4", "ip6", "dns", "mlfid"} {
		if r.SubexpIndex(n) >= 0 {
			return true
		}
	}
	return false
}

// altGroups lists alt_X[_N] groups with the group X they stand in for, sorted.
func altGroups(r *pyregex.Regexp) [][2]string {
	var out [][2]string
	for _, n := range r.SubexpNames() {
		if m := complexNameR.FindStringSubmatch(n); m != nil && m[1] == "alt_" {
			out = append(out, [2]string{n, groupName(m[2])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Process runs the filter over one line and returns the failure it holds,
// if any. F-NOFAIL matches and pending multi-line matches are not failures.
func (f *Filter) Process(line string) (Failure, bool) {
	fl, ok, _ := f.process(line)
	if !ok || fl.NoFail {
		return Failure{}, false
	}
	return fl, true
}

// ProcessErr is Process that also reports errors (unparsable date,
// regex timeout, a match without a usable failure id).
func (f *Filter) ProcessErr(line string) (Failure, bool, error) {
	fl, ok, err := f.process(line)
	if !ok || fl.NoFail {
		return Failure{}, false, err
	}
	return fl, true, err
}

// ProcessAll is Process that also returns F-NOFAIL matches (NoFail set).
func (f *Filter) ProcessAll(line string) (Failure, bool) {
	fl, ok, _ := f.process(line)
	return fl, ok
}

// ProcessAt is Process for a source that knows each line's time (the
// systemd journal): no date is searched in the line and t is its time.
func (f *Filter) ProcessAt(line string, t time.Time) (Failure, bool) {
	fl, ok, _ := f.process2(line, t, true)
	if !ok || fl.NoFail {
		return Failure{}, false
	}
	return fl, true
}

func (f *Filter) process(line string) (Failure, bool, error) {
	return f.process2(line, time.Time{}, false)
}

func (f *Filter) process2(line string, at time.Time, known bool) (Failure, bool, error) {
	var errs []error
	now := f.now()
	// Find the date and cut it out of the line.
	body := line
	var date time.Time
	var m datedetect.Match
	var found bool
	var err error
	if known {
		date = at
	} else {
		m, found, err = f.dates.Find(line)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if found || err != nil {
		body = line[:m.Start] + line[m.End:]
	}
	if known {
	} else if found {
		date = m.Time
		f.lastDate, f.lastText = date, line[m.Start:m.End]
	} else if !f.lastDate.IsZero() && f.lastDate.After(now.Add(-time.Minute)) {
		date = f.lastDate
	} else {
		date = now
	}

	// Build the buffer: buffered lines joined by newlines, newline-terminated.
	var buf string
	if f.max > 1 {
		f.lines = append(f.lines, body)
		if len(f.lines) > f.max {
			f.lines = f.lines[len(f.lines)-f.max:]
		}
		buf = strings.Join(f.lines, "\n") + "\n"
	} else {
		buf = body + "\n"
	}

	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 {
		if ign, err := f.ignored(buf); err != nil || ign {
			return Failure{}, false, errors.Join(append(errs, err)...)
		}
	}

	var pre map[string]string
	if f.pref != nil {
		loc, err := f.pref.FindIndex(buf, f.idx)
		if err != nil {
			return Failure{}, false, errors.Join(append(errs, err)...)
		}
		if loc == nil {
			return Failure{}, false, errors.Join(errs...)
		}
		f.idx = loc
		pre = groups(f.pref, buf, loc)
		if c, ok := pre["content"]; ok {
			delete(pre, "content")
			if c != "" {
				buf = c + "\n"
				if f.max > 1 {
					f.lines = []string{c}
				}
			}
		}
	}

	for i, r := range f.fail {
		loc, err := r.FindIndex(buf, f.idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("failregex[%d]: %w", i, err))
			continue
		}
		if loc == nil {
			continue
		}
		f.idx = loc
		g := groups(r, buf, loc)
		for _, a := range f.altsOf[i] {
			if v := g[a[0]]; v != "" && g[a[1]] == "" {
				g[a[1]] = v
			}
		}
		if len(f.ignore) > 0 {
			ign, err := f.ignored(buf)
			if err != nil {
				errs = append(errs, err)
			}
			if ign {
				break
			}
		}
		if f.max > 1 {
			f.lines = unmatchedLines(f.lines, buf, loc[0], loc[1])
		}
		for k, v := range pre {
			if _, ok := g[k]; !ok {
				g[k] = v
			}
		}
		fail := &entry{g: g}
		mlfid, hasMLFID := g["mlfid"]
		if hasMLFID {
			fail = f.mlfid.merge(mlfid, fail, now)
			if truthy(fail.g["nofail"]) {
				return f.failure(fail, line, date, i, "", true), true, errors.Join(errs...)
			}
		}
		id := ""
		for _, k := range []string{"ip4", "ip6", "dns"} {
			if v, ok := fail.g[k]; ok {
				id = v
				break
			}
		}
		fid, hasFID := fail.g["fid"]
		if id == "" {
			if !hasFID && !hasMLFID {
				errs = append(errs, fmt.Errorf("failregex[%d]: no failure id in %q", i, buf))
				break
			}
			id = fid
		} else if hasFID && fid != id {
			// complex failure id: the address is kept in the groups
			fail.g["ip"] = id
			id = fid
		}
		if id == "" {
			// F-MLFID known but no address yet: pending
			fail.g["mlfpending"] = "1"
			return Failure{}, false, errors.Join(errs...)
		}
		return f.failure(fail, line, date, i, id, false), true, errors.Join(errs...)
	}
	return Failure{}, false, errors.Join(errs...)
}

func (f *Filter) failure(e *entry, line string, date time.Time, i int, id string, nofail bool) Failure {
	g := make(map[string]string, len(e.g))
	for k, v := range e.g {
		if !strings.HasPrefix(k, "mlf") && k != "nofail" {
			g[k] = v
		}
	}
	fl := Failure{ID: id, Time: date, NoFail: nofail, Groups: g, Line: line, Regex: i}
	if a, err := netip.ParseAddr(id); err == nil {
		fl.Addr = a.Unmap()
		if a.Is4In6() {
			fl.ID = fl.Addr.String()
		}
	}
	for u := range e.users {
		fl.Users = append(fl.Users, u)
	}
	sort.Strings(fl.Users)
	return fl
}

func (f *Filter) ignored(buf string) (bool, error) {
	for i, r := range f.ignore {
		ok, err := r.MatchString(buf)
		if err != nil {
			return false, fmt.Errorf("ignoreregex[%d]: %w", i, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// unmatchedLines drops the buffered lines covered by the match [s,e) of buf.
func unmatchedLines(lines []string, buf string, s, e int) []string {
	first := strings.Count(buf[:s], "\n")
	if s > 0 && buf[s-1] == '\n' {
		// match starts at a line start: that line is first
	}
	endAt := e
	if endAt > 0 {
		endAt--
	}
	last := strings.Count(buf[:max(endAt, s)], "\n")
	if last >= len(lines) {
		last = len(lines) - 1
	}
	out := append([]string(nil), lines[:first]...)
	return append(out, lines[last+1:]...)
}

// groups returns the named groups that took part in the match.
func groups(r *pyregex.Regexp, s string, loc []int) map[string]string {
	g := make(map[string]string, 8)
	for i, n := range r.SubexpNames() {
		if n == "" || loc[2*i] < 0 {
			continue
		}
		g[n] = s[loc[2*i]:loc[2*i+1]]
	}
	return g
}

func truthy(s string) bool { return s != "" }
