package daemon

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/bantime"
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
	lines  chan line     // closed by the sources once they all ended
	done   chan struct{} // closed when run returns

	mu    sync.Mutex
	files []string // followed files, for status
}

func newRunning(j *jail.Jail, p *bantime.Policy) *running {
	return &running{j: j, policy: p, lines: make(chan line, 4096), done: make(chan struct{})}
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

// run is the jail's goroutine: it owns the jail's filter and counts. When
// ctx is done it still handles every line its sources sent, until they
// close r.lines, so that the positions they save are exact.
func (r *running) run(ctx context.Context, b *banner) {
	defer close(r.done)
	cleanup := time.NewTicker(time.Minute)
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			for l := range r.lines {
				r.handle(ctx, b, &l)
			}
			return
		case <-cleanup.C:
			r.j.Cleanup()
		case l, ok := <-r.lines:
			if !ok {
				return
			}
			r.handle(ctx, b, &l)
		}
	}
}

// handle runs a line through the jail, queues the ban it may decide and
// acknowledges the line to its source.
func (r *running) handle(ctx context.Context, b *banner, l *line) {
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
	if l.ack != nil {
		l.ack.ack(l)
	}
}

// send hands a line to the jail, giving up when the daemon stops (the line
// is then not acknowledged, and read again after a restart).
func (r *running) send(ctx context.Context, l line) {
	select {
	case r.lines <- l:
	case <-ctx.Done():
	}
}
