package integration

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// E2E parameters, matching the jail.local the test writes.
const (
	e2eBantime  = 15 * time.Second
	e2eMaxretry = 3
	// e2eBanWithin bounds the time from the last failure line to the ban.
	e2eBanWithin = 10 * time.Second
)

// e2eJailLocal enables the stock sshd jail on the harness's auth.log.
const e2eJailLocal = `# written by the f2bd integration test
[sshd]
enabled = true
backend = auto
logpath = %s
maxretry = %d
findtime = 10m
bantime = %ds
banaction = nftables-multiport
ignoreip = 127.0.0.1/8 ::1
`

// f2bdDaemon is a running f2bd and the means to talk to it.
type f2bdDaemon struct {
	Proc   *Proc
	ctl    string // f2bctl binary
	sock   string // control socket
	netns  string // namespace it runs in
	config string // configuration directory
}

// Ctl runs "f2bctl -s SOCK args..." in the daemon's namespace, bounded by
// 10 s, and returns its combined output.
func (d *f2bdDaemon) Ctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := nsCommand(ctx, d.netns, d.ctl, append([]string{"-s", d.sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("f2bctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// f2bdSetup is where an f2bd of a test keeps its configuration, state and
// control socket; several runs of f2bd may share it (restarts).
type f2bdSetup struct {
	f2bd, f2bctl string
	config       string // configuration directory
	state        string // state directory
	sock         string // control socket
}

// newF2BDSetup writes a configuration (a copy of /etc/fail2ban plus
// jailLocal as jail.local) and makes an empty state directory.
func newF2BDSetup(t testing.TB, f2bd, f2bctl, jailLocal string) *f2bdSetup {
	t.Helper()
	dir := t.TempDir()
	s := &f2bdSetup{
		f2bd:   f2bd,
		f2bctl: f2bctl,
		config: filepath.Join(dir, "fail2ban"),
		state:  filepath.Join(dir, "state"),
		sock:   filepath.Join(dir, "f2bd.sock"),
	}
	if err := copyTree("/etc/fail2ban", s.config); err != nil {
		t.Fatalf("copy /etc/fail2ban: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.config, "jail.local"), []byte(jailLocal), 0o644); err != nil {
		t.Fatalf("write jail.local: %v", err)
	}
	if err := os.Mkdir(s.state, 0o700); err != nil {
		t.Fatalf("make state directory: %v", err)
	}
	return s
}

// startF2BD writes a configuration (see newF2BDSetup), starts f2bd in
// namespace ns and waits until it answers ping.
func startF2BD(t testing.TB, ns, f2bd, f2bctl, jailLocal string) *f2bdDaemon {
	t.Helper()
	return newF2BDSetup(t, f2bd, f2bctl, jailLocal).start(t, ns)
}

// start runs f2bd on the setup in namespace ns and waits until it answers
// ping. On test failure f2bd's output is logged.
func (s *f2bdSetup) start(t testing.TB, ns string) *f2bdDaemon {
	t.Helper()
	d := &f2bdDaemon{ctl: s.f2bctl, sock: s.sock, netns: ns, config: s.config}
	// Registered before the process so that it runs after the process was
	// stopped, with its complete output.
	t.Cleanup(func() {
		if t.Failed() && d.Proc != nil {
			t.Logf("f2bd stdout:\n%s\nf2bd stderr:\n%s", d.Proc.Stdout, d.Proc.Stderr)
		}
	})
	d.Proc = startProc(t, ns, "f2bd", nil, s.f2bd, "-c", s.config, "-s", s.sock, "--state-dir", s.state)
	var last string
	ok := waitFor(20*time.Second, 200*time.Millisecond, func() bool {
		if done, err := d.Proc.Exited(); done {
			t.Fatalf("f2bd exited before answering ping: %v\n%s", err, d.Proc.Stderr)
		}
		out, err := d.Ctl("ping")
		last = out
		return err == nil && strings.Contains(out, "Server replied: pong")
	})
	if !ok {
		t.Fatalf("f2bd did not answer ping within 20 s; last f2bctl output:\n%s", last)
	}
	return d
}

// copyTree copies the regular files and directories under src to dst
// (symbolic links are followed).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return fmt.Errorf("copy %s: %w", path, err)
		}
		return out.Close()
	})
}

// bannedRE finds the sshd jail's list in "f2bctl banned" output such as
// [{'sshd': ['192.0.2.2']}].
var (
	bannedRE = regexp.MustCompile(`'sshd':\s*\[([^\]]*)\]`)
	quotedRE = regexp.MustCompile(`'([^']*)'`)
)

// parseBanned returns the addresses listed for jail sshd.
func parseBanned(out string) ([]string, error) {
	m := bannedRE.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("no 'sshd' jail in %q", out)
	}
	var addrs []string
	for _, q := range quotedRE.FindAllStringSubmatch(m[1], -1) {
		addrs = append(addrs, q[1])
	}
	return addrs, nil
}

// e2eFamily is one address family's share of the end-to-end scenario.
type e2eFamily struct {
	name          string
	set           string
	attacker, inn netip.Addr
	server        netip.Addr
}

// TestSSHDBanE2E runs f2bd with the stock sshd jail against real failed SSH
// logins and checks that the attacker, and only the attacker, is banned in
// the kernel for bantime, over IPv4 and IPv6.
func TestSSHDBanE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	start := time.Now()
	tp := newTopology(t)
	sshd := startSSHD(t, tp, t.TempDir())
	jail := fmt.Sprintf(e2eJailLocal, sshd.LogPath, e2eMaxretry, int(e2eBantime/time.Second))
	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, jail)
	t.Logf("f2bd answers ping %v after start", time.Since(start).Round(time.Millisecond))

	fams := []e2eFamily{
		{name: "IPv4", set: "f2b-sshd-v4", attacker: tp.AtkV4, inn: tp.InnocV4, server: tp.SrvV4},
		{name: "IPv6", set: "f2b-sshd-v6", attacker: tp.AtkV6, inn: tp.InnocV6, server: tp.SrvV6},
	}

	// The jail's table and sets exist once f2bd is ready (possibly a moment
	// after the control socket answers).
	if !waitFor(5*time.Second, 200*time.Millisecond, func() bool {
		rs := nftJSON(t, tp.Srv)
		return rs.Set("inet", "f2b", fams[0].set) != nil && rs.Set("inet", "f2b", fams[1].set) != nil
	}) {
		t.Fatalf("table inet f2b with sets %s and %s not created; ruleset: %+v",
			fams[0].set, fams[1].set, nftJSON(t, tp.Srv))
	}
	// Before any failure both attacker addresses reach sshd.
	for _, f := range fams {
		if r := dial(t, tp.Atk, f.attacker, f.server, 22, 2*time.Second); r != DialConnected {
			t.Fatalf("%s: before the attack %s -> %s:22 %s, want connected", f.name, f.attacker, f.server, r)
		}
	}

	// maxretry failed logins from each attacker address, all in parallel.
	// The ground truth is sshd's log, not the clients' exit codes: a ban may
	// already cut the last client off.
	var attempts []SSHAttempt
	for _, f := range fams {
		for range e2eMaxretry {
			attempts = append(attempts, SSHAttempt{User: "nobody", Src: f.attacker, Dst: f.server})
		}
	}
	attackStart := time.Now()
	attackCtx, cancelAttacks := context.WithCancel(context.Background())
	t.Cleanup(cancelAttacks) // no client outlives the test
	codes := make(chan string, len(attempts))
	for _, a := range attempts {
		go func() {
			code, out, err := tp.sshAttempt(attackCtx, a)
			codes <- fmt.Sprintf("%s: exit %d err %v %s", a.Src, code, err, strings.TrimSpace(out))
		}()
	}
	for _, f := range fams {
		re := regexp.MustCompile(`^Failed password for nobody from ` + regexp.QuoteMeta(f.attacker.String()) + ` port \d+ ssh2$`)
		if !sshd.WaitLine(t, re, e2eMaxretry, 20*time.Second) {
			t.Fatalf("%s: sshd did not log %d failures from %s:\n%s", f.name, e2eMaxretry, f.attacker, joinLines(sshd.Lines()))
		}
	}
	lastFailure := time.Now()
	t.Logf("%d failures per address logged after %v", e2eMaxretry, lastFailure.Sub(attackStart).Round(time.Millisecond))

	// The kernel set gets each attacker, with a timeout of at most bantime.
	for _, f := range fams {
		var el *SetElem
		waitFor(e2eBanWithin, 100*time.Millisecond, func() bool {
			el = nftJSON(t, tp.Srv).Set("inet", "f2b", f.set).Elem(f.attacker)
			return el != nil
		})
		if el == nil {
			t.Fatalf("%s: %s not in inet f2b %s within %v of the last failure; set: %+v",
				f.name, f.attacker, f.set, e2eBanWithin, nftJSON(t, tp.Srv).Set("inet", "f2b", f.set))
		}
		t.Logf("%s: %s banned %v after the last failure line (timeout %v, expires %v)",
			f.name, f.attacker, time.Since(lastFailure).Round(time.Millisecond), el.Timeout, el.Expires)
		if el.Expires <= 0 || el.Expires > e2eBantime {
			t.Errorf("%s: element %s expires in %v, want 0 < expires <= %v", f.name, f.attacker, el.Expires, e2eBantime)
		}
		if el.Timeout > e2eBantime {
			t.Errorf("%s: element %s has timeout %v, want <= %v", f.name, f.attacker, el.Timeout, e2eBantime)
		}
		if nftJSON(t, tp.Srv).Set("inet", "f2b", f.set).Elem(f.inn) != nil {
			t.Errorf("%s: innocent %s is in the set", f.name, f.inn)
		}
	}

	// The ban works on the wire: the attacker is rejected or dropped, the
	// innocent address on the same host still connects.
	for _, f := range fams {
		if r := dial(t, tp.Atk, f.attacker, f.server, 22, time.Second); r == DialConnected {
			t.Errorf("%s: banned %s -> %s:22 connected", f.name, f.attacker, f.server)
		}
		if r := dial(t, tp.Atk, f.inn, f.server, 22, 2*time.Second); r != DialConnected {
			t.Errorf("%s: innocent %s -> %s:22 %s, want connected", f.name, f.inn, f.server, r)
		}
	}

	// The control interface agrees.
	out, err := d.Ctl("banned")
	if err != nil {
		t.Errorf("f2bctl banned: %v", err)
	} else if got, err := parseBanned(out); err != nil {
		t.Errorf("f2bctl banned: %v", err)
	} else {
		for _, f := range fams {
			if !slices.Contains(got, f.attacker.String()) {
				t.Errorf("f2bctl banned lists %v, want %s in it", got, f.attacker)
			}
			if slices.Contains(got, f.inn.String()) {
				t.Errorf("f2bctl banned lists the innocent %s: %v", f.inn, got)
			}
		}
	}
	// Every ssh client has ended by now (each is bounded by 20 s).
	for range attempts {
		select {
		case c := <-codes:
			t.Logf("attempt %s", c)
		case <-time.After(25 * time.Second):
			t.Fatal("an ssh attempt did not end")
		}
	}

	// After bantime the kernel removes the elements by itself and the
	// attackers connect again.
	for _, f := range fams {
		if !waitFor(e2eBantime+5*time.Second-time.Since(lastFailure), 250*time.Millisecond, func() bool {
			return nftJSON(t, tp.Srv).Set("inet", "f2b", f.set).Elem(f.attacker) == nil
		}) {
			t.Fatalf("%s: %s still in %s %v after the last failure (bantime %v)",
				f.name, f.attacker, f.set, time.Since(lastFailure).Round(time.Second), e2eBantime)
		}
		t.Logf("%s: %s gone from the set %v after the last failure line", f.name, f.attacker, time.Since(lastFailure).Round(time.Millisecond))
		if r := waitDial(t, tp.Atk, f.attacker, f.server, 22, DialConnected, 3*time.Second); r != DialConnected {
			t.Errorf("%s: after the ban expired %s -> %s:22 %s, want connected", f.name, f.attacker, f.server, r)
		}
	}

	// SIGTERM stops f2bd cleanly and leaves its table (bans survive restarts).
	if err := d.Proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Proc.WaitExit(10 * time.Second); err != nil {
		t.Errorf("f2bd after SIGTERM: %v", err)
	}
	rs := nftJSON(t, tp.Srv)
	if !rs.Table("inet", "f2b") {
		t.Errorf("table inet f2b gone after f2bd stopped; tables: %+v", rs.Tables)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
