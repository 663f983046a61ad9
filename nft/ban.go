package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Ban asks for Addr, or Prefix, to be blocked by the rules of Jail.
type Ban struct {
	Jail string
	// Addr is the address to ban. Leave it zero to ban Prefix.
	Addr netip.Addr
	// Prefix, when valid, is banned instead: a subnet ban, kept in the
	// jail's interval sets (see PrefixSetName). Host bits are cleared
	// (192.0.2.7/24 bans 192.0.2.0/24); a /32 or /128 is a plain address
	// ban; IPv4-mapped IPv6 prefixes (::ffff:192.0.2.0/120) are IPv4.
	Prefix netip.Prefix
	// Timeout is how long the kernel keeps the ban; 0 means permanent.
	// It is rounded up to whole milliseconds, the kernel's resolution.
	Timeout time.Duration
}

// Element is a ban as the kernel holds it.
type Element struct {
	// Addr is the banned address of a single-address ban, the zero Addr
	// for a wider prefix.
	Addr netip.Addr
	// Prefix is what is banned, a /32 or /128 for a single address.
	Prefix netip.Prefix
	// Timeout is the ban's total duration, 0 for a permanent ban.
	Timeout time.Duration
	// Expires is the time left before the kernel removes the element, 0
	// for a permanent ban.
	Expires time.Duration
}

// setKey identifies one kernel set of one jail.
type setKey struct {
	jail   string
	v6     bool
	prefix bool // the interval set of prefixes
}

// pending collects the requests for one set, deduplicated (the last
// request wins) and in request order: elements for an address set,
// prefixes for an interval set.
type pending struct {
	key   setKey
	set   *nftables.Set
	index map[netip.Prefix]int
	elems []nftables.SetElement
	reqs  []prefixReq
}

// target returns the normalized prefix a ban or unban designates.
func (b Ban) target() (netip.Prefix, error) {
	var p netip.Prefix
	switch {
	case b.Prefix.IsValid() && b.Addr.IsValid():
		return p, errors.New("both Addr and Prefix set")
	case b.Prefix.IsValid():
		p = b.Prefix
	case b.Addr.IsValid():
		p = netip.PrefixFrom(b.Addr, b.Addr.BitLen())
	default:
		return p, errors.New("invalid address")
	}
	a, n := p.Addr().WithZone(""), p.Bits()
	if a.Is4In6() && n >= 96 {
		a, n = a.Unmap(), n-96
	}
	if n == 0 {
		return p, fmt.Errorf("refusing to ban all of %s", p)
	}
	return netip.PrefixFrom(a, n).Masked(), nil
}

// Ban adds the addresses and prefixes to their jails' sets. A ban already
// in the set gets the new timeout (or becomes permanent) on every kernel:
// Linux >= 6.18 replaces it on a plain add; on older kernels each element
// is added, deleted and added again in one batch, so the last add always
// creates it afresh. IPv4-mapped IPv6 addresses are banned as IPv4,
// which is how the kernel sees such clients.
//
// Prefixes never overlap in a set; the wider ban wins: banning a prefix
// deletes the narrower prefixes of the jail it covers (in the same
// batch), and a prefix inside one already banned (or inside another of
// the same call) is not added, so it ends with the wider ban. Single
// addresses are kept apart and never conflict with prefixes. Each Ban
// with prefixes reads the jail's prefix sets first.
//
// Elements are sent in messages of at most 1000 elements and batches of
// at most 3000 element operations, each batch atomic. Ban fails, before
// sending anything, if an address or prefix is invalid (or /0), a timeout
// negative, a jail has no sets (Setup was never run for it), or a prefix
// set cannot be read, and fails if the kernel rejects a batch, in which
// case earlier batches stay applied.
func (fw *Firewall) Ban(bans []Ban) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	groups, err := fw.group(bans, true)
	if err != nil {
		return fmt.Errorf("nft: ban: %w", err)
	}
	plans := make(map[*pending][]prefixOp)
	for _, g := range groups {
		if !g.key.prefix {
			continue
		}
		existing, err := fw.intervals(g.set)
		if err != nil {
			return fmt.Errorf("nft: ban: %w", err)
		}
		plans[g], _ = planPrefixBans(widest(g.reqs), existing)
	}
	b := batcher{fw: fw, op: "ban"}
	for _, g := range groups {
		if g.key.prefix {
			for _, op := range plans[g] {
				elems := prefixElems(op.add.p, op.add.timeout)
				if len(op.remove) == 0 {
					if err := b.queue(g.set, fw.addOps(len(elems)), func() error {
						return fw.queueAdd(g.set, elems)
					}); err != nil {
						return err
					}
					continue
				}
				// The prefix is absent (the set held the narrower
				// ranges instead), so a plain add follows their
				// removal. (Deleting an element re-added in the same
				// batch fails with ENOENT in the rbtree backend.)
				rm := 0
				for _, iv := range op.remove {
					rm += len(iv.elems())
				}
				if err := b.queue(g.set, fw.removeOps(rm)+len(elems), func() error {
					var errs []error
					for _, iv := range op.remove {
						errs = append(errs, fw.queueRemove(g.set, iv.elems()))
					}
					return errors.Join(append(errs, fw.conn.SetAddElements(g.set, elems))...)
				}); err != nil {
					return err
				}
			}
			continue
		}
		for chunk := range slices.Chunk(g.elems, elemsPerMsg) {
			if err := b.queue(g.set, fw.addOps(len(chunk)), func() error {
				return fw.queueAdd(g.set, chunk)
			}); err != nil {
				return err
			}
		}
	}
	return b.flush()
}

// addOps is the number of element operations queueAdd sends for n
// elements.
func (fw *Firewall) addOps(n int) int {
	if fw.feat.addRefreshes {
		return n
	}
	return 3 * n
}

// queueAdd queues an add of elems that replaces the timeout of elements
// already present (see Ban).
func (fw *Firewall) queueAdd(set *nftables.Set, elems []nftables.SetElement) error {
	if fw.feat.addRefreshes {
		return fw.conn.SetAddElements(set, elems)
	}
	return errors.Join(
		fw.conn.SetAddElements(set, elems),
		fw.conn.SetDeleteElements(set, keysOnly(elems)),
		fw.conn.SetAddElements(set, elems))
}

// removeOps is the number of element operations queueRemove sends for n
// elements.
func (fw *Firewall) removeOps(n int) int {
	if fw.feat.destroyElem {
		return n
	}
	return 2 * n
}

// queueRemove queues a removal of elems that does not fail when they are
// absent (see Unban).
func (fw *Firewall) queueRemove(set *nftables.Set, elems []nftables.SetElement) error {
	if fw.feat.destroyElem {
		return fw.conn.SetDestroyElements(set, elems)
	}
	return errors.Join(
		fw.conn.SetAddElements(set, elems),
		fw.conn.SetDeleteElements(set, elems))
}

// Unban removes the addresses and prefixes from their jails' sets. Bans
// that are not in the set, for instance because they expired, are not an
// error and do not affect the others. A prefix is removed only if the set
// holds exactly that prefix: unbanning 192.0.2.0/25 leaves a ban of
// 192.0.2.0/24 alone, and unbanning an address does not lift a prefix ban
// that covers it. On Linux >= 6.3 this uses the kernel's destroy
// operation; older kernels get an add followed by a delete in the same
// batch. Unban fails, before sending anything, if an address or prefix is
// invalid, a jail has no sets, or a prefix set cannot be read, and fails if
// the kernel rejects a batch, in which case earlier batches stay applied.
func (fw *Firewall) Unban(bans []Ban) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	groups, err := fw.group(bans, false)
	if err != nil {
		return fmt.Errorf("nft: unban: %w", err)
	}
	for _, g := range groups {
		if !g.key.prefix {
			continue
		}
		existing, err := fw.intervals(g.set)
		if err != nil {
			return fmt.Errorf("nft: unban: %w", err)
		}
		g.elems = nil
		for _, r := range g.reqs {
			i, found := slices.BinarySearchFunc(existing, r.p.Addr(), func(iv interval, a netip.Addr) int {
				return iv.start.Compare(a)
			})
			if found && existing[i].is(r.p) {
				g.elems = append(g.elems, existing[i].elems()...)
			}
		}
	}
	b := batcher{fw: fw, op: "unban"}
	for _, g := range groups {
		// The kernel removes each element on its own, so a chunk may
		// split a range's start from its end.
		for chunk := range slices.Chunk(g.elems, elemsPerMsg) {
			if err := b.queue(g.set, fw.removeOps(len(chunk)), func() error {
				return fw.queueRemove(g.set, chunk)
			}); err != nil {
				return err
			}
		}
	}
	return b.flush()
}

// List returns the bans of jail, IPv4 first, each family sorted by
// prefix (address, then wider first); prefix bans are listed as prefixes,
// ranges added by others as the CIDR prefixes covering them. It fails if
// the jail has no address sets or the kernel cannot be queried; missing
// prefix sets (a table set up by an older f2bd) count as empty.
func (fw *Firewall) List(jail string) ([]Element, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	var out []Element
	for _, v6 := range []bool{false, true} {
		start := len(out)
		for _, prefix := range []bool{false, true} {
			set, err := fw.lookupSet(setKey{jail: jail, v6: v6, prefix: prefix})
			if prefix && errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("nft: list: %w", err)
			}
			elems, err := fw.dumpSet(set)
			if err != nil {
				return nil, fmt.Errorf("nft: list: %w", err)
			}
			if !prefix {
				out = slices.Grow(out, len(elems))
				for _, e := range sortByAddr(elems) {
					if !e.addr.IsValid() {
						return nil, fmt.Errorf("nft: list set %s: element key is no address", set.Name)
					}
					out = append(out, Element{Addr: e.addr, Prefix: netip.PrefixFrom(e.addr, e.addr.BitLen()), Timeout: e.timeout, Expires: e.expires})
				}
				continue
			}
			mid := len(out)
			for _, iv := range parseIntervals(elems) {
				for _, p := range iv.prefixes() {
					e := Element{Prefix: p, Timeout: iv.timeout, Expires: iv.expires}
					if p.IsSingleIP() {
						e.Addr = p.Addr()
					}
					out = append(out, e)
				}
			}
			// Sorted already, as the kernel keeps ranges apart.
			byPrefix := func(a, b Element) int { return comparePrefixes(a.Prefix, b.Prefix) }
			if !slices.IsSortedFunc(out[mid:], byPrefix) {
				slices.SortFunc(out[mid:], byPrefix)
			}
			if mid > start && len(out) > mid {
				out = append(out[:start], mergeElements(out[start:mid], out[mid:])...)
			}
		}
	}
	return out, nil
}

// sortByAddr returns the elements of an address set sorted by address
// (invalid ones first). IPv4 elements, the bulk of large sets, are sorted
// as integers (address and index), several times faster than with a
// comparison function; elems is reordered or not.
func sortByAddr(elems []setElem) []setElem {
	keys := make([]uint64, len(elems))
	for i, e := range elems {
		if !e.addr.Is4() {
			slices.SortFunc(elems, func(a, b setElem) int { return a.addr.Compare(b.addr) })
			return elems
		}
		a := e.addr.As4()
		keys[i] = uint64(binary.BigEndian.Uint32(a[:]))<<32 | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]setElem, len(elems))
	for i, k := range keys {
		sorted[i] = elems[uint32(k)]
	}
	return sorted
}

// mergeElements merges two lists sorted by prefix into a new one.
func mergeElements(a, b []Element) []Element {
	out := make([]Element, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if comparePrefixes(b[0].Prefix, a[0].Prefix) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// intervals reads the ranges of an interval set.
func (fw *Firewall) intervals(set *nftables.Set) ([]interval, error) {
	elems, err := fw.dumpSet(set)
	if err != nil {
		return nil, err
	}
	return parseIntervals(elems), nil
}

// group validates bans and sorts them into per-set requests, in order of
// first appearance. withTimeout selects whether element timeouts are
// encoded.
func (fw *Firewall) group(bans []Ban, withTimeout bool) ([]*pending, error) {
	var order []*pending
	bySet := make(map[setKey]*pending)
	for i, b := range bans {
		p, err := b.target()
		if err != nil {
			return nil, fmt.Errorf("ban %d (jail %q): %w", i, b.Jail, err)
		}
		if b.Timeout < 0 {
			return nil, fmt.Errorf("ban %d (jail %q, %s): negative timeout %v", i, b.Jail, p, b.Timeout)
		}
		key := setKey{jail: b.Jail, v6: p.Addr().Is6(), prefix: !p.IsSingleIP()}
		g, ok := bySet[key]
		if !ok {
			set, err := fw.lookupSet(key)
			if err != nil {
				return nil, err
			}
			g = &pending{key: key, set: set, index: make(map[netip.Prefix]int)}
			bySet[key] = g
			order = append(order, g)
		}
		var timeout time.Duration
		if withTimeout {
			timeout = roundUpMillis(b.Timeout)
		}
		j, dup := g.index[p]
		if key.prefix {
			r := prefixReq{p: p, timeout: timeout}
			if dup {
				g.reqs[j] = r
				continue
			}
			g.index[p] = len(g.reqs)
			g.reqs = append(g.reqs, r)
			continue
		}
		e := nftables.SetElement{Key: p.Addr().AsSlice(), Timeout: timeout}
		if dup {
			g.elems[j] = e
			continue
		}
		g.index[p] = len(g.elems)
		g.elems = append(g.elems, e)
	}
	return order, nil
}

func roundUpMillis(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

func keysOnly(elems []nftables.SetElement) []nftables.SetElement {
	keys := make([]nftables.SetElement, len(elems))
	for i, e := range elems {
		keys[i] = nftables.SetElement{Key: e.Key, IntervalEnd: e.IntervalEnd}
	}
	return keys
}

// lookupSet returns one set of a jail, from the cache or, for jails set
// up by another process, from the kernel, checking its shape. The error
// wraps ENOENT when the set does not exist.
func (fw *Firewall) lookupSet(k setKey) (*nftables.Set, error) {
	if s, ok := fw.sets[k]; ok {
		return s, nil
	}
	s := newSet(fw.table, k)
	ks, err := fw.conn.GetSetByName(fw.table, s.Name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("jail %q: no set %s in table inet %s (Setup not run for this jail?): %w", k.jail, s.Name, fw.table.Name, err)
		}
		return nil, fmt.Errorf("jail %q: look up set %s: %w", k.jail, s.Name, err)
	}
	if err := checkShape(ks, s); err != nil {
		return nil, fmt.Errorf("jail %q: %w", k.jail, err)
	}
	fw.sets[k] = s
	return s, nil
}

// batcher queues element operations and flushes them in batches of at
// most opsPerFlush operations.
type batcher struct {
	fw      *Firewall
	op      string
	ops     int
	batches int
	sets    []string
}

// queue flushes first if n more operations would overflow the batch, then
// runs add, which must queue n element operations on set.
func (b *batcher) queue(set *nftables.Set, n int, add func() error) error {
	if b.ops > 0 && b.ops+n > opsPerFlush {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if err := add(); err != nil {
		b.fw.abort()
		return fmt.Errorf("nft: %s: queue elements of set %s: %w", b.op, set.Name, err)
	}
	b.ops += n
	if !slices.Contains(b.sets, set.Name) {
		b.sets = append(b.sets, set.Name)
	}
	return nil
}

func (b *batcher) flush() error {
	if b.ops == 0 {
		return nil
	}
	err := b.fw.conn.Flush()
	if err != nil {
		err = fmt.Errorf("nft: %s: batch %d (%d element operations on %v, earlier batches applied): %w", b.op, b.batches+1, b.ops, b.sets, err)
	}
	b.batches++
	b.ops = 0
	b.sets = b.sets[:0]
	return err
}
