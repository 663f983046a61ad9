package datedetect

// Hand-written matchers for the two most common default templates, the
// line-begin anchored syslog date ("Nov 22 10:00:00") and ISO 8601 date
// ("2024-11-22T10:00:00.123+01:00"). They return exactly the match (all
// group offsets) of the template's regex, or say they are not sure, and
// the regex runs. They are sure only for canonical shapes where the regex,
// tried alternative by alternative as Python's backtracking engine does,
// takes the first choice at every step and succeeds:
//
//   - the optional \W{0,2} prefix holds up to two ASCII non-word characters
//     followed by the date's first character;
//   - month names are ASCII (any case: the syslog template is (?i)), day
//     numbers are "DD", " D", "0D" or a single digit followed by a space,
//     hours, minutes and seconds have two ASCII digits (hours 00-23, minutes
//     and seconds 00-59);
//   - what follows the date is the end of the line or an ASCII non-word
//     character (so the closing (?=\b|\W|$) holds), and is not the start of
//     an optional part the matcher does not decode (syslog: a fraction or a
//     year; ISO: a fraction of more than six digits, or a zone other than
//     Z, UTC, GMT, +HH:MM, +HHMM after optional white space).
//
// Anything else is left to the regex. TestFastMatchers compares both on
// fail2ban's sample logs, the mixed benchmark log and on generated and
// mutated lines (FuzzFastMatchers on any line). Before either runs, the
// template's prefilter (prefilter.go) rejects the lines whose first
// bytes rule a match out. Their sure matches are memoized (see
// matchMemo): syslogTail and isoTail tell what they read after a match.
// TestMemoMatchesFast checks the memos against the matchers.

// fastMatcher matches line with a template, appending the group offsets to
// dst[:0]; sure is false when the regex must decide.
type fastMatcher func(t *template, line string, dst []int) (loc []int, sure bool)

// fastTail tells, for a fast matcher whose sure match of a line ended at
// e, whether it is sure of the same match on any line with the same first
// e bytes: its result depends only on those bytes and on the ones this
// function checks after them (see matchMemo). It may say no when unsure.
type fastTail func(line string, e int) bool

// fastFor returns the hand-written matcher for a template, if it has one,
// its tail check if its matches can be memoized, and whether they can
// tick (see matchMemo).
func fastFor(t *template) (fastMatcher, fastTail, bool) {
	switch t.name {
	case "{^LN-BEG}" + defaultPatterns[1]:
		// fastSyslog reads the time of day last, with hms, and before it
		// only one character after the day (%k's optional space), which
		// is the hour's first digit (not a space) when it is not a space
		return fastSyslog, syslogTail, true
	case "{^LN-BEG}" + defaultPatterns[0]:
		// fastISO reads the time of day with validClock, and before it
		// nothing that depends on it (see isoTail for after it)
		return fastISO, isoTail, true
	}
	return nil, nil, false
}

// find searches line with the template: nothing when its prefilter
// rejects the line, the fast matcher when it is sure, else the regex. fast
// tells the regex did not run (the fast matcher gave the match, or the
// prefilter ruled one out).
func (t *template) find(line string, dst []int) (loc []int, fast bool) {
	if t.first != nil && t.first.rejects(line) {
		return nil, true
	}
	if t.fast != nil {
		if loc, sure := t.fast(t, line, dst); sure {
			return loc, true
		}
	}
	loc, _ = t.re.FindIndex(line, dst)
	return loc, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordASCII reports whether an ASCII byte is a word character (\w).
func isWordASCII(c byte) bool {
	return isDigit(c) || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// endsDate reports whether the date may end before line[i]: end of line or
// an ASCII non-word character. ok is false for a non-ASCII character.
func endsDate(line string, i int) (end, ok bool) {
	if i >= len(line) {
		return true, true
	}
	c := line[i]
	if c >= 0x80 {
		return false, false
	}
	return !isWordASCII(c), true
}

// linePrefix returns where the date starts after the anchored template's
// optional \W{0,2}: the count of leading ASCII non-word characters (at most
// two) when the next character is ASCII word character.
func linePrefix(line string) (int, bool) {
	k := 0
	for k < len(line) && k < 3 {
		c := line[k]
		if c >= 0x80 {
			return 0, false
		}
		if isWordASCII(c) {
			return k, k <= 2
		}
		k++
	}
	return 0, false
}

// setLoc prepares dst as the template's group offsets, all unset.
func setLoc(t *template, dst []int) []int {
	n := len(t.unset)
	if cap(dst) < n {
		dst = make([]int, n)
	}
	dst = dst[:n]
	copy(dst, t.unset)
	return dst
}

// setField records field f (a strptime letter) at line[s:e].
func setField(t *template, loc []int, f byte, s, e int) {
	if i := t.fields[f]; i > 0 {
		loc[2*i], loc[2*i+1] = s, e
	}
}

// monthNum returns the month (1-12) of the English month abbreviation
// a, b, c in any ASCII case, else 0.
func monthNum(a, b, c byte) int {
	// |0x20 lowers ASCII letters and maps no other byte onto a letter, so
	// only letters can give a month's key.
	switch uint32(a|0x20)<<16 | uint32(b|0x20)<<8 | uint32(c|0x20) {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

// isMonth reports whether s (3 bytes) is an English month abbreviation in any ASCII case.
func isMonth(s string) bool { return monthNum(s[0], s[1], s[2]) != 0 }

// twoDigits reports whether line[i:i+2] are ASCII digits forming a number <= max.
func twoDigits(line string, i, max int) bool {
	if i+2 > len(line) || !isDigit(line[i]) || !isDigit(line[i+1]) {
		return false
	}
	return int(line[i]-'0')*10+int(line[i+1]-'0') <= max
}

// day decodes %d at line[i:] when followed by the byte next; it returns the
// day's end.
func day(line string, i int, next byte) (int, bool) {
	if i+2 > len(line) {
		return 0, false
	}
	c1, c2 := line[i], line[i+1]
	switch {
	case (c1 == '1' || c1 == '2') && isDigit(c2), // [1-2]\d
		(c1 == '0' || c1 == ' ') && c2 >= '1' && c2 <= '9', // [0 ]?[1-9]
		c1 == '3' && (c2 == '0' || c2 == '1'):              // 3[0-1]
		return i + 2, i+2 < len(line) && line[i+2] == next
	case c1 >= '1' && c1 <= '9' && c2 == next: // [1-9] alone
		return i + 1, true
	}
	return 0, false
}

// hms decodes HH:MM:SS (two digits each, hours <= 23, minutes and seconds
// <= 59) at line[i:], setting H, M and S; it returns the end.
func hms(t *template, line string, i int, loc []int) (int, bool) {
	if !validClock(line, i) {
		return 0, false
	}
	setField(t, loc, 'H', i, i+2)
	setField(t, loc, 'M', i+3, i+5)
	setField(t, loc, 'S', i+6, i+8)
	return i + 8, true
}

// validClock reports whether line[h:h+8] is a time of day hms takes:
// HH:MM:SS in ASCII digits, hours <= 23, minutes and seconds <= 59.
func validClock(line string, h int) bool {
	if h < 0 || h+8 > len(line) {
		return false
	}
	c := line[h : h+8]
	h0, h1, m0, m1, s0, s1 := c[0]-'0', c[1]-'0', c[3]-'0', c[4]-'0', c[6]-'0', c[7]-'0'
	return h0 <= 2 && h1 <= 9 && (h0 < 2 || h1 <= 3) && c[2] == ':' && m0 <= 5 && m1 <= 9 && c[5] == ':' && s0 <= 5 && s1 <= 9
}

// fastSyslog matches `{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`.
func fastSyslog(t *template, line string, dst []int) ([]int, bool) {
	p, ok := linePrefix(line)
	if !ok || p+3 > len(line) || !isMonth(line[p:p+3]) || p+4 > len(line) || line[p+3] != ' ' {
		return nil, false
	}
	de, ok := day(line, p+4, ' ')
	if !ok {
		return nil, false
	}
	h := de + 1
	if h < len(line) && line[h] == ' ' {
		h++ // %k's optional space
	}
	loc := setLoc(t, dst)
	e, ok := hms(t, line, h, loc)
	if !ok {
		return nil, false
	}
	if !syslogTail(line, e) {
		return nil, false
	}
	loc[0], loc[1] = 0, e
	loc[2*t.grp], loc[2*t.grp+1] = p, e
	setField(t, loc, 'b', p, p+3)
	setField(t, loc, 'd', p+4, de)
	return loc, true
}

// syslogTail reports whether fastSyslog is sure of a date ending at e: no
// fraction or year may follow and the date ends there. fastSyslog reads
// nothing else after e.
func syslogTail(line string, e int) bool {
	if e >= len(line) {
		return true
	}
	switch c := line[e]; {
	case c == ' ':
		return e+1 >= len(line) || !isDigit(line[e+1]) // else a year may follow
	case c == '.' || c >= 0x80: // a fraction may follow; no ASCII non-word character
		return false
	default:
		return !isWordASCII(c)
	}
}

// fastISO matches `{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`.
func fastISO(t *template, line string, dst []int) ([]int, bool) {
	p, ok := linePrefix(line)
	if !ok || p+19 > len(line) {
		return nil, false
	}
	b := line[p : p+19]
	// %ExY: four digits, a decade the template takes
	y0, y1, y2, y3 := b[0]-'0', b[1]-'0', b[2]-'0', b[3]-'0'
	if y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 {
		return nil, false
	}
	if dec := int(y0)*100 + int(y1)*10 + int(y2); dec < t.exyFirst || dec > t.exyLast {
		return nil, false
	}
	// the separator, twice, around %m as two digits 01-12
	sep := b[4]
	m0, m1 := b[5]-'0', b[6]-'0'
	if (sep != '-' && sep != '/' && sep != '.') || b[7] != sep || m0 > 1 || m1 > 9 || (m0 == 0 && m1 == 0) || (m0 == 1 && m1 > 2) {
		return nil, false
	}
	// %d as two digits 01-31
	c1, c2 := b[8], b[9]
	if !((c1 == '1' || c1 == '2') && isDigit(c2)) && !(c1 == '0' && c2 >= '1' && c2 <= '9') && !(c1 == '3' && (c2 == '0' || c2 == '1')) {
		return nil, false
	}
	h := p + 11
	switch b[10] {
	case 'T':
	case ' ':
		if b[11] == ' ' {
			h++
		}
	default:
		return nil, false
	}
	if !validClock(line, h) {
		return nil, false
	}
	e := h + 8
	fs, fe := -1, -1
	if e+1 < len(line) && (line[e] == '.' || line[e] == ',') && isDigit(line[e+1]) {
		f := e + 1
		for f < len(line) && isDigit(line[f]) {
			f++
		}
		if f-(e+1) > 6 {
			return nil, false
		}
		fs, fe = e+1, f
		e = f
	}
	// optional zone after optional white space
	zs, ze := -1, -1
	w := e
	for w < len(line) && (line[w] == ' ' || (line[w] >= '\t' && line[w] <= '\r') || (line[w] >= 0x1c && line[w] <= 0x1f)) {
		w++
	}
	if w < len(line) {
		z := zoneLen(line[w:])
		switch {
		case z > 0:
			if end, ok := endsDate(line, w+z); !ok || !end {
				return nil, false
			}
			zs, ze = w, w+z
			e = w + z
		case z < 0:
			return nil, false
		}
	}
	if end, ok := endsDate(line, e); !ok || !end {
		return nil, false
	}
	loc := setLoc(t, dst)
	loc[0], loc[1] = 0, e
	loc[2*t.grp], loc[2*t.grp+1] = p, e
	setField(t, loc, 'Y', p, p+4)
	if i := t.sep; i > 0 {
		loc[2*i], loc[2*i+1] = p+4, p+5
	}
	setField(t, loc, 'm', p+5, p+7)
	setField(t, loc, 'd', p+8, p+10)
	setField(t, loc, 'H', h, h+2)
	setField(t, loc, 'M', h+3, h+5)
	setField(t, loc, 'S', h+6, h+8)
	if fs >= 0 {
		setField(t, loc, 'f', fs, fe)
	}
	if zs >= 0 {
		setField(t, loc, 'z', zs, ze)
	}
	return loc, true
}

// isoTail reports whether fastISO is sure of a date ending at e, given
// the bytes before e of a line it was sure of with that end: it reads
// nothing else after e. What follows is the end of the line or an ASCII
// non-word character (which ends the date, ends a fraction and does not
// extend a zone), but not '.' or ',' (a fraction may follow), and no
// zone follows after optional white space. The date may end with the
// seconds, a fraction or a zone: fastISO read the bytes after a fraction
// as it reads them after the seconds, and after a zone only the one at e.
func isoTail(line string, e int) bool {
	if e >= len(line) {
		return true
	}
	c := line[e]
	if c > ' ' {
		// no white space: a zone would start at e (zoneLen), with one
		// of "ZUG+-", of which only '+' and '-' are not word characters
		return nonWord[c] && c != '.' && c != ',' && c != '+' && c != '-'
	}
	if c == ' ' && e+1 < len(line) && line[e+1] > ' ' {
		// one space, then no zone (zoneLen is 0 unless it starts with
		// one of "ZUG+-")
		return !zoneStart[line[e+1]]
	}
	w := e
	for w < len(line) && (line[w] == ' ' || (line[w] >= '\t' && line[w] <= '\r') || (line[w] >= 0x1c && line[w] <= 0x1f)) {
		w++
	}
	return w == len(line) || zoneLen(line[w:]) == 0
}

// zoneStart marks the bytes a zone zoneLen decodes can start with.
var zoneStart = [256]bool{'Z': true, 'U': true, 'G': true, '+': true, '-': true}

// nonWord marks the ASCII non-word characters (\W): a date may end before them.
var nonWord = func() (t [256]bool) {
	for c := range 0x80 {
		t[c] = !isWordASCII(byte(c))
	}
	return t
}()

// zoneLen returns the length of a %z zone at the start of s in the shapes
// the fast path decodes (Z, UTC, GMT, +HH:MM, +HHMM), 0 when no zone can
// start there, and -1 when one might (so the regex must decide).
func zoneLen(s string) int {
	switch s[0] {
	case 'Z':
		return 1
	case 'U', 'G':
		if len(s) >= 3 && (s[:3] == "UTC" || s[:3] == "GMT") {
			return 3
		}
		return 0
	case '+', '-':
		if len(s) < 3 || (s[1] != '0' && s[1] != '1') || !isDigit(s[2]) {
			return 0
		}
		if len(s) >= 6 && (s[1] == '0' || s[1] == '1') && isDigit(s[2]) && s[3] == ':' && isDigit(s[4]) && isDigit(s[5]) &&
			(len(s) == 6 || !isDigit(s[6])) {
			return 6
		}
		if len(s) >= 5 && (s[1] == '0' || s[1] == '1') && isDigit(s[2]) && isDigit(s[3]) && isDigit(s[4]) &&
			(len(s) == 5 || !isDigit(s[5])) {
			return 5
		}
		return -1
	}
	return 0
}
