package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/journal"
	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/bantime"
	"github.com/f2bd/f2bd/pkg/jail"
	"github.com/f2bd/f2bd/pkg/tail"
)

// line is one log line on its way to a jail. t is the source's own time
// for the line (the journal's), zero when the line carries its date.
type line struct {
	text string
	t    time.Time
}

// running is a jail with its sources and its ban length policy.
type running struct {
	j      *jail.Jail
	policy *bantime.Policy
	lines  chan line
	files  []string // followed files, for status
}

func newRunning(j *jail.Jail, p *bantime.Policy) *running {
	return &running{j: j, policy: p, lines: make(chan line, 4096)}
}

func (r *running) usesJournal() bool {
	return strings.HasPrefix(r.j.Config.Backend, "systemd")
}

func (r *running) sourceNames() []string {
	if r.usesJournal() {
		return []string{"journal: " + r.j.Config.Filter.JournalMatch}
	}
	return r.files
}

// run is the jail's goroutine: it owns the jail's filter and counts.
func (r *running) run(ctx context.Context, b *banner) {
	cleanup := time.NewTicker(time.Minute)
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cleanup.C:
			r.j.Cleanup()
		case l := <-r.lines:
			var d ban.Decision
			var ok bool
			if l.t.IsZero() {
				d, ok = r.j.Line(l.text)
			} else {
				d, ok = r.j.LineAt(l.text, l.t)
			}
			if ok {
				b.decide(ctx, d)
			}
		}
	}
}

// send hands a line to the jail, giving up when the daemon stops.
func (r *running) send(ctx context.Context, l line) {
	select {
	case r.lines <- l:
	case <-ctx.Done():
	}
}

// startSources starts the goroutines that feed a jail: one per log file,
// or a journal reader. A source that fails is logged and retried; it never
// stops the other jails.
func startSources(ctx context.Context, wg *sync.WaitGroup, r *running, log *zap.Logger) {
	c := r.j.Config
	log = log.With(zap.String("jail", c.Name))
	if r.usesJournal() {
		wg.Go(func() { followJournal(ctx, r, log) })
		return
	}
	for _, lp := range c.LogPaths {
		paths, err := filepath.Glob(lp.Pattern)
		if err != nil {
			log.Error("bad logpath pattern", zap.String("logpath", lp.Pattern), zap.Error(err))
			continue
		}
		if len(paths) == 0 {
			if strings.ContainsAny(lp.Pattern, "*?[") {
				log.Warn("logpath matches no file", zap.String("logpath", lp.Pattern))
				continue
			}
			log.Warn("log file does not exist yet; waiting for it", zap.String("logpath", lp.Pattern))
			paths = []string{lp.Pattern}
		}
		for _, p := range paths {
			r.files = append(r.files, p)
			opts := tail.Options{
				FromEnd: lp.Tail,
				OnError: func(err error) { log.Warn("log file", zap.String("file", p), zap.Error(err)) },
			}
			wg.Go(func() {
				tail.Follow(ctx, p, opts, func(s string) { r.send(ctx, line{text: s}) })
			})
		}
	}
}

// followJournal reads the jail's journal matches, reopening the journal
// after an error.
func followJournal(ctx context.Context, r *running, log *zap.Logger) {
	c := r.j.Config
	// Debian's sshd runs as ssh.service and OpenSSH 9.8+ logs as
	// sshd-session, while stock journalmatch lines name sshd.service and
	// sshd: the match is widened to both spellings.
	m, err := journal.ParseMatches(c.Filter.JournalMatch)
	if err != nil {
		log.Error("journalmatch", zap.String("journalmatch", c.Filter.JournalMatch), zap.Error(err))
		return
	}
	opts := journal.Options{Path: c.BackendOpts["journalpath"], Matches: m.WidenSSH().String()}
	if files := c.BackendOpts["journalfiles"]; files != "" {
		opts.Files = strings.Fields(files)
	}
	// Like fail2ban, start findtime back, so that failures just before
	// the start still count; after an error, go on after the last entry.
	opts.Since = time.Now().Add(-c.FindTime)
	for ctx.Err() == nil {
		rd, err := journal.Open(opts)
		if err == nil {
			err = rd.Follow(ctx, func(e journal.Entry) {
				opts.Cursor = e.Cursor
				r.send(ctx, line{text: e.Line, t: e.Time})
			})
			rd.Close()
		}
		if ctx.Err() != nil {
			return
		}
		log.Error("journal source failed; retrying in 5s", zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}
