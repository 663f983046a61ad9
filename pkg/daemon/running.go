package daemon

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/bantime"
	"github.com/f2bd/f2bd/pkg/filter"
	"github.com/f2bd/f2bd/pkg/jail"
	"github.com/f2bd/f2bd/pkg/tail"
)

// line is one log line on its way to a jail. t is the source's own time
// for the line (the journal's), zero when the line carries its date. ack,
// when set, is told once the jail has handled the line, with the position
// the line moves its source to (pos for a file, seq and cursor for the
// journal).
type line struct {
	text   string
	withNL string      // text and its newline, in the same memory, when the source has them so ("": not)
	chunk  *tail.Chunk // the recycled buffer text is cut from (nil: none), released once the line is handled
	t      time.Time
	ack    acker
	pos    tail.Position
	seq    uint64
	cursor string
}

// acker records how far a source's lines have been handled.
type acker interface {
	ack(l *line)
}

// running is a jail with its sources and its ban length policy.
type running struct {
	j      *jail.Jail
	policy *bantime.Policy
	lines  chan []line   // batches of one source each; closed by the sources once they all ended
	done   chan struct{} // closed when run returns
	// spare holds the line buffers (*lineBatch, empty) of finished
	// batches, for the sources' next ones: a line is not allocated twice.
	spare sync.Pool

	mu    sync.Mutex
	files []string // followed files, for status

	jails int // jails running in the daemon, this one included
	// lineBatch is the most lines a source gathers for the jail before it
	// waits (lineBatchFor; 0: maxLineBatch). It is set with jails, before
	// the sources start.
	lineBatch int
}

// queuedBatches is how many batches the sources may have sent that the
// jail has not started: with maxPending started ones, enough to keep the
// workers busy while a source waits for a core. Every batch in flight holds
// its line buffer and the chunks its lines are cut from: 16 held 2 MB more
// (peak RSS) on the 1M-line benchmark, for no measurable gain in rate.
const queuedBatches = 4

func newRunning(j *jail.Jail, p *bantime.Policy) *running {
	return &running{j: j, policy: p, lines: make(chan []line, queuedBatches), done: make(chan struct{})}
}

// batchSize is the most lines of a batch of the jail's sources.
func (r *running) batchSize() int {
	if r.lineBatch > 0 {
		return r.lineBatch
	}
	return maxLineBatch
}

func (r *running) usesJournal() bool {
	return strings.HasPrefix(r.j.Config.Backend, "systemd")
}

func (r *running) sourceNames() []string {
	if r.usesJournal() {
		return []string{"journal: " + r.j.Config.Filter.JournalMatch}
	}
	return r.fileList()
}

// run is the jail's goroutine: it owns the jail's filter and counts, and
// a pool of workers that match the lines of batches. While the workers
// match batches, run counts the ones before (see batchHandler). When ctx
// is done it still handles every line its sources sent, until they close
// r.lines, so that the positions they save are exact.
func (r *running) run(ctx context.Context, b *banner) {
	defer close(r.done)
	cores := runtime.GOMAXPROCS(0)
	pool := filter.NewPool(cores, filter.PoolOptions{Yield: r.jails <= cores})
	defer pool.Close()
	h := &batchHandler{r: r, b: b, pool: pool}
	cleanup := time.NewTicker(time.Minute)
	defer cleanup.Stop()
	for {
		var matched <-chan struct{} // the oldest pending batch is matched
		if len(h.pending) > 0 {
			matched = h.pending[0].job.Done()
		}
		lines := r.lines // nil (not selected) while enough batches are in hand
		if len(h.pending) >= maxPending {
			lines = nil
		}
		select {
		case <-ctx.Done():
			for ls := range r.lines {
				if len(h.pending) >= maxPending {
					h.finish(ctx)
				}
				h.start(ls)
			}
			h.finishAll(ctx)
			return
		case <-cleanup.C:
			r.j.Cleanup()
		case <-matched:
			h.finish(ctx)
		case ls, ok := <-lines:
			if !ok {
				h.finishAll(ctx)
				return
			}
			h.start(ls)
		}
	}
}

// maxPending is the most batches a jail has started and not finished: enough
// to keep the workers busy while the jail's goroutine counts.
const maxPending = 4

// batchHandler runs batches through a jail as a pipeline: a batch is
// started (dates on the jail's goroutine, matching on the workers) while
// earlier ones are still matching, and batches are finished (counted,
// their bans queued and their lines acknowledged) on the jail's goroutine
// in the order they were started, once matched. Their buffers are kept
// from one batch to the next.
type batchHandler struct {
	r       *running
	b       *banner
	pool    *filter.Pool
	pending []*pendingBatch // started, not finished, oldest first
	spare   []*pendingBatch // buffers for the next batches
	ds      []ban.Decision
}

// pendingBatch is a started batch: its lines and their items.
type pendingBatch struct {
	ls    []line
	items []filter.Item
	job   *filter.Job
}

// start begins a batch: its dates now, its matching on the workers.
func (h *batchHandler) start(ls []line) {
	var p *pendingBatch
	if n := len(h.spare); n > 0 {
		p, h.spare = h.spare[n-1], h.spare[:n-1]
	} else {
		p = &pendingBatch{}
	}
	if cap(p.items) < len(ls) {
		p.items = make([]filter.Item, len(ls), max(len(ls), h.r.batchSize()))
	}
	p.items = p.items[:len(ls)]
	for i := range ls {
		if ls[i].withNL != "" {
			p.items[i].ResetNL(ls[i].withNL, ls[i].t) // matched in place
		} else {
			p.items[i].Reset(ls[i].text, ls[i].t)
		}
	}
	p.ls = ls
	p.job = h.r.j.Start(p.items, h.pool)
	h.pending = append(h.pending, p)
}

// finishAll finishes every pending batch.
func (h *batchHandler) finishAll(ctx context.Context) {
	for len(h.pending) > 0 {
		h.finish(ctx)
	}
}

// finish waits for the oldest pending batch's matching, counts it, queues
// the bans it decides and then acknowledges the lines to their sources:
// once per run of lines of the same source, with the last one's position.
func (h *batchHandler) finish(ctx context.Context) {
	if len(h.pending) == 0 {
		return
	}
	p := h.pending[0]
	h.pending = append(h.pending[:0], h.pending[1:]...)
	p.job.Wait()
	h.ds = h.r.j.Finish(p.items, h.ds[:0])
	for _, d := range h.ds {
		h.b.decide(ctx, d)
	}
	clear(h.ds)
	ls := p.ls
	for i := range ls {
		if a := ls[i].ack; a != nil && (i+1 == len(ls) || ls[i+1].ack != a) {
			a.ack(&ls[i])
		}
	}
	for i := range p.items {
		p.items[i].Reset("", time.Time{}) // drops the line's references, keeps the buffers
	}
	// nothing refers to the lines' text any more (what the filter keeps,
	// it copied): their chunks may be reused
	for i := 0; i < len(ls); {
		// a run of lines cut from one chunk gives its references back
		// at once
		c, n := ls[i].chunk, 1
		for i+n < len(ls) && ls[i+n].chunk == c {
			n++
		}
		c.ReleaseN(n)
		i += n
	}
	// last, the lines' buffer goes back to the sources (which write new
	// lines in it at once), without the lines' references
	clear(ls)
	h.r.spare.Put(&lineBatch{lines: ls[:0]})
	p.ls, p.job = nil, nil
	h.spare = append(h.spare, p)
}
