package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/banstore"
)

// kernelState keeps the kernel's table in line with the ban store: at
// start, and whenever the table is lost (nft flush ruleset, a restart of
// the nftables service).
type kernelState struct {
	fw    *nft.Firewall
	store *banstore.Store
	specs []nft.JailSpec
	jails []*running
	log   *zap.Logger
	now   func() time.Time
}

// restore sets up the table and re-adds the store's active bans that the
// kernel does not hold, with the time they have left, in one batch.
// Expired bans leave the store. Bans the kernel already holds are not
// touched: after a plain restart nothing changes in the kernel.
func (k *kernelState) restore(why string) error {
	start := time.Now()
	if err := k.fw.Setup(k.specs); err != nil {
		return fmt.Errorf("setting up nftables table %s: %w", k.fw.Table(), err)
	}
	now := k.now()
	expired, err := k.store.RemoveExpired(now)
	if err != nil {
		return fmt.Errorf("dropping expired bans from the store: %w", err)
	}
	var bans []nft.Ban
	kept := 0
	for _, r := range k.jails {
		name := r.j.Name()
		els, err := k.fw.List(name)
		if err != nil {
			return fmt.Errorf("listing bans of jail %s: %w", name, err)
		}
		inKernel := make(map[netip.Prefix]bool, len(els))
		for _, e := range els {
			inKernel[e.Prefix] = true
		}
		err = k.store.ForEach(name, func(rec banstore.Record) error {
			if inKernel[rec.Prefix] {
				kept++
				return nil
			}
			left := rec.Remaining(now)
			if rec.Permanent() {
				left = 0 // no timeout
			} else if left <= 0 {
				return nil
			}
			bans = append(bans, nft.Ban{Jail: name, Prefix: rec.Prefix, Timeout: left})
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading the ban store: %w", err)
		}
	}
	if err := k.fw.Ban(bans); err != nil {
		return fmt.Errorf("restoring %d bans: %w", len(bans), err)
	}
	k.log.Info("kernel table in line with the ban store", zap.String("why", why),
		zap.Int("restored", len(bans)), zap.Int("kept", kept), zap.Int("expired", expired),
		zap.Duration("took", time.Since(start)))
	return nil
}

// heal watches the kernel and restores f2bd's table when it disappears.
func (k *kernelState) heal(ctx context.Context) {
	lost := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			err := k.fw.Watch(ctx, func() {
				select {
				case lost <- struct{}{}:
				default:
				}
			})
			if ctx.Err() != nil {
				return
			}
			k.log.Error("watching the kernel's ruleset; retrying in 5s", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lost:
			k.log.Warn("f2bd's nftables table was removed; restoring it and its bans")
			if err := k.restore("table lost"); err != nil {
				k.log.Error("restoring the kernel table", zap.Error(err))
			}
		}
	}
}
