package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf16"
)

// Commands renders c as the command stream fail2ban-client sends to its
// server, the commands `fail2ban-client -c DIR -d` prints, in the same
// order: the daemon settings, then for every enabled jail ["add", jail,
// backend], its filter, options, log paths and actions, then a ["start",
// jail] per jail that resolved. A jail that could not be resolved is a
// single ["config-error", message].
//
// Values have fail2ban's types: strings, ints (maxretry, maxmatches,
// maxlines, dbmaxmatches), bools (bantime.increment, ignoreself, the
// actions' *_on_demand options...), nil where fail2ban sends None (an
// invalid int) and a map for ["set", "thread", {...}]. Log paths are
// globbed on the local file system when Commands is called, as
// fail2ban-client does: only existing files are listed.
func (c *Config) Commands() [][]any {
	cmds := c.Daemon.commands()
	type entry struct {
		jail *Jail
		err  *JailError
	}
	var entries []entry
	jails := map[string]*Jail{}
	for _, j := range c.Jails {
		jails[j.Name] = j
	}
	broken := map[string]*JailError{}
	var brokenList []*JailError
	for _, e := range c.Broken {
		var je *JailError
		if errors.As(e, &je) {
			broken[je.Jail] = je
			brokenList = append(brokenList, je)
		}
	}
	if len(c.order) > 0 {
		for _, n := range c.order {
			if j := jails[n]; j != nil {
				entries = append(entries, entry{jail: j})
			} else if e := broken[n]; e != nil {
				entries = append(entries, entry{err: e})
			}
		}
	} else {
		for _, j := range c.Jails {
			entries = append(entries, entry{jail: j})
		}
		for _, e := range brokenList {
			entries = append(entries, entry{err: e})
		}
	}
	for _, e := range entries {
		if e.err != nil {
			cmds = append(cmds, []any{"config-error",
				fmt.Sprintf("Jail '%s' skipped, because of wrong configuration: %v", e.err.Jail, e.err.Err)})
			continue
		}
		cmds = append(cmds, e.jail.commands(c.Dir)...)
	}
	for _, e := range entries {
		if e.jail != nil {
			cmds = append(cmds, []any{"start", e.jail.Name})
		}
	}
	return cmds
}

// commands is Fail2banReader.convert: the daemon settings fail2ban sends,
// in its fixed order.
func (d *Daemon) commands() [][]any {
	var cmds [][]any
	if v, ok := d.Thread["stacksize"]; ok {
		cmds = append(cmds, []any{"set", "thread", map[string]any{"stacksize": intOrNil(v)}})
	}
	str := func(opt, def string) {
		v, ok := d.Options[opt]
		if !ok {
			v = def
		}
		cmds = append(cmds, []any{"set", opt, v})
	}
	str("syslogsocket", "auto")
	loglevel := d.LogLevel
	if loglevel == "" {
		loglevel = "INFO"
	}
	cmds = append(cmds, []any{"set", "loglevel", loglevel})
	logtarget := d.LogTarget
	if logtarget == "" {
		logtarget = "/var/log/fail2ban.log"
	}
	cmds = append(cmds, []any{"set", "logtarget", logtarget})
	str("allowipv6", "auto")
	dbfile := d.DBFile
	if dbfile == "" {
		dbfile = "/var/lib/fail2ban/fail2ban.sqlite3"
	}
	cmds = append(cmds, []any{"set", "dbfile", dbfile})
	if v, ok := d.Options["dbmaxmatches"]; ok {
		cmds = append(cmds, []any{"set", "dbmaxmatches", intOrNil(v)})
	} else if d.dbMaxMatchesNone {
		cmds = append(cmds, []any{"set", "dbmaxmatches", nil})
	}
	str("dbpurgeage", "1d")
	return cmds
}

// intOrNil converts an int option as fail2ban does: an invalid value is
// None.
func intOrNil(v string) any {
	n, err := pyInt(v)
	if err != nil {
		return nil
	}
	return n
}

// kv is one option with its fail2ban-typed value.
type kv struct {
	k string
	v any
}

// typed returns the entries of o in order, converting the options specs
// declares as bool or int.
func typed(o *omap, specs []optSpec) []kv {
	kinds := make(map[string]string, len(specs))
	for _, s := range specs {
		kinds[s.name] = s.kind
	}
	out := make([]kv, 0, o.len())
	if o == nil {
		return out
	}
	for _, k := range o.keys {
		v := o.vals[k]
		if v == noneValue {
			out = append(out, kv{k, nil})
			continue
		}
		switch kinds[k] {
		case "bool":
			out = append(out, kv{k, AsBool(v)})
		case "int":
			out = append(out, kv{k, intOrNil(v)})
		default:
			out = append(out, kv{k, v})
		}
	}
	return out
}

// fillStream is FilterReader._fillStream: it adds the filter-related
// options of opts to stream (usedns first, then maxlines and prefregex
// ahead of the regexes).
func fillStream(stream [][]any, opts []kv, jail string) [][]any {
	prio := 0
	insert := func(at int, cmd []any) {
		stream = append(stream, nil)
		copy(stream[at+1:], stream[at:])
		stream[at] = cmd
	}
	for _, o := range opts {
		if o.v == nil {
			continue
		}
		s, _ := o.v.(string)
		switch {
		case o.k == "failregex" || o.k == "ignoreregex":
			var multi []any
			for _, r := range strings.Split(s, "\n") {
				if r != "" {
					multi = append(multi, r)
				}
			}
			if len(multi) > 1 {
				stream = append(stream, []any{"multi-set", jail, "add" + o.k, multi})
			} else if len(multi) == 1 {
				stream = append(stream, []any{"set", jail, "add" + o.k, multi[0]})
			}
		case o.k == "usedns" || o.k == "maxlines" || o.k == "prefregex":
			at := prio
			if o.k == "usedns" {
				at = 0
			}
			insert(at, []any{"set", jail, o.k, o.v})
			prio++
		case strings.Contains("datepattern", o.k):
			// fail2ban tests `opt in ('datepattern')`, a substring test.
			stream = append(stream, []any{"set", jail, o.k, o.v})
		case o.k == "journalmatch":
			for _, m := range strings.Split(s, "\n") {
				if m == "" {
					continue
				}
				cmd := []any{"set", jail, "addjournalmatch"}
				for _, w := range shlexSplit(m) {
					cmd = append(cmd, w)
				}
				stream = append(stream, cmd)
			}
		}
	}
	return stream
}

// jailIgnored are the options JailReader.convert does not send as "set".
var jailIgnored = func() map[string]bool {
	m := map[string]bool{"action": true, "filter": true, "enabled": true}
	for _, s := range filterOpts {
		m[s.name] = true
	}
	return m
}()

// actionCmdOpts are the action options sent from the combined
// definition; the others come from [Init].
var actionCmdOpts = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range actionOpts {
		m[s.name] = true
	}
	return m
}()

// templateOpts returns the jail's template options: those read at load
// time, else (for a Jail built by hand) its Options in template order.
func (j *Jail) templateOpts() *omap {
	if j.opts != nil {
		return j.opts
	}
	o := newOmap()
	for _, s := range jailOpts {
		v, ok := j.Options[s.name]
		if !ok {
			if s.def == nil {
				continue
			}
			v = *s.def
		}
		if s.kind == "bool" {
			v = pyBool(AsBool(v))
		}
		o.set(s.name, v, "")
	}
	return o
}

// combined returns the filter options fail2ban's FilterReader converts.
func (f *Filter) combined() *omap {
	if f.comb != nil {
		return f.comb
	}
	o := newOmap()
	for _, s := range filterOpts {
		if v, ok := f.Options[s.name]; ok {
			o.set(s.name, v, "")
		}
	}
	return o
}

// commands is JailReader.convert for a resolved jail; basedir is the
// configuration directory as given (for the path of Python actions).
func (j *Jail) commands(basedir string) [][]any {
	opts := j.templateOpts()
	var stream [][]any
	if j.Filter != nil {
		stream = fillStream(stream, typed(j.Filter.combined(), filterOpts), j.Name)
	}
	jopts := typed(opts, jailOpts)
	stream = fillStream(stream, jopts, j.Name)
	backend, _ := opts.get("backend")
	var logs [][]any
	for _, o := range jopts {
		switch {
		case o.k == "logpath":
			if strings.HasPrefix(backend, "systemd") {
				continue
			}
			s, _ := o.v.(string)
			for _, line := range strings.Split(s, "\n") {
				p, tail := line, "head"
				if i := strings.LastIndexByte(line, ' '); i >= 0 {
					p, tail = line[:i], line[i+1:]
				}
				for _, f := range pyGlob(p) {
					logs = append(logs, []any{"set", j.Name, "addlogpath", f, tail})
				}
			}
		case o.k == "backend":
		case o.k == "ignoreip":
			s, _ := o.v.(string)
			cmd := []any{"set", j.Name, "addignoreip"}
			for _, w := range splitWords(s) {
				cmd = append(cmd, w)
			}
			stream = append(stream, cmd)
		case !jailIgnored[o.k]:
			stream = append(stream, []any{"set", j.Name, o.k, o.v})
		}
	}
	stream = append(stream, logs...)
	for _, a := range j.Actions {
		stream = append(stream, a.commands(j.Name, basedir)...)
	}
	return append([][]any{{"add", j.Name, backend}}, stream...)
}

// commands is ActionReader.convert (or the addaction command of a Python
// action).
func (a *Action) commands(jail, basedir string) [][]any {
	if strings.HasSuffix(a.Name, ".py") {
		order := a.ParamOrder
		if order == nil {
			for k := range a.Params {
				order = append(order, k)
			}
		}
		var b strings.Builder
		b.WriteByte('{')
		n := 0
		for _, k := range order {
			if k == "actname" {
				continue
			}
			if n > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(pyJSONString(k))
			b.WriteString(": ")
			b.WriteString(pyJSONString(a.Params[k]))
		}
		b.WriteByte('}')
		return [][]any{{"set", jail, "addaction", a.ActName,
			pyJoin(basedir, "action.d", a.Name), b.String()}}
	}
	cmds := [][]any{{"set", jail, "addaction", a.ActName}}
	var multi [][]any
	for _, k := range a.OptionOrder {
		if !actionCmdOpts[k] || strings.HasPrefix(k, "known/") {
			continue
		}
		v, ok := a.Options[k]
		if !ok {
			// Not among the resolved options: None for fail2ban.
			multi = append(multi, []any{k, nil})
			continue
		}
		var tv any = v
		switch k {
		case "actionstart_on_demand", "actionrepair_on_unban", "norestored":
			tv = AsBool(v)
		}
		multi = append(multi, []any{k, tv})
	}
	for _, k := range a.InitOrder {
		if actionCmdOpts[k] || strings.HasPrefix(k, "known/") {
			continue
		}
		multi = append(multi, []any{k, a.Init[k]})
	}
	switch {
	case len(multi) > 1:
		list := make([]any, len(multi))
		for i, m := range multi {
			list[i] = m
		}
		cmds = append(cmds, []any{"multi-set", jail, "action", a.ActName, list})
	case len(multi) == 1:
		cmds = append(cmds, []any{"set", jail, "action", a.ActName, multi[0][0], multi[0][1]})
	}
	return cmds
}

// pyJoin is Python's os.path.join.
func pyJoin(base string, parts ...string) string {
	out := base
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "/"):
			out = p
		case out == "" || strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

// pyJSONString quotes s as Python's json.dumps does (ensure_ascii).
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || r >= 0x7f && r < 0x10000:
				if r == 0x7f {
					b.WriteRune(r)
					continue
				}
				fmt.Fprintf(&b, `\u%04x`, r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// shlexSplit is Python's shlex.split (POSIX mode, no comments). An
// unterminated quote or escape ends the last word where fail2ban would
// fail.
func shlexSplit(s string) []string {
	var (
		out    []string
		word   strings.Builder
		inWord bool
		quote  rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				word.WriteRune(rs[i])
			default:
				word.WriteRune(c)
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				out = append(out, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(rs) {
				i++
				word.WriteRune(rs[i])
			}
		case c == '\'' || c == '"':
			inWord = true
			quote = c
		default:
			inWord = true
			word.WriteRune(c)
		}
	}
	if inWord {
		out = append(out, word.String())
	}
	return out
}

// hasMagic reports whether a glob pattern has wildcards (glob.has_magic).
func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// pyGlob is fail2ban's JailReader._glob: Python's glob.glob (directory
// order, hidden files matched only by patterns starting with "."),
// keeping only paths that exist (dangling links are dropped).
func pyGlob(pattern string) []string {
	var out []string
	for _, p := range globPy(pattern, false) {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func lexists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// globPy is glob._iglob (non-recursive).
func globPy(pattern string, dirOnly bool) []string {
	dir, base := splitPy(pattern)
	if !hasMagic(pattern) {
		if base != "" {
			if lexists(pattern) {
				return []string{pattern}
			}
		} else if isDir(dir) {
			return []string{pattern}
		}
		return nil
	}
	if dir == "" {
		return globIn("", base, dirOnly)
	}
	dirs := []string{dir}
	if dir != pattern && hasMagic(dir) {
		dirs = globPy(dir, true)
	}
	var out []string
	for _, d := range dirs {
		var names []string
		if hasMagic(base) {
			names = globIn(d, base, dirOnly)
		} else if base == "" {
			if isDir(d) {
				names = []string{base}
			}
		} else if lexists(pyJoin(d, base)) {
			names = []string{base}
		}
		for _, n := range names {
			out = append(out, pyJoin(d, n))
		}
	}
	return out
}

// splitPy is os.path.split.
func splitPy(p string) (string, string) {
	i := strings.LastIndexByte(p, '/') + 1
	head, tail := p[:i], p[i:]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head, tail
}

// globIn is glob._glob1: the entries of dir (in directory order) that
// match pattern.
func globIn(dir, pattern string, dirOnly bool) []string {
	d := dir
	if d == "" {
		d = "."
	}
	f, err := os.Open(d)
	if err != nil {
		return nil
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil && len(entries) == 0 {
		return nil
	}
	re, err := fnmatchRegexp(pattern)
	if err != nil {
		return nil
	}
	hiddenOK := strings.HasPrefix(pattern, ".")
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !hiddenOK && strings.HasPrefix(n, ".") {
			continue
		}
		if dirOnly && !isDir(filepath.Join(d, n)) {
			continue
		}
		if re.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}

// fnmatchRegexp translates a shell pattern as Python's fnmatch.translate:
// "*", "?", "[seq]" and "[!seq]", an unclosed "[" matching itself.
func fnmatchRegexp(pat string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '!' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`)
				continue
			}
			set := rs[i+1 : j]
			i = j
			neg := false
			if len(set) > 0 && set[0] == '!' {
				neg, set = true, set[1:]
			}
			if len(set) == 0 {
				if neg {
					b.WriteString(`.`)
				} else {
					b.WriteString(`[^\x00-\x{10FFFF}]`)
				}
				continue
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for k, r := range set {
				if r == '-' && k > 0 && k < len(set)-1 {
					b.WriteByte('-')
					continue
				}
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}

// Check returns every error of the tree that `fail2ban-client -t` would
// fail on: the enabled jails that could not be resolved (Broken), and the
// jails reading files whose logpath matches no existing file. Each error
// names the file, section and option at fault.
func (c *Config) Check() []error {
	errs := append([]error(nil), c.Broken...)
	for _, j := range c.Jails {
		opts := j.templateOpts()
		backend, _ := opts.get("backend")
		lp, ok := opts.get("logpath")
		if !ok || strings.HasPrefix(backend, "systemd") {
			continue
		}
		found := 0
		for _, line := range strings.Split(lp, "\n") {
			p := line
			if i := strings.LastIndexByte(line, ' '); i >= 0 {
				p = line[:i]
			}
			found += len(pyGlob(p))
		}
		if found == 0 {
			where := opts.src["logpath"]
			if where != "" {
				where += ": "
			}
			errs = append(errs, &JailError{Jail: j.Name, Err: fmt.Errorf(
				"%s[%s] logpath: have not found any log file for %s jail (logpath %q)",
				where, j.Name, j.Name, strings.ReplaceAll(lp, "\n", " "))})
		}
	}
	return errs
}
