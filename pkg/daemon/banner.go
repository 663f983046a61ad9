package daemon

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/ban"
)

// maxBatch bounds the decisions one kernel write takes; nft chunks each
// write into netlink messages of its own.
const maxBatch = 8192

// banRequest is a group of decisions on their way to the kernel. done, when
// set, receives the outcome once they are there.
type banRequest struct {
	decisions []ban.Decision
	done      chan<- error
}

// banner is the one writer of bans into the kernel: decisions that arrive
// together, from every jail and from f2bctl, go out in one batch.
type banner struct {
	fw  *nft.Firewall
	log *zap.Logger
	now func() time.Time
	in  chan banRequest
}

func newBanner(fw *nft.Firewall, log *zap.Logger, now func() time.Time) *banner {
	return &banner{fw: fw, log: log, now: now, in: make(chan banRequest, 1024)}
}

// decide queues a jail's decision without waiting for the kernel.
func (b *banner) decide(ctx context.Context, d ban.Decision) {
	select {
	case b.in <- banRequest{decisions: []ban.Decision{d}}:
	case <-ctx.Done():
	}
}

// apply queues decisions and waits until the kernel has them.
func (b *banner) apply(ctx context.Context, ds []ban.Decision) error {
	done := make(chan error, 1)
	select {
	case b.in <- banRequest{decisions: ds, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *banner) run(ctx context.Context) {
	var reqs []banRequest
	for {
		reqs = reqs[:0]
		n := 0
		select {
		case <-ctx.Done():
			return
		case r := <-b.in:
			reqs, n = append(reqs, r), len(r.decisions)
		}
	more:
		for n < maxBatch {
			select {
			case r := <-b.in:
				reqs, n = append(reqs, r), n+len(r.decisions)
			default:
				break more
			}
		}
		err := b.write(reqs, n)
		for _, r := range reqs {
			if r.done != nil {
				r.done <- err
			}
		}
	}
}

// write sends the decisions of reqs to the kernel in one Ban call, each
// with the time its ban has left.
func (b *banner) write(reqs []banRequest, n int) error {
	t := b.now()
	bans := make([]nft.Ban, 0, n)
	for _, r := range reqs {
		for _, d := range r.decisions {
			timeout := d.Remaining(t)
			if timeout == ban.Permanent {
				timeout = 0 // no timeout: the kernel keeps it
			} else if timeout <= 0 {
				continue // already over
			}
			bans = append(bans, nft.Ban{Jail: d.Jail, Addr: d.Addr, Timeout: timeout})
		}
	}
	if err := b.fw.Ban(bans); err != nil {
		b.log.Error("writing bans to the kernel", zap.Int("bans", len(bans)), zap.Error(err))
		return err
	}
	for _, r := range reqs {
		if r.done != nil {
			if len(r.decisions) > 0 {
				d := r.decisions[0]
				b.log.Info("bans requested", zap.String("jail", d.Jail), zap.Int("count", len(r.decisions)),
					zap.Duration("bantime", d.BanTime), zap.String("origin", string(d.Origin)))
			}
			continue
		}
		for _, d := range r.decisions {
			b.log.Info("ban", zap.String("jail", d.Jail), zap.Stringer("ip", d.Addr),
				zap.Int("failures", d.Failures), zap.Duration("bantime", d.BanTime),
				zap.String("origin", string(d.Origin)))
		}
	}
	return nil
}
