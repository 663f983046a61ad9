package nft

import (
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
)

// Prefix bans live in interval sets (flags interval,timeout), where the
// kernel (nft_set_rbtree) stores a range as two elements: its first
// address, which carries the timeout, and the first address after it,
// flagged as interval end, which must carry no timeout (the kernel
// refuses one with EINVAL) and expires with its start. A range reaching
// the family's last address has no end element. The kernel does no
// merging; overlapping ranges are refused with EEXIST, except that one
// sharing an element with an existing range is silently accepted and
// corrupts it, and that deleting a start element deletes it whatever end
// the caller names. So f2bd never sends a range without first reading the
// set: Ban resolves nesting (the wider prefix wins) and Unban deletes
// exact ranges only.

// u128 is an address as a number: IPv4 in the low 32 bits.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func fromU128(u u128, v6 bool) netip.Addr {
	if !v6 {
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// ones returns a number with the low n bits set, n <= 128.
func ones(n int) u128 {
	switch {
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n >= 64:
		return u128{hi: 1<<(n-64) - 1, lo: ^uint64(0)}
	}
	return u128{lo: 1<<n - 1}
}

func (u u128) or(v u128) u128 { return u128{u.hi | v.hi, u.lo | v.lo} }

func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	if u.hi != 0 {
		return 64 + bits.TrailingZeros64(u.hi)
	}
	return 128
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr()
	return fromU128(toU128(a).or(ones(a.BitLen()-p.Bits())), a.Is6())
}

// prefixElems returns the interval set elements of p: its start carrying
// the timeout and, unless p reaches the family's last address, the end.
func prefixElems(p netip.Prefix, timeout time.Duration) []nftables.SetElement {
	start := nftables.SetElement{Key: p.Addr().AsSlice(), Timeout: timeout}
	next := lastAddr(p).Next()
	if !next.IsValid() {
		start.IntervalOpen = true
		return []nftables.SetElement{start}
	}
	return []nftables.SetElement{start, {Key: next.AsSlice(), IntervalEnd: true}}
}

// interval is one range of an interval set as the kernel holds it.
type interval struct {
	start netip.Addr
	// end is the first address after the range, the zero Addr when the
	// range reaches the family's last address.
	end              netip.Addr
	timeout, expires time.Duration
}

func (iv interval) last() netip.Addr {
	if !iv.end.IsValid() {
		return fromU128(ones(128), iv.start.Is6())
	}
	return iv.end.Prev()
}

// elems returns the elements to name when deleting iv.
func (iv interval) elems() []nftables.SetElement {
	out := []nftables.SetElement{{Key: iv.start.AsSlice()}}
	if iv.end.IsValid() {
		out = append(out, nftables.SetElement{Key: iv.end.AsSlice(), IntervalEnd: true})
	}
	return out
}

// is reports whether iv is exactly the range of p.
func (iv interval) is(p netip.Prefix) bool {
	return iv.start == p.Addr() && iv.end == lastAddr(p).Next()
}

// prefixes returns the CIDR prefixes covering iv exactly: one for the
// ranges f2bd writes, several for ranges written by others.
func (iv interval) prefixes() []netip.Prefix {
	width := iv.start.BitLen()
	var out []netip.Prefix
	a, last := iv.start, iv.last()
	for {
		u := toU128(a)
		// The widest block aligned at a that ends at or before last.
		k := min(u.trailingZeros(), width)
		for k > 0 && lastAddr(netip.PrefixFrom(a, width-k)).Compare(last) > 0 {
			k--
		}
		p := netip.PrefixFrom(a, width-k)
		out = append(out, p)
		end := lastAddr(p)
		if end == last {
			return out
		}
		a = end.Next()
	}
}

// parseIntervals rebuilds the ranges of an interval set from its elements
// (in any order), sorted by start. An end element closes the range opened
// by the start element before it; an end without a start (left behind by
// an expired start until the kernel's garbage collection) is ignored, as
// is a start inside an open range; a last start without end runs to the
// family's last address.
func parseIntervals(elems []setElem) []interval {
	list := make([]setElem, 0, len(elems))
	for _, e := range elems {
		if e.addr.IsValid() {
			list = append(list, e)
		}
	}
	// At equal keys an end (of the range before) precedes a start.
	slices.SortFunc(list, func(x, y setElem) int {
		if c := x.addr.Compare(y.addr); c != 0 {
			return c
		}
		switch {
		case x.end == y.end:
			return 0
		case x.end:
			return -1
		}
		return 1
	})
	var out []interval
	var open *interval
	for _, e := range list {
		switch {
		case !e.end && open == nil:
			open = &interval{start: e.addr, timeout: e.timeout, expires: e.expires}
		case e.end && open != nil:
			open.end = e.addr
			out = append(out, *open)
			open = nil
		}
	}
	if open != nil {
		out = append(out, *open)
	}
	return out
}

// prefixReq is a requested prefix ban or unban.
type prefixReq struct {
	p       netip.Prefix
	timeout time.Duration
}

// prefixOp is one unit of a prefix Ban: existing ranges to delete, then
// the prefix to add, in the same batch.
type prefixOp struct {
	remove []interval
	add    prefixReq
}

// widest drops the requests that lie inside another request, keeping the
// widest; reqs hold no duplicate prefixes. The result is sorted.
func widest(reqs []prefixReq) []prefixReq {
	slices.SortFunc(reqs, func(a, b prefixReq) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return a.p.Bits() - b.p.Bits()
	})
	out := reqs[:0]
	for _, r := range reqs {
		if n := len(out); n > 0 && out[n-1].p.Contains(r.p.Addr()) {
			continue // inside the wider out[n-1], which sorts first
		}
		out = append(out, r)
	}
	return out
}

// planPrefixBans decides how to apply sorted, non-nested requests to a
// set holding existing (sorted, disjoint) ranges so that the set never
// holds overlapping ranges and the wider ban wins: a request inside a
// wider existing range is dropped; existing ranges inside (or partly
// overlapping) a request are deleted in the request's batch; a request
// for an existing range re-adds it, refreshing its timeout.
func planPrefixBans(reqs []prefixReq, existing []interval) (ops []prefixOp, absorbed []netip.Prefix) {
	for _, r := range reqs {
		first, last := r.p.Addr(), lastAddr(r.p)
		// The first existing range not entirely before r.
		i, _ := slices.BinarySearchFunc(existing, first, func(iv interval, a netip.Addr) int {
			return iv.last().Compare(a)
		})
		op := prefixOp{add: r}
		inside := false
		for ; i < len(existing) && existing[i].start.Compare(last) <= 0; i++ {
			iv := existing[i]
			switch {
			case iv.is(r.p):
			case iv.start.Compare(first) <= 0 && iv.last().Compare(last) >= 0:
				inside = true
			default:
				op.remove = append(op.remove, iv)
			}
		}
		if inside {
			absorbed = append(absorbed, r.p)
			continue
		}
		ops = append(ops, op)
	}
	return ops, absorbed
}

// comparePrefixes orders by address, then wider first.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
