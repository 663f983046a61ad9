package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// maxInterpolationDepth is ConfigParser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

// includesSection is the section that lists included files.
const includesSection = "INCLUDES"

// knownPrefix prefixes the sections that keep the values a later file
// overrode, for %(known/opt)s.
const knownPrefix = "KNOWN/"

var (
	// conditionalSection matches names like "Init?family=inet6"
	// (conditionalMatch is its hand-written equivalent; the tests compare
	// them).
	conditionalSection = regexp.MustCompile(`^(\w+)(\?.+)$`)
	// sectionOptRef finds %(section/option)s references (sectionOptRefs
	// is its hand-written equivalent; the tests compare them).
	sectionOptRef = regexp.MustCompile(`%\(([\w\-]+/([^)]+))\)s`)
	// sectionOptName splits a "section/option" name (splitSectionOpt is
	// its hand-written equivalent; the tests compare them).
	sectionOptName = regexp.MustCompile(`^([\w\-]+)/([^\s>]+)$`)
)

// errNoSection and errNoOption are ConfigParser's NoSectionError and
// NoOptionError; callers fall back to defaults on them.
var (
	errNoSection = errors.New("no such section")
	errNoOption  = errors.New("no such option")
)

// parser is the merged content of a set of files: a [DEFAULT] section and
// the named sections in order of first appearance.
type parser struct {
	defaults *omap
	sections map[string]*omap
	order    []string

	// borrowed holds the sections (and [DEFAULT]) p shares with the
	// parsed file they come from: files are parsed once and merged into
	// every configuration that reads them, so p copies these before
	// changing them (see ownSection and ownDefaults).
	borrowed map[*omap]bool

	// defMemo, when not nil, caches the values of [DEFAULT] options
	// interpolated in a section that sets none of the options they
	// depend on (see lookup). It is per load: only the jail parser, whose
	// [DEFAULT] no longer changes while its jails are resolved, has one.
	defMemo map[string]*defMemoEntry

	// initVals caches initValues (set when initDone).
	initVals []initValue
	initDone bool
}

// initValue is an option of a definition's [Init] section, interpolated
// without variables.
type initValue struct {
	opt, v string
	// known is "known/"+opt, "" when opt already starts with "known/".
	known string
}

// initValues returns the options of the [Init] section interpolated
// without variables, in order; ok is false when one does not resolve.
// The values are computed once: the parsers of filter and action
// definitions do not change once read (only the jail parser does, and
// it is never asked).
func (p *parser) initValues() (vals []initValue, ok bool) {
	if p.initDone {
		return p.initVals, true
	}
	sect := p.sections["Init"]
	vals = make([]initValue, 0, sect.len())
	for _, opt := range sect.keyList() {
		v, err := p.get("Init", opt, nil)
		if err != nil {
			return nil, false
		}
		iv := initValue{opt: opt, v: v}
		if !strings.HasPrefix(opt, "known/") {
			iv.known = "known/" + opt
		}
		vals = append(vals, iv)
	}
	p.initVals, p.initDone = vals, true
	return vals, true
}

// defMemoEntry is the value of a [DEFAULT] option interpolated using
// nothing but [DEFAULT]: it is the value in every section that defines
// none of deps (the option itself and every option its interpolation
// looked up).
type defMemoEntry struct {
	deps []string
	v    string
	err  error
	// never is set for an option found to depend on the section it is
	// interpolated in: it is not remembered.
	never bool
}

// validIn reports whether the entry holds for a section.
func (e *defMemoEntry) validIn(sect *omap) bool {
	for _, k := range e.deps {
		if sect.has(k) {
			return false
		}
	}
	return true
}

// result returns the entry's value or error as computed in section.
func (e *defMemoEntry) result(section string) (string, error) {
	if e.err == nil {
		return e.v, nil
	}
	ie := *e.err.(*InterpolationError)
	ie.Section = section
	return "", &ie
}

// memoRec records what an interpolation looked up, to know whether its
// result may go in defMemo.
type memoRec struct {
	deps []string
	// fail is set when the result depends on the section: its name, one
	// of its options, or a %(section/option)s reference other than
	// %(default/option)s.
	fail bool
}

func (r *memoRec) note(k string) {
	for _, d := range r.deps {
		if d == k {
			return
		}
	}
	r.deps = append(r.deps, k)
}

func newParser() *parser {
	return &parser{defaults: newOmap(), sections: map[string]*omap{}}
}

// sectionNames returns the sections in order, without the KNOWN/ ones.
func (p *parser) sectionNames() []string {
	out := make([]string, 0, len(p.order))
	for _, n := range p.order {
		if !strings.HasPrefix(n, knownPrefix) {
			out = append(out, n)
		}
	}
	return out
}

func (p *parser) hasSection(s string) bool {
	_, ok := p.sections[s]
	return ok
}

// ownOptions lists the options a section defines itself (no defaults).
func (p *parser) ownOptions(s string) []string {
	sect := p.sections[s]
	if sect == nil {
		return nil
	}
	return append([]string(nil), sect.keys...)
}

// hasOwnOption reports whether section s itself defines opt.
func (p *parser) hasOwnOption(s, opt string) bool {
	return p.sections[s].has(opt)
}

// merge folds one file's content into p the way fail2ban merges the files
// it reads: defaults are updated, conditional sections are renamed, and
// values a section already had are kept in KNOWN/<section> before being
// overridden. f's sections are shared with p until p changes them.
func (p *parser) merge(f *parser) {
	if f.defaults.len() > 0 {
		if p.defaults.len() == 0 {
			p.defaults = p.borrow(f.defaults)
		} else {
			p.ownDefaults().update(f.defaults)
		}
	}
	for _, n := range f.order {
		s := f.sections[n]
		renamed := false
		if m := conditionalMatch(n); m != nil {
			n = m[1]
			r := newOmap()
			for _, k := range s.keys {
				r.set(k+m[2], s.vals[k], s.src[k])
			}
			s, renamed = r, true
		}
		if old := p.sections[n]; old != nil {
			prev := newOmap()
			for _, k := range old.keys {
				if s.has(k) {
					prev.set(k, old.vals[k], old.src[k])
				}
			}
			p.mergeSection(knownPrefix+n, prev, "")
			p.ownSection(n).update(s)
		} else {
			if !renamed {
				s = p.borrow(s)
			}
			p.sections[n] = s
			p.order = append(p.order, n)
		}
	}
}

// borrow records that p shares m with a parsed file.
func (p *parser) borrow(m *omap) *omap {
	if p.borrowed == nil {
		p.borrowed = map[*omap]bool{}
	}
	p.borrowed[m] = true
	return m
}

// ownSection returns section n (nil if there is none), copied first if
// it is shared with a parsed file, so that it can be changed.
func (p *parser) ownSection(n string) *omap {
	s := p.sections[n]
	if s != nil && p.borrowed[s] {
		delete(p.borrowed, s)
		s = s.clone()
		p.sections[n] = s
	}
	return s
}

// ownDefaults is ownSection for [DEFAULT].
func (p *parser) ownDefaults() *omap {
	if p.borrowed[p.defaults] {
		delete(p.borrowed, p.defaults)
		p.defaults = p.defaults.clone()
	}
	return p.defaults
}

// setDefault sets a [DEFAULT] option.
func (p *parser) setDefault(k, v string) {
	p.ownDefaults().set(k, v, "")
}

// mergeSection adds options to a section, creating it if needed; with a
// prefix, every key that does not already start with it is prefixed.
func (p *parser) mergeSection(name string, opts *omap, prefix string) {
	sect := p.ownSection(name)
	if sect == nil {
		sect = newOmap()
		p.sections[name] = sect
		p.order = append(p.order, name)
	}
	for _, k := range opts.keys {
		nk := k
		if prefix != "" {
			if strings.HasPrefix(k, prefix) || k == "__name__" {
				continue
			}
			nk = prefix + k
		}
		sect.set(nk, opts.vals[k], opts.src[k])
	}
}

// InterpolationError reports a %(...)s reference that could not be
// resolved. It names the file, section and option at fault.
type InterpolationError struct {
	File    string // file the option's value came from, if known
	Section string
	Option  string
	Msg     string
}

// Error implements error.
func (e *InterpolationError) Error() string {
	where := fmt.Sprintf("section [%s], option %q", e.Section, e.Option)
	if e.File != "" {
		where = e.File + ": " + where
	}
	return where + ": " + e.Msg
}

// chain is the lookup order of ConfigParser.get: __name__ and the
// %(section/option)s helpers, the vars (keys lower-cased), the section,
// then [DEFAULT].
type chain struct {
	name    string            // the section, value of %(__name__)s
	helpers map[string]string // raw values of %(section/option)s refs
	vars    *omap
	sect    *omap
	defs    *omap
	rec     *memoRec // when not nil, lookups are recorded
}

func (c *chain) lookup(k string) (string, bool) {
	if k == "__name__" {
		if c.rec != nil {
			c.rec.fail = true
		}
		return c.name, true
	}
	if v, ok := c.helpers[k]; ok {
		if c.rec != nil && !strings.HasPrefix(k, "default/") {
			// Only %(default/option)s helpers are the same in every
			// section.
			c.rec.fail = true
		}
		return v, true
	}
	if v, ok := c.vars.get(k); ok {
		if c.rec != nil {
			c.rec.fail = true
		}
		return v, true
	}
	if v, ok := c.sect.get(k); ok {
		if c.rec != nil {
			c.rec.fail = true
		}
		return v, true
	}
	if c.rec != nil {
		c.rec.note(k)
	}
	return c.defs.get(k)
}

// source returns the file an option's value was read from.
func (c *chain) source(k string) string {
	if k == "__name__" || c.helpers[k] != "" || c.vars.has(k) {
		return ""
	}
	if c.sect.has(k) {
		return c.sect.src[k]
	}
	if c.defs != nil {
		return c.defs.src[k]
	}
	return ""
}

// get returns the interpolated value of option in section, looking in vars
// first, then the section, then [DEFAULT] (ConfigParser.get).
func (p *parser) get(section, option string, vars *omap) (string, error) {
	v, miss, err := p.lookup(section, option, vars)
	if miss != nil {
		return "", missingError(section, option, miss)
	}
	return v, err
}

// missingError is the error get returns when section or option is not
// there (miss is errNoSection or errNoOption, which it wraps).
func missingError(section, option string, miss error) error {
	if miss == errNoSection {
		return fmt.Errorf("section [%s]: %w", section, errNoSection)
	}
	return fmt.Errorf("section [%s], option %q: %w", section, strings.ToLower(option), errNoOption)
}

// lookup is get for callers that handle a missing section or option
// themselves: miss is then errNoSection or errNoOption (and err nil), and
// no error message is built.
func (p *parser) lookup(section, option string, vars *omap) (v string, miss, err error) {
	opt := lowerKey(option)
	raw, c, miss := p.getRaw(section, opt, vars)
	if miss != nil {
		return "", miss, nil
	}
	if strings.IndexByte(raw, '%') < 0 {
		return raw, nil, nil
	}
	// A [DEFAULT] option interpolated in a section that sets none of the
	// options it depends on has the same value in every such section.
	memo := vars == nil && p.defMemo != nil && c.sect != nil && !c.sect.has(opt)
	if memo {
		e := p.defMemo[opt]
		switch {
		case e == nil:
		case e.never:
			memo = false
		case e.validIn(c.sect):
			v, err := e.result(section)
			return v, nil, err
		}
	}
	if memo {
		c.rec = &memoRec{deps: []string{opt}}
	}
	var b strings.Builder
	b.Grow(len(raw) + 32)
	err = p.interpolate(section, opt, &b, raw, &c, 1)
	if err != nil {
		var ie *InterpolationError
		if errors.As(err, &ie) && ie.File == "" {
			ie.File = c.source(opt)
		}
	}
	if memo && c.rec.fail {
		p.defMemo[opt] = &defMemoEntry{never: true}
	} else if memo {
		var ie *InterpolationError
		if err == nil || errors.As(err, &ie) && ie == err {
			e := &defMemoEntry{deps: c.rec.deps, v: b.String()}
			if err != nil {
				cp := *ie
				e.err = &cp
			}
			p.defMemo[opt] = e
		}
	}
	if err != nil {
		return "", nil, err
	}
	return b.String(), nil, nil
}

// lowerKey is strings.ToLower for option names, without the call when
// there is nothing to lower.
func lowerKey(k string) string {
	if hasUpper(k) {
		return strings.ToLower(k)
	}
	return k
}

// lowerVars returns vars with lower-case keys (ConfigParser applies
// optionxform to them), without copying when they already are.
func lowerVars(vars *omap) *omap { return vars.lowered() }

// getRaw returns the uninterpolated value of opt (lower-cased) and the
// lookup chain; miss is errNoSection or errNoOption when it is not there.
func (p *parser) getRaw(section, opt string, vars *omap) (string, chain, error) {
	sect, ok := p.sections[section]
	if !ok && section != defaultSection {
		return "", chain{}, errNoSection
	}
	c := chain{name: section, vars: lowerVars(vars), sect: sect, defs: p.defaults}
	raw, ok := c.vars.get(opt)
	if !ok {
		raw, ok = c.sect.get(opt)
	}
	if !ok {
		raw, ok = c.defs.get(opt)
	}
	if !ok {
		return "", chain{}, errNoOption
	}
	return raw, c, nil
}

// lookupEx is fail2ban's get_ex: an option named "sec/opt" is first
// looked up in that section ("known/opt" in the KNOWN/ copy of this
// section, then in this section; "default/opt" in [DEFAULT]), else in
// section with vars. A missing section or option is reported as lookup
// does.
func (p *parser) lookupEx(section, option string, vars *omap) (v string, miss, err error) {
	if sec, opt, ok := splitSectionOpt(option); ok {
		var secs []string
		switch strings.ToLower(sec) {
		case "known":
			secs = []string{knownPrefix + section, section}
		case "default":
			secs = []string{defaultSection}
		default:
			secs = []string{sec}
		}
		for _, s := range secs {
			v, miss, err := p.lookup(s, opt, nil)
			if miss == nil {
				return v, nil, err
			}
		}
	}
	return p.lookup(section, option, vars)
}

// interpolate is BasicInterpolation._interpolate_some with fail2ban's
// additions (__name__ and %(section/option)s references).
func (p *parser) interpolate(section, option string, b *strings.Builder, rest string, c *chain, depth int) error {
	if depth > maxInterpolationDepth {
		return &InterpolationError{Section: section, Option: option,
			Msg: fmt.Sprintf("interpolation too deeply recursive (more than %d levels)", maxInterpolationDepth)}
	}
	c = p.withHelpers(section, rest, c)
	for rest != "" {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		next := byte(0)
		if len(rest) > 1 {
			next = rest[1]
		}
		switch next {
		case '%':
			b.WriteByte('%')
			rest = rest[2:]
		case '(':
			// %(key)s: the key runs to the first ")", which "s" follows.
			j := strings.IndexByte(rest[2:], ')')
			if j <= 0 || 2+j+1 >= len(rest) || rest[2+j+1] != 's' {
				return &InterpolationError{Section: section, Option: option,
					Msg: fmt.Sprintf("bad interpolation variable reference %q", rest)}
			}
			name := rest[2 : 2+j]
			key := strings.ToLower(name)
			rest = rest[2+j+2:]
			v, ok := c.lookup(key)
			if !ok {
				return &InterpolationError{Section: section, Option: option,
					Msg: fmt.Sprintf("bad value substitution: %%(%s)s refers to an option that is not defined", name)}
			}
			if strings.IndexByte(v, '%') >= 0 {
				if err := p.interpolate(section, option, b, v, c, depth+1); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
		default:
			return &InterpolationError{Section: section, Option: option,
				Msg: fmt.Sprintf("'%%' must be followed by '%%' or '(', found: %q", rest)}
		}
	}
	return nil
}

// withHelpers returns the chain with the raw values of the
// %(section/option)s references found in rest added to its helpers (a
// copy is made when something is added).
func (p *parser) withHelpers(section, rest string, c *chain) *chain {
	if !strings.Contains(rest, "%(") || !strings.Contains(rest, "/") {
		return c
	}
	out := c
	for _, m := range sectionOptRefs(rest) {
		sopt, opt := m[0], m[1]
		if _, ok := out.lookup(sopt); ok {
			continue
		}
		if sopt != strings.ToLower(sopt) {
			// Python stores it under the name as written but looks it
			// up lower-cased, so it is never found.
			continue
		}
		sec := sopt[:len(sopt)-len(opt)-1]
		var (
			v     string
			found bool
			dflt  bool
		)
		switch strings.ToLower(sec) {
		case "default":
			dflt = true
		case "known":
			if c.rec != nil {
				c.rec.fail = true
			}
			v, found = p.sections[knownPrefix+section].get(opt)
			dflt = !found
		default:
			if c.rec != nil {
				c.rec.fail = true
			}
			s, ok := p.sections[sec]
			if !ok {
				continue
			}
			v, found = s.get(opt)
			dflt = !found
		}
		if dflt {
			v, found = p.defaults.get(opt)
			if !found {
				continue
			}
		}
		if out == c {
			cp := *c
			cp.helpers = make(map[string]string, len(c.helpers)+1)
			for k, hv := range c.helpers {
				cp.helpers[k] = hv
			}
			out = &cp
		}
		out.helpers[sopt] = v
	}
	return out
}

// splitSectionOpt is sectionOptName.FindStringSubmatch(s): it splits a
// "section/option" name at its first "/", the section being word
// characters and "-", the option any non-empty text without white space
// or ">".
func splitSectionOpt(s string) (sec, opt string, ok bool) {
	i := strings.IndexByte(s, '/')
	if i <= 0 || i+1 >= len(s) {
		return "", "", false
	}
	for k := 0; k < i; k++ {
		if !isWordByte(s[k]) && s[k] != '-' {
			return "", "", false
		}
	}
	for k := i + 1; k < len(s); k++ {
		if isRegexpSpace(s[k]) || s[k] == '>' {
			return "", "", false
		}
	}
	return s[:i], s[i+1:], true
}

// conditionalMatch is conditionalSection.FindStringSubmatch(n): it
// matches a conditional name like "Init?family=inet6".
func conditionalMatch(n string) []string {
	i := 0
	for i < len(n) && isWordByte(n[i]) {
		i++
	}
	if i == 0 || i+1 >= len(n) || n[i] != '?' || strings.IndexByte(n[i+1:], '\n') >= 0 {
		return nil
	}
	return []string{n, n[:i], n[i:]}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// sectionOptRefs finds the %(section/option)s references in s (what
// sectionOptRef matches): for each, the "section/option" name and the
// option.
func sectionOptRefs(s string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(s); {
		k := strings.Index(s[i:], "%(")
		if k < 0 {
			break
		}
		i += k + 2
		j := i
		for j < len(s) && (isWordByte(s[j]) || s[j] == '-') {
			j++
		}
		if j == i || j >= len(s) || s[j] != '/' {
			continue
		}
		e := strings.IndexByte(s[j+1:], ')')
		if e <= 0 {
			continue
		}
		e += j + 1
		if e+1 >= len(s) || s[e+1] != 's' {
			continue
		}
		out = append(out, [2]string{s[i:e], s[j+1 : e]})
		i = e + 2
	}
	return out
}
