package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

var (
	// optionHead splits "name[params]" (OPTION_CRE).
	optionHead = regexp.MustCompile(`(?s)^([^\[]+)(?:\[(.*)\])?\s*$`)
	// optionItem iterates over "k=v" items of a parameter list
	// (OPTION_EXTRACT_CRE); groups: 1 key, 2-4 value, 5 wrong-after, 6 wrong.
	optionItem = regexp.MustCompile(`(?s)\s*([\w\-_.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(.+))|,?\s*$|(.+)`)
	// actionWithParams matches one "name[params]" entry of an action list
	// (the first alternative of OPTION_SPLIT_CRE, without its lookahead).
	actionWithParams = regexp.MustCompile(`^[^\[\s]+(?:\s*\[\s*(?:[\w\-_.]+=(?:"[^"]*"|'[^']*'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*\])?`)
)

// maxTagReplaceCount bounds how often one tag may be substituted into
// another (fail2ban's MAX_TAG_REPLACE_COUNT).
const maxTagReplaceCount = 25

// ParseOptions splits a value like `name[k=v, k2="a, b"][k3='x']` into the
// name and its parameters, as fail2ban does for filter, action and backend
// values. The name keeps surrounding spaces trimmed on the right only as
// fail2ban does (it is not stripped on the left).
func ParseOptions(s string) (string, map[string]string, error) {
	name, params, err := extractOptions(s)
	if err != nil {
		return "", nil, err
	}
	return name, params.plain(), nil
}

// extractOptions is ParseOptions with ordered parameters.
func extractOptions(s string) (string, *omap, error) {
	if s != "" && strings.IndexByte(s, '[') < 0 {
		// What optionHead gives for a plain name: all of it.
		return s, newOmap(), nil
	}
	m := optionHead.FindStringSubmatch(s)
	if m == nil {
		return "", nil, fmt.Errorf("unexpected option syntax in %q", s)
	}
	name, optstr := m[1], m[2]
	params := newOmap()
	if optstr == "" {
		return name, params, nil
	}
	for _, loc := range optionItem.FindAllStringSubmatchIndex(optstr, -1) {
		g := func(i int) (string, bool) {
			if loc[2*i] < 0 {
				return "", false
			}
			return optstr[loc[2*i]:loc[2*i+1]], true
		}
		if w, ok := g(5); ok {
			k, _ := g(1)
			return "", nil, fmt.Errorf("unexpected syntax at %d after option %q: %s", loc[10], k, first(w, 25))
		}
		if w, ok := g(6); ok {
			return "", nil, fmt.Errorf("expected option, wrong syntax at %d: %s", loc[12], first(w, 25))
		}
		k, ok := g(1)
		if !ok || k == "" {
			continue
		}
		var v string
		for i := 2; i <= 4; i++ {
			if x, ok := g(i); ok {
				v = x
				break
			}
		}
		params.set(strings.TrimSpace(k), strings.TrimSpace(v), "")
	}
	return name, params, nil
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// splitWithOptions splits an action list into its entries, keeping
// "name[...]" parameter lists (which may span lines) together.
func splitWithOptions(s string) []string {
	var out []string
	isSpace := func(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v' }
	endsAtSpace := func(i int) bool { return i >= len(s) || isSpace(s[i]) }
	i := 0
	for i < len(s) {
		if isSpace(s[i]) {
			i++
			continue
		}
		end := -1
		if m := actionWithParams.FindStringIndex(s[i:]); m != nil && endsAtSpace(i+m[1]) {
			end = i + m[1]
		} else {
			j := i
			for j < len(s) && !isSpace(s[j]) && s[j] != '[' {
				j++
			}
			if j > i && endsAtSpace(j) {
				end = j
			}
		}
		if end < 0 {
			end = i
			for end < len(s) && !isSpace(s[end]) {
				end++
			}
		}
		out = append(out, s[i:end])
		i = end
	}
	return out
}

// splitWords splits on commas, spaces and new lines, dropping empty
// entries (fail2ban's splitwords).
func splitWords(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
	out := make([]string, 0, len(f))
	for _, w := range f {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// AsBool reads a boolean option as fail2ban does (its _as_bool): 1, on,
// true and yes in any case are true, anything else false.
func AsBool(s string) bool {
	switch strings.ToLower(s) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}

// pyBool renders a bool as Python's str(bool) does.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// pyInt parses an integer as Python's int(str) does (surrounding
// whitespace, sign and "_" digit separators allowed).
func pyInt(s string) (int, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "_") {
		if strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
			return 0, fmt.Errorf("invalid integer %q", s)
		}
		t = strings.ReplaceAll(t, "_", "")
	}
	if t == "" || strings.IndexFunc(strings.TrimLeft(t, "+-"), func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 || strings.Count(t, "+")+strings.Count(t, "-") > 1 {
		return 0, fmt.Errorf("invalid integer %q", s)
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q: %w", s, err)
	}
	return n, nil
}

// tagLookup resolves a tag that is not among the substituted options; ok
// is false when it is unknown. name is tag as a string (one the lookup
// keeps, so that no new one is made for each use).
type tagLookup func(tag []byte) (name, v string, ok bool, err error)

// substituteTags is fail2ban's substituteRecursiveTags: every <tag> in a
// value that names another option (or that addrepl resolves) is replaced,
// repeatedly, until no more replacements happen. Unknown tags stay. in is
// returned as is when nothing is replaced, else a copy.
//
// A value is substituted in a byte buffer (two, swapped at each
// replacement), so that only its final form becomes a string.
func substituteTags(in *omap, ignore map[string]bool, addrepl tagLookup) (*omap, error) {
	return substituteTagsIn(in, ignore, addrepl, false)
}

// substituteTagsIn is substituteTags; when owned, in is the caller's own
// copy, changed in place and returned (on error, partly substituted).
func substituteTagsIn(in *omap, ignore map[string]bool, addrepl tagLookup, owned bool) (*omap, error) {
	tags := in // copied on the first change unless owned
	sb := substBufPool.Get().(*substBuf)
	defer substBufPool.Put(sb)
	done := sb.done[:0]
	repCounts := sb.repCounts[:0]
	for range in.keys {
		done = append(done, false)
		repCounts = append(repCounts, nil)
	}
	cur, alt, scratch := sb.cur, sb.alt, sb.scratch
	defer func() {
		clear(repCounts)
		sb.done, sb.repCounts = done, repCounts
		sb.cur, sb.alt, sb.scratch = cur[:0], alt[:0], scratch[:0]
	}()
	for {
		repeat := false
		for ti, tag := range in.keys {
			if done[ti] || ignore[tag] {
				continue
			}
			orig := tags.vals[tag]
			if orig == noneValue {
				done[ti] = true
				continue
			}
			start, end, ok := findTag(orig, 0)
			if !ok {
				if strings.IndexByte(orig, '<') < 0 {
					done[ti] = true
				}
				continue
			}
			// rplc counts the replacements of each tag in the value; it
			// carries over to the next round only when the value keeps
			// tags (a scratch slice serves until then).
			rplc := repCounts[ti]
			kept := rplc != nil
			if !kept {
				rplc = scratch[:0]
			}
			cur = append(cur[:0], orig...)
			changed := false
			for ok {
				rtag := cur[start+1 : end-1]
				if ignore[string(rtag)] {
					start, end, ok = findTag(cur, end)
					continue
				}
				cnt, idx := 1, -1
				for i := range rplc {
					if rplc[i].tag == string(rtag) {
						cnt, idx = rplc[i].n, i
						break
					}
				}
				if string(rtag) == tag || cnt > maxTagReplaceCount {
					return nil, fmt.Errorf("option %q contains a self-referencing tag definition <%s> that cannot be resolved (value %q)", tag, rtag, cur)
				}
				// name is rtag as a string, found without allocating.
				var name string
				repl, found := tags.vals[string(rtag)]
				if found && repl != noneValue {
					for _, k := range in.keys {
						if k == string(rtag) {
							name = k
							break
						}
					}
				} else {
					found = false
					if addrepl != nil {
						var err error
						name, repl, found, err = addrepl(rtag)
						if err != nil {
							return nil, fmt.Errorf("option %q, tag <%s>: %w", tag, rtag, err)
						}
					}
					if !found {
						start, end, ok = findTag(cur, end)
						continue
					}
				}
				// cur[:start] + cur[start:] with every "<rtag>" replaced
				// (none precedes start: those were left unresolved).
				old := cur[start:end]
				alt = append(alt[:0], cur[:start]...)
				rest := cur[start:]
				for k := 0; k >= 0; k = bytes.Index(rest, old) {
					alt = append(alt, rest[:k]...)
					alt = append(alt, repl...)
					rest = rest[k+len(old):]
				}
				alt = append(alt, rest...)
				if idx < 0 {
					rplc = append(rplc, tagCount{name, 1})
				} else {
					rplc[idx].n++
				}
				cur, alt = alt, cur
				changed = true
				start, end, ok = findTag(cur, start)
			}
			value := orig
			if changed && string(cur) != orig {
				value = string(cur)
			}
			if kept {
				repCounts[ti] = rplc
			} else {
				scratch = rplc[:0]
			}
			if value != orig {
				if _, _, ok := findTag(value, 0); ok {
					if !kept {
						rplc = append([]tagCount(nil), rplc...)
					}
					repCounts[ti] = rplc
					repeat = true
				}
				if tags == in && !owned {
					tags = in.clone()
				}
				tags.vals[tag] = value
			}
			if strings.IndexByte(value, '<') < 0 {
				done[ti] = true
			}
		}
		if !repeat {
			break
		}
	}
	return tags, nil
}

// substBuf holds substituteTagsIn's working buffers, reused from one
// call to the next through substBufPool.
type substBuf struct {
	cur, alt  []byte
	scratch   []tagCount
	done      []bool
	repCounts [][]tagCount
}

// substBufPool recycles substBufs (emptied before they go back).
var substBufPool = sync.Pool{New: func() any { return new(substBuf) }}

// tagCount counts the replacements of one tag in a value.
type tagCount struct {
	tag string
	n   int
}

// findTag finds the first <tag> reference (TAG_CRE, `<([^ <>]+)>`) in s
// at or after from; it returns the bounds of "<tag>".
func findTag[S ~string | ~[]byte](s S, from int) (start, end int, ok bool) {
	for i := from; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != ' ' && s[j] != '<' && s[j] != '>' {
			j++
		}
		if j < len(s) && s[j] == '>' && j > i+1 {
			return i, j + 1, true
		}
	}
	return 0, 0, false
}
