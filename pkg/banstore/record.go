package banstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/f2bd/f2bd/pkg/ban"
)

// Record is one active ban as the store keeps it.
type Record struct {
	Jail string
	// Prefix is the banned network; a single address is a full-length
	// prefix (see HostPrefix). The store keeps it canonical: host bits
	// cleared and IPv4-mapped IPv6 turned into IPv4.
	Prefix netip.Prefix
	// Time is when the ban started.
	Time time.Time
	// BanTime is the ban's length; negative means permanent.
	BanTime time.Duration
	// Count is the address's ban count including this ban (fail2ban's
	// bancount: 1 for a first ban; with bantime.increment, the previous
	// count plus one).
	Count    int
	Failures int
	Origin   ban.Origin
	// Matches are the log lines that led to the ban.
	Matches []string
}

// HostPrefix is the full-length prefix of a single address, without its
// zone and with an IPv4-mapped IPv6 address turned into IPv4. It is
// invalid when a is.
func HostPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen())
}

// FromDecision is the record of a ban decision for a single address with
// ban count count (previous bans plus one).
func FromDecision(d ban.Decision, count int) Record {
	return Record{
		Jail:     d.Jail,
		Prefix:   HostPrefix(d.Addr),
		Time:     d.Time,
		BanTime:  d.BanTime,
		Count:    count,
		Failures: d.Failures,
		Origin:   d.Origin,
		Matches:  d.Matches,
	}
}

// Decision is the ban decision the record holds. Its Addr is the
// prefix's address (the network address for a subnet ban).
func (r Record) Decision() ban.Decision {
	return ban.Decision{
		Jail:     r.Jail,
		Addr:     r.Prefix.Addr(),
		Time:     r.Time,
		BanTime:  r.BanTime,
		Failures: r.Failures,
		Origin:   r.Origin,
		Matches:  r.Matches,
	}
}

// Permanent reports whether the ban never expires.
func (r Record) Permanent() bool { return r.BanTime < 0 }

// Remaining is how long the ban still runs at now: ban.Permanent for a
// permanent ban, zero or less once it has run out. It saturates instead
// of overflowing.
func (r Record) Remaining(now time.Time) time.Duration {
	return remaining(r.Time, r.BanTime, now)
}

// Expired reports whether the ban has run out at now (never for a
// permanent ban).
func (r Record) Expired(now time.Time) bool {
	return expired(r.Time, r.BanTime, now)
}

func remaining(start time.Time, bt time.Duration, now time.Time) time.Duration {
	if bt < 0 {
		return ban.Permanent
	}
	el := now.Sub(start) // saturates
	if el < 0 && bt > math.MaxInt64+el {
		return math.MaxInt64
	}
	return bt - el
}

func expired(start time.Time, bt time.Duration, now time.Time) bool {
	return bt >= 0 && now.Sub(start) >= bt
}

// canonical checks and canonicalises a prefix for a key.
func canonical(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, fmt.Errorf("invalid prefix %v", p)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// checkJail checks a jail name can be a key part.
func checkJail(jail string) error {
	if jail == "" {
		return errors.New("empty jail name")
	}
	if strings.IndexByte(jail, 0) >= 0 {
		return fmt.Errorf("jail name %q contains a NUL byte", jail)
	}
	return nil
}

// banKey is the key of an active ban: jail, NUL, prefix. Keys sort by
// jail, so a jail's bans are one range.
func banKey(dst []byte, jail string, p netip.Prefix) []byte {
	dst = append(dst, jail...)
	dst = append(dst, 0)
	return p.AppendTo(dst)
}

// histKey is the key of a history entry: prefix, NUL, jail. Keys sort by
// prefix, so an address's entries over all jails are one range.
func histKey(dst []byte, p netip.Prefix, jail string) []byte {
	dst = p.AppendTo(dst)
	dst = append(dst, 0)
	return append(dst, jail...)
}

// splitKey splits a key at its NUL into its two parts.
func splitKey(k []byte) (a, b string, err error) {
	i := strings.IndexByte(string(k), 0)
	if i < 0 {
		return "", "", fmt.Errorf("malformed key %q", k)
	}
	return string(k[:i]), string(k[i+1:]), nil
}

// Record values, version 1: the version byte, then varints: start (Unix
// nanoseconds), bantime (ns), count, failures, then the origin and the
// matches as length-prefixed strings.
const recordV1 = 1

func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, recordV1)
	dst = binary.AppendVarint(dst, r.Time.UnixNano())
	dst = binary.AppendVarint(dst, int64(r.BanTime))
	dst = binary.AppendVarint(dst, int64(r.Count))
	dst = binary.AppendVarint(dst, int64(r.Failures))
	dst = appendString(dst, string(r.Origin))
	dst = binary.AppendUvarint(dst, uint64(len(r.Matches)))
	for _, m := range r.Matches {
		dst = appendString(dst, m)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads a value, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	if d.err != nil {
		return ""
	}
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.err = errors.New("truncated string")
		return ""
	}
	s := string(d.b[n : n+int(l)])
	d.b = d.b[n+int(l):]
	return s
}

func (d *decoder) version() {
	if len(d.b) == 0 || d.b[0] != recordV1 {
		d.err = errors.New("unknown record version")
		return
	}
	d.b = d.b[1:]
}

// decodeHead reads only the start and length of a ban.
func decodeHead(v []byte) (time.Time, time.Duration, error) {
	d := decoder{b: v}
	d.version()
	t := d.varint()
	bt := d.varint()
	return time.Unix(0, t), time.Duration(bt), d.err
}

func decodeRecord(k, v []byte) (Record, error) {
	jail, ps, err := splitKey(k)
	if err != nil {
		return Record{}, err
	}
	p, err := netip.ParsePrefix(ps)
	if err != nil {
		return Record{}, fmt.Errorf("key %q: %w", k, err)
	}
	r := Record{Jail: jail, Prefix: p}
	d := decoder{b: v}
	d.version()
	r.Time = time.Unix(0, d.varint())
	r.BanTime = time.Duration(d.varint())
	r.Count = int(d.varint())
	r.Failures = int(d.varint())
	r.Origin = ban.Origin(d.string())
	if d.err == nil {
		n, w := binary.Uvarint(d.b)
		if w <= 0 || n > uint64(len(d.b)) {
			d.err = errors.New("truncated matches")
		} else {
			d.b = d.b[w:]
			if n > 0 {
				r.Matches = make([]string, 0, n)
			}
			for range n {
				r.Matches = append(r.Matches, d.string())
			}
		}
	}
	if d.err != nil {
		return Record{}, fmt.Errorf("ban %s %s: corrupt value: %w", jail, ps, d.err)
	}
	return r, nil
}

// History is what the store remembers of an address's past bans, for
// bantime.increment.
type History struct {
	// Count is the ban count stored with the last ban (in one jail), or
	// the sum of those counts over all jails (fail2ban's overalljails
	// count); zero when the address was never banned (or was purged).
	Count int
	// LastBan is when the last ban started; zero when Count is.
	LastBan time.Time
	// BanTime is the length of the last ban.
	BanTime time.Duration
}

func appendHistory(dst []byte, h History) []byte {
	dst = append(dst, recordV1)
	dst = binary.AppendVarint(dst, h.LastBan.UnixNano())
	dst = binary.AppendVarint(dst, int64(h.BanTime))
	return binary.AppendVarint(dst, int64(h.Count))
}

func decodeHistory(v []byte) (History, error) {
	d := decoder{b: v}
	d.version()
	h := History{LastBan: time.Unix(0, d.varint()), BanTime: time.Duration(d.varint()), Count: int(d.varint())}
	if d.err != nil {
		return History{}, fmt.Errorf("corrupt history value: %w", d.err)
	}
	return h, nil
}
