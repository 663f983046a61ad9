package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// defaultSection is ConfigParser's default section name.
const defaultSection = "DEFAULT"

// optionLine is ConfigParser's OPTCRE with the "=" and ":" delimiters: the
// option name ends at the first delimiter. matchOptionLine is its
// hand-written equivalent (the tests compare them).
var optionLine = regexp.MustCompile(`^(.*?)\s*([=:])\s*(.*)$`)

// sectionHeader is ConfigParser's SECTCRE (matched at the start of the
// stripped line, not anchored at its end). matchSectionHeader is its
// hand-written equivalent (the tests compare them).
var sectionHeader = regexp.MustCompile(`^\[(.+)\]`)

// parseINI parses one file with Python ConfigParser rules as fail2ban
// configures them (strict, inline comment prefix ";", empty lines kept in
// values). name is used in error messages and recorded as each value's
// source.
func parseINI(name string, data []byte) (*parser, error) {
	p := newParser()
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.SplitAfter(text, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}

	type pending struct {
		sect  *omap
		key   string
		parts []string
	}
	var (
		cur       *omap // nil before the first section header
		curName   string
		optname   string
		indent    int
		multi     []*pending
		open      *pending
		badLines  []string
		noSection = true
	)
	for i, raw := range lines {
		lineno := i + 1
		line := strings.TrimRight(raw, "\n")
		commentStart := -1
		// Inline comments: ";" at the start or after whitespace.
		for idx := 0; idx < len(line); idx++ {
			if line[idx] != ';' {
				continue
			}
			if idx == 0 || unicode.IsSpace(rune(line[idx-1])) {
				commentStart = idx
				break
			}
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			commentStart = 0
		}
		value := line
		if commentStart >= 0 {
			value = line[:commentStart]
		}
		value = strings.TrimSpace(value)
		if value == "" {
			if commentStart < 0 && cur != nil && optname != "" && open != nil {
				open.parts = append(open.parts, "")
			}
			continue
		}
		curIndent := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsSpace(r) })
		if curIndent < 0 {
			curIndent = 0
		}
		if cur != nil && optname != "" && curIndent > indent {
			open.parts = append(open.parts, value)
			continue
		}
		indent = curIndent
		if sect, ok := matchSectionHeader(value); ok {
			noSection = false
			switch {
			case sect == defaultSection:
				cur = p.defaults
			case p.sections[sect] != nil:
				// Every section of p comes from this file.
				return nil, fmt.Errorf("%s:%d: section [%s] already exists", name, lineno, sect)
			default:
				cur = newOmap()
				p.sections[sect] = cur
				p.order = append(p.order, sect)
			}
			curName = sect
			optname = ""
			open = nil
			continue
		}
		if noSection {
			return nil, fmt.Errorf("%s:%d: file contains no section headers: %q", name, lineno, line)
		}
		m := matchOptionLine(value)
		if m == nil || strings.TrimRight(m[1], " \t") == "" {
			badLines = append(badLines, fmt.Sprintf("%s:%d: parsing error: %q", name, lineno, line))
			if m == nil {
				continue
			}
		}
		optname = strings.ToLower(strings.TrimRight(m[1], " \t\f\v"))
		if cur.has(optname) {
			// Every option of cur comes from this file.
			return nil, fmt.Errorf("%s:%d: option %q in section [%s] already exists", name, lineno, optname, curName)
		}
		open = &pending{sect: cur, key: optname, parts: []string{strings.TrimSpace(m[3])}}
		multi = append(multi, open)
		cur.set(optname, "", name)
	}
	for _, pd := range multi {
		pd.sect.vals[pd.key] = strings.TrimRightFunc(strings.Join(pd.parts, "\n"), unicode.IsSpace)
	}
	if len(badLines) > 0 {
		return nil, fmt.Errorf("source contains parsing errors:\n%s", strings.Join(badLines, "\n"))
	}
	return p, nil
}

// matchSectionHeader is sectionHeader.FindStringSubmatch(line)[1].
func matchSectionHeader(line string) (string, bool) {
	if len(line) < 3 || line[0] != '[' {
		return "", false
	}
	end := strings.LastIndexByte(line, ']')
	if end < 2 {
		return "", false
	}
	name := line[1:end]
	if strings.IndexByte(name, '\n') >= 0 {
		return "", false
	}
	return name, true
}

// isRegexpSpace is the \s class of Go's regexp.
func isRegexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// matchOptionLine is optionLine.FindStringSubmatch(line) for a line
// without new lines: the text before the first delimiter without its
// trailing spaces, the delimiter, and the text after it without its
// leading spaces; nil when there is no delimiter.
func matchOptionLine(line string) []string {
	i := strings.IndexAny(line, "=:")
	if i < 0 {
		return nil
	}
	name := line[:i]
	for len(name) > 0 && isRegexpSpace(name[len(name)-1]) {
		name = name[:len(name)-1]
	}
	val := line[i+1:]
	for len(val) > 0 && isRegexpSpace(val[0]) {
		val = val[1:]
	}
	return []string{line, name, line[i : i+1], val}
}
