package daemon

import (
	"slices"
	"sync/atomic"
)

// maxLineBatch is the most lines a source gathers before it waits for its
// jail while the jails are no more than the cores. Each batch handed on
// wakes the jail, the source and the flusher in turn: in the daemon
// benchmark (one jail, 2 cores) batches of 512 rather than 256 halved the
// goroutine wake-ups (10,163 -> 5,618 in 0.7 s), the cores' idle time
// (5.4% -> 3%) and the time runnable goroutines waited on an idle core
// (0.039 -> 0.016 core-s), for 1.7 MB more peak RSS (26.5 MB).
const maxLineBatch = 512

// lineBatchFor is the batch size of a daemon of jails on cores:
// maxLineBatch while each jail can have a core of its own, else half as
// many. Jails that share the cores switch between their batches anyway,
// and each jail's batches in flight cost memory: ten jails on one log
// held 79 MB with 256 and 92 MB with 512.
func lineBatchFor(jails, cores int) int {
	if jails > cores {
		return maxLineBatch / 2
	}
	return maxLineBatch
}

// lineBatch is a batch of one source's lines being gathered.
type lineBatch struct{ lines []line }

// batcher hands one source's lines to a jail in batches: add (on the
// source's goroutine) appends a line to the batch being gathered, and a
// flusher goroutine sends that batch to the jail as soon as the previous
// one went, so a batch holds what arrived while the jail was busy (one
// line when it is idle, at most its jail's batch size). The batch changes
// hands through an atomic pointer: no lock is taken per line, and only
// the flusher sends, so the lines keep their order.
//
// A source may also fill the batch in place rather than through add: next
// gives it the place of its next line in the batch being gathered, which
// the source holds (the flusher cannot take it) until it calls handOn, at
// most gather lines later or when it has read what there is. Each line is
// then written once, where the jail reads it.
type batcher struct {
	r       *running
	giveUp  <-chan struct{} // a send gives up when it is closed (nil: never)
	slot    atomic.Pointer[lineBatch]
	wake    chan struct{} // a batch may be waiting in slot
	taken   chan struct{} // the flusher took a batch
	stopped chan struct{} // closed by stop
	exited  chan struct{} // closed when the flusher ends

	max int // the most lines of a batch (the jail's batchSize)

	// Used on the source's goroutine only:
	fill *lineBatch // the batch next fills, held out of slot (nil: none)
	run  int        // lines next added to fill since it was taken
	size int        // lines in the batch last handed on, to size a new one
}

// newBatcher starts the flusher of a source of r. Sends give up when
// giveUp is closed (the lines are then not acknowledged).
func newBatcher(r *running, giveUp <-chan struct{}) *batcher {
	b := &batcher{r: r, giveUp: giveUp, wake: make(chan struct{}, 1), taken: make(chan struct{}, 1),
		stopped: make(chan struct{}), exited: make(chan struct{}), max: r.batchSize()}
	go b.flush()
	return b
}

// gather is the most lines a source writes in place (next) before it hands
// them on.
const gather = 64

// newBatch returns an empty batch with room for about as many lines as the
// last one handed on had, and for n at least: while the jail is busy the
// batches are full, and they do not grow line by line.
// The buffer of a finished batch is taken when there is one large enough.
func (b *batcher) newBatch(n int) *lineBatch {
	want := min(max(16, n, b.size), b.max)
	if p, _ := b.r.spare.Get().(*lineBatch); p != nil && cap(p.lines) >= want {
		return p
	}
	return &lineBatch{lines: make([]line, 0, want)}
}

// add appends ls to the batch being gathered, waiting while that batch is
// full and the jail busy.
func (b *batcher) add(ls ...line) {
	b.handOn()
	for len(ls) > 0 {
		p := b.slot.Swap(nil)
		if p == nil {
			p = b.newBatch(len(ls))
		} else if len(p.lines) >= b.max {
			b.slot.Store(p)
			b.signal()
			select {
			case <-b.taken:
				continue
			case <-b.giveUp:
				return
			}
		}
		n := min(len(ls), b.max-len(p.lines))
		p.lines = append(p.lines, ls[:n]...)
		ls = ls[n:]
		b.size = len(p.lines)
		b.slot.Store(p)
		b.signal()
	}
}

// next returns the place of the source's next line at the end of the batch
// being gathered, zeroed; the source sets it, then calls written. It
// waits while the batch is full and the jail busy, and returns nil when
// giveUp is closed meanwhile: the line is dropped then, as add drops it.
func (b *batcher) next() *line {
	p := b.fill
	if p != nil && (b.run == gather || len(p.lines) == b.max) {
		b.handOn()
		p = nil
	}
	if p == nil {
		if p = b.take(); p == nil {
			return nil
		}
	}
	n := len(p.lines)
	if n == cap(p.lines) {
		p.lines = slices.Grow(p.lines, b.max-n)
	}
	p.lines = p.lines[:n+1]
	b.run++
	return &p.lines[n]
}

// written tells that the line next gave is set: after gather lines (or
// when the batch is full) they are handed on.
func (b *batcher) written() {
	if b.run >= gather || len(b.fill.lines) == b.max {
		b.handOn()
	}
}

// take takes the batch being gathered out of slot for next to fill, or
// starts one; it waits while that batch is full and the jail busy, and
// returns nil when giveUp is closed meanwhile.
func (b *batcher) take() *lineBatch {
	for {
		p := b.slot.Swap(nil)
		if p == nil {
			p = b.newBatch(0)
		} else if len(p.lines) >= b.max {
			b.slot.Store(p)
			b.signal()
			select {
			case <-b.taken:
				continue
			case <-b.giveUp:
				return nil
			}
		}
		b.fill, b.run = p, 0
		return p
	}
}

// handOn puts back the batch next fills, for the flusher to send.
func (b *batcher) handOn() {
	p := b.fill
	if p == nil {
		return
	}
	b.fill = nil
	b.size = len(p.lines)
	b.slot.Store(p)
	b.signal()
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// flush sends the gathered batches until stop, then the last one.
func (b *batcher) flush() {
	defer close(b.exited)
	for {
		select {
		case <-b.wake:
		case <-b.stopped:
			if p := b.slot.Swap(nil); p != nil {
				b.send(p.lines)
			}
			return
		}
		p := b.slot.Swap(nil)
		if p == nil {
			continue
		}
		select {
		case b.taken <- struct{}{}:
		default:
		}
		b.send(p.lines)
	}
}

func (b *batcher) send(lines []line) {
	select {
	case b.r.lines <- lines:
	case <-b.giveUp:
	}
}

// stop sends what add and next gathered and ends the flusher; add and
// next must not be called any more.
func (b *batcher) stop() {
	b.handOn()
	close(b.stopped)
	<-b.exited
}
