package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/banstore"
	"github.com/f2bd/f2bd/pkg/bantime"
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

// banner is the one writer of bans: decisions that arrive together, from
// every jail and from f2bctl, get their ban length (bantime.increment),
// go to the kernel in one batch, then to the ban store in one transaction.
// The store is written by a goroutine of its own, so that the next bans
// reach the kernel without waiting for the store's fsync.
type banner struct {
	fw       *nft.Firewall
	store    *banstore.Store
	policies map[string]*bantime.Policy
	log      *zap.Logger
	now      func() time.Time
	purgeAge time.Duration
	in       chan banRequest
	records  chan storeJob
	// storeEvery is the least time from one store transaction to the
	// next for jails' bans (see gather).
	storeEvery time.Duration
}

// storeEvery is the banner's default least time between two store
// transactions. Each commit syncs the store's file (fdatasync), which
// costs the kernel time while a log is being appended: a flood of bans
// (741 in 0.6 s in the daemon benchmark, 74 commits) spent 1-3% of the
// daemon's CPU time in it on two cores, up to 10% on one. The bans are in
// the kernel before they are stored, so the pause delays only what a
// restore after a reboot would bring back, by at most this much.
const storeEvery = 100 * time.Millisecond

// storeJob is a batch of bans for the store. done, when set, are the
// requests (from f2bctl) that wait until the store has them too.
type storeJob struct {
	recs []banstore.Record
	err  error // the kernel write's error: nothing to store
	done []chan<- error
}

func newBanner(fw *nft.Firewall, store *banstore.Store, jails []*running, log *zap.Logger, now func() time.Time, purgeAge time.Duration) *banner {
	pol := make(map[string]*bantime.Policy, len(jails))
	for _, r := range jails {
		pol[r.j.Name()] = r.policy
	}
	if purgeAge <= 0 {
		purgeAge = 24 * time.Hour // fail2ban's dbpurgeage default
	}
	return &banner{fw: fw, store: store, policies: pol, log: log, now: now,
		purgeAge: purgeAge, in: make(chan banRequest, 1024), records: make(chan storeJob, 64),
		storeEvery: storeEvery}
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

// run writes bans until ctx is done, then lets the store writer finish.
func (b *banner) run(ctx context.Context) {
	stored := make(chan struct{})
	go func() {
		defer close(stored)
		b.writeStore()
	}()
	defer func() {
		close(b.records)
		<-stored
	}()
	tidy := time.NewTicker(time.Minute)
	defer tidy.Stop()
	lastPurge := time.Time{}
	var reqs []banRequest
	for {
		reqs = reqs[:0]
		n := 0
		select {
		case <-ctx.Done():
			return
		case <-tidy.C:
			b.tidy(&lastPurge)
			continue
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
		job := storeJob{}
		job.recs, job.err = b.write(reqs, n)
		for _, r := range reqs {
			if r.done != nil {
				job.done = append(job.done, r.done)
			}
		}
		b.records <- job
	}
}

// writeStore records bans in the store, gathering the batches that come
// within storeEvery of the last transaction into one, and answers the
// requests that wait for it, until records closes.
func (b *banner) writeStore() {
	var last time.Time // when the last transaction started
	for job := range b.records {
		jobs := b.gather([]storeJob{job}, last)
		last = time.Now()
		var recs []banstore.Record
		for _, j := range jobs {
			recs = append(recs, j.recs...)
		}
		var err error
		if len(recs) > 0 {
			if err = b.store.PutAll(recs); err != nil {
				// The kernel has the bans and expires them; only a
				// restore after a reboot would miss them.
				b.log.Error("recording bans in the store", zap.Int("bans", len(recs)), zap.Error(err))
				err = fmt.Errorf("the bans are in the kernel, but recording them failed: %w", err)
			}
		}
		for _, j := range jobs {
			for _, d := range j.done {
				if j.err != nil {
					d <- j.err
				} else {
					d <- err
				}
			}
		}
	}
}

// gather returns jobs with the store jobs that arrive until storeEvery
// after last, and then those already queued. It stops waiting as soon as
// a job has requests waiting for the store (f2bctl's), so those are not
// delayed, and when records closes, so nothing is lost at shutdown.
func (b *banner) gather(jobs []storeJob, last time.Time) []storeJob {
	var pause <-chan time.Time // nil: take only what is queued
	if wait := time.Until(last.Add(b.storeEvery)); wait > 0 && len(jobs[0].done) == 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		pause = t.C
	}
	for {
		if pause == nil {
			select {
			case j, ok := <-b.records:
				if !ok {
					return jobs
				}
				jobs = append(jobs, j)
				continue
			default:
				return jobs
			}
		}
		select {
		case j, ok := <-b.records:
			if !ok {
				return jobs
			}
			jobs = append(jobs, j)
			if len(j.done) > 0 {
				pause = nil
			}
		case <-pause:
			pause = nil
		}
	}
}

// tidy drops expired bans from the store every minute, and purges ban
// history older than dbpurgeage every hour.
func (b *banner) tidy(lastPurge *time.Time) {
	now := b.now()
	if _, err := b.store.RemoveExpired(now); err != nil {
		b.log.Error("dropping expired bans from the store", zap.Error(err))
	}
	if now.Sub(*lastPurge) >= time.Hour {
		*lastPurge = now
		if n, err := b.store.Purge(now, b.purgeAge); err != nil {
			b.log.Error("purging ban history", zap.Error(err))
		} else if n > 0 {
			b.log.Info("ban history purged", zap.Int("entries", n), zap.Duration("dbpurgeage", b.purgeAge))
		}
	}
}

// write gives each decision its ban length and sends the bans to the
// kernel in one Ban call, each with the time it has left. It returns the
// records the store is to keep.
func (b *banner) write(reqs []banRequest, n int) ([]banstore.Record, error) {
	t := b.now()
	bans := make([]nft.Ban, 0, n)
	recs := make([]banstore.Record, 0, n)
	for _, r := range reqs {
		for i := range r.decisions {
			d := &r.decisions[i]
			count := b.lengthen(d)
			timeout := d.Remaining(t)
			if timeout == ban.Permanent {
				timeout = 0 // no timeout: the kernel keeps it
			} else if timeout <= 0 {
				continue // already over
			}
			bans = append(bans, nft.Ban{Jail: d.Jail, Addr: d.Addr, Timeout: timeout})
			recs = append(recs, banstore.FromDecision(*d, count))
		}
	}
	if err := b.fw.Ban(bans); err != nil {
		b.log.Error("writing bans to the kernel", zap.Int("bans", len(bans)), zap.Error(err))
		return nil, err
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
	return recs, nil
}

// lengthen applies the jail's bantime.increment to a decision from the
// address's ban history and returns the ban count to record (previous
// bans plus one). Without increment the history is not read, and the
// count recorded is 1.
func (b *banner) lengthen(d *ban.Decision) int {
	p := b.policies[d.Jail]
	if p == nil || !p.Increment() {
		return 1
	}
	h, err := b.store.Count(d.Jail, banstore.HostPrefix(d.Addr), p.OverallJails())
	if err != nil {
		b.log.Error("reading ban history", zap.Stringer("ip", d.Addr), zap.Error(err))
		return 1
	}
	d.BanTime = p.BanTime(h.Count, rand.Float64)
	return h.Count + 1
}
