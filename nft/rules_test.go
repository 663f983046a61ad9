package nft

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
)

var counterRE = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// chainLines lists our chain with nft(8) inside the namespace and returns
// its lines, trimmed, with counter values removed.
func chainLines(t *testing.T, ns int, table string) []string {
	t.Helper()
	out := nftest.Output(t, ns, "nft", "list", "chain", "inet", table, ChainName)
	var lines []string
	for l := range strings.SplitSeq(string(out), "\n") {
		l = strings.TrimSpace(counterRE.ReplaceAllString(l, "counter"))
		if l == "" || strings.HasPrefix(l, "table ") || strings.HasPrefix(l, "chain ") || l == "}" {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

func compareLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("nft list chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRules checks, with nft(8) run in the namespace, the chain and rules
// Setup builds for the various port and protocol shapes, and that a new
// Setup replaces them.
func TestRules(t *testing.T) {
	fw, ns := openTest(t, WithTable("f2b-test"))
	mustSetup(t, fw,
		sshd,
		JailSpec{Name: "web", Ports: []PortRange{{443, 443}, {80, 80}}, Protocols: []string{"tcp"}},
		JailSpec{Name: "range", Ports: []PortRange{{1000, 2000}}, Protocols: []string{"udp", "tcp", "tcp"}},
		JailSpec{Name: "mixed", Ports: []PortRange{{22, 22}, {1000, 2000}, {60000, 65535}}, Blocktype: "drop"},
		JailSpec{Name: "all", Ports: []PortRange{{0, 65535}}, Protocols: []string{"all"}},
		JailSpec{Name: "udp-all", Protocols: []string{"udp"}},
	)
	compareLines(t, chainLines(t, ns, "f2b-test"), []string{
		"type filter hook input priority filter - 1; policy accept;",
		"tcp dport 22 ip saddr @f2b-sshd-v4 counter reject with icmp port-unreachable",
		"tcp dport 22 ip6 saddr @f2b-sshd-v6 counter reject with icmpv6 port-unreachable",
		"tcp dport { 80, 443 } ip saddr @f2b-web-v4 counter reject with icmp port-unreachable",
		"tcp dport { 80, 443 } ip6 saddr @f2b-web-v6 counter reject with icmpv6 port-unreachable",
		"meta l4proto { tcp, udp } th dport 1000-2000 ip saddr @f2b-range-v4 counter reject with icmp port-unreachable",
		"meta l4proto { tcp, udp } th dport 1000-2000 ip6 saddr @f2b-range-v6 counter reject with icmpv6 port-unreachable",
		"meta l4proto { tcp, udp, dccp, sctp, udplite } th dport { 22, 1000-2000, 60000-65535 } ip saddr @f2b-mixed-v4 counter drop",
		"meta l4proto { tcp, udp, dccp, sctp, udplite } th dport { 22, 1000-2000, 60000-65535 } ip6 saddr @f2b-mixed-v6 counter drop",
		"ip saddr @f2b-all-v4 counter reject with icmp port-unreachable",
		"ip6 saddr @f2b-all-v6 counter reject with icmpv6 port-unreachable",
		"meta l4proto udp ip saddr @f2b-udp-all-v4 counter reject with icmp port-unreachable",
		"meta l4proto udp ip6 saddr @f2b-udp-all-v6 counter reject with icmpv6 port-unreachable",
	})

	set := string(nftest.Output(t, ns, "nft", "list", "set", "inet", "f2b-test", "f2b-sshd-v6"))
	if !strings.Contains(set, "type ipv6_addr") || !strings.Contains(set, "flags timeout") {
		t.Errorf("set f2b-sshd-v6:\n%s", set)
	}

	// nft(8) sees the bans as List reports them.
	if err := fw.Ban([]Ban{
		{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.50"), Timeout: time.Hour},
		{Jail: "sshd", Addr: netip.MustParseAddr("192.0.2.51")},
	}); err != nil {
		t.Fatal(err)
	}
	set = string(nftest.Output(t, ns, "nft", "list", "set", "inet", "f2b-test", "f2b-sshd-v4"))
	if !regexp.MustCompile(`192\.0\.2\.50 timeout 1h expires (1h|59m[0-9ms]+)[ ,\n]`).MatchString(set) ||
		!regexp.MustCompile(`192\.0\.2\.51[ ,\n]`).MatchString(set) || strings.Contains(set, "192.0.2.51 timeout") {
		t.Errorf("set f2b-sshd-v4 after Ban:\n%s", set)
	}

	// A changed configuration replaces the rules, keeping the bans.
	mustSetup(t, fw, JailSpec{Name: "sshd", Ports: []PortRange{{2222, 2222}}, Protocols: []string{"tcp"}})
	compareLines(t, chainLines(t, ns, "f2b-test"), []string{
		"type filter hook input priority filter - 1; policy accept;",
		"tcp dport 2222 ip saddr @f2b-sshd-v4 counter reject with icmp port-unreachable",
		"tcp dport 2222 ip6 saddr @f2b-sshd-v6 counter reject with icmpv6 port-unreachable",
	})
	if l := mustList(t, fw, "sshd"); len(l) != 2 {
		t.Errorf("bans after reconfiguration: %+v", l)
	}
}
