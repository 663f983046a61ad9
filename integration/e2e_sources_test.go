package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sourcesJail is a jail on the stock sshd filter over one log file.
// maxretry 2 with every address written once: nothing bans unless a line
// is read twice.
const sourcesJail = `[%[1]s]
enabled = true
filter = sshd
backend = auto
logpath = %[2]s
maxretry = 2
findtime = 1h
bantime = 60
banaction = nftables-multiport
`

// TestRotationTortureE2E writes about 10k failure lines per second for
// 10 s into a log that is rotated every 2 s, alternately by rename+create
// and by delete+recreate, while a real f2bd follows it: Total failed equals
// the lines written, exactly, and nothing was banned (each address is
// written once, maxretry is 2: a line read twice would ban).
func TestRotationTortureE2E(t *testing.T) {
	// Not parallel: the load it makes would disturb the timing of the
	// other tests (and theirs its own).
	requireHarness(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	logFile := filepath.Join(t.TempDir(), "torture.log")
	w := newLogWriter(t, logFile)
	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, fmt.Sprintf(sourcesJail, "torture", logFile))

	const rate, seconds = 10000, 10
	start := time.Now()
	w.run(rate)
	for i := 1; i <= seconds/2; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 2 * time.Second)))
		if i == seconds/2 {
			break
		}
		kind := rotateRename
		if i%2 == 0 {
			kind = rotateDelete
		}
		if err := w.rotate(kind); err != nil {
			t.Fatal(err)
		}
	}
	w.halt()
	written := w.count()
	elapsed := time.Since(start)
	if len(w.werrs) > 0 {
		t.Fatalf("writer errors: %v", w.werrs)
	}
	got := d.settle("torture", written, 5*time.Second, 90*time.Second)
	t.Logf("wrote %d lines in %v (%.0f/s) with 4 rotations; f2bd counted %d %v after the last",
		written, elapsed.Round(time.Millisecond), float64(written)/elapsed.Seconds(), got,
		time.Since(start.Add(elapsed)).Round(time.Millisecond))
	if got != written {
		t.Fatalf("Total failed = %d, want %d (lines written)", got, written)
	}
	if _, banned := d.jailTotals("torture"); banned != 0 {
		t.Fatalf("Total banned = %d: some line was read twice", banned)
	}
}

// TestCopyTruncateE2E rotates by copytruncate under load. Its known gap,
// which every tailer has: lines appended after the copy was taken and
// before the truncation are in neither the copy nor the truncated file,
// and are lost. f2bd reads from the copy what it had not read yet before
// the truncation, so only lines written inside that window may be missing:
// written - window <= Total failed <= written.
func TestCopyTruncateE2E(t *testing.T) {
	// Not parallel: the load it makes would disturb the timing of the
	// other tests (and theirs its own).
	requireHarness(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	logFile := filepath.Join(t.TempDir(), "copytruncate.log")
	w := newLogWriter(t, logFile)
	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, fmt.Sprintf(sourcesJail, "ct", logFile))

	w.run(5000)
	window := 0
	for i := 0; i < 4; i++ {
		time.Sleep(1500 * time.Millisecond)
		before, after, err := w.copyTruncate()
		if err != nil {
			t.Fatal(err)
		}
		window += after - before
	}
	time.Sleep(time.Second)
	w.halt()
	written := w.count()
	got := d.settle("ct", written, 5*time.Second, 60*time.Second)
	t.Logf("wrote %d lines, 4 copytruncates; %d lines written between copy and truncate; f2bd counted %d (%d lost)",
		written, window, got, written-got)
	if got > written || got < written-window {
		t.Fatalf("Total failed = %d, want between %d and %d", got, written-window, written)
	}
	if _, banned := d.jailTotals("ct"); banned != 0 {
		t.Fatalf("Total banned = %d: some line was read twice", banned)
	}
}

// TestRestartResumesE2E stops f2bd with SIGTERM while lines stream in,
// keeps writing (and rotates the log) while it is down, and starts it
// again: the lines counted before the stop plus those counted after the
// start are the lines written, exactly; none is lost and none is read
// twice.
func TestRestartResumesE2E(t *testing.T) {
	// Not parallel: the load it makes would disturb the timing of the
	// other tests (and theirs its own).
	requireHarness(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	logFile := filepath.Join(t.TempDir(), "restart.log")
	w := newLogWriter(t, logFile)
	setup := newF2BDSetup(t, f2bdBin, f2bctlBin, fmt.Sprintf(sourcesJail, "restart", logFile))
	d := setup.start(t, tp.Srv)

	w.run(5000)
	time.Sleep(2 * time.Second)
	stopF2BD(t, d)
	stopAt := w.count()
	log1 := d.Proc.Stderr.String()
	run1, ok := stoppedTotals(log1)["restart"]
	if !ok || !strings.Contains(log1, "log positions saved") {
		t.Fatalf("f2bd did not report its jail's total and saved positions on stop:\n%s", log1)
	}
	// While f2bd is down: more lines, a rotation, more lines.
	time.Sleep(time.Second)
	if err := w.rotate(rotateRename); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	d = setup.start(t, tp.Srv)
	time.Sleep(1500 * time.Millisecond)
	w.halt()
	written := w.count()
	run2 := d.settle("restart", written-run1, 5*time.Second, 60*time.Second)
	t.Logf("wrote %d lines; f2bd counted %d before SIGTERM (%d written by then) and %d after the restart",
		written, run1, stopAt, run2)
	if run1 <= 0 || run2 <= 0 {
		t.Fatalf("the stop was not mid-stream: %d counted before, %d after", run1, run2)
	}
	if run1+run2 != written {
		t.Fatalf("counted %d + %d = %d lines, want %d: %d lost or repeated", run1, run2, run1+run2, written, written-run1-run2)
	}
	if _, banned := d.jailTotals("restart"); banned != 0 {
		t.Fatalf("Total banned = %d after the restart: some line was read twice", banned)
	}
}

// journalJails are two journal jails sharing one journal directory: the
// stock sshd jail (its journalmatch widened to Debian's ssh.service) and
// one on another unit.
const journalJails = `[DEFAULT]
backend = systemd[journalpath=%s]
maxretry = 2
findtime = 1h
bantime = 60
banaction = nftables-multiport

[sshd]
enabled = true

[sshd-b]
enabled = true
filter = sshd
journalmatch = _SYSTEMD_UNIT=sshd-b.service
`

// journalBatch is a mix of entries: a for sshd (Debian's unit), b for
// sshd-b, and unrelated ones; addresses start at first.
func journalBatch(first, a, b int) []journalEntry {
	var es []journalEntry
	i := first
	for k := 0; k < max(a, b); k++ {
		if k < a {
			es = append(es, sshdEntry("ssh.service", "sshd", i))
			i++
		}
		if k < b {
			es = append(es, sshdEntry("sshd-b.service", "sshd-b", i))
			i++
		}
		es = append(es, journalEntry{{"_SYSTEMD_UNIT", "nginx.service"}, {"_COMM", "nginx"},
			{"SYSLOG_IDENTIFIER", "nginx"}, {"MESSAGE", "Failed password for root from 192.0.2.9 port 1 ssh2"}})
	}
	return es
}

// TestJournalSourcesE2E follows real journal files written by
// systemd-journal-remote with two jails sharing one reader: entries
// appended while f2bd follows reach the jails whose journalmatch they
// satisfy, a journal file rotation is survived, and after a restart the
// saved cursor resumes exactly after the last entry handled.
func TestJournalSourcesE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t)
	remote := journalRemote(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	jdir := t.TempDir()
	jfile := filepath.Join(jdir, "remote.journal")
	appendJournal(t, remote, jfile, journalBatch(0, 0, 0)) // an unrelated entry
	setup := newF2BDSetup(t, f2bdBin, f2bctlBin, fmt.Sprintf(journalJails, jdir))
	d := setup.start(t, tp.Srv)

	want := func(d *f2bdDaemon, when string, a, b int) {
		t.Helper()
		ga := d.settle("sshd", a, 2*time.Second, 20*time.Second)
		gb := d.settle("sshd-b", b, 2*time.Second, 20*time.Second)
		if ga != a || gb != b {
			t.Fatalf("%s: Total failed sshd %d, sshd-b %d; want %d and %d\n%s", when, ga, gb, a, b, d.Proc.Stderr)
		}
		// No more arrives later (an entry read twice would).
		time.Sleep(500 * time.Millisecond)
		if fa, _ := d.jailTotals("sshd"); fa != a {
			t.Fatalf("%s: sshd counted %d after settling at %d", when, fa, a)
		}
	}
	// The reader starts on its own goroutine, after the daemon answers.
	waitFor(5*time.Second, 20*time.Millisecond, func() bool {
		return countLog(d.Proc.Stderr.String(), "journal reader started") > 0
	})
	if n := countLog(d.Proc.Stderr.String(), "journal reader started"); n != 1 {
		t.Fatalf("%d journal readers started for two jails on one journal, want 1:\n%s", n, d.Proc.Stderr)
	}
	appendJournal(t, remote, jfile, journalBatch(1, 30, 20))
	want(d, "appended", 30, 20)

	// Rotation: the file is archived under another name and a new one
	// takes its place, as journald does.
	if err := os.Rename(jfile, filepath.Join(jdir, "remote@archived.journal")); err != nil {
		t.Fatal(err)
	}
	appendJournal(t, remote, jfile, journalBatch(100, 10, 5))
	want(d, "after rotation", 40, 25)

	// Restart: entries added while f2bd is down are read, and only they.
	stopF2BD(t, d)
	appendJournal(t, remote, jfile, journalBatch(200, 7, 3))
	d = setup.start(t, tp.Srv)
	if !strings.Contains(d.Proc.Stderr.String(), `"resuming": true`) {
		t.Errorf("the restarted reader did not resume from a saved cursor:\n%s", d.Proc.Stderr)
	}
	want(d, "after restart", 7, 3)
	appendJournal(t, remote, jfile, journalBatch(300, 4, 4))
	want(d, "appended after restart", 11, 7)
	for _, j := range []string{"sshd", "sshd-b"} {
		if _, banned := d.jailTotals(j); banned != 0 {
			t.Errorf("jail %s banned %d: an entry was read twice", j, banned)
		}
	}
}

// TestSourceErrorsE2E checks that sources that cannot be read yet (a
// journal directory that does not exist, a log file not yet created, a
// glob that matches nothing) are reported and retried without holding up
// a jail whose log works, and that each starts counting once its source
// appears; the glob's file is found from the directory's events.
func TestSourceErrorsE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t)
	remote := journalRemote(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	dir := t.TempDir()
	okLog, laterLog := filepath.Join(dir, "ok.log"), filepath.Join(dir, "later.log")
	globDir, jdir := filepath.Join(dir, "glob"), filepath.Join(dir, "journal-not-yet")
	if err := os.Mkdir(globDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(okLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(sourcesJail, "ok", okLog) + fmt.Sprintf(sourcesJail, "later", laterLog) +
		fmt.Sprintf(sourcesJail, "glob", filepath.Join(globDir, "*.log")) + fmt.Sprintf(`[journal]
enabled = true
filter = sshd
backend = systemd[journalpath=%s]
maxretry = 2
findtime = 1h
banaction = nftables-multiport
`, jdir)
	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, conf)
	appendLines := func(path string, first, n int) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := first; i < first+n; i++ {
			f.WriteString(failLine(i))
		}
	}
	appendLines(okLog, 0, 5)
	if got := d.settle("ok", 5, 2*time.Second, 10*time.Second); got != 5 {
		t.Fatalf("jail ok counted %d of 5 while the other sources are missing", got)
	}
	if !waitFor(10*time.Second, 100*time.Millisecond, func() bool {
		return strings.Contains(d.Proc.Stderr.String(), "journal source failed; retrying")
	}) {
		t.Fatalf("the missing journal was not reported:\n%s", d.Proc.Stderr)
	}
	appendLines(laterLog, 100, 3)
	appendLines(filepath.Join(globDir, "a.log"), 200, 4)
	if err := os.Mkdir(jdir, 0o755); err != nil {
		t.Fatal(err)
	}
	appendJournal(t, remote, filepath.Join(jdir, "remote.journal"),
		[]journalEntry{sshdEntry("ssh.service", "sshd", 300), sshdEntry("ssh.service", "sshd", 301)})
	// The journal reader retries every 5 s.
	for jail, want := range map[string]int{"later": 3, "glob": 4, "journal": 2, "ok": 5} {
		if got := d.settle(jail, want, 8*time.Second, 20*time.Second); got != want {
			t.Errorf("jail %s counted %d, want %d", jail, got, want)
		}
	}
	// A second file matching the glob, created while f2bd runs.
	appendLines(filepath.Join(globDir, "b.log"), 400, 2)
	if got := d.settle("glob", 6, 3*time.Second, 20*time.Second); got != 6 {
		t.Errorf("jail glob counted %d after a second file appeared, want 6", got)
	}
	out, _ := d.Ctl("status", "glob")
	if !strings.Contains(out, "b.log") {
		t.Errorf("status glob does not list the new file:\n%s", out)
	}
}

// TestJournaldSSHDE2E runs the whole chain with real programs: a real
// systemd-journald (a plain process in a private mount namespace, with
// volatile storage), a real OpenSSH server in the server network namespace
// that logs through syslog to that journald's /dev/log, and f2bd with the
// stock sshd jail on backend = systemd reading the journald's journal
// directory. Three failed logins from the attacker ban it in the kernel;
// the innocent address still connects. After journald rotates its journal,
// three more failures over IPv6 ban that address too.
func TestJournaldSSHDE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t, "unshare")
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)
	jd := startJournald(t, tp.Srv)

	// sshd -D without -e logs to syslog, i.e. /dev/log of its mount
	// namespace: the journald's.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	runCmd(t, 30*time.Second, mustTool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", key)
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(sshdConfig, tp.SrvV4, tp.SrvV6, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	sshd := startProc(t, tp.Srv, "sshd", nil, mustTool(t, "nsenter"),
		jd.enterArgs(mustTool(t, "sshd"), "-D", "-f", conf)...)
	t.Cleanup(func() {
		for _, pid := range childPIDs(sshd.Cmd.Process.Pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if r := waitDial(t, tp.Atk, tp.InnocV4, tp.SrvV4, 22, DialConnected, 10*time.Second); r != DialConnected {
		t.Fatalf("sshd does not accept connections: %s\n%s", r, sshd.Stderr)
	}

	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, fmt.Sprintf(`[sshd]
enabled = true
backend = systemd[journalpath=%s]
maxretry = 3
findtime = 10m
bantime = 60
banaction = nftables-multiport
`, jd.Dir))
	journal := func() string {
		jc, _ := exec.Command(mustTool(t, "journalctl"), "-D", jd.Dir, "--no-pager", "-o", "short").CombinedOutput()
		return string(jc)
	}
	for i := 0; i < 3; i++ {
		tp.sshFail(t, tp.AtkV4, tp.SrvV4)
	}
	if t.Failed() {
		// an attempt refused: banned before its third failure (seen once
		// under load); what sshd logged tells whether a connection gave
		// two failure lines or f2bd counted one twice
		t.Logf("journal after the attempts:\n%s", journal())
	}
	var el *SetElem
	waitFor(10*time.Second, 50*time.Millisecond, func() bool {
		el = nftJSON(t, tp.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(tp.AtkV4)
		return el != nil
	})
	if el == nil {
		out, _ := d.Ctl("status", "sshd")
		t.Fatalf("%s not banned after 3 failed logins logged through journald:\n%s\njournal:\n%s", tp.AtkV4, out, journal())
	}
	if failed, _ := d.jailTotals("sshd"); failed < 3 {
		t.Errorf("Total failed = %d, want at least 3", failed)
	}
	if r := dial(t, tp.Atk, tp.AtkV4, tp.SrvV4, 22, 2*time.Second); r == DialConnected {
		t.Errorf("banned %s still connects to sshd", tp.AtkV4)
	}
	if r := dial(t, tp.Atk, tp.InnocV4, tp.SrvV4, 22, 2*time.Second); r != DialConnected {
		t.Errorf("innocent %s: %s, want connected", tp.InnocV4, r)
	}

	// journald rotates its journal (archives system.journal, starts a new
	// one): f2bd goes on with the new file.
	nsenter := mustTool(t, "nsenter")
	if out, err := exec.Command(nsenter, jd.enterArgs(mustTool(t, "journalctl"), "--rotate")...).CombinedOutput(); err != nil {
		t.Fatalf("journalctl --rotate: %v: %s", err, out)
	}
	if !waitFor(5*time.Second, 50*time.Millisecond, func() bool {
		archived, _ := filepath.Glob(jd.Dir + "/*/system@*.journal")
		return len(archived) > 0
	}) {
		t.Fatal("journald did not archive its journal on --rotate")
	}
	for i := 0; i < 3; i++ {
		tp.sshFail(t, tp.AtkV6, tp.SrvV6)
	}
	if t.Failed() {
		t.Logf("journal after the attempts:\n%s", journal())
	}
	if !waitFor(10*time.Second, 50*time.Millisecond, func() bool {
		return nftJSON(t, tp.Srv).Set("inet", "f2b", "f2b-sshd-v6").Elem(tp.AtkV6) != nil
	}) {
		out, _ := d.Ctl("status", "sshd")
		t.Fatalf("%s not banned after 3 failed logins following a journal rotation:\n%s", tp.AtkV6, out)
	}
}
