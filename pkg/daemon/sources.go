package daemon

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/f2bd/f2bd/pkg/position"
	"github.com/f2bd/f2bd/pkg/tail"
)

// flushEvery is how often moved positions are written to the state
// directory while f2bd runs (and once more on stop).
const flushEvery = time.Second

// reglobEvery is how often logpath patterns are globbed again besides the
// directory events that trigger it (patterns whose directories hold
// wildcards cannot be watched).
const reglobEvery = 10 * time.Second

// lineChunk, when positive, has the followers of UTF-8 logs cut the lines
// they read at once from shared strings of up to lineChunk bytes
// (tail.Options.Chunk): one allocation per chunk instead of one per line,
// which also spares the garbage collector many small objects. A line's
// text then keeps its whole chunk alive while it is referenced, so what
// keeps line texts beyond the handling of their batch copies them:
// pkg/filter's Failure.Line (kept by the failure counter for findtime and
// passed on in ban decisions' Matches) and the lines a maxlines > 1
// filter buffers. Group values and matched lines are cut from the
// filter's own copy of a matching line. The chunks' buffers are recycled
// (tail.Options.Chunks): a jail releases its lines once it finished their
// batch, and the follower then cuts new lines from them.
const lineChunk = 4096

// sources runs every source of every jail: one follower per log file and
// jail, one journal reader per journal shared by the jails that read it.
// Each line carries what it moves (a file offset, a journal cursor) and the
// jail acknowledges it once handled; positions are saved from the
// acknowledgements only, so a restart resumes after the last line a jail
// actually counted.
//
// On stop the sources end first; each jail then handles what they sent
// before it returns, and the final positions are written: nothing read is
// lost, nothing is read twice.
type sources struct {
	log   *zap.Logger
	store *position.Store
	jails []*running
	hubs  []*journalHub
	now   func() time.Time
	wg    sync.WaitGroup // the goroutines that send lines
}

// startSources opens the positions file in stateDir and starts the
// sources of jails. A source that fails is logged and retried; it never
// stops the other jails.
func startSources(ctx context.Context, stateDir string, jails []*running, now func() time.Time, log *zap.Logger) *sources {
	store, err := position.Open(filepath.Join(stateDir, position.FileName))
	if err != nil {
		log.Error("log positions", zap.Error(err))
	}
	s := &sources{log: log, store: store, jails: jails, now: now}
	var journalJails []*running
	for _, r := range jails {
		if r.usesJournal() {
			journalJails = append(journalJails, r)
			continue
		}
		s.startFiles(ctx, r)
	}
	s.hubs = newJournalHubs(journalJails, store, now, log)
	for _, h := range s.hubs {
		s.wg.Go(func() { h.run(ctx) })
	}
	return s
}

// run saves positions every flushEvery until ctx is done, then waits for
// the sources to end and the jails to handle what they sent, and saves the
// final positions.
func (s *sources) run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flush()
			continue
		case <-ctx.Done():
		}
		break
	}
	s.wg.Wait()
	for _, r := range s.jails {
		close(r.lines)
	}
	for _, r := range s.jails {
		<-r.done
		st := r.j.Stats()
		s.log.Info("jail stopped", zap.String("jail", r.j.Name()),
			zap.Int64("total_failed", st.TotalFailed), zap.Int64("total_banned", st.TotalBanned))
	}
	s.flush()
	s.log.Info("log positions saved", zap.String("file", s.store.Path()))
}

// flush writes the positions that moved.
func (s *sources) flush() {
	for _, h := range s.hubs {
		h.commit()
	}
	if err := s.store.Flush(); err != nil {
		s.log.Error("saving log positions", zap.Error(err))
	}
}

// fileFollower is one jail's follower of one log file; it records the
// positions the jail acknowledges.
type fileFollower struct {
	jail, path string
	store      *position.Store
	now        func() time.Time
}

func (f *fileFollower) ack(l *line) {
	f.store.SetFile(f.jail, f.path, position.File{Inode: l.pos.Inode, Head: l.pos.Head,
		Offset: l.pos.Offset, Updated: f.now()})
}

// startFiles starts the followers of a jail's logpaths. A pattern with
// wildcards is globbed again when its directory changes (and every
// reglobEvery), and files that appear later are followed from their start.
func (s *sources) startFiles(ctx context.Context, r *running) {
	c := r.j.Config
	log := s.log.With(zap.String("jail", c.Name))
	decode, err := tail.Decoder(c.LogEncoding, nil)
	if err != nil {
		log.Error("logencoding; reading the logs as UTF-8", zap.Error(err))
		decode = tail.DecodeUTF8
	}
	seek := findtimeSeeker(c, s.now, log)
	for _, lp := range c.LogPaths {
		if !strings.ContainsAny(lp.Pattern, "*?[") {
			if _, err := os.Stat(lp.Pattern); err != nil {
				log.Warn("log file does not exist yet; waiting for it", zap.String("logpath", lp.Pattern))
			}
			s.follow(ctx, r, lp.Pattern, lp.Tail, true, decode, seek, log)
			continue
		}
		if _, err := filepath.Match(lp.Pattern, ""); err != nil {
			log.Error("bad logpath pattern", zap.String("logpath", lp.Pattern), zap.Error(err))
			continue
		}
		s.wg.Go(func() { s.glob(ctx, r, lp.Pattern, lp.Tail, decode, seek, log) })
	}
}

// follow starts the follower of one file. initial is set for files found
// at start: with no saved position they start at the end (tail) or within
// findtime; files found later are read from their start.
func (s *sources) follow(ctx context.Context, r *running, path string, fromEnd, initial bool,
	decode func([]byte) string, seek func(*os.File) (int64, error), log *zap.Logger) {
	r.addFile(path)
	ff := &fileFollower{jail: r.j.Name(), path: path, store: s.store, now: s.now}
	opts := tail.Options{
		Decode:  decode,
		OnError: func(err error) { log.Warn("log file", zap.String("file", path), zap.Error(err)) },
	}
	if lineChunk > 0 && tail.IsUTF8(r.j.Config.LogEncoding) {
		opts.Decode, opts.Chunk, opts.Chunks = nil, lineChunk, tail.NewChunks()
	}
	if p, ok := s.store.File(ff.jail, path); ok {
		opts.Start = &tail.Position{Inode: p.Inode, Offset: p.Offset, Head: p.Head}
	} else if initial {
		opts.FromEnd, opts.Seek = fromEnd, seek
	}
	s.wg.Go(func() {
		b := newBatcher(r, ctx.Done())
		defer b.stop()
		err := followFile(ctx, b, path, opts, ff)
		if err != nil && ctx.Err() == nil {
			log.Error("log file follower stopped", zap.String("file", path), zap.Error(err))
		}
	})
}

// followFile follows path with opts until ctx is done, and hands its lines,
// to be acknowledged to ack, to b. The lines are written in place in the
// batch being gathered, which is handed on at most gather lines at a time,
// and whenever the follower has read what there is.
func followFile(ctx context.Context, b *batcher, path string, opts tail.Options, ack acker) error {
	opts.CaughtUp = b.handOn
	err := tail.Follow(ctx, path, opts, func(tl tail.Line) {
		if l := b.next(); l != nil {
			l.text, l.withNL, l.chunk, l.ack, l.pos = tl.Text, tl.WithNL, tl.Chunk, ack, tl.Pos
			b.written()
		}
	})
	b.handOn()
	return err
}

// glob follows the files matching pattern, now and as they appear.
func (s *sources) glob(ctx context.Context, r *running, pattern string, fromEnd bool,
	decode func([]byte) string, seek func(*os.File) (int64, error), log *zap.Logger) {
	seen := map[string]bool{}
	scan := func(initial bool) {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if seen[p] {
				continue
			}
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			seen[p] = true
			if !initial {
				log.Info("new log file matches logpath", zap.String("logpath", pattern), zap.String("file", p))
			}
			s.follow(ctx, r, p, fromEnd, initial, decode, seek, log)
		}
	}
	scan(true)
	if len(seen) == 0 {
		log.Warn("logpath matches no file yet; watching for one", zap.String("logpath", pattern))
	}
	events := make(chan struct{}, 1)
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		dir := staticDir(pattern)
		if err := w.Add(dir); err != nil {
			log.Warn("cannot watch logpath directory; globbing every 10s", zap.String("dir", dir), zap.Error(err))
		}
		go func() {
			for {
				select {
				case ev, ok := <-w.Events:
					if !ok {
						return
					}
					if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) {
						select {
						case events <- struct{}{}:
						default:
						}
					}
				case _, ok := <-w.Errors:
					if !ok {
						return
					}
				}
			}
		}()
	}
	t := time.NewTicker(reglobEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
		case <-t.C:
		}
		scan(false)
	}
}

// staticDir is the deepest directory of pattern without wildcards.
func staticDir(pattern string) string {
	dir := filepath.Dir(pattern)
	for strings.ContainsAny(dir, "*?[") {
		dir = filepath.Dir(dir)
	}
	return dir
}

// addFile records a followed file for status.
func (r *running) addFile(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.files, path) {
		r.files = append(r.files, path)
	}
}

// fileList returns the followed files.
func (r *running) fileList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files)
}
