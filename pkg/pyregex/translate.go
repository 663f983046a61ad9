package pyregex

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Class bodies (without brackets) giving Python 3 str-pattern meaning.
const (
	uniDigit = `\p{Nd}`
	uniWord  = `\p{L}\p{N}_`
	uniSpace = `\t-\r\x1c-\x1f\x85\p{Z}`
	ascDigit = `0-9`
	ascWord  = `0-9A-Za-z_`
	ascSpace = `\t-\r `
)

// translation is the result of rewriting one Python pattern for both engines.
type translation struct {
	goExpr string // RE2 syntax; empty when needsNet
	// superExpr is RE2 syntax for a superset of the pattern's matches
	// (lookarounds dropped, backreferences as .*, conditionals as
	// alternations); it is only analysed for required literals.
	superExpr string
	netExpr   string // regexp2 (.NET) syntax, every capture group named _N
	// names[i] is the Python name of capture group i (index 0 is the whole match).
	names []string
	// needsNet: the pattern uses a feature RE2 lacks.
	needsNet bool
	netWhy   string
	// dollar: a non-multiline `$` was written as (?m:$) for RE2; exact only
	// when the subject has no newline before its last byte.
	dollar bool
	// boundary: \b or \B is used with Unicode meaning; RE2's is ASCII, exact
	// only for ASCII subjects.
	boundary bool
}

// flagState is the set of Python inline flags active in a group.
type flagState struct {
	ascii, multiline, verbose bool
}

type translator struct {
	src      string
	pos      int
	goB      *strings.Builder
	netB     *strings.Builder
	supB     *strings.Builder // superset expression (see translation.superExpr)
	closers  []string         // per open group: what closes it in supB
	tr       translation
	nameIdx  map[string]int
	stack    []flagState
	cur      flagState
	groupCnt int
}

func translate(src string) (*translation, error) {
	t := &translator{src: src, nameIdx: map[string]int{}, goB: &strings.Builder{}, netB: &strings.Builder{}, supB: &strings.Builder{}}
	t.tr.names = []string{""}
	if err := t.leadingFlags(); err != nil {
		return nil, err
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	if len(t.stack) != 0 {
		return nil, fmt.Errorf("missing ), unterminated subpattern")
	}
	if !t.tr.needsNet {
		t.tr.goExpr = t.goB.String()
	}
	t.tr.netExpr = t.netB.String()
	t.tr.superExpr = t.supB.String()
	return &t.tr, nil
}

func (t *translator) emit(goS, netS string) {
	t.goB.WriteString(goS)
	t.netB.WriteString(netS)
	t.supB.WriteString(goS)
}

func (t *translator) both(s string) { t.emit(s, s) }

func (t *translator) net(why string) {
	if !t.tr.needsNet {
		t.tr.needsNet = true
		t.tr.netWhy = why
	}
}

// leadingFlags consumes global flag groups like (?i) at the start of the pattern.
func (t *translator) leadingFlags() error {
	for strings.HasPrefix(t.src[t.pos:], "(?") {
		end := strings.IndexByte(t.src[t.pos:], ')')
		if end < 0 {
			return nil
		}
		flags := t.src[t.pos+2 : t.pos+end]
		if flags == "" || strings.Trim(flags, "aiLmsux") != "" {
			return nil
		}
		if err := t.applyFlags(flags, true, &t.cur); err != nil {
			return err
		}
		t.pos += end + 1
	}
	return nil
}

// applyFlags records Python flags; i, m and s are passed to the engines.
func (t *translator) applyFlags(flags string, on bool, st *flagState) error {
	var eng strings.Builder
	for _, c := range flags {
		switch c {
		case 'a':
			st.ascii = on
		case 'u':
		case 'L':
			return fmt.Errorf("flag L (locale) is not valid for str patterns")
		case 'x':
			st.verbose = on
		case 'm':
			st.multiline = on
			eng.WriteRune(c)
		case 'i', 's':
			eng.WriteRune(c)
		default:
			return fmt.Errorf("unknown flag %q", c)
		}
	}
	if e := eng.String(); e != "" && on {
		t.both("(?" + e + ")")
	}
	return nil
}

func (t *translator) run() error {
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		if t.cur.verbose {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
				t.pos++
				continue
			}
			if c == '#' {
				nl := strings.IndexByte(t.src[t.pos:], '\n')
				if nl < 0 {
					t.pos = len(t.src)
				} else {
					t.pos += nl + 1
				}
				continue
			}
		}
		switch c {
		case '\\':
			if err := t.escape(false); err != nil {
				return err
			}
		case '[':
			if err := t.class(); err != nil {
				return err
			}
		case '(':
			if err := t.group(); err != nil {
				return err
			}
		case ')':
			if len(t.stack) == 0 {
				return fmt.Errorf("unbalanced parenthesis at position %d", t.pos)
			}
			t.cur = t.stack[len(t.stack)-1]
			t.stack = t.stack[:len(t.stack)-1]
			t.goB.WriteString(")")
			t.netB.WriteString(")")
			t.supB.WriteString(t.closers[len(t.closers)-1])
			t.closers = t.closers[:len(t.closers)-1]
			t.pos++
			if err := t.possessive(); err != nil {
				return err
			}
		case '$':
			t.pos++
			if t.cur.multiline {
				t.both("$")
			} else {
				// Python: end of string or before a final newline (.NET `$` is the same).
				t.tr.dollar = true
				t.emit(`(?m:$)`, `$`)
			}
		case '{':
			t.brace()
		case '}':
			t.both(`\}`)
			t.pos++
		case '*', '+', '?':
			t.both(string(c))
			t.pos++
			if t.pos < len(t.src) && t.src[t.pos] == '?' {
				t.both("?")
				t.pos++
			} else if err := t.possessive(); err != nil {
				return err
			}
		default:
			r, n := utf8.DecodeRuneInString(t.src[t.pos:])
			t.both(string(r))
			t.pos += n
		}
	}
	return nil
}

// possessive rejects Python 3.11 possessive quantifiers, which neither engine has.
func (t *translator) possessive() error {
	if t.pos < len(t.src) && t.src[t.pos] == '+' && t.pos > 0 && strings.ContainsRune("*+?}", rune(t.src[t.pos-1])) {
		return fmt.Errorf("possessive quantifier at position %d is not supported", t.pos)
	}
	return nil
}

// brace handles `{`: a quantifier {m}, {m,}, {,n}, {m,n}, or a literal brace.
func (t *translator) brace() {
	rest := t.src[t.pos:]
	end := strings.IndexByte(rest, '}')
	if end > 0 {
		body := rest[1:end]
		lo, hi, comma := strings.Cut(body, ",")
		if (lo == "" || isDigits(lo)) && (isDigits(hi) || hi == "") && (lo != "" || (comma && hi != "")) {
			if lo == "" {
				lo = "0"
			}
			q := "{" + lo
			if comma {
				q += "," + hi
			}
			q += "}"
			t.both(q)
			t.pos += end + 1
			if t.pos < len(t.src) && t.src[t.pos] == '?' {
				t.both("?")
				t.pos++
			}
			return
		}
	}
	t.both(`\{`)
	t.pos++
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// push opens a group; the superset expression closes it with ")".
func (t *translator) push() {
	t.stack = append(t.stack, t.cur)
	t.closers = append(t.closers, ")")
}

// pushSuper opens a group written open in the superset expression and
// closed with closer there.
func (t *translator) pushSuper(open, closer string) {
	t.push()
	t.closers[len(t.closers)-1] = closer
	t.supB.WriteString(open)
}

func (t *translator) capture(name string) error {
	t.groupCnt++
	n := t.groupCnt
	if name != "" {
		if _, dup := t.nameIdx[name]; dup {
			return fmt.Errorf("redefinition of group name %q", name)
		}
		t.nameIdx[name] = n
	}
	t.tr.names = append(t.tr.names, name)
	if name != "" {
		t.goB.WriteString("(?P<" + name + ">")
	} else {
		t.goB.WriteString("(")
	}
	// (the superset expression uses unnamed groups: lookarounds dropped
	// from it may hold names used again elsewhere)
	t.netB.WriteString("(?<_" + strconv.Itoa(n) + ">")
	t.pushSuper("(", ")")
	return nil
}

// groupRef resolves a Python group reference (name or number) to its number.
func (t *translator) groupRef(ref string) (int, error) {
	if isDigits(ref) {
		n, _ := strconv.Atoi(ref)
		if n < 1 || n > t.groupCnt {
			return 0, fmt.Errorf("invalid group reference %s", ref)
		}
		return n, nil
	}
	n, ok := t.nameIdx[ref]
	if !ok {
		return 0, fmt.Errorf("unknown group name %q", ref)
	}
	return n, nil
}

func (t *translator) group() error {
	rest := t.src[t.pos:]
	if !strings.HasPrefix(rest, "(?") {
		t.pos++
		return t.capture("")
	}
	switch {
	case strings.HasPrefix(rest, "(?P<"):
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return fmt.Errorf("missing >, unterminated name at position %d", t.pos)
		}
		name := rest[4:end]
		if !validName(name) {
			return fmt.Errorf("bad character in group name %q", name)
		}
		t.pos += end + 1
		return t.capture(name)
	case strings.HasPrefix(rest, "(?P="):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Errorf("missing ), unterminated name at position %d", t.pos)
		}
		n, err := t.groupRef(rest[4:end])
		if err != nil {
			return err
		}
		t.net("backreference")
		t.netB.WriteString(`\k<_` + strconv.Itoa(n) + `>`)
		t.supB.WriteString(`(?s:.*)`)
		t.pos += end + 1
		return nil
	case strings.HasPrefix(rest, "(?:"):
		t.push()
		t.both("(?:")
		t.pos += 3
		return nil
	case strings.HasPrefix(rest, "(?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Errorf("missing ), unterminated comment")
		}
		t.pos += end + 1
		return nil
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		t.net("lookahead")
		t.pushSuper("(?:", "){0}")
		t.netB.WriteString(rest[:3])
		t.pos += 3
		return nil
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		t.net("lookbehind")
		t.pushSuper("(?:", "){0}")
		t.netB.WriteString(rest[:4])
		t.pos += 4
		return nil
	case strings.HasPrefix(rest, "(?>"):
		t.net("atomic group")
		t.pushSuper("(?:", ")")
		t.netB.WriteString("(?>")
		t.pos += 3
		return nil
	case strings.HasPrefix(rest, "(?("):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Errorf("missing ), unterminated condition")
		}
		n, err := t.groupRef(rest[3:end])
		if err != nil {
			return err
		}
		t.net("conditional")
		t.pushSuper("(?:", "|)")
		t.netB.WriteString("(?(_" + strconv.Itoa(n) + ")")
		t.pos += end + 1
		return nil
	}
	// Flag group: (?flags) or (?flags-flags:...)
	i := 2
	for i < len(rest) && strings.IndexByte("aiLmsux-", rest[i]) >= 0 {
		i++
	}
	if i >= len(rest) || (rest[i] != ':' && rest[i] != ')') {
		return fmt.Errorf("unknown extension %q at position %d", rest[:min(len(rest), i+1)], t.pos)
	}
	if rest[i] == ')' {
		return fmt.Errorf("global flags not at the start of the expression at position %d", t.pos)
	}
	on, off, _ := strings.Cut(rest[2:i], "-")
	t.push()
	st := t.cur
	var engOn, engOff strings.Builder
	for _, part := range []struct {
		flags string
		val   bool
		b     *strings.Builder
	}{{on, true, &engOn}, {off, false, &engOff}} {
		for _, c := range part.flags {
			switch c {
			case 'a':
				st.ascii = part.val
			case 'u':
			case 'x':
				st.verbose = part.val
			case 'm':
				st.multiline = part.val
				part.b.WriteRune(c)
			case 'i', 's':
				part.b.WriteRune(c)
			default:
				return fmt.Errorf("bad inline flag %q", c)
			}
		}
	}
	g := "(?" + engOn.String()
	if engOff.Len() > 0 {
		g += "-" + engOff.String()
	}
	if g == "(?" {
		g = "(?:"
	} else {
		g += ":"
	}
	t.both(g)
	t.cur = st
	t.pos += i + 1
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// classBody returns the Unicode (or ASCII) body of \d, \w or \s.
func (t *translator) classBody(c byte) string {
	switch c {
	case 'd':
		if t.cur.ascii {
			return ascDigit
		}
		return uniDigit
	case 'w':
		if t.cur.ascii {
			return ascWord
		}
		return uniWord
	default:
		if t.cur.ascii {
			return ascSpace + `\v`
		}
		return uniSpace
	}
}

// escape handles a backslash sequence; inClass selects character-class meaning.
func (t *translator) escape(inClass bool) error {
	if t.pos+1 >= len(t.src) {
		return fmt.Errorf("bad escape (end of pattern)")
	}
	c := t.src[t.pos+1]
	t.pos += 2
	switch c {
	case 'd', 'w', 's':
		body := t.classBody(c)
		if inClass {
			t.both(body)
		} else {
			t.both("[" + body + "]")
		}
	case 'D', 'W', 'S':
		body := t.classBody(c + ('a' - 'A'))
		if inClass {
			// A negated class inside a class cannot be written in RE2.
			t.net(`negated class escape inside a set`)
			t.netB.WriteString(`\` + string(c))
			t.supB.WriteString(`\x00-\x{10FFFF}`)
		} else {
			t.both("[^" + body + "]")
		}
	case 'b':
		if inClass {
			t.both(`\x08`)
		} else {
			if !t.cur.ascii {
				t.tr.boundary = true
			}
			t.both(`\b`)
		}
	case 'B':
		if inClass {
			return fmt.Errorf("bad escape \\B in set")
		}
		if !t.cur.ascii {
			t.tr.boundary = true
		}
		t.both(`\B`)
	case 'A':
		if inClass {
			return fmt.Errorf("bad escape \\A in set")
		}
		t.both(`\A`)
	case 'Z':
		if inClass {
			return fmt.Errorf("bad escape \\Z in set")
		}
		t.both(`\z`)
	case 'n', 't', 'r', 'f', 'v', 'a':
		t.both(`\` + string(c))
	case 'x':
		if t.pos+2 > len(t.src) || !isHex(t.src[t.pos:t.pos+2]) {
			return fmt.Errorf("incomplete escape \\x")
		}
		t.emitCode(t.src[t.pos:t.pos+2], inClass)
		t.pos += 2
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if t.pos+n > len(t.src) || !isHex(t.src[t.pos:t.pos+n]) {
			return fmt.Errorf("incomplete escape \\%c", c)
		}
		t.emitCode(t.src[t.pos:t.pos+n], inClass)
		t.pos += n
	case '0':
		// Octal escape: \0, \0o, \0oo.
		j := t.pos
		for j < len(t.src) && j < t.pos+2 && t.src[j] >= '0' && t.src[j] <= '7' {
			j++
		}
		v, _ := strconv.ParseUint("0"+t.src[t.pos:j], 8, 32)
		t.emitCode(strconv.FormatUint(v, 16), inClass)
		t.pos = j
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		j := t.pos
		for j < len(t.src) && j < t.pos+1 && t.src[j] >= '0' && t.src[j] <= '9' {
			j++
		}
		ref := t.src[t.pos-1 : j]
		if inClass || (len(ref) == 3 && allOctal(ref)) {
			return fmt.Errorf("octal escapes other than \\0 are not supported: \\%s", ref)
		}
		n, err := t.groupRef(ref)
		if err != nil {
			return err
		}
		t.net("backreference")
		t.netB.WriteString(`\k<_` + strconv.Itoa(n) + `>`)
		t.supB.WriteString(`(?s:.*)`)
		t.pos = j
	default:
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return fmt.Errorf("bad escape \\%c at position %d", c, t.pos-2)
		}
		r, n := utf8.DecodeRuneInString(t.src[t.pos-1:])
		t.pos += n - 1
		t.literal(r)
	}
	return nil
}

func allOctal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}

// emitCode writes the code point given in hex as an escaped literal.
func (t *translator) emitCode(hex string, _ bool) {
	v, _ := strconv.ParseUint(hex, 16, 32)
	t.literal(rune(v))
}

// literal writes one rune, escaped so both engines read it literally.
func (t *translator) literal(r rune) {
	switch {
	case r < 0x80 && strings.ContainsRune(`\.+*?()|[]{}^$-`, r):
		t.both(`\` + string(r))
	case r < 0x20 || r == 0x7f:
		t.both(fmt.Sprintf(`\x%02x`, r))
	case r > 0xffff:
		t.emit(fmt.Sprintf(`\x{%x}`, r), string(r))
	default:
		t.both(string(r))
	}
}

// class translates a Python character set. A positive set holding negated
// escapes (\S, \W, \D) becomes an alternation of negated classes, which RE2
// can express; a negated set holding them needs regexp2.
func (t *translator) class() error {
	t.pos++
	outerGo, outerNet, outerSup := t.goB, t.netB, t.supB
	t.goB, t.netB, t.supB = &strings.Builder{}, &strings.Builder{}, &strings.Builder{}
	negated := false
	if t.pos < len(t.src) && t.src[t.pos] == '^' {
		negated = true
		t.pos++
	}
	var negs []string
	first := true
	for {
		if t.pos >= len(t.src) {
			return fmt.Errorf("unterminated character set")
		}
		c := t.src[t.pos]
		switch {
		case c == ']' && !first:
			t.pos++
			body := t.goB.String()
			netBody := t.netB.String()
			t.goB, t.netB, t.supB = outerGo, outerNet, outerSup
			hat := ""
			if negated {
				hat = "^"
			}
			switch {
			case len(negs) == 0:
				t.emit("["+hat+body+"]", "["+hat+netBody+"]")
			case negated:
				t.net("negated escape inside a negated set")
				t.netB.WriteString("[^" + netBody + strings.Join(negs, "") + "]")
				t.supB.WriteString(`(?s:.)`)
			default:
				alt := make([]string, 0, len(negs)+1)
				for _, n := range negs {
					alt = append(alt, "[^"+t.classBody(n[1]+('a'-'A'))+"]")
				}
				if body != "" {
					alt = append(alt, "["+body+"]")
				}
				t.both("(?:" + strings.Join(alt, "|") + ")")
			}
			return nil
		case c == '\\' && t.pos+1 < len(t.src) && strings.IndexByte("DWS", t.src[t.pos+1]) >= 0:
			negs = append(negs, t.src[t.pos:t.pos+2])
			t.pos += 2
		case c == '\\':
			if err := t.escape(true); err != nil {
				return err
			}
		case c == '-':
			t.both("-")
			t.pos++
		default:
			r, n := utf8.DecodeRuneInString(t.src[t.pos:])
			t.pos += n
			t.literal(r)
		}
		first = false
	}
}
