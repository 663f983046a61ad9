package ignore

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestContains(t *testing.T) {
	l, err := New([]string{"192.0.2.0/25", "2001:db8::7", "203.0.113.9", "trusted.example"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"192.0.2.100", true},
		{"192.0.2.200", false},
		{"2001:db8::7", true},
		{"2001:db8::8", false},
		{"203.0.113.9", true},
		{"::ffff:203.0.113.9", true},
		{"198.51.100.1", false},
	} {
		if got := l.Contains(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if len(l.Names) != 1 || l.Names[0] != "trusted.example" {
		t.Errorf("Names = %v, want the host name kept apart", l.Names)
	}
}

func TestBadEntryIsNamed(t *testing.T) {
	_, err := New([]string{"192.0.2.300/24"}, false)
	if err == nil || !strings.Contains(err.Error(), "192.0.2.300/24") {
		t.Fatalf("err = %v, want an error naming the entry", err)
	}
}

func TestIgnoreSelf(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.(*net.IPNet).IP)
		if !l.Contains(ip) {
			t.Errorf("own address %s not ignored with ignoreself", ip)
		}
	}
	none, _ := New(nil, false)
	if none.Contains(netip.MustParseAddr("192.0.2.55")) {
		t.Error("an unrelated address is ignored")
	}
}
