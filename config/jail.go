package config

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// filterOpts is the filter [Definition] template (FilterReader).
var filterOpts = []optSpec{
	{"usedns", "string", nil},
	{"prefregex", "string", nil},
	{"ignoreregex", "string", nil},
	{"failregex", "string", nil},
	{"maxlines", "int", nil},
	{"datepattern", "string", nil},
	{"journalmatch", "string", nil},
}

// actionOpts is the action [Definition] template (ActionReader).
var actionOpts = []optSpec{
	{"actionstart", "string", nil},
	{"actionstart_on_demand", "bool", nil},
	{"actionstop", "string", nil},
	{"actionflush", "string", nil},
	{"actionreload", "string", nil},
	{"actioncheck", "string", nil},
	{"actionrepair", "string", nil},
	{"actionrepair_on_unban", "bool", nil},
	{"actionban", "string", nil},
	{"actionprolong", "string", nil},
	{"actionreban", "string", nil},
	{"actionunban", "string", nil},
	{"norestored", "bool", nil},
}

// jailOpts1st is read first, to know whether the jail is enabled and which
// filter it uses.
var jailOpts1st = []optSpec{
	{"enabled", "bool", str("false")},
	{"backend", "string", str("auto")},
	{"filter", "string", str("")},
}

// jailOpts is the jail template (JailReader), followed by filterOpts.
var jailOpts = append([]optSpec{
	{"enabled", "bool", str("false")},
	{"backend", "string", str("auto")},
	{"maxretry", "int", nil},
	{"maxmatches", "int", nil},
	{"findtime", "string", nil},
	{"bantime", "string", nil},
	{"bantime.increment", "bool", nil},
	{"bantime.factor", "string", nil},
	{"bantime.formula", "string", nil},
	{"bantime.multipliers", "string", nil},
	{"bantime.maxtime", "string", nil},
	{"bantime.rndtime", "string", nil},
	{"bantime.overalljails", "bool", nil},
	{"ignorecommand", "string", nil},
	{"ignoreself", "bool", nil},
	{"ignoreip", "string", nil},
	{"ignorecache", "string", nil},
	{"filter", "string", str("")},
	{"logtimezone", "string", nil},
	{"logencoding", "string", nil},
	{"logpath", "string", nil},
	{"action", "string", str("")},
}, filterOpts...)

// actionIgnoredTags are not substituted in action definitions: they are
// filled in at ban time.
var actionIgnoredTags = map[string]bool{
	"matches": true, "ipmatches": true, "ipjailmatches": true,
	"timeout": true, "bantime": true,
}

// defInit resolves a filter.d or action.d file: its [Definition] options,
// with its [Init] options overridable by the jail's name[k=v] parameters
// (fail2ban's DefinitionInitConfigReader).
type defInit struct {
	l        *loader
	p        *parser
	file     string // display name of the .conf file
	specs    []optSpec
	initOpts *omap
	opts     *omap
	pOpts    *omap
	// defCache holds the tags combOption resolved, looked up in order
	// (there are few per definition; a slice is cheaper than a map).
	defCache []defOption
}

func newDefInit(l *loader, p *parser, file string, specs []optSpec, initOpts *omap) *defInit {
	return &defInit{l: l, p: p, file: file, specs: specs, initOpts: initOpts}
}

// getOptions reads the [Definition] template options (given the jail's
// options pOpts as interpolation variables) and collects [Init].
func (d *defInit) getOptions(pOpts *omap, all bool) error {
	if pOpts == nil {
		pOpts = newOmap()
	}
	if d.initOpts.len() > 0 {
		// {**pOpts, **initOpts}, without copying the jail's options.
		pOpts = d.initOpts.over(pOpts)
	}
	opts, err := d.l.getOptions(d.p, d.file, "Definition", d.specs, pOpts, false)
	if err != nil {
		return err
	}
	d.opts, d.pOpts, d.defCache = opts, pOpts, d.defCache[:0]
	if vals, ok := d.p.initValues(); ok {
		for _, iv := range vals {
			if iv.known != "" {
				d.initOpts.set(iv.known, iv.v, "")
			} else if d.initOpts.has(iv.opt) {
				continue
			}
			if !d.initOpts.has(iv.opt) {
				d.initOpts.set(iv.opt, iv.v, "")
			}
		}
	} else if d.p.hasSection("Init") {
		// An option does not resolve: go through them one by one,
		// which reports it unless it is a known/ option the parameters
		// already set (it is then not read).
		for _, opt := range d.p.ownOptions("Init") {
			known := strings.HasPrefix(opt, "known/")
			if known && d.initOpts.has(opt) {
				continue
			}
			v, err := d.p.get("Init", opt, nil)
			if err != nil {
				return err
			}
			if !known {
				d.initOpts.set("known/"+opt, v, "")
			}
			if !d.initOpts.has(opt) {
				d.initOpts.set(opt, v, "")
			}
		}
	}
	if all && d.p.hasSection("Definition") {
		for _, opt := range d.p.ownOptions("Definition") {
			if d.opts.has(opt) {
				continue
			}
			v, err := d.p.get("Definition", opt, nil)
			if err != nil {
				return err
			}
			d.opts.set(opt, v, "")
		}
	}
	return nil
}

// combOption resolves a tag that is not among the combined options from
// the [Definition] section (with the jail options as variables).
func (d *defInit) combOption(tag []byte) (name, v string, ok bool, err error) {
	for i := range d.defCache {
		if e := &d.defCache[i]; e.name == string(tag) {
			return e.name, e.v, e.ok, nil
		}
	}
	name = string(tag)
	v, miss, err := d.p.lookupEx("Definition", name, d.pOpts)
	if miss != nil {
		d.defCache = append(d.defCache, defOption{name: name})
		return name, "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	d.defCache = append(d.defCache, defOption{name, v, true})
	return name, v, true, nil
}

// defOption is a [Definition] option as combOption resolved it.
type defOption struct {
	name, v string
	ok      bool
}

// getCombined merges definition and init options and substitutes tags.
func (d *defInit) getCombined(ignore map[string]bool) (*omap, error) {
	comb := d.opts.merged(d.initOpts)
	if comb.len() == 0 {
		return comb, nil
	}
	ign := map[string]bool{}
	for k := range ignore {
		ign[k] = true
	}
	for _, k := range comb.keys {
		if m := conditionalMatch(k); m != nil {
			ign[m[1]] = true
		}
	}
	// comb is a fresh copy: it is substituted in place.
	out, err := substituteTagsIn(comb, ign, d.combOption, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.file, err)
	}
	for _, s := range d.specs {
		if s.kind != "int" {
			continue
		}
		if v, ok := out.get(s.name); ok && v != noneValue {
			n, err := pyInt(v)
			if err != nil {
				d.l.warnf("%s: wrong int value %q for %q; using the default", d.file, v, s.name)
				delete(out.vals, s.name)
				out.keys = removeKey(out.keys, s.name)
				continue
			}
			out.vals[s.name] = fmt.Sprint(n)
		}
	}
	return out, nil
}

func removeKey(keys []string, k string) []string {
	out := keys[:0]
	for _, x := range keys {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}

// loadJail resolves jail section name. enabled is false for a disabled
// jail (which is not resolved further).
func (l *loader) loadJail(jp *parser, name string) (j *Jail, enabled bool, err error) {
	jailFile := func(opt string) string {
		if s := jp.sections[name]; s != nil && s.src[opt] != "" {
			return s.src[opt]
		}
		return jp.defaults.src[opt]
	}
	first, err := l.getOptions(jp, jailFile("enabled"), name, jailOpts1st, nil, true)
	if err != nil {
		// Whether the jail is enabled may itself be unknown; report it.
		return nil, true, err
	}
	if v, _ := first.get("enabled"); v != "True" {
		return nil, false, nil
	}
	backend, _ := first.get("backend")

	var fr *defInit
	var filterName string
	var filterParams *omap
	if flt, _ := first.get("filter"); flt != "" {
		fn, fopts, err := extractOptions(flt)
		if err != nil {
			return nil, true, fmt.Errorf("%s: [%s] filter: invalid filter definition %q: %w", jailFile("filter"), name, flt, err)
		}
		filterName, filterParams = fn, fopts.clone()
		fp, found, err := l.readConf(path.Join("filter.d", fn))
		if err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, fn, err)
		}
		if !found {
			return nil, true, fmt.Errorf("%s: [%s] filter: unable to read the filter %q: no %s or %s",
				jailFile("filter"), name, fn,
				l.display(path.Join(l.base, "filter.d", fn+".conf")), l.display(path.Join(l.base, "filter.d", fn+".local")))
		}
		fr = newDefInit(l, fp, l.display(path.Join(l.base, "filter.d", fn+".conf")), filterOpts, fopts)
		// Backend-related log type, unless set by the jail or the filter.
		if !fr.initOpts.has("logtype") && !fp.hasOwnOption("Definition", "logtype") {
			lt := "file"
			if strings.HasPrefix(backend, "systemd") {
				lt = "journal"
			}
			fr.initOpts.set("logtype", lt, "")
		}
		if err := fr.getOptions(first, true); err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, fn, err)
		}
		comb, err := fr.getCombined(nil)
		if err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, fn, err)
		}
		jp.mergeSection(name, comb, "known/")
	}

	opts, err := l.getOptions(jp, jailFile("enabled"), name, jailOpts, nil, true)
	if err != nil {
		return nil, true, err
	}
	j = &Jail{Name: name, Enabled: true}
	var filtComb *omap
	if fr != nil {
		if err := fr.getOptions(opts, false); err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, filterName, err)
		}
		if filtComb, err = fr.getCombined(nil); err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, filterName, err)
		}
		if err := l.fillFilter(j, filterName, filterParams, fr, filtComb, opts); err != nil {
			return nil, true, fmt.Errorf("[%s] filter %q: %w", name, filterName, err)
		}
	}

	actions, _ := opts.get("action")
	for _, act := range splitWithOptions(actions) {
		act = strings.TrimSpace(act)
		if act == "" {
			continue
		}
		a, err := l.loadAction(name, act, opts)
		if err != nil {
			return nil, true, fmt.Errorf("%s: [%s] action: %w", jailFile("action"), name, err)
		}
		j.Actions = append(j.Actions, a)
	}
	if len(j.Actions) == 0 {
		l.warnf("no actions were defined for jail %q", name)
	}
	if err := l.fillJail(jp, j, opts, jailFile); err != nil {
		return nil, true, err
	}
	return j, true, nil
}

// loadAction resolves one "name[params]" entry of a jail's action list.
func (l *loader) loadAction(jail, act string, jailOpts *omap) (Action, error) {
	an, aopts, err := extractOptions(act)
	if err != nil {
		return Action{}, fmt.Errorf("invalid action definition %q: %w", act, err)
	}
	a := Action{Name: an, Params: aopts.plain(), ParamOrder: append([]string(nil), aopts.keys...)}
	if strings.HasSuffix(an, ".py") {
		a.ActName = strings.TrimSuffix(an, ".py")
		if v, ok := aopts.get("actname"); ok {
			a.ActName = v
		}
		return a, nil
	}
	ap, found, err := l.readConf(path.Join("action.d", an))
	if err != nil {
		return Action{}, fmt.Errorf("action %q: %w", an, err)
	}
	if !found {
		return Action{}, fmt.Errorf("unable to read action %q: no %s or %s", an,
			l.display(path.Join(l.base, "action.d", an+".conf")), l.display(path.Join(l.base, "action.d", an+".local")))
	}
	// Room for name, actname and the [Init] options with their known/
	// copies, which getOptions adds.
	init := aopts.cloneSize(len(aopts.keys) + 2 + 2*ap.sections["Init"].len())
	n, ok := init.get("name")
	if !ok {
		n = jail
		init.set("name", n, "")
	}
	actname, ok := init.get("actname")
	if !ok {
		actname = an
		if n != jail {
			if strings.HasPrefix(n, jail) {
				actname += n[len(jail):]
			} else {
				actname += "-" + n
			}
		}
		init.set("actname", actname, "")
	}
	a.ActName = actname
	ar := newDefInit(l, ap, l.display(path.Join(l.base, "action.d", an+".conf")), actionOpts, init)
	if err := ar.getOptions(jailOpts, false); err != nil {
		return Action{}, fmt.Errorf("action %q: %w", an, err)
	}
	comb, err := ar.getCombined(actionIgnoredTags)
	if err != nil {
		return Action{}, fmt.Errorf("action %q: %w", an, err)
	}
	a.Options = comb.plain()
	for k, v := range a.Options {
		if v == noneValue {
			delete(a.Options, k)
		}
	}
	a.OptionOrder = append([]string(nil), comb.keys...)
	a.Init = make(map[string]string, len(ar.initOpts.keys)/2+1)
	for _, k := range ar.initOpts.keys {
		if !strings.HasPrefix(k, "known/") {
			a.Init[k] = ar.initOpts.vals[k]
			a.InitOrder = append(a.InitOrder, k)
		}
	}
	return a, nil
}

// effective returns the jail's own value of a filter option, else the
// filter's.
func effective(jailOpts, filt *omap, opt string) (string, bool) {
	if v, ok := jailOpts.get(opt); ok {
		return v, v != noneValue
	}
	v, ok := filt.get(opt)
	return v, ok && v != noneValue
}

// regexList splits a multi-line regex option, dropping empty lines.
func regexList(v string) []string {
	var out []string
	for _, r := range strings.Split(v, "\n") {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

func (l *loader) fillFilter(j *Jail, name string, params *omap, fr *defInit, comb, jailOpts *omap) error {
	f := &Filter{Name: name, Params: params.plain(), Options: map[string]string{}}
	// Every [Definition] option (resolved with the jail's options).
	all := newOmapSize(fr.p.sections["Definition"].len() + comb.len())
	if fr.p.hasSection("Definition") {
		for _, opt := range fr.p.ownOptions("Definition") {
			v, err := fr.p.get("Definition", opt, fr.pOpts)
			if err != nil {
				continue // unused helper options may not resolve
			}
			all.set(opt, v, "")
		}
	}
	all.update(comb)
	if sub, err := substituteTags(all, nil, fr.combOption); err == nil {
		all = sub
	}
	for _, k := range all.keys {
		if v := all.vals[k]; v != noneValue {
			f.Options[k] = v
		}
	}
	for _, s := range filterOpts {
		if v, ok := effective(jailOpts, comb, s.name); ok {
			f.Options[s.name] = v
		} else {
			delete(f.Options, s.name)
		}
	}
	f.PrefRegex, _ = effective(jailOpts, comb, "prefregex")
	if v, ok := effective(jailOpts, comb, "failregex"); ok {
		f.FailRegex = regexList(v)
	}
	if v, ok := effective(jailOpts, comb, "ignoreregex"); ok {
		f.IgnoreRegex = regexList(v)
	}
	f.DatePattern, _ = effective(jailOpts, comb, "datepattern")
	f.JournalMatch, _ = effective(jailOpts, comb, "journalmatch")
	if v, ok := effective(jailOpts, comb, "maxlines"); ok {
		// An invalid value is None for fail2ban: no maxlines is sent.
		if n, err := pyInt(v); err == nil {
			f.MaxLines = n
		} else {
			delete(f.Options, "maxlines")
		}
	}
	f.LogType, _ = comb.get("logtype")
	f.comb = comb
	j.Filter = f
	return nil
}

// fillJail sets the typed jail fields from the resolved options.
func (l *loader) fillJail(jp *parser, j *Jail, opts *omap, jailFile func(string) string) error {
	name := j.Name
	fail := func(opt string, err error) error {
		return fmt.Errorf("%s: [%s] %s: %w", jailFile(opt), name, opt, err)
	}
	if v, ok := opts.get("logpath"); ok {
		for _, line := range strings.Split(v, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			lp := LogPath{Pattern: line}
			if i := strings.LastIndex(line, " "); i >= 0 {
				lp.Pattern = line[:i]
				lp.Tail = strings.EqualFold(line[i+1:], "tail")
			}
			j.LogPaths = append(j.LogPaths, lp)
		}
	}
	b, _ := opts.get("backend")
	bn, bopts, err := extractOptions(b)
	if err != nil {
		return fail("backend", err)
	}
	j.Backend, j.BackendOpts = strings.TrimSpace(bn), bopts.plain()
	j.LogEncoding, _ = opts.get("logencoding")

	j.opts = opts
	if opts.has("logpath") {
		opts.setSrc("logpath", jailFile("logpath"))
	}
	j.MaxRetry = DefaultMaxRetry
	if v, ok := opts.get("maxretry"); ok {
		if n, err := pyInt(v); err == nil {
			j.MaxRetry = n
		}
	}
	j.MaxMatches = DefaultMaxMatches
	if v, ok := opts.get("maxmatches"); ok {
		if n, err := pyInt(v); err == nil {
			j.MaxMatches = n
		}
	}
	j.FindTime, j.BanTime = DefaultFindTime, DefaultBanTime
	for opt, dst := range map[string]*time.Duration{"findtime": &j.FindTime, "bantime": &j.BanTime} {
		if v, ok := opts.get(opt); ok {
			d, err := ParseTime(v)
			if err != nil {
				return fail(opt, err)
			}
			*dst = d
		}
	}
	if v, ok := opts.get("ignoreip"); ok {
		j.IgnoreIP = splitWords(v)
	}
	j.IgnoreSelf = true
	if v, ok := opts.get("ignoreself"); ok {
		j.IgnoreSelf = v == "True"
	}
	j.UseDNS = "warn"
	if v, ok := effective(opts, newOmap(), "usedns"); ok {
		j.UseDNS = v
	} else if j.Filter != nil && j.Filter.Options["usedns"] != "" {
		j.UseDNS = j.Filter.Options["usedns"]
	}

	// Every option of the section, interpolated; options that do not
	// resolve (unused helpers such as action_cf_mwl) are left out.
	sect := jp.sections[name]
	j.Options = make(map[string]string, sect.len()+jp.defaults.len())
	for _, keys := range [][]string{sect.keyList(), jp.defaults.keys} {
		for _, k := range keys {
			if _, done := j.Options[k]; done || opts.has(k) {
				continue // the template options are set below
			}
			if v, err := jp.get(name, k, nil); err == nil {
				j.Options[k] = v
			}
		}
	}
	for _, k := range opts.keys {
		j.Options[k] = opts.vals[k]
	}
	j.BanAction = j.Options["banaction"]
	j.Port = j.Options["port"]
	j.Protocol = j.Options["protocol"]
	j.Chain = j.Options["chain"]
	// chain is "<known/chain>" by default: the action's own [Init] chain.
	if strings.Contains(j.Chain, "<") {
		for _, a := range j.Actions {
			if c := a.Options["chain"]; c != "" && !strings.Contains(c, "<") {
				j.Chain = c
				break
			}
		}
	}
	return nil
}
