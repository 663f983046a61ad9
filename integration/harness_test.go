package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

// TestMain removes the binaries built by buildBinaries once all tests ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// harnessTools are the programs the harness runs.
var harnessTools = []string{"ip", "nft", "sshd", "ssh", "ssh-keygen", "sshpass", "nc", "nsenter"}

// requireHarness checks that the harness can run: root, and every program in
// harnessTools plus extra found in PATH (sbin directories included).
func requireHarness(t testing.TB, extra ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "test needs root to create network namespaces")
	}
	var missing []string
	for _, tool := range append(append([]string(nil), harnessTools...), extra...) {
		if _, err := lookTool(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		testenv.Missing(t, "missing tools: %s", strings.Join(missing, ", "))
	}
}

// lookTool finds a program in PATH, falling back to the sbin directories
// that a non-login root shell may lack.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if filepath.IsAbs(name) {
		return "", fmt.Errorf("tool %s not found", name)
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("tool %s not found in PATH or sbin", name)
}

// mustTool is lookTool for tools requireHarness already checked.
func mustTool(t testing.TB, name string) string {
	t.Helper()
	p, err := lookTool(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Topology is a pair of network namespaces joined by a veth pair: Srv plays
// the protected server, Atk the attackers (one address of each family that
// attacks and one "innocent" address of each family on the same host).
type Topology struct {
	Srv, Atk string // namespace names, as for "ip netns"

	SrvV4, SrvV6     netip.Addr // server addresses
	AtkV4, AtkV6     netip.Addr // attacking addresses
	InnocV4, InnocV6 netip.Addr // innocent addresses in the attacker namespace
}

// nsCounter makes namespace names unique within one test process.
var nsCounter atomic.Int32

// newTopology creates the two namespaces and the veth between them, with
// addresses configured and every link up. t.Cleanup deletes the namespaces
// (cleanups registered later, such as process kills, run before).
func newTopology(t testing.TB) *Topology {
	t.Helper()
	requireHarness(t)
	n := nsCounter.Add(1)
	tp := &Topology{
		Srv:     fmt.Sprintf("f2b-srv-%d-%d", os.Getpid(), n),
		Atk:     fmt.Sprintf("f2b-atk-%d-%d", os.Getpid(), n),
		SrvV4:   netip.MustParseAddr("192.0.2.1"),
		SrvV6:   netip.MustParseAddr("2001:db8::1"),
		AtkV4:   netip.MustParseAddr("192.0.2.2"),
		AtkV6:   netip.MustParseAddr("2001:db8::2"),
		InnocV4: netip.MustParseAddr("192.0.2.3"),
		InnocV6: netip.MustParseAddr("2001:db8::3"),
	}
	ip := mustTool(t, "ip")
	for _, ns := range []string{tp.Srv, tp.Atk} {
		runCmd(t, 10*time.Second, ip, "netns", "add", ns)
		ns := ns
		t.Cleanup(func() {
			if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("delete namespace %s: %v: %s", ns, err, out)
			}
		})
	}
	// Both ends are created directly inside their namespaces, so the veth
	// never exists in the host namespace and its names cannot collide.
	runCmd(t, 10*time.Second, ip, "link", "add", "name", "veth-srv", "netns", tp.Srv,
		"type", "veth", "peer", "name", "veth-atk", "netns", tp.Atk)
	tp.run(t, tp.Srv, ip, "link", "set", "lo", "up")
	tp.run(t, tp.Srv, ip, "addr", "add", tp.SrvV4.String()+"/24", "dev", "veth-srv")
	tp.run(t, tp.Srv, ip, "addr", "add", tp.SrvV6.String()+"/64", "dev", "veth-srv", "nodad")
	tp.run(t, tp.Srv, ip, "link", "set", "veth-srv", "up")
	tp.run(t, tp.Atk, ip, "link", "set", "lo", "up")
	for _, a := range []netip.Addr{tp.AtkV4, tp.InnocV4} {
		tp.run(t, tp.Atk, ip, "addr", "add", a.String()+"/24", "dev", "veth-atk")
	}
	for _, a := range []netip.Addr{tp.AtkV6, tp.InnocV6} {
		tp.run(t, tp.Atk, ip, "addr", "add", a.String()+"/64", "dev", "veth-atk", "nodad")
	}
	tp.run(t, tp.Atk, ip, "link", "set", "veth-atk", "up")
	return tp
}

// nsPath is the bind-mounted namespace file that "ip netns add" created.
func nsPath(ns string) string { return "/var/run/netns/" + ns }

// nsCommand builds a command that runs name in the network namespace ns.
// nsenter --net (unlike "ip netns exec") keeps the host's /sys mount, and as
// it execs the program the command's PID is the program's PID.
func nsCommand(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	nsenter, err := lookTool("nsenter")
	if err != nil {
		nsenter = "nsenter"
	}
	full := append([]string{"--net=" + nsPath(ns), "--", name}, args...)
	cmd := exec.CommandContext(ctx, nsenter, full...)
	// Own process group, so that killing it also kills what it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// killGroup signals the process group led by cmd's process.
func killGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return errors.New("process not started")
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// run runs a command in namespace ns and fails the test if it fails.
func (tp *Topology) run(t testing.TB, ns, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := nsCommand(ctx, ns, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in netns %s: %s %s: %v\n%s", ns, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runCmd runs a command in the host namespace and fails the test if it fails.
func runCmd(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Proc is a long-running process started in a namespace by startProc.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	Stdout *syncBuffer // nil when the caller took stdout itself
	Stderr *syncBuffer // nil when the caller took stderr itself

	done    chan struct{} // closed once Wait returned
	waitErr error
}

// startProc starts a long-running command in namespace ns. Unless the caller
// set them in prepare, stdout and stderr go to buffers. t.Cleanup stops the
// process group (SIGTERM, then SIGKILL after 3 s) if it is still running.
func startProc(t testing.TB, ns, label string, prepare func(*exec.Cmd), name string, args ...string) *Proc {
	t.Helper()
	cmd := nsCommand(context.Background(), ns, name, args...)
	p := &Proc{Name: label, Cmd: cmd, done: make(chan struct{})}
	if prepare != nil {
		prepare(cmd)
	}
	if cmd.Stdout == nil {
		p.Stdout = &syncBuffer{}
		cmd.Stdout = p.Stdout
	}
	if cmd.Stderr == nil {
		p.Stderr = &syncBuffer{}
		cmd.Stderr = p.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s (%s) in netns %s: %v", label, name, ns, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop(3 * time.Second) })
	return p
}

// Exited reports whether the process has exited, and its Wait error.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Signal sends sig to the process itself (not its group).
func (p *Proc) Signal(sig syscall.Signal) error {
	if err := p.Cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s (pid %d): %w", sig, p.Name, p.Cmd.Process.Pid, err)
	}
	return nil
}

// WaitExit waits up to timeout for the process to exit and returns its Wait
// error; it returns an error that says so if the process is still running.
func (p *Proc) WaitExit(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running after %v", p.Name, p.Cmd.Process.Pid, timeout)
	}
}

// Stop terminates the process group: SIGTERM, then SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) {
	if done, _ := p.Exited(); done {
		// The leader is gone; still sweep anything left in its group.
		_ = killGroup(p.Cmd, syscall.SIGKILL)
		return
	}
	_ = killGroup(p.Cmd, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = killGroup(p.Cmd, syscall.SIGKILL)
		<-p.done
	}
	_ = killGroup(p.Cmd, syscall.SIGKILL)
}

// waitFor polls cond every interval until it returns true or timeout passes;
// it reports whether cond became true.
func waitFor(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// Binaries built once per test process by buildBinaries.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// moduleRoot finds the directory holding go.mod, from the test's directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the test directory")
		}
		dir = parent
	}
}

// binDirEnv names prebuilt f2bd and f2bctl binaries to test instead of
// building them (for example installed packages).
const binDirEnv = "F2BD_TEST_BINDIR"

// buildBinaries builds ./cmd/f2bd and ./cmd/f2bctl once per test process and
// returns their paths. If they do not build, the test fails under CI=true
// and is skipped otherwise, with the compiler output. If $F2BD_TEST_BINDIR
// is set, the binaries there are used as they are.
func buildBinaries(t testing.TB) (f2bd, f2bctl string) {
	t.Helper()
	if dir := os.Getenv(binDirEnv); dir != "" {
		f2bd, f2bctl = filepath.Join(dir, "f2bd"), filepath.Join(dir, "f2bctl")
		for _, p := range []string{f2bd, f2bctl} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%s: %v", binDirEnv, dir, err)
			}
		}
		return f2bd, f2bctl
	}
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "f2bd-bin-")
		if err != nil {
			buildErr = fmt.Errorf("make binary directory: %w", err)
			return
		}
		binDir = dir
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtimeGOROOT(), "bin", "go")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, gobin, "build", "-o", dir+string(filepath.Separator), "./cmd/f2bd", "./cmd/f2bctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/f2bd ./cmd/f2bctl in %s: %w\n%s", root, err, out)
		}
	})
	if buildErr != nil {
		testenv.Missing(t, "f2bd binaries do not build: %v", buildErr)
	}
	return filepath.Join(binDir, "f2bd"), filepath.Join(binDir, "f2bctl")
}

// runtimeGOROOT is GOROOT from the environment, for when go is not in PATH.
func runtimeGOROOT() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	return "/usr/local/go"
}
