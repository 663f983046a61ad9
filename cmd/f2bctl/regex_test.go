package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/benchlog"
	"github.com/f2bd/f2bd/internal/oracle"
	"github.com/f2bd/f2bd/pkg/filter"
)

const (
	f2bRegex    = oracle.Regex
	f2bPython   = oracle.Python
	f2bEtc      = oracle.StockDir
	f2bLogsDir  = oracle.Corpus
	oracleTZ    = "CET-01CEST-02,M3.5.0,M10.5.0"
	oracleClock = "1124013600"
)

func needOracle(t *testing.T) {
	t.Helper()
	oracle.Require(t, f2bRegex, f2bPython, f2bEtc, f2bLogsDir)
}

var linesRE = regexp.MustCompile(`(?m)^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed`)

// runRegexOracle runs fail2ban-regex with args in the test zone.
func runRegexOracle(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(f2bPython, append([]string{f2bRegex}, args...)...)
	cmd.Env = append(os.Environ(), "TZ="+oracleTZ)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func ours(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv("TZ", oracleTZ)
	var out, errb bytes.Buffer
	if rc := regexCommand(args, &out, &errb); rc != 0 {
		t.Fatalf("f2bctl regex %v: exit %d: %s", args, rc, errb.String())
	}
	return out.String()
}

// TestRegexCountsMatchFail2banRegex compares the summary counts with
// fail2ban-regex on real sample logs.
func TestRegexCountsMatchFail2banRegex(t *testing.T) {
	needOracle(t)
	for _, c := range []struct{ log, filter string }{
		{"sshd", "sshd"},
		{"sshd", "sshd[mode=aggressive]"},
		{"dovecot", "dovecot"},
		{"postfix", "postfix[mode=aggressive]"},
		{"nginx-http-auth", "nginx-http-auth"},
		{"apache-auth", "apache-auth"},
		{"asterisk", "asterisk"},
		{"exim", "exim"},
		{"guacamole", "guacamole"},
		{"courier-smtp", filepath.Join(f2bEtc, "filter.d", "courier-smtp.conf")},
	} {
		t.Run(strings.ReplaceAll(c.filter, "/", "_"), func(t *testing.T) {
			log := filepath.Join(f2bLogsDir, c.log)
			want := linesRE.FindString(runRegexOracle(t, log, c.filter))
			got := linesRE.FindString(ours(t, "-c", f2bEtc, log, c.filter))
			if want == "" || got != want {
				t.Errorf("%s on %s:\n got  %q\n want %q", c.filter, c.log, got, want)
			}
		})
	}
}

// TestRegexLiteral checks a literal line with a literal regex and ignoreregex.
func TestRegexLiteral(t *testing.T) {
	needOracle(t)
	line := "2005-08-14 12:00:00 login failed for bob from 192.0.2.1"
	for _, args := range [][]string{
		{line, `login failed for \S+ from <HOST>`},
		{line, `login failed for \S+ from <HOST>`, `for bob`},
		{line, `login failed for alice from <HOST>`},
	} {
		want := linesRE.FindString(runRegexOracle(t, args...))
		got := linesRE.FindString(ours(t, args...))
		if want == "" || got != want {
			t.Errorf("%q: got %q want %q", args, got, want)
		}
	}
}

// TestRegexJSON checks --json output: one object per failure with the
// date read in TZ and the clock set by --now.
func TestRegexJSON(t *testing.T) {
	t.Setenv("TZ", oracleTZ)
	out := ours(t, "--json", "--now", oracleClock, "Aug 14 11:58:59 host sshd[1]: x user=bob from 192.0.2.9",
		`user=<F-USER>\S+</F-USER> from <HOST>`)
	var got []jsonFailure
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var j jsonFailure
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		got = append(got, j)
	}
	// 11:58:59 CEST on 2005-08-14 is 09:58:59 UTC.
	if len(got) != 1 || got[0].FID != "192.0.2.9" || got[0].Time != 1124013539 || got[0].Groups["user"] != "bob" || got[0].Line != 1 {
		t.Errorf("got %+v", got)
	}
}

// crafted lines put an attacker-chosen address into the text a user
// controls; the failure id must be the real peer, as fail2ban finds it.
var crafted = []struct{ filter, line string }{
	{"sshd", "Aug 14 11:00:01 srv sshd[1]: Invalid user x from 203.0.113.9 from 198.51.100.8 port 22"},
	{"sshd", "Aug 14 11:00:02 srv sshd[2]: Failed password for invalid user x from 203.0.113.9 from 198.51.100.7 port 22 ssh2"},
	{"sshd[mode=aggressive]", "Aug 14 11:00:03 srv sshd[3]: Failed password for x from 203.0.113.9 port 1 ssh2 from 198.51.100.6 port 22 ssh2"},
	{"sshd", "Aug 14 11:00:04 srv sshd[4]: Failed none for invalid user  from 203.0.113.9 port 1 from 198.51.100.5 port 22 ssh2"},
	{"dovecot", "Aug 14 11:00:05 srv dovecot: auth: passwd-file(x rip=203.0.113.9,198.51.100.4): unknown user"},
	{"dovecot", "Aug 14 11:00:06 srv dovecot: pop3-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<x, rip=203.0.113.9>, method=PLAIN, rip=198.51.100.3, lip=192.0.2.1"},
	{"postfix", "Aug 14 11:00:07 srv postfix/smtpd[5]: NOQUEUE: reject: RCPT from unknown[198.51.100.2]: 550 5.1.1 <x@[203.0.113.9]>: Recipient address rejected: User unknown in local recipient table; from=<a from unknown[203.0.113.9]> to=<x> proto=ESMTP helo=<h>"},
	{"postfix[mode=aggressive]", "Aug 14 11:00:08 srv postfix/smtpd[6]: warning: unknown[198.51.100.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6 unknown[203.0.113.9]"},
	{"asterisk", "[2005-08-14 11:00:09] NOTICE[1] chan_sip.c: Registration from '\"x' failed for '203.0.113.9'\" <sip:1@h>' failed for '198.51.100.9:5060' - Wrong password"},
	{"asterisk", "[2005-08-14 11:00:10] SECURITY[1] res_security_log.c: SecurityEvent=\"InvalidPassword\",EventTV=\"1\",Severity=\"Error\",Service=\"SIP\",EventVersion=\"2\",AccountID=\"x\",RemoteAddress=\"IPV4/UDP/203.0.113.9/5060\",SessionID=\"1\",LocalAddress=\"IPV4/UDP/192.0.2.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.10/5060\",Challenge=\"1\""},
	{"nginx-http-auth", "2005/08/14 11:00:11 [error] 1#0: *1 user \"x, client: 203.0.113.9, server: a\" was not found in \"/p\", client: 198.51.100.11, server: h, request: \"GET / HTTP/1.1\", host: \"h\""},
	{"nginx-http-auth", "2005/08/14 11:00:12 [error] 1#0: *2 user \"x\": password mismatch, client: 198.51.100.12, server: h, request: \"GET /?client: 203.0.113.9, server: a HTTP/1.1\", host: \"h\""},
}

// TestCraftedLinesAgreeWithFail2ban runs each crafted line through
// fail2ban-regex and f2bctl regex: the failure ids must be the same, and
// the injected address must never be one of ours unless fail2ban bans it
// too (then the test reports the shared weakness but passes on equality).
func TestCraftedLinesAgreeWithFail2ban(t *testing.T) {
	needOracle(t)
	for _, c := range crafted {
		wantOut := strings.TrimSpace(runRegexOracle(t, "-o", "id", c.line, c.filter))
		var want []string
		for _, l := range strings.Split(wantOut, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				want = append(want, l)
			}
		}
		out := ours(t, "--json", "-c", f2bEtc, c.line, c.filter)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var j jsonFailure
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Fatalf("bad JSON %q: %v", l, err)
			}
			got = append(got, j.FID)
		}
		sort.Strings(got)
		sort.Strings(want)
		// fail2ban-regex -o id stops at the first failregex; keep ours unique.
		got = uniq(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: ids %v, fail2ban %v: %s", c.filter, got, want, c.line)
		}
		for _, id := range got {
			if id == "203.0.113.9" {
				t.Logf("%s: the injected address is the failure id (as in fail2ban): %s", c.filter, c.line)
			}
		}
	}
}

func uniq(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// TestRegexBatchesMatchLines: the batched run (matchBatches: dates on a
// reading goroutine, matching on the workers, finishing and counting on
// another goroutine, several batches in flight) writes what the line by
// line run writes (matchLines: ProcessLine), failure for failure and
// count for count, over a generated auth.log of many batches. Run with
// -race, it also checks that the dates and finish stages share nothing.
func TestRegexBatchesMatchLines(t *testing.T) {
	needOracle(t)
	lines := benchlog.Lines(t, "sshd")
	lines = lines[:min(len(lines), 60000)]
	text := strings.Join(lines, "\n") + "\n"
	run := func(batched bool) (string, tally) {
		opts := filter.Options{CheckAll: true, Now: func() time.Time { return time.Unix(1741000000, 0) }}
		if _, err := loadRegexFilter(f2bEtc, "sshd", &opts); err != nil {
			t.Fatal(err)
		}
		f, err := filter.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		tl := tally{f: f, json: true, enc: json.NewEncoder(&out), perRegex: make([]int, len(opts.FailRegex))}
		sc := bufio.NewScanner(strings.NewReader(text))
		if batched {
			err = matchBatches(f, sc, &tl)
		} else {
			err = matchLines(f, sc, &tl)
		}
		if err != nil {
			t.Fatal(err)
		}
		tl.f, tl.enc = nil, nil
		return out.String(), tl
	}
	want, wantT := run(false)
	got, gotT := run(true)
	if got != want {
		g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("failure %d differs:\n batched      %s\n line by line %s", i, g[i], w[i])
			}
		}
		t.Fatalf("batched: %d failures, line by line %d", len(g), len(w))
	}
	if !reflect.DeepEqual(gotT, wantT) {
		t.Fatalf("counts differ:\n batched      %+v\n line by line %+v", gotT, wantT)
	}
	if wantT.matched < 1000 || wantT.tested != len(lines) {
		t.Fatalf("%d lines tested, %d matched: the log did not exercise the filter", wantT.tested, wantT.matched)
	}
	t.Logf("%d lines: %d matched, %d ignored, %d missed", wantT.tested, wantT.matched, wantT.ignored, wantT.missed)
}
