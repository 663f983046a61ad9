package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// DialResult is how a TCP connection attempt ended.
type DialResult int

const (
	// DialConnected means the three-way handshake completed.
	DialConnected DialResult = iota
	// DialRefused means the connection was actively rejected: a TCP reset
	// (ECONNREFUSED, ECONNRESET) or an ICMP error such as port or host
	// unreachable or administratively prohibited (EHOSTUNREACH, ...).
	DialRefused
	// DialTimeout means nothing came back before the timeout (a drop).
	DialTimeout
)

// String names the result.
func (r DialResult) String() string {
	switch r {
	case DialConnected:
		return "connected"
	case DialRefused:
		return "refused"
	case DialTimeout:
		return "timed out"
	}
	return fmt.Sprintf("DialResult(%d)", int(r))
}

// dial opens a TCP connection from namespace ns, bound to src, to dst:port,
// and classifies the outcome. Errors that say nothing about the target
// (namespace missing, src not configured) fail the test.
func dial(t testing.TB, ns string, src, dst netip.Addr, port int, timeout time.Duration) DialResult {
	t.Helper()
	res, detail, err := dialNS(ns, src, dst, port, timeout)
	if err != nil {
		t.Fatalf("dial %s -> [%s]:%d in netns %s: %v", src, dst, port, ns, err)
	}
	if res != DialConnected {
		t.Logf("dial %s -> [%s]:%d in netns %s: %s (%v)", src, dst, port, ns, res, detail)
	}
	return res
}

// waitDial dials every 300 ms until the result is want or timeout passes,
// and returns the last result.
func waitDial(t testing.TB, ns string, src, dst netip.Addr, port int, want DialResult, timeout time.Duration) DialResult {
	t.Helper()
	var res DialResult
	waitFor(timeout, 300*time.Millisecond, func() bool {
		res = dial(t, ns, src, dst, port, time.Second)
		return res == want
	})
	return res
}

// dialNS does the work of dial on a dedicated OS thread that joins ns. The
// thread is never unlocked, so Go discards it when the goroutine ends and
// no other goroutine ever runs in the foreign namespace. It returns the
// errno behind a refusal or timeout as detail, and err for local failures.
func dialNS(ns string, src, dst netip.Addr, port int, timeout time.Duration) (res DialResult, detail, err error) {
	if src.Is4() != dst.Is4() {
		return 0, nil, fmt.Errorf("address families differ: %s and %s", src, dst)
	}
	type result struct {
		res         DialResult
		detail, err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // deliberately never unlocked
		r, d, e := dialInCurrentThread(ns, src, dst, port, timeout)
		ch <- result{r, d, e}
	}()
	r := <-ch
	return r.res, r.detail, r.err
}

// dialInCurrentThread switches the calling (locked) thread to ns and makes
// a non-blocking connect with raw syscalls, waiting with poll.
func dialInCurrentThread(ns string, src, dst netip.Addr, port int, timeout time.Duration) (DialResult, error, error) {
	nsf, err := os.Open(nsPath(ns))
	if err != nil {
		return 0, nil, fmt.Errorf("open namespace: %w", err)
	}
	defer nsf.Close()
	if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
		return 0, nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	family := unix.AF_INET6
	if dst.Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sockaddr(src, 0)); err != nil {
		return 0, nil, fmt.Errorf("bind %s: %w", src, err)
	}
	err = unix.Connect(fd, sockaddr(dst, port))
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		return classifyConnErr(err)
	}
	if err == nil {
		return DialConnected, nil, nil
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return DialTimeout, fmt.Errorf("no answer within %v", timeout), nil
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("poll: %w", err)
		}
		if n == 0 {
			continue // the loop re-checks the deadline
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return 0, nil, fmt.Errorf("getsockopt SO_ERROR: %w", err)
		}
		if soErr == 0 {
			return DialConnected, nil, nil
		}
		return classifyConnErr(unix.Errno(soErr))
	}
}

// classifyConnErr maps a connect error to a DialResult.
func classifyConnErr(err error) (DialResult, error, error) {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return 0, nil, fmt.Errorf("connect: %w", err)
	}
	switch errno {
	case unix.ECONNREFUSED, unix.ECONNRESET, unix.EHOSTUNREACH, unix.ENETUNREACH,
		unix.EACCES, unix.EPERM, unix.EHOSTDOWN, unix.ENETDOWN:
		return DialRefused, errno, nil
	case unix.ETIMEDOUT:
		return DialTimeout, errno, nil
	}
	return 0, nil, fmt.Errorf("connect: %w", errno)
}

// sockaddr converts an address and port to a unix.Sockaddr.
func sockaddr(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: port, Addr: a.As16()}
}

// SetElem is one element of an nftables set as "nft -j" shows it.
type SetElem struct {
	Val     string        // "192.0.2.2", "2001:db8::/32" or "a-b" for a range
	Addr    netip.Addr    // the address, when Val is a single address
	Timeout time.Duration // 0 if the element has no timeout
	Expires time.Duration // time left, 0 if the element has no timeout
}

// NFTSet is a set of an nftables ruleset.
type NFTSet struct {
	Family, Table, Name, Type string
	Flags                     []string
	Elems                     []SetElem
}

// Ruleset is the part of "nft -j list ruleset" the tests look at.
type Ruleset struct {
	Tables []struct{ Family, Name string }
	Sets   []NFTSet
	Chains []struct{ Family, Table, Name string }
	Rules  int // number of rules, all tables together
}

// Table reports whether table family/name exists.
func (r *Ruleset) Table(family, name string) bool {
	for _, tb := range r.Tables {
		if tb.Family == family && tb.Name == name {
			return true
		}
	}
	return false
}

// Set returns the set family/table/name, or nil.
func (r *Ruleset) Set(family, table, name string) *NFTSet {
	for i := range r.Sets {
		s := &r.Sets[i]
		if s.Family == family && s.Table == table && s.Name == name {
			return s
		}
	}
	return nil
}

// Elem returns the element of s that is exactly the address a, or nil.
func (s *NFTSet) Elem(a netip.Addr) *SetElem {
	if s == nil {
		return nil
	}
	for i := range s.Elems {
		if s.Elems[i].Addr == a {
			return &s.Elems[i]
		}
	}
	return nil
}

// nftJSON lists the ruleset of namespace ns with "nft -j" and parses it.
func nftJSON(t testing.TB, ns string) *Ruleset {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := nsCommand(ctx, ns, mustTool(t, "nft"), "-j", "list", "ruleset")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nft -j list ruleset in netns %s: %v\n%s", ns, err, stderr.String())
	}
	rs, err := parseRuleset(out)
	if err != nil {
		t.Fatalf("netns %s: %v", ns, err)
	}
	return rs
}

// parseRuleset decodes the JSON output of "nft -j list ruleset".
func parseRuleset(data []byte) (*Ruleset, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse nft JSON: %w", err)
	}
	rs := &Ruleset{}
	for _, obj := range doc.Nftables {
		for kind, raw := range obj {
			switch kind {
			case "table":
				var tb struct{ Family, Name string }
				if err := json.Unmarshal(raw, &tb); err != nil {
					return nil, fmt.Errorf("parse nft table: %w", err)
				}
				rs.Tables = append(rs.Tables, tb)
			case "chain":
				var ch struct{ Family, Table, Name string }
				if err := json.Unmarshal(raw, &ch); err != nil {
					return nil, fmt.Errorf("parse nft chain: %w", err)
				}
				rs.Chains = append(rs.Chains, ch)
			case "rule":
				rs.Rules++
			case "set":
				s, err := parseSet(raw)
				if err != nil {
					return nil, err
				}
				rs.Sets = append(rs.Sets, s)
			}
		}
	}
	return rs, nil
}

// parseSet decodes one "set" object with its elements.
func parseSet(raw json.RawMessage) (NFTSet, error) {
	var js struct {
		Family, Name, Table string
		Type                json.RawMessage
		Flags               json.RawMessage
		Elem                []json.RawMessage
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		return NFTSet{}, fmt.Errorf("parse nft set: %w", err)
	}
	s := NFTSet{Family: js.Family, Table: js.Table, Name: js.Name}
	var typ string
	if json.Unmarshal(js.Type, &typ) == nil {
		s.Type = typ
	} else {
		s.Type = string(js.Type) // concatenation: a JSON array
	}
	if len(js.Flags) > 0 {
		var one string
		if json.Unmarshal(js.Flags, &one) == nil {
			s.Flags = []string{one}
		} else if err := json.Unmarshal(js.Flags, &s.Flags); err != nil {
			return NFTSet{}, fmt.Errorf("parse flags of set %s: %w", js.Name, err)
		}
	}
	for _, re := range js.Elem {
		e, err := parseElem(re)
		if err != nil {
			return NFTSet{}, fmt.Errorf("set %s %s %s: %w", js.Family, js.Table, js.Name, err)
		}
		s.Elems = append(s.Elems, e)
	}
	return s, nil
}

// parseElem decodes a set element: a bare value, or {"elem": {"val": ...,
// "timeout": s, "expires": s}}, where a value is an address string,
// {"prefix": {"addr", "len"}} or {"range": [lo, hi]}.
func parseElem(raw json.RawMessage) (SetElem, error) {
	var wrapped struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Timeout int64           `json:"timeout"`
			Expires int64           `json:"expires"`
		} `json:"elem"`
	}
	val := raw
	var e SetElem
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.Elem != nil {
		val = wrapped.Elem.Val
		e.Timeout = time.Duration(wrapped.Elem.Timeout) * time.Second
		e.Expires = time.Duration(wrapped.Elem.Expires) * time.Second
	}
	var str string
	if json.Unmarshal(val, &str) == nil {
		e.Val = str
		if a, err := netip.ParseAddr(str); err == nil {
			e.Addr = a
		}
		return e, nil
	}
	var complexVal struct {
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
		Range []string `json:"range"`
	}
	if err := json.Unmarshal(val, &complexVal); err != nil {
		return SetElem{}, fmt.Errorf("parse element %s: %w", val, err)
	}
	switch {
	case complexVal.Prefix != nil:
		e.Val = fmt.Sprintf("%s/%d", complexVal.Prefix.Addr, complexVal.Prefix.Len)
	case len(complexVal.Range) == 2:
		e.Val = complexVal.Range[0] + "-" + complexVal.Range[1]
	default:
		return SetElem{}, fmt.Errorf("unknown element value %s", val)
	}
	return e, nil
}

// expiresRE matches the parts of ruleset text that change by themselves.
var expiresRE = regexp.MustCompile(` expires [0-9dhms]+`)

// hostRuleset returns the host namespace's ruleset text (read-only "nft list
// ruleset"), with element expiry countdowns removed.
func hostRuleset(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, mustTool(t, "nft"), "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset (host, read-only): %v\n%s", err, out)
	}
	return expiresRE.ReplaceAllString(string(out), "")
}

// guardHostRuleset snapshots the host ruleset now and, at cleanup, reports
// an error if it changed.
func guardHostRuleset(t testing.TB) {
	t.Helper()
	before := hostRuleset(t)
	t.Cleanup(func() {
		if after := hostRuleset(t); after != before {
			t.Errorf("host nftables ruleset changed during the test\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// joinLines is strings.Join with newlines, for failure messages.
func joinLines(lines []string) string { return strings.Join(lines, "\n") }
