//go:build cgo

package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// backend reads the journal through sd-journal. mu serialises all use of j,
// which Close may release while Follow runs.
type backend struct {
	mu         sync.Mutex
	j          *sdjournal.Journal
	closed     bool
	c          config
	positioned bool
	pending    *record // entry to deliver before reading on
}

func openBackend(c config) (*backend, error) {
	var (
		j   *sdjournal.Journal
		err error
	)
	switch {
	case c.path != "":
		j, err = sdjournal.NewJournalFromDir(c.path)
	case len(c.files) > 0:
		j, err = sdjournal.NewJournalFromFiles(c.files...)
	default:
		j, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	for _, g := range c.matches {
		for _, t := range g {
			if err := j.AddMatch(t.String()); err != nil {
				_ = j.Close()
				return nil, fmt.Errorf("journal: add match %q: %w", t, err)
			}
		}
		if err := j.AddDisjunction(); err != nil {
			_ = j.Close()
			return nil, fmt.Errorf("journal: add match disjunction: %w", err)
		}
	}
	return &backend{j: j, c: c}, nil
}

func (b *backend) follow(ctx context.Context, fn func(Entry)) error {
	var last time.Time // when the last entry arrived
	for ctx.Err() == nil {
		for {
			rec, err := b.next()
			if err != nil {
				return err
			}
			if rec == nil {
				break
			}
			last = time.Now()
			fn(rec.entry())
			if ctx.Err() != nil {
				return nil
			}
		}
		// A Wait may report nothing while entries are ready, so the loop
		// drains Next after every Wait whatever it returned.
		d := waitInterval
		if time.Since(last) < activeFor {
			d = waitActive
		}
		if err := b.wait(d); err != nil {
			return err
		}
	}
	return nil
}

// next returns the next matching entry, or nil at the end of the journal.
func (b *backend) next() (*record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if !b.positioned {
		if err := b.position(); err != nil {
			return nil, err
		}
		b.positioned = true
	}
	if rec := b.pending; rec != nil {
		b.pending = nil
		return rec, nil
	}
	n, err := b.j.Next()
	if err != nil {
		return nil, fmt.Errorf("journal: next entry: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return b.read()
}

// position moves to the starting point of the configuration.
func (b *backend) position() error {
	j := b.j
	switch {
	case b.c.cursor != "":
		if err := j.SeekCursor(b.c.cursor); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		n, err := j.Next()
		if err != nil {
			return fmt.Errorf("journal: entry at cursor: %w", err)
		}
		if n == 0 {
			return nil
		}
		// The cursor's entry may be gone or not match: then the entry
		// found is the first to deliver.
		err = j.TestCursor(b.c.cursor)
		if errors.Is(err, sdjournal.ErrNoTestCursor) {
			b.pending, err = b.read()
		}
		if err != nil {
			return fmt.Errorf("journal: entry at cursor: %w", err)
		}
	case !b.c.since.IsZero():
		return b.seekTime(b.c.since)
	default:
		if err := j.SeekTail(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		n, err := j.Previous()
		if err != nil {
			return fmt.Errorf("journal: last entry: %w", err)
		}
		if n == 0 {
			// Nothing matches yet. Following from the tail of an empty
			// journal can miss entries, so start from the present.
			return b.seekTime(time.Now())
		}
	}
	return nil
}

func (b *backend) seekTime(t time.Time) error {
	us := max(t.UnixMicro(), 0)
	if err := b.j.SeekRealtimeUsec(uint64(us)); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// read builds the record of the current entry.
func (b *backend) read() (*record, error) {
	e, err := b.j.GetEntry()
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	rec := &record{cursor: e.Cursor, realtime: e.RealtimeTimestamp, monotonic: e.MonotonicTimestamp}
	for _, f := range entryFields() {
		if v, ok := e.Fields[f]; ok {
			rec.set(f, v)
		}
	}
	for _, f := range b.c.fields {
		if v, ok := e.Fields[f]; ok {
			rec.keep(b.c.fields, f, v)
		}
	}
	return rec, nil
}

// wait blocks until the journal changes or d passes.
func (b *backend) wait(d time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if r := b.j.Wait(d); r < 0 {
		return fmt.Errorf("journal: wait: %w", syscall.Errno(-r))
	}
	return nil
}

func (b *backend) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if err := b.j.Close(); err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}
