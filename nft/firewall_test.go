package nft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
	"github.com/google/nftables"
)

// openTest opens a Firewall in a fresh network namespace and returns it
// with the namespace fd.
func openTest(t testing.TB, opts ...Option) (*Firewall, int) {
	t.Helper()
	ns := nftest.NewNetNS(t)
	fw, err := Open(append([]Option{WithNetNSFd(ns)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fw.Close(); err != nil {
			t.Error(err)
		}
	})
	return fw, ns
}

var sshd = JailSpec{Name: "sshd", Ports: []PortRange{{22, 22}}, Protocols: []string{"tcp"}}

func mustSetup(t testing.TB, fw *Firewall, jails ...JailSpec) {
	t.Helper()
	if err := fw.Setup(jails); err != nil {
		t.Fatal(err)
	}
}

func mustList(t testing.TB, fw *Firewall, jail string) []Element {
	t.Helper()
	l, err := fw.List(jail)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// docV4 is the number of IPv4 documentation addresses (RFC 5737): the
// tests use no others.
const docV4 = 3 * 256

// v4 returns the i-th IPv4 documentation address, i < docV4.
func v4(i int) netip.Addr {
	nets := [3][3]byte{{192, 0, 2}, {198, 51, 100}, {203, 0, 113}}
	n := nets[i/256]
	return netip.AddrFrom4([4]byte{n[0], n[1], n[2], byte(i)})
}

// v6 returns the i-th address of 2001:db8::/96.
func v6(i int) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(b[12:], uint32(i))
	return netip.AddrFrom16(b)
}

func TestSetupIdempotentKeepsElements(t *testing.T) {
	fw, ns := openTest(t)
	web := JailSpec{Name: "nginx-http-auth", Ports: []PortRange{{80, 80}, {443, 443}}, Protocols: []string{"tcp"}}
	mustSetup(t, fw, sshd, web)
	bans := []Ban{
		{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.1"), Timeout: time.Hour},
		{Jail: "sshd", Addr: netip.MustParseAddr("2001:db8::1")},
		{Jail: "nginx-http-auth", Addr: netip.MustParseAddr("203.0.113.7"), Timeout: time.Hour},
	}
	if err := fw.Ban(bans); err != nil {
		t.Fatal(err)
	}
	before := countRules(t, fw)
	// A second Setup, also from a new Firewall as after a daemon restart.
	mustSetup(t, fw, sshd, web)
	fw2, err := Open(WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer fw2.Close()
	mustSetup(t, fw2, sshd, web)
	if got := countRules(t, fw); got != before || got != 8 {
		t.Errorf("rules after repeated Setup: %d, before %d, want 8", got, before)
	}
	if l := mustList(t, fw2, "sshd"); len(l) != 2 || l[0].Addr != bans[0].Addr || l[1].Addr != bans[1].Addr {
		t.Errorf("sshd after re-Setup: %+v", l)
	}
	if l := mustList(t, fw2, "nginx-http-auth"); len(l) != 1 || l[0].Addr != bans[2].Addr {
		t.Errorf("nginx-http-auth after re-Setup: %+v", l)
	}
	// Dropping a jail removes its rules but keeps its sets and bans.
	mustSetup(t, fw2, sshd)
	if got := countRules(t, fw); got != 4 {
		t.Errorf("rules after dropping a jail: %d, want 4", got)
	}
	if l := mustList(t, fw2, "nginx-http-auth"); len(l) != 1 {
		t.Errorf("bans of dropped jail: %+v", l)
	}
}

func countRules(t testing.TB, fw *Firewall) int {
	t.Helper()
	rules, err := fw.conn.GetRules(fw.table, fw.chain)
	if err != nil {
		t.Fatal(err)
	}
	return len(rules)
}

func TestBanExpires(t *testing.T) {
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	a4, a6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")
	if err := fw.Ban([]Ban{{Jail: "sshd", Addr: a4, Timeout: 2 * time.Second}, {Jail: "sshd", Addr: a6, Timeout: 2 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	l := mustList(t, fw, "sshd")
	if len(l) != 2 || l[0].Addr != a4 || l[1].Addr != a6 {
		t.Fatalf("List = %+v, want %v and %v", l, a4, a6)
	}
	for _, e := range l {
		if e.Timeout != 2*time.Second || e.Expires <= 0 || e.Expires > 2*time.Second {
			t.Errorf("%v: timeout %v expires %v, want 2s and (0, 2s]", e.Addr, e.Timeout, e.Expires)
		}
	}
	time.Sleep(3 * time.Second)
	if l := mustList(t, fw, "sshd"); len(l) != 0 {
		t.Errorf("after 3s the kernel still holds %+v", l)
	}
}

// TestBanMany bans 5000 IPv4 and 3000 IPv6 addresses in one call and
// counts what the kernel holds. As only 768 IPv4 documentation addresses
// exist, the IPv4 bans are spread over several jails; the 3000 IPv6 bans
// go to one set, beyond the 1638 elements that silently overflow one
// netlink message.
func TestBanMany(t *testing.T) {
	for _, addRefreshes := range []bool{false, true} {
		t.Run(fmt.Sprintf("addRefreshes=%v", addRefreshes), func(t *testing.T) {
			if addRefreshes && !detectedFeatures(t).addRefreshes {
				t.Skip("plain add does not refresh before Linux 6.18")
			}
			testBanMany(t, addRefreshes)
		})
	}
}

func testBanMany(t *testing.T, addRefreshes bool) {
	fw, _ := openTest(t)
	fw.feat.addRefreshes = addRefreshes
	const n4, n6 = 5000, 3000
	jails := []JailSpec{sshd}
	for j := 1; j <= (n4-1)/docV4; j++ {
		jails = append(jails, JailSpec{Name: fmt.Sprintf("jail%d", j)})
	}
	mustSetup(t, fw, jails...)
	bans := make([]Ban, 0, n4+n6)
	want := make(map[string]map[netip.Addr]bool)
	for _, j := range jails {
		want[j.Name] = make(map[netip.Addr]bool)
	}
	for i := range n4 {
		b := Ban{Jail: jails[i/docV4].Name, Addr: v4(i % docV4), Timeout: time.Hour}
		bans = append(bans, b)
		want[b.Jail][b.Addr] = true
	}
	for i := range n6 {
		b := Ban{Jail: "sshd", Addr: v6(i), Timeout: time.Hour}
		bans = append(bans, b)
		want[b.Jail][b.Addr] = true
	}
	if err := fw.Ban(bans); err != nil {
		t.Fatal(err)
	}
	var c4, c6 int
	for _, j := range jails {
		l := mustList(t, fw, j.Name)
		got := make(map[netip.Addr]bool)
		for _, e := range l {
			if e.Addr.Is4() {
				c4++
			} else {
				c6++
			}
			got[e.Addr] = true
			if !want[j.Name][e.Addr] {
				t.Fatalf("jail %s holds unexpected %v", j.Name, e.Addr)
			}
		}
		if len(got) != len(want[j.Name]) || len(l) != len(got) {
			t.Fatalf("jail %s holds %d elements (%d distinct), want %d", j.Name, len(l), len(got), len(want[j.Name]))
		}
	}
	if c4 != n4 || c6 != n6 {
		t.Fatalf("kernel holds %d v4 + %d v6, want %d + %d", c4, c6, n4, n6)
	}
	// Unban them all, in one call as well.
	if err := fw.Unban(bans); err != nil {
		t.Fatal(err)
	}
	for _, j := range jails {
		if l := mustList(t, fw, j.Name); len(l) != 0 {
			t.Errorf("jail %s: %d elements left after unbanning all", j.Name, len(l))
		}
	}
}

func TestRebanRefreshesTimeout(t *testing.T) {
	t.Run("add-del-add", func(t *testing.T) { testReban(t, false) })
	t.Run("add", func(t *testing.T) {
		if !detectedFeatures(t).addRefreshes {
			t.Skip("plain add does not refresh before Linux 6.18")
		}
		testReban(t, true)
	})
}

func detectedFeatures(t *testing.T) features {
	t.Helper()
	f, err := detectFeatures()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func testReban(t *testing.T, addRefreshes bool) {
	fw, _ := openTest(t)
	fw.feat.addRefreshes = addRefreshes
	mustSetup(t, fw, sshd)
	a4, a6 := netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("2001:db8::20")
	ban := func(d time.Duration) {
		t.Helper()
		if err := fw.Ban([]Ban{{Jail: "sshd", Addr: a4, Timeout: d}, {Jail: "sshd", Addr: a6, Timeout: d}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, timeout, minExp, maxExp time.Duration) {
		t.Helper()
		l := mustList(t, fw, "sshd")
		if len(l) != 2 {
			t.Fatalf("%s: List = %+v", step, l)
		}
		for _, e := range l {
			if e.Timeout != timeout || e.Expires < minExp || e.Expires > maxExp {
				t.Errorf("%s: %v timeout %v expires %v, want %v and [%v, %v]", step, e.Addr, e.Timeout, e.Expires, timeout, minExp, maxExp)
			}
		}
	}
	ban(2 * time.Second)
	check("2s", 2*time.Second, 1, 2*time.Second)
	ban(60 * time.Second)
	check("2s then 60s", 60*time.Second, 50*time.Second, 60*time.Second)
	ban(10 * time.Second)
	check("60s then 10s (shortened)", 10*time.Second, 1, 10*time.Second)
	ban(0)
	check("then permanent", 0, 0, 0)
	ban(30 * time.Second)
	check("permanent then 30s", 30*time.Second, 20*time.Second, 30*time.Second)
}

func TestPermanentBan(t *testing.T) {
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	a := netip.MustParseAddr("198.51.100.30")
	// A sub-millisecond timeout must not turn into a permanent ban.
	b := netip.MustParseAddr("198.51.100.31")
	if err := fw.Ban([]Ban{{Jail: "sshd", Addr: a, Timeout: 0}, {Jail: "sshd", Addr: b, Timeout: time.Microsecond}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	l := mustList(t, fw, "sshd")
	if len(l) != 1 || l[0].Addr != a || l[0].Timeout != 0 || l[0].Expires != 0 {
		t.Fatalf("List = %+v, want only %v with no timeout", l, a)
	}
}

func TestUnbanAbsent(t *testing.T) {
	for _, destroy := range []bool{true, false} {
		t.Run(fmt.Sprintf("destroy=%v", destroy), func(t *testing.T) {
			if destroy && !detectedFeatures(t).destroyElem {
				t.Skip("no destroy operation before Linux 6.3")
			}
			fw, _ := openTest(t)
			fw.feat.destroyElem = destroy // false exercises the pre-6.3 path
			mustSetup(t, fw, sshd)
			keep := netip.MustParseAddr("192.0.2.40")
			present := []netip.Addr{netip.MustParseAddr("192.0.2.41"), netip.MustParseAddr("2001:db8::41")}
			var bans []Ban
			for _, a := range append(present, keep) {
				bans = append(bans, Ban{Jail: "sshd", Addr: a, Timeout: time.Hour})
			}
			if err := fw.Ban(bans); err != nil {
				t.Fatal(err)
			}
			unbans := []Ban{
				{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.99")}, // never banned
				{Jail: "sshd", Addr: present[0]},
				{Jail: "sshd", Addr: netip.MustParseAddr("2001:db8::99")}, // never banned
				{Jail: "sshd", Addr: present[1]},
			}
			if err := fw.Unban(unbans); err != nil {
				t.Fatalf("Unban with absent elements: %v", err)
			}
			l := mustList(t, fw, "sshd")
			if len(l) != 1 || l[0].Addr != keep {
				t.Errorf("after Unban: %+v, want only %v", l, keep)
			}
			// Absent elements never appear as a side effect.
			if err := fw.Unban(unbans); err != nil {
				t.Fatal(err)
			}
			if l := mustList(t, fw, "sshd"); len(l) != 1 {
				t.Errorf("after second Unban: %+v", l)
			}
		})
	}
}

func TestBanErrors(t *testing.T) {
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	for _, tc := range []struct {
		name string
		ban  Ban
		want string
	}{
		{"unknown jail", Ban{Jail: "nope", Addr: netip.MustParseAddr("192.0.2.1")}, "f2b-nope-v4"},
		{"zero address", Ban{Jail: "sshd"}, "invalid address"},
		{"negative timeout", Ban{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.1"), Timeout: -time.Second}, "negative timeout"},
	} {
		// The valid ban in front must not be applied: validation comes first.
		err := fw.Ban([]Ban{{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.2")}, tc.ban})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.want)
		}
	}
	if l := mustList(t, fw, "sshd"); len(l) != 0 {
		t.Errorf("failed Ban calls left %+v", l)
	}
	if _, err := fw.List("nope"); err == nil {
		t.Error("List of unknown jail succeeded")
	}
	// A mapped address is banned as IPv4.
	if err := fw.Ban([]Ban{{Jail: "sshd", Addr: netip.MustParseAddr("::ffff:192.0.2.3")}}); err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, fw, "sshd"); len(l) != 1 || l[0].Addr != netip.MustParseAddr("192.0.2.3") {
		t.Errorf("mapped address: %+v", l)
	}
}

func TestSetupErrors(t *testing.T) {
	fw, _ := openTest(t)
	for _, tc := range []struct {
		name  string
		jails []JailSpec
		want  string
	}{
		{"empty name", []JailSpec{{}}, "empty jail name"},
		{"blocktype", []JailSpec{{Name: "a", Blocktype: "tarpit"}}, "blocktype"},
		{"protocol", []JailSpec{{Name: "a", Protocols: []string{"tcpp"}}}, "tcpp"},
		{"icmp with ports", []JailSpec{{Name: "a", Protocols: []string{"icmp"}, Ports: []PortRange{{22, 22}}}}, "no ports"},
		{"duplicate", []JailSpec{{Name: "a"}, {Name: "a"}}, "same set"},
		{"reversed range", []JailSpec{{Name: "a", Ports: []PortRange{{30, 20}}}}, "reversed"},
		{"hook", []JailSpec{{Name: "a", Hook: "ingress"}}, "hook"},
		{"priority", []JailSpec{{Name: "a", Priority: "first"}}, "priority"},
		{"reject at postrouting", []JailSpec{{Name: "a", Hook: "postrouting"}}, "postrouting"},
	} {
		if err := fw.Setup(tc.jails); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.want)
		}
	}
	// Nothing was created by the failed calls.
	if _, err := fw.conn.ListTableOfFamily(fw.table.Name, nftables.TableFamilyINet); err == nil {
		t.Error("failed Setup calls created the table")
	}
	// A foreign set with our name but the wrong shape is refused.
	fw.conn.AddTable(fw.table)
	if err := fw.conn.AddSet(&nftables.Set{Table: fw.table, Name: SetName("sshd", false), KeyType: nftables.TypeIPAddr}, nil); err != nil {
		t.Fatal(err)
	}
	if err := fw.conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Setup([]JailSpec{sshd}); err == nil || !strings.Contains(err.Error(), "timeouts") {
		t.Errorf("Setup over a set without timeouts: %v", err)
	}
	// And the refused Setup left no chain behind.
	if _, err := fw.conn.ListChain(fw.table, ChainName); err == nil {
		t.Error("refused Setup created the chain")
	}
}

// TestConcurrentUse bans from several goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var bans []Ban
			for i := w; i < docV4; i += workers {
				bans = append(bans, Ban{Jail: "sshd", Addr: v4(i), Timeout: time.Hour})
			}
			for i := range 8 {
				bans = append(bans, Ban{Jail: "sshd", Addr: v6(w*8 + i)})
			}
			errs <- fw.Ban(bans)
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if l := mustList(t, fw, "sshd"); len(l) != docV4+workers*8 {
		t.Errorf("List has %d elements, want %d", len(l), docV4+workers*8)
	}
}
