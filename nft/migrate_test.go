package nft

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
)

// oldRuleset is the ruleset of the previous f2bd version, which had only
// address sets (flags timeout), written with nft(8) as a foreign tool
// would, bans included.
const oldRuleset = `table inet f2b {
	set f2b-sshd-v4 {
		type ipv4_addr
		flags timeout
		elements = { 192.0.2.1 timeout 1h, 192.0.2.2 }
	}
	set f2b-sshd-v6 {
		type ipv6_addr
		flags timeout
		elements = { 2001:db8::1 timeout 30m }
	}
	chain input {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip saddr @f2b-sshd-v4 counter reject
		tcp dport 22 ip6 saddr @f2b-sshd-v6 counter reject
	}
	chain forward_m300 {
		type filter hook forward priority raw; policy accept;
	}
}
`

// TestMigrateAddressOnlyTable runs Setup over the table of the previous
// version: the address sets are kept as they are, bans and their remaining
// timeouts included; prefix sets and rules are added, and a base chain of
// f2bd's naming that no jail uses is deleted.
func TestMigrateAddressOnlyTable(t *testing.T) {
	ns := nftest.NewNetNS(t)
	file := filepath.Join(t.TempDir(), "old.nft")
	if err := os.WriteFile(file, []byte(oldRuleset), 0o600); err != nil {
		t.Fatal(err)
	}
	nftest.Output(t, ns, "nft", "-f", file)
	time.Sleep(1100 * time.Millisecond) // let the old bans age

	fw, err := Open(WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	before := mustList(t, fw, "sshd") // works before Setup: no prefix sets yet
	if len(before) != 3 {
		t.Fatalf("old bans: %+v", before)
	}
	mustSetup(t, fw, sshd)
	after := mustList(t, fw, "sshd")
	if len(after) != 3 {
		t.Fatalf("bans after Setup: %+v", after)
	}
	for i, e := range after {
		b := before[i]
		if e.Addr != b.Addr || e.Timeout != b.Timeout || e.Expires > b.Expires {
			t.Errorf("ban %d: %+v, before Setup %+v", i, e, b)
		}
		if e.Timeout != 0 && (e.Expires >= e.Timeout-time.Second || e.Expires < e.Timeout-time.Minute) {
			t.Errorf("%v: expires %v of %v: remaining time not kept", e.Addr, e.Expires, e.Timeout)
		}
	}
	compareLines(t, chainLines(t, ns, DefaultTable), concat(
		[]string{"type filter hook input priority filter - 1; policy accept;"},
		jailRules("tcp dport 22", "sshd", rejectPort),
	))
	if out := string(nftest.Output(t, ns, "nft", "list", "table", "inet", DefaultTable)); strings.Contains(out, "forward_m300") ||
		!strings.Contains(out, "set f2b-sshd-net4") || !strings.Contains(out, "flags interval,timeout") {
		t.Errorf("table after Setup:\n%s", out)
	}
	// Both kinds of ban work on the migrated table.
	if err := fw.Ban([]Ban{
		{Jail: "sshd", Prefix: netip.MustParsePrefix("198.51.100.0/24"), Timeout: time.Hour},
		{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.3"), Timeout: time.Hour},
	}); err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, fw, "sshd"); len(l) != 5 {
		t.Errorf("after new bans: %+v", l)
	}
}
