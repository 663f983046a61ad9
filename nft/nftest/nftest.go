// Package nftest provides throw-away network namespaces for tests that
// need a real kernel firewall without touching the host's.
//
// A namespace made by NewNetNS lives exactly as long as the file descriptor
// it returns: the descriptor is closed by t.Cleanup and the kernel then
// frees the namespace with everything in it (nftables tables, links,
// sockets).
package nftest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/f2bd/f2bd/internal/testenv"
	"golang.org/x/sys/unix"
)

// RequireRoot stops the test unless it runs as root: it calls t.Fatal when
// the environment variable CI is "true" (a CI run must not silently skip)
// and t.Skip otherwise.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	testenv.Missing(t, "test needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create a network namespace")
}

// NewNetNS creates a fresh, empty network namespace and returns a file
// descriptor referring to it; the calling thread's namespace is unchanged.
// The descriptor is closed when the test ends, which destroys the namespace.
// It calls RequireRoot first and t.Fatal if the namespace cannot be made.
func NewNetNS(t testing.TB) int {
	t.Helper()
	RequireRoot(t)
	fd, err := newNetNS()
	if err != nil {
		t.Fatalf("nftest: %v", err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// newNetNS does the work of NewNetNS on a locked OS thread. If the thread
// cannot be moved back to its original namespace it is left locked, so the
// Go runtime terminates it instead of reusing it.
func newNetNS() (fd int, err error) {
	runtime.LockOSThread()
	restored := true
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		}
	}()

	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open current netns: %w", err)
	}
	defer unix.Close(orig)

	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	fd, openErr := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		restored = false
		if openErr == nil {
			_ = unix.Close(fd)
		}
		return -1, fmt.Errorf("setns back to original netns: %w", err)
	}
	if openErr != nil {
		return -1, fmt.Errorf("open new netns: %w", openErr)
	}
	return fd, nil
}

// Do runs fn on an OS thread that has entered the network namespace nsFD,
// then moves the thread back. Sockets created inside fn belong to nsFD's
// namespace for their whole life, so a listener or dialer made in fn keeps
// working after Do returns. fn must not start goroutines that rely on the
// namespace. Do fails if either namespace switch fails.
func Do(nsFD int, fn func() error) error {
	runtime.LockOSThread()
	restored := true
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		}
	}()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open current netns: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns into netns fd %d: %w", nsFD, err)
	}
	fnErr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		restored = false
		return errors.Join(fnErr, fmt.Errorf("setns back to original netns: %w", err))
	}
	return fnErr
}

// Command returns a command that runs name with args inside the network
// namespace nsFD, through nsenter(1) (util-linux). The namespace is handed
// to the child as its file descriptor 3, a duplicate that the caller must
// close (cmd.ExtraFiles[0].Close()) once the command has finished. It fails
// if nsFD cannot be duplicated.
func Command(nsFD int, name string, args ...string) (*exec.Cmd, error) {
	dup, err := unix.FcntlInt(uintptr(nsFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup netns fd %d: %w", nsFD, err)
	}
	f := os.NewFile(uintptr(dup), "netns")
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", "--", name}, args...)...)
	cmd.ExtraFiles = []*os.File{f}
	return cmd, nil
}

// Output runs name with args inside the namespace nsFD and returns its
// standard output. It calls t.Fatal, with the standard error, if the
// command cannot run or exits non-zero.
func Output(t testing.TB, nsFD int, name string, args ...string) []byte {
	t.Helper()
	cmd, err := Command(nsFD, name, args...)
	if err != nil {
		t.Fatalf("nftest: %v", err)
	}
	defer cmd.ExtraFiles[0].Close()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("nftest: %s %v: %v: %s", name, args, err, ee.Stderr)
		}
		t.Fatalf("nftest: %s %v: %v", name, args, err)
	}
	return out
}
