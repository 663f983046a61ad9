package nft

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DefaultServicesPath is where ParsePorts looks up service names.
const DefaultServicesPath = "/etc/services"

// PortRange is an inclusive range of transport-layer ports; a single port
// has First == Last.
type PortRange struct{ First, Last uint16 }

// String formats r the way fail2ban's port option writes it: "22" or
// "1000:2000".
func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d:%d", r.First, r.Last)
}

// builtinServices is used when no services file exists; it covers the
// names fail2ban's stock jails use.
var builtinServices = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25,
	"domain": 53, "http": 80, "pop3": 110, "sunrpc": 111, "imap": 143,
	"imap2": 143, "ldap": 389, "https": 443, "smtps": 465, "submissions": 465,
	"submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995,
	"openvpn": 1194, "mysql": 3306, "sieve": 4190, "sip": 5060,
	"xmpp-client": 5222, "xmpp-server": 5269, "postgresql": 5432,
	"http-alt": 8080, "webcache": 8080,
}

// Services maps service names (and aliases) to port numbers, as read from a
// services(5) file.
type Services map[string]uint16

// LoadServices reads a services(5) file. When the file does not exist it
// returns a small built-in table covering the names fail2ban's stock jails
// use; any other read error is returned.
func LoadServices(path string) (Services, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s := make(Services, len(builtinServices))
		for k, v := range builtinServices {
			s[k] = v
		}
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load services: %w", err)
	}
	defer f.Close()
	s, err := ParseServices(f)
	if err != nil {
		return nil, fmt.Errorf("load services %s: %w", path, err)
	}
	return s, nil
}

// ParseServices parses services(5) text: "name port/proto [aliases...]",
// '#' starting a comment. When a name appears with several ports, the first
// wins. Malformed lines are skipped, as the C library does; only read
// errors are returned.
func ParseServices(r io.Reader) (Services, error) {
	s := make(Services)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portStr, _, ok := strings.Cut(fields[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			continue
		}
		for _, name := range append(fields[:1:1], fields[2:]...) {
			if _, dup := s[name]; !dup {
				s[name] = uint16(port)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	return s, nil
}

// ParsePorts parses a fail2ban port option using DefaultServicesPath for
// names; see Services.ParsePorts. It fails if the services file exists but
// cannot be read, or if the spec is invalid.
func ParsePorts(spec string) ([]PortRange, error) {
	s, err := LoadServices(DefaultServicesPath)
	if err != nil {
		return nil, err
	}
	return s.ParsePorts(spec)
}

// ParsePorts parses a fail2ban port option: comma-separated tokens, each a
// port number, a service name, or a range "first:last" (also "first-last"
// when both ends are numbers; names may contain '-'). Blanks around tokens
// and empty tokens are ignored, so an empty spec yields no ranges. The
// result is sorted, with overlapping and adjacent ranges merged. It fails,
// naming the offending token, on an unknown name, a number outside 0-65535,
// or a range whose first port exceeds its last.
func (s Services) ParsePorts(spec string) ([]PortRange, error) {
	var out []PortRange
	for tok := range strings.SplitSeq(spec, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		r, err := s.parseRange(tok)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", tok, err)
		}
		out = append(out, r)
	}
	return NormalizePorts(out), nil
}

func (s Services) parseRange(tok string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(tok, ":")
	if !isRange {
		if a, b, ok := strings.Cut(tok, "-"); ok && isNumber(a) && isNumber(b) {
			lo, hi, isRange = a, b, true
		}
	}
	first, err := s.port(strings.TrimSpace(lo))
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		return PortRange{first, first}, nil
	}
	last, err := s.port(strings.TrimSpace(hi))
	if err != nil {
		return PortRange{}, err
	}
	if first > last {
		return PortRange{}, fmt.Errorf("range start %d is above its end %d", first, last)
	}
	return PortRange{first, last}, nil
}

func (s Services) port(tok string) (uint16, error) {
	if tok == "" {
		return 0, errors.New("empty port")
	}
	if isNumber(tok) {
		n, err := strconv.ParseUint(tok, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("port number out of range 0-65535")
		}
		return uint16(n), nil
	}
	if p, ok := s[tok]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown service name %q", tok)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// NormalizePorts returns the ranges sorted by first port with overlapping
// and adjacent ranges merged; the input is not modified.
func NormalizePorts(in []PortRange) []PortRange {
	if len(in) == 0 {
		return nil
	}
	rs := slices.Clone(in)
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.First) - int(b.First) })
	out := rs[:1]
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		if int(r.First) <= int(cur.Last)+1 {
			cur.Last = max(cur.Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// allPorts reports whether normalized ranges cover every port.
func allPorts(rs []PortRange) bool {
	return len(rs) == 1 && rs[0].First == 0 && rs[0].Last == 65535
}
