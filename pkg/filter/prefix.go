package filter

import "strings"

// syslogPrefix is a hand-written matcher for the common prefregex
//
//	^<F-MLFID>%(__prefix_line)s</F-MLFID>[%(__pref)s]<F-CONTENT>.+</F-CONTENT>$
//
// (fail2ban's common.conf __prefix_line for logtype file, with a literal
// _daemon such as sshd, and optionally sshd.conf's __pref
// `(?:(?:error|fatal): (?:PAM: )?)?`), for the usual syslog shape
// "host daemon[pid]: message".
//
// A backtracking regex match is the first path, in the order the engine
// tries them, that completes. match follows that order: at each step it
// takes the engine's first choice (greedy quantifiers take as much as
// they can, an optional group is tried before it is skipped) and it skips
// an optional group only when the group cannot match at all there. If a
// step needs anything else (a choice that would be undone by
// backtracking, a group it does not model, a non-ASCII byte that \s or \S
// might read differently) match gives up and the caller runs the regex;
// when it succeeds, the path it found is the first complete one, so its
// offsets are the regex's.
type syslogPrefix struct {
	daemon  string // the literal _daemon
	errPref bool   // the prefregex has sshd's __pref before the content
}

// prefixLineFile is fail2ban's __prefix_line (logtype file) as expanded in
// a prefregex, with %s for the daemon (twice).
const prefixLineFile = `(?:\[\])?\s*(?:<[^.]+\.[^.]+>\s+)?(?:\S+\s+)?(?:kernel:\s?\[ *\d+\.\d+\]:?\s+)?(?:@vserver_\S+\s+)?` +
	`(?:(?:(?:\[\d+\])?:\s+[\[\(]?%s(?:\(\S+\))?[\]\)]?:?|[\[\(]?%s(?:\(\S+\))?[\]\)]?:?(?:\[\d+\])?:?)\s+)?(?:\[ID \d+ \S+\]\s+)?`

// sshdPref is sshd.conf's __pref.
const sshdPref = `(?:(?:error|fatal): (?:PAM: )?)?`

// newSyslogPrefix returns the fast matcher for an expanded prefregex
// (tags replaced, as compiled), or nil when the prefregex has another
// shape.
func newSyslogPrefix(src string) *syslogPrefix {
	const head, tail = `^(?P<mlfid>`, `(?P<content>.+)$`
	if !strings.HasPrefix(src, head) || !strings.HasSuffix(src, tail) {
		return nil
	}
	body := src[len(head) : len(src)-len(tail)]
	p := &syslogPrefix{}
	if strings.HasSuffix(body, ")"+sshdPref) {
		p.errPref = true
		body = strings.TrimSuffix(body, sshdPref)
	}
	if !strings.HasSuffix(body, ")") {
		return nil
	}
	body = body[:len(body)-1]
	// the daemon sits between `[\[\(]?` and `(?:\(\S+\))?`
	const before = `(?:(?:(?:\[\d+\])?:\s+[\[\(]?`
	i := strings.Index(body, before)
	if i < 0 {
		return nil
	}
	d := body[i+len(before):]
	j := strings.Index(d, `(?:\(\S+\))?`)
	if j <= 0 {
		return nil
	}
	d = d[:j]
	for k := 0; k < len(d); k++ {
		c := d[k]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return nil
		}
	}
	if body != strings.ReplaceAll(prefixLineFile, "%s", d) {
		return nil
	}
	p.daemon = d
	return p
}

// Byte kinds for the prefix's scans (byteKinds).
const (
	kSpace    = 1 // an ASCII byte in Python's \s
	kNonASCII = 2 // a byte of a multi-byte rune
)

// byteKinds is the kind of each byte: one lookup, not a chain of
// comparisons, in the loops every line goes through. It is read only.
var byteKinds = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f:
			t[c] = kSpace
		case c >= 0x80:
			t[c] = kNonASCII
		}
	}
	return t
}()

// spaces returns the end of the run of ASCII whitespace at i, and false
// when the run ends at a non-ASCII byte (which may be Unicode whitespace).
func spaces(s string, i int) (int, bool) {
	for i < len(s) && byteKinds[s[i]] == kSpace {
		i++
	}
	return i, i == len(s) || s[i] < 0x80
}

// match returns the prefregex's offsets on s (whole match, mlfid, content),
// appended to dst[:0], with ok true; ok false means undecided: run the
// regex.
func (p *syslogPrefix) match(s string, dst []int) (loc []int, ok bool) {
	n := len(s)
	// (?:\[\])?  — must not be able to match
	if n > 0 && s[0] == '[' {
		return nil, false
	}
	// \s*
	i, ok := spaces(s, 0)
	// (?:<[^.]+\.[^.]+>\s+)?  — skipped: cannot start here
	if !ok || i == n || s[i] == '<' {
		return nil, false
	}
	// (?:\S+\s+)?  — \S+ takes the whole word, \s+ the whole run after it
	for i < n && byteKinds[s[i]] == 0 {
		i++
	}
	if i < n && byteKinds[s[i]] == kNonASCII {
		return nil, false
	}
	if i == n {
		return nil, false
	}
	if i, ok = spaces(s, i); !ok || i == n {
		return nil, false
	}
	// (?:kernel:...)? and (?:@vserver_\S+\s+)?  — skipped: cannot start here
	rest := s[i:]
	if strings.HasPrefix(rest, "kernel:") || rest[0] == '@' {
		return nil, false
	}
	// (?:(?:\[\d+\])?:\s+[\[\(]?D...|[\[\(]?D(?:\(\S+\))?[\]\)]?:?(?:\[\d+\])?:?)\s+)?
	// The first alternative needs '[' or ':' here, the optional [\[\(]
	// of the second must take nothing: the second alternative, its
	// optional parts each tried in turn, then \s+.
	switch {
	case rest[0] == '[' || rest[0] == ':' || rest[0] == '(':
		return nil, false
	case !strings.HasPrefix(rest, p.daemon):
		// neither alternative can start here (another program's line):
		// the group matches nothing, and the content is the rest
	default:
		i += len(p.daemon)
		if i < n && (s[i] == '(' || s[i] == ']' || s[i] == ')') {
			return nil, false
		}
		if i < n && s[i] == ':' {
			i++
		}
		if i < n && s[i] == '[' {
			j := i + 1
			for j < n && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 || j == n || s[j] != ']' {
				return nil, false
			}
			i = j + 1
		}
		if i < n && s[i] == ':' {
			i++
		}
		j, ok := spaces(s, i)
		if !ok || j == i {
			return nil, false
		}
		i = j
	}
	// (?:\[ID \d+ \S+\]\s+)?  — skipped: cannot start here
	if strings.HasPrefix(s[i:], "[ID ") {
		return nil, false
	}
	mlfidEnd := i
	// (?:(?:error|fatal): (?:PAM: )?)?
	if p.errPref && (strings.HasPrefix(s[i:], "error: ") || strings.HasPrefix(s[i:], "fatal: ")) {
		i += len("error: ")
		if strings.HasPrefix(s[i:], "PAM: ") {
			i += len("PAM: ")
		}
	}
	// (?P<content>.+)$  — the rest up to the final newline, not empty,
	// without another newline
	e := strings.IndexByte(s[i:], '\n')
	if e < 0 {
		e = n - i
	}
	if e == 0 || i+e < n-1 {
		return nil, false
	}
	return append(dst[:0], 0, i+e, 0, mlfidEnd, i, i+e), true
}
