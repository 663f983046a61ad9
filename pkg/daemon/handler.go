package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/banstore"
	"github.com/f2bd/f2bd/pkg/control"
)

// handler answers f2bctl's commands, which are fail2ban-client's.
type handler struct {
	jails  []*running
	fw     *nft.Firewall
	store  *banstore.Store
	banner *banner
	stop   func()
	now    func() time.Time
}

func (h *handler) Handle(ctx context.Context, argv []string) (any, error) {
	switch {
	case argv[0] == "ping":
		return "pong", nil
	case argv[0] == "stop" && len(argv) == 1:
		h.stop()
		return "Shutdown successful", nil
	case argv[0] == "status" && len(argv) == 1:
		st := control.Status{Jails: []string{}}
		for _, r := range h.jails {
			st.Jails = append(st.Jails, r.j.Name())
		}
		return st, nil
	case argv[0] == "status" && len(argv) == 2:
		return h.jailStatus(argv[1])
	case argv[0] == "banned":
		return h.banned(argv[1:])
	case argv[0] == "unban" && len(argv) == 2 && argv[1] == "--all":
		return h.unban(h.jails, nil, false)
	case argv[0] == "unban" && len(argv) >= 2:
		addrs, err := parseAddrs(argv[1:])
		if err != nil {
			return nil, err
		}
		return h.unban(h.jails, addrs, false)
	case argv[0] == "set" && len(argv) >= 4 && argv[2] == "banip":
		return h.banIP(ctx, argv[1], argv[3:])
	case argv[0] == "set" && len(argv) >= 4 && argv[2] == "unbanip":
		r, err := h.jail(argv[1])
		if err != nil {
			return nil, err
		}
		args, reportAbsent := argv[3:], false
		if args[0] == "--report-absent" {
			args, reportAbsent = args[1:], true
		}
		addrs, err := parseAddrs(args)
		if err != nil {
			return nil, err
		}
		return h.unban([]*running{r}, addrs, reportAbsent)
	case argv[0] == "get" && len(argv) >= 3 && argv[2] == "banip":
		return h.getBanIP(argv[1], len(argv) > 3 && argv[3] == "--with-time")
	}
	return nil, fmt.Errorf("Invalid command %q", strings.Join(argv, " "))
}

func (h *handler) jail(name string) (*running, error) {
	for _, r := range h.jails {
		if r.j.Name() == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("Sorry but the jail '%s' does not exist", name)
}

// parseAddrs parses addresses given to a command, naming the first bad one.
func parseAddrs(args []string) ([]netip.Addr, error) {
	addrs := make([]netip.Addr, 0, len(args))
	for i, a := range args {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("invalid address %q (address %d of %d): nothing was changed", a, i+1, len(args))
		}
		addrs = append(addrs, ip.Unmap())
	}
	return addrs, nil
}

// banIP bans addresses by hand in a jail and returns once the kernel has
// them. Addresses the jail must never ban (loopback, ignoreip, the host's
// own) are left out and reported.
func (h *handler) banIP(ctx context.Context, jail string, args []string) (control.BanResult, error) {
	r, err := h.jail(jail)
	if err != nil {
		return control.BanResult{}, err
	}
	addrs, err := parseAddrs(args)
	if err != nil {
		return control.BanResult{}, err
	}
	now := h.now()
	res := control.BanResult{}
	ds := make([]ban.Decision, 0, len(addrs))
	for _, a := range addrs {
		if r.j.Ignores(a) {
			res.Ignored = append(res.Ignored, a.String())
			continue
		}
		ds = append(ds, ban.Decision{Jail: jail, Addr: a, Time: now, BanTime: r.j.Config.BanTime, Origin: ban.OriginCLI})
	}
	if err := h.banner.apply(ctx, ds); err != nil {
		return control.BanResult{}, fmt.Errorf("banning in jail %s: %w", jail, err)
	}
	res.Banned = len(ds)
	return res, nil
}

// unban removes addresses (all of them when addrs is nil) from jails and
// returns how many bans were removed. With reportAbsent, an address that
// no jail bans is an error and nothing is removed.
func (h *handler) unban(jails []*running, addrs []netip.Addr, reportAbsent bool) (int, error) {
	var bans []nft.Ban
	found := make(map[netip.Addr]bool)
	for _, r := range jails {
		els, err := h.fw.List(r.j.Name())
		if err != nil {
			return 0, fmt.Errorf("listing bans of jail %s: %w", r.j.Name(), err)
		}
		present := make(map[netip.Prefix]bool, len(els))
		for _, e := range els {
			present[e.Prefix] = true
		}
		if addrs == nil {
			for _, e := range els {
				bans = append(bans, nft.Ban{Jail: r.j.Name(), Prefix: e.Prefix})
			}
			continue
		}
		for _, a := range addrs {
			if p := banstore.HostPrefix(a); present[p] {
				found[a] = true
				bans = append(bans, nft.Ban{Jail: r.j.Name(), Prefix: p})
			}
		}
	}
	if reportAbsent {
		for _, a := range addrs {
			if !found[a] {
				return 0, fmt.Errorf("%s is not banned", a)
			}
		}
	}
	if err := h.fw.Unban(bans); err != nil {
		return 0, fmt.Errorf("unbanning: %w", err)
	}
	// As fail2ban's unban, the address's history goes too: a later ban
	// starts again at the base bantime.
	keys := make([]banstore.Key, len(bans))
	for i, b := range bans {
		keys[i] = banstore.Key{Jail: b.Jail, Prefix: b.Prefix}
	}
	if err := h.store.ForgetAll(keys); err != nil {
		return 0, fmt.Errorf("unbanned %d in the kernel, but the store: %w", len(bans), err)
	}
	return len(bans), nil
}

// getBanIP lists a jail's bans, soonest end first; withTime adds each
// ban's start, length and end as fail2ban-client prints them.
func (h *handler) getBanIP(jail string, withTime bool) ([]string, error) {
	if _, err := h.jail(jail); err != nil {
		return nil, err
	}
	els, err := h.fw.List(jail)
	if err != nil {
		return nil, fmt.Errorf("listing bans of jail %s: %w", jail, err)
	}
	sort.SliceStable(els, func(i, k int) bool { return endsBefore(els[i], els[k]) })
	out := make([]string, len(els))
	now := h.now()
	for i, e := range els {
		if !withTime {
			out[i] = banned(e)
			continue
		}
		if e.Timeout == 0 {
			out[i] = fmt.Sprintf("%s \t%s + -1 = permanent", banned(e), "(unknown)")
			continue
		}
		start := now.Add(-(e.Timeout - e.Expires))
		out[i] = fmt.Sprintf("%s \t%s + %d = %s", banned(e), start.Format(timeLayout),
			int64(e.Timeout/time.Second), now.Add(e.Expires).Format(timeLayout))
	}
	return out, nil
}

// banned names a ban as fail2ban-client does: the address for a single
// address, the prefix for a subnet.
func banned(e nft.Element) string {
	if e.Prefix.IsSingleIP() {
		return e.Prefix.Addr().String()
	}
	return e.Prefix.String()
}

// timeLayout is how fail2ban-client prints times.
const timeLayout = "2006-01-02 15:04:05"

// endsBefore orders bans by their end, permanent ones last.
func endsBefore(a, b nft.Element) bool {
	if (a.Timeout == 0) != (b.Timeout == 0) {
		return b.Timeout == 0
	}
	return a.Expires < b.Expires
}

// bannedIn lists the addresses the kernel holds for a jail, sorted.
func (h *handler) bannedIn(jail string) ([]string, error) {
	els, err := h.fw.List(jail)
	if err != nil {
		return nil, fmt.Errorf("listing bans of jail %s: %w", jail, err)
	}
	addrs := make([]string, len(els))
	for i, e := range els {
		addrs[i] = banned(e)
	}
	sort.Strings(addrs)
	return addrs, nil
}

func (h *handler) jailStatus(name string) (control.JailStatus, error) {
	r, err := h.jail(name)
	if err != nil {
		return control.JailStatus{}, err
	}
	banned, err := h.bannedIn(name)
	if err != nil {
		return control.JailStatus{}, err
	}
	s := r.j.Stats()
	st := control.JailStatus{
		Name:            name,
		CurrentlyFailed: s.CurrentlyFailed,
		TotalFailed:     s.TotalFailed,
		CurrentlyBanned: len(banned),
		TotalBanned:     s.TotalBanned,
		Banned:          banned,
	}
	if r.usesJournal() {
		st.JournalMatches = r.j.Config.Filter.JournalMatch
	} else {
		st.Files = r.fileList()
	}
	return st, nil
}

// banned answers "banned" (every jail's bans) and "banned IP..." (the
// jails that ban each address).
func (h *handler) banned(addrs []string) (any, error) {
	all := make([]control.JailBans, 0, len(h.jails))
	for _, r := range h.jails {
		b, err := h.bannedIn(r.j.Name())
		if err != nil {
			return nil, err
		}
		all = append(all, control.JailBans{Jail: r.j.Name(), Addrs: b})
	}
	if len(addrs) == 0 {
		return all, nil
	}
	out := make([][]string, len(addrs))
	for i, a := range addrs {
		out[i] = []string{}
		for _, jb := range all {
			if k := sort.SearchStrings(jb.Addrs, a); k < len(jb.Addrs) && jb.Addrs[k] == a {
				out[i] = append(out[i], jb.Jail)
			}
		}
	}
	return out, nil
}
