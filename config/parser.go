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
	// conditionalSection matches names like "Init?family=inet6".
	conditionalSection = regexp.MustCompile(`^(\w+)(\?.+)$`)
	// sectionOptRef finds %(section/option)s references (sectionOptRefs
	// is its hand-written equivalent; the tests compare them).
	sectionOptRef = regexp.MustCompile(`%\(([\w\-]+/([^)]+))\)s`)
	// sectionOptName splits a "section/option" name.
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
// overridden.
func (p *parser) merge(f *parser) {
	p.defaults.update(f.defaults)
	for _, n := range f.order {
		s := f.sections[n]
		if m := conditionalMatch(n); m != nil {
			n = m[1]
			renamed := newOmap()
			for _, k := range s.keys {
				renamed.set(k+m[2], s.vals[k], s.src[k])
			}
			s = renamed
		}
		if old := p.sections[n]; old != nil {
			prev := newOmap()
			for _, k := range old.keys {
				if s.has(k) {
					prev.set(k, old.vals[k], old.src[k])
				}
			}
			p.mergeSection(knownPrefix+n, prev, "")
			old.update(s)
		} else {
			p.sections[n] = s.clone()
			p.order = append(p.order, n)
		}
	}
}

// mergeSection adds options to a section, creating it if needed; with a
// prefix, every key that does not already start with it is prefixed.
func (p *parser) mergeSection(name string, opts *omap, prefix string) {
	sect := p.sections[name]
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
}

func (c *chain) lookup(k string) (string, bool) {
	if k == "__name__" {
		return c.name, true
	}
	if v, ok := c.helpers[k]; ok {
		return v, true
	}
	if v, ok := c.vars.get(k); ok {
		return v, true
	}
	if v, ok := c.sect.get(k); ok {
		return v, true
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
	raw, c, err := p.getRaw(section, option, vars)
	if err != nil {
		return "", err
	}
	if strings.IndexByte(raw, '%') < 0 {
		return raw, nil
	}
	opt := strings.ToLower(option)
	var b strings.Builder
	if err := p.interpolate(section, opt, &b, raw, &c, 1); err != nil {
		var ie *InterpolationError
		if errors.As(err, &ie) && ie.File == "" {
			ie.File = c.source(opt)
		}
		return "", err
	}
	return b.String(), nil
}

// lowerVars returns vars with lower-case keys (ConfigParser applies
// optionxform to them), without copying when they already are.
func lowerVars(vars *omap) *omap { return vars.lowered() }

// getRaw returns the uninterpolated value and the lookup chain.
func (p *parser) getRaw(section, option string, vars *omap) (string, chain, error) {
	opt := strings.ToLower(option)
	sect, ok := p.sections[section]
	if !ok && section != defaultSection {
		return "", chain{}, fmt.Errorf("section [%s]: %w", section, errNoSection)
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
		return "", chain{}, fmt.Errorf("section [%s], option %q: %w", section, opt, errNoOption)
	}
	return raw, c, nil
}

// getEx is fail2ban's get_ex: an option named "sec/opt" is first looked up
// in that section ("known/opt" in the KNOWN/ copy of this section, then in
// this section; "default/opt" in [DEFAULT]), else in section with vars.
func (p *parser) getEx(section, option string, vars *omap) (string, error) {
	if strings.Contains(option, "/") {
		if m := sectionOptName.FindStringSubmatch(option); m != nil {
			var secs []string
			switch strings.ToLower(m[1]) {
			case "known":
				secs = []string{knownPrefix + section, section}
			case "default":
				secs = []string{defaultSection}
			default:
				secs = []string{m[1]}
			}
			for _, s := range secs {
				v, err := p.get(s, m[2], nil)
				if err == nil {
					return v, nil
				}
				if !errors.Is(err, errNoSection) && !errors.Is(err, errNoOption) {
					return "", err
				}
			}
		}
	}
	return p.get(section, option, vars)
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
			v, found = p.sections[knownPrefix+section].get(opt)
			dflt = !found
		default:
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

// conditionalMatch matches a conditional name like "Init?family=inet6".
func conditionalMatch(n string) []string {
	if strings.IndexByte(n, '?') < 0 {
		return nil
	}
	return conditionalSection.FindStringSubmatch(n)
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
