package daemon

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/control"
	"github.com/f2bd/f2bd/pkg/jail"
)

// Options configure a daemon run.
type Options struct {
	// Config is the resolved configuration to run.
	Config *config.Config
	// Socket is the control socket's path.
	Socket string
	// StateDir is where f2bd keeps its state; it is created if absent.
	StateDir string
	// Firewall options, e.g. nft.WithNetNSFd in tests.
	Firewall []nft.Option
	// Log receives f2bd's log. Required.
	Log *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

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
	// this one stops before touching the kernel.
	ln, err := control.Listen(o.Socket)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		ln.Close()
		return fmt.Errorf("state directory: %w", err)
	}

	// Jails: one that cannot start is reported and left out; the others run.
	for _, err := range o.Config.Broken {
		log.Error("jail not started", zap.Error(err))
	}
	var jails []*running
	var specs []nft.JailSpec
	for _, c := range o.Config.Jails {
		j, err := jail.New(c, o.Now)
		if err == nil {
			var spec nft.JailSpec
			if spec, err = jailSpec(c); err == nil {
				jails = append(jails, newRunning(j))
				specs = append(specs, spec)
				continue
			}
		}
		log.Error("jail not started", zap.String("jail", c.Name), zap.Error(err))
	}
	if len(jails) == 0 {
		log.Warn("no jail is running")
	}

	// The kernel: f2bd's table, its chain and one set per jail and family.
	fw, err := nft.Open(o.Firewall...)
	if err != nil {
		ln.Close()
		return fmt.Errorf("opening nftables: %w", err)
	}
	defer fw.Close()
	if err := fw.Setup(specs); err != nil {
		ln.Close()
		return fmt.Errorf("setting up nftables table %s: %w", fw.Table(), err)
	}

	var wg sync.WaitGroup
	b := newBanner(fw, log, o.Now)
	wg.Go(func() { b.run(ctx) })
	for _, r := range jails {
		startSources(ctx, &wg, r, log)
		wg.Go(func() { r.run(ctx, b) })
		log.Info("jail started", zap.String("jail", r.j.Name()),
			zap.Int("maxretry", r.j.Config.MaxRetry),
			zap.Duration("findtime", r.j.Config.FindTime),
			zap.Duration("bantime", r.j.Config.BanTime),
			zap.Strings("sources", r.sourceNames()))
	}

	h := &handler{jails: jails, fw: fw, banner: b, stop: stop, now: o.Now}
	wg.Go(func() {
		if err := control.Serve(ctx, ln, h); err != nil {
			log.Error("control socket", zap.Error(err))
		}
	})
	log.Info("f2bd running", zap.String("config", o.Config.Dir),
		zap.String("socket", o.Socket), zap.String("table", "inet "+fw.Table()),
		zap.Int("jails", len(jails)))

	<-ctx.Done()
	wg.Wait()
	os.Remove(o.Socket)
	log.Info("f2bd stopped; bans stay in the kernel until they expire")
	return nil
}

