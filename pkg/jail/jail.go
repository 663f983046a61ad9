// Package jail runs one jail's decision logic: a log line goes in, through
// the jail's filter, its ignore list and its failure count, and a ban
// decision may come out.
//
// A Jail's Line method is called from one goroutine (the jail's); its
// statistics may be read from any goroutine.
package jail

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/failcount"
	"github.com/f2bd/f2bd/pkg/filter"
	"github.com/f2bd/f2bd/pkg/ignore"
)

// Jail is a running jail's matching and counting state.
type Jail struct {
	// Config is the jail's resolved configuration.
	Config *config.Jail

	filter  *filter.Filter
	counter *failcount.Counter[netip.Addr]
	ignore  *ignore.List
	now     func() time.Time
	weigh   func(netip.Addr, time.Time) int // nil: every failure counts 1

	current, total, banned, ignored atomic.Int64
}

// Stats are a jail's counters, as `f2bctl status <jail>` shows them.
type Stats struct {
	CurrentlyFailed int64 // ids with failures being counted
	TotalFailed     int64 // failures seen since start
	TotalBanned     int64 // bans decided since start
	Ignored         int64 // failures from ignored addresses
}

// New prepares a jail from its configuration. now is the clock (nil means
// time.Now). It fails when the jail's filter or ignore list is invalid,
// naming the jail.
func New(c *config.Jail, now func() time.Time) (*Jail, error) {
	if now == nil {
		now = time.Now
	}
	if c.Filter == nil {
		return nil, fmt.Errorf("jail %s: no filter", c.Name)
	}
	f, err := filter.New(filter.Options{
		PrefRegex:   c.Filter.PrefRegex,
		FailRegex:   c.Filter.FailRegex,
		IgnoreRegex: c.Filter.IgnoreRegex,
		DatePattern: c.Filter.DatePattern,
		MaxLines:    c.Filter.MaxLines,
		UseDNS:      c.UseDNS,
		LogTimezone: c.Options["logtimezone"],
		Now:         now,
		// the jail counts failures by address and keeps their lines:
		// their groups and matches are not read (an action that uses
		// failure tags, a compatibility plugin, will need them)
		CountOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("jail %s: filter %s: %w", c.Name, c.Filter.Name, err)
	}
	ign, err := ignore.New(c.IgnoreIP, c.IgnoreSelf)
	if err != nil {
		return nil, fmt.Errorf("jail %s: %w", c.Name, err)
	}
	return &Jail{
		Config:  c,
		filter:  f,
		counter: failcount.New[netip.Addr](c.FindTime, c.MaxRetry, c.MaxMatches),
		ignore:  ign,
		now:     now,
	}, nil
}

// Name is the jail's name.
func (j *Jail) Name() string { return j.Config.Name }

// Line runs one log line through the jail. It returns a decision when the
// line completes an address's count. Failures older than findtime (read
// from the back of a log at start) are not counted, as in fail2ban.
func (j *Jail) Line(line string) (ban.Decision, bool) {
	fail, ok := j.filter.Process(line)
	if !ok || fail.NoFail {
		return ban.Decision{}, false
	}
	return j.failure(fail)
}

// LineAt is Line for a source that knows each line's time itself (the
// journal): t is used when the line carries no date.
func (j *Jail) LineAt(line string, t time.Time) (ban.Decision, bool) {
	fail, ok := j.filter.ProcessAt(line, t)
	if !ok || fail.NoFail {
		return ban.Decision{}, false
	}
	return j.failure(fail)
}

func (j *Jail) failure(fail filter.Failure) (ban.Decision, bool) {
	now := j.now()
	if fail.Time.Before(now.Add(-j.Config.FindTime)) {
		return ban.Decision{}, false
	}
	addr := fail.Addr
	if !addr.IsValid() {
		// A failure id that is not an address (F-ID, a host name) cannot
		// be banned by the kernel sets yet.
		return ban.Decision{}, false
	}
	addr = addr.Unmap()
	if j.ignore.Contains(addr) {
		j.ignored.Add(1)
		return ban.Decision{}, false
	}
	j.total.Add(1)
	weight := 1
	if j.weigh != nil {
		weight = j.weigh(addr, fail.Time)
	}
	r := j.counter.AddWeighted(addr, fail.Time, fail.Line, weight)
	j.current.Store(int64(j.counter.Current()))
	if !r.Ban {
		return ban.Decision{}, false
	}
	d := ban.Decision{
		Jail:     j.Config.Name,
		Addr:     addr,
		Time:     fail.Time,
		BanTime:  j.Config.BanTime,
		Failures: r.Attempts,
		Origin:   ban.OriginJail,
		Matches:  r.Matches,
	}
	if d.BanTime >= 0 && d.Remaining(now) <= 0 {
		return ban.Decision{}, false // a ban that would already be over
	}
	j.banned.Add(1)
	return d, true
}

// Cleanup forgets counts older than findtime; call it now and then from
// the jail's goroutine.
func (j *Jail) Cleanup() {
	j.counter.Cleanup(j.now())
	j.current.Store(int64(j.counter.Current()))
}

// WeighFailures makes each failure of an address count as fn says (at
// least 1): with bantime.increment, fail2ban counts a failure of an
// address it banned before as 2, 3, 5, 9... attempts. Call it before the
// jail runs; fn is called from the jail's goroutine.
func (j *Jail) WeighFailures(fn func(addr netip.Addr, t time.Time) int) { j.weigh = fn }

// Ignores reports whether addr is on the jail's ignore list.
func (j *Jail) Ignores(addr netip.Addr) bool { return j.ignore.Contains(addr) }

// Stats returns the jail's counters.
func (j *Jail) Stats() Stats {
	return Stats{
		CurrentlyFailed: j.current.Load(),
		TotalFailed:     j.total.Load(),
		TotalBanned:     j.banned.Load(),
		Ignored:         j.ignored.Load(),
	}
}

// Start begins a batch of lines: their dates are found on the calling
// goroutine (the jail's) and their matching runs on p's workers, so that
// the caller can Finish the batch before meanwhile. Finish counts the
// batch once the returned job is done; batches are finished in the order
// they were started.
func (j *Jail) Start(items []filter.Item, p *filter.Pool) *filter.Job {
	return j.filter.Start(items, p)
}

// Finish counts a started batch whose job is done, in order, as Line
// (LineAt for items with At) would one by one, and appends the decisions
// to out.
func (j *Jail) Finish(items []filter.Item, out []ban.Decision) []ban.Decision {
	for i := range items {
		if items[i].Skip() {
			continue // most lines: nothing to count
		}
		fail, ok := j.filter.Finish(&items[i])
		if !ok || fail.NoFail {
			continue
		}
		if d, ok := j.failure(fail); ok {
			out = append(out, d)
		}
	}
	return out
}

// Lines runs a batch of lines through the jail, in order, as Line (LineAt
// for items with At) would one by one, and appends the decisions to out.
// The lines' matching is spread over p's workers (nil: this goroutine
// alone); the counting stays on the calling goroutine.
func (j *Jail) Lines(items []filter.Item, p *filter.Pool, out []ban.Decision) []ban.Decision {
	j.filter.Batch(items, p)
	return j.Finish(items, out)
}
