package integration

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

// docAddr returns the i-th of many distinct IPv6 documentation addresses
// (2001:db8::/32), never one of the topology's own.
func docAddr(i int) string {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::5", 0x100+i>>16, i&0xffff)).String()
}

// failLine is sshd's failed password line in syslog form, dated now, for
// the i-th documentation address.
func failLine(i int) string {
	return fmt.Sprintf("%s srv sshd[%d]: Failed password for root from %s port %d ssh2\n",
		time.Now().Format(time.Stamp), 1000+i%30000, docAddr(i), 1024+i%60000)
}

var (
	totalFailedRE = regexp.MustCompile(`Total failed:\s*(\d+)`)
	totalBannedRE = regexp.MustCompile(`Total banned:\s*(\d+)`)
	stoppedRE     = regexp.MustCompile(`jail stopped\s+\{"jail": "([^"]+)", "total_failed": (\d+)`)
)

// jailTotals returns a jail's Total failed and Total banned, or -1s when
// f2bctl fails.
func (d *f2bdDaemon) jailTotals(jail string) (failed, banned int) {
	out, err := d.Ctl("status", jail)
	if err != nil {
		return -1, -1
	}
	failed, banned = -1, -1
	if m := totalFailedRE.FindStringSubmatch(out); m != nil {
		failed, _ = strconv.Atoi(m[1])
	}
	if m := totalBannedRE.FindStringSubmatch(out); m != nil {
		banned, _ = strconv.Atoi(m[1])
	}
	return failed, banned
}

// settle waits until a jail's Total failed reaches want, or stops moving
// for quiet, or timeout passes, and returns the last value seen.
func (d *f2bdDaemon) settle(jail string, want int, quiet, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	last, since := -2, time.Now()
	for time.Now().Before(deadline) {
		n, _ := d.jailTotals(jail)
		if n == want {
			return n
		}
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > quiet {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// stoppedTotals reads the "jail stopped" lines of an f2bd's log: Total
// failed of each jail when it stopped.
func stoppedTotals(log string) map[string]int {
	out := map[string]int{}
	for _, m := range stoppedRE.FindAllStringSubmatch(log, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

// stopF2BD sends SIGTERM and waits for f2bd to exit.
func stopF2BD(t testing.TB, d *f2bdDaemon) {
	t.Helper()
	if err := d.Proc.Signal(15); err != nil {
		t.Fatal(err)
	}
	if err := d.Proc.WaitExit(20 * time.Second); err != nil {
		t.Fatalf("f2bd after SIGTERM: %v\n%s", err, d.Proc.Stderr)
	}
}

// logWriter appends failure lines to a log file, one write per line as a
// logger does, and rotates it.
type logWriter struct {
	path string

	mu    sync.Mutex
	f     *os.File
	n     int // lines written
	rot   int // rotations done
	stop  chan struct{}
	done  chan struct{}
	werrs []error
}

func newLogWriter(t testing.TB, path string) *logWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &logWriter{path: path, f: f}
	t.Cleanup(func() {
		w.halt()
		w.f.Close()
	})
	return w
}

// count returns the number of lines written so far.
func (w *logWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// writeOne appends the next line.
func (w *logWriter) writeOne() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.WriteString(failLine(w.n)); err != nil {
		w.werrs = append(w.werrs, err)
		return
	}
	w.n++
}

// rotation kinds.
const (
	rotateRename = iota // rename to path.N, create path
	rotateDelete        // unlink path, create path
)

// rotate rotates the log the way logrotate's create mode does (rename) or
// the way some daemons do (delete and create anew).
func (w *logWriter) rotate(kind int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rot++
	var err error
	switch kind {
	case rotateRename:
		err = os.Rename(w.path, fmt.Sprintf("%s.%d", w.path, w.rot))
	case rotateDelete:
		err = os.Remove(w.path)
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f = f
	return nil
}

// copyTruncate rotates the log as logrotate's copytruncate does: the file
// is copied to path.N, then truncated in place while the writer keeps its
// descriptor. It returns the lines written before the copy started and
// after the truncation: the lines written in between are at risk.
func (w *logWriter) copyTruncate() (before, after int, err error) {
	before = w.count()
	w.mu.Lock()
	w.rot++
	dst := fmt.Sprintf("%s.%d", w.path, w.rot)
	w.mu.Unlock()
	data, err := os.ReadFile(w.path)
	if err != nil {
		return before, w.count(), err
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return before, w.count(), err
	}
	if err := os.Truncate(w.path, 0); err != nil {
		return before, w.count(), err
	}
	return before, w.count(), nil
}

// run writes rate lines per second in the background until halt.
func (w *logWriter) run(rate int) {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		start, base := time.Now(), w.count()
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			due := base + int(time.Since(start).Seconds()*float64(rate))
			for w.count() < due {
				w.writeOne()
			}
			time.Sleep(time.Millisecond)
		}
	}()
}

// halt stops the background writer and waits for it.
func (w *logWriter) halt() {
	if w.stop == nil {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// journalEntry is one journal entry to append: its fields besides the
// timestamps and boot id, which appendJournal adds.
type journalEntry [][2]string

// sshdEntry is an sshd failure for the i-th documentation address, from
// the unit and command given.
func sshdEntry(unit, comm string, i int) journalEntry {
	return journalEntry{
		{"_HOSTNAME", "srv"}, {"_SYSTEMD_UNIT", unit}, {"_COMM", comm},
		{"SYSLOG_IDENTIFIER", "sshd"}, {"_PID", strconv.Itoa(2000 + i%30000)},
		{"MESSAGE", fmt.Sprintf("Failed password for root from %s port %d ssh2", docAddr(i), 1024+i%60000)},
	}
}

// appendJournal appends entries, dated now, to a journal file with
// systemd-journal-remote (which creates it if needed).
func appendJournal(t testing.TB, remote, file string, entries []journalEntry) {
	t.Helper()
	var b bytes.Buffer
	now := time.Now()
	for k, e := range entries {
		us := now.UnixMicro() + int64(k)
		fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=6e1e0c9a2b7d4e5f8a6b1c2d3e4f5a6b\n", us, us%1e12)
		for _, f := range e {
			b.WriteString(f[0] + "=" + f[1] + "\n")
		}
		b.WriteByte('\n')
	}
	cmd := exec.Command(remote, "-o", file, "-")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote -o %s: %v: %s", file, err, out)
	}
}

// countLog counts the lines of an f2bd log that contain s.
func countLog(log, s string) int { return strings.Count(log, s) }

// journaldScript prepares a private mount namespace for a real
// systemd-journald run as a plain process: tmpfs on /run/systemd and
// /run/log, a journald.conf with Storage=volatile and ReadKMsg=no bound
// over the host's, and a private /dev (the host's device nodes bound into
// a tmpfs) whose /dev/log points at this journald's syslog socket. Nothing
// of it is visible outside the namespace. journald gets no arguments.
const journaldScript = `set -e
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mount --bind %[1]s/journald.conf /etc/systemd/journald.conf
mkdir -p %[1]s/olddev
mount --bind /dev %[1]s/olddev
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty ptmx; do
	touch /dev/$n
	mount --bind %[1]s/olddev/$n /dev/$n
done
mkdir /dev/pts /dev/shm
mount --bind %[1]s/olddev/pts /dev/pts
mount --bind %[1]s/olddev/shm /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /run/systemd/journal/dev-log /dev/log
umount -l %[1]s/olddev
exec %[2]s
`

// journaldBin finds systemd-journald.
func journaldBin(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, "systemd-journald is needed (package systemd)")
	return ""
}

// Journald is a real systemd-journald in a private mount namespace.
type Journald struct {
	Proc *Proc
	PID  int
	// Dir is its journal directory as seen from outside the namespace.
	Dir string
}

// startJournald starts systemd-journald in a new private mount namespace
// inside network namespace ns and waits until its sockets and journal
// file exist.
func startJournald(t testing.TB, ns string) *Journald {
	t.Helper()
	bin := journaldBin(t)
	unshare := mustTool(t, "unshare")
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/journald.conf", []byte("[Journal]\nStorage=volatile\nReadKMsg=no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := dir + "/start.sh"
	if err := os.WriteFile(script, []byte(fmt.Sprintf(journaldScript, dir, bin)), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, ns, "systemd-journald", nil, unshare, "--mount", "--propagation", "private", "/bin/sh", script)
	j := &Journald{Proc: p, PID: p.Cmd.Process.Pid}
	j.Dir = fmt.Sprintf("/proc/%d/root/run/log/journal", j.PID)
	sock := fmt.Sprintf("/proc/%d/root/run/systemd/journal/dev-log", j.PID)
	if !waitFor(10*time.Second, 50*time.Millisecond, func() bool {
		if done, _ := p.Exited(); done {
			return false
		}
		_, err1 := os.Stat(sock)
		files, _ := filepath.Glob(j.Dir + "/*/system.journal")
		return err1 == nil && len(files) == 1
	}) {
		t.Fatalf("systemd-journald did not come up in its namespace:\nstdout: %s\nstderr: %s", p.Stdout, p.Stderr)
	}
	return j
}

// enterArgs returns the arguments of nsenter that run prog in the
// journald's mount namespace.
func (j *Journald) enterArgs(prog string, args ...string) []string {
	return append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", j.PID), "--", prog}, args...)
}
