package nft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Watch tuning. A change to f2bd's table is checked watchDelay after the
// first notification about it, so that the many notifications of one
// "nft flush ruleset" or "systemctl restart nftables" lead to one check.
// The receive buffer is large because every element f2bd bans is also
// notified to the group (on the order of 100 bytes each); an overrun is
// handled by a check too.
const (
	watchDelay   = 100 * time.Millisecond
	watchRetry   = time.Second
	watchRcvBuf  = 8 << 20
	nftTableAttr = 1 // NFTA_{TABLE_NAME,CHAIN_TABLE,SET_TABLE,RULE_TABLE}
)

// Watch subscribes to the kernel's nftables notifications (netlink group
// NFNLGRP_NFTABLES, in the Firewall's namespace) and calls lost when what
// the last Setup built is no longer complete: the table, a base chain or a
// set is gone or a chain lost rules, as after "nft flush ruleset", "nft
// delete table inet f2b" or "systemctl restart nftables". Each change to
// the table is followed, after a short delay, by a check against the
// kernel, so f2bd's own Setup, Ban and Unban never count as a loss, and a
// burst of changes leads to one call. lost is called once per loss, from
// Watch's goroutine; it is not called again until a check has found the
// ruleset complete again (typically after the caller's Setup and re-ban).
// Watch also checks once when it starts. It returns nil when ctx ends, and
// fails if the netlink socket cannot be opened or subscribed, or receiving
// fails other than by a buffer overrun (which triggers a check).
func (fw *Firewall) Watch(ctx context.Context, lost func()) error {
	ns := 0 // the calling thread's namespace
	if fw.netnsFD >= 0 {
		ns = fw.netnsFD
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: ns})
	if err != nil {
		return fmt.Errorf("nft: watch: open netlink socket: %w", err)
	}
	if err := conn.JoinGroup(unix.NFNLGRP_NFTABLES); err != nil {
		conn.Close()
		return fmt.Errorf("nft: watch: join NFNLGRP_NFTABLES: %w", err)
	}
	// Best effort: without CAP_NET_ADMIN the buffer stays at rmem_max.
	if err := setReadBufferForce(conn, watchRcvBuf); err != nil {
		_ = conn.SetReadBuffer(watchRcvBuf)
	}

	changed := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		for {
			msgs, err := conn.Receive()
			if err != nil {
				if errors.Is(err, unix.ENOBUFS) {
					signal(changed) // notifications were lost
					continue
				}
				done <- err
				return
			}
			for _, m := range msgs {
				if fw.concerns(m) {
					signal(changed)
					break
				}
			}
		}
	}()

	timer := time.NewTimer(0) // the initial check
	armed, latched := true, false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			conn.Close()
			<-done
			return nil
		case err := <-done:
			timer.Stop()
			conn.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nft: watch: receive: %w", err)
		case <-changed:
			if !armed {
				timer.Reset(watchDelay)
				armed = true
			}
		case <-timer.C:
			armed = false
			ok, err := fw.intact()
			if err != nil {
				// Cannot tell; look again later.
				timer.Reset(watchRetry)
				armed = true
				continue
			}
			if ok {
				latched = false
			} else if !latched {
				latched = true
				lost()
			}
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// concerns reports whether a notification is about a table, chain, set or
// rule of f2bd's table (elements are left out: they change with every ban).
func (fw *Firewall) concerns(m netlink.Message) bool {
	if m.Header.Type>>8 != unix.NFNL_SUBSYS_NFTABLES {
		return false
	}
	switch m.Header.Type & 0xff {
	case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE, unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN,
		unix.NFT_MSG_NEWSET, unix.NFT_MSG_DELSET, unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
	default:
		return false
	}
	// struct nfgenmsg: family, version, resource id.
	if len(m.Data) < 4 || m.Data[0] != unix.NFPROTO_INET {
		return false
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return false
	}
	for ad.Next() {
		if ad.Type() == nftTableAttr {
			return ad.String() == fw.table.Name
		}
	}
	return false
}

// intact reports whether the kernel holds everything the last Setup
// built: the table, its base chains with their number of rules, and the
// jails' sets. Before any Setup it is trivially true. It fails if the
// kernel cannot be queried.
func (fw *Firewall) intact() (bool, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.state.chains == nil {
		return true, nil
	}
	sets, err := fw.conn.GetSets(fw.table)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list sets: %w", err)
	}
	have := make(map[string]bool, len(sets))
	for _, s := range sets {
		have[s.Name] = true
	}
	for _, name := range fw.state.sets {
		if !have[name] {
			return false, nil
		}
	}
	for name, n := range fw.state.chains {
		rules, err := fw.conn.GetRules(fw.table, &nftables.Chain{Name: name, Table: fw.table})
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("list chain %s: %w", name, err)
		}
		if len(rules) != n {
			return false, nil
		}
	}
	return true, nil
}

// setReadBufferForce sets SO_RCVBUFFORCE, which unlike SO_RCVBUF may
// exceed net.core.rmem_max; it needs CAP_NET_ADMIN.
func setReadBufferForce(conn *netlink.Conn, bytes int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
	}); err != nil {
		return err
	}
	return serr
}
