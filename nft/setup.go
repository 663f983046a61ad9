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

// Blocktypes accepted in JailSpec.Blocktype, besides the longer spellings
// described there.
const (
	BlocktypeReject = "reject"
	BlocktypeDrop   = "drop"
)

// JailSpec describes the firewall rules of one jail. Its string fields
// take the values of the matching parameters of fail2ban's nftables
// action (port, protocol, blocktype, chain_hook, chain_priority).
type JailSpec struct {
	// Name is the jail name; it determines the set names (see SetName and
	// PrefixSetName).
	Name string
	// Ports restricts the rules to these destination ports; empty (or the
	// full range 0:65535) means all ports, like fail2ban's "allports".
	Ports []PortRange
	// Protocols lists layer-4 protocols by name ("tcp", "udp", "sctp",
	// "dccp", "udplite", "icmp", "icmpv6") or number. Empty, or "all",
	// means any protocol; but when Ports is restricted, the protocols that
	// carry ports (tcp, udp, udplite, sctp, dccp) are used instead.
	Protocols []string
	// Blocktype is what the rules do to a banned packet, in any of
	// fail2ban's spellings, case-insensitive: empty or "reject" (ICMP or
	// ICMPv6 port unreachable, fail2ban's default), "drop", "reject with
	// icmp|icmpv6|icmpx [type] <reason>" (reasons port-unreachable,
	// host-unreachable, net-unreachable, no-route, addr-unreachable,
	// prot-unreachable, host-prohibited, net-prohibited,
	// admin-prohibited; each family gets its own closest code), "reject
	// with tcp reset", and the iptables forms "DROP", "REJECT",
	// "REJECT --reject-with icmp-…|icmp6-…|tcp-reset". A TCP reset applies
	// to TCP packets; the jail's other protocols get port unreachable.
	Blocktype string
	// Hook is the netfilter hook of the jail's base chain (fail2ban's
	// chain_hook): "input" (DefaultHook, used when empty), "forward",
	// "prerouting", "output" or "postrouting". A reject needs prerouting,
	// input, forward or output.
	Hook string
	// Priority is the base chain's priority (fail2ban's chain_priority):
	// a number or a standard name with an optional offset ("raw",
	// "filter - 1"). Empty means ChainPriority (-1). Jails with the same
	// hook and priority share one base chain; see Setup for the names.
	Priority string
}

var protoNumbers = map[string]byte{
	"icmp": unix.IPPROTO_ICMP, "tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP,
	"dccp": unix.IPPROTO_DCCP, "sctp": unix.IPPROTO_SCTP, "udplite": unix.IPPROTO_UDPLITE,
	"icmpv6": unix.IPPROTO_ICMPV6, "ipv6-icmp": unix.IPPROTO_ICMPV6,
}

// portProtocols are the protocols whose header starts with 16-bit source
// and destination ports, so that "th dport" is meaningful.
var portProtocols = []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_DCCP, unix.IPPROTO_SCTP, unix.IPPROTO_UDPLITE}

// compiledJail is a validated JailSpec.
type compiledJail struct {
	name   string
	sets   jailSets
	ports  []PortRange // normalized; nil = all ports
	protos []byte      // sorted, unique; nil = all protocols
	block  block
	chain  chainKey
}

// Validate checks a JailSpec as Setup would, without the kernel: a jail
// whose spec fails here can be left out while the others are set up.
func (spec JailSpec) Validate() error {
	_, err := compileJail(spec)
	return err
}

func compileJail(spec JailSpec) (compiledJail, error) {
	if spec.Name == "" {
		return compiledJail{}, errors.New("empty jail name")
	}
	c := compiledJail{name: spec.Name}
	var err error
	if c.block, err = parseBlocktype(spec.Blocktype); err != nil {
		return compiledJail{}, fmt.Errorf("jail %q: %w", spec.Name, err)
	}
	c.chain.hook = strings.ToLower(strings.TrimSpace(spec.Hook))
	if c.chain.hook == "" {
		c.chain.hook = DefaultHook
	}
	if _, ok := hookNums[c.chain.hook]; !ok {
		return compiledJail{}, fmt.Errorf("jail %q: unsupported chain hook %q (want prerouting, input, forward, output or postrouting)", spec.Name, spec.Hook)
	}
	if !c.block.drop && c.chain.hook == "postrouting" {
		return compiledJail{}, fmt.Errorf("jail %q: the kernel cannot reject at hook postrouting; use blocktype drop", spec.Name)
	}
	if c.chain.prio, err = parsePriority(spec.Priority); err != nil {
		return compiledJail{}, fmt.Errorf("jail %q: %w", spec.Name, err)
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

// jailSets are the four sets of a jail: addresses and prefixes, per family.
type jailSets struct{ v4, v6, net4, net6 *nftables.Set }

func (js jailSets) all() []*nftables.Set { return []*nftables.Set{js.v4, js.net4, js.v6, js.net6} }

func (js jailSets) get(k setKey) *nftables.Set {
	switch {
	case k.v6 && k.prefix:
		return js.net6
	case k.v6:
		return js.v6
	case k.prefix:
		return js.net4
	}
	return js.v4
}

// newSet returns the description of one set of jail.
func newSet(t *nftables.Table, k setKey) *nftables.Set {
	s := &nftables.Set{Table: t, KeyType: nftables.TypeIPAddr, HasTimeout: true, Interval: k.prefix}
	if k.v6 {
		s.KeyType = nftables.TypeIP6Addr
	}
	if k.prefix {
		s.Name = PrefixSetName(k.jail, k.v6)
	} else {
		s.Name = SetName(k.jail, k.v6)
	}
	return s
}

func newJailSets(t *nftables.Table, jail string) jailSets {
	return jailSets{
		v4:   newSet(t, setKey{jail: jail}),
		v6:   newSet(t, setKey{jail: jail, v6: true}),
		net4: newSet(t, setKey{jail: jail, prefix: true}),
		net6: newSet(t, setKey{jail: jail, v6: true, prefix: true}),
	}
}

// checkShape reports whether a kernel set can serve as s: same key type,
// timeout flag, interval flag exactly when s has it, no map.
func checkShape(old, s *nftables.Set) error {
	if old.KeyType.Name != s.KeyType.Name || !old.HasTimeout || old.IsMap || old.Interval != s.Interval {
		kind := "a plain"
		if s.Interval {
			kind = "an interval"
		}
		return fmt.Errorf("existing set %s is not %s %s set with timeouts", s.Name, kind, s.KeyType.Name)
	}
	return nil
}

// ruleState is what the last successful Setup built: the kernel objects
// Watch expects to find, and which set belongs to which jail.
type ruleState struct {
	chains map[string]int // base chain name -> number of rules
	sets   []string
	owners map[string]setKey // set name -> jail, family, kind
}

// Setup creates or updates the table (family inet), its base chains (type
// filter, policy accept; one per distinct hook and priority among jails,
// named after the hook, "input" for the default input/-1 chain, which
// always exists, and e.g. "prerouting_m300" or "forward_p10" otherwise)
// and, per jail and family, two sets: f2b-<jail>-v4 / -v6 (flags timeout)
// for single addresses and f2b-<jail>-net4 / -net6 (flags interval,
// timeout) for wider prefixes, each matched by one rule (two for a TCP
// reset blocktype: TCP packets first) such as
//
//	meta l4proto <protos> th dport <ports> ip saddr @f2b-<jail>-v4 counter reject
//
// all in one atomic batch. It is idempotent and never removes set
// elements, so bans survive a daemon restart: sets are created only when
// absent, while the chains, which f2bd owns entirely, are flushed and
// refilled with exactly the rules of jails; chains named like f2bd's base
// chains that no jail uses any more are deleted. Sets of jails no longer
// listed are left alone, bans included; their rules disappear, so they no
// longer block. A table made by an earlier f2bd version (address sets
// only) keeps its sets and bans; Setup adds the prefix sets and rules.
// Setup fails, changing nothing, if a spec is invalid, two jails map to
// the same set name, an existing set has another type or flags, an
// existing chain of the same name has another hook or priority, or the
// kernel rejects the batch.
func (fw *Firewall) Setup(jails []JailSpec) error {
	compiled := make([]compiledJail, 0, len(jails))
	seen := make(map[string]string)
	for _, j := range jails {
		c, err := compileJail(j)
		if err != nil {
			return fmt.Errorf("nft: setup: %w", err)
		}
		for _, s := range c.sets.all() {
			if other, dup := seen[s.Name]; dup {
				return fmt.Errorf("nft: setup: jails %q and %q map to the same set %s", other, j.Name, s.Name)
			}
			seen[s.Name] = j.Name
		}
		compiled = append(compiled, c)
	}

	fw.mu.Lock()
	defer fw.mu.Unlock()

	existing, err := fw.existingSets()
	if err != nil {
		return fmt.Errorf("nft: setup: %w", err)
	}
	chains, err := fw.existingChains()
	if err != nil {
		return fmt.Errorf("nft: setup: %w", err)
	}

	// The chains, in order of first use, the default one first.
	keys := []chainKey{{hook: DefaultHook, prio: ChainPriority}}
	for _, c := range compiled {
		if !slices.Contains(keys, c.chain) {
			keys = append(keys, c.chain)
		}
	}
	for _, k := range keys {
		if old, ok := chains[k.name()]; ok {
			if old.Hooknum == nil || old.Priority == nil || *old.Hooknum != hookNums[k.hook] || int32(*old.Priority) != k.prio {
				return fmt.Errorf("nft: setup: existing chain %s in table inet %s is not a base chain at hook %s priority %d", k.name(), fw.table.Name, k.hook, k.prio)
			}
		}
	}

	policy := nftables.ChainPolicyAccept
	fw.conn.AddTable(fw.table)
	byKey := make(map[chainKey]*nftables.Chain, len(keys))
	state := ruleState{chains: make(map[string]int), owners: make(map[string]setKey)}
	for _, k := range keys {
		ch := fw.conn.AddChain(&nftables.Chain{
			Name:     k.name(),
			Table:    fw.table,
			Type:     nftables.ChainTypeFilter,
			Hooknum:  nftables.ChainHookRef(hookNums[k.hook]),
			Priority: nftables.ChainPriorityRef(nftables.ChainPriority(k.prio)),
			Policy:   &policy,
		})
		fw.conn.FlushChain(ch)
		byKey[k] = ch
		state.chains[ch.Name] = 0
	}
	for i := range compiled {
		c := &compiled[i]
		for _, s := range c.sets.all() {
			s.Table = fw.table
			if old, ok := existing[s.Name]; ok {
				if err := checkShape(old, s); err != nil {
					fw.abort()
					return fmt.Errorf("nft: setup: jail %q: %w", c.name, err)
				}
				continue
			}
			if err := fw.conn.AddSet(s, nil); err != nil {
				fw.abort()
				return fmt.Errorf("nft: setup: add set %s: %w", s.Name, err)
			}
		}
		ch := byKey[c.chain]
		for _, k := range []setKey{{v6: false}, {prefix: true}, {v6: true}, {v6: true, prefix: true}} {
			k.jail = c.name
			n, err := fw.addJailRules(ch, c, c.sets.get(k), k.v6)
			if err != nil {
				fw.abort()
				return fmt.Errorf("nft: setup: jail %q: %w", c.name, err)
			}
			state.chains[ch.Name] += n
			name := c.sets.get(k).Name
			state.sets = append(state.sets, name)
			state.owners[name] = k
		}
	}
	for name, ch := range chains {
		if _, keep := state.chains[name]; !keep && isChainName(name) {
			fw.conn.FlushChain(ch)
			fw.conn.DelChain(ch)
		}
	}
	if err := fw.conn.Flush(); err != nil {
		return fmt.Errorf("nft: setup table inet %s: %w", fw.table.Name, err)
	}
	// Sets created in this batch carry a transaction ID that is meaningless
	// from now on; cache name-only copies.
	for _, k := range state.owners {
		fw.sets[k] = newSet(fw.table, k)
	}
	fw.state = state
	return nil
}

// abort discards the queued, unsent batch. The library offers no direct way;
// once it has recorded an error, Flush drops the queue without sending, so
// record one (updating an anonymous set is refused client-side).
func (fw *Firewall) abort() {
	_ = fw.conn.SetAddElements(&nftables.Set{Table: fw.table, Name: "", Anonymous: true}, nil)
	_ = fw.conn.Flush()
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

// existingChains lists the chains of the table, none if it does not exist.
func (fw *Firewall) existingChains() (map[string]*nftables.Chain, error) {
	all, err := fw.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	m := make(map[string]*nftables.Chain)
	for _, c := range all {
		if c.Table.Name == fw.table.Name {
			c.Table = fw.table
			m[c.Name] = c
		}
	}
	return m, nil
}

// addJailRules queues the rules of one jail matching one of its sets and
// returns how many it queued.
func (fw *Firewall) addJailRules(ch *nftables.Chain, c *compiledJail, set *nftables.Set, v6 bool) (int, error) {
	tcp := []byte{unix.IPPROTO_TCP}
	if c.block.tcpReset && (c.protos == nil || slices.Contains(c.protos, unix.IPPROTO_TCP)) {
		if err := fw.addRule(ch, c, tcp, set, v6, true); err != nil {
			return 0, err
		}
		if slices.Equal(c.protos, tcp) {
			return 1, nil
		}
		// The other protocols; TCP packets never get here.
		if err := fw.addRule(ch, c, c.protos, set, v6, false); err != nil {
			return 0, err
		}
		return 2, nil
	}
	return 1, fw.addRule(ch, c, c.protos, set, v6, false)
}

// addRule queues one rule: protocols, ports, source address in set,
// counter, verdict (a TCP reset when tcpReset).
func (fw *Firewall) addRule(ch *nftables.Chain, c *compiledJail, protos []byte, set *nftables.Set, v6, tcpReset bool) error {
	var exprs []expr.Any
	switch len(protos) {
	case 0:
	case 1:
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protos[0]}})
	default:
		pset := &nftables.Set{Table: fw.table, Anonymous: true, Constant: true, KeyType: nftables.TypeInetProto}
		elems := make([]nftables.SetElement, len(protos))
		for i, p := range protos {
			elems[i] = nftables.SetElement{Key: []byte{p}}
		}
		if err := fw.conn.AddSet(pset, elems); err != nil {
			return fmt.Errorf("add protocol set: %w", err)
		}
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Lookup{SourceRegister: 1, SetName: pset.Name, SetID: pset.ID})
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
			pset, elems := portSet(fw.table, c.ports)
			if err := fw.conn.AddSet(pset, elems); err != nil {
				return fmt.Errorf("add port set: %w", err)
			}
			exprs = append(exprs, &expr.Lookup{SourceRegister: 1, SetName: pset.Name, SetID: pset.ID})
		}
	}
	nfproto, addrOff, addrLen, code := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4), c.block.code4
	if v6 {
		nfproto, addrOff, addrLen, code = unix.NFPROTO_IPV6, 8, 16, c.block.code6
	}
	exprs = append(exprs,
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: addrOff, Len: addrLen},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{},
	)
	switch {
	case c.block.drop:
		exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictDrop})
	case tcpReset:
		exprs = append(exprs, &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
	default:
		exprs = append(exprs, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: code})
	}
	fw.conn.AddRule(&nftables.Rule{Table: fw.table, Chain: ch, Exprs: exprs})
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
