package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Set dumps. The kernel answers a dump of set elements (NFT_MSG_GETSETELEM
// with NLM_F_DUMP) one netlink message at a time, and for each message it
// walks the set from its first element, skipping those already sent
// (nf_tables_dump_set, iter.skip), so a dump of n elements in messages of
// m costs n²/2m steps of the walk. The kernel sizes each message by the
// largest buffer the socket has passed to recvmsg, capped at 32 KiB
// (netlink_recvmsg, max_recvmsg_len), and never below NLMSG_GOODSIZE (a
// page). The nftables library's socket peeks at each message and reads it
// with a buffer of exactly its size, so its messages stay at one page: 93
// IPv4 elements, 1077 messages and 54 million steps for 100000 elements.
// dumpSet reads on a socket of its own with dumpBufSize-byte buffers, so
// the messages are ~32 KiB: 800 IPv4 (620 IPv6) elements, 125 messages
// and 6 million steps.
const (
	// dumpBufSize is the recvmsg buffer of the dump socket, above the
	// kernel's cap so that every message can reach it.
	dumpBufSize = 64 << 10
	// dumpAttempts bounds the dumps of one set by dumpSet.
	dumpAttempts = 10
	// dumpPause is the pause after the first inconsistent dump, doubled
	// after each further one.
	dumpPause = 10 * time.Millisecond
)

// errInconsistent marks a dump that cannot be trusted.
var errInconsistent = errors.New("inconsistent dump")

// setElem is an element of an address or interval set as the kernel
// dumps it.
type setElem struct {
	// addr is the key; the zero Addr if the key is no IPv4 or IPv6
	// address (a set f2bd did not make).
	addr netip.Addr
	// end is the NFT_SET_ELEM_INTERVAL_END flag of an interval set.
	end              bool
	timeout, expires time.Duration
}

// dumpSet reads all elements of set. When a hash set's table is resized
// between two messages of a dump (as the kernel does in the background
// after a large insert), the walk order changes, so that some elements
// come twice and as many never. readSet detects this by a repeated
// element (or the kernel's NLM_F_DUMP_INTR flag) and stops reading at the
// first; dumpSet then dumps again, after a growing pause. It fails if the
// kernel cannot be queried or every attempt was inconsistent.
func (fw *Firewall) dumpSet(set *nftables.Set) ([]setElem, error) {
	pause := dumpPause
	for attempt := 1; ; attempt++ {
		conn, err := fw.dumpConn()
		if err != nil {
			return nil, fmt.Errorf("read set %s: %w", set.Name, err)
		}
		elems, _, err := readSet(conn, set)
		if err == nil {
			return elems, nil
		}
		// The socket may be closed or hold the rest of the dump.
		_ = fw.closeDump()
		if !errors.Is(err, errInconsistent) {
			return nil, fmt.Errorf("read set %s: %w", set.Name, err)
		}
		if attempt == dumpAttempts {
			return nil, fmt.Errorf("read set %s: %d dumps inconsistent (set changing during the dump), last: %w", set.Name, attempt, err)
		}
		time.Sleep(pause)
		pause *= 2
	}
}

// dumpConn returns the socket for set dumps, opening it in the Firewall's
// namespace on first use. It stays open, so that the kernel sizes even
// the first message of a dump by the reads of the previous dumps.
func (fw *Firewall) dumpConn() (*netlink.Conn, error) {
	if fw.dump != nil {
		return fw.dump, nil
	}
	ns := 0 // the calling thread's namespace
	if fw.netnsFD >= 0 {
		ns = fw.netnsFD
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: ns, MessageBufferSize: dumpBufSize})
	if err != nil {
		return nil, fmt.Errorf("open netlink socket for dumps: %w", err)
	}
	fw.dump = conn
	return conn, nil
}

// closeDump closes the dump socket, if open; the next dump opens another.
func (fw *Firewall) closeDump() error {
	if fw.dump == nil {
		return nil
	}
	err := fw.dump.Close()
	fw.dump = nil
	return err
}

// setElemDumpRequest returns the request for a dump of set's elements.
func setElemDumpRequest(set *nftables.Set) (netlink.Message, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: []byte(set.Table.Name + "\x00")},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: []byte(set.Name + "\x00")},
	})
	if err != nil {
		return netlink.Message{}, fmt.Errorf("encode dump request: %w", err)
	}
	return netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSETELEM),
			Flags: netlink.Request | netlink.Dump,
		},
		// struct nfgenmsg: family, version, resource id.
		Data: append([]byte{byte(set.Table.Family), unix.NFNETLINK_V0, 0, 0}, attrs...),
	}, nil
}

// readSet dumps set's elements once on conn and returns them with the
// number of messages the kernel sent. The error wraps errInconsistent
// when the kernel flagged the dump as interrupted, or when an element
// repeats, in which case readSet closes conn at once rather than read the
// rest of the dump.
func readSet(conn *netlink.Conn, set *nftables.Set) ([]setElem, int, error) {
	req, err := setElemDumpRequest(set)
	if err != nil {
		return nil, 0, err
	}
	req, err = conn.Send(req)
	if err != nil {
		return nil, 0, fmt.Errorf("send dump request: %w", err)
	}
	var (
		elems       []setElem
		msgs        int
		interrupted bool
		seen        elemSet
	)
	// ReceiveIter reads until NLMSG_DONE and turns an NLMSG_ERROR (such as
	// ENOENT for a missing set) into an error.
	for m, err := range conn.ReceiveIter() {
		if err != nil {
			return nil, msgs, fmt.Errorf("receive: %w", err)
		}
		msgs++
		if m.Header.Sequence != req.Header.Sequence {
			return nil, msgs, fmt.Errorf("receive: message of sequence %d in the dump of sequence %d", m.Header.Sequence, req.Header.Sequence)
		}
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			interrupted = true
		}
		n := len(elems)
		if elems, err = appendElems(elems, m); err != nil {
			return nil, msgs, fmt.Errorf("dump message %d: %w", msgs, err)
		}
		for _, e := range elems[n:] {
			if !seen.add(e) {
				// Breaking the loop alone would read the dump to its end;
				// the closed socket fails the next read instead.
				_ = conn.Close()
				return nil, msgs, fmt.Errorf("%v repeated in dump message %d: %w", e.addr, msgs, errInconsistent)
			}
		}
	}
	if interrupted {
		return nil, msgs, fmt.Errorf("kernel flagged the dump as interrupted: %w", errInconsistent)
	}
	return elems, msgs, nil
}

// appendElems decodes the elements of an NFT_MSG_NEWSETELEM message and
// appends them to elems. It reads the attributes directly rather than
// through netlink.AttributeDecoder, which allocates for every nested
// attribute and took a sixth of List's time for large sets.
func appendElems(elems []setElem, m netlink.Message) ([]setElem, error) {
	if want := netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM); m.Header.Type != want {
		return nil, fmt.Errorf("message type %#x, want %#x", m.Header.Type, want)
	}
	if len(m.Data) < 4 {
		return nil, fmt.Errorf("message of %d bytes", len(m.Data))
	}
	top := attrs{b: m.Data[4:]} // after struct nfgenmsg
	for top.next() {
		if top.typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		list := attrs{b: top.data}
		for list.next() {
			if list.typ != unix.NFTA_LIST_ELEM {
				continue
			}
			e, err := parseElem(list.data)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", len(elems), err)
			}
			elems = append(elems, e)
		}
		if list.err != nil {
			return nil, list.err
		}
	}
	return elems, top.err
}

// parseElem decodes the attributes of one NFTA_LIST_ELEM.
func parseElem(b []byte) (setElem, error) {
	var e setElem
	a := attrs{b: b}
	for a.next() {
		switch a.typ {
		case unix.NFTA_SET_ELEM_KEY:
			d := attrs{b: a.data}
			for d.next() {
				if d.typ == unix.NFTA_DATA_VALUE {
					e.addr, _ = netip.AddrFromSlice(d.data)
				}
			}
			if d.err != nil {
				return e, fmt.Errorf("key: %w", d.err)
			}
		case unix.NFTA_SET_ELEM_FLAGS:
			v, err := a.uint(4)
			if err != nil {
				return e, err
			}
			e.end = v&unix.NFT_SET_ELEM_INTERVAL_END != 0
		case unix.NFTA_SET_ELEM_TIMEOUT, unix.NFTA_SET_ELEM_EXPIRATION:
			v, err := a.uint(8)
			if err != nil {
				return e, err
			}
			d := time.Duration(v) * time.Millisecond
			if a.typ == unix.NFTA_SET_ELEM_TIMEOUT {
				e.timeout = d
			} else {
				e.expires = d
			}
		}
	}
	return e, a.err
}

// attrs iterates over a sequence of netlink attributes.
type attrs struct {
	b    []byte // the attributes not yet read
	typ  uint16 // the current attribute's type, without flags
	data []byte // the current attribute's payload
	err  error  // the first malformed attribute, which ends the iteration
}

// next advances to the next attribute and reports whether there is one.
func (a *attrs) next() bool {
	if len(a.b) == 0 || a.err != nil {
		return false
	}
	if len(a.b) < unix.SizeofNlAttr {
		a.err = fmt.Errorf("attribute truncated to %d bytes", len(a.b))
		return false
	}
	n := int(binary.NativeEndian.Uint16(a.b))
	if n < unix.SizeofNlAttr || n > len(a.b) {
		a.err = fmt.Errorf("attribute length %d out of range (%d bytes left)", n, len(a.b))
		return false
	}
	a.typ = binary.NativeEndian.Uint16(a.b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	a.data = a.b[unix.SizeofNlAttr:n]
	a.b = a.b[min((n+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1), len(a.b)):]
	return true
}

// uint returns the current attribute as a big-endian integer of size
// bytes (4 or 8).
func (a *attrs) uint(size int) (uint64, error) {
	if len(a.data) != size {
		return 0, fmt.Errorf("attribute %d of %d bytes, want %d", a.typ, len(a.data), size)
	}
	if size == 4 {
		return uint64(binary.BigEndian.Uint32(a.data)), nil
	}
	return binary.BigEndian.Uint64(a.data), nil
}

// elemSet is a set of elements by key and interval-end flag, to find
// repeats in a dump, the sign of a set whose walk order changed during the
// dump. IPv4 keys go into a map of uint64, several times faster than one
// of netip.Addr or strings. The zero elemSet is empty.
type elemSet struct {
	v4 map[uint64]struct{}
	v6 map[elemKey6]struct{}
}

// elemKey6 is the key in an elemSet of an IPv6 element.
type elemKey6 struct {
	a   [16]byte
	end bool
}

// add adds e, unless its key is no address, and reports whether it was
// not in s yet.
func (s *elemSet) add(e setElem) bool {
	switch {
	case e.addr.Is4():
		if s.v4 == nil {
			s.v4 = make(map[uint64]struct{})
		}
		a := e.addr.As4()
		return addKey(s.v4, uint64(binary.BigEndian.Uint32(a[:]))<<1|uint64(b2u(e.end)))
	case e.addr.Is6():
		if s.v6 == nil {
			s.v6 = make(map[elemKey6]struct{})
		}
		return addKey(s.v6, elemKey6{e.addr.As16(), e.end})
	}
	return true
}

// addKey adds k to the set m and reports whether it was new, in one
// lookup.
func addKey[K comparable](m map[K]struct{}, k K) bool {
	n := len(m)
	m[k] = struct{}{}
	return len(m) > n
}

// b2u converts a bool to 0 or 1.
func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
