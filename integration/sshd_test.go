package integration

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SSHD is a real OpenSSH server running in the server namespace. Its stderr
// (sshd -D -e) is rewritten line by line into LogPath in syslog form,
//
//	Nov 22 10:00:00 srv sshd[PID]: <line>
//
// where PID is the per-connection sshd process (the privilege-separation
// monitor, which also relays the [preauth] child's messages), as in a real
// auth.log, or the listener's PID for lines that belong to no connection.
type SSHD struct {
	Proc    *Proc
	PID     int    // listener PID
	LogPath string // syslog-style auth.log the harness writes

	mu      sync.Mutex
	lines   []string // raw stderr lines, without prefix
	changed chan struct{}
	connPID map[netip.AddrPort]int // remote endpoint -> monitor PID
	done    chan struct{}          // closed when stderr reached EOF
}

// sshdConfig is a minimal configuration close to Debian 12's defaults (PAM
// on, keyboard-interactive off, LogLevel INFO) with password authentication
// on and MaxStartups high enough for parallel attempts.
const sshdConfig = `# written by the f2bd integration harness
Port 22
ListenAddress %s
ListenAddress %s
HostKey %s
PidFile none
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication yes
PermitRootLogin prohibit-password
MaxStartups 100
MaxAuthTries 6
LoginGraceTime 30
LogLevel INFO
`

// startSSHD starts sshd in tp.Srv listening on SrvV4 and SrvV6 port 22 and
// waits until both listeners are up. Files go to dir (host key, config,
// auth.log). t.Cleanup stops sshd and its per-connection children.
func startSSHD(t testing.TB, tp *Topology, dir string) *SSHD {
	t.Helper()
	// sshd needs its privilege-separation directory; creating it if absent
	// is what the Debian service does too. Host keys are private to the test.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create /run/sshd: %v", err)
	}
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	runCmd(t, 30*time.Second, mustTool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", key)
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(sshdConfig, tp.SrvV4, tp.SrvV6, key)), 0o600); err != nil {
		t.Fatalf("write sshd config: %v", err)
	}
	s := &SSHD{
		LogPath: filepath.Join(dir, "auth.log"),
		changed: make(chan struct{}),
		connPID: map[netip.AddrPort]int{},
		done:    make(chan struct{}),
	}
	logf, err := os.OpenFile(s.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatalf("create auth.log: %v", err)
	}
	// sshd and all its per-connection children write to this pipe; each
	// message is a single write, so lines never interleave.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe for sshd stderr: %v", err)
	}
	t.Cleanup(func() { pr.Close() })
	sshdBin := mustTool(t, "sshd") // sshd insists on an absolute path (it re-execs itself)
	s.Proc = startProc(t, tp.Srv, "sshd", func(cmd *exec.Cmd) {
		cmd.Stdout = pw
		cmd.Stderr = pw
	}, sshdBin, "-D", "-e", "-f", conf)
	pw.Close() // the child holds its own copy now
	s.PID = s.Proc.Cmd.Process.Pid
	// Stop per-connection children first (they live in their own sessions),
	// then the listener via the Proc cleanup registered above.
	t.Cleanup(func() { s.killChildren() })
	go s.copyLog(pr, logf)

	for _, a := range []netip.Addr{tp.SrvV4, tp.SrvV6} {
		want := fmt.Sprintf("Server listening on %s port 22.", a)
		if !s.WaitLine(t, regexp.MustCompile("^"+regexp.QuoteMeta(want)+"$"), 1, 10*time.Second) {
			t.Fatalf("sshd did not report %q; output so far:\n%s", want, strings.Join(s.Lines(), "\n"))
		}
	}
	return s
}

// addrPortRE finds "<address> port <n>" in an sshd message.
var addrPortRE = regexp.MustCompile(`([0-9A-Fa-f.:]+) port (\d+)`)

// copyLog turns each stderr line of sshd into a syslog line in auth.log,
// written with one write per line so that a tailing reader sees whole lines.
func (s *SSHD) copyLog(r io.Reader, logf *os.File) {
	defer close(s.done)
	defer logf.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		pid := s.pidFor(line)
		ts := time.Now().Format(time.Stamp)
		if _, err := fmt.Fprintf(logf, "%s srv sshd[%d]: %s\n", ts, pid, line); err != nil {
			// The test may have ended; nothing sensible to report to.
			return
		}
		s.mu.Lock()
		s.lines = append(s.lines, line)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

// pidFor picks the PID to log line under: the sshd process that owns the TCP
// connection whose remote endpoint the line names, else the listener.
func (s *SSHD) pidFor(line string) int {
	for _, m := range addrPortRE.FindAllStringSubmatch(line, -1) {
		addr, err := netip.ParseAddr(m[1])
		if err != nil {
			continue
		}
		port, err := strconv.ParseUint(m[2], 10, 16)
		if err != nil {
			continue
		}
		ap := netip.AddrPortFrom(addr.Unmap(), uint16(port))
		s.mu.Lock()
		pid, ok := s.connPID[ap]
		s.mu.Unlock()
		if ok {
			return pid
		}
		if pid, err := s.connectionOwner(ap); err == nil {
			s.mu.Lock()
			s.connPID[ap] = pid
			s.mu.Unlock()
			return pid
		}
	}
	return s.PID
}

// connectionOwner finds the direct child of the listener that holds the TCP
// socket connected to remote. It reads the socket tables of sshd's network
// namespace through /proc/<listener>/net and the children's descriptors.
func (s *SSHD) connectionOwner(remote netip.AddrPort) (int, error) {
	var inode string
	for _, f := range []string{"tcp", "tcp6"} {
		ino, err := findSocketInode(fmt.Sprintf("/proc/%d/net/%s", s.PID, f), remote)
		if err != nil {
			return 0, err
		}
		if ino != "" {
			inode = ino
			break
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("no socket connected to %s", remote)
	}
	target := "socket:[" + inode + "]"
	for _, pid := range childPIDs(s.PID) {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue // exited meanwhile
		}
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == target {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no child of sshd %d holds %s", s.PID, target)
}

// findSocketInode scans a /proc/net/tcp{,6} table for a socket whose remote
// end is remote and returns its inode ("" if none).
func findSocketInode(table string, remote netip.AddrPort) (string, error) {
	data, err := os.ReadFile(table)
	if err != nil {
		return "", fmt.Errorf("read socket table: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		ap, err := parseProcAddrPort(f[2])
		if err != nil || ap != remote {
			continue
		}
		return f[9], nil
	}
	return "", nil
}

// parseProcAddrPort decodes "0100007F:0016"-style endpoints of /proc/net/tcp:
// the address as 32-bit words in host byte order, the port as hex.
func parseProcAddrPort(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad endpoint %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address in endpoint %q", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in endpoint %q: %w", s, err)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

// childPIDs lists the direct children of pid, from /proc/<pid>/task/*/children
// or, if that file is unavailable, by scanning every process's parent.
func childPIDs(pid int) []int {
	var out []int
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
		return out
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state ppid ...
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// killChildren kills every descendant of the listener: the per-connection
// monitors and their unprivileged [net]/[preauth] children, which run in
// their own sessions and so escape the listener's process group.
func (s *SSHD) killChildren() {
	var all []int
	queue := childPIDs(s.PID)
	for len(queue) > 0 && len(all) < 1000 {
		pid := queue[0]
		queue = append(queue[1:], childPIDs(pid)...)
		all = append(all, pid)
	}
	for _, pid := range all {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// Give the listener a moment to reap them, rather than leaving zombies
	// to init once the listener is killed too.
	waitFor(time.Second, 20*time.Millisecond, func() bool { return len(childPIDs(s.PID)) == 0 })
}

// Lines returns the raw stderr lines of sshd seen so far.
func (s *SSHD) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// WaitLine waits until at least n stderr lines match re and reports whether
// that happened within timeout.
func (s *SSHD) WaitLine(t testing.TB, re *regexp.Regexp, n int, timeout time.Duration) bool {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		count := 0
		for _, l := range s.lines {
			if re.MatchString(l) {
				count++
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if count >= n {
			return true
		}
		select {
		case <-changed:
		case <-s.done:
			return false
		case <-deadline.C:
			return false
		}
	}
}

// sshpassBadPassword is sshpass's exit status when it saw the password
// prompt again (the password was rejected).
const sshpassBadPassword = 5

// rejected reports whether an attempt's exit status and output say the
// server rejected the password: ssh, allowed one prompt, gives up with
// "Permission denied" (255), or sshpass saw a second prompt (5).
func rejected(code int, out string) bool {
	return code == sshpassBadPassword || code == 255 && strings.Contains(out, "Permission denied")
}

// SSHAttempt describes one password login attempt from the attacker
// namespace.
type SSHAttempt struct {
	User     string
	Src, Dst netip.Addr
}

// sshAttempt runs one password login with the wrong password from the
// attacker namespace, bound to a.Src, and returns sshpass's exit status
// (see rejected) and the combined output. ssh asks for the password once,
// so a rejected attempt is exactly one "Failed password" line. It is bounded by ctx and a 20 s timeout.
func (tp *Topology) sshAttempt(ctx context.Context, a SSHAttempt) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	sshpass, err := lookTool("sshpass")
	if err != nil {
		return -1, "", err
	}
	ssh, err := lookTool("ssh")
	if err != nil {
		return -1, "", err
	}
	cmd := nsCommand(ctx, tp.Atk, sshpass, "-p", "wrong", ssh, "-F", "/dev/null",
		"-b", a.Src.String(),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
		"-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
		// one prompt: with more, sshpass, slow under load, sometimes
		// answered the second one too (two "Failed password" lines for
		// one connection, a ban one attempt early)
		"-o", "NumberOfPasswordPrompts=1",
		a.User+"@"+a.Dst.String(), "true")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out), nil
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), string(out), nil
	default:
		return -1, string(out), fmt.Errorf("ssh %s@%s from %s: %w", a.User, a.Dst, a.Src, err)
	}
}

// sshFail makes one failed password attempt as user "nobody" from src to
// dst and reports a test error unless the server rejected the password.
// It is safe to call from several goroutines.
func (tp *Topology) sshFail(t testing.TB, src, dst netip.Addr) {
	t.Helper()
	tp.sshFailAll(t, SSHAttempt{User: "nobody", Src: src, Dst: dst})
}

// sshFailAll runs the attempts in parallel and reports a test error for each
// one the server did not reject with a failed password.
func (tp *Topology) sshFailAll(t testing.TB, attempts ...SSHAttempt) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(attempts))
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, err := tp.sshAttempt(context.Background(), a)
			switch {
			case err != nil:
				errs[i] = err
			case !rejected(code, out):
				errs[i] = fmt.Errorf("ssh %s@%s from %s: sshpass exit %d, want the password rejected; output:\n%s",
					a.User, a.Dst, a.Src, code, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
