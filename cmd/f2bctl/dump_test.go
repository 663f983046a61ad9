package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/oracle"
)

// writeFiles writes files (path relative to dir -> content).
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// decodeLines parses one JSON array per line.
func decodeLines(t testing.TB, data []byte) [][]any {
	t.Helper()
	var cmds [][]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var c []any
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("decode %q: %v", sc.Text(), err)
		}
		cmds = append(cmds, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

var configErrorJail = regexp.MustCompile(`^Jail '([^']+)' skipped, because of wrong configuration: `)

// normalize cuts config-error messages to fail2ban's fixed prefix: its
// reason and ours (which names the file, section and option) are worded
// differently.
func normalize(cmds [][]any) [][]any {
	out := make([][]any, len(cmds))
	for i, c := range cmds {
		out[i] = c
		if len(c) == 2 && c[0] == "config-error" {
			if m := configErrorJail.FindString(fmt.Sprint(c[1])); m != "" {
				out[i] = []any{"config-error", m}
			}
		}
	}
	return out
}

// byJail groups commands by the jail they concern ("" for the daemon's),
// keeping the jails in order of appearance. The final "start" commands
// are grouped with their jail too.
func byJail(cmds [][]any) (map[string][][]any, []string) {
	groups := map[string][][]any{}
	var order []string
	for _, c := range cmds {
		name := ""
		switch {
		case len(c) >= 2 && c[0] == "config-error":
			if m := configErrorJail.FindStringSubmatch(fmt.Sprint(c[1])); m != nil {
				name = m[1]
			}
		case len(c) == 2 && (c[0] == "add" || c[0] == "start"):
			name = fmt.Sprint(c[1])
		case len(c) >= 3 && c[0] == "add":
			name = fmt.Sprint(c[1])
		case len(c) >= 4 && (c[0] == "set" || c[0] == "multi-set"):
			name = fmt.Sprint(c[1])
		}
		if _, ok := groups[name]; !ok {
			order = append(order, name)
		}
		groups[name] = append(groups[name], c)
	}
	return groups, order
}

// short renders a command for a failure message.
func short(c []any) string {
	if c == nil {
		return "(none)"
	}
	b, _ := json.Marshal(c)
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// adminTree builds the test tree: the stock configuration with every jail
// of jail.conf enabled and the overrides admins write.
func adminTree(t testing.TB) (dir string, jails int) {
	t.Helper()
	dir = t.TempDir()
	oracle.CopyTree(t, oracle.StockDir, dir)
	logs := t.TempDir()
	writeFiles(t, logs, map[string]string{
		"auth.log":              "",
		"secure-1.log":          "",
		"secure-2.log":          "",
		".secure-hidden.log":    "",
		"nginx/a-error.log":     "",
		"nginx/b-error.log":     "",
		"nginx/access.log":      "",
		"apache/x/error.log":    "",
		"apache/y/error.log":    "",
		"apache/y/other.log":    "",
		"mail/dovecot.log":      "",
		"space dir/my log.txt":  "",
		"fail2ban-f2bd-test.lg": "",
	})
	if err := os.Symlink(filepath.Join(logs, "missing.log"), filepath.Join(logs, "dangling-1.log")); err != nil {
		t.Fatal(err)
	}
	names := oracle.StockJails(t)
	extra := map[string]string{
		"sshd": fmt.Sprintf(`mode = aggressive
backend = polling
maxretry = 3
logpath = %[1]s/auth.log
          %[1]s/secure-*.log tail
          %[1]s/dangling-*.log
action = nftables-multiport[name=ssh, port="ssh,2222", protocol=tcp]
         smtp.py[host="localhost:25", sendername='Fail2Ban "ü"', actname=mail]
`, logs),
		"nginx-http-auth": fmt.Sprintf("action = %%(action_mwl)s\nlogpath = %s/nginx/*error.log\nignoreself = false\nusedns = no\n", logs),
		"apache-auth":     fmt.Sprintf("logpath = %s/apache/*/error.log\nlogencoding = utf-8\n", logs),
		"dovecot": fmt.Sprintf("logpath = %s/mail/dovecot.log\nmaxlines = 2\ndatepattern = {^LN-BEG}%%%%Y-%%%%m-%%%%d\n"+
			"action = %%(action_)s\n         nftables-allports[name=dovecot-all, blocktype=drop]\n", logs),
		"postfix":     "maxmatches = lots\nignoreip = 10.0.0.0/8,10.1.0.0/16\n  fe80::/10\n",
		"pam-generic": "bantime = -1\nbantime.increment = false\n",
		"recidive":    fmt.Sprintf("logpath = %s/fail2ban-f2bd-test.lg\n", logs),
		"postfix-rbl": fmt.Sprintf("logpath = %s/space dir/my log.txt\n", logs),
	}
	var b strings.Builder
	b.WriteString(`[DEFAULT]
bantime = 1h
findtime = 30m
ignoreip = 127.0.0.1/8 ::1 192.0.2.0/24
banaction = nftables-multiport
banaction_allports = nftables-allports
bantime.increment = true
bantime.factor = 2
bantime.maxtime = 1w
bantime.rndtime = 10m
bantime.overalljails = true

`)
	for _, n := range names {
		fmt.Fprintf(&b, "[%s]\nenabled = true\n%s\n", n, extra[n])
	}
	fmt.Fprintf(&b, `[sshd-extra]
enabled = true
filter = sshd[mode=extra]
port = ssh
backend = systemd[journalflags=1]
logpath = %%(sshd_log)s
bantime = 2h

[f2bd-no-filter]
enabled = true
filter = f2bd-no-such-filter
port = 1234

[f2bd-no-action]
enabled = true
filter = sshd
action = f2bd-no-such-action[port=1]

[sshd-ddos]
enabled = true
filter = sshd[mode=ddos, maxlines=3]
port = ssh
logpath = %s/auth.log
`, logs)
	writeFiles(t, dir, map[string]string{
		"jail.local": b.String(),
		"filter.d/sshd.local": `[Definition]
failregex = %(known/failregex)s
            ^Extra test line for <F-USER>\S+</F-USER> from <HOST>$
`,
		"jail.d/10-admin.conf":   "[apache-auth]\nmaxretry = 7\n\n[recidive]\nbantime = 2w\n",
		"jail.d/20-admin.conf":   "[apache-auth]\nmaxretry = 8\nfindtime = 1h\n",
		"jail.d/admin.local":     "[recidive]\nbantime = 4w\n\n[apache-auth]\nfindtime = 2h\n",
		"fail2ban.local":         "[Definition]\nloglevel = NOTICE\ndbpurgeage = 7d\n",
		"fail2ban.d/thread.conf": "[Thread]\nstacksize = 128\n",
	})
	return dir, len(names) + 4
}

// TestDumpMatchesFail2banClient compares f2bctl -d with fail2ban-client -d
// on the stock tree with every jail enabled and the usual overrides,
// command by command and jail by jail.
func TestDumpMatchesFail2banClient(t *testing.T) {
	oracle.Require(t, oracle.StockDir, oracle.Python, oracle.Client)
	dir, nJails := adminTree(t)
	want := oracle.Commands(t, dir)
	var out bytes.Buffer
	if err := dumpConfig(dir, &out); err != nil {
		t.Fatal(err)
	}
	got := decodeLines(t, out.Bytes())
	got, want = normalize(got), normalize(want)

	wantJ, wantOrder := byJail(want)
	gotJ, gotOrder := byJail(got)
	if !reflect.DeepEqual(gotOrder, wantOrder) {
		t.Errorf("jail order differs:\n got %v\nwant %v", gotOrder, wantOrder)
	}
	identical, total, shown := 0, 0, 0
	for _, name := range wantOrder {
		if name == "" {
			continue
		}
		total++
		g, w := gotJ[name], wantJ[name]
		if reflect.DeepEqual(g, w) {
			identical++
			continue
		}
		if shown < 5 {
			shown++
			for i := 0; i < max(len(g), len(w)); i++ {
				var gc, wc []any
				if i < len(g) {
					gc = g[i]
				}
				if i < len(w) {
					wc = w[i]
				}
				if !reflect.DeepEqual(gc, wc) {
					t.Errorf("jail %s: command %d differs:\n got: %s\nwant: %s", name, i, short(gc), short(wc))
					break
				}
			}
		}
	}
	if !reflect.DeepEqual(gotJ[""], wantJ[""]) {
		t.Errorf("daemon commands differ:\n got: %v\nwant: %v", gotJ[""], wantJ[""])
	}
	// Whole streams, in order (the jail grouping above hides interleaving).
	if identical == total && !reflect.DeepEqual(got, want) {
		t.Errorf("command streams differ in order (%d vs %d commands)", len(got), len(want))
	}
	msg := fmt.Sprintf("config oracle: %d/%d jails identical (%d commands)", identical, total, len(want))
	t.Log(msg)
	fmt.Printf("%s\n", msg)
	if total != nJails {
		t.Errorf("%d jails in fail2ban's stream, want the %d enabled; wrong tree?", total, nJails)
	}
	if identical != total {
		t.Errorf("%d of %d jails differ from fail2ban-client -d", total-identical, total)
	}
}

// TestTestConfig checks f2bctl -t's verdicts against fail2ban-client -t
// and that its error lines name the file, section and option.
func TestTestConfig(t *testing.T) {
	oracle.Require(t, oracle.Python, oracle.Client)
	logs := t.TempDir()
	writeFiles(t, logs, map[string]string{"x.log": ""})
	base := map[string]string{
		"fail2ban.conf":   "[Definition]\nloglevel = INFO\n",
		"filter.d/f.conf": "[Definition]\nfailregex = ^fail <HOST>$\n",
		"action.d/a.conf": "[Definition]\nactionban = echo <ip>\n",
	}
	f2bTest := func(dir string) (string, bool) {
		out, err := exec.Command(oracle.Python, oracle.Client, "-c", dir, "-t").CombinedOutput()
		return string(out), err == nil
	}

	good := t.TempDir()
	writeFiles(t, good, base)
	writeFiles(t, good, map[string]string{"jail.conf": fmt.Sprintf(
		"[j]\nenabled = true\nfilter = f\naction = a\nlogpath = %s/x.log\n", logs)})
	var out bytes.Buffer
	if err := testConfig(good, &out); err != nil {
		t.Errorf("good tree: %v\n%s", err, out.String())
	}
	if out.String() != "OK: configuration test is successful\n" {
		t.Errorf("good tree output %q", out.String())
	}
	if msg, ok := f2bTest(good); !ok || !strings.Contains(msg, "OK: configuration test is successful") {
		t.Errorf("fail2ban-client -t disagrees on the good tree: %s", msg)
	}

	nolog := t.TempDir()
	writeFiles(t, nolog, base)
	writeFiles(t, nolog, map[string]string{"jail.conf": "[j]\nenabled = true\nfilter = f\naction = a\nlogpath = /nonexistent/f2bd/*.log\n"})
	out.Reset()
	if err := testConfig(nolog, &out); err == nil {
		t.Errorf("tree without log files passed: %s", out.String())
	}
	if want := nolog + "/jail.conf: [j] logpath: have not found any log file"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q does not contain %q", out.String(), want)
	}
	if msg, ok := f2bTest(nolog); ok {
		t.Errorf("fail2ban-client -t accepts the tree without log files: %s", msg)
	}

	bad := t.TempDir()
	writeFiles(t, bad, base)
	writeFiles(t, bad, map[string]string{
		"jail.conf": fmt.Sprintf("[DEFAULT]\nlogpath = %s/x.log\n[j]\nenabled = true\nfilter = ghost\naction = a\n"+
			"[k]\nenabled = true\nfilter = f\naction = a\nbantime = 3 eons\n[l]\nenabled = true\nfilter = f\naction = a\n", logs)})
	out.Reset()
	err := testConfig(bad, &out)
	if err == nil {
		t.Fatalf("broken tree passed: %s", out.String())
	}
	for _, want := range []string{
		bad + `/jail.conf: [j] filter: unable to read the filter "ghost"`,
		bad + `/jail.conf: [k] bantime: parse time "3 eons"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q does not contain %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "OK:") {
		t.Errorf("broken tree reported OK: %q", out.String())
	}
	if err := testConfig(filepath.Join(bad, "missing"), &out); err == nil {
		t.Error("missing directory passed")
	}
}

// TestDumpConfigErrors checks that dumpConfig fails on an unreadable tree.
func TestDumpConfigErrors(t *testing.T) {
	var out bytes.Buffer
	if err := dumpConfig(filepath.Join(t.TempDir(), "none"), &out); err == nil || !strings.Contains(err.Error(), "dump configuration") {
		t.Errorf("err %v", err)
	}
}
