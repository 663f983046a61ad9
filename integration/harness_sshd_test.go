package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// fail2banRegex is the reference implementation used as an oracle. It runs
// under the system Python, where Debian installed the fail2ban modules (a
// python3 earlier in PATH may lack them).
const (
	fail2banRegex  = "/usr/bin/fail2ban-regex"
	fail2banPython = "/usr/bin/python3"
)

// authLine matches a line the harness wrote to auth.log.
var authLine = regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) srv sshd\[(\d+)\]: (.*)$`)

// TestHarnessSSHD proves the harness without f2bd: a real sshd in a
// namespace, real failed logins from another namespace, an auth.log that the
// stock fail2ban sshd filter (run by fail2ban-regex) reads correctly, TCP
// reachability, and an untouched host ruleset.
func TestHarnessSSHD(t *testing.T) {
	t.Parallel()
	requireHarness(t, fail2banPython, fail2banRegex)
	guardHostRuleset(t)
	start := time.Now()
	tp := newTopology(t)
	dir := t.TempDir()
	sshd := startSSHD(t, tp, dir)
	t.Logf("topology and sshd up in %v (listener pid %d)", time.Since(start).Round(time.Millisecond), sshd.PID)

	// Three failed passwords from 192.0.2.2 (an existing user, root, and the
	// existing user again) and one unknown user over IPv6, all in parallel.
	attackStart := time.Now()
	tp.sshFailAll(t,
		SSHAttempt{User: "nobody", Src: tp.AtkV4, Dst: tp.SrvV4},
		SSHAttempt{User: "root", Src: tp.AtkV4, Dst: tp.SrvV4},
		SSHAttempt{User: "nobody", Src: tp.AtkV4, Dst: tp.SrvV4},
		SSHAttempt{User: "f2b-no-such-user", Src: tp.AtkV6, Dst: tp.SrvV6},
	)
	t.Logf("4 parallel failed logins took %v", time.Since(attackStart).Round(time.Millisecond))
	// The connection-closed lines come last; wait for them so the log is complete.
	if !sshd.WaitLine(t, regexp.MustCompile(`^Connection closed by .* \[preauth\]$`), 4, 10*time.Second) {
		t.Fatalf("sshd did not log 4 closed connections:\n%s", joinLines(sshd.Lines()))
	}

	data, err := os.ReadFile(sshd.LogPath)
	if err != nil {
		t.Fatalf("read auth.log: %v", err)
	}
	log := string(data)
	t.Logf("auth.log:\n%s", log)

	// Every line is in syslog form with a plausible time stamp.
	failPID := map[string]string{} // "addr port" -> PID of the Failed line
	pidCount := map[string]int{}
	failedRE := regexp.MustCompile(`^Failed password for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2$`)
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		m := authLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("auth.log line not in syslog form: %q", line)
			continue
		}
		ts, err := time.ParseInLocation(time.Stamp, m[1], time.Local)
		if err != nil {
			t.Errorf("bad time stamp in %q: %v", line, err)
			continue
		}
		now := time.Now()
		ts = ts.AddDate(now.Year(), 0, 0)
		if ts.Sub(now) > 180*24*time.Hour { // logged in December, read in January
			ts = ts.AddDate(-1, 0, 0)
		}
		if d := now.Sub(ts); d < -time.Minute || d > 5*time.Minute {
			t.Errorf("time stamp %q is not current (now %s)", m[1], now.Format(time.Stamp))
		}
		if f := failedRE.FindStringSubmatch(m[3]); f != nil {
			failPID[f[2]+" port "+f[3]] = m[2]
			pidCount[m[2]]++
		}
	}
	// One "Failed password" line per attempt, each under its own connection
	// PID (as in a real auth.log), never under the listener's.
	if len(failPID) != 4 {
		t.Errorf("got %d Failed password lines (by endpoint), want 4: %v", len(failPID), failPID)
	}
	for ep, pid := range failPID {
		if pid == fmt.Sprint(sshd.PID) {
			t.Errorf("failure from %s logged under the listener PID %s, want the connection's PID", ep, pid)
		}
		if pidCount[pid] != 1 {
			t.Errorf("PID %s used by %d failed connections, want 1", pid, pidCount[pid])
		}
		// The same connection's closing line carries the same PID.
		closed := regexp.MustCompile(`sshd\[(\d+)\]: Connection closed by .* ` + regexp.QuoteMeta(ep) + ` \[preauth\]`)
		if m := closed.FindStringSubmatch(log); m == nil || m[1] != pid {
			t.Errorf("closing line of %s has PID %v, want %s", ep, m, pid)
		}
	}
	for _, want := range []string{
		"Failed password for nobody from 192.0.2.2 port ",
		"Failed password for root from 192.0.2.2 port ",
		"Invalid user f2b-no-such-user from 2001:db8::2 port ",
		"Failed password for invalid user f2b-no-such-user from 2001:db8::2 port ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("auth.log lacks %q", want)
		}
	}

	// Oracle: the stock fail2ban sshd filter. One failure per attempt for
	// existing users (and root); an unknown user counts twice ("Invalid
	// user" and "Failed password for invalid user").
	got := fail2banRegexIPs(t, sshd.LogPath, "/etc/fail2ban/filter.d/sshd.conf")
	want := map[string]int{"192.0.2.2": 3, "2001:db8::2": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fail2ban-regex failures per address = %v, want %v", got, want)
	}

	// The innocent address reaches sshd; so does the attacker (no ban here).
	if r := dial(t, tp.Atk, tp.InnocV4, tp.SrvV4, 22, 2*time.Second); r != DialConnected {
		t.Errorf("dial 192.0.2.3 -> 192.0.2.1:22: %s, want connected", r)
	}
	if r := dial(t, tp.Atk, tp.InnocV6, tp.SrvV6, 22, 2*time.Second); r != DialConnected {
		t.Errorf("dial 2001:db8::3 -> [2001:db8::1]:22: %s, want connected", r)
	}
	// A closed port is refused, which shows dial tells refusal from success.
	if r := dial(t, tp.Atk, tp.InnocV4, tp.SrvV4, 23, 2*time.Second); r != DialRefused {
		t.Errorf("dial 192.0.2.3 -> 192.0.2.1:23: %s, want refused", r)
	}
	// The server namespace has no ruleset at all.
	if rs := nftJSON(t, tp.Srv); len(rs.Tables) != 0 {
		t.Errorf("server namespace has tables %v, want none", rs.Tables)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// fail2banRegexIPs runs fail2ban-regex on logPath with filter and returns the
// number of failures it found per address.
func fail2banRegexIPs(t testing.TB, logPath, filter string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fail2banPython, fail2banRegex, "-r", "-o", "ip", logPath, filter)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex %s %s: %v\n%s", logPath, filter, err, out)
	}
	counts := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		counts[l]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("fail2ban-regex -o ip: %v", keys)
	return counts
}
