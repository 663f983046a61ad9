package nft

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
	"github.com/google/nftables"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestPrefixElems(t *testing.T) {
	for _, tc := range []struct {
		p          string
		start, end string // end "" = open
	}{
		{"192.0.2.0/24", "192.0.2.0", "192.0.3.0"},
		{"198.51.100.128/25", "198.51.100.128", "198.51.101.0"},
		{"192.0.2.7/32", "192.0.2.7", "192.0.2.8"},
		{"2001:db8::/32", "2001:db8::", "2001:db9::"},
		{"2001:db8:0:ffff:ffff:ffff:ffff:ff00/120", "2001:db8:0:ffff:ffff:ffff:ffff:ff00", "2001:db8:1::"},
		// Ranges reaching the last address have no end element. These
		// are never sent to a kernel by the tests.
		{"255.255.255.0/24", "255.255.255.0", ""},
		{"ffff::/16", "ffff::", ""},
	} {
		el := prefixElems(pfx(tc.p), time.Minute)
		if got := netip.AddrFrom16([16]byte(pad16(el[0].Key))).Unmap(); got.String() != tc.start || el[0].Timeout != time.Minute || el[0].IntervalEnd {
			t.Errorf("%s: start %v %+v", tc.p, got, el[0])
		}
		if tc.end == "" {
			if len(el) != 1 || !el[0].IntervalOpen {
				t.Errorf("%s: want one open start, got %+v", tc.p, el)
			}
			continue
		}
		if len(el) != 2 || !el[1].IntervalEnd || el[1].Timeout != 0 {
			t.Fatalf("%s: elements %+v", tc.p, el)
		}
		if got, _ := netip.AddrFromSlice(el[1].Key); got.String() != tc.end {
			t.Errorf("%s: end %v, want %s", tc.p, got, tc.end)
		}
		ivs := parseIntervals(dumped(el))
		if len(ivs) != 1 || !ivs[0].is(pfx(tc.p)) || !slices.Equal(ivs[0].prefixes(), []netip.Prefix{pfx(tc.p)}) {
			t.Errorf("%s: round trip %+v", tc.p, ivs)
		}
	}
}

func pad16(b []byte) []byte {
	if len(b) == 4 {
		a := netip.AddrFrom4([4]byte(b)).As16()
		return a[:]
	}
	return b
}

func el(a string, end bool, timeout time.Duration) setElem {
	return setElem{addr: netip.MustParseAddr(a), end: end, timeout: timeout}
}

// dumped returns elements as a dump would return them.
func dumped(elems []nftables.SetElement) []setElem {
	out := make([]setElem, len(elems))
	for i, e := range elems {
		a, _ := netip.AddrFromSlice(e.Key)
		out[i] = setElem{addr: a, end: e.IntervalEnd, timeout: e.Timeout, expires: e.Expires}
	}
	return out
}

func TestParseIntervals(t *testing.T) {
	// As the kernel dumps them (in reverse), with adjacent ranges, a stale
	// end left by an expired start, and a foreign non-CIDR range.
	got := parseIntervals([]setElem{
		el("203.0.113.10", true, 0), el("203.0.113.1", false, time.Hour), // 203.0.113.1-9
		el("198.51.101.0", true, 0), el("198.51.100.128", false, 2*time.Hour),
		el("198.51.100.128", true, 0), el("198.51.100.0", false, time.Hour),
		el("192.0.3.0", true, 0), // start expired
	})
	want := []struct {
		start, end string
		prefixes   []string
	}{
		{"198.51.100.0", "198.51.100.128", []string{"198.51.100.0/25"}},
		{"198.51.100.128", "198.51.101.0", []string{"198.51.100.128/25"}},
		{"203.0.113.1", "203.0.113.10", []string{"203.0.113.1/32", "203.0.113.2/31", "203.0.113.4/30", "203.0.113.8/31"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		var ps []string
		for _, p := range got[i].prefixes() {
			ps = append(ps, p.String())
		}
		if got[i].start.String() != w.start || got[i].end.String() != w.end || !slices.Equal(ps, w.prefixes) {
			t.Errorf("interval %d: %v-%v %v, want %s-%s %v", i, got[i].start, got[i].end, ps, w.start, w.end, w.prefixes)
		}
	}
	if got[1].timeout != 2*time.Hour {
		t.Errorf("timeout of second range: %v", got[1].timeout)
	}
}

func TestPlanPrefixBans(t *testing.T) {
	existing := parseIntervals(dumped(slices.Concat(
		prefixElems(pfx("192.0.2.0/24"), time.Hour),
		prefixElems(pfx("198.51.100.0/26"), time.Hour),
		prefixElems(pfx("198.51.100.64/26"), time.Hour),
		prefixElems(pfx("203.0.113.0/25"), time.Hour),
	)))
	reqs := widest([]prefixReq{
		{p: pfx("192.0.2.128/25")},     // inside an existing /24: absorbed
		{p: pfx("198.51.100.0/24")},    // covers two existing /26
		{p: pfx("198.51.100.128/26")},  // inside the requested /24: dropped
		{p: pfx("203.0.113.0/25")},     // exists: refreshed
		{p: pfx("203.0.113.128/25")},   // adjacent: plain add
		{p: pfx("2001:db8::/48")},      // other family in a real call; plain add here
		{p: pfx("2001:db8:0:1::/64")},  // inside the /48 request
		{p: pfx("2001:db8:0:1::/127")}, // likewise
	})
	if len(reqs) != 5 {
		t.Fatalf("widest kept %v", reqs)
	}
	ops, absorbed := planPrefixBans(reqs, existing)
	if len(absorbed) != 1 || absorbed[0] != pfx("192.0.2.128/25") {
		t.Errorf("absorbed %v", absorbed)
	}
	got := map[string][]string{}
	for _, op := range ops {
		var rm []string
		for _, iv := range op.remove {
			rm = append(rm, iv.prefixes()[0].String())
		}
		got[op.add.p.String()] = rm
	}
	want := map[string][]string{
		"198.51.100.0/24":  {"198.51.100.0/26", "198.51.100.64/26"},
		"203.0.113.0/25":   nil,
		"203.0.113.128/25": nil,
		"2001:db8::/48":    nil,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plan %v, want %v", got, want)
	}
}

func TestBanTarget(t *testing.T) {
	for _, tc := range []struct {
		ban  Ban
		want string // "" = error
	}{
		{Ban{Addr: netip.MustParseAddr("192.0.2.1")}, "192.0.2.1/32"},
		{Ban{Addr: netip.MustParseAddr("::ffff:192.0.2.1")}, "192.0.2.1/32"},
		{Ban{Addr: netip.MustParseAddr("fe80::1%eth0")}, "fe80::1/128"},
		{Ban{Prefix: pfx("192.0.2.77/24")}, "192.0.2.0/24"},
		{Ban{Prefix: pfx("::ffff:192.0.2.0/120")}, "192.0.2.0/24"},
		{Ban{Prefix: pfx("2001:db8::1/128")}, "2001:db8::1/128"},
		{Ban{Prefix: pfx("0.0.0.0/0")}, ""},
		{Ban{Prefix: pfx("::/0")}, ""},
		{Ban{Addr: netip.MustParseAddr("192.0.2.1"), Prefix: pfx("192.0.2.0/24")}, ""},
		{Ban{}, ""},
	} {
		p, err := tc.ban.target()
		if tc.want == "" {
			if err == nil {
				t.Errorf("%+v: got %v, want error", tc.ban, p)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("%+v: %v, %v; want %s", tc.ban, p, err, tc.want)
		}
	}
}

// TestPrefixBan bans, refreshes, nests and unbans prefixes in the kernel,
// on the code paths of current and of older kernels.
func TestPrefixBan(t *testing.T) {
	for _, mode := range []features{{true, true}, {false, false}} {
		t.Run(fmt.Sprintf("destroy=%v,addRefreshes=%v", mode.destroyElem, mode.addRefreshes), func(t *testing.T) {
			f := detectedFeatures(t)
			if mode.destroyElem && !f.destroyElem || mode.addRefreshes && !f.addRefreshes {
				t.Skip("kernel too old for this path")
			}
			testPrefixBan(t, mode)
		})
	}
}

func testPrefixBan(t *testing.T, mode features) {
	fw, ns := openTest(t)
	fw.feat = mode
	mustSetup(t, fw, sshd)
	ban := func(bans ...Ban) {
		t.Helper()
		for i := range bans {
			bans[i].Jail = "sshd"
		}
		if err := fw.Ban(bans); err != nil {
			t.Fatal(err)
		}
	}
	listed := func() string {
		t.Helper()
		var s []string
		for _, e := range mustList(t, fw, "sshd") {
			s = append(s, fmt.Sprintf("%v:%v", e.Prefix, e.Timeout))
		}
		return fmt.Sprint(s)
	}
	expect := func(step, want string) {
		t.Helper()
		if got := listed(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", step, got, want)
		}
	}

	// An address and a prefix covering it coexist: they live in
	// different sets.
	ban(Ban{Addr: netip.MustParseAddr("198.51.100.7"), Timeout: time.Hour},
		Ban{Prefix: pfx("198.51.100.0/24"), Timeout: time.Hour},
		Ban{Prefix: pfx("2001:db8:1::/48")},
		Ban{Prefix: pfx("2001:db8:2::1/128"), Timeout: time.Minute})
	expect("first bans", "[198.51.100.0/24:1h0m0s 198.51.100.7/32:1h0m0s 2001:db8:1::/48:0s 2001:db8:2::1/128:1m0s]")
	l := mustList(t, fw, "sshd")
	if l[0].Addr.IsValid() || l[1].Addr != netip.MustParseAddr("198.51.100.7") || l[0].Expires <= 59*time.Minute {
		t.Errorf("elements: %+v", l)
	}

	// nft(8) sees the prefixes as prefixes.
	var dump struct {
		Nftables []struct {
			Set *struct {
				Name string
				Elem []struct {
					Elem struct {
						Val struct {
							Prefix struct {
								Addr string
								Len  int
							}
						}
						Timeout int
					}
				}
			}
		}
	}
	if err := json.Unmarshal(nftest.Output(t, ns, "nft", "-j", "list", "set", "inet", DefaultTable, "f2b-sshd-net4"), &dump); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, o := range dump.Nftables {
		if o.Set != nil {
			for _, e := range o.Set.Elem {
				seen = append(seen, fmt.Sprintf("%s/%d %ds", e.Elem.Val.Prefix.Addr, e.Elem.Val.Prefix.Len, e.Elem.Timeout))
			}
		}
	}
	if fmt.Sprint(seen) != "[198.51.100.0/24 3600s]" {
		t.Errorf("nft -j list set f2b-sshd-net4: %v", seen)
	}

	// Re-ban refreshes the timeout, also shortening it and making it
	// permanent and temporary again.
	for _, d := range []time.Duration{10 * time.Second, 0, 30 * time.Second} {
		ban(Ban{Prefix: pfx("198.51.100.0/24"), Timeout: d})
		l := mustList(t, fw, "sshd")
		if l[0].Timeout != d || l[0].Expires > d || d > 0 && l[0].Expires < d-5*time.Second {
			t.Errorf("re-ban with %v: %+v", d, l[0])
		}
	}

	// The wider ban wins.
	ban(Ban{Prefix: pfx("203.0.113.0/26"), Timeout: time.Hour}, Ban{Prefix: pfx("203.0.113.64/26"), Timeout: time.Hour})
	ban(Ban{Prefix: pfx("203.0.113.0/25"), Timeout: 2 * time.Hour})
	expect("after /25 over two /26", "[198.51.100.0/24:30s 198.51.100.7/32:1h0m0s 203.0.113.0/25:2h0m0s 2001:db8:1::/48:0s 2001:db8:2::1/128:1m0s]")
	ban(Ban{Prefix: pfx("203.0.113.32/27"), Timeout: 5 * time.Hour}, Ban{Prefix: pfx("2001:db8:1:2::/64")})
	expect("narrower bans absorbed", "[198.51.100.0/24:30s 198.51.100.7/32:1h0m0s 203.0.113.0/25:2h0m0s 2001:db8:1::/48:0s 2001:db8:2::1/128:1m0s]")
	// Adjacent ranges share a boundary key (end of one, start of the next).
	ban(Ban{Prefix: pfx("203.0.113.128/25"), Timeout: time.Hour})

	// Unban: exact prefixes only; absent ones are no error.
	unban := []Ban{
		{Jail: "sshd", Prefix: pfx("203.0.113.0/26")},   // inside the /25: not removed
		{Jail: "sshd", Prefix: pfx("203.0.113.0/24")},   // covers both /25: not an exact ban
		{Jail: "sshd", Prefix: pfx("192.0.2.0/24")},     // never banned
		{Jail: "sshd", Prefix: pfx("2001:db8:1::/48")},  // removed
		{Jail: "sshd", Prefix: pfx("203.0.113.128/25")}, // removed
		{Jail: "sshd", Addr: netip.MustParseAddr("198.51.100.8")},
	}
	if err := fw.Unban(unban); err != nil {
		t.Fatal(err)
	}
	expect("after unban", "[198.51.100.0/24:30s 198.51.100.7/32:1h0m0s 203.0.113.0/25:2h0m0s 2001:db8:2::1/128:1m0s]")
	if err := fw.Unban(unban); err != nil {
		t.Fatal(err)
	}
	expect("after second unban", "[198.51.100.0/24:30s 198.51.100.7/32:1h0m0s 203.0.113.0/25:2h0m0s 2001:db8:2::1/128:1m0s]")
}

func TestPrefixExpires(t *testing.T) {
	fw, _ := openTest(t)
	mustSetup(t, fw, sshd)
	if err := fw.Ban([]Ban{
		{Jail: "sshd", Prefix: pfx("192.0.2.0/28"), Timeout: 2 * time.Second},
		{Jail: "sshd", Prefix: pfx("2001:db8::/64"), Timeout: 2 * time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, fw, "sshd"); len(l) != 2 {
		t.Fatalf("List = %+v", l)
	}
	time.Sleep(3 * time.Second)
	if l := mustList(t, fw, "sshd"); len(l) != 0 {
		t.Errorf("after 3s the kernel still holds %+v", l)
	}
	// The same ranges can be banned again after expiry (the kernel may
	// still hold the stale end elements).
	if err := fw.Ban([]Ban{{Jail: "sshd", Prefix: pfx("192.0.2.0/28"), Timeout: time.Hour}, {Jail: "sshd", Prefix: pfx("192.0.2.0/27"), Timeout: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, fw, "sshd"); len(l) != 1 || l[0].Prefix != pfx("192.0.2.0/27") {
		t.Errorf("re-ban after expiry: %+v", l)
	}
}
