package daemon

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/journal"
	"github.com/f2bd/f2bd/pkg/position"
)

// journalRetry is the wait before a failed journal reader is opened again.
const journalRetry = 5 * time.Second

// journalHub is one journal reader shared by the jails that read the same
// journal (fail2ban opens one per jail). It opens the journal with the OR
// of the jails' journalmatch groups, checks each entry against every
// jail's own groups in Go, and hands the entry's line, with the entry's
// own time, to the jails it matches.
//
// Its cursor is saved under key. The cursor saved is that of the last
// entry every jail it went to has handled, so a restart after a crash
// (kill -9) may repeat the entries of the last second, never lose one; an
// orderly stop lets the jails handle everything read, and the last
// entry's cursor is saved.
type journalHub struct {
	key     string
	opts    journal.Options // the journal, without matches or start
	members []*journalMember
	store   *position.Store
	now     func() time.Time
	log     *zap.Logger

	next uint64 // sequence number of the next entry (reader goroutine)

	mu     sync.Mutex
	seq    uint64 // last entry handed to every jail it matches
	cursor string // its cursor
}

// journalMember is a jail of a hub, with what it has been sent and what it
// has handled.
type journalMember struct {
	r          *running
	m          journal.Matches
	dispatched atomic.Uint64 // sequence number of the last entry sent
	batch      *batcher      // its lines' way to the jail (while the hub runs)

	mu        sync.Mutex
	processed uint64 // last entry handled
	cursor    string // its cursor
}

func (m *journalMember) ack(l *line) {
	m.mu.Lock()
	m.processed, m.cursor = l.seq, l.cursor
	m.mu.Unlock()
}

// newJournalHubs groups the journal jails by journal (journalpath,
// journalfiles, journalflags); a jail whose journalmatch does not parse is
// logged and gets no source.
func newJournalHubs(jails []*running, store *position.Store, now func() time.Time, log *zap.Logger) []*journalHub {
	var hubs []*journalHub
	byKey := map[string]*journalHub{}
	for _, r := range jails {
		c := r.j.Config
		// Debian's sshd runs as ssh.service and OpenSSH 9.8+ logs as
		// sshd-session, while stock journalmatch lines name sshd.service
		// and sshd: the match is widened to both spellings.
		m, err := journal.ParseMatches(c.Filter.JournalMatch)
		if err != nil {
			log.Error("journalmatch; the jail reads nothing", zap.String("jail", c.Name),
				zap.String("journalmatch", c.Filter.JournalMatch), zap.Error(err))
			continue
		}
		opts := journal.Options{Path: c.BackendOpts["journalpath"]}
		if files := c.BackendOpts["journalfiles"]; files != "" {
			opts.Files = strings.Fields(files)
		}
		key := "system"
		switch {
		case opts.Path != "":
			key = "path:" + opts.Path
		case len(opts.Files) > 0:
			key = "files:" + strings.Join(opts.Files, " ")
		default:
			if f, err := strconv.Atoi(c.BackendOpts["journalflags"]); err == nil {
				opts.Flags = &f
				key += ":" + strconv.Itoa(f)
			}
		}
		h := byKey[key]
		if h == nil {
			h = &journalHub{key: key, opts: opts, store: store, now: now, log: log.With(zap.String("journal", key))}
			byKey[key] = h
			hubs = append(hubs, h)
		}
		h.members = append(h.members, &journalMember{r: r, m: m.WidenSSH()})
	}
	return hubs
}

// run reads the journal until ctx is done, opening it again after an
// error.
func (h *journalHub) run(ctx context.Context) {
	var ms []journal.Matches
	var fields []string
	var findtime time.Duration
	var names []string
	for _, m := range h.members {
		ms = append(ms, m.m)
		for _, f := range m.m.Fields() {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
		findtime = max(findtime, m.r.j.Config.FindTime)
		names = append(names, m.r.j.Name())
	}
	o := h.opts
	o.Matches = journal.Or(ms...).String()
	o.Fields = fields
	if p, ok := h.store.Journal(h.key); ok && p.Cursor != "" {
		o.Cursor = p.Cursor
		h.cursor = p.Cursor
	} else {
		// Like fail2ban, start findtime back, so that failures just
		// before the start still count.
		o.Since = h.now().Add(-findtime)
	}
	// The sends do not give up when the daemon stops (see dispatch).
	for _, m := range h.members {
		m.batch = newBatcher(m.r, nil)
		defer m.batch.stop()
	}
	h.log.Info("journal reader started", zap.Strings("jails", names), zap.String("matches", o.Matches),
		zap.Bool("resuming", o.Cursor != ""))
	for ctx.Err() == nil {
		rd, err := journal.Open(o)
		if err == nil {
			err = rd.Follow(ctx, h.dispatch)
			rd.Close()
		}
		if ctx.Err() != nil {
			return
		}
		// After an error, go on after the last entry read.
		h.mu.Lock()
		if h.cursor != "" {
			o.Cursor = h.cursor
		}
		h.mu.Unlock()
		h.log.Error("journal source failed; retrying", zap.Duration("in", journalRetry), zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(journalRetry):
		}
	}
}

// dispatch hands an entry to the jails it matches. The sends do not give up
// when the daemon stops: the jails handle what they are sent until the
// sources ended, so an entry never reaches only some of its jails.
func (h *journalHub) dispatch(e journal.Entry) {
	h.next++
	seq := h.next
	for _, m := range h.members {
		if !m.m.Match(e.Fields) {
			continue
		}
		m.dispatched.Store(seq)
		m.batch.add(line{text: e.Line, t: e.Time, ack: m, seq: seq, cursor: e.Cursor})
	}
	h.mu.Lock()
	h.seq, h.cursor = seq, e.Cursor
	h.mu.Unlock()
}

// commit records the cursor of the last entry that every jail it went to
// has handled.
func (h *journalHub) commit() {
	h.mu.Lock()
	seq, cursor := h.seq, h.cursor
	h.mu.Unlock()
	for _, m := range h.members {
		d := m.dispatched.Load()
		m.mu.Lock()
		p, c := m.processed, m.cursor
		m.mu.Unlock()
		if p < d && p < seq {
			seq, cursor = p, c // this jail still has entries to handle
		}
	}
	if cursor != "" {
		h.store.SetJournal(h.key, position.Journal{Cursor: cursor, Updated: h.now()})
	}
}
