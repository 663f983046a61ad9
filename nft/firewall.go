package nft

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Defaults of the ruleset Setup builds. The hook, chain type and priority
// are those of fail2ban's nftables action (filter, input, priority -1).
const (
	DefaultTable  = "f2b"
	ChainName     = "input"
	ChainPriority = -1
)

// Batch limits. One element-list message holds at most elemsPerMsg
// elements, far below the 16-bit netlink attribute length that overflows
// at about 2340 IPv4 / 1638 IPv6 elements. One Flush carries at most
// opsPerFlush element operations (~120 KB at the IPv6 worst case, 40 bytes
// per element), below the default socket send buffer of ~212 KB.
const (
	elemsPerMsg = 1000
	opsPerFlush = 3000
)

type options struct {
	netnsFD int
	table   string
}

// Option configures Open.
type Option func(*options)

// WithNetNSFd makes the Firewall operate in the network namespace referred
// to by fd instead of the caller's. The caller keeps ownership of fd and
// must keep it open until Close.
func WithNetNSFd(fd int) Option {
	return func(o *options) { o.netnsFD = fd }
}

// WithTable sets the name of the inet-family table the Firewall owns;
// the default is DefaultTable.
func WithTable(name string) Option {
	return func(o *options) { o.table = name }
}

// features records which kernel behaviours can be relied upon.
type features struct {
	// destroyElem: NFT_MSG_DESTROYSETELEM exists (Linux >= 6.3).
	destroyElem bool
	// addRefreshes: adding an element that is already present replaces
	// its timeout and expiry, including turning it permanent or temporary.
	// Linux 6.12 started updating timeouts on re-add; the full behaviour
	// is verified (TestRebanRefreshesTimeout) on 6.18, so only kernels from
	// 6.18 on get the single-add path.
	addRefreshes bool
}

// Firewall manages f2bd's nftables table in one network namespace over a
// long-lived netlink connection (and a second one, opened on first use,
// for reading large sets; see List). Its methods are safe for concurrent
// use; they are serialized, since netlink batches are per connection.
type Firewall struct {
	mu   sync.Mutex
	conn *nftables.Conn
	// dump is the socket for set dumps (see dumpSet), nil until first use.
	dump    *netlink.Conn
	table   *nftables.Table
	chain   *nftables.Chain
	feat    features
	netnsFD int // -1: the caller's namespace
	// sets caches the kernel sets, filled by Setup and by lookups of
	// jails set up elsewhere.
	sets map[setKey]*nftables.Set
	// state is what the last successful Setup built.
	state ruleState
}

// Open connects to nf_tables (in the namespace given by WithNetNSFd, if
// any). It does not change the ruleset; call Setup for that. It fails if
// the table name is empty or too long, the kernel release cannot be read,
// or the netlink socket cannot be opened.
func Open(opts ...Option) (*Firewall, error) {
	o := options{netnsFD: -1, table: DefaultTable}
	for _, opt := range opts {
		opt(&o)
	}
	if o.table == "" || len(o.table) > 255 || strings.ContainsRune(o.table, 0) {
		return nil, fmt.Errorf("nft: open: invalid table name %q", o.table)
	}
	feat, err := detectFeatures()
	if err != nil {
		return nil, fmt.Errorf("nft: open: %w", err)
	}
	copts := []nftables.ConnOption{nftables.AsLasting()}
	if o.netnsFD >= 0 {
		copts = append(copts, nftables.WithNetNSFd(o.netnsFD))
	}
	conn, err := nftables.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("nft: open netlink connection: %w", err)
	}
	table := &nftables.Table{Name: o.table, Family: nftables.TableFamilyINet}
	return &Firewall{
		conn:    conn,
		table:   table,
		chain:   &nftables.Chain{Name: ChainName, Table: table},
		feat:    feat,
		netnsFD: o.netnsFD,
		sets:    make(map[setKey]*nftables.Set),
	}, nil
}

// Close closes the netlink connections. The kernel ruleset, bans included,
// stays in place. It fails only if closing a socket fails.
func (fw *Firewall) Close() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if err := errors.Join(fw.conn.CloseLasting(), fw.closeDump()); err != nil {
		return fmt.Errorf("nft: close: %w", err)
	}
	return nil
}

// Table returns the name of the table the Firewall manages.
func (fw *Firewall) Table() string { return fw.table.Name }

func detectFeatures() (features, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return features{}, fmt.Errorf("uname: %w", err)
	}
	major, minor, err := parseRelease(unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		return features{}, err
	}
	return featuresFor(major, minor), nil
}

func featuresFor(major, minor int) features {
	atLeast := func(ma, mi int) bool { return major > ma || major == ma && minor >= mi }
	return features{destroyElem: atLeast(6, 3), addRefreshes: atLeast(6, 18)}
}

// parseRelease extracts major and minor from a release such as
// "6.18.44-fc-v657".
func parseRelease(rel string) (major, minor int, err error) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("unparsable kernel release %q", rel)
	}
	major, err1 := strconv.Atoi(parts[0])
	end := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(parts[1])
	}
	minor, err2 := strconv.Atoi(parts[1][:end])
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("unparsable kernel release %q: %w", rel, err)
	}
	return major, minor, nil
}
