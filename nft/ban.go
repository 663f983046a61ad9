package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Ban asks for Addr to be blocked by the rules of Jail.
type Ban struct {
	Jail string
	Addr netip.Addr
	// Timeout is how long the kernel keeps the ban; 0 means permanent.
	// It is rounded up to whole milliseconds, the kernel's resolution.
	Timeout time.Duration
}

// Element is a ban as the kernel holds it.
type Element struct {
	Addr netip.Addr
	// Timeout is the ban's total duration, 0 for a permanent ban.
	Timeout time.Duration
	// Expires is the time left before the kernel removes the element, 0
	// for a permanent ban.
	Expires time.Duration
}

// setKey identifies one kernel set of one jail.
type setKey struct {
	jail string
	v6   bool
}

// pending collects the elements to send to one set, deduplicated by
// address (the last request wins) and in request order.
type pending struct {
	set   *nftables.Set
	index map[netip.Addr]int
	elems []nftables.SetElement
}

// Ban adds the addresses to their jails' sets. An address already in the
// set gets the new timeout (or becomes permanent) on every kernel: Linux
// >= 6.18 replaces it on a plain add; on older kernels each element is
// added, deleted and added again in one batch, so the last add always
// creates it afresh. IPv4-mapped IPv6 addresses are banned as IPv4,
// which is how the kernel sees such clients. Elements are sent in messages
// of at most 1000 elements and batches of at most 3000 element operations,
// each batch atomic;
// Ban fails, before sending anything, if an address is invalid, a timeout
// negative, or a jail has no sets (Setup was never run for it), and fails
// if the kernel rejects a batch, in which case earlier batches stay
// applied.
func (fw *Firewall) Ban(bans []Ban) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	groups, err := fw.group(bans, true)
	if err != nil {
		return fmt.Errorf("nft: ban: %w", err)
	}
	b := batcher{fw: fw, op: "ban"}
	for _, g := range groups {
		for chunk := range slices.Chunk(g.elems, elemsPerMsg) {
			var err error
			if fw.feat.addRefreshes {
				err = b.queue(g.set, len(chunk), func() error {
					return fw.conn.SetAddElements(g.set, chunk)
				})
			} else {
				err = b.queue(g.set, 3*len(chunk), func() error {
					return errors.Join(
						fw.conn.SetAddElements(g.set, chunk),
						fw.conn.SetDeleteElements(g.set, keysOnly(chunk)),
						fw.conn.SetAddElements(g.set, chunk))
				})
			}
			if err != nil {
				return err
			}
		}
	}
	return b.flush()
}

// Unban removes the addresses from their jails' sets. Addresses that are
// not in the set, for instance because their ban expired, are not an error
// and do not affect the others. On Linux >= 6.3 this uses the kernel's
// destroy operation; older kernels get an add followed by a delete in the
// same batch. Unban fails, before sending anything, if an address is
// invalid or a jail has no sets, and fails if the kernel rejects a batch,
// in which case earlier batches stay applied.
func (fw *Firewall) Unban(bans []Ban) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	groups, err := fw.group(bans, false)
	if err != nil {
		return fmt.Errorf("nft: unban: %w", err)
	}
	b := batcher{fw: fw, op: "unban"}
	for _, g := range groups {
		for chunk := range slices.Chunk(g.elems, elemsPerMsg) {
			var err error
			if fw.feat.destroyElem {
				err = b.queue(g.set, len(chunk), func() error {
					return fw.conn.SetDestroyElements(g.set, chunk)
				})
			} else {
				err = b.queue(g.set, 2*len(chunk), func() error {
					return errors.Join(
						fw.conn.SetAddElements(g.set, chunk),
						fw.conn.SetDeleteElements(g.set, chunk))
				})
			}
			if err != nil {
				return err
			}
		}
	}
	return b.flush()
}

// List returns the elements of both sets of jail, IPv4 first, each family
// sorted by address. It fails if the jail has no sets or the kernel cannot
// be queried.
func (fw *Firewall) List(jail string) ([]Element, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	var out []Element
	for _, v6 := range []bool{false, true} {
		set, err := fw.lookupSet(jail, v6)
		if err != nil {
			return nil, fmt.Errorf("nft: list: %w", err)
		}
		elems, err := fw.conn.GetSetElements(set)
		if err != nil {
			return nil, fmt.Errorf("nft: list set %s: %w", set.Name, err)
		}
		start := len(out)
		for _, e := range elems {
			addr, ok := netip.AddrFromSlice(e.Key)
			if !ok {
				return nil, fmt.Errorf("nft: list set %s: element key of %d bytes is no address", set.Name, len(e.Key))
			}
			out = append(out, Element{Addr: addr, Timeout: e.Timeout, Expires: e.Expires})
		}
		slices.SortFunc(out[start:], func(a, b Element) int { return a.Addr.Compare(b.Addr) })
	}
	return out, nil
}

// group validates bans and sorts them into per-set element lists, in
// order of first appearance. withTimeout selects whether element timeouts
// are encoded.
func (fw *Firewall) group(bans []Ban, withTimeout bool) ([]*pending, error) {
	var order []*pending
	bySet := make(map[setKey]*pending)
	for i, b := range bans {
		if !b.Addr.IsValid() {
			return nil, fmt.Errorf("ban %d (jail %q): invalid address", i, b.Jail)
		}
		if b.Timeout < 0 {
			return nil, fmt.Errorf("ban %d (jail %q, %s): negative timeout %v", i, b.Jail, b.Addr, b.Timeout)
		}
		addr := b.Addr.Unmap().WithZone("")
		key := setKey{jail: b.Jail, v6: addr.Is6()}
		p, ok := bySet[key]
		if !ok {
			set, err := fw.lookupSet(b.Jail, key.v6)
			if err != nil {
				return nil, err
			}
			p = &pending{set: set, index: make(map[netip.Addr]int)}
			bySet[key] = p
			order = append(order, p)
		}
		e := nftables.SetElement{Key: addr.AsSlice()}
		if withTimeout {
			e.Timeout = roundUpMillis(b.Timeout)
		}
		if j, dup := p.index[addr]; dup {
			p.elems[j] = e
			continue
		}
		p.index[addr] = len(p.elems)
		p.elems = append(p.elems, e)
	}
	return order, nil
}

func roundUpMillis(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

func keysOnly(elems []nftables.SetElement) []nftables.SetElement {
	keys := make([]nftables.SetElement, len(elems))
	for i, e := range elems {
		keys[i] = nftables.SetElement{Key: e.Key}
	}
	return keys
}

// lookupSet returns the set of jail for one family, from the cache or,
// for jails set up by another process, from the kernel.
func (fw *Firewall) lookupSet(jail string, v6 bool) (*nftables.Set, error) {
	js, ok := fw.sets[jail]
	if !ok {
		js = newJailSets(fw.table, jail)
		for _, s := range []*nftables.Set{js.v4, js.v6} {
			ks, err := fw.conn.GetSetByName(fw.table, s.Name)
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					return nil, fmt.Errorf("jail %q: no set %s in table inet %s (Setup not run for this jail?)", jail, s.Name, fw.table.Name)
				}
				return nil, fmt.Errorf("jail %q: look up set %s: %w", jail, s.Name, err)
			}
			if ks.KeyType.Name != s.KeyType.Name || !ks.HasTimeout {
				return nil, fmt.Errorf("jail %q: set %s is not a %s set with timeouts", jail, s.Name, s.KeyType.Name)
			}
		}
		fw.sets[jail] = js
	}
	if v6 {
		return js.v6, nil
	}
	return js.v4, nil
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
