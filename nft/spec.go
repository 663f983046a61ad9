package nft

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// block is a parsed blocktype: what a rule does to a banned packet.
type block struct {
	drop bool
	// tcpReset: TCP packets get a TCP reset; other packets get the ICMP
	// codes below.
	tcpReset bool
	// code4 and code6 are the ICMP and ICMPv6 destination-unreachable
	// codes of a reject.
	code4, code6 uint8
}

// ICMP (RFC 792, RFC 1812) and ICMPv6 (RFC 4443) destination-unreachable
// codes, per reject reason: {ICMP code, ICMPv6 code}. ICMPv6 has fewer
// reasons; each ICMP one maps to its closest ICMPv6 counterpart, as
// ip6tables' manual pairs them.
var rejectCodes = map[string][2]uint8{
	"net-unreachable":   {0, 0},
	"no-route":          {0, 0},
	"host-unreachable":  {1, 3},
	"addr-unreachable":  {1, 3},
	"prot-unreachable":  {2, 4},
	"proto-unreachable": {2, 4},
	"port-unreachable":  {3, 4},
	"net-prohibited":    {9, 1},
	"host-prohibited":   {10, 1},
	"admin-prohibited":  {13, 1},
	"adm-prohibited":    {13, 1},
}

var portUnreachable = block{code4: 3, code6: 4}

// parseBlocktype understands the blocktype spellings of fail2ban's
// nftables and iptables actions, case-insensitively:
//
//	""  reject  drop  DROP  REJECT
//	reject with icmp type host-unreachable     (also icmpv6, icmpx; "type" optional)
//	reject with tcp reset
//	REJECT --reject-with icmp-port-unreachable (icmp6-…, tcp-reset)
//
// A plain reject sends ICMP/ICMPv6 port unreachable. An ICMP reason
// applies to both families (its ICMPv6 counterpart for IPv6). A TCP reset
// applies to TCP packets; other protocols get port unreachable.
func parseBlocktype(s string) (block, error) {
	f := strings.Fields(strings.ToLower(s))
	switch {
	case len(f) == 0, len(f) == 1 && f[0] == BlocktypeReject:
		return portUnreachable, nil
	case len(f) == 1 && f[0] == BlocktypeDrop:
		return block{drop: true}, nil
	case len(f) == 3 && f[0] == "reject" && f[1] == "--reject-with":
		name := f[2]
		if name == "tcp-reset" {
			return block{tcpReset: true, code4: 3, code6: 4}, nil
		}
		for _, p := range []string{"icmp6-", "icmp-"} {
			name = strings.TrimPrefix(name, p)
		}
		if c, ok := rejectCodes[name]; ok {
			return block{code4: c[0], code6: c[1]}, nil
		}
	case len(f) >= 3 && f[0] == "reject" && f[1] == "with":
		rest := f[2:]
		if len(rest) == 2 && rest[0] == "tcp" && rest[1] == "reset" {
			return block{tcpReset: true, code4: 3, code6: 4}, nil
		}
		if len(rest) == 3 && rest[1] == "type" {
			rest = []string{rest[0], rest[2]}
		}
		if len(rest) == 2 && (rest[0] == "icmp" || rest[0] == "icmpv6" || rest[0] == "icmpx") {
			if c, ok := rejectCodes[rest[1]]; ok {
				return block{code4: c[0], code6: c[1]}, nil
			}
		}
	}
	return block{}, fmt.Errorf("unsupported blocktype %q (want drop, reject, \"reject with icmp|icmpv6|icmpx type <reason>\", \"reject with tcp reset\" or an iptables REJECT --reject-with spelling)", s)
}

// Chain defaults: fail2ban's nftables action hooks a filter chain at input
// with priority -1.
const (
	DefaultHook = "input"
)

var hookNums = map[string]nftables.ChainHook{
	"prerouting":  unix.NF_INET_PRE_ROUTING,
	"input":       unix.NF_INET_LOCAL_IN,
	"forward":     unix.NF_INET_FORWARD,
	"output":      unix.NF_INET_LOCAL_OUT,
	"postrouting": unix.NF_INET_POST_ROUTING,
}

// Standard priority names of the inet family as nft(8) defines them.
var priorityNames = map[string]int32{
	"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100,
}

// parsePriority parses a chain priority as fail2ban's chain_priority and
// nft(8) write it: a number ("-1") or a standard name with an optional
// offset ("filter", "filter - 1", "raw+5"). Empty means ChainPriority.
func parsePriority(s string) (int32, error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if s == "" {
		return ChainPriority, nil
	}
	if v, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int32(v), nil
	}
	name, off, sign := s, "", int64(1)
	if i := strings.IndexAny(s, "+-"); i > 0 {
		name, off = s[:i], s[i+1:]
		if s[i] == '-' {
			sign = -1
		}
	}
	base, ok := priorityNames[name]
	if !ok {
		return 0, fmt.Errorf("unknown chain priority %q (want a number or raw, mangle, dstnat, filter, security, srcnat with an optional ±offset)", s)
	}
	if off == "" {
		return base, nil
	}
	n, err := strconv.ParseInt(off, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("chain priority %q: bad offset", s)
	}
	v := int64(base) + sign*n
	if v < -1<<31 || v > 1<<31-1 {
		return 0, fmt.Errorf("chain priority %q out of range", s)
	}
	return int32(v), nil
}

// chainKey identifies one base chain: its hook and priority.
type chainKey struct {
	hook string
	prio int32
}

// name returns the chain's name in f2bd's table: the hook's name for the
// default priority (so the default chain is ChainName, "input"), otherwise
// the hook and the priority, as in "prerouting_m300" or "forward_p10".
func (k chainKey) name() string {
	switch {
	case k.prio == ChainPriority:
		return k.hook
	case k.prio < 0:
		return fmt.Sprintf("%s_m%d", k.hook, -int64(k.prio))
	default:
		return fmt.Sprintf("%s_p%d", k.hook, k.prio)
	}
}

// isChainName reports whether name is one that chainKey.name produces, so
// that Setup may delete such a chain when no jail uses it any more.
func isChainName(name string) bool {
	hook, suffix, found := strings.Cut(name, "_")
	if _, ok := hookNums[hook]; !ok {
		return false
	}
	if !found {
		return true
	}
	if len(suffix) < 2 || suffix[0] != 'm' && suffix[0] != 'p' {
		return false
	}
	_, err := strconv.ParseUint(suffix[1:], 10, 32)
	return err == nil
}
