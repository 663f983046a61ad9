package nft

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestListAfterBulkBan lists 100000 IPv4 and 20000 IPv6 bans right after
// banning them in one call, when the kernel is still resizing the hash
// tables (which makes some dumps repeat elements and miss others): List
// returns exactly the banned addresses, each once, in order. A dump takes
// large messages.
func TestListAfterBulkBan(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n4, n6, rounds = 100000, 20000, 2
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	bans := bulkBans("sshd", n4, n6)
	for round := range rounds {
		if round > 0 {
			// Empty sets, so that the next Ban grows the tables again.
			for _, v6 := range []bool{false, true} {
				set, err := fw.lookupSet(setKey{jail: "sshd", v6: v6})
				if err != nil {
					t.Fatal(err)
				}
				fw.conn.FlushSet(set)
			}
			if err := fw.conn.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Ban(bans); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		l := mustList(t, fw, "sshd")
		t.Logf("round %d: List of %d: %v", round, len(l), time.Since(start).Round(time.Millisecond))
		if len(l) != len(bans) {
			t.Errorf("round %d: List returned %d elements, want %d", round, len(l), len(bans))
		}
		for i, e := range l {
			if i >= len(bans) {
				break
			}
			// bulkBans gives each family in ascending order, as List does.
			if want := bans[i].Addr; e.Addr != want || e.Prefix != netip.PrefixFrom(want, want.BitLen()) {
				t.Fatalf("round %d: element %d is %v (%v), want %v", round, i, e.Addr, e.Prefix, want)
			}
			if e.Timeout != time.Hour || e.Expires <= 0 || e.Expires > time.Hour {
				t.Fatalf("round %d: element %d (%v): timeout %v, expires %v", round, i, e.Addr, e.Timeout, e.Expires)
			}
		}
	}

	set, err := fw.lookupSet(setKey{jail: "sshd"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := fw.dumpConn()
	if err != nil {
		t.Fatal(err)
	}
	elems, msgs, err := readSet(conn, set)
	if err != nil {
		t.Fatal(err)
	}
	// ~800 IPv4 elements fit a 32 KiB message; a page holds 93.
	if len(elems) != n4 || msgs > n4/500 {
		t.Errorf("dump of %d elements in %d messages, want %d in at most %d", len(elems), msgs, n4, n4/500)
	}
}

func TestElemSet(t *testing.T) {
	a4, b4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	a6 := netip.MustParseAddr("2001:db8::1")
	mapped := netip.AddrFrom16(a4.As16())
	for _, tc := range []struct {
		name  string
		elems []setElem
		want  bool
	}{
		{"empty", nil, false},
		{"distinct", []setElem{{addr: a4}, {addr: b4}, {addr: a6}, {addr: mapped}}, false},
		{"start and end", []setElem{{addr: a4}, {addr: a4, end: true}, {addr: a6}, {addr: a6, end: true}}, false},
		{"IPv4", []setElem{{addr: a4}, {addr: b4}, {addr: a4, timeout: time.Hour}}, true},
		{"IPv6", []setElem{{addr: a6}, {addr: a4}, {addr: a6}}, true},
		{"end", []setElem{{addr: a6, end: true}, {addr: a6, end: true}}, true},
	} {
		var s elemSet
		got := false
		for _, e := range tc.elems {
			if !s.add(e) {
				got = true
			}
		}
		if got != tc.want {
			t.Errorf("%s: repeats %v, want %v", tc.name, got, tc.want)
		}
	}
}

// nla encodes one netlink attribute.
func nla(typ uint16, data ...[]byte) []byte {
	var payload []byte
	for _, d := range data {
		payload = append(payload, d...)
	}
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestAppendElems(t *testing.T) {
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	key := func(a string) []byte {
		return nla(unix.NFTA_SET_ELEM_KEY|unix.NLA_F_NESTED, nla(unix.NFTA_DATA_VALUE, netip.MustParseAddr(a).AsSlice()))
	}
	msg := func(elems ...[]byte) netlink.Message {
		var list [][]byte
		for _, e := range elems {
			list = append(list, nla(unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED, e))
		}
		return netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM)},
			Data: append([]byte{unix.NFPROTO_INET, 0, 0, 0}, append(append(
				nla(unix.NFTA_SET_ELEM_LIST_TABLE, []byte("f2b\x00")),
				nla(unix.NFTA_SET_ELEM_LIST_SET, []byte("f2b-sshd-v4\x00"))...),
				nla(unix.NFTA_SET_ELEM_LIST_ELEMENTS|unix.NLA_F_NESTED, list...)...)...),
		}
	}
	good := msg(
		append(key("192.0.2.1"), append(nla(unix.NFTA_SET_ELEM_TIMEOUT, be64(3600000)), nla(unix.NFTA_SET_ELEM_EXPIRATION, be64(1500))...)...),
		append(key("2001:db8::1"), nla(unix.NFTA_SET_ELEM_FLAGS, be32(unix.NFT_SET_ELEM_INTERVAL_END))...),
		nla(unix.NFTA_SET_ELEM_KEY|unix.NLA_F_NESTED, nla(unix.NFTA_DATA_VALUE, []byte{1, 2, 3})),
	)
	got, err := appendElems(nil, good)
	if err != nil {
		t.Fatal(err)
	}
	want := []setElem{
		{addr: netip.MustParseAddr("192.0.2.1"), timeout: time.Hour, expires: 1500 * time.Millisecond},
		{addr: netip.MustParseAddr("2001:db8::1"), end: true},
		{}, // a key that is no address
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("element %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	for name, m := range map[string]netlink.Message{
		"truncated":     {Header: good.Header, Data: good.Data[:len(good.Data)-6]},
		"short timeout": msg(append(key("192.0.2.1"), nla(unix.NFTA_SET_ELEM_TIMEOUT, be32(1))...)),
		"bad length":    msg(append(key("192.0.2.1"), 2, 0, 0, 0)),
		"wrong type":    {Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSET)}, Data: good.Data},
		"no header":     {Header: good.Header, Data: good.Data[:2]},
	} {
		if els, err := appendElems(nil, m); err == nil {
			t.Errorf("%s: no error, elements %+v", name, els)
		}
	}
}
