package filter

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Batches: a line's work is split in three stages so that the costly one
// can run on several cores while the results stay those of Process, line
// for line.
//
//  1. dates (sequential, the jail's goroutine): the clock is read (once
//     per batch), the date is found and the last date updated (dateOf, shared with
//     Process). The date detector reorders its templates by the lines it
//     has seen, so this stage runs in line order on the Filter's own
//     detector: every line gets exactly the template Process would pick.
//  2. match (pure, any goroutine): the prefilter, ignoreregex, prefregex
//     and failregexes run over the line with its date cut out, with the
//     scratch buffers of the worker (a Scratch); the result is the
//     failregex that decides the line and its groups. It reads only the
//     compiled, immutable parts of the Filter.
//  3. finish (sequential, in line order): F-MLFID merge, F-NOFAIL and
//     forget handling, failure ids and the failure, as Process does.
//
// Stages 1 and 3 use separate parts of the Filter (1: the date detector
// and the last date; 3: the F-MLFID cache and the results' buffers), so
// that one goroutine may run the dates of a batch while another finishes
// an earlier one (f2bctl regex does); each stage still runs on one
// goroutine at a time, in line order.
//
// The split applies to filters with maxlines 1 (the daemon's jails but
// multi-line ones, and f2bctl regex's CheckAll filters, whose match stage
// records every failregex's match for stage 3): with maxlines above 1 the
// failregexes search a buffer of the lines before, so stage 2 is not
// pure; such filters run every line whole in stage 3.

// Item is one line of a batch: the input (Line, At) and what the stages
// found for it.
type Item struct {
	Line string    // the log line
	At   time.Time // the line's time from its source (journal); zero: dated from its text

	// nl is Line followed by its newline, when the source gave it so
	// (ResetNL): the match stage then searches the line in place.
	nl         string
	now, date  time.Time
	cutS, cutE int
	err        error // errors of the dates and match stages
	whole      bool  // the filter does not split: finish runs the line whole
	hit        bool  // a failregex decides the line
	regex      int   // which
	g          groupSet
	kvBuf      []groupKV // g's storage, kept from line to line (see Reset)
	buf        []byte    // the line as matched (date cut out), kept from line to line
	matched    []string
	one        [1]string // matched's storage for a single line
	all        *allHits  // CheckAll mode: every match (nil: other filters)
}

// allHits is what the match stage of a CheckAll filter found on a line:
// every failregex match that has a failure id or an F-MLFID, in failregex
// order, and whether an ignoreregex matched.
type allHits struct {
	hits    []hit
	kv      [][]groupKV // the hits' groups' storage, by position, kept from line to line
	ignored bool
}

// hit is one failregex match of a CheckAll line.
type hit struct {
	regex   int
	g       groupSet
	matched []string
}

// reset empties a for a new line, keeping its buffers.
func (a *allHits) reset() {
	if a != nil {
		a.hits, a.ignored = a.hits[:0], false
	}
}

// Reset makes it an item for line (from its source at at; zero: dated from
// its text) and keeps its buffers: a caller that reuses its items for
// batch after batch does not allocate their groups again.
func (it *Item) Reset(line string, at time.Time) {
	// field by field, not a new Item: the stages set the others before
	// they read them (Dates: the dates and cuts; match: the regex of a
	// hit), and the line is not copied around twice
	it.Line, it.At, it.nl = line, at, ""
	it.whole, it.hit, it.err = false, false, nil
	it.g, it.matched, it.one = groupSet{}, nil, [1]string{}
	it.all.reset()
}

// ResetNL is Reset for a line given with its newline (text ends with
// '\n', which is not part of the line): a line whose date is at its start,
// or that has none, is then matched in place, without a copy. The text's
// memory must stay as it is until the item is finished, as with Reset.
func (it *Item) ResetNL(text string, at time.Time) {
	line, nl := text, ""
	if n := len(text); n > 0 && text[n-1] == '\n' {
		line, nl = text[:n-1], text
	}
	it.Reset(line, at)
	it.nl = nl
}

// Scratch holds one goroutine's buffers for the match stage. Its zero
// value is ready; it must not be used by two goroutines at once.
type Scratch struct {
	buf         []byte
	preIdx, idx []int
	mask        []uint64
	lines       []string
	org1        [1]string
}

// splits reports whether the filter's line work splits into stages.
func (f *Filter) splits() bool { return f.max <= 1 }

// Dates runs the first stage over a batch, in order: it must be called
// from the Filter's goroutine.
func (f *Filter) Dates(items []Item) {
	if !f.splits() {
		for i := range items {
			items[i].whole = true
		}
		return
	}
	if f.checkAll {
		for i := range items {
			if items[i].all == nil {
				items[i].all = new(allHits)
			}
			items[i].all.reset()
		}
	}
	// one clock reading for the batch: its lines were read together
	now := f.now()
	for i := range items {
		it := &items[i]
		it.whole, it.hit, it.g, it.matched, it.err = false, false, groupSet{}, nil, nil
		it.now = now
		it.date, it.cutS, it.cutE, it.err = f.dateOf(it.Line, it.At, !it.At.IsZero(), it.now)
	}
}

// Match runs the second stage over items (after Dates) with s's buffers.
// It only reads the Filter: several goroutines may run it at once on
// different items, each with its own Scratch.
func (f *Filter) Match(items []Item, s *Scratch) {
	for i := range items {
		if !items[i].whole {
			f.match(&items[i], s)
		}
	}
}

// Skip finishes an item (after Dates and Match) that no failregex decided,
// as Finish would, and reports whether it was one: most lines are, and a
// caller that finishes a batch in a loop asks Finish only for the others.
func (it *Item) Skip() bool {
	if it.whole || it.hit {
		return false
	}
	it.Line, it.nl = "", ""
	return true
}

// Finish runs the last stage of an item (after Dates and Match), in line
// order on the Filter's goroutine, and returns what Process (or ProcessAt
// for items with At) returns for the line.
func (f *Filter) Finish(it *Item) (Failure, bool) {
	if it.Skip() {
		// most lines: no failregex decided them, nothing to merge
		return Failure{}, false
	}
	var res []Failure
	switch {
	case it.whole:
		res, _ = f.run(it.Line, it.At, !it.At.IsZero())
	case f.checkAll:
		res, _ = f.finishAll(it)
	default:
		res, _ = f.finish(it)
	}
	it.release()
	var fl Failure
	ok := false
	for _, r := range res {
		if !r.NoFail && !r.Pending {
			fl, ok = r, true
			break
		}
	}
	if !it.whole {
		clear(res) // f.out: no failure kept alive by the buffer
	}
	return fl, ok
}

// FinishAll is Finish for the items of a CheckAll filter: it returns what
// ProcessLine (or ProcessLineAt, for items with At) returns for the line,
// the failures of every failregex that matched, and sets what Ignored
// reports. The slice is the Filter's, valid until its next call.
func (f *Filter) FinishAll(it *Item) ([]Failure, error) {
	var res []Failure
	var err error
	switch {
	case it.whole:
		res, err = f.run(it.Line, it.At, !it.At.IsZero())
	case f.checkAll:
		res, err = f.finishAll(it)
	default:
		f.wasIgnored = false
		res, err = f.finish(it)
	}
	it.release()
	return res, err
}

// release drops the item's references to its line and groups once it is
// finished (its groups' storage stays: what was kept of them was copied,
// see mlfidCache.merge; only a matched line wrote in it).
func (it *Item) release() {
	if it.hit {
		clear(it.kvBuf[:cap(it.kvBuf)])
		if it.all != nil {
			it.all.release()
		}
	}
	it.g, it.matched, it.one, it.Line, it.nl = groupSet{}, nil, [1]string{}, "", ""
}

// release drops a's references to a finished line's groups.
func (a *allHits) release() {
	for k := range a.hits {
		clear(a.kv[k][:cap(a.kv[k])])
	}
	clear(a.hits)
	a.reset()
}

// ignoredIn is ignored without recording the result on the Filter.
func (f *Filter) ignoredIn(buf string) (bool, error) {
	for i, r := range f.ignore {
		ok, err := r.MatchString(buf)
		if err != nil {
			return false, fmt.Errorf("ignoreregex[%d]: %w", i, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// bufIn is bufOf with s's buffer.
func bufIn(s *Scratch, lines []string) string {
	b := s.buf[:0]
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
	}
	b = append(b, '\n')
	s.buf = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// match is run's maxlines 1, first-match-wins path up to the F-MLFID
// merge: it finds the failregex whose match decides the line (the first
// one that matches, is not ignored and has a failure id or an F-MLFID).
func (f *Filter) match(it *Item, s *Scratch) {
	var errs []error
	if it.err != nil {
		errs = append(errs, it.err)
	}
	defer func() {
		if len(errs) > 0 {
			it.err = errors.Join(errs...)
		}
	}()
	// the line, its date cut out, and a newline: in place when the source
	// gave the line with its newline (ResetNL) and the date is at its
	// start, else in the item's own buffer. The groups and matched line
	// of a hit are cut from it and stay valid until the item is finished,
	// which copies what it keeps (mlfidCache.merge, Filter.failure): a
	// hit costs no allocation
	line := it.Line
	var buf string
	if it.cutS == 0 && it.nl != "" {
		// the date at the start (or none): the rest of the line and its
		// newline are where the source has them
		buf = it.nl[it.cutE:]
	} else {
		b := it.buf[:0]
		if n := len(line) - (it.cutE - it.cutS) + 1; n > itemBufMax {
			b = nil // a long line: a buffer of its own, not kept
		}
		b = append(b, line[:it.cutS]...)
		b = append(append(b, line[it.cutE:]...), '\n')
		if cap(b) <= itemBufMax {
			it.buf = b
		}
		buf = unsafe.String(unsafe.SliceData(b), len(b))
	}
	lineStr := buf
	body := buf[:len(buf)-1]
	s.org1[0] = body
	org := s.org1[:]
	s.lines = append(s.lines[:0], body)
	failOff := 0

	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 {
		ign, err := f.ignoredIn(buf)
		if err != nil {
			errs = append(errs, err)
		}
		if ign {
			if f.checkAll {
				it.ignore()
			}
			return
		}
	}
	hasPre := false
	if f.pref != nil {
		var loc []int
		fast := false
		if f.fastPre != nil {
			loc, fast = f.fastPre.match(buf, s.preIdx)
		}
		if !fast {
			var err error
			if loc, err = f.pref.FindIndex(buf, s.preIdx); err != nil {
				errs = append(errs, err)
				return
			}
		}
		if loc == nil {
			return
		}
		s.preIdx, hasPre = loc, true
		if k := f.contentIdx; k >= 0 && loc[2*k] >= 0 && loc[2*k+1] > loc[2*k] {
			c := buf[loc[2*k]:loc[2*k+1]]
			failOff = -1
			if loc[2*k+1] == len(lineStr)-1 {
				failOff = loc[2*k]
			}
			s.lines = append(s.lines[:0], c)
			buf = ""
			if failOff >= 0 {
				buf = lineStr[failOff:] // the content and its newline, in place
			}
		}
	}
	// the prefilter scans the text the failregexes search
	usePre := f.pre != nil
	if usePre {
		if buf == "" {
			buf = bufIn(s, s.lines)
		}
		if len(s.mask) != f.pre.words {
			s.mask = make([]uint64, f.pre.words)
		}
		if !f.pre.admit(buf, s.mask) {
			return
		}
	}

	for i := 0; i < len(f.fail); i++ {
		if usePre {
			// the next failregex the prefilter lets through
			if i = nextSet(s.mask, i, len(f.fail)); i < 0 {
				break
			}
		}
		r := f.fail[i]
		if buf == "" {
			buf = bufIn(s, s.lines)
			if usePre && (!f.pre.admit(buf, s.mask) || !has(s.mask, i)) {
				// a match took lines: the text searched is another one,
				// which the prefilter had not seen
				continue
			}
		}
		loc, err := r.FindIndex(buf, s.idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("failregex[%d]: %w", i, err))
			continue
		}
		if loc == nil {
			continue
		}
		s.idx = loc
		kv := it.kvBuf
		if f.checkAll {
			kv = it.all.kvFor(len(it.all.hits))
		}
		g := f.failGroups(i, buf, loc, lineStr, failOff, kv)
		if cap(g.kv) > cap(kv) {
			// grown: kept for the next lines
			if f.checkAll {
				it.all.kv[len(it.all.hits)] = g.kv[:0]
			} else {
				it.kvBuf = g.kv[:0]
			}
		}
		var matched, rest []string
		if len(org) == 1 {
			// one line: it is the match (lineRange's answer, without a copy)
			it.one[0] = org[0]
			matched = it.one[:]
		} else {
			matched, rest = lineRange(buf, loc, org, f.skipsOf[i])
		}
		if len(f.ignore) > 0 {
			ign, err := f.ignoredIn(buf)
			if err != nil {
				errs = append(errs, err)
			}
			if ign {
				if !f.checkAll {
					return
				}
				it.ignore()
				buf = "" // (the same text again: CheckAll keeps the lines)
				continue
			}
		}
		if !f.checkAll {
			// the next failregexes search what the match left
			s.lines = append(s.lines[:0], rest...)
			buf = ""
		}
		if hasPre {
			f.addPrefGroups(&g, i, s.preIdx, lineStr)
		}
		if !g.has(gMLFID) && !g.has(gIP4) && !g.has(gIP6) && !g.has(gDNS) && !g.has(gFID) {
			errs = append(errs, fmt.Errorf("failregex[%d]: no failure id in %q", i, buf))
			continue
		}
		if f.checkAll {
			it.hit = true
			it.all.hits = append(it.all.hits, hit{regex: i, g: g, matched: matched})
			continue
		}
		it.hit, it.regex, it.g, it.matched = true, i, g, matched
		return
	}
}

// ignore records that an ignoreregex matched the line of a CheckAll
// filter's item: Ignored reports it once the item is finished.
func (it *Item) ignore() {
	it.all.ignored = true
	it.hit = true // (finished, not skipped)
}

// kvFor returns the groups' storage of the k-th hit.
func (a *allHits) kvFor(k int) []groupKV {
	for len(a.kv) <= k {
		a.kv = append(a.kv, nil)
	}
	return a.kv[k]
}

// finish is run's end for the failregex match that decides a split line.
func (f *Filter) finish(it *Item) ([]Failure, error) {
	if !it.hit {
		return nil, it.err
	}
	i, g, line, date, now := it.regex, it.g, it.Line, it.date, it.now
	cur := entry{g: g}
	fail := &cur
	mlfid, hasMLFID := g.get(gMLFID)
	if hasMLFID {
		fail = f.mlfid.merge(mlfid, cur, it.matched, now)
		if truthy(fail.g.val(gNoFail)) {
			return nil, it.err
		}
	} else {
		fail.matches = it.matched
	}
	ids, found := f.failureIDs(&fail.g)
	if !found {
		// F-MLFID known but no failure id yet: pending
		fail.g.set(gMLFPending, "1")
		return nil, it.err
	}
	// the failures go in f's buffer: Finish copies out the one it returns
	out := f.out[:0]
	for _, id := range ids {
		out = append(out, f.failure(fail, line, date, i, id))
	}
	f.out = out
	return out, it.err
}

// finishAll is run's end for the matches of a CheckAll line: each goes
// through the F-MLFID merge and gives its failures (pending ones
// included), in failregex order; F-NOFAIL matches give theirs too.
func (f *Filter) finishAll(it *Item) ([]Failure, error) {
	a := it.all
	f.wasIgnored = a != nil && a.ignored
	out := f.out[:0]
	if a == nil {
		return out, it.err
	}
	for _, h := range a.hits {
		cur := entry{g: h.g}
		fail := &cur
		if mlfid, ok := h.g.get(gMLFID); ok {
			fail = f.mlfid.merge(mlfid, cur, h.matched, it.now)
		} else {
			fail.matches = h.matched
		}
		ids, found := f.failureIDs(&fail.g)
		if !found {
			// F-MLFID known but no failure id yet (the match stage kept
			// no other match without an id): pending
			fail.g.set(gMLFPending, "1")
			out = append(out, f.failure(fail, it.Line, it.date, h.regex, ""))
			out[len(out)-1].Pending = true
			continue
		}
		for _, id := range ids {
			out = append(out, f.failure(fail, it.Line, it.date, h.regex, id))
		}
	}
	f.out = out
	return out, it.err
}

// itemBufMax is the most an item keeps of its line buffer from line to
// line: the daemon holds about a thousand items, and one long line each
// must not become a thousand long buffers.
const itemBufMax = 4 << 10

// minChunk is the fewest lines a worker is given: below it the goroutine
// hand-off costs more than the matching.
const minChunk = 32

// Pool runs the match stage of batches on worker goroutines, each with
// scratch buffers of its own. A Pool serves one caller goroutine at a time
// (a jail's).
type Pool struct {
	work    chan poolTask
	workers int
	yield   bool
	own     Scratch
	wg      sync.WaitGroup
}

// PoolOptions tunes a Pool.
type PoolOptions struct {
	// Yield: a worker that finishes a batch's last part while more parts
	// are queued yields its thread. The batch's owner, if it was waiting
	// for the batch, is ready on that thread, where it would otherwise run
	// only once the worker runs out of parts: with it, a jail alone on the
	// cores kept them 1.76 busy instead of 1.4-1.5. When jails outnumber
	// the cores, each yield is a switch between jails for no gain (ten
	// jails sharing a log lost a quarter of their rate with it).
	Yield bool
}

// poolTask is one part of a batch for a worker.
type poolTask struct {
	f     *Filter
	items []Item
	job   *Job
}

// Job is the match stage of one batch running on a Pool's workers.
type Job struct {
	left atomic.Int32 // parts not done yet
	done chan struct{}
}

// Done is closed once every item of the batch is matched.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait returns once every item of the batch is matched.
func (j *Job) Wait() { <-j.done }

// partDone records a part as matched and reports whether it was the
// batch's last.
func (j *Job) partDone() bool {
	if j.left.Add(-1) == 0 {
		close(j.done)
		return true
	}
	return false
}

// NewPool starts workers worker goroutines (none: batches are matched on
// the caller's goroutine alone). Close stops them.
func NewPool(workers int, o PoolOptions) *Pool {
	p := &Pool{work: make(chan poolTask, max(workers, 1)*4), workers: max(workers, 0), yield: o.Yield}
	for range p.workers {
		p.wg.Go(func() {
			var s Scratch
			for t := range p.work {
				t.f.Match(t.items, &s)
				if t.job.partDone() && p.yield && len(p.work) > 0 {
					runtime.Gosched() // see PoolOptions.Yield
				}
			}
		})
	}
	return p
}

// Close stops the workers once they finished their parts.
func (p *Pool) Close() {
	close(p.work)
	p.wg.Wait()
}

// Batch runs the dates and match stages over items, in order for the
// dates and spread over the pool's workers and the calling goroutine for
// the matching; the caller then calls f.Finish on each item in order. It
// must be called from the Filter's goroutine; a nil Pool matches on that
// goroutine alone.
func (f *Filter) Batch(items []Item, p *Pool) {
	f.Dates(items)
	if p == nil {
		var s Scratch
		f.Match(items, &s)
		return
	}
	parts := min(p.workers+1, len(items)/minChunk)
	if parts <= 1 || !f.splits() {
		f.Match(items, &p.own)
		return
	}
	size := (len(items) + parts - 1) / parts
	job := p.start(f, items[min(size, len(items)):], parts-1)
	f.Match(items[:size], &p.own)
	job.Wait()
}

// Start runs the dates stage over items on the calling goroutine (the
// Filter's) and hands their match stage to the pool's workers, so that the
// caller can finish an earlier batch meanwhile; once the returned Job is
// done, the caller calls f.Finish on each item in order. A pool without
// workers (or a nil one) matches before Start returns.
func (f *Filter) Start(items []Item, p *Pool) *Job {
	f.Dates(items)
	if p == nil || p.workers == 0 || !f.splits() || len(items) == 0 {
		var s *Scratch
		if p != nil {
			s = &p.own
		} else {
			s = new(Scratch)
		}
		f.Match(items, s)
		j := &Job{done: make(chan struct{})}
		close(j.done)
		return j
	}
	return p.start(f, items, min(p.workers, max(len(items)/minChunk, 1)))
}

// start hands items to parts workers, in parts of about equal size.
func (p *Pool) start(f *Filter, items []Item, parts int) *Job {
	j := &Job{done: make(chan struct{})}
	size := (len(items) + parts - 1) / parts
	j.left.Store(int32((len(items) + size - 1) / size))
	for k := 0; k*size < len(items); k++ {
		p.work <- poolTask{f: f, items: items[k*size : min((k+1)*size, len(items))], job: j}
	}
	return j
}
