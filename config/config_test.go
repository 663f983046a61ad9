package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/f2bd/f2bd/internal/oracle"
)

// writeTree writes files (path -> content) under a new temp dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// minimal tree pieces.
const (
	simpleFilter = "[Definition]\nfailregex = ^fail from <HOST>$\n"
	simpleAction = "[Definition]\nactionban = ban <ip>\n[Init]\nport = 0:65535\n"
)

func load(t *testing.T, files map[string]string) *Config {
	t.Helper()
	cfg, err := LoadDir(writeTree(t, files))
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	for _, e := range cfg.Broken {
		t.Logf("broken: %v", e)
	}
	return cfg
}

func jail(t *testing.T, cfg *Config, name string) *Jail {
	t.Helper()
	for _, j := range cfg.Jails {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("jail %q not loaded (jails %d, broken %v)", name, len(cfg.Jails), cfg.Broken)
	return nil
}

func TestParseINISyntax(t *testing.T) {
	src := `# comment
; another comment
[DEFAULT]
Shared = from default

[Sec]
Name = Value ; inline comment
semi = a;b
colon: c = d
pct = 100%%
multi = first
    second
        # a comment line inside the value is dropped

    third
empty =
next = x
`
	p, err := parseINI("t.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name":  "Value",
		"semi":  "a;b",
		"colon": "c = d",
		"pct":   "100%%",
		"multi": "first\nsecond\n\nthird",
		"empty": "",
		"next":  "x",
	}
	if got := p.sections["Sec"].plain(); !reflect.DeepEqual(got, want) {
		t.Errorf("section:\n got %q\nwant %q", got, want)
	}
	for opt, want := range map[string]string{"name": "Value", "pct": "100%", "shared": "from default", "SHARED": "from default"} {
		got, err := p.get("Sec", opt, nil)
		if err != nil || got != want {
			t.Errorf("get %s = %q, %v; want %q", opt, got, err, want)
		}
	}
	if _, err := p.get("Sec", "missing", nil); !errors.Is(err, errNoOption) {
		t.Errorf("missing option error = %v", err)
	}
	if _, err := p.get("Nope", "x", nil); !errors.Is(err, errNoSection) {
		t.Errorf("missing section error = %v", err)
	}
}

func TestParseINIErrors(t *testing.T) {
	for name, src := range map[string]string{
		"no section":        "a = b\n",
		"duplicate section": "[a]\nx=1\n[a]\ny=2\n",
		"duplicate option":  "[a]\nx=1\nX=2\n",
		"bad line":          "[a]\njust words\n",
	} {
		_, err := parseINI("bad.conf", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "bad.conf:") {
			t.Errorf("%s: error %v, want one naming bad.conf and the line", name, err)
		}
	}
}

func TestInterpolation(t *testing.T) {
	p, err := parseINI("i.conf", []byte(`[DEFAULT]
d = default-d
x = %(__name__)s-x
[a]
v = 1
ref = <%(v)s>
name = %(__name__)s
inherit = %(x)s
sec = %(b/w)s
dflt = %(default/d)s
deep = %(l1)s
l1 = %(l2)s
l2 = end
bad = %(nope)s
syntax = 5%
loop = %(loop)s
[b]
w = from-b %(v)s
v = bv
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"ref":     "<1>",
		"name":    "a",
		"inherit": "a-x",
		"sec":     "from-b 1", // the raw value is interpolated in section a
		"dflt":    "default-d",
		"deep":    "end",
	}
	for opt, want := range cases {
		got, err := p.get("a", opt, nil)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", opt, got, err, want)
		}
	}
	vars := newOmap()
	vars.set("V", "var", "")
	if got, _ := p.get("a", "ref", vars); got != "<var>" {
		t.Errorf("vars override section: got %q", got)
	}
	for opt, frag := range map[string]string{
		"bad":    "%(nope)s",
		"syntax": "'%' must be followed",
		"loop":   "too deeply recursive",
	} {
		_, err := p.get("a", opt, nil)
		var ie *InterpolationError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), frag) ||
			ie.File != "i.conf" || ie.Section != "a" || ie.Option != opt {
			t.Errorf("%s: error %#v (%v), want InterpolationError naming i.conf, [a], %s, %q", opt, err, err, opt, frag)
		}
	}
}

func TestLoadOrderAndKnown(t *testing.T) {
	cfg := load(t, map[string]string{
		"filter.d/f.conf": simpleFilter,
		"action.d/a.conf": simpleAction,
		"jail.conf": `[DEFAULT]
banaction = a
action = %(banaction)s
bantime = 1h
maxretry = 1
findtime = 10m
[j]
enabled = true
filter = f
maxretry = 2
`,
		"jail.d/20-b.conf":    "[j]\nmaxretry = 4\n",
		"jail.d/10-a.conf":    "[j]\nmaxretry = 3\nfindtime = 1d\n",
		"jail.local":          "[j]\nmaxretry = 5\nbantime = %(known/bantime)s 30m\n",
		"jail.d/10-a.local":   "[j]\nmaxretry = 6\n",
		"jail.d/.hidden.conf": "[j]\nmaxretry = 99\n",
	})
	j := jail(t, cfg, "j")
	if j.MaxRetry != 6 {
		t.Errorf("maxretry %d, want 6 (jail.d/*.local last)", j.MaxRetry)
	}
	if j.FindTime != 24*time.Hour {
		t.Errorf("findtime %v, want 24h from jail.d/10-a.conf", j.FindTime)
	}
	if j.BanTime != 90*time.Minute || j.Options["bantime"] != "1h 30m" {
		t.Errorf("bantime %v %q, want 1h 30m via %%(known/bantime)s", j.BanTime, j.Options["bantime"])
	}
}

func TestIncludes(t *testing.T) {
	cfg := load(t, map[string]string{
		"filter.d/common.conf":  "[INCLUDES]\nbefore = base.conf\n[DEFAULT]\npre = common\nlevel = common\n",
		"filter.d/common.local": "[DEFAULT]\nlevel = common-local\n",
		"filter.d/base.conf":    "[INCLUDES]\nafter = common.conf\n[DEFAULT]\nbase = yes\npre = base\n",
		"filter.d/post.conf":    "[Definition]\nfailregex = overridden by post <HOST>\n",
		"filter.d/f.conf": `[INCLUDES]
before = common.conf
         missing.conf
after = post.conf
[Definition]
failregex = ^%(pre)s %(level)s %(base)s <HOST>
datepattern = %(pre)s
`,
		"action.d/a.conf": simpleAction,
		"jail.conf":       "[j]\nenabled = true\nfilter = f\naction = a\n",
	})
	j := jail(t, cfg, "j")
	if want := []string{"overridden by post <HOST>"}; !reflect.DeepEqual(j.Filter.FailRegex, want) {
		t.Errorf("failregex %q, want %q (after include wins)", j.Filter.FailRegex, want)
	}
	// base.conf is read before common.conf (its before include), and the
	// loop common -> base -> common is cut; common.local follows common.
	if j.Filter.DatePattern != "common" {
		t.Errorf("datepattern %q, want common", j.Filter.DatePattern)
	}
	if got := j.Filter.Options["level"]; got != "" {
		t.Errorf("DEFAULT option leaked into filter options: %q", got)
	}
}

func TestIncludeOrderAndLocal(t *testing.T) {
	l := newLoader(os.DirFS(writeTree(t, map[string]string{
		"a.conf":     "[INCLUDES]\nbefore = b.conf\nafter = sub/c.conf\n[x]\n",
		"b.conf":     "[INCLUDES]\nbefore = a.conf\n[x]\n",
		"b.local":    "[x]\n",
		"sub/c.conf": "[INCLUDES]\nbefore = ../b.conf\n[x]\n",
		"a.local":    "[x]\n",
	})), ".", false, "t")
	got, err := l.includes([]string{"a.conf"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b.conf", "b.local", "a.conf", "b.conf", "b.local", "sub/c.conf", "a.local"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("include order\n got %v\nwant %v", got, want)
	}
}

func TestFilterTagsAndParams(t *testing.T) {
	cfg := load(t, map[string]string{
		"filter.d/f.conf": `[INCLUDES]
before = common.conf
[Definition]
_daemon = food
failregex = ^<pfx> <mdre-<mode>> <HOST>
            <extra>
ignoreregex = ^ignore %(__name__)s
mdre-normal = normal
mdre-aggressive = aggressive <F-USER>\S+</F-USER>
pfx = %(__prefix)s
extra =
journalmatch = _SYSTEMD_UNIT=<_daemon>.service + _COMM=<_daemon>
[Init]
mode = normal
maxlines = 1
`,
		"filter.d/common.conf": "[DEFAULT]\n__prefix = \\s*%(_daemon)s:\n",
		"filter.d/self.conf":   "[Definition]\nfailregex = <a>\na = x<a>\n",
		"filter.d/badint.conf": "[Definition]\nfailregex = x <HOST>\nmaxlines = lots\n",
		"action.d/a.conf":      simpleAction,
		"jail.conf": `[DEFAULT]
action = a
[normal]
enabled = true
filter = f
[aggr]
enabled = true
filter = f[mode=aggressive, maxlines="2"]
[self]
enabled = true
filter = self
[other]
enabled = true
filter = f
`,
	})
	n := jail(t, cfg, "normal")
	if want := []string{`^\s*food: normal <HOST>`}; !reflect.DeepEqual(n.Filter.FailRegex, want) {
		t.Errorf("normal failregex %q, want %q", n.Filter.FailRegex, want)
	}
	if want := []string{"^ignore Definition"}; !reflect.DeepEqual(n.Filter.IgnoreRegex, want) {
		t.Errorf("ignoreregex %q, want %q", n.Filter.IgnoreRegex, want)
	}
	if n.Filter.MaxLines != 1 || n.Filter.LogType != "file" || n.Filter.Name != "f" {
		t.Errorf("normal: maxlines %d logtype %q name %q", n.Filter.MaxLines, n.Filter.LogType, n.Filter.Name)
	}
	if n.Filter.JournalMatch != "_SYSTEMD_UNIT=food.service + _COMM=food" {
		t.Errorf("journalmatch %q", n.Filter.JournalMatch)
	}
	a := jail(t, cfg, "aggr")
	if want := []string{`^\s*food: aggressive <F-USER>\S+</F-USER> <HOST>`}; !reflect.DeepEqual(a.Filter.FailRegex, want) {
		t.Errorf("aggressive failregex %q, want %q", a.Filter.FailRegex, want)
	}
	if a.Filter.MaxLines != 2 || a.Filter.Params["mode"] != "aggressive" || a.Filter.Options["mode"] != "aggressive" {
		t.Errorf("aggr: maxlines %d params %v", a.Filter.MaxLines, a.Filter.Params)
	}
	// self.conf's tags reference themselves.
	if len(cfg.Broken) != 1 || !strings.Contains(cfg.Broken[0].Error(), `"self"`) ||
		!strings.Contains(cfg.Broken[0].Error(), "self-referencing") {
		t.Errorf("broken %v, want jail self with a self-referencing tag error", cfg.Broken)
	}
}

func TestBrokenJails(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"filter.d/f.conf": simpleFilter,
		"action.d/a.conf": simpleAction,
		"jail.conf": `[DEFAULT]
action = a
filter = f
[ok1]
enabled = true
[nofilter]
enabled = true
filter = ghost
[interp]
enabled = true
logpath = /var/log/%(undefined_path)s
[noaction]
enabled = true
action = a
         phantom[x=1]
[badsyntax]
enabled = true
filter = f[mode=a, broken
[disabled]
enabled = false
filter = ghost
[ok2]
enabled = true
`,
	})
	cfg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range cfg.Jails {
		names = append(names, j.Name)
	}
	if !reflect.DeepEqual(names, []string{"ok1", "ok2"}) {
		t.Errorf("jails %v, want [ok1 ok2]", names)
	}
	want := map[string][]string{
		"nofilter":  {dir + "/jail.conf", "[nofilter]", "filter", `"ghost"`, "filter.d/ghost.conf"},
		"interp":    {dir + "/jail.conf", "[interp]", `"logpath"`, "%(undefined_path)s"},
		"noaction":  {dir + "/jail.conf", "[noaction]", "action", `"phantom"`, "action.d/phantom.conf"},
		"badsyntax": {dir + "/jail.conf", "[badsyntax]", "filter", "invalid filter definition"},
	}
	if len(cfg.Broken) != len(want) {
		t.Fatalf("broken %v, want %d", cfg.Broken, len(want))
	}
	for _, e := range cfg.Broken {
		var je *JailError
		if !errors.As(e, &je) {
			t.Fatalf("%v is not a *JailError", e)
		}
		for _, frag := range want[je.Jail] {
			if !strings.Contains(e.Error(), frag) {
				t.Errorf("jail %s error %q does not mention %q", je.Jail, e, frag)
			}
		}
	}
}

func TestJailFields(t *testing.T) {
	cfg := load(t, map[string]string{
		"filter.d/f.conf":        simpleFilter,
		"action.d/iptables.conf": "[Definition]\nactionban = ipt <ip> <chain>\n[Init]\nchain = INPUT\nport = ssh\n",
		"action.d/mail.conf":     "[Definition]\nactionban = mail <dest>\n[Init]\ndest = root\n",
		"jail.conf": `[DEFAULT]
banaction = iptables
port = 0:65535
protocol = tcp
chain = <known/chain>
action_ = %(banaction)s[port="%(port)s", protocol="%(protocol)s", chain="%(chain)s"]
action_mw = %(action_)s
            mail[dest="admin@example.org", name=%(__name__)s-mail]
action = %(action_mw)s
ignoreip = 127.0.0.1/8 ::1, 192.0.2.1
           198.51.100.0/24
[j]
enabled = true
filter = f
port = ssh,2222
backend = systemd[journalpath="/run/log/journal", journalflags=1]
logpath = /var/log/a.log
          /var/log/b-*.log tail
bantime = -1
usedns = no
ignoreself = false
`,
	})
	j := jail(t, cfg, "j")
	if j.Backend != "systemd" || !reflect.DeepEqual(j.BackendOpts, map[string]string{"journalpath": "/run/log/journal", "journalflags": "1"}) {
		t.Errorf("backend %q %v", j.Backend, j.BackendOpts)
	}
	if j.Filter.LogType != "journal" {
		t.Errorf("logtype %q, want journal for the systemd backend", j.Filter.LogType)
	}
	if want := []LogPath{{"/var/log/a.log", false}, {"/var/log/b-*.log", true}}; !reflect.DeepEqual(j.LogPaths, want) {
		t.Errorf("logpaths %v", j.LogPaths)
	}
	if j.BanTime >= 0 {
		t.Errorf("bantime %v, want negative (permanent)", j.BanTime)
	}
	if want := []string{"127.0.0.1/8", "::1", "192.0.2.1", "198.51.100.0/24"}; !reflect.DeepEqual(j.IgnoreIP, want) {
		t.Errorf("ignoreip %q", j.IgnoreIP)
	}
	if j.UseDNS != "no" || j.IgnoreSelf || j.Port != "ssh,2222" || j.Protocol != "tcp" || j.BanAction != "iptables" {
		t.Errorf("usedns %q ignoreself %v port %q protocol %q banaction %q", j.UseDNS, j.IgnoreSelf, j.Port, j.Protocol, j.BanAction)
	}
	if j.Chain != "INPUT" {
		t.Errorf("chain %q, want INPUT (<known/chain> from the action)", j.Chain)
	}
	if len(j.Actions) != 2 {
		t.Fatalf("actions %+v", j.Actions)
	}
	ipt, mail := j.Actions[0], j.Actions[1]
	if ipt.Name != "iptables" || !reflect.DeepEqual(ipt.Params, map[string]string{"port": "ssh,2222", "protocol": "tcp", "chain": "<known/chain>"}) || !ipt.IsNative() {
		t.Errorf("banaction %+v", ipt)
	}
	if ipt.Options["actionban"] != "ipt <ip> INPUT" || ipt.Options["port"] != "ssh,2222" || ipt.ActName != "iptables" {
		t.Errorf("banaction options %v", ipt.Options)
	}
	if mail.Name != "mail" || mail.Params["dest"] != "admin@example.org" || mail.ActName != "mail-mail" || mail.IsNative() {
		t.Errorf("mail action %+v", mail)
	}
	if mail.Options["actionban"] != "mail admin@example.org" {
		t.Errorf("mail actionban %q", mail.Options["actionban"])
	}
	if j.Options["action_"] == "" || j.Options["fail2ban_version"] != Fail2banVersion {
		t.Errorf("options %v", j.Options)
	}
}

func TestDaemon(t *testing.T) {
	cfg := load(t, map[string]string{
		"fail2ban.conf":      "[Definition]\nloglevel = INFO\nsocket = /run/f.sock\ndbpurgeage = 1d\ndbmaxmatches = 10\n",
		"fail2ban.d/x.local": "[Definition]\nloglevel = DEBUG\ndbpurgeage = 2h\n",
		"jail.conf":          "[j]\n",
	})
	d := cfg.Daemon
	if d.LogLevel != "DEBUG" || d.Socket != "/run/f.sock" || d.DBPurgeAge != 2*time.Hour || d.DBMaxMatches != 10 ||
		d.PidFile != "/var/run/fail2ban/fail2ban.pid" || d.Options["loglevel"] != "DEBUG" {
		t.Errorf("daemon %+v", d)
	}
	if len(cfg.Jails) != 0 || len(cfg.Broken) != 0 {
		t.Errorf("disabled jail loaded: %v %v", cfg.Jails, cfg.Broken)
	}
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"jail.conf":       {Data: []byte("[j]\nenabled = true\nfilter = f\naction = a\nlogpath = %(fail2ban_confpath)s/x.log\n")},
		"filter.d/f.conf": {Data: []byte(simpleFilter)},
		"action.d/a.conf": {Data: []byte(simpleAction)},
	}
	cfg, err := Load(fsys, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != "embedded" {
		t.Errorf("dir %q", cfg.Dir)
	}
	j := jail(t, cfg, "j")
	if j.LogPaths[0].Pattern != "embedded/x.log" || j.Filter.FailRegex[0] != "^fail from <HOST>$" {
		t.Errorf("jail %+v", j)
	}
	if _, err := Load(fstest.MapFS{"x": {}}, "empty"); err == nil {
		t.Error("Load of a tree without jail files succeeded")
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("LoadDir(missing) = %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	name, p, err := ParseOptions(`act[a=1, b="x, y", c='z]'][d=4]`)
	if err != nil || name != "act" || !reflect.DeepEqual(p, map[string]string{"a": "1", "b": "x, y", "c": "z]", "d": "4"}) {
		t.Errorf("got %q %v %v", name, p, err)
	}
	if _, _, err := ParseOptions(`act[a=1, !!]`); err == nil {
		t.Error("bad syntax accepted")
	}
	got := splitWithOptions("a[x=1,\n y=\"p q\"]\n  b\nc [z=2] d")
	want := []string{"a[x=1,\n y=\"p q\"]", "b", "c [z=2]", "d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("split %q, want %q", got, want)
	}
}

func TestParseTime(t *testing.T) {
	ok := map[string]time.Duration{
		"600": 600 * time.Second, "10m": 10 * time.Minute, "1h": time.Hour,
		"1d 2h": 26 * time.Hour, "1w": 7 * 24 * time.Hour, "1mo": 2629800 * time.Second,
		"1y": 31557600 * time.Second, "-1": -time.Second, "1d12h": 36 * time.Hour,
		"1h+30min": 90 * time.Minute, "1year-6mo": 15778800 * time.Second,
		"2 hours": 2 * time.Hour, "0.5h": 30 * time.Minute, " 5 ": 5 * time.Second,
	}
	for in, want := range ok {
		got, err := ParseTime(in)
		if err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "10x", "1h garbage", "--1", "1e9y"} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want error", in, got)
		}
	}
}

func TestParseTimeAgainstFail2ban(t *testing.T) {
	oracle.Require(t, oracle.Python, "/usr/lib/python3/dist-packages/fail2ban/server/mytime.py")
	inputs := []string{"600", "10m", "1h", "1d 2h", "1w", "1mo", "1y", "-1", "3d12h", "1h+30min", "1year-6mo", "6 months", "45s", "2 weeks", "1da", "1we"}
	cmd := execPython(t, `import sys
from fail2ban.server.mytime import MyTime
for line in sys.stdin.read().split("\n"):
    if line: print(float(MyTime.str2seconds(line)))`, strings.Join(inputs, "\n"))
	lines := strings.Fields(cmd)
	if len(lines) != len(inputs) {
		t.Fatalf("python output %q", cmd)
	}
	for i, in := range inputs {
		got, err := ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		want, err := strconv.ParseFloat(lines[i], 64)
		if err != nil {
			t.Fatalf("python output %q: %v", lines[i], err)
		}
		if got.Seconds() != want {
			t.Errorf("ParseTime(%q) = %v (%v s), fail2ban %v s", in, got, got.Seconds(), want)
		}
	}
}
