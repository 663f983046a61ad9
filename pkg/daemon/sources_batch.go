package daemon

import (
	"sync/atomic"
)

// maxLineBatch is the most lines a source gathers before it waits for its jail.
const maxLineBatch = 256

// lineBatch is a batch of one source's lines being gathered.
type lineBatch struct{ lines []line }

// batcher hands one source's lines to a jail in batches: add (on the
// source's goroutine) appends a line to the batch being gathered, and a
// flusher goroutine sends that batch to the jail as soon as the previous
// one went, so a batch holds what arrived while the jail was busy (one
// line when it is idle, at most about maxLineBatch). The batch changes hands
// through an atomic pointer: no lock is taken per line, and only the
// flusher sends, so the lines keep their order.
type batcher struct {
	r       *running
	giveUp  <-chan struct{} // a send gives up when it is closed (nil: never)
	slot    atomic.Pointer[lineBatch]
	wake    chan struct{} // a batch may be waiting in slot
	taken   chan struct{} // the flusher took a batch
	stopped chan struct{} // closed by stop
	exited  chan struct{} // closed when the flusher ends
}

// newBatcher starts the flusher of a source of r. Sends give up when
// giveUp is closed (the lines are then not acknowledged).
func newBatcher(r *running, giveUp <-chan struct{}) *batcher {
	b := &batcher{r: r, giveUp: giveUp, wake: make(chan struct{}, 1), taken: make(chan struct{}, 1),
		stopped: make(chan struct{}), exited: make(chan struct{})}
	go b.flush()
	return b
}

// gather is the most lines a source hands to its batcher at once.
const gather = 64

// add appends ls to the batch being gathered, waiting while that batch is
// full and the jail busy.
func (b *batcher) add(ls ...line) {
	for len(ls) > 0 {
		p := b.slot.Swap(nil)
		if p == nil {
			p = &lineBatch{lines: make([]line, 0, max(16, len(ls)))}
		} else if len(p.lines) >= maxLineBatch {
			b.slot.Store(p)
			b.signal()
			select {
			case <-b.taken:
				continue
			case <-b.giveUp:
				return
			}
		}
		n := min(len(ls), maxLineBatch-len(p.lines))
		p.lines = append(p.lines, ls[:n]...)
		ls = ls[n:]
		b.slot.Store(p)
		b.signal()
	}
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

// stop sends what add gathered and ends the flusher; add must not be
// called any more.
func (b *batcher) stop() {
	close(b.stopped)
	<-b.exited
}
