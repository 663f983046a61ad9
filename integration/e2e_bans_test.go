package integration

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bulk of TestBanEngineE2E. IPv4 bans come from 198.18.0.0/15, the
// range set aside for benchmarks (RFC 2544): the documentation ranges
// hold only 768 addresses. The addresses only ever sit in sets of a
// namespace the test made; no packet is sent to them.
const (
	bulkV4 = 100_000
	bulkV6 = 20_000
)

func bulkAddrs() []string {
	addrs := make([]string, 0, bulkV4+bulkV6)
	for i := 1; i <= bulkV4; i++ {
		addrs = append(addrs, netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}).String())
	}
	for i := 1; i <= bulkV6; i++ {
		addrs = append(addrs, fmt.Sprintf("2001:db8:1::%x", i))
	}
	return addrs
}

// CtlStdin runs f2bctl with stdin, bounded by a minute.
func (d *f2bdDaemon) CtlStdin(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := nsCommand(ctx, d.netns, d.ctl, append([]string{"-s", d.sock}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("f2bctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// mustCtl runs f2bctl and fails the test on an error.
func (d *f2bdDaemon) mustCtl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Ctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// logLine returns the last line of log that contains s.
func logLine(log, s string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return "(no line with " + s + ")"
}

// setCount counts the elements of a set of table inet f2b in namespace ns.
func setCount(t testing.TB, ns, set string) int {
	t.Helper()
	s := nftJSON(t, ns).Set("inet", "f2b", set)
	if s == nil {
		return -1
	}
	return len(s.Elems)
}

func wantCounts(t testing.TB, ns, when string, v4, v6 int) {
	t.Helper()
	rs := nftJSON(t, ns)
	count := func(set string) int {
		if s := rs.Set("inet", "f2b", set); s != nil {
			return len(s.Elems)
		}
		return -1
	}
	if got4, got6 := count("f2b-sshd-v4"), count("f2b-sshd-v6"); got4 != v4 || got6 != v6 {
		t.Fatalf("%s: kernel holds %d IPv4 and %d IPv6 bans, want %d and %d", when, got4, got6, v4, v6)
	}
}

const banEngineJails = `[DEFAULT]
banaction = nftables-multiport
logpath = %s
filter = sshd
port = ssh

[sshd]
enabled = true
bantime = 1h

[perm]
enabled = true
bantime = -1

[short]
enabled = true
bantime = 2

[incr]
enabled = true
bantime = 2
bantime.increment = true
bantime.factor = 1
`

// TestBanEngineE2E checks the ban engine on the real kernel: bulk bans in
// one command, bans that survive kill -9, a restart that changes nothing,
// a flushed ruleset that comes back, a fresh namespace (a reboot) that
// gets every ban back with its remaining time, refresh on re-ban, unban of
// an expired ban, permanent bans and bantime.increment.
func TestBanEngineE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	logFile := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	setup := newF2BDSetup(t, f2bdBin, f2bctlBin, fmt.Sprintf(banEngineJails, logFile))
	d := setup.start(t, tp.Srv)

	// 100k IPv4 + 20k IPv6 through one "banip -"; it returns once the
	// kernel has them.
	addrs := bulkAddrs()
	start := time.Now()
	out, err := d.CtlStdin(strings.Join(addrs, "\n")+"\n", "set", "sshd", "banip", "-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("banip - of %d addresses: %v", len(addrs), time.Since(start).Round(time.Millisecond))
	if strings.TrimSpace(out) != strconv.Itoa(len(addrs)) {
		t.Fatalf("banip - printed %q, want %d", out, len(addrs))
	}
	wantCounts(t, tp.Srv, "after banip -", bulkV4, bulkV6)
	probe := netip.MustParseAddr("198.18.1.2")
	el := nftJSON(t, tp.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(probe)
	// The timeout is what the ban has left when it reaches the kernel.
	if el == nil || el.Timeout > time.Hour || el.Timeout < 59*time.Minute || el.Expires <= 59*time.Minute {
		t.Fatalf("element %s: %+v, want a timeout of about 1h", probe, el)
	}

	// kill -9 keeps every ban in the kernel.
	if err := d.Proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.Proc.WaitExit(5 * time.Second)
	wantCounts(t, tp.Srv, "after kill -9", bulkV4, bulkV6)

	// A restart re-adds and removes nothing.
	d = setup.start(t, tp.Srv)
	wantCounts(t, tp.Srv, "after restart", bulkV4, bulkV6)
	if !strings.Contains(d.Proc.Stderr.String(), `"restored": 0, "kept": 120000`) {
		t.Errorf("restart log does not say 0 restored, 120000 kept:\n%s", d.Proc.Stderr)
	}
	el2 := nftJSON(t, tp.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(probe)
	if el2 == nil || el2.Expires > el.Expires {
		t.Errorf("restart refreshed %s: expires %v before, %+v after", probe, el.Expires, el2)
	}

	// A flushed ruleset comes back, with every ban, within a second or so.
	flushed := time.Now()
	tp.run(t, tp.Srv, mustTool(t, "nft"), "flush", "ruleset")
	if !waitFor(3*time.Second, 50*time.Millisecond, func() bool {
		return setCount(t, tp.Srv, "f2b-sshd-v4") == bulkV4
	}) {
		t.Fatalf("table not restored 3 s after nft flush ruleset; f2bd log:\n%s", d.Proc.Stderr)
	}
	t.Logf("seen restored %v after nft flush ruleset; f2bd says: %s", time.Since(flushed).Round(time.Millisecond),
		logLine(d.Proc.Stderr.String(), `"why": "table lost"`))
	wantCounts(t, tp.Srv, "after flush ruleset", bulkV4, bulkV6)

	// A fresh namespace with the same state directory (as after a reboot)
	// gets every ban back with the time it has left.
	if err := d.Proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Proc.WaitExit(10 * time.Second); err != nil {
		t.Fatalf("f2bd after SIGTERM: %v", err)
	}
	tp2 := newTopology(t)
	time.Sleep(1100 * time.Millisecond) // let the remaining time visibly shrink
	start = time.Now()
	d = setup.start(t, tp2.Srv)
	t.Logf("start with restore of %d bans: %v; f2bd says: %s", len(addrs), time.Since(start).Round(time.Millisecond),
		logLine(d.Proc.Stderr.String(), `"why": "start"`))
	wantCounts(t, tp2.Srv, "fresh namespace", bulkV4, bulkV6)
	el3 := nftJSON(t, tp2.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(probe)
	if el3 == nil || el3.Expires >= el.Expires || el3.Expires < el.Expires-time.Minute {
		t.Errorf("restored %s: %+v, want its remaining time (first seen expiring in %v)", probe, el3, el.Expires)
	}

	// Re-ban refreshes the timeout.
	d.mustCtl(t, "set", "sshd", "banip", probe.String())
	el4 := nftJSON(t, tp2.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(probe)
	if el4 == nil || el4.Expires <= el3.Expires {
		t.Errorf("re-ban of %s did not refresh: %v before, %+v after", probe, el3.Expires, el4)
	}

	// A permanent ban has no timeout.
	perm := netip.MustParseAddr("203.0.113.5")
	d.mustCtl(t, "set", "perm", "banip", perm.String())
	if el := nftJSON(t, tp2.Srv).Set("inet", "f2b", "f2b-perm-v4").Elem(perm); el == nil || el.Timeout != 0 || el.Expires != 0 {
		t.Errorf("permanent ban: %+v, want no timeout", el)
	}

	// Unban of an expired ban does not fail, and unbans the others given.
	gone, live := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("192.0.2.51")
	d.mustCtl(t, "set", "short", "banip", gone.String())
	time.Sleep(2500 * time.Millisecond)
	d.mustCtl(t, "set", "short", "banip", live.String())
	if got := d.mustCtl(t, "set", "short", "unbanip", gone.String(), live.String()); got != "1" {
		t.Errorf("unbanip of one expired and one live ban printed %q, want 1", got)
	}
	if s := nftJSON(t, tp2.Srv).Set("inet", "f2b", "f2b-short-v4"); s.Elem(live) != nil {
		t.Errorf("%s still banned after unbanip", live)
	}

	// bantime.increment: the second ban of an address lasts twice as long.
	rep := netip.MustParseAddr("192.0.2.60")
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second} {
		d.mustCtl(t, "set", "incr", "banip", rep.String())
		el := nftJSON(t, tp2.Srv).Set("inet", "f2b", "f2b-incr-v4").Elem(rep)
		if el == nil || el.Timeout > want || el.Timeout < want-time.Second/2 {
			t.Fatalf("ban %d of %s: %+v, want timeout %v", i+1, rep, el, want)
		}
		time.Sleep(want + 500*time.Millisecond)
	}

	// unban --all empties every jail.
	if got := d.mustCtl(t, "unban", "--all"); got != strconv.Itoa(len(addrs)+1) {
		t.Errorf("unban --all printed %q, want %d", got, len(addrs)+1)
	}
	wantCounts(t, tp2.Srv, "after unban --all", 0, 0)
}
