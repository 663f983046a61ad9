package nft

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
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

// rejectPort stands for the per-family "reject with icmp(v6)
// port-unreachable" in jailRules.
const rejectPort = "reject"

// jailRules returns the four rules nft(8) lists for a jail: match, then
// the source address in each of the jail's sets (IPv4 addresses, IPv4
// prefixes, IPv6 addresses, IPv6 prefixes), counter and verdict; the
// verdict rejectPort becomes each family's port unreachable.
func jailRules(match, jail, verdict string) []string {
	var out []string
	for _, f := range []struct{ sel, set, icmp string }{
		{"ip", "v4", "icmp"}, {"ip", "net4", "icmp"}, {"ip6", "v6", "icmpv6"}, {"ip6", "net6", "icmpv6"},
	} {
		v := verdict
		if v == rejectPort {
			v = "reject with " + f.icmp + " port-unreachable"
		}
		r := fmt.Sprintf("%s saddr @f2b-%s-%s counter %s", f.sel, jail, f.set, v)
		if match != "" {
			r = match + " " + r
		}
		out = append(out, r)
	}
	return out
}

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

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
	compareLines(t, chainLines(t, ns, "f2b-test"), concat(
		[]string{"type filter hook input priority filter - 1; policy accept;"},
		jailRules("tcp dport 22", "sshd", rejectPort),
		jailRules("tcp dport { 80, 443 }", "web", rejectPort),
		jailRules("meta l4proto { tcp, udp } th dport 1000-2000", "range", rejectPort),
		jailRules("meta l4proto { tcp, udp, dccp, sctp, udplite } th dport { 22, 1000-2000, 60000-65535 }", "mixed", "drop"),
		jailRules("", "all", rejectPort),
		jailRules("meta l4proto udp", "udp-all", rejectPort),
	))

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
	compareLines(t, chainLines(t, ns, "f2b-test"), concat(
		[]string{"type filter hook input priority filter - 1; policy accept;"},
		jailRules("tcp dport 2222", "sshd", rejectPort),
	))
	if l := mustList(t, fw, "sshd"); len(l) != 2 {
		t.Errorf("bans after reconfiguration: %+v", l)
	}
}

// chainOf lists one chain like chainLines.
func chainOf(t *testing.T, ns int, table, chain string) []string {
	t.Helper()
	out := nftest.Output(t, ns, "nft", "list", "chain", "inet", table, chain)
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

// TestRulesHooksBlocktypes checks the base chains made for hooks and
// priorities, the rules of fail2ban's blocktype spellings, and that
// chains no jail uses any more are deleted.
func TestRulesHooksBlocktypes(t *testing.T) {
	fw, ns := openTest(t)
	mustSetup(t, fw,
		JailSpec{Name: "ssh-rst", Ports: []PortRange{{22, 22}}, Protocols: []string{"tcp"}, Blocktype: "REJECT --reject-with tcp-reset"},
		JailSpec{Name: "dns", Ports: []PortRange{{53, 53}}, Protocols: []string{"tcp", "udp"}, Blocktype: "reject with tcp reset"},
		JailSpec{Name: "fwd", Hook: "forward", Priority: "raw", Blocktype: "DROP"},
		JailSpec{Name: "prohib", Priority: "filter + 5", Blocktype: "REJECT --reject-with icmp-host-prohibited"},
		JailSpec{Name: "pre", Hook: "prerouting", Priority: "-200", Blocktype: "reject with icmpx type admin-prohibited"},
		JailSpec{Name: "pre2", Hook: "PREROUTING", Priority: "dstnat - 100", Blocktype: "reject with icmp type host-unreachable"},
	)
	compareLines(t, chainOf(t, ns, DefaultTable, ChainName), concat(
		[]string{"type filter hook input priority filter - 1; policy accept;"},
		// TCP gets a reset; the tcp-only jail needs no second rule.
		jailRules("tcp dport 22", "ssh-rst", "reject with tcp reset"),
		interleave(
			jailRules("tcp dport 53", "dns", "reject with tcp reset"),
			jailRules("meta l4proto { tcp, udp } th dport 53", "dns", rejectPort)),
	))
	compareLines(t, chainOf(t, ns, DefaultTable, "forward_m300"), concat(
		[]string{"type filter hook forward priority raw; policy accept;"},
		jailRules("", "fwd", "drop"),
	))
	prohib := jailRules("", "prohib", "reject with icmp host-prohibited")
	prohib[2] = strings.Replace(prohib[2], "icmp host-prohibited", "icmpv6 admin-prohibited", 1)
	prohib[3] = strings.Replace(prohib[3], "icmp host-prohibited", "icmpv6 admin-prohibited", 1)
	compareLines(t, chainOf(t, ns, DefaultTable, "input_p5"), concat(
		[]string{"type filter hook input priority filter + 5; policy accept;"},
		prohib,
	))
	pre := jailRules("", "pre", "reject with icmp admin-prohibited")
	pre[2] = strings.Replace(pre[2], "icmp admin", "icmpv6 admin", 1)
	pre[3] = strings.Replace(pre[3], "icmp admin", "icmpv6 admin", 1)
	pre2 := jailRules("", "pre2", "reject with icmp host-unreachable")
	pre2[2] = strings.Replace(pre2[2], "icmp host-unreachable", "icmpv6 addr-unreachable", 1)
	pre2[3] = strings.Replace(pre2[3], "icmp host-unreachable", "icmpv6 addr-unreachable", 1)
	// Same hook and priority (-200): one chain.
	compareLines(t, chainOf(t, ns, DefaultTable, "prerouting_m200"), concat(
		[]string{"type filter hook prerouting priority -200; policy accept;"},
		pre, pre2,
	))

	// Jails moved back to the default chain: the others are deleted.
	mustSetup(t, fw, sshd)
	out := string(nftest.Output(t, ns, "nft", "list", "table", "inet", DefaultTable))
	for _, c := range []string{"forward_m300", "input_p5", "prerouting_m200"} {
		if strings.Contains(out, "chain "+c) {
			t.Errorf("chain %s left after Setup:\n%s", c, out)
		}
	}
}

// interleave merges the per-set rules of a two-rule jail: for each set,
// the TCP rule, then the other one.
func interleave(a, b []string) []string {
	var out []string
	for i := range a {
		out = append(out, a[i], b[i])
	}
	return out
}

func TestParseBlocktype(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want block
	}{
		{"", portUnreachable},
		{"reject", portUnreachable},
		{"REJECT", portUnreachable},
		{"drop", block{drop: true}},
		{"DROP", block{drop: true}},
		{"REJECT --reject-with icmp-port-unreachable", portUnreachable},
		{"REJECT --reject-with icmp6-port-unreachable", portUnreachable},
		{"REJECT --reject-with tcp-reset", block{tcpReset: true, code4: 3, code6: 4}},
		{"REJECT --reject-with icmp-host-prohibited", block{code4: 10, code6: 1}},
		{"REJECT --reject-with icmp6-adm-prohibited", block{code4: 13, code6: 1}},
		{"reject with icmp type host-unreachable", block{code4: 1, code6: 3}},
		{"reject with icmpv6 type no-route", block{code4: 0, code6: 0}},
		{"reject with icmpx admin-prohibited", block{code4: 13, code6: 1}},
		{"reject  with  tcp  reset", block{tcpReset: true, code4: 3, code6: 4}},
	} {
		got, err := parseBlocktype(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"tarpit", "reject with icmp type bogus", "REJECT --reject-with", "counter drop", "reject with tcp"} {
		if _, err := parseBlocktype(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]int32{
		"": -1, "-1": -1, "0": 0, "filter": 0, "filter - 1": -1, "filter-1": -1,
		"raw": -300, "raw+5": -295, " mangle + 10 ": -140, "dstnat": -100, "security": 50, "srcnat": 100, "-200": -200,
	} {
		if got, err := parsePriority(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"bogus", "filter*2", "filter - x", "99999999999"} {
		if _, err := parsePriority(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, tc := range []struct {
		k    chainKey
		name string
	}{{chainKey{"input", -1}, "input"}, {chainKey{"forward", -300}, "forward_m300"}, {chainKey{"input", 0}, "input_p0"}} {
		if tc.k.name() != tc.name || !isChainName(tc.name) {
			t.Errorf("%+v: name %q", tc.k, tc.k.name())
		}
	}
	for _, n := range []string{"f2b-chain", "input_x", "bogus", "input_m", "input_m-1"} {
		if isChainName(n) {
			t.Errorf("isChainName(%q)", n)
		}
	}
}
