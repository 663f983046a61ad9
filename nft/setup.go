package nft

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Blocktypes accepted in JailSpec.Blocktype.
const (
	BlocktypeReject = "reject"
	BlocktypeDrop   = "drop"
)

// JailSpec describes the firewall rules of one jail.
type JailSpec struct {
	// Name is the jail name; it determines the set names (see SetName).
	Name string
	// Ports restricts the rules to these destination ports; empty (or the
	// full range 0:65535) means all ports, like fail2ban's "allports".
	Ports []PortRange
	// Protocols lists layer-4 protocols by name ("tcp", "udp", "sctp",
	// "dccp", "udplite", "icmp", "icmpv6") or number. Empty, or "all",
	// means any protocol; but when Ports is restricted, the protocols that
	// carry ports (tcp, udp, udplite, sctp, dccp) are used instead.
	Protocols []string
	// Blocktype is BlocktypeReject (the default when empty, as in
	// fail2ban's nftables action: ICMP/ICMPv6 port unreachable) or
	// BlocktypeDrop.
	Blocktype string
}

var protoNumbers = map[string]byte{
	"icmp": unix.IPPROTO_ICMP, "tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP,
	"dccp": unix.IPPROTO_DCCP, "sctp": unix.IPPROTO_SCTP, "udplite": unix.IPPROTO_UDPLITE,
	"icmpv6": unix.IPPROTO_ICMPV6, "ipv6-icmp": unix.IPPROTO_ICMPV6,
}

// Codes of the ICMP and ICMPv6 "port unreachable" messages that a reject
// sends (RFC 792, RFC 4443), as nft(8) uses for a plain "reject".
const (
	icmpPortUnreach  = 3
	icmp6PortUnreach = 4
)

// portProtocols are the protocols whose header starts with 16-bit source
// and destination ports, so that "th dport" is meaningful.
var portProtocols = []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_DCCP, unix.IPPROTO_SCTP, unix.IPPROTO_UDPLITE}

// compiledJail is a validated JailSpec.
type compiledJail struct {
	name   string
	sets   jailSets
	ports  []PortRange // normalized; nil = all ports
	protos []byte      // sorted, unique; nil = all protocols
	drop   bool
}

func compileJail(spec JailSpec) (compiledJail, error) {
	if spec.Name == "" {
		return compiledJail{}, errors.New("empty jail name")
	}
	c := compiledJail{name: spec.Name}
	switch strings.ToLower(strings.TrimSpace(spec.Blocktype)) {
	case "", BlocktypeReject:
	case BlocktypeDrop:
		c.drop = true
	default:
		return compiledJail{}, fmt.Errorf("jail %q: unsupported blocktype %q (want %q or %q)", spec.Name, spec.Blocktype, BlocktypeReject, BlocktypeDrop)
	}
	for _, r := range spec.Ports {
		if r.First > r.Last {
			return compiledJail{}, fmt.Errorf("jail %q: port range %d:%d is reversed", spec.Name, r.First, r.Last)
		}
	}
	c.ports = NormalizePorts(spec.Ports)
	if allPorts(c.ports) {
		c.ports = nil
	}
	all := false
	for _, p := range spec.Protocols {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "all" {
			all = true
			continue
		}
		n, ok := protoNumbers[p]
		if !ok {
			v, err := strconv.ParseUint(p, 10, 8)
			if err != nil {
				return compiledJail{}, fmt.Errorf("jail %q: unknown protocol %q", spec.Name, p)
			}
			n = byte(v)
		}
		c.protos = append(c.protos, n)
	}
	if all {
		c.protos = nil
	}
	if c.ports != nil && c.protos == nil {
		c.protos = slices.Clone(portProtocols)
	}
	if c.ports != nil {
		for _, p := range c.protos {
			if !slices.Contains(portProtocols, p) {
				return compiledJail{}, fmt.Errorf("jail %q: protocol %d has no ports but ports are restricted", spec.Name, p)
			}
		}
	}
	slices.Sort(c.protos)
	c.protos = slices.Compact(c.protos)
	c.sets = newJailSets(nil, spec.Name)
	return c, nil
}

func newJailSets(t *nftables.Table, jail string) jailSets {
	return jailSets{
		v4: &nftables.Set{Table: t, Name: SetName(jail, false), KeyType: nftables.TypeIPAddr, HasTimeout: true},
		v6: &nftables.Set{Table: t, Name: SetName(jail, true), KeyType: nftables.TypeIP6Addr, HasTimeout: true},
	}
}

// Setup creates or updates the table (family inet), its base chain
// ChainName (type filter, hook input, priority ChainPriority, policy
// accept) and, per jail, an ipv4_addr and an ipv6_addr set with the timeout
// flag plus one rule per family:
//
//	meta l4proto <protos> th dport <ports> ip saddr @f2b-<jail>-v4 counter reject
//
// all in one atomic batch. It is idempotent and never removes set
// elements, so bans survive a daemon restart: sets are created only when
// absent, while the chain, which f2bd owns entirely, is flushed and
// refilled with exactly the rules of jails. Sets of jails no longer listed
// are left alone, bans included; their rules disappear, so they no longer
// block. Setup fails, changing nothing, if a spec is invalid, two jails map
// to the same set name, an existing set has another type or lacks the
// timeout flag, or the kernel rejects the batch.
func (fw *Firewall) Setup(jails []JailSpec) error {
	compiled := make([]compiledJail, 0, len(jails))
	seen := make(map[string]string)
	for _, j := range jails {
		c, err := compileJail(j)
		if err != nil {
			return fmt.Errorf("nft: setup: %w", err)
		}
		if other, dup := seen[c.sets.v4.Name]; dup {
			return fmt.Errorf("nft: setup: jails %q and %q map to the same set %s", other, j.Name, c.sets.v4.Name)
		}
		seen[c.sets.v4.Name] = j.Name
		compiled = append(compiled, c)
	}

	fw.mu.Lock()
	defer fw.mu.Unlock()

	existing, err := fw.existingSets()
	if err != nil {
		return fmt.Errorf("nft: setup: %w", err)
	}

	policy := nftables.ChainPolicyAccept
	fw.conn.AddTable(fw.table)
	fw.conn.AddChain(&nftables.Chain{
		Name:     fw.chain.Name,
		Table:    fw.table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookInput,
		Priority: nftables.ChainPriorityRef(ChainPriority),
		Policy:   &policy,
	})
	cache := make(map[string]jailSets, len(compiled))
	for i := range compiled {
		c := &compiled[i]
		for _, s := range []*nftables.Set{c.sets.v4, c.sets.v6} {
			s.Table = fw.table
			if old, ok := existing[s.Name]; ok {
				if old.KeyType.Name != s.KeyType.Name || !old.HasTimeout || old.IsMap || old.Interval {
					fw.abort()
					return fmt.Errorf("nft: setup: jail %q: existing set %s is not a plain %s set with timeouts", c.name, s.Name, s.KeyType.Name)
				}
				continue
			}
			if err := fw.conn.AddSet(s, nil); err != nil {
				fw.abort()
				return fmt.Errorf("nft: setup: add set %s: %w", s.Name, err)
			}
		}
		cache[c.name] = c.sets
	}
	fw.conn.FlushChain(fw.chain)
	for _, c := range compiled {
		for _, v6 := range []bool{false, true} {
			if err := fw.addJailRule(c, v6); err != nil {
				fw.abort()
				return fmt.Errorf("nft: setup: jail %q: %w", c.name, err)
			}
		}
	}
	if err := fw.conn.Flush(); err != nil {
		return fmt.Errorf("nft: setup table inet %s: %w", fw.table.Name, err)
	}
	// Sets created in this batch carry a transaction ID that is meaningless
	// from now on; cache name-only copies.
	for name, js := range cache {
		fw.sets[name] = jailSets{v4: fw.setRef(js.v4), v6: fw.setRef(js.v6)}
	}
	return nil
}

// abort discards the queued, unsent batch. The library offers no direct way;
// once it has recorded an error, Flush drops the queue without sending, so
// record one (updating an anonymous set is refused client-side).
func (fw *Firewall) abort() {
	_ = fw.conn.SetAddElements(&nftables.Set{Table: fw.table, Name: "", Anonymous: true}, nil)
	_ = fw.conn.Flush()
}

func (fw *Firewall) setRef(s *nftables.Set) *nftables.Set {
	return &nftables.Set{Table: fw.table, Name: s.Name, KeyType: s.KeyType, HasTimeout: true}
}

// existingSets lists the sets of the table, none if it does not exist.
func (fw *Firewall) existingSets() (map[string]*nftables.Set, error) {
	sets, err := fw.conn.GetSets(fw.table)
	if errors.Is(err, unix.ENOENT) {
		return map[string]*nftables.Set{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list sets of table inet %s: %w", fw.table.Name, err)
	}
	m := make(map[string]*nftables.Set, len(sets))
	for _, s := range sets {
		m[s.Name] = s
	}
	return m, nil
}

// addJailRule queues the rule of one jail and family.
func (fw *Firewall) addJailRule(c compiledJail, v6 bool) error {
	var exprs []expr.Any
	switch len(c.protos) {
	case 0:
	case 1:
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{c.protos[0]}})
	default:
		set := &nftables.Set{Table: fw.table, Anonymous: true, Constant: true, KeyType: nftables.TypeInetProto}
		elems := make([]nftables.SetElement, len(c.protos))
		for i, p := range c.protos {
			elems[i] = nftables.SetElement{Key: []byte{p}}
		}
		if err := fw.conn.AddSet(set, elems); err != nil {
			return fmt.Errorf("add protocol set: %w", err)
		}
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID})
	}
	if c.ports != nil {
		exprs = append(exprs, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		switch {
		case len(c.ports) == 1 && c.ports[0].First == c.ports[0].Last:
			exprs = append(exprs, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(c.ports[0].First)})
		case len(c.ports) == 1:
			exprs = append(exprs,
				&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(c.ports[0].First)},
				&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(c.ports[0].Last)})
		default:
			set, elems := portSet(fw.table, c.ports)
			if err := fw.conn.AddSet(set, elems); err != nil {
				return fmt.Errorf("add port set: %w", err)
			}
			exprs = append(exprs, &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID})
		}
	}
	nfproto, addrOff, addrLen, set, code := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4), c.sets.v4, uint8(icmpPortUnreach)
	if v6 {
		nfproto, addrOff, addrLen, set, code = unix.NFPROTO_IPV6, 8, 16, c.sets.v6, icmp6PortUnreach
	}
	exprs = append(exprs,
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: addrOff, Len: addrLen},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{},
	)
	if c.drop {
		exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictDrop})
	} else {
		exprs = append(exprs, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: code})
	}
	fw.conn.AddRule(&nftables.Rule{Table: fw.table, Chain: fw.chain, Exprs: exprs})
	return nil
}

// portSet builds a constant anonymous set matching the normalized ranges:
// a plain set when all are single ports, otherwise an interval set encoded
// as nft(8) does (a leading interval end at 0, start/end pairs, the last
// range left open when it reaches 65535).
func portSet(t *nftables.Table, ports []PortRange) (*nftables.Set, []nftables.SetElement) {
	interval := slices.ContainsFunc(ports, func(r PortRange) bool { return r.First != r.Last })
	set := &nftables.Set{Table: t, Anonymous: true, Constant: true, Interval: interval, KeyType: nftables.TypeInetService}
	var elems []nftables.SetElement
	if !interval {
		for _, r := range ports {
			elems = append(elems, nftables.SetElement{Key: be16(r.First)})
		}
		return set, elems
	}
	if ports[0].First != 0 {
		elems = append(elems, nftables.SetElement{Key: be16(0), IntervalEnd: true})
	}
	for _, r := range ports {
		if r.Last == 65535 {
			elems = append(elems, nftables.SetElement{Key: be16(r.First), IntervalOpen: true})
			continue
		}
		elems = append(elems,
			nftables.SetElement{Key: be16(r.First)},
			nftables.SetElement{Key: be16(r.Last + 1), IntervalEnd: true})
	}
	return set, elems
}

func be16(v uint16) []byte { return binaryutil.BigEndian.PutUint16(v) }
