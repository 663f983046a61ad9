package nftest

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func inode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func currentNS(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestNewNetNS(t *testing.T) {
	host := currentNS(t)
	a, b := NewNetNS(t), NewNetNS(t)
	if inode(t, a) == host || inode(t, b) == host || inode(t, a) == inode(t, b) {
		t.Fatal("namespaces are not distinct from each other and the host's")
	}
	if currentNS(t) != host {
		t.Fatal("NewNetNS left the thread in another namespace")
	}
	var inside uint64
	if err := Do(a, func() error { inside = currentNS(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != inode(t, a) {
		t.Errorf("Do ran in namespace %d, want %d", inside, inode(t, a))
	}
	if currentNS(t) != host {
		t.Fatal("Do left the thread in another namespace")
	}
	// A command sees the fresh namespace: only a loopback link.
	out := string(Output(t, a, "ip", "-o", "link", "show"))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "lo:") {
		t.Errorf("ip link in new namespace:\n%s", out)
	}
}
