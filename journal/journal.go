package journal

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Journal open flags, as fail2ban's journalflags option takes them (the
// sd_journal_open flag values).
const (
	// FlagLocalOnly limits the system journal to this machine's files.
	FlagLocalOnly = 1
	// FlagRuntimeOnly limits the system journal to volatile (/run) files.
	FlagRuntimeOnly = 2
	// FlagSystem limits the system journal to system service and kernel
	// files; fail2ban's default when neither a path nor files are set.
	FlagSystem = 4
	// FlagCurrentUser limits the system journal to the current user's
	// files.
	FlagCurrentUser = 8
)

// ErrClosed is returned by Follow when the Reader is closed.
var ErrClosed = errors.New("journal: reader closed")

// Follow looks for new entries (and at its context) at least every
// waitInterval, and every waitActive for activeFor after an entry arrived.
// journald tells readers about new entries (through inotify) only every
// 250 ms, but the entries are in its shared memory map at once: looking
// often keeps the latency from an entry to its delivery near the interval,
// for a few microseconds of work per look.
const (
	waitInterval = 25 * time.Millisecond
	waitActive   = 5 * time.Millisecond
	activeFor    = 10 * time.Second
)

// Options selects the journal, the entries and the starting point of a
// Reader. The zero value follows new entries of the system journal.
type Options struct {
	// Path is a journal directory (fail2ban's journalpath); "" with no
	// Files means the system journal.
	Path string
	// Files are journal files or glob patterns (journalfiles); patterns
	// are expanded once, by Open. Path and Files exclude each other.
	Files []string
	// Flags are fail2ban's journalflags for the system journal (see the
	// Flag constants); nil means fail2ban's default, FlagSystem. They are
	// ignored with Path or Files. The cgo implementation cannot pass
	// them to sd-journal and always opens this machine's journal files
	// (system and user); the journalctl implementation honours
	// FlagSystem and FlagCurrentUser.
	Flags *int
	// Matches is the filter's journalmatch as written (see ParseMatches);
	// "" delivers every entry.
	Matches string
	// Cursor, when set, starts after the entry with this cursor.
	Cursor string
	// Since, when set and Cursor is not, starts at the first entry whose
	// journal timestamp is not before Since. With neither, only entries
	// added after Follow starts are delivered.
	Since time.Time
	// Fields names journal fields to copy into Entry.Fields (for example
	// the fields of several jails' matches, checked with Matches.Match);
	// nil copies none.
	Fields []string
}

// config is the validated form of Options that the implementations use.
type config struct {
	path    string
	files   []string
	flags   int
	matches Matches
	cursor  string
	since   time.Time
	fields  []string
}

// Reader delivers the entries of a journal. Its methods may be called from
// different goroutines, but only one Follow may run at a time.
type Reader struct {
	mu      sync.Mutex
	closed  bool
	running bool
	b       *backend
}

// Open validates o, expands its file patterns and opens the journal.
func Open(o Options) (*Reader, error) {
	c, err := newConfig(o)
	if err != nil {
		return nil, err
	}
	b, err := openBackend(c)
	if err != nil {
		return nil, err
	}
	return &Reader{b: b}, nil
}

func newConfig(o Options) (config, error) {
	c := config{path: o.Path, flags: FlagSystem, cursor: o.Cursor, since: o.Since}
	for _, f := range o.Fields {
		if !validField(f) {
			return c, fmt.Errorf("journal: invalid field name %q in Options.Fields", f)
		}
		if !slices.Contains(c.fields, f) {
			c.fields = append(c.fields, f)
		}
	}
	if o.Path != "" && len(o.Files) > 0 {
		return c, errors.New("journal: Path and Files cannot both be set")
	}
	if o.Flags != nil {
		c.flags = *o.Flags
	}
	m, err := ParseMatches(o.Matches)
	if err != nil {
		return c, fmt.Errorf("journal: %w", err)
	}
	c.matches = m
	if len(o.Files) > 0 {
		seen := map[string]bool{}
		for _, p := range o.Files {
			names, err := filepath.Glob(p)
			if err != nil {
				return c, fmt.Errorf("journal: file pattern %q: %w", p, err)
			}
			for _, n := range names {
				if !seen[n] {
					seen[n] = true
					c.files = append(c.files, n)
				}
			}
		}
		if len(c.files) == 0 {
			return c, fmt.Errorf("journal: no journal file matches %q", o.Files)
		}
		sort.Strings(c.files)
	}
	return c, nil
}

// Follow calls fn for each matching entry, in journal order, from the
// starting point given to Open, then for new entries as they are added,
// until ctx is done; it then returns nil. It returns ErrClosed once the
// Reader is closed, and other errors as they occur; calling Follow again
// after an error resumes after the last entry delivered. fn runs on
// Follow's goroutine.
func (r *Reader) Follow(ctx context.Context, fn func(Entry)) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return ErrClosed
	case r.running:
		r.mu.Unlock()
		return errors.New("journal: Follow already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()
	return r.b.follow(ctx, fn)
}

// Close releases the journal; a running Follow returns ErrClosed. Close is
// idempotent.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	return r.b.close()
}
