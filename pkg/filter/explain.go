package filter

// RegexInfo says how one of a filter's regexes is run.
type RegexInfo struct {
	Kind   string // "prefregex", "failregex" or "ignoreregex"
	Index  int    // position among the regexes of its kind
	Source string // the regex as compiled (tags expanded, Python syntax)
	// Engine is "re2" (linear time, Go's regexp) or "regexp2" (backtracking,
	// with a match timeout), with the reason, as pyregex.Regexp.Engine
	// gives it.
	Engine string
}

// Explain lists the filter's regexes with the engine that runs each one
// and why.
func (f *Filter) Explain() []RegexInfo {
	var out []RegexInfo
	if f.pref != nil {
		eng := f.pref.Engine()
		if f.fastPre != nil {
			eng = "hand-written syslog prefix matcher, else " + eng
		}
		out = append(out, RegexInfo{Kind: "prefregex", Source: f.pref.String(), Engine: eng})
	}
	for i, r := range f.fail {
		out = append(out, RegexInfo{Kind: "failregex", Index: i, Source: r.String(), Engine: r.Engine()})
	}
	for i, r := range f.ignore {
		out = append(out, RegexInfo{Kind: "ignoreregex", Index: i, Source: r.String(), Engine: r.Engine()})
	}
	return out
}

// Ignored reports whether an ignoreregex matched while the last line was
// processed (fail2ban-regex counts such lines as ignored).
func (f *Filter) Ignored() bool { return f.wasIgnored }

// Buffer returns a copy of the lines (dates cut out) held for multi-line
// regexes (maxlines > 1); fail2ban-regex uses it to count lines that a
// later multi-line match consumed as matched.
func (f *Filter) Buffer() []string {
	if f.max <= 1 {
		return nil
	}
	return append([]string(nil), f.lines...)
}

// MaxLines is the number of lines the filter buffers.
func (f *Filter) MaxLines() int { return f.max }
