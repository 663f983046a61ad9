// Package ignore decides which addresses a jail must never ban: loopback,
// the host's own addresses (ignoreself) and the jail's ignoreip entries.
package ignore

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// List is a set of address prefixes that are never banned. It is read-only
// after New and safe for concurrent use.
type List struct {
	prefixes []netip.Prefix
	// Names are ignoreip entries that are host names. They are kept for
	// reporting; f2bd does not resolve them yet.
	Names []string
}

// Loopback is always ignored, whatever the configuration says.
var loopback = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// New builds a List from ignoreip entries as written in a jail (addresses,
// CIDR prefixes, or host names), plus loopback, plus the host's own
// addresses when self is true. It fails on an entry that looks like an
// address but does not parse, naming the entry.
func New(entries []string, self bool) (*List, error) {
	l := &List{prefixes: append([]netip.Prefix(nil), loopback...)}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := parse(e); err == nil {
			l.prefixes = append(l.prefixes, p)
			continue
		} else if looksNumeric(e) {
			return nil, fmt.Errorf("ignoreip %q: %w", e, err)
		}
		l.Names = append(l.Names, e)
	}
	if self {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, fmt.Errorf("ignoreself: listing the host's addresses: %w", err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					ip = ip.Unmap()
					l.prefixes = append(l.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
				}
			}
		}
	}
	return l, nil
}

func parse(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// looksNumeric reports whether s is meant as an address (digits, dots,
// colons and a slash only) rather than a host name.
func looksNumeric(s string) bool {
	return strings.Trim(s, "0123456789abcdefABCDEF.:/") == "" && strings.ContainsAny(s, ".:")
}

// Contains reports whether a must never be banned.
func (l *List) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
