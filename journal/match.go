package journal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Term is one FIELD=value condition of a journal match.
type Term struct {
	Field string
	Value string
}

// String returns the term as FIELD=value.
func (t Term) String() string { return t.Field + "=" + t.Value }

// Group is one "+"-separated part of a journalmatch. As in sd-journal, terms
// on different fields must all hold, and terms on the same field are
// alternatives.
type Group []Term

// Matches is a parsed journalmatch: an entry is delivered when any group
// matches it. An empty Matches matches every entry.
type Matches []Group

// ParseMatches parses a journalmatch as fail2ban reads it from a filter:
// each line is split into words with POSIX shell quoting rules, a "+" word
// starts a new group, every other word must be FIELD=value, and separate
// lines are alternatives just like "+". Empty groups are dropped.
func ParseMatches(s string) (Matches, error) {
	var m Matches
	for n, line := range strings.Split(s, "\n") {
		words, err := shellSplit(line)
		if err != nil {
			return nil, fmt.Errorf("journalmatch line %d %q: %w", n+1, line, err)
		}
		var g Group
		for _, w := range words {
			if w == "+" {
				if len(g) > 0 {
					m = append(m, g)
				}
				g = nil
				continue
			}
			t, err := parseTerm(w)
			if err != nil {
				return nil, fmt.Errorf("journalmatch line %d: %w", n+1, err)
			}
			g = append(g, t)
		}
		if len(g) > 0 {
			m = append(m, g)
		}
	}
	return m, nil
}

// parseTerm splits FIELD=value and checks FIELD the way sd_journal_add_match
// does: 1 to 64 characters of A-Z, 0-9 and "_", not starting with a digit.
func parseTerm(w string) (Term, error) {
	field, value, ok := strings.Cut(w, "=")
	if !ok {
		return Term{}, fmt.Errorf("match %q is not FIELD=value", w)
	}
	if !validField(field) {
		return Term{}, fmt.Errorf("match %q: invalid journal field name %q", w, field)
	}
	return Term{Field: field, Value: value}, nil
}

func validField(f string) bool {
	if f == "" || len(f) > 64 || (f[0] >= '0' && f[0] <= '9') {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// String renders m as a single-line journalmatch that ParseMatches reads
// back to the same value; values needing it are single-quoted.
func (m Matches) String() string {
	var b strings.Builder
	for i, g := range m {
		if i > 0 {
			b.WriteString(" + ")
		}
		for j, t := range g {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(shellQuote(t.String()))
		}
	}
	return b.String()
}

// args returns m as journalctl match arguments.
func (m Matches) args() []string {
	var a []string
	for i, g := range m {
		if i > 0 {
			a = append(a, "+")
		}
		for _, t := range g {
			a = append(a, t.String())
		}
	}
	return a
}

// sshAlternatives returns the other values that name the OpenSSH server
// for t's field: Debian runs it as ssh.service where upstream (and the stock
// fail2ban sshd filter) uses sshd.service, and OpenSSH 9.8 and later log
// per-connection messages from the sshd-session program.
func sshAlternatives(t Term) []string {
	switch {
	case t.Field == "_SYSTEMD_UNIT" && t.Value == "sshd.service":
		return []string{"ssh.service"}
	case t.Field == "_SYSTEMD_UNIT" && t.Value == "ssh.service":
		return []string{"sshd.service"}
	case (t.Field == "_COMM" || t.Field == "SYSLOG_IDENTIFIER") && t.Value == "sshd":
		return []string{"sshd-session"}
	}
	return nil
}

// WidenSSH returns a copy of m in which every group that names the OpenSSH
// server one way also accepts its other names: _SYSTEMD_UNIT=sshd.service
// gains _SYSTEMD_UNIT=ssh.service (Debian's unit name) and the reverse, and
// _COMM=sshd or SYSLOG_IDENTIFIER=sshd gains the same field =sshd-session
// (OpenSSH 9.8+). Because terms on one field are alternatives, the added
// terms widen the group without loosening its other conditions. m is not
// modified.
func (m Matches) WidenSSH() Matches {
	out := make(Matches, 0, len(m))
	for _, g := range m {
		ng := append(Group(nil), g...)
		for _, t := range g {
			for _, alt := range sshAlternatives(t) {
				nt := Term{Field: t.Field, Value: alt}
				if !ng.has(nt) {
					ng = append(ng, nt)
				}
			}
		}
		out = append(out, ng)
	}
	return out
}

// Fields lists the journal fields that m's terms name, each once, in order
// of appearance.
func (m Matches) Fields() []string {
	var out []string
	for _, g := range m {
		for _, t := range g {
			if !slices.Contains(out, t.Field) {
				out = append(out, t.Field)
			}
		}
	}
	return out
}

// Match reports whether an entry with these fields satisfies m the way
// sd-journal evaluates it: some group holds, a group holding when each
// field it names has one of the group's values for that field. An empty
// Matches matches every entry. fields must hold every field m names that
// the entry has (see Options.Fields).
func (m Matches) Match(fields map[string]string) bool {
	if len(m) == 0 {
		return true
	}
	for _, g := range m {
		if g.match(fields) {
			return true
		}
	}
	return false
}

func (g Group) match(fields map[string]string) bool {
	for i, t := range g {
		if g.seenField(i) {
			continue // this field was decided with its first term
		}
		v, ok := fields[t.Field]
		if !ok {
			return false
		}
		hit := false
		for _, u := range g[i:] {
			if u.Field == t.Field && u.Value == v {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// seenField reports whether a term before g[i] names g[i]'s field.
func (g Group) seenField(i int) bool {
	for _, t := range g[:i] {
		if t.Field == g[i].Field {
			return true
		}
	}
	return false
}

// Or returns the matches that hold when any of ms holds: their groups one
// after the other. When one of ms is empty (it matches everything), so is
// the result.
func Or(ms ...Matches) Matches {
	var out Matches
	for _, m := range ms {
		if len(m) == 0 {
			return nil
		}
		for _, g := range m {
			dup := false
			for _, h := range out {
				if slices.Equal(g, h) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, g)
			}
		}
	}
	return out
}

func (g Group) has(t Term) bool {
	for _, x := range g {
		if x == t {
			return true
		}
	}
	return false
}

// shellSplit splits s into words like Python's shlex.split in POSIX mode
// (which fail2ban uses for journalmatch): blanks separate words, single
// quotes are literal, double quotes allow \" and \\ escapes, and a backslash
// outside quotes escapes the next character.
func shellSplit(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inW   bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inW {
				words = append(words, cur.String())
				cur.Reset()
				inW = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("no escaped character after trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inW = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("no closing single quotation")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inW = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("no closing double quotation")
			}
			inW = true
		default:
			cur.WriteByte(c)
			inW = true
		}
	}
	if inW {
		words = append(words, cur.String())
	}
	return words, nil
}

// shellQuote quotes w for shellSplit when it contains blanks, quotes or
// backslashes, or is "+".
func shellQuote(w string) string {
	if w != "+" && !strings.ContainsAny(w, " \t\r\n'\"\\") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
}
