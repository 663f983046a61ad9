package daemon

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/f2bd/f2bd/pkg/control"
)

// handler answers f2bctl's commands.
type handler struct {
	jails  []*running
	kernel *kernel
	stop   func()
}

func (h *handler) Handle(ctx context.Context, argv []string) (any, error) {
	switch argv[0] {
	case "ping":
		return "pong", nil
	case "stop":
		h.stop()
		return "Shutdown successful", nil
	case "status":
		switch len(argv) {
		case 1:
			st := control.Status{Jails: []string{}}
			for _, r := range h.jails {
				st.Jails = append(st.Jails, r.j.Name())
			}
			return st, nil
		case 2:
			return h.jailStatus(argv[1])
		}
	case "banned":
		return h.banned(argv[1:])
	}
	return nil, fmt.Errorf("invalid command %q", strings.Join(argv, " "))
}

func (h *handler) jail(name string) (*running, error) {
	for _, r := range h.jails {
		if r.j.Name() == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("Sorry but the jail %q does not exist", name)
}

// bannedIn lists the addresses the kernel holds for a jail, sorted.
func (h *handler) bannedIn(jail string) ([]string, error) {
	els, err := h.kernel.list(jail)
	if err != nil {
		return nil, fmt.Errorf("listing bans of jail %s: %w", jail, err)
	}
	addrs := make([]string, len(els))
	for i, e := range els {
		addrs[i] = e.Addr.String()
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
		st.Files = r.files
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
			for _, b := range jb.Addrs {
				if b == a {
					out[i] = append(out[i], jb.Jail)
				}
			}
		}
	}
	return out, nil
}
