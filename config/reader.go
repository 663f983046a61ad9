package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Fail2banVersion is the fail2ban release whose configuration semantics
// this package reproduces; it is the value of %(fail2ban_version)s.
const Fail2banVersion = "1.0.2"

// Defaults the fail2ban server applies when a jail does not set a value.
const (
	DefaultMaxRetry   = 3
	DefaultMaxMatches = 5
	DefaultFindTime   = 10 * time.Minute
	DefaultBanTime    = 10 * time.Minute
)

// loader reads one configuration tree. Parsed files and merged
// filter/action configurations are cached for the duration of one Load.
type loader struct {
	fsys  fs.FS
	base  string // directory of the tree inside fsys
	abs   bool   // fsys is rooted at "/", so absolute includes resolve
	label string
	// confpath is the value of %(fail2ban_confpath)s.
	confpath string

	files    map[string]*fileEntry
	shared   map[string]*sharedConf
	dirs     map[string]*dirList
	warnings []string
	warned   map[string]bool
}

// dirList is a directory's listing, read once per load: most of the files
// a load looks for (NAME.local, NAME.d/) do not exist, and answering from
// the listing saves a system call for each.
type dirList struct {
	// ok is false when the directory could not be listed: its files are
	// then looked up one by one.
	ok    bool
	names []string               // sorted, as fs.ReadDir returns them
	types map[string]fs.FileMode // type bits of each entry
}

type fileEntry struct {
	p   *parser
	err error
}

type sharedConf struct {
	p     *parser
	found bool
	err   error
}

// LoadDir reads the tree rooted at dir (e.g. /etc/fail2ban).
func LoadDir(dir string) (*Config, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	st, err := os.Stat(absDir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load %s: not a directory", dir)
	}
	rel := strings.TrimPrefix(filepath.ToSlash(absDir), "/")
	if rel == "" {
		rel = "."
	}
	l := newLoader(os.DirFS("/"), rel, true, dir)
	l.confpath = strings.TrimRight(dir, "/")
	return l.load()
}

// Load reads a tree from any fs.FS (used for the go:embed default config);
// label is used in messages and stored in Config.Dir. Includes given as
// absolute paths cannot be resolved in an fs.FS and are treated as missing.
func Load(fsys fs.FS, label string) (*Config, error) {
	if _, err := fs.Stat(fsys, "."); err != nil {
		return nil, fmt.Errorf("load %s: %w", label, err)
	}
	l := newLoader(fsys, ".", false, label)
	l.confpath = label
	return l.load()
}

func newLoader(fsys fs.FS, base string, abs bool, label string) *loader {
	return &loader{fsys: fsys, base: base, abs: abs, label: label,
		files: map[string]*fileEntry{}, shared: map[string]*sharedConf{},
		dirs: map[string]*dirList{}}
}

// display turns an fs path into the name shown in messages.
func (l *loader) display(p string) string {
	if l.abs {
		return "/" + p
	}
	if p == "." {
		return l.label
	}
	return path.Join(l.label, p)
}

// warnf records a warning, once.
func (l *loader) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if l.warned[w] {
		return
	}
	if l.warned == nil {
		l.warned = map[string]bool{}
	}
	l.warned[w] = true
	l.warnings = append(l.warnings, w)
}

// splitPath splits p into its directory ("." for none) and base name.
func splitPath(p string) (dir, name string) {
	dir, name = path.Split(p)
	if dir == "" {
		return ".", name
	}
	return path.Clean(dir), name
}

// entryType returns the type bits of p's entry in its directory's cached
// listing; known is false when the listing is not cached or could not be
// read (exists is meaningful only when known is true).
func (l *loader) entryType(p string) (typ fs.FileMode, exists, known bool) {
	dir, name := splitPath(p)
	d := l.dirs[dir]
	if d == nil || !d.ok {
		return 0, false, false
	}
	typ, exists = d.types[name]
	return typ, exists, true
}

// listDir returns dir's listing, reading it on first use. A directory
// its parent's cached listing does not show is known to be missing
// without a system call.
func (l *loader) listDir(dir string) *dirList {
	if d, ok := l.dirs[dir]; ok {
		return d
	}
	d := &dirList{}
	l.dirs[dir] = d
	if dir != "." && dir != "/" {
		if _, exists, known := l.entryType(dir); known && !exists {
			d.ok = true
			return d
		}
	}
	entries, err := fs.ReadDir(l.fsys, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.ok = true // missing: no files
		}
		return d
	}
	d.ok = true
	d.names = make([]string, len(entries))
	d.types = make(map[string]fs.FileMode, len(entries))
	for i, e := range entries {
		d.names[i] = e.Name()
		d.types[e.Name()] = e.Type()
	}
	return d
}

// isFile reports whether p exists and is not a directory, from its
// directory's listing when it can (symbolic links are followed with a
// Stat).
func (l *loader) isFile(p string) bool {
	dir, name := splitPath(p)
	if d := l.listDir(dir); d.ok {
		typ, exists := d.types[name]
		switch {
		case !exists:
			return false
		case typ.IsRegular():
			return true
		case typ.IsDir():
			return false
		}
	}
	st, err := fs.Stat(l.fsys, p)
	return err == nil && !st.IsDir()
}

// globConf lists dir/*.ext sorted, without hidden files (Python glob).
func (l *loader) globConf(dir, ext string) []string {
	d := l.listDir(dir)
	if !d.ok {
		return nil
	}
	var out []string
	for _, n := range d.names {
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ext) {
			continue
		}
		out = append(out, path.Join(dir, n))
	}
	sort.Strings(out)
	return out
}

// parseFile parses a single file (cached). A missing or unreadable file
// gives (nil, nil), as fail2ban silently skips it.
func (l *loader) parseFile(p string) (*parser, error) {
	if e, ok := l.files[p]; ok {
		return e.p, e.err
	}
	e := &fileEntry{}
	l.files[p] = e
	if !l.isFile(p) {
		return nil, nil
	}
	data, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		return nil, nil
	}
	e.p, e.err = parseINI(l.display(p), data)
	if e.err != nil {
		e.err = fmt.Errorf("parse %s: %w", l.display(p), e.err)
	}
	return e.p, e.err
}

// resolveInclude joins an [INCLUDES] entry to the including file's dir.
func (l *loader) resolveInclude(dir, name string) (string, bool) {
	if strings.HasPrefix(name, "/") {
		if !l.abs {
			return "", false
		}
		name = path.Clean(strings.TrimPrefix(name, "/"))
		if name == "" || name == "." {
			return "", false
		}
		return name, fs.ValidPath(name)
	}
	p := path.Join(dir, name)
	return p, fs.ValidPath(p)
}

// expandLocal adds each file's .local right after it (when it exists and
// is not already listed).
func (l *loader) expandLocal(files []string) []string {
	in := map[string]bool{}
	for _, f := range files {
		in[f] = true
	}
	var out []string
	for _, f := range files {
		out = append(out, f)
		local := strings.TrimSuffix(f, path.Ext(f)) + ".local"
		if !in[local] && l.isFile(local) {
			out = append(out, local)
		}
	}
	return out
}

// includes returns the files to read for files, with their [INCLUDES]
// before and after lists expanded recursively; seen holds the chain of
// including files, which are never included again (loop detection).
func (l *loader) includes(files []string, seen []string) ([]string, error) {
	var out []string
	for _, f := range l.expandLocal(files) {
		got, err := l.includesOf(f, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (l *loader) includesOf(f string, seen []string) ([]string, error) {
	p, err := l.parseFile(f)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, nil
	}
	var before, after []string
	if p.hasSection(includesSection) {
		for _, which := range []string{"before", "after"} {
			if !p.sections[includesSection].has(which) && !p.defaults.has(which) {
				continue
			}
			v, err := p.get(includesSection, which, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: [INCLUDES] %s: %w", l.display(f), which, err)
			}
			for _, name := range strings.Split(v, "\n") {
				if name == "" {
					continue
				}
				r, ok := l.resolveInclude(path.Dir(f), name)
				if !ok {
					continue
				}
				if contains(seen, r) {
					// fail2ban cuts include loops silently; say so.
					l.warnf("%s: [INCLUDES] %s: include loop: %s includes %s, which is already being read; skipped",
						l.display(f), which, l.display(f), l.display(r))
					continue
				}
				got, err := l.includes([]string{r}, append(append([]string(nil), seen...), f))
				if err != nil {
					return nil, err
				}
				if which == "before" {
					before = append(before, got...)
				} else {
					after = append(after, got...)
				}
			}
		}
	}
	out := append(before, f)
	return append(out, after...), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readConf reads configuration NAME (relative to the tree): NAME.conf,
// NAME.d/*.conf, NAME.local, NAME.d/*.local, each with its includes, merged
// in that order. found is false when none of these files exists.
func (l *loader) readConf(name string) (p *parser, found bool, err error) {
	if sc, ok := l.shared[name]; ok {
		return sc.p, sc.found, sc.err
	}
	sc := &sharedConf{}
	l.shared[name] = sc
	basename := path.Join(l.base, name)
	if !fs.ValidPath(basename) {
		return nil, false, nil
	}
	var files []string
	if l.isFile(basename + ".conf") {
		files = append(files, basename+".conf")
	}
	files = append(files, l.globConf(basename+".d", ".conf")...)
	if l.isFile(basename + ".local") {
		files = append(files, basename+".local")
	}
	files = append(files, l.globConf(basename+".d", ".local")...)
	if len(files) == 0 {
		return nil, false, nil
	}
	all, err := l.includes(files, nil)
	if err != nil {
		sc.err = err
		return nil, true, err
	}
	merged := newParser()
	for _, f := range all {
		fp, err := l.parseFile(f)
		if err != nil {
			sc.err = err
			return nil, true, err
		}
		if fp != nil {
			merged.merge(fp)
		}
	}
	sc.p, sc.found = merged, true
	return merged, true, nil
}

// noneValue stands for Python's None among option values: the value
// fail2ban gives the options of a missing section that have no default.
// It never reaches the exported maps.
const noneValue = "\x00None"

// optSpec is one entry of a fail2ban options template.
type optSpec struct {
	name string
	kind string // "string", "bool" or "int"
	def  *string
}

func str(s string) *string { return &s }

// getOptions is ConfigReader.getOptions: it reads the listed options of
// sec (skipping those in pOpts), converting bools and ints to the strings
// Python would produce, and falling back to the template defaults.
func (l *loader) getOptions(p *parser, file, sec string, specs []optSpec, pOpts *omap, convert bool) (*omap, error) {
	out := newOmapSize(len(specs))
	for _, s := range specs {
		if pOpts.has(s.name) {
			continue
		}
		v, miss, err := p.lookup(sec, s.name, pOpts)
		switch {
		case miss == errNoSection:
			// fail2ban sets every option of a missing section to its
			// default, None included.
			if s.def != nil {
				out.set(s.name, *s.def, "")
			} else {
				out.set(s.name, noneValue, "")
			}
			continue
		case miss == errNoOption:
			if s.def != nil {
				out.set(s.name, *s.def, "")
			}
			continue
		case err != nil:
			return nil, err
		}
		if convert {
			switch s.kind {
			case "bool":
				v = pyBool(AsBool(v))
			case "int":
				n, err := pyInt(v)
				if err != nil {
					l.warnf("%s: wrong value for %q in [%s]: %v; using the default", file, s.name, sec, err)
					if s.def != nil {
						out.set(s.name, *s.def, "")
					} else {
						// fail2ban keeps the option, valued None; the
						// unparsable text stands for it here.
						out.set(s.name, v, "")
					}
					continue
				}
				v = fmt.Sprint(n)
			}
		}
		out.set(s.name, v, "")
	}
	return out, nil
}

// load reads the whole tree.
func (l *loader) load() (*Config, error) {
	cfg := &Config{Dir: l.label}
	if err := l.loadDaemon(&cfg.Daemon); err != nil {
		return nil, err
	}
	jp, found, err := l.readConf("jail")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", l.label, err)
	}
	if !found {
		return nil, fmt.Errorf("load %s: no jail.conf, jail.local or jail.d/*.conf found", l.label)
	}
	jp.setDefault("fail2ban_version", Fail2banVersion)
	jp.setDefault("fail2ban_confpath", l.confpath)
	// [DEFAULT] is final from here on; its values interpolated in the jail
	// sections are worth remembering.
	jp.defMemo = map[string]*defMemoEntry{}
	for _, name := range jp.sectionNames() {
		if name == includesSection {
			continue
		}
		j, enabled, err := l.loadJail(jp, name)
		if !enabled {
			continue
		}
		cfg.order = append(cfg.order, name)
		if err != nil {
			cfg.Broken = append(cfg.Broken, &JailError{Jail: name, Err: err})
			continue
		}
		cfg.Jails = append(cfg.Jails, j)
	}
	cfg.Warnings = l.warnings
	return cfg, nil
}

// JailError is the error of an enabled jail that could not be resolved.
type JailError struct {
	Jail string
	Err  error
}

// Error implements error.
func (e *JailError) Error() string {
	return fmt.Sprintf("jail %q skipped, because of wrong configuration: %v", e.Jail, e.Err)
}

// Unwrap returns the underlying error.
func (e *JailError) Unwrap() error { return e.Err }

// daemonOpts is fail2ban.conf's [Definition] template.
var daemonOpts = []optSpec{
	{"loglevel", "string", str("INFO")},
	{"logtarget", "string", str("/var/log/fail2ban.log")},
	{"syslogsocket", "string", str("auto")},
	{"allowipv6", "string", str("auto")},
	{"socket", "string", str("/var/run/fail2ban/fail2ban.sock")},
	{"pidfile", "string", str("/var/run/fail2ban/fail2ban.pid")},
	{"dbfile", "string", str("/var/lib/fail2ban/fail2ban.sqlite3")},
	{"dbmaxmatches", "int", nil},
	{"dbpurgeage", "string", str("1d")},
}

func (l *loader) loadDaemon(d *Daemon) error {
	p, found, err := l.readConf("fail2ban")
	if err != nil {
		return fmt.Errorf("load %s: %w", l.label, err)
	}
	if !found {
		p = newParser()
	}
	file := l.display(path.Join(l.base, "fail2ban.conf"))
	opts, err := l.getOptions(p, file, "Definition", daemonOpts, nil, true)
	if err != nil {
		return fmt.Errorf("load %s: %w", l.label, err)
	}
	d.LogLevel, _ = opts.get("loglevel")
	d.LogTarget, _ = opts.get("logtarget")
	d.Socket, _ = opts.get("socket")
	d.PidFile, _ = opts.get("pidfile")
	d.DBFile, _ = opts.get("dbfile")
	if v, ok := opts.get("dbmaxmatches"); ok {
		d.DBMaxMatches, _ = pyInt(v)
	}
	pa, _ := opts.get("dbpurgeage")
	if d.DBPurgeAge, err = ParseTime(pa); err != nil {
		return fmt.Errorf("load %s: %s: [Definition] dbpurgeage: %w", l.label, file, err)
	}
	d.Options = map[string]string{}
	if p.hasSection("Definition") {
		for _, k := range p.ownOptions("Definition") {
			if v, err := p.get("Definition", k, nil); err == nil {
				d.Options[k] = v
			}
		}
	}
	for k, v := range opts.plain() {
		if v == noneValue {
			d.dbMaxMatchesNone = k == "dbmaxmatches"
			continue
		}
		d.Options[k] = v
	}
	if p.hasSection("Thread") {
		d.Thread = map[string]string{}
		for _, k := range p.ownOptions("Thread") {
			if v, err := p.get("Thread", k, nil); err == nil {
				d.Thread[k] = v
			}
		}
		// fail2ban reads only stacksize, falling back to [DEFAULT].
		v, err := p.get("Thread", "stacksize", nil)
		switch {
		case err == nil:
			d.Thread["stacksize"] = v
		case !errors.Is(err, errNoOption):
			return fmt.Errorf("load %s: %s: [Thread] stacksize: %w", l.label, file, err)
		}
	}
	return nil
}
