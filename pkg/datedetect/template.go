package datedetect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/f2bd/f2bd/pkg/pyregex"
)

// Template flags: where a template's match is anchored.
const (
	flagLineBegin = 1 << iota
	flagLineEnd
)

// kind selects how a template's match is turned into a time.
type kind int

const (
	kindStrptime kind = iota
	kindEpoch
	kindLongEpoch
	kindTAI64N
)

// template is one compiled date pattern.
type template struct {
	name  string
	re    *pyregex.Regexp
	kind  kind
	flags int
	grp   int // group holding the date text
	// group indexes of strptime fields ('Y', 'b', ...) by letter; 0 if absent
	fields [128]int16
	// weight is fail2ban's template weight: 100 for the line-begin
	// anchored copies of the default templates, else 1.
	weight float64
	// hits counts successful searches (fail2ban's DateTemplate.hits).
	hits int
	// fast is a hand-written matcher for a common format, or nil, and
	// fastTail its tail check when its matches can be memoized, or nil.
	fast     fastMatcher
	fastTail fastTail
	// first rejects, by their first bytes, lines the regex cannot match
	// (line-begin anchored templates), or is nil (see prefilter.go).
	first *firstFilter
	// memoClock: the fast matcher's matches may tick (see matchMemo).
	memoClock bool
	// exyFirst, exyLast bound the decades (year/10) %ExY accepts.
	exyFirst, exyLast int
	// nloc is the length of a match's group offsets: 2*(groups+1);
	// unset holds that many -1 (no group set), sep is the group of the
	// separator _sep (0: none).
	nloc  int
	unset []int
	sep   int
	// reads lists the groups of the fields parse reads, in parseFields
	// order, and readFields their letters; they are the key of the
	// last-parse cache beside the date text.
	reads      []int16
	readFields []byte
	// cacheable is false when a parse of the same text may give another
	// result than the last one for the same clock: both %z and %Z present
	// (each zone text met builds a new zone, see Detector.parse).
	cacheable bool
	// keys are the groups whose texts the parse reads: reads for a
	// strptime date, else the date's group. tickable: a strptime date
	// without %I (which overrides %H), whose %H, %M and %S can be read
	// again alone (see lastParse.tick).
	keys     []int16
	tickable bool
	// last is the detector's last parse with this template, memo its
	// last sure fast matches (when it has fastTail), mru the memo used
	// last (see cache.go).
	last lastParse
	memo [2]matchMemo
	mru  int
}

// parseFields are the strptime fields parse reads, by letter, in the
// order it reads them.
const parseFields = "yYmbBdHIpMSjzZ"

// directive regexes (Python syntax), keyed by strptime directive; `Y4`
// stands for the "Ex" year (a year close to now), computed per detector.
var directives = map[string]string{
	"a":   `(?P<a>mon|tue|wed|thu|fri|sat|sun)`,
	"A":   `(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)`,
	"b":   `(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`,
	"B":   `(?P<B>september|february|november|december|january|october|august|april|march|july|june|may)`,
	"d":   `(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`,
	"f":   `(?P<f>[0-9]{1,6})`,
	"H":   `(?P<H>[0-1]?\d|2[0-3])`,
	"I":   `(?P<I>1[0-2]|0[1-9]|[1-9])`,
	"j":   `(?P<j>36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
	"k":   ` ?(?P<H>[0-2]?\d)`,
	"l":   ` ?(?P<I>1?\d)`,
	"m":   `(?P<m>0?[1-9]|1[0-2])`,
	"M":   `(?P<M>[0-5]?\d)`,
	"p":   `(?P<p>am|pm)`,
	"S":   `(?P<S>[0-5]?\d|6[0-1])`,
	"w":   `(?P<w>[0-6])`,
	"y":   `(?P<y>\d\d)`,
	"Y":   `(?P<Y>\d{4})`,
	"z":   `(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`,
	"Z":   `(?P<Z>Z|[A-Z]{3,5})`,
	"Exd": `(?P<d>[1-2]\d|0[1-9]|3[0-1])`,
	"Exm": `(?P<m>0[1-9]|1[0-2])`,
	"ExH": `(?P<H>[0-1]\d|2[0-3])`,
	"Exk": ` ?(?P<H>[0-1]?\d|2[0-3])`,
	"Exl": ` ?(?P<I>1[0-2]|\d)`,
	"ExM": `(?P<M>[0-5]\d)`,
	"ExS": `(?P<S>[0-5]\d|6[0-1])`,
	"Exy": `(?P<y>\d{2})`,
	"ExZ": `(?P<Z>[A-Z](?:[A-Z]{2,4})?)`,
	"Exz": `(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)`,
}

// directiveRE finds %-directives in a date pattern (longest names first).
var directiveRE = regexp.MustCompile(`%(%|Ex[YymdHMSklZz]|[aAbBdfHIjklmMpSwyYzZ])`)

// alphaDirectiveRE finds directives whose values are words (matched case-insensitively).
var alphaDirectiveRE = regexp.MustCompile(`(?:^|[^%])%[aAbBp]`)

// yearRE returns the regex of the "Ex" year: years from 2000 up to three
// years after the real current year (like fail2ban, the wall clock is used
// here and not the detector's clock, so that old logs keep their dates),
// by decade prefix.
func yearRE(now time.Time) string {
	first, last := exyDecades(now)
	var alts []string
	for d := first; d <= last; d++ {
		alts = append(alts, strconv.Itoa(d))
	}
	return `(?P<Y>(?:` + strings.Join(alts, "|") + `)\d)`
}

// exyDecades returns the first and last decade (year/10) of the %ExY year.
func exyDecades(now time.Time) (first, last int) {
	if real := time.Now(); real.After(now) {
		now = real
	}
	last = (now.Year() + 3) / 10
	first = 200
	if y := (now.Year() - 1) / 10; y < first {
		first = y
	}
	return first, last
}

// expandDirectives replaces strptime directives in pattern by regexes.
func expandDirectives(pattern string, now time.Time) (string, error) {
	var err error
	out := directiveRE.ReplaceAllStringFunc(pattern, func(d string) string {
		key := d[1:]
		switch key {
		case "%":
			return "%"
		case "ExY":
			return yearRE(now)
		}
		re, ok := directives[key]
		if !ok {
			err = fmt.Errorf("unsupported directive %s", d)
		}
		return re
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// Boundary wrappers: a date starts at the line start, a word boundary or
// before a non-word character, and ends at a word boundary, before a
// non-word character or at the end.
const (
	wordBegin = `(?=^|\b|\W)`
	wordEnd   = `(?=\b|\W|$)`
	lineBegin = `^(?:\W{0,2})?`
)

var (
	noBoundBeginRE = regexp.MustCompile(`^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)`)
	noBoundEndRE   = regexp.MustCompile(`(?:\$\)?|\\b|\\s|\*\*\)*)$`)
	lineBoundBegRE = regexp.MustCompile(`^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^[^|])`)
	lineBoundEndRE = regexp.MustCompile(`[^\\|]\$\)?$|^\$\)?$`)
	hasGroupRE     = regexp.MustCompile(`(?:^|[^\\])\((?:[^?]|$)`)
	leadFlagsRE    = regexp.MustCompile(`^\(\?[a-z]+\)`)
)

// wrap adds boundaries to a core date regex and marks where it is anchored.
// begin is "word", "line" or "" (none).
func wrap(core, begin string, end bool) (string, int, error) {
	core = strings.TrimSpace(core)
	flags := leadFlagsRE.FindString(core)
	core = core[len(flags):]
	if begin != "" && noBoundBeginRE.MatchString(core) {
		begin = ""
	}
	if end && noBoundEndRE.MatchString(core) && !strings.HasSuffix(core, `\$`) {
		end = false
	}
	if !hasGroupRE.MatchString(core) {
		core = groupCore(core)
	}
	f := 0
	switch begin {
	case "word":
		core = wordBegin + core
	case "line":
		core = lineBegin + core
		f |= flagLineBegin
	}
	if end {
		core += wordEnd
	}
	if lineBoundBegRE.MatchString(core) {
		f |= flagLineBegin
	}
	if lineBoundEndRE.MatchString(core) {
		f |= flagLineEnd
	}
	core = strings.TrimPrefix(core, "**")
	core = strings.TrimPrefix(core, "(**")
	core = strings.TrimSuffix(core, "**")
	return flags + core, f, nil
}

// groupCore puts the date part of core into group 1, keeping leading flags,
// a leading ^ and a trailing $ outside.
func groupCore(core string) string {
	pre, post := "", ""
	if strings.HasPrefix(core, "^") {
		pre, core = "^", core[1:]
	}
	if strings.HasSuffix(core, "$") && !strings.HasSuffix(core, `\$`) {
		post, core = "$", core[:len(core)-1]
	}
	return pre + "(" + core + ")" + post
}

// epochCore is the epoch timestamp: 10-11 digits, optional fraction.
const (
	epochRE     = `\d{10,11}\b(?:\.\d{3,6})?`
	longEpochRE = `\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`
)

// newTemplate compiles one date pattern as written in a datepattern option.
func newTemplate(pattern string, now time.Time) (*template, error) {
	key := pattern
	if !strings.Contains(pattern, "%") {
		key = strings.ToUpper(pattern)
	}
	begin, end := "word", true
	name := pattern
	switch {
	case strings.HasPrefix(key, "{UNB}"):
		pattern, begin, end = pattern[len("{UNB}"):], "", false
	case strings.HasPrefix(key, "{^LN-BEG}"):
		pattern, begin = pattern[len("{^LN-BEG}"):], "line"
		key = key[len("{^LN-BEG}"):]
	}
	t := &template{name: name, grp: 1, weight: 1}
	var core string
	switch key {
	case "EPOCH", "LEPOCH", "^EPOCH", "^LEPOCH":
		t.kind = kindEpoch
		re := epochRE
		if strings.Contains(key, "LEPOCH") {
			t.kind, re = kindLongEpoch, longEpochRE
		}
		if begin == "line" || strings.HasPrefix(key, "^") {
			// optionally in square brackets at line start
			core, begin = `((?P<square>(?<=^\[))?`+re+`)(?(square)(?=\]))`, "line"
		} else {
			core, begin = `((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))`+re+`)(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))`, ""
		}
	case "TAI64N", "^TAI64N":
		t.kind, core = kindTAI64N, `@[0-9a-f]{24}`
		if strings.HasPrefix(key, "^") {
			begin = "line"
		}
	default:
		if m := regexp.MustCompile(`(?i)\{(L?)EPOCH\}`).FindStringSubmatchIndex(pattern); m != nil {
			t.kind, core = kindEpoch, epochRE
			if m[3] > m[2] {
				t.kind, core = kindLongEpoch, longEpochRE
			}
			core = "(" + pattern[:m[0]] + "(" + core + ")" + pattern[m[1]:] + ")"
			t.grp = 2
			break
		}
		var err error
		core, err = expandDirectives(pattern, now)
		if err != nil {
			return nil, fmt.Errorf("datepattern %q: %w", name, err)
		}
		if alphaDirectiveRE.MatchString(pattern) {
			core = `(?i)` + core
		}
	}
	full, flags, err := wrap(core, begin, end)
	if err != nil {
		return nil, fmt.Errorf("datepattern %q: %w", name, err)
	}
	t.flags = flags
	t.first = firstFilterOf(full)
	t.re, err = pyregex.Compile(full)
	if err != nil {
		return nil, fmt.Errorf("datepattern %q: %w", name, err)
	}
	for i, n := range t.re.SubexpNames() {
		if len(n) == 1 && n[0] < 0x80 {
			t.fields[n[0]] = int16(i)
		}
	}
	t.exyFirst, t.exyLast = exyDecades(now)
	t.nloc = 2 * (t.re.NumSubexp() + 1)
	t.unset = make([]int, t.nloc)
	for i := range t.unset {
		t.unset[i] = -1
	}
	t.sep = max(0, t.re.SubexpIndex("_sep"))
	for _, f := range []byte(parseFields) {
		if i := t.fields[f]; i > 0 {
			t.reads = append(t.reads, i)
			t.readFields = append(t.readFields, f)
		}
	}
	t.cacheable = t.fields['z'] == 0 || t.fields['Z'] == 0
	t.keys = t.reads
	if t.kind != kindStrptime {
		t.keys = []int16{int16(t.grp)}
	}
	t.tickable = t.kind == kindStrptime && t.fields['I'] == 0
	t.fast, t.fastTail, t.memoClock = fastFor(t)
	return t, nil
}

// defaultPatterns is the default template set, most specific first.
var defaultPatterns = []string{
	// ISO 8601 and simple dates: 2005-01-23T21:59:59.981746+01:00, 2005/01/23 21:59:59, 2006.12.21 06:43:20
	`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
	// syslog / asctime: [Sun ]Jan 23 21:59:59[.011][ 2005]
	`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	// Sun Jan 23 2005 21:59:59.011
	`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,
	// 23/01/2005 21:59:59, 23/01/05 21:59:59, 17-07-2008 17:23:25
	`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`,
	// Apache: 31/Oct/2006:09:22:55 -0000, 26-Jul-2007 15:20:52.252 +0200
	`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,
	// CPanel: 05/20/2008:01:57:39
	`%m/%d/%ExY:%H:%M:%S`,
	// 01-27-2012 16:22:44.252
	`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,
	`EPOCH`,
	// time only, at line start
	`{^LN-BEG}%H:%M:%S`,
	// <09/16/08@05:03:30>
	`^<%m/%d/%Exy@%H:%M:%S>`,
	// MySQL: 130322 11:46:11
	`%Exy%Exm%Exd  ?%H:%M:%S`,
	// Tomcat: Jan 23, 2005 9:59:59 PM
	`%b %d, %ExY %I:%M:%S %p`,
	// ASSP: Apr-27-13 02:33:06
	`^%b-%d-%Exy %k:%M:%S`,
	// 20050123T215959, 20050123 215959
	`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`,
	// zone name prefix (monit): PDT Apr 16 21:05:29
	`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	// zone offset prefix: +00:00 Jan 23 21:59:59.011 2005
	`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	`TAI64N`,
}

// defaultTemplates builds the default set: a line-begin anchored variant of
// every template not anchored already (preferred), then the templates
// themselves. lineBeginOnly keeps only line-begin anchored ones ({^LN-BEG}).
func defaultTemplates(now time.Time, lineBeginOnly bool) ([]*template, error) {
	var anchored, plain []*template
	for _, p := range defaultPatterns {
		t, err := newTemplate(p, now)
		if err != nil {
			return nil, fmt.Errorf("default date template: %w", err)
		}
		if !strings.HasPrefix(p, "{^LN-BEG}") && !strings.HasPrefix(p, "^") {
			a, err := newTemplate("{^LN-BEG}"+p, now)
			if err != nil {
				return nil, fmt.Errorf("default date template: %w", err)
			}
			a.weight = 100
			anchored = append(anchored, a)
		}
		plain = append(plain, t)
	}
	all := append(anchored, plain...)
	if !lineBeginOnly {
		return all, nil
	}
	out := all[:0]
	for _, t := range all {
		if t.flags&flagLineBegin != 0 {
			out = append(out, t)
		}
	}
	return out, nil
}
