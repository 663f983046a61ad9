package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/banstore"
	"github.com/f2bd/f2bd/pkg/bantime"
	"github.com/f2bd/f2bd/pkg/control"
	"github.com/f2bd/f2bd/pkg/jail"
)

// Options configure a daemon run.
type Options struct {
	// Config is the resolved configuration to run.
	Config *config.Config
	// Socket is the control socket's path.
	Socket string
	// StateDir is where f2bd keeps its state (the ban store); it is
	// created if absent.
	StateDir string
	// Firewall options, e.g. nft.WithNetNSFd in tests.
	Firewall []nft.Option
	// Log receives f2bd's log. Required.
	Log *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// StateFile is the ban store's file name in the state directory.
const StateFile = "state.db"

// Run starts every jail of the configuration and serves the control
// socket until ctx is done or a client sends "stop". On return the kernel
// table and its bans stay in place: bans outlive the daemon.
func Run(ctx context.Context, o Options) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	log := o.Log
	if o.Now == nil {
		o.Now = time.Now
	}

	// The control socket comes first: when another f2bd answers on it,
	// this one stops before touching the kernel or the state.
	ln, err := control.Listen(o.Socket)
	if err != nil {
		return err
	}
	defer ln.Close()

	// The ban store: active bans and the history bantime.increment counts.
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	// fail2ban.conf's dbmaxmatches bounds the lines kept per ban (0: none;
	// fail2ban's default when unset: 10).
	maxMatches := o.Config.Daemon.DBMaxMatches
	if _, set := o.Config.Daemon.Options["dbmaxmatches"]; !set {
		maxMatches = 10
	} else if maxMatches == 0 {
		maxMatches = -1
	}
	store, err := banstore.Open(filepath.Join(o.StateDir, StateFile), &banstore.Options{MaxMatches: maxMatches})
	if err != nil {
		return err
	}
	defer store.Close()

	// Jails: one that cannot start is reported and left out; the others run.
	for _, err := range o.Config.Broken {
		log.Error("jail not started", zap.Error(err))
	}
	jails, specs := prepareJails(o.Config.Jails, store, o.Now, log)
	if len(jails) == 0 {
		log.Warn("no jail is running")
	}

	// The kernel: f2bd's table, its chain and the sets of every jail, then
	// the bans of the store that the kernel lost (after a reboot).
	fw, err := nft.Open(o.Firewall...)
	if err != nil {
		return fmt.Errorf("opening nftables (f2bd needs root or CAP_NET_ADMIN): %w", err)
	}
	defer fw.Close()
	k := &kernelState{fw: fw, store: store, specs: specs, jails: jails, log: log, now: o.Now}
	if err := k.restore("start"); err != nil {
		return err
	}

	var wg sync.WaitGroup
	b := newBanner(fw, store, jails, log, o.Now, o.Config.Daemon.DBPurgeAge)
	wg.Go(func() { b.run(ctx) })
	wg.Go(func() { k.heal(ctx) })
	// Sources (log files, journal) feed the jails; on stop they end first
	// and the jails handle what they read before their positions are
	// saved.
	for _, r := range jails {
		r.jails, r.lineBatch = len(jails), lineBatchFor(len(jails), runtime.GOMAXPROCS(0))
	}
	src := startSources(ctx, o.StateDir, jails, o.Now, log)
	wg.Go(func() { src.run(ctx) })
	for _, r := range jails {
		wg.Go(func() { r.run(ctx, b) })
		log.Info("jail started", zap.String("jail", r.j.Name()),
			zap.Int("maxretry", r.j.Config.MaxRetry),
			zap.Duration("findtime", r.j.Config.FindTime),
			zap.Duration("bantime", r.j.Config.BanTime),
			zap.Bool("bantime.increment", r.policy.Increment()),
			zap.Strings("sources", r.sourceNames()))
	}

	h := &handler{jails: jails, fw: fw, store: store, banner: b, stop: stop, now: o.Now}
	wg.Go(func() {
		if err := control.Serve(ctx, ln, h); err != nil {
			log.Error("control socket", zap.Error(err))
		}
	})
	log.Info("f2bd running", zap.String("config", o.Config.Dir),
		zap.String("socket", o.Socket), zap.String("state", store.Path()),
		zap.String("table", "inet "+fw.Table()), zap.Int("jails", len(jails)))

	<-ctx.Done()
	wg.Wait()
	os.Remove(o.Socket)
	log.Info("f2bd stopped; bans stay in the kernel until they expire")
	return nil
}

// prepareJails builds the jails that can run and their kernel rules; a
// jail whose filter, ignore list, ban action or bantime options are wrong
// is logged and left out.
func prepareJails(cs []*config.Jail, store *banstore.Store, now func() time.Time, log *zap.Logger) ([]*running, []nft.JailSpec) {
	var jails []*running
	var specs []nft.JailSpec
	for _, c := range cs {
		j, err := jail.New(c, now)
		var spec nft.JailSpec
		if err == nil {
			spec, err = jailSpec(c)
		}
		var pol *bantime.Policy
		if err == nil {
			pol, err = bantime.NewPolicy(c.Name, c.Options, c.BanTime)
		}
		if err != nil {
			log.Error("jail not started", zap.String("jail", c.Name), zap.Error(err))
			continue
		}
		if pol.Increment() {
			j.WeighFailures(offenderWeight(store, pol, c.MaxRetry, log))
		}
		jails = append(jails, newRunning(j, pol))
		specs = append(specs, spec)
	}
	return jails, specs
}

// offenderWeight is how much a failure of an address counts in a jail
// with bantime.increment, from the address's ban history in the store:
// as in fail2ban, one failure of an address banned n times before counts
// as 2, 3, 5, 9... attempts (never more than maxretry), except failures
// dated before its last ban.
func offenderWeight(store *banstore.Store, pol *bantime.Policy, maxRetry int, log *zap.Logger) func(netip.Addr, time.Time) int {
	return func(a netip.Addr, t time.Time) int {
		h, err := store.Count(pol.Jail(), banstore.HostPrefix(a), false)
		if err != nil {
			log.Error("reading ban history", zap.String("jail", pol.Jail()), zap.Stringer("ip", a), zap.Error(err))
			return 1
		}
		if h.Count == 0 || !t.After(h.LastBan) {
			return 1
		}
		return pol.FailureWeight(h.Count, maxRetry)
	}
}
