package filter

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

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
	// UseDNS is the usedns setting: "no" restricts <HOST> to addresses and
	// drops failures whose id is a host name; "raw" returns host names and
	// F-ID values as written; "yes" and "warn" (the default when empty)
	// resolve a host name with Resolve, one failure per address.
	UseDNS string
	// Resolve looks a host name up for usedns yes/warn (net.DefaultResolver
	// with a 5s limit when nil).
	Resolve func(name string) []string
	// RawHost returns every failure id as written, without normalising or
	// resolving it (fail2ban's returnRawHost, used by its sample tests).
	RawHost bool
	// CheckAll tries every failregex on each line and returns every match
	// (fail2ban's checkAllRegex, used by fail2ban-regex and its sample
	// tests); otherwise the first matching failregex wins.
	CheckAll    bool
	LogTimezone string           // logtimezone: fixed offset like UTC+0200 or CET ("" = Location)
	Location    *time.Location   // zone of dates without zone when LogTimezone is empty (time.Local if nil)
	Now         func() time.Time // clock (time.Now if nil)
	// MatchTimeout bounds one backtracking regex match (pyregex.DefaultMatchTimeout if 0).
	MatchTimeout time.Duration
	// MLFIDMax and MLFIDTTL bound the multi-line failure-id cache (defaults 100 and 5m).
	MLFIDMax int
	MLFIDTTL time.Duration
	// CountOnly: failures carry what counting them needs (ID, Addr,
	// Time, NoFail, Line, Regex); Groups, Users and Matches stay empty,
	// which spares building them for every failure. F-NOFAIL results
	// (ProcessLine's, in CheckAll mode), which nothing counts, carry only
	// ID, Time, NoFail and Regex. A jail whose actions use no failure tags
	// sets it, and f2bctl regex without --json.
	CountOnly bool
}

// Failure is a failure (or a non-failure F-NOFAIL match) found in a line.
type Failure struct {
	ID     string     // failure id: F-ID, else the ip4/ip6 address, else the DNS name
	Addr   netip.Addr // valid when the ID is an IP address (IPv4-mapped IPv6 unmapped)
	Time   time.Time  // date found in the line (or the last recent one, or now)
	NoFail bool       // F-NOFAIL matched: not a failure (only returned by ProcessAll/ProcessLine)
	// Pending is set for an F-MLFID match that has no failure id yet
	// (ID empty); only ProcessLine returns such results, in CheckAll mode.
	Pending bool
	Groups  map[string]string // named groups that matched: user, port, cidr, ...
	Users   []string          // all users seen for the F-MLFID connection (sorted)
	Matches []string          // the log lines of this failure (date removed), fail2ban's "matches"
	Line    string            // the line, date included
	Regex   int               // index of the failregex that matched
}

// Filter runs one jail's filter over log lines. It is stateful (date
// template order, multi-line buffer, F-MLFID cache) and must be used from
// one goroutine.
type Filter struct {
	pref *pyregex.Regexp
	// fastPre matches the prefregex without the regex when it has the
	// usual syslog shape (nil: always run the regex).
	fastPre *syslogPrefix
	fail    []*pyregex.Regexp
	ignore  []*pyregex.Regexp
	altsOf  [][][2]groupID
	// names numbers the groups; failIDs[i] are failregex i's group
	// numbers by index, prefIDs the prefregex's.
	names   groupNames
	failIDs [][]groupID
	prefIDs []groupID
	skipsOf [][]int // per failregex: indexes of skiplinesN groups
	// prefOf[i] are the prefregex's groups (indexes) that failregex i's
	// matches get (all named ones but its content, when failregex i has
	// no group of that name); contentIdx is the content group's (-1: none).
	prefOf     [][]int
	contentIdx int
	dates      *datedetect.Detector
	now        func() time.Time
	max        int
	useDNS     string
	raw        bool
	checkAll   bool
	countOnly  bool
	resolve    func(string) []string

	lines    []string  // buffered lines (date removed)
	lastDate time.Time // the last date found, for lines without one (recentDate)
	mlfid    mlfidCache
	idx      []int
	scratch  []byte // bufOf's buffer
	lineBuf  []byte // maxlines 1: the line with its date cut out, newline-terminated
	preIdx   []int  // the prefregex match
	org1     [1]string
	// pre is the literal prefilter of the failregexes (nil: none) and
	// mask its result for the current line.
	pre  *prefilter
	mask []uint64
	// wasIgnored: an ignoreregex matched on the last line.
	wasIgnored bool
	// out holds the failures of the split line being finished, ids the
	// failure ids of a match (failureIDs), lastID the address of the last
	// id normalised.
	out    []Failure
	ids    []string
	lastID parsedID
	// extra is the room a match's groupSet gets for groups added after
	// the match (the prefregex's, alternatives, bookkeeping).
	extra int
}

// New compiles the filter. Errors name the option that failed, e.g. "failregex[3]: ...".
func New(o Options) (*Filter, error) {
	f := &Filter{now: o.Now, max: o.MaxLines, useDNS: o.UseDNS, raw: o.RawHost || o.UseDNS == "raw",
		checkAll: o.CheckAll, countOnly: o.CountOnly, resolve: o.Resolve, names: newGroupNames()}
	if f.now == nil {
		f.now = time.Now
	}
	if f.max < 1 {
		f.max = 1
	}
	if f.useDNS == "" {
		f.useDNS = "warn"
	}
	if f.resolve == nil {
		f.resolve = lookupHost
	}
	timeout := o.MatchTimeout
	if timeout <= 0 {
		timeout = pyregex.DefaultMatchTimeout
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
		exp := ExpandTags(src, f.useDNS)
		if strings.TrimSpace(exp) == "" {
			return nil, fmt.Errorf("%s[%d]: empty regex", what, i)
		}
		if f.max > 1 {
			exp = "(?m)" + exp
		}
		r, err := pyregex.CompileTimeout(exp, timeout)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		return r, nil
	}
	if strings.TrimSpace(o.PrefRegex) != "" {
		if f.pref, err = compile("prefregex", 0, o.PrefRegex); err != nil {
			return nil, err
		}
		if names := f.pref.SubexpNames(); f.max <= 1 && len(names) == 3 && names[1] == "mlfid" && names[2] == "content" {
			f.fastPre = newSyslogPrefix(f.pref.String())
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
		f.failIDs = append(f.failIDs, f.names.idsOf(r.SubexpNames()))
		f.altsOf = append(f.altsOf, f.altGroups(r))
		var skips []int
		for n := 0; ; n++ {
			k := r.SubexpIndex("skiplines" + strconv.Itoa(n))
			if k < 0 {
				break
			}
			skips = append(skips, k)
		}
		f.skipsOf = append(f.skipsOf, skips)
	}
	for i, s := range o.IgnoreRegex {
		r, err := compile("ignoreregex", i, s)
		if err != nil {
			return nil, err
		}
		f.ignore = append(f.ignore, r)
	}
	f.extra = 3
	f.contentIdx = -1
	if f.pref != nil {
		f.extra += f.pref.NumSubexp()
		f.contentIdx = f.pref.SubexpIndex("content")
		f.prefIDs = f.names.idsOf(f.pref.SubexpNames())
		f.prefOf = make([][]int, len(f.fail))
		for i, r := range f.fail {
			for j, name := range f.pref.SubexpNames() {
				if name != "" && name != "content" && r.SubexpIndex(name) < 0 {
					f.prefOf[i] = append(f.prefOf[i], j)
				}
			}
		}
	}
	f.mlfid = newMLFIDCache(o.MLFIDMax, o.MLFIDTTL)
	// a count-only failure carries no matched lines: the cache keeps none
	f.mlfid.noLines = o.CountOnly
	f.pre = newPrefilter(f.fail)
	if f.pre != nil {
		f.mask = make([]uint64, f.pre.words)
	}
	return f, nil
}

func lookupHost(name string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return nil
	}
	return addrs
}

// nextSet returns the first bit of mask set at i or after, below n; -1
// when there is none.
func nextSet(mask []uint64, i, n int) int {
	for ; i < n; i = (i/64 + 1) * 64 {
		if w := mask[i/64] >> (i % 64); w != 0 {
			if j := i + bits.TrailingZeros64(w); j < n {
				return j
			}
			return -1
		}
	}
	return -1
}

func hasIDGroup(r *pyregex.Regexp) bool {
	for _, n := range []string{"fid", "ip4", "ip6", "dns", "mlfid"} {
		if r.SubexpIndex(n) >= 0 {
			return true
		}
	}
	return false
}

// altGroups lists alt_X[_N] groups with the group X they stand in for,
// sorted by name.
func (f *Filter) altGroups(r *pyregex.Regexp) [][2]groupID {
	var alts [][2]string
	for _, n := range r.SubexpNames() {
		if m := complexNameR.FindStringSubmatch(n); m != nil && m[1] == "alt_" && len(n) > len("alt_") {
			alts = append(alts, [2]string{n, groupName(m[2])})
		}
	}
	sort.Slice(alts, func(i, j int) bool { return alts[i][0] < alts[j][0] })
	var out [][2]groupID
	for _, a := range alts {
		out = append(out, [2]groupID{f.names.id(a[0]), f.names.id(a[1])})
	}
	return out
}

// Process runs the filter over one line and returns the failure it holds,
// if any (the first one in CheckAll mode). F-NOFAIL matches and pending
// multi-line matches are not failures.
func (f *Filter) Process(line string) (Failure, bool) {
	fl, ok, _ := f.ProcessErr(line)
	return fl, ok
}

// ProcessErr is Process that also reports errors (unparsable date,
// regex timeout, a match without a usable failure id).
func (f *Filter) ProcessErr(line string) (Failure, bool, error) {
	res, err := f.run(line, time.Time{}, false)
	for _, r := range res {
		if !r.NoFail && !r.Pending {
			return r, true, err
		}
	}
	return Failure{}, false, err
}

// ProcessAll is Process that also returns F-NOFAIL matches (NoFail set).
func (f *Filter) ProcessAll(line string) (Failure, bool) {
	res, _ := f.run(line, time.Time{}, false)
	for _, r := range res {
		if !r.Pending {
			return r, true
		}
	}
	return Failure{}, false
}

// ProcessAt is Process for a source that knows each line's time (the
// systemd journal): no date is searched in the line and t is its time.
func (f *Filter) ProcessAt(line string, t time.Time) (Failure, bool) {
	res, _ := f.run(line, t, true)
	for _, r := range res {
		if !r.NoFail && !r.Pending {
			return r, true
		}
	}
	return Failure{}, false
}

// ProcessLine runs the filter over one line and returns every result as
// fail2ban's Filter.processLine does: failures, F-NOFAIL matches (NoFail)
// and, in CheckAll mode, pending F-MLFID matches (Pending). Outside
// CheckAll mode the first failregex that gives a result wins and no-failure
// or pending results end the line without a result. Errors (bad dates,
// regex timeouts, matches without an id) do not stop the line.
func (f *Filter) ProcessLine(line string) ([]Failure, error) {
	return f.run(line, time.Time{}, false)
}

// ProcessLineAt is ProcessLine for a line whose time is known (journal).
func (f *Filter) ProcessLineAt(line string, t time.Time) ([]Failure, error) {
	return f.run(line, t, true)
}

// search is one regex match over the buffer with its matched line range.
type search struct {
	loc     []int
	matched []string // matched lines (skipped lines removed)
	rest    []string // unmatched lines
}

// bufOf joins lines with newlines, newline-terminated, in the scratch
// buffer; the result aliases the scratch space and must not be retained.
func (f *Filter) bufOf(lines []string) string {
	b := f.scratch[:0]
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
	}
	b = append(b, '\n')
	f.scratch = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// lineRange returns the matched and unmatched lines of a match like
// fail2ban's Regex.search: whole lines touched by the match are matched,
// minus the lines captured by <SKIPLINES>.
func lineRange(buf string, loc []int, org []string, skips []int) (matched, rest []string) {
	if len(org) <= 1 {
		return append([]string(nil), org...), nil
	}
	s, e := loc[0], loc[1]
	start := strings.LastIndexByte(buf[:min(s+1, len(buf))], '\n') + 1
	endFrom := max(e-1, 0)
	end := len(buf)
	if i := strings.IndexByte(buf[endFrom:], '\n'); i >= 0 {
		end = endFrom + i + 1
	}
	c1 := min(strings.Count(buf[:start], "\n"), len(org))
	c2 := min(strings.Count(buf[:end], "\n"), len(org))
	c1 = min(c1, c2)
	matched = append([]string(nil), org[c1:c2]...)
	rest = append([]string(nil), org[:c1]...)
	var skipped []string
	for _, k := range skips {
		if loc[2*k] >= 0 {
			v := buf[loc[2*k]:loc[2*k+1]]
			skipped = append(skipped, splitLines(v)...)
		}
	}
	n := 0
	for _, sl := range skipped {
		for m := n; m < len(matched); m++ {
			if matched[m] == sl {
				rest = append(rest, matched[m])
				matched = append(matched[:m], matched[m+1:]...)
				n = m
				break
			}
		}
	}
	return matched, append(rest, org[c2:]...)
}

// splitLines is Python's str.splitlines for \n-separated text.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

func (f *Filter) run(line string, at time.Time, known bool) ([]Failure, error) {
	var errs []error
	f.wasIgnored = false
	now := f.now()
	date, cutS, cutE, err := f.dateOf(line, at, known, now)
	if err != nil {
		errs = append(errs, err)
	}

	// buf is the text the regexes search: the buffered lines (date cut
	// out) joined and newline-terminated. With maxlines 1 it is built in
	// lineBuf, which the groups and matched line of a match are cut from:
	// what outlives this call is copied, by the F-MLFID cache and by
	// failure, as on the batch path.
	var buf, body string
	var org []string
	var lineStr string // maxlines 1: the line buffer (aliases lineBuf)
	if f.max > 1 {
		// buffered beyond this call: a copy of its own (line may be cut
		// from a source's buffer, and a concatenation with an empty part
		// would be the other part itself)
		var sb strings.Builder
		sb.Grow(len(line) - (cutE - cutS))
		sb.WriteString(line[:cutS])
		sb.WriteString(line[cutE:])
		body = sb.String()
		f.lines = append(f.lines, body)
		if len(f.lines) > f.max {
			f.lines = append(f.lines[:0], f.lines[len(f.lines)-f.max:]...)
		}
		org = append([]string(nil), f.lines...)
		buf = f.bufOf(f.lines)
	} else {
		b := append(f.lineBuf[:0], line[:cutS]...)
		b = append(append(b, line[cutE:]...), '\n')
		f.lineBuf = b
		buf = unsafe.String(unsafe.SliceData(b), len(b))
		lineStr = buf
		body = buf[:len(buf)-1]
		f.org1[0] = body
		org = f.org1[:]
		f.lines = append(f.lines[:0], body)
	}
	// failOff: the failregexes search lineStr[failOff:] (maxlines 1),
	// -1 when they search another text.
	failOff := -1
	if f.max <= 1 {
		failOff = 0
	}

	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 {
		ign, err := f.ignored(buf)
		if err != nil {
			errs = append(errs, err)
		}
		if ign {
			return nil, errors.Join(errs...)
		}
	}

	// The prefilter scans the text the failregexes search. With more
	// lines than one it is the buffer, and the prefregex runs whatever the
	// scan finds, for its effect on the buffer.
	usePre := f.pre != nil
	if usePre && f.max > 1 {
		f.pre.scan(buf, f.mask)
	}

	var preBuf string // the text the prefregex matched (f.preIdx)
	hasPre := false
	if f.pref != nil {
		var loc []int
		fast := false
		if f.fastPre != nil {
			loc, fast = f.fastPre.match(buf, f.preIdx)
		}
		if !fast {
			var err error
			if loc, err = f.pref.FindIndex(buf, f.preIdx); err != nil {
				return nil, errors.Join(append(errs, err)...)
			}
		}
		if loc == nil {
			return nil, errors.Join(errs...)
		}
		f.preIdx, preBuf, hasPre = loc, buf, true
		if k := f.contentIdx; k >= 0 && loc[2*k] >= 0 && loc[2*k+1] > loc[2*k] {
			c := buf[loc[2*k]:loc[2*k+1]]
			if failOff >= 0 {
				// the content and its newline end the line buffer, or not
				failOff = -1
				if loc[2*k+1] == len(lineStr)-1 {
					failOff = loc[2*k]
				}
			}
			if f.max > 1 {
				c = strings.Clone(c)
			}
			f.lines = append(f.lines[:0], c)
			buf = ""
			if failOff >= 0 {
				buf = lineStr[failOff:] // the content and its newline, in place
			}
		}
	}
	if f.max > 1 && hasPre {
		// buffered lines are kept beyond this call: copy the prefregex text
		preBuf = strings.Clone(preBuf)
	}
	// With one line, the failregexes search the prefregex's content (or
	// the line): a line in which no failregex can match ends here.
	if usePre && f.max <= 1 {
		if buf == "" {
			buf = f.bufOf(f.lines)
		}
		if !f.pre.admit(buf, f.mask) {
			return nil, errors.Join(errs...)
		}
	}

	var out []Failure
	for i := 0; i < len(f.fail); i++ {
		if usePre {
			// the next failregex the prefilter lets through
			if i = nextSet(f.mask, i, len(f.fail)); i < 0 {
				break
			}
		}
		r := f.fail[i]
		if buf == "" {
			buf = f.bufOf(f.lines)
			if usePre && f.max <= 1 && (!f.pre.admit(buf, f.mask) || !has(f.mask, i)) {
				// a match took the line: the text searched is another
				// one, whose first byte admit had not seen
				continue
			}
		}
		loc, err := r.FindIndex(buf, f.idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("failregex[%d]: %w", i, err))
			continue
		}
		if loc == nil {
			continue
		}
		f.idx = loc
		g := f.failGroups(i, buf, loc, lineStr, failOff, nil)
		matched, rest := lineRange(buf, loc, org, f.skipsOf[i])
		if len(f.ignore) > 0 {
			ibuf := buf
			if f.max > 1 {
				ibuf = strings.Join(matched, "\n") + "\n"
			}
			ign, err := f.ignored(ibuf)
			if err != nil {
				errs = append(errs, err)
			}
			if ign {
				if f.max > 1 {
					f.lines = append(f.lines[:0], rest...)
				}
				buf = ""
				if !f.checkAll {
					break
				}
				continue
			}
		}
		if !f.checkAll || f.max > 1 {
			f.lines = append(f.lines[:0], rest...)
			buf = ""
		}
		if hasPre {
			// the prefregex's groups, but its content, unless the failregex has them
			base := preBuf
			if f.max <= 1 {
				base = lineStr
			}
			f.addPrefGroups(&g, i, f.preIdx, base)
		}
		cur := entry{g: g}
		fail := &cur
		mlfid, hasMLFID := g.get(gMLFID)
		if hasMLFID {
			fail = f.mlfid.merge(mlfid, cur, matched, now)
			if truthy(fail.g.val(gNoFail)) && !f.checkAll {
				return out, errors.Join(errs...)
			}
		} else {
			fail.matches = matched
		}
		ids, found := f.failureIDs(&fail.g)
		if !found && !hasMLFID {
			errs = append(errs, fmt.Errorf("failregex[%d]: no failure id in %q", i, buf))
			continue
		}
		if !found {
			// F-MLFID known but no failure id yet: pending
			fail.g.set(gMLFPending, "1")
			if !f.checkAll {
				return out, errors.Join(errs...)
			}
			out = append(out, f.failure(fail, line, date, i, ""))
			out[len(out)-1].Pending = true
			continue
		}
		for _, id := range ids {
			out = append(out, f.failure(fail, line, date, i, id))
		}
		if !f.checkAll {
			break
		}
	}
	return out, errors.Join(errs...)
}

// dateOf finds the date of line and where its text is (cutS:cutE, cut
// out of the line before the regexes run), updating the last date; known
// means at is the line's time and no date is searched. It is the
// sequential part of a line's date: the detector's template order and the
// last date depend on the lines before.
func (f *Filter) dateOf(line string, at time.Time, known bool, now time.Time) (date time.Time, cutS, cutE int, err error) {
	if known {
		return at, 0, 0, nil
	}
	m, found, err := f.dates.FindAt(line, now)
	if found || err != nil {
		cutS, cutE = m.Start, m.End
	}
	switch {
	case found && m.Empty:
		date = f.recentDate(now)
	case found:
		date = m.Time
		f.lastDate = date
	default:
		date = f.recentDate(now)
	}
	return date, cutS, cutE, err
}

// recentDate is the date of a line without one: the last date found when
// it is less than a minute old, else now.
func (f *Filter) recentDate(now time.Time) time.Time {
	if !f.lastDate.IsZero() && f.lastDate.After(now.Add(-time.Minute)) {
		return f.lastDate
	}
	return now
}

// failureIDs returns the failure ids of a match's groups: its address
// (ip4/ip6, masked by cidr), else its host name (read as an address or
// resolved, unless raw), else its F-ID; with both an F-ID and an address,
// the F-ID, the address being kept as group "ip". found is false when the
// groups hold no id.
func (f *Filter) failureIDs(g *groupSet) (ids []string, found bool) {
	fid, hasFID := g.get(gFID)
	var ip, cidr string
	hasIP, rawPath, norm := false, true, !f.raw
	for _, k := range [...]groupID{gIP4, gIP6} {
		if v, ok := g.get(k); ok {
			ip, cidr, hasIP, norm = v, g.val(gCIDR), true, true
			break
		}
	}
	if !hasIP {
		if v, ok := g.get(gDNS); ok {
			ip, hasIP, rawPath, norm = v, true, f.raw, false
		} else if hasFID {
			ip, hasIP = fid, true
		}
	}
	if !hasIP {
		return nil, false
	}
	switch {
	case rawPath && hasFID && fid != ip:
		// complex failure id: the address is kept as group "ip"
		g.set(gIP, normID(ip, cidr, norm))
		return []string{normID(fid, "", !f.raw)}, true
	case rawPath:
		id, a := normAddr(ip, cidr, norm)
		f.lastID = parsedID{id: id, addr: a, ok: true}
		f.ids = append(f.ids[:0], id)
		return f.ids, true
	}
	return f.textToIP(ip), true
}

// textToIP is fail2ban's DNSUtils.textToIp: the address written in a host
// name, else the name resolved when usedns is yes or warn.
func (f *Filter) textToIP(s string) []string {
	if a, ok := searchIP(s); ok {
		return []string{a.String()}
	}
	if f.useDNS != "yes" && f.useDNS != "warn" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range f.resolve(s) {
		if p, err := netip.ParseAddr(a); err == nil {
			a = p.Unmap().String()
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// searchIP finds a whole-text IPv4 or (bracketed) IPv6 address.
func searchIP(s string) (netip.Addr, bool) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// normID turns an address text into fail2ban's IPAddr string: brackets
// removed, IPv4-mapped IPv6 unmapped, compressed IPv6, a prefix masked and
// appended when shorter than the address. Text that is no address (or any
// text when norm is false) is kept as written.
func normID(s, cidr string, norm bool) string {
	id, _ := normAddr(s, cidr, norm)
	return id
}

// normAddr is normID, with the address the id is the text of (invalid
// when it is none: a prefix, or text kept as written).
func normAddr(s, cidr string, norm bool) (string, netip.Addr) {
	if !norm {
		return s, addrOf(s)
	}
	if cidr == "" {
		if a, ok := canonicalIPv4(s); ok {
			return s, a // most ids: an IPv4 address as it prints
		}
	}
	t := s
	if len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']' {
		t = t[1 : len(t)-1]
	}
	if cidr == "" {
		if i := strings.IndexByte(t, '/'); i >= 0 {
			t, cidr = t[:i], t[i+1:]
		}
	}
	a, err := netip.ParseAddr(t)
	if err != nil || a.Zone() != "" {
		return s, addrOf(s)
	}
	if a.Is4In6() && cidr == "" {
		a = a.Unmap()
	}
	if cidr != "" {
		n, err := strconv.Atoi(cidr)
		if err != nil || n < 0 || n > a.BitLen() {
			return s, addrOf(s)
		}
		p, _ := a.Prefix(n)
		if n > 0 && n < a.BitLen() {
			return p.String(), netip.Addr{} // a prefix
		}
		return p.Addr().String(), p.Addr()
	}
	// most ids are written as the address prints: no new string then
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) == s {
		return s, a
	}
	return a.String(), a
}

// canonicalIPv4 parses s when it is an IPv4 address written as it prints
// (four decimal numbers up to 255 without leading zeros, separated by
// dots), which netip.ParseAddr would parse to the same address and Addr
// print back as s. It reports false for anything else, which the caller
// parses in full.
func canonicalIPv4(s string) (netip.Addr, bool) {
	if len(s) < 7 || len(s) > 15 {
		return netip.Addr{}, false
	}
	var b [4]byte
	k, v, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && v == 0 {
				return netip.Addr{}, false // a leading zero
			}
			v = v*10 + int(c-'0')
			digits++
			if v > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && k < 3:
			b[k], k, v, digits = byte(v), k+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if k != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	b[3] = byte(v)
	return netip.AddrFrom4(b), true
}

// addrOf is the address id is the text of (invalid when it is none).
func addrOf(id string) netip.Addr {
	if a, ok := canonicalIPv4(id); ok {
		return a
	}
	a, err := netip.ParseAddr(id)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a
}

// parsedID is the address of the last failure id normAddr made (valid
// when the id is an address's text): failure needs it again.
type parsedID struct {
	id   string
	addr netip.Addr
	ok   bool
}

func (f *Filter) failure(e *entry, line string, date time.Time, i int, id string) Failure {
	// the line is copied: a source may cut lines from a shared buffer,
	// which a kept failure must not hold on to
	// the id, groups, matches and users may be cut from a batch item's
	// line or an F-MLFID entry's text, both reused: the failure gets
	// copies
	fl := Failure{ID: strings.Clone(id), Time: date, NoFail: truthy(e.g.val(gNoFail)), Regex: i}
	if f.countOnly && fl.NoFail {
		return fl // not counted: no copy of the line, no address
	}
	fl.Line = strings.Clone(line)
	if f.lastID.ok && f.lastID.id == id {
		if f.lastID.addr.IsValid() {
			fl.Addr = f.lastID.addr.Unmap()
		}
	} else if a := addrOf(id); a.IsValid() {
		fl.Addr = a.Unmap()
	}
	if f.countOnly {
		return fl
	}
	fl.Groups, fl.Matches = e.g.public(f.names.names), cloneAll(e.matches)
	if len(e.users) > 0 {
		fl.Users = cloneAll(e.users)
		slices.Sort(fl.Users)
	}
	return fl
}

// cloneAll returns copies of ss in a new slice (nil for none).
func cloneAll(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// failGroups is the groups of failregex i's match at loc in buf, with
// the alternative user groups filled in, in dst's storage when it has room
// (see groups). When buf is the end of line from failOff on (the line
// buffer), the values are cut from line, else copied out of buf.
func (f *Filter) failGroups(i int, buf string, loc []int, line string, failOff int, dst []groupKV) groupSet {
	var g groupSet
	if failOff >= 0 && len(buf) == len(line)-failOff {
		g = groups(f.failIDs[i], buf, loc, line, failOff, f.extra, dst)
	} else {
		g = groups(f.failIDs[i], buf, loc, "", 0, f.extra, dst)
	}
	for _, a := range f.altsOf[i] {
		if v := g.val(a[0]); v != "" && g.val(a[1]) == "" {
			g.set(a[1], v)
		}
	}
	return g
}

// addPrefGroups adds to g the prefregex's groups (at preIdx in base) that
// failregex i's matches get (prefOf).
func (f *Filter) addPrefGroups(g *groupSet, i int, preIdx []int, base string) {
	for _, j := range f.prefOf[i] {
		if preIdx[2*j] >= 0 {
			g.set(f.prefIDs[j], base[preIdx[2*j]:preIdx[2*j+1]])
		}
	}
}

func (f *Filter) ignored(buf string) (bool, error) {
	for i, r := range f.ignore {
		ok, err := r.MatchString(buf)
		if err != nil {
			return false, fmt.Errorf("ignoreregex[%d]: %w", i, err)
		}
		if ok {
			f.wasIgnored = true
			return true, nil
		}
	}
	return false, nil
}

// groups returns the named groups that took part in the match on s, with
// room for extra more. When base is set, s is base[off:] and the values
// are cut from base (the line buffer); else they are copied out of s. The groups are kept in dst's storage when it has the
// room (the caller then owns the result's storage), else in a new slice.
func groups(ids []groupID, s string, loc []int, base string, off, extra int, dst []groupKV) groupSet {
	n := 0
	for i, id := range ids {
		if id >= 0 && loc[2*i] >= 0 {
			n++
		}
	}
	g := groupSet{kv: dst[:0]}
	if cap(dst) < n+extra {
		g.kv = make([]groupKV, 0, n+extra)
	}
	for i, id := range ids {
		if id < 0 || loc[2*i] < 0 {
			continue
		}
		if base != "" {
			g.kv = append(g.kv, groupKV{id, base[off+loc[2*i] : off+loc[2*i+1]]})
		} else {
			g.kv = append(g.kv, groupKV{id, strings.Clone(s[loc[2*i]:loc[2*i+1]])})
		}
	}
	return g
}

func truthy(s string) bool { return s != "" }
