package datedetect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/f2bd/f2bd/pkg/pyregex"
)

// A line-begin anchored template, `^(?:\W{0,2})?(...)` or `^(...)`, can
// match a line only if its date starts with one of the characters the
// date's regex can start with (its first set), at the line's start or
// after at most two non-word characters. A firstFilter rejects a line by
// its first bytes alone when it holds no such character there, so that
// the templates a line does not match cost a few nanoseconds each instead
// of a backtracking search (fail2ban's anchored templates are tried in
// turn on every line that the last winner does not match).
//
// The first set is computed on an RE2 expression for a superset of the
// date regex's matches (superRE2), restricted to ASCII: a non-ASCII byte
// among the bytes read leaves the decision to the regex. On ASCII, the
// superset's \d, \w, \W, \s and case folding are Python's (see superRE2).
// TestFirstFilter checks on fail2ban's sample logs, generated and mutated
// lines, and FuzzFirstFilter on any line, that the regex matches no line
// the filter rejects.

// firstFilter is the prefilter of a line-begin anchored template.
type firstFilter struct {
	// first is the set of ASCII bytes a date can start with (bit c of
	// first[c>>6]).
	first [2]uint64
	// skip: up to two non-word characters may precede the date
	// (`^(?:\W{0,2})?`); else the date starts the line.
	skip bool
	// class is what a byte at the start of a line tells (firstPass,
	// firstStop or firstSkip).
	class [256]uint8
}

// Classes of bytes for firstFilter.rejects.
const (
	firstPass = iota // in the first set, or not ASCII: the regex decides
	firstStop        // a word character outside the first set: no match
	firstSkip        // a non-word character outside the first set
)

// has reports whether the ASCII byte c is in the first set.
func (f *firstFilter) has(c byte) bool { return f.first[c>>6]&(1<<(c&63)) != 0 }

// setClass fills class from first.
func (f *firstFilter) setClass() {
	for c := range 256 {
		switch b := byte(c); {
		case b >= 0x80 || f.has(b):
			f.class[c] = firstPass
		case isWordASCII(b):
			f.class[c] = firstStop
		default:
			f.class[c] = firstSkip
		}
	}
}

// rejects reports whether the template's regex surely does not match line.
func (f *firstFilter) rejects(line string) bool {
	if len(line) == 0 {
		return true // the date is not empty (see firstFilterOf)
	}
	switch f.class[line[0]] {
	case firstPass:
		return false
	case firstStop:
		return true
	}
	return !f.skip || f.rejectsAfter(line)
}

// rejectsAfter is rejects for a line starting with a non-word character
// outside the first set, which \W{0,2} may take.
func (f *firstFilter) rejectsAfter(line string) bool {
	for k := 1; k < 3; k++ {
		if k >= len(line) {
			return true
		}
		switch f.class[line[k]] {
		case firstPass:
			return false
		case firstStop:
			return true // \W{0,2} cannot pass it and the date cannot start there
		}
	}
	return true
}

// firstFilterOf returns the prefilter of a template's regex (Python
// syntax, as wrap builds it), or nil when it has none: the regex is not
// line-begin anchored, may match an empty date, may start with any ASCII
// character, or uses syntax superRE2 does not take.
func firstFilterOf(full string) *firstFilter {
	flags := leadFlagsRE.FindString(full)
	rest := full[len(flags):]
	f := &firstFilter{}
	switch {
	case strings.HasPrefix(rest, lineBegin):
		rest, f.skip = rest[len(lineBegin):], true
	case strings.HasPrefix(rest, "^"):
		rest = rest[1:]
	default:
		return nil
	}
	// With MULTILINE, ^ also matches after a newline; verbose patterns
	// are not parsed here.
	if strings.ContainsAny(flags, "mxL") {
		return nil
	}
	expr, err := superRE2(flags + rest)
	if err != nil {
		return nil
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	first, nullable := pyregex.FirstBytes(re.Simplify())
	set := [2]uint64{first[0], first[1]} // the ASCII bytes
	if nullable || set == [2]uint64{^uint64(0), ^uint64(0)} {
		return nil // no first set, or one that rejects nothing
	}
	f.first = set
	f.setClass()
	return f
}

// pyClassS is the ASCII part of Python's \s (str patterns), as a class body.
const pyClassS = `\t-\r\x1c-\x1f\x20`

// quantRE matches a Python brace quantifier at the start of a string.
var quantRE = regexp.MustCompile(`^\{(\d*)(?:(,)(\d*))?\}`)

// superRE2 translates a Python pattern into an RE2 expression (Go
// syntax) that matches, on ASCII subjects, at least what the pattern
// matches at the same positions: lookarounds match the empty string only
// (`(?:...){0}`), a backreference any text, a conditional either branch
// or nothing, \s is Python's ASCII white space. It is meant for
// pyregex.FirstBytes: it fails on anything it does not know (non-ASCII
// pattern characters, whose case folding may differ, verbose or locale flags,
// possessive quantifiers, escapes other than the common ones, flags
// after the start, a top-level alternation, which would leave the
// anchor stripped by the caller to one alternative).
func superRE2(src string) (string, error) {
	var b strings.Builder
	var closers []string
	start := true // only global flags so far
	fail := func(what string) (string, error) { return "", fmt.Errorf("prefilter: %s in %q", what, src) }
	for i := 0; i < len(src); {
		c := src[i]
		if c >= 0x80 {
			return fail("non-ASCII character")
		}
		wasStart := start
		start = false
		switch c {
		case '\\':
			if i+1 >= len(src) {
				return fail("trailing backslash")
			}
			e, err := superEscape(src[i+1], false)
			if err != nil {
				return fail(err.Error())
			}
			b.WriteString(e)
			i += 2
		case '[':
			j := i + 1
			b.WriteByte('[')
			if j < len(src) && src[j] == '^' {
				b.WriteByte('^')
				j++
			}
			for first := true; ; first = false {
				if j >= len(src) {
					return fail("unterminated set")
				}
				d := src[j]
				switch {
				case d >= 0x80:
					return fail("non-ASCII character")
				case d == ']' && !first:
					b.WriteByte(']')
					j++
				case d == '\\':
					if j+1 >= len(src) {
						return fail("trailing backslash")
					}
					e, err := superEscape(src[j+1], true)
					if err != nil {
						return fail(err.Error())
					}
					b.WriteString(e)
					j += 2
					continue
				case d == '-' || isWordASCII(d):
					b.WriteByte(d)
					j++
					continue
				default:
					fmt.Fprintf(&b, `\x%02x`, d)
					j++
					continue
				}
				break
			}
			i = j
		case '(':
			rest := src[i:]
			switch {
			case strings.HasPrefix(rest, "(?P<"):
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					return fail("unterminated group name")
				}
				b.WriteString("(")
				closers = append(closers, ")")
				i += end + 1
			case strings.HasPrefix(rest, "(?P="):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return fail("unterminated backreference")
				}
				b.WriteString(`(?s:.*)`)
				i += end + 1
			case strings.HasPrefix(rest, "(?:"), strings.HasPrefix(rest, "(?>"):
				b.WriteString("(?:")
				closers = append(closers, ")")
				i += 3
			case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
				b.WriteString("(?:")
				closers = append(closers, "){0}")
				i += 3
			case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
				b.WriteString("(?:")
				closers = append(closers, "){0}")
				i += 4
			case strings.HasPrefix(rest, "(?("):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return fail("unterminated condition")
				}
				b.WriteString("(?:")
				closers = append(closers, "|)")
				i += end + 1
			case strings.HasPrefix(rest, "(?#"):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return fail("unterminated comment")
				}
				i += end + 1
			case strings.HasPrefix(rest, "(?"):
				// flags: global ones only at the very start
				j := 2
				for j < len(rest) && strings.IndexByte("aiLmsux-", rest[j]) >= 0 {
					j++
				}
				if j >= len(rest) || (rest[j] != ')' && rest[j] != ':') {
					return fail("unknown extension")
				}
				fl := strings.NewReplacer("a", "", "u", "").Replace(rest[2:j])
				if strings.ContainsAny(fl, "xLm") || (rest[j] == ')' && !wasStart) {
					return fail("flags")
				}
				start = rest[j] == ')'
				on, off, _ := strings.Cut(fl, "-")
				g := "(?" + on
				if off != "" {
					g += "-" + off
				}
				switch {
				case rest[j] == ')' && g == "(?":
				case rest[j] == ')':
					b.WriteString(g + ")")
				case g == "(?":
					b.WriteString("(?:")
					closers = append(closers, ")")
				default:
					b.WriteString(g + ":")
					closers = append(closers, ")")
				}
				i += j + 1
			default:
				b.WriteString("(")
				closers = append(closers, ")")
				i++
			}
		case ')':
			if len(closers) == 0 {
				return fail("unbalanced parenthesis")
			}
			b.WriteString(closers[len(closers)-1])
			closers = closers[:len(closers)-1]
			i++
		case '|':
			if len(closers) == 0 {
				return fail("top-level alternation")
			}
			b.WriteByte('|')
			i++
		case '{':
			m := quantRE.FindStringSubmatch(src[i:])
			if m == nil {
				b.WriteString(`\{`)
				i++
				break
			}
			lo := m[1]
			if lo == "" {
				lo = "0"
			}
			b.WriteString("{" + lo + m[2] + m[3] + "}")
			i += len(m[0])
			if i < len(src) && src[i] == '+' {
				return fail("possessive quantifier")
			}
		case '*', '+', '?':
			b.WriteByte(c)
			i++
			if c != '?' && i < len(src) && src[i] == '+' {
				return fail("possessive quantifier")
			}
			if c == '?' && i < len(src) && src[i] == '+' && i >= 2 && strings.IndexByte("*+?}", src[i-2]) >= 0 {
				return fail("possessive quantifier")
			}
		case '.', '^', '$':
			b.WriteByte(c)
			i++
		default:
			if isWordASCII(c) {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
			i++
		}
	}
	if len(closers) != 0 {
		return fail("unbalanced parenthesis")
	}
	return b.String(), nil
}

// superEscape translates the Python escape \c (inClass: inside a set) for
// superRE2.
func superEscape(c byte, inClass bool) (string, error) {
	switch {
	case c == 's':
		if inClass {
			return pyClassS, nil
		}
		return "[" + pyClassS + "]", nil
	case strings.IndexByte("SdDwW", c) >= 0:
		// On ASCII, Go's \d \D \w \W are Python's, and Go's \S (not
		// [\t\n\f\r ]) holds Python's.
		return `\` + string(c), nil
	case strings.IndexByte("bBAZ", c) >= 0:
		if inClass {
			if c == 'b' {
				return `\x08`, nil
			}
			return "", fmt.Errorf("escape \\%c in a set", c)
		}
		if c == 'Z' {
			return `\z`, nil
		}
		return `\` + string(c), nil
	case strings.IndexByte("ntrfva", c) >= 0:
		return `\` + string(c), nil
	case c >= '0' && c <= '9':
		if inClass || c == '0' {
			return "", fmt.Errorf("octal escape")
		}
		// a backreference \1 to \9 (a second digit only makes it longer)
		return `(?s:.*)`, nil
	case c < 0x80 && !isWordASCII(c):
		return fmt.Sprintf(`\x%02x`, c), nil
	}
	return "", fmt.Errorf("escape \\%c", c)
}
