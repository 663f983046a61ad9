package nft

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
	"github.com/f2bd/f2bd/nft/nftest"
	"golang.org/x/sys/unix"
)

// linkNamespaces connects namespace a (192.0.2.1, 2001:db8::1) and b
// (192.0.2.2, 2001:db8::2) with a veth pair, using ip(8).
func linkNamespaces(t *testing.T, a, b int) {
	t.Helper()
	// ip(8) accepts a namespace path for "netns"; hand it b as fd 4.
	cmd, err := nftest.Command(a, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", "/proc/self/fd/4")
	if err != nil {
		t.Fatal(err)
	}
	dup, err := unix.FcntlInt(uintptr(b), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fb := os.NewFile(uintptr(dup), "netns-b")
	cmd.ExtraFiles = append(cmd.ExtraFiles, fb)
	out, err := cmd.CombinedOutput()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	for _, c := range []struct {
		ns   int
		args []string
	}{
		{a, []string{"addr", "add", "192.0.2.1/24", "dev", "va"}},
		{a, []string{"addr", "add", "2001:db8::1/64", "dev", "va", "nodad"}},
		{a, []string{"link", "set", "va", "up"}},
		{a, []string{"link", "set", "lo", "up"}},
		{b, []string{"addr", "add", "192.0.2.2/24", "dev", "vb"}},
		{b, []string{"addr", "add", "2001:db8::2/64", "dev", "vb", "nodad"}},
		{b, []string{"link", "set", "vb", "up"}},
		{b, []string{"link", "set", "lo", "up"}},
	} {
		nftest.Output(t, c.ns, "ip", c.args...)
	}
}

// listen opens a TCP listener in namespace ns that accepts and closes
// connections until the test ends.
func listen(t *testing.T, ns int, addr string) {
	t.Helper()
	var ln net.Listener
	if err := nftest.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// dial connects from namespace ns and reports the error, nil on success.
func dial(t *testing.T, ns int, addr string, timeout time.Duration) error {
	t.Helper()
	var dialErr error
	if err := nftest.Do(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			c.Close()
		}
		dialErr = err
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return dialErr
}

// TestPacketsBlocked sends real TCP connections over a veth pair from
// namespace b to namespace a and checks that a banned source is rejected
// (reject jail) or dropped (drop jail) on the jail's port only, and
// accepted again after Unban.
func TestPacketsBlocked(t *testing.T) {
	a, b := nftest.NewNetNS(t), nftest.NewNetNS(t)
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(t, "ip(8) not installed")
	}
	linkNamespaces(t, a, b)
	fw, err := Open(WithNetNSFd(a))
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	const rejPort, dropPort, freePort = 2222, 2223, 2224
	mustSetup(t, fw,
		JailSpec{Name: "rej", Ports: []PortRange{{rejPort, rejPort}}, Protocols: []string{"tcp"}},
		JailSpec{Name: "drp", Ports: []PortRange{{dropPort, dropPort}}, Protocols: []string{"tcp"}, Blocktype: "drop"},
	)
	for _, host := range []string{"192.0.2.1", "2001:db8::1"} {
		for _, p := range []int{rejPort, dropPort, freePort} {
			listen(t, a, net.JoinHostPort(host, strconv.Itoa(p)))
		}
	}
	for _, tc := range []struct{ src, dst string }{{"192.0.2.2", "192.0.2.1"}, {"2001:db8::2", "2001:db8::1"}} {
		to := func(p int) string { return net.JoinHostPort(tc.dst, strconv.Itoa(p)) }
		for _, p := range []int{rejPort, dropPort, freePort} {
			// The first SYN may be lost while the fresh link comes up.
			if err := dial(t, b, to(p), 5*time.Second); err != nil {
				t.Fatalf("%s before ban: %v", to(p), err)
			}
		}
		src := netip.MustParseAddr(tc.src)
		bans := []Ban{{Jail: "rej", Addr: src, Timeout: time.Minute}, {Jail: "drp", Addr: src, Timeout: time.Minute}}
		if err := fw.Ban(bans); err != nil {
			t.Fatal(err)
		}
		// The first ICMP error may reach the client while connect() holds
		// the socket lock (veth delivers at once); Linux then keeps it as a
		// soft error and retransmits the SYN after 1s, whose reject counts.
		if err := dial(t, b, to(rejPort), 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s from banned %s: %v, want connection refused", to(rejPort), src, err)
		}
		var ne net.Error
		if err := dial(t, b, to(dropPort), 500*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s from banned %s: %v, want timeout (dropped)", to(dropPort), src, err)
		}
		if err := dial(t, b, to(freePort), time.Second); err != nil {
			t.Errorf("%s (no jail) from banned %s: %v", to(freePort), src, err)
		}
		if err := fw.Unban(bans); err != nil {
			t.Fatal(err)
		}
		for _, p := range []int{rejPort, dropPort} {
			if err := dial(t, b, to(p), time.Second); err != nil {
				t.Errorf("%s after unban: %v", to(p), err)
			}
		}
	}
}

// TestPrefixBlocksAndCounters bans the client's subnets (not its address)
// and checks with real TCP connections that the whole prefix is
// rejected, that the rules' counters, read back with Counters, count the
// blocked packets per jail and family, and that Unban lifts the ban.
func TestPrefixBlocksAndCounters(t *testing.T) {
	a, b := nftest.NewNetNS(t), nftest.NewNetNS(t)
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(t, "ip(8) not installed")
	}
	linkNamespaces(t, a, b)
	fw, err := Open(WithNetNSFd(a))
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	const port, other = 2222, 2223
	mustSetup(t, fw,
		JailSpec{Name: "net", Ports: []PortRange{{port, port}}, Protocols: []string{"tcp"}},
		JailSpec{Name: "idle", Ports: []PortRange{{other, other}}, Protocols: []string{"tcp"}},
	)
	for _, host := range []string{"192.0.2.1", "2001:db8::1"} {
		listen(t, a, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	bans := []Ban{
		{Jail: "net", Prefix: netip.MustParsePrefix("192.0.2.0/30"), Timeout: time.Minute},
		{Jail: "net", Prefix: netip.MustParsePrefix("2001:db8::/64"), Timeout: time.Minute},
	}
	for _, dst := range []string{"192.0.2.1", "2001:db8::1"} {
		to := net.JoinHostPort(dst, strconv.Itoa(port))
		if err := dial(t, b, to, 5*time.Second); err != nil {
			t.Fatalf("%s before ban: %v", to, err)
		}
		if err := fw.Ban(bans); err != nil {
			t.Fatal(err)
		}
		if err := dial(t, b, to, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s from a banned subnet: %v, want connection refused", to, err)
		}
		if err := fw.Unban(bans); err != nil {
			t.Fatal(err)
		}
		if err := dial(t, b, to, time.Second); err != nil {
			t.Errorf("%s after unban: %v", to, err)
		}
	}
	c, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	n := c["net"]
	if len(c) != 2 || n.IPv4.Packets == 0 || n.IPv6.Packets == 0 || n.IPv4.Bytes < 40*n.IPv4.Packets ||
		n.Packets != n.IPv4.Packets+n.IPv6.Packets || n.Bytes != n.IPv4.Bytes+n.IPv6.Bytes || c["idle"] != (JailCounter{}) {
		t.Errorf("Counters = %+v", c)
	}
	t.Logf("counters: %+v", c)
	// The counters restart when Setup recreates the rules.
	mustSetup(t, fw, JailSpec{Name: "net", Ports: []PortRange{{port, port}}, Protocols: []string{"tcp"}})
	if c, err := fw.Counters(); err != nil || len(c) != 1 || c["net"] != (JailCounter{}) {
		t.Errorf("Counters after Setup = %+v, %v", c, err)
	}
}
