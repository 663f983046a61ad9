package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/oracle"
)

// asJSON round-trips our commands through JSON, as f2bctl -d prints them.
func asJSON(t *testing.T, cmds [][]any) [][]any {
	t.Helper()
	data, err := json.Marshal(cmds)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var configErrPrefix = regexp.MustCompile(`^(Jail '[^']+' skipped, because of wrong configuration: )`)

// sameStream compares two command streams; config-error messages are
// compared up to fail2ban's fixed prefix (ours name file, section and
// option).
func sameStream(t *testing.T, got, want [][]any) {
	t.Helper()
	norm := func(cmds [][]any) [][]any {
		out := make([][]any, len(cmds))
		for i, c := range cmds {
			out[i] = c
			if len(c) == 2 && c[0] == "config-error" {
				if m := configErrPrefix.FindStringSubmatch(fmt.Sprint(c[1])); m != nil {
					out[i] = []any{"config-error", m[1]}
				}
			}
		}
		return out
	}
	g, w := norm(got), norm(want)
	for i := 0; i < max(len(g), len(w)); i++ {
		var gc, wc []any
		if i < len(g) {
			gc = g[i]
		}
		if i < len(w) {
			wc = w[i]
		}
		if !reflect.DeepEqual(gc, wc) {
			t.Fatalf("command %d differs:\n got: %v\nwant: %v", i, gc, wc)
		}
	}
}

// TestCommandsRulesAgainstFail2ban exercises the conversion rules one by
// one on a small tree and compares the whole stream with fail2ban's.
func TestCommandsRulesAgainstFail2ban(t *testing.T) {
	oracle.Require(t, oracle.Python, oracle.Client)
	logs := t.TempDir()
	for _, n := range []string{"b.log", "a.log", ".hidden.log", "c.txt"} {
		if err := os.WriteFile(filepath.Join(logs, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := writeTree(t, map[string]string{
		"fail2ban.conf": "[Definition]\nloglevel = DEBUG\ndbmaxmatches = many\n[Thread]\nstacksize = 32\n",
		// usedns/maxlines/prefregex go first, journalmatch is shlex-split,
		// an [Init] "pattern" is sent because of fail2ban's substring test.
		"filter.d/f.conf": `[Init]
pattern = x
maxlines = 4
[Definition]
_daemon = food
prefregex = ^%(_daemon)s <F-CONTENT>.+</F-CONTENT>$
failregex = ^fail <HOST>$
            ^again <HOST> <mode>
ignoreregex = ^ok <HOST>$
datepattern = {^LN-BEG}
usedns = no
mode = normal
journalmatch = _SYSTEMD_UNIT=food.service + "_COMM=foo d" 'MESSAGE=a b'
               _X=1\ 2
`,
		"filter.d/one.conf": "[Definition]\nfailregex = ^only <HOST>$\n",
		// bools are converted; [Init] values are sent unsubstituted.
		"action.d/a.conf": `[Definition]
actionstart_on_demand = yes
actionban = ban <ip> <port> <extra>
norestored = 1
[Init]
port = 0:65535
extra = <port>/x
`,
		// a single [Init] option gives a "set ... action" command.
		"action.d/solo.conf": "[Init]\nonly = 1\n",
		"jail.conf": fmt.Sprintf(`[DEFAULT]
backend = polling
ignoreip = 127.0.0.1/8, ::1
           10.0.0.0/8
[full]
enabled = true
filter = f[mode=more]
logpath = %[1]s/*.log tail
          %[1]s/c.txt
          %[1]s/none-*.log
maxretry = three
bantime.increment = on
ignoreself = false
action = a[port=22, extra="x, y"]
         a[name=other]
         solo
         smtp.py[host=h, actname=m]
[jailmax]
enabled = true
filter = one
maxlines = 2
usedns = raw
failregex = ^jail <HOST>$
[journal]
enabled = true
filter = f
backend = systemd
logpath = %[1]s/a.log
[nofilter]
enabled = true
filter = ghost
[noaction]
enabled = true
filter = one
action = phantom
[nofilterset]
enabled = true
[off]
enabled = false
`, logs),
	})
	want := oracle.Commands(t, dir)
	cfg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameStream(t, asJSON(t, cfg.Commands()), want)
	if len(want) < 30 {
		t.Errorf("only %d commands from fail2ban; tree not read?", len(want))
	}
}

// TestCheckNamesFileSectionOption checks that every error Check reports
// names the file, section and option at fault.
func TestCheckNamesFileSectionOption(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"filter.d/f.conf":      simpleFilter,
		"filter.d/loop.conf":   "[INCLUDES]\nbefore = loop2.conf\n[Definition]\nfailregex = ^x <HOST>$\n",
		"filter.d/loop2.conf":  "[INCLUDES]\nafter = loop.conf\n",
		"action.d/a.conf":      simpleAction,
		"jail.d/override.conf": "[badtime]\nbantime = 10 parsecs\n",
		"jail.conf": `[DEFAULT]
action = a
filter = f
[ok]
enabled = true
[nofilter]
enabled = true
filter = ghost
[noaction]
enabled = true
action = phantom
[interp]
enabled = true
ignoreip = %(trusted)s
[badtime]
enabled = true
bantime = 1h
[badfind]
enabled = true
findtime = 5 fortnights
[nolog]
enabled = true
logpath = /nonexistent/f2bd-test/*.log
[loop]
enabled = true
filter = loop
`,
	})
	cfg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	jailConf, override := dir+"/jail.conf", dir+"/jail.d/override.conf"
	want := map[string][]string{
		"nofilter": {jailConf, "[nofilter]", "filter", `"ghost"`},
		"noaction": {jailConf, "[noaction]", "action", `"phantom"`},
		"interp":   {jailConf, "[interp]", `"ignoreip"`, "%(trusted)s"},
		"badtime":  {override, "[badtime]", "bantime", "parsecs"},
		"badfind":  {jailConf, "[badfind]", "findtime", "fortnights"},
		"nolog":    {jailConf, "[nolog]", "logpath", "have not found any log file"},
	}
	errs := cfg.Check()
	got := map[string]string{}
	for _, e := range errs {
		var je *JailError
		if !errors.As(e, &je) {
			t.Fatalf("%v is not a *JailError", e)
		}
		got[je.Jail] = e.Error()
	}
	for jail, frags := range want {
		msg, ok := got[jail]
		if !ok {
			t.Errorf("no error for jail %s (errors %v)", jail, errs)
			continue
		}
		for _, f := range frags {
			if !strings.Contains(msg, f) {
				t.Errorf("jail %s: error %q does not mention %q", jail, msg, f)
			}
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	// The include loop is cut, as fail2ban does, with a warning naming
	// the file and the [INCLUDES] option.
	var loopWarn string
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "include loop") {
			loopWarn = w
		}
	}
	if !strings.Contains(loopWarn, dir+"/filter.d/loop2.conf: [INCLUDES] after") {
		t.Errorf("include loop warning %q, want one naming loop2.conf [INCLUDES] after (warnings %q)", loopWarn, cfg.Warnings)
	}
	if j := jail(t, cfg, "loop"); !reflect.DeepEqual(j.Filter.FailRegex, []string{"^x <HOST>$"}) {
		t.Errorf("loop jail failregex %q", j.Filter.FailRegex)
	}
}

// TestHandWrittenMatchersAgreeWithRegexps checks the hand-written scanners
// used on the hot path against the regular expressions they replace.
func TestHandWrittenMatchersAgreeWithRegexps(t *testing.T) {
	inputs := []string{
		"", "a", "[x]", "[]", "[]]", "[a] ; c", "[a]b]", "[[a]]", "x = y", "x: y = z", "a=b:c",
		"  key   =   value  ", "key=", "=v", "k\t:\tv", "no delimiter",
		"%(a/b)s", "%(a/b)", "%(a/b)x %(c-d/e f)s", "%(%(k/x)s", "%(known/port)s,%(default/x)s",
		"x %(a/)s %(/b)s %(a/b/c)s", "<a>", "<>", "<a b>", "<a<b>>", "x <known/chain> <ip> <<x>",
		"<F-USER>.*</F-USER>", "<a\nb>", "%(Sec/Opt)s", "% (a/b)s",
		"Init?family=inet6", "addr_set?family=inet6", "a?", "?x", "a b?c", "a?b\nc", "a?\n", "a-b?c",
		"a??", "_?\xff", "\xc3\xa9?x", "Init?", "x?y?z",
		"known/chain", "default/x", "a-b_c/d/e", "a/b c", "a/b>", "a b/c", "/x", "x/", "é/x", "x/\xff", "x/\t", "x/\v",
		"Known/Port", "a/b\n",
	}
	for _, in := range inputs {
		if m, got := conditionalSection.FindStringSubmatch(in), conditionalMatch(in); !reflect.DeepEqual(m, got) {
			t.Errorf("conditional name %q: regexp %q, scanner %q", in, m, got)
		}
		if strings.Contains(in, "\n") {
			continue
		}
		m := sectionHeader.FindStringSubmatch(in)
		name, ok := matchSectionHeader(in)
		if (m != nil) != ok || ok && m[1] != name {
			t.Errorf("section header %q: regexp %q, scanner %q %v", in, m, name, ok)
		}
		if m, got := optionLine.FindStringSubmatch(in), matchOptionLine(in); !reflect.DeepEqual(m, got) {
			t.Errorf("option line %q: regexp %q, scanner %q", in, m, got)
		}
	}
	tagRe := regexp.MustCompile(`<([^ <>]+)>`)
	for _, in := range inputs {
		var want, got [][2]string
		for _, m := range sectionOptRef.FindAllStringSubmatch(in, -1) {
			want = append(want, [2]string{m[1], m[2]})
		}
		got = sectionOptRefs(in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("section/option refs in %q: scanner %q, regexp %q", in, got, want)
		}
		m := sectionOptName.FindStringSubmatch(in)
		sec, opt, ok := splitSectionOpt(in)
		if (m != nil) != ok || ok && (m[1] != sec || m[2] != opt) {
			t.Errorf("section/option name %q: regexp %q, scanner %q %q %v", in, m, sec, opt, ok)
		}
		loc := tagRe.FindStringIndex(in)
		s, e, ok := findTag(in, 0)
		if (loc != nil) != ok || ok && (loc[0] != s || loc[1] != e) {
			t.Errorf("tag in %q: regexp %v, scanner %d %d %v", in, loc, s, e, ok)
		}
	}
}

// TestShlexAndGlobAgainstPython compares shlexSplit and pyGlob with
// Python's shlex.split and fail2ban's glob use.
func TestShlexAndGlobAgainstPython(t *testing.T) {
	oracle.Require(t, oracle.Python)
	lines := []string{
		`_SYSTEMD_UNIT=sshd.service + _COMM=sshd`,
		`"a b" 'c d' e\ f`, `x"y z"w`, `"esc \" \\ \n" 'raw \n'`, `''`, `a  b	c`,
	}
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(l + "\x00")
	}
	out := execPython(t, `import json, shlex, sys
print(json.dumps([shlex.split(l) for l in sys.stdin.read().split('\0')[:-1]]))`, in.String())
	var want [][]string
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		got := shlexSplit(l)
		if len(got) == 0 && len(want[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("shlex %q: got %q, want %q", l, got, want[i])
		}
	}

	dir := t.TempDir()
	for _, n := range []string{"a.log", "b.log", ".h.log", "x[1].log", "d1/e.log", "d2/e.log", "d2/.f.log", "-z"} {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.log")); err != nil {
		t.Fatal(err)
	}
	patterns := []string{"*.log", ".*", "[ab].log", "[!a].log", "x[[]1].log", "d*/e.log", "d?/*", "*/e.log",
		"a.log", "none.log", "[z-a].log", "[.log", "*", "[-z]*", "d1/", "dangling.log"}
	var pin strings.Builder
	for _, p := range patterns {
		pin.WriteString(filepath.Join(dir, p) + "\x00")
	}
	out = execPython(t, `import glob, json, os, sys
print(json.dumps([[p for p in glob.glob(l) if os.path.exists(p)] for l in sys.stdin.read().split('\0')[:-1]]))`, pin.String())
	var wantG [][]string
	if err := json.Unmarshal([]byte(out), &wantG); err != nil {
		t.Fatal(err)
	}
	for i, p := range patterns {
		got := pyGlob(filepath.Join(dir, p))
		if len(got) == 0 && len(wantG[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, wantG[i]) {
			t.Errorf("glob %q: got %q, want %q", p, got, wantG[i])
		}
	}
}

// TestCommandsOfHandBuiltConfig renders a Config not read by Load (typed
// fields and Options only).
func TestCommandsOfHandBuiltConfig(t *testing.T) {
	cfg := &Config{
		Daemon: Daemon{LogLevel: "INFO", LogTarget: "STDOUT", DBFile: ":memory:",
			Options: map[string]string{"dbpurgeage": "1d"}},
		Jails: []*Jail{{Name: "j", Enabled: true,
			Filter:  &Filter{Name: "f", Options: map[string]string{"failregex": "^a <HOST>$\n^b <HOST>$"}},
			Options: map[string]string{"backend": "auto", "maxretry": "3", "ignoreself": "true"},
			Actions: []Action{{Name: "a", ActName: "a", Options: map[string]string{"actionban": "ban <ip>"},
				OptionOrder: []string{"actionban"}}}}},
	}
	want := [][]any{
		{"set", "syslogsocket", "auto"}, {"set", "loglevel", "INFO"}, {"set", "logtarget", "STDOUT"},
		{"set", "allowipv6", "auto"}, {"set", "dbfile", ":memory:"}, {"set", "dbpurgeage", "1d"},
		{"add", "j", "auto"},
		{"multi-set", "j", "addfailregex", []any{"^a <HOST>$", "^b <HOST>$"}},
		{"set", "j", "maxretry", 3}, {"set", "j", "ignoreself", true},
		{"set", "j", "addaction", "a"}, {"set", "j", "action", "a", "actionban", "ban <ip>"},
		{"start", "j"},
	}
	if got := cfg.Commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands\n got %v\nwant %v", got, want)
	}
}
