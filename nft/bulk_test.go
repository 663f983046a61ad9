package nft

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
)

// bulkV4 is the number of addresses in 198.18.0.0/15, the benchmarking
// range of RFC 2544, which the tests use for IPv4 bulk (more than the
// 768 documentation addresses).
const bulkV4 = 1 << 17

// benchV4 returns the i-th address of 198.18.0.0/15 (RFC 2544), i < bulkV4.
func benchV4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
}

// bulkBans returns n4 IPv4 bans from 198.18.0.0/15 and n6 IPv6 bans from
// 2001:db8::/96 for jail.
func bulkBans(jail string, n4, n6 int) []Ban {
	bans := make([]Ban, 0, n4+n6)
	for i := range n4 {
		bans = append(bans, Ban{Jail: jail, Addr: benchV4(i), Timeout: time.Hour})
	}
	for i := range n6 {
		bans = append(bans, Ban{Jail: jail, Addr: v6(i), Timeout: time.Hour})
	}
	return bans
}

// nftCount counts the elements of a set with "nft -j list set" in the
// namespace.
func nftCount(t *testing.T, ns int, set string) int {
	t.Helper()
	var dump struct {
		Nftables []struct {
			Set *struct{ Elem []json.RawMessage }
		}
	}
	if err := json.Unmarshal(nftest.Output(t, ns, "nft", "-j", "list", "set", "inet", DefaultTable, set), &dump); err != nil {
		t.Fatal(err)
	}
	for _, o := range dump.Nftables {
		if o.Set != nil {
			return len(o.Set.Elem)
		}
	}
	t.Fatalf("nft -j list set %s: no set", set)
	return 0
}

// TestBan120k bans 100000 IPv4 and 20000 IPv6 addresses in one call: the
// kernel then holds exactly that many, by List and by nft(8).
func TestBan120k(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n4, n6 = 100000, 20000
	fw, ns := openTest(t)
	mustSetup(t, fw, sshd)
	bans := bulkBans("sshd", n4, n6)
	start := time.Now()
	if err := fw.Ban(bans); err != nil {
		t.Fatal(err)
	}
	banned := time.Since(start)
	start = time.Now()
	l := mustList(t, fw, "sshd")
	listed := time.Since(start)
	t.Logf("Ban of %d: %v (%.0f bans/s); List: %v", n4+n6, banned.Round(time.Millisecond), float64(n4+n6)/banned.Seconds(), listed.Round(time.Millisecond))
	var c4, c6 int
	seen := make(map[netip.Addr]bool, len(l))
	for _, e := range l {
		if e.Addr.Is4() {
			c4++
		} else {
			c6++
		}
		seen[e.Addr] = true
	}
	if c4 != n4 || c6 != n6 || len(seen) != n4+n6 {
		t.Errorf("List: %d IPv4 + %d IPv6 (%d distinct), want %d + %d", c4, c6, len(seen), n4, n6)
	}
	for _, b := range []Ban{bans[0], bans[n4-1], bans[n4], bans[len(bans)-1]} {
		if !seen[b.Addr] {
			t.Errorf("%v missing", b.Addr)
		}
	}
	if got := nftCount(t, ns, "f2b-sshd-v4"); got != n4 {
		t.Errorf("nft counts %d in f2b-sshd-v4, want %d", got, n4)
	}
	if got := nftCount(t, ns, "f2b-sshd-v6"); got != n6 {
		t.Errorf("nft counts %d in f2b-sshd-v6, want %d", got, n6)
	}
}
