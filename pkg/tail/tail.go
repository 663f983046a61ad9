// Package tail follows a growing log file line by line, surviving rotation,
// and tells for every line where the file has been read up to, so that a
// restart resumes exactly after the last line handled.
//
// A Follower reads to the end of the file, then waits for it to grow
// (woken by inotify through fsnotify, with a polling fallback). When the
// path is renamed or deleted and created anew, the old file is read to its
// end through the open descriptor before the new one is followed from its
// start; the old descriptor is then still read for a short grace period,
// for the lines a daemon writes before it reopens its log. When the file
// shrinks or its first line changes (copytruncate), what the copy holds
// beyond the lines already read is read from the copy, then the file
// again from its start. A partial last line is held until its newline
// arrives.
//
// A file is identified by its inode and a hash of its first line, as
// fail2ban does: a resume Position whose file was replaced while nobody
// followed it starts the new file from its start, after reading the rest
// of the old one when it is still found next to it under a rotated name
// (path.1, path-20240101...).
package tail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fsnotify/fsnotify"
)

// Position is how far a file has been read: the file's identity (inode and
// hash of its first line) and the offset just after the last complete line.
type Position struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
	// Head is the hash of the file's first line, "" while the file holds
	// no complete line.
	Head string `json:"head,omitempty"`
}

// Line is one complete line of the file and the position just after it.
type Line struct {
	Text string
	// WithNL, when not empty, is Text followed by the newline that ended
	// it, cut from the same memory (Text is WithNL without its last
	// byte): a consumer that wants the line with a newline need not copy
	// it. Lines cut from a chunk have it, but those changed on the way
	// (a carriage return dropped, a long line cut, invalid UTF-8
	// replaced).
	WithNL string
	Pos    Position
	// Chunk, with Options.Chunks, is the recycled buffer Text is cut from:
	// call its Release once Text is no longer used.
	Chunk *Chunk
}

// Options tune a Follower.
type Options struct {
	// Start resumes after a position saved earlier. When the file at the
	// path is no longer the one the position names, the new file is read
	// from its start (and the rest of the old one first, when it is found
	// under a rotated name).
	Start *Position
	// FromEnd starts at the current end of the file (fail2ban's " tail"
	// logpath suffix) instead of its beginning, when Start is not usable.
	FromEnd bool
	// Seek, when set and neither Start nor FromEnd applies, chooses the
	// offset of the first line to read in the file found at the first open
	// (e.g. the first line within findtime). It must return the start of a
	// line.
	Seek func(f *os.File) (int64, error)
	// Decode turns a line's bytes into text (the jail's logencoding). Nil
	// means UTF-8, invalid bytes replaced by U+FFFD.
	Decode func([]byte) string
	// Poll is the longest wait between two looks at the file when no
	// inotify event arrives. Zero means 250ms.
	Poll time.Duration
	// Grace is how long a rotated-away file is still read after the path
	// names a new one. Zero means 2s; negative means not at all.
	Grace time.Duration
	// MaxLine caps a line's length; the rest of an over-long line is
	// dropped. Zero means 64 KiB.
	MaxLine int
	// Chunk, when positive and Decode is nil, has the lines that are
	// read at once decoded together and cut from shared strings of at
	// most Chunk bytes: one allocation per chunk rather than per line.
	// A line's text then keeps its whole chunk in memory as long as it
	// is referenced: a caller that keeps some texts long (beyond
	// handling the line) must clone them (strings.Clone). Zero means a
	// string per line.
	Chunk int
	// Chunks, with Chunk, recycles the chunks' buffers: each line then
	// carries its chunk (Line.Chunk), which the caller must Release once
	// it no longer uses the line's text (a text kept longer must be
	// cloned before). A line not released only keeps its chunk from being
	// reused. Nil: every chunk is a new string.
	Chunks *Chunks
	// OnError is told about errors that the follower retries (file
	// missing, unreadable) and about lines it had to cut. It may be nil.
	OnError func(error)
	// CaughtUp, when set, is called on Follow's goroutine each time the
	// follower stops reading a file for now (at its end, or on an error),
	// before it waits for more: a caller gathering lines into batches
	// hands them on then.
	CaughtUp func()
}

// Follow reads path and calls fn for every complete line (without its
// newline) until ctx is done. It returns ctx's error, or an error it cannot
// retry. fn runs on Follow's goroutine, in file order.
func Follow(ctx context.Context, path string, o Options, fn func(Line)) error {
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 64 << 10
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Second
	}
	shared := o.Decode == nil && o.Chunk > 0
	if o.Decode == nil {
		o.Decode = DecodeUTF8
	}
	f := &follower{ctx: ctx, path: path, o: o, fn: fn, shared: shared}
	return f.run()
}

// DecodeUTF8 returns b as text, invalid UTF-8 replaced by U+FFFD.
func DecodeUTF8(b []byte) string {
	if validUTF8(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// reader is an open file being read line by line.
type reader struct {
	file     *os.File
	ino      uint64
	offset   int64 // bytes read, a partial line included
	consumed int64 // offset just after the last complete line
	partial  []byte
	rd       *bufio.Reader
	head     string // hash of the first line ("" until known)
	headLen  int    // length of the first line with its newline
	headBuf  []byte // sameHead's buffer, kept from one check to the next
}

type follower struct {
	ctx  context.Context
	path string
	o    Options
	fn   func(Line)
	// shared: the lines are cut from shared strings (Options.Chunk).
	shared bool

	cur     *reader
	pending []*reader // newer files seen at the path while cur was read
	retired *reader   // the rotated-away file, read during the grace period
	until   time.Time // end of the retired file's grace period
	watched time.Time // when the path was last looked at while draining (lagging)
}

// maxPending bounds the files opened ahead of the one being read.
const maxPending = 16

// While it drains a file, the follower looks at the path every
// watchLines lines, and no more often than every watchEvery: a stat of the
// path costs about as much as reading a thousand lines (it was 3% of the
// daemon's CPU at a stat every 256 lines), and a file rotated twice
// within watchEvery is past any logger.
const (
	watchLines = 256
	watchEvery = 5 * time.Millisecond
)

// lagWatch is called for every line read while draining: it looks at the
// path (watchPath) at the pace watchLines and watchEvery set.
func (f *follower) lagWatch(r *reader, n int) {
	if n%watchLines != 0 || r != f.cur {
		return
	}
	if now := time.Now(); now.Sub(f.watched) >= watchEvery {
		f.watched = now
		f.watchPath()
	}
}

// watchPath opens the file now at the path when it is neither the one
// being read nor one already opened ahead: when reading lags behind a
// writer that rotates quickly, every generation of the file is held open
// (a deleted one stays readable) and read in turn, none skipped.
func (f *follower) watchPath() {
	if f.cur == nil {
		return
	}
	st, err := os.Stat(f.path)
	if err != nil {
		return
	}
	ino := inode(st)
	if ino == f.cur.ino || len(f.pending) > 0 && f.pending[len(f.pending)-1].ino == ino {
		return
	}
	if len(f.pending) >= maxPending {
		f.report(fmt.Errorf("%s: rotated more than %d times while reading lagged; skipping a file", f.path, maxPending))
		f.pending[0].file.Close()
		f.pending = f.pending[1:]
	}
	r, err := f.openReader(f.path)
	if err != nil || r.ino != ino {
		if err == nil {
			r.file.Close()
		}
		return
	}
	f.pending = append(f.pending, r)
}

func (f *follower) report(err error) {
	if f.o.OnError != nil {
		f.o.OnError(err)
	}
}

func (f *follower) run() error {
	wake := make(chan struct{}, 1)
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		if err := w.Add(filepath.Dir(f.path)); err != nil {
			f.report(fmt.Errorf("watching %s: %w (polling instead)", filepath.Dir(f.path), err))
		}
		go func() {
			name := filepath.Clean(f.path)
			for {
				select {
				case ev, ok := <-w.Events:
					if !ok {
						return
					}
					if filepath.Clean(ev.Name) == name {
						select {
						case wake <- struct{}{}:
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
	defer func() {
		for _, r := range append([]*reader{f.cur, f.retired}, f.pending...) {
			if r != nil {
				r.file.Close()
			}
		}
	}()

	first := true
	for {
		if f.cur == nil {
			err := f.open(first)
			switch {
			case err == nil:
				first = false
			case errors.Is(err, os.ErrNotExist):
				if first && f.o.Start != nil {
					// The file is gone: read what its rotated copy
					// holds beyond the saved position, once.
					f.recover(*f.o.Start, nil)
					f.o.Start = nil
				}
				// A file that appears later is new: all of it is read.
				first = false
			default:
				f.report(err)
			}
		}
		// The rotated-away file first: its lines are the older ones.
		if f.retired != nil {
			if err := f.drain(f.retired, false); err != nil || time.Now().After(f.until) {
				f.retired.file.Close()
				f.retired = nil
			}
		}
		if f.cur != nil {
			if err := f.drain(f.cur, true); err != nil && !errors.Is(err, errRewritten) {
				f.report(fmt.Errorf("reading %s: %w", f.path, err))
			}
			f.checkRotation()
		}
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		t := time.NewTimer(f.o.Poll)
		select {
		case <-f.ctx.Done():
			t.Stop()
			return f.ctx.Err()
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// openReader opens the file at path for reading from its start.
func (f *follower) openReader(path string) (*reader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	r := &reader{file: file, ino: inode(st)}
	r.rd = bufio.NewReaderSize(checked{r}, 64<<10)
	r.identify(f.o.MaxLine)
	return r, nil
}

// errRewritten is returned by reads of a file whose first line changed
// since it was opened: it was truncated and written anew (copytruncate).
var errRewritten = errors.New("file rewritten from its start")

// checked reads r's file, first making sure that the file still starts
// with the first line seen: reading on at the old offset in a truncated
// file that grew again would deliver the middle of the new content.
type checked struct{ r *reader }

func (c checked) Read(p []byte) (int, error) {
	if !c.r.sameHead() {
		return 0, errRewritten
	}
	return c.r.file.Read(p)
}

// seek moves r to off, which starts a line.
func (r *reader) seek(off int64) error {
	if _, err := r.file.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("seeking %s: %w", r.file.Name(), err)
	}
	r.offset, r.consumed = off, off
	r.partial = r.partial[:0]
	r.rd.Reset(checked{r})
	return nil
}

// open opens the path; at the first open it places the reader at the
// resume position, the end, or where Seek says.
func (f *follower) open(first bool) error {
	r, err := f.openReader(f.path)
	if err != nil {
		return err
	}
	f.cur = r
	if !first {
		return nil
	}
	st, err := r.file.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.path, err)
	}
	if s := f.o.Start; s != nil {
		f.o.Start = nil
		if s.Inode == r.ino && st.Size() >= s.Offset && (s.Head == r.head || s.Offset == 0) {
			return r.seek(s.Offset)
		}
		// Another file now: the old one's rest first, if it is found.
		f.recover(*s, r)
		return nil
	}
	var off int64
	switch {
	case f.o.FromEnd:
		off = st.Size()
		// From the end of the last complete line.
		if off > 0 {
			for off > 0 {
				b := make([]byte, min(off, 4096))
				n, _ := r.file.ReadAt(b, off-int64(len(b)))
				if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
					off = off - int64(len(b)) + int64(i) + 1
					break
				}
				off -= int64(len(b))
			}
		}
	case f.o.Seek != nil:
		if off, err = f.o.Seek(r.file); err != nil {
			f.report(fmt.Errorf("%s: finding where to start: %w (reading from the start)", f.path, err))
			off = 0
		}
	}
	return r.seek(off)
}

// recover reads what a rotated copy of the file that p describes holds
// beyond p, looking in the path's directory for a file with p's inode or
// first line that is long enough. cur, when set, is the file now at the
// path, which is not the copy.
func (f *follower) recover(p Position, cur *reader) {
	if p.Head == "" && p.Offset > 0 {
		return
	}
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type cand struct {
		path string
		mod  time.Time
	}
	var cands []cand
	for _, e := range ents {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, base) || !e.Type().IsRegular() {
			continue
		}
		if sep := n[len(base)]; sep != '.' && sep != '-' && sep != '_' {
			continue
		}
		switch filepath.Ext(n) {
		case ".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip":
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() < p.Offset {
			continue
		}
		cands = append(cands, cand{filepath.Join(dir, n), info.ModTime()})
	}
	sort.Slice(cands, func(i, k int) bool { return cands[i].mod.After(cands[k].mod) })
	for _, c := range cands {
		r, err := f.openReader(c.path)
		if err != nil {
			continue
		}
		same := r.ino == p.Inode && (p.Head == "" || r.head == p.Head)
		if cur == nil || r.ino != cur.ino {
			same = same || p.Head != "" && r.head == p.Head
		}
		if !same || r.seek(p.Offset) != nil {
			r.file.Close()
			continue
		}
		// The lines carry positions in the old file, so that a restart
		// in the middle of them finds the copy again and goes on there.
		if err := f.drainAs(r, p); err != nil {
			f.report(fmt.Errorf("reading rotated %s: %w", c.path, err))
		}
		r.file.Close()
		return
	}
}

// posFrom says which position readLines gives the lines it delivers.
type posFrom int

const (
	// ownPos: the reader's own position after the line.
	ownPos posFrom = iota
	// continuedPos: the offset after the line in the reader, with the
	// inode and head of the position the reader continues.
	continuedPos
	// currentPos: the current file's last position, which the line does
	// not move.
	currentPos
)

// drainAs reads r's complete lines, delivered with positions relative to p
// (the position r continues).
func (f *follower) drainAs(r *reader, p Position) error {
	return f.readLines(r, continuedPos, p)
}

// drain reads all complete lines available now in r. Lines of the current
// file carry their own position; lines of the retired file carry the
// current file's last position, which they do not move.
func (f *follower) drain(r *reader, current bool) error {
	if current {
		return f.readLines(r, ownPos, Position{})
	}
	return f.readLines(r, currentPos, Position{})
}

// readLines reads r's complete lines available now and hands each to fn
// with the position from says (p is the position continued, for
// continuedPos); it stops early when the context is done.
func (f *follower) readLines(r *reader, from posFrom, p Position) error {
	if f.o.CaughtUp != nil {
		defer f.o.CaughtUp()
	}
	decode, maxLine, shared := f.o.Decode, f.o.MaxLine, f.shared
	n := 0
	for f.ctx.Err() == nil {
		if shared && len(r.partial) == 0 && r.head != "" && r.rd.Buffered() > 0 {
			if k, ok := f.readChunk(r, from, p, n); ok {
				n = k
				continue
			}
		}
		n++
		f.lagWatch(r, n)
		chunk, err := r.rd.ReadSlice('\n')
		r.offset += int64(len(chunk))
		if err == nil { // a whole line (maybe completing a partial one)
			line := chunk[:len(chunk)-1]
			if len(r.partial) > 0 {
				line = append(r.partial, line...)
				r.partial = r.partial[:0]
			}
			r.consumed = r.offset
			if r.head == "" {
				r.identify(maxLine)
			}
			if len(line) > maxLine {
				f.report(fmt.Errorf("%s: line of %d bytes cut to %d", r.file.Name(), len(line), maxLine))
				line = line[:maxLine]
			}
			if k := len(line); k > 0 && line[k-1] == '\r' {
				line = line[:k-1]
			}
			f.fn(Line{Text: decode(line), Pos: f.posOf(r, from, p)})
			continue
		}
		if len(chunk) > 0 && len(r.partial) < maxLine {
			r.partial = append(r.partial, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
	return nil
}

// readChunk hands on, as readLines does, the complete lines at the start of
// what r has buffered (within its first Options.Chunk bytes), cut from one
// string, and returns readLines' count of lines n with them added. It
// reports false when no complete line is buffered there. It is used with
// UTF-8 decoding only, at a line start (no partial line), once r's first
// line is known.
func (f *follower) readChunk(r *reader, from posFrom, p Position, n int) (int, bool) {
	buf, _ := r.rd.Peek(min(r.rd.Buffered(), f.o.Chunk))
	end := bytes.LastIndexByte(buf, '\n') + 1
	if end == 0 {
		return n, false
	}
	valid := validUTF8(buf[:end])
	var c *Chunk // the recycled chunk the lines are cut from (nil: a new string)
	var s string
	cut := 0 // lines cut, of held
	if f.o.Chunks != nil {
		c, s = f.o.Chunks.fill(buf[:end])
		// one reference per line, taken at once (an atomic addition per
		// chunk rather than per line); those of lines not cut, when the
		// context ends the cutting, and the follower's own go back once
		// the lines are cut
		held := bytes.Count(buf[:end], []byte{'\n'})
		c.holdN(held)
		defer func() { c.ReleaseN(held - cut + 1) }()
	} else {
		s = string(buf[:end])
	}
	used := 0
	for used < len(s) {
		// the context is looked at every ctxLines lines, not per line: a
		// cancelable context's Err takes a lock
		if cut%ctxLines == 0 && f.ctx.Err() != nil {
			break
		}
		n++
		f.lagWatch(r, n)
		k := strings.IndexByte(s[used:], '\n')
		withNL := s[used : used+k+1]
		line := withNL[:k]
		used += k + 1
		r.offset += int64(k + 1)
		r.consumed = r.offset
		check := !valid
		if len(line) > f.o.MaxLine {
			f.report(fmt.Errorf("%s: line of %d bytes cut to %d", r.file.Name(), len(line), f.o.MaxLine))
			line, check = line[:f.o.MaxLine], true // maybe within a character
		}
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		if check && !utf8.ValidString(line) {
			line = strings.ToValidUTF8(line, "\uFFFD")
			withNL = ""
		}
		if len(line) != k {
			withNL = "" // cut: no longer followed by the newline
		}
		cut++
		f.fn(Line{Text: line, WithNL: withNL, Chunk: c, Pos: f.posOf(r, from, p)})
	}
	r.rd.Discard(used)
	return n, true
}

// ctxLines is how many lines readChunk cuts between two looks at its
// context.
const ctxLines = 64

// posOf is the position after the line of r just read, as from says (p
// is the position continued, for continuedPos).
func (f *follower) posOf(r *reader, from posFrom, p Position) Position {
	switch from {
	case ownPos:
		return Position{Inode: r.ino, Offset: r.consumed, Head: r.head}
	case continuedPos:
		return Position{Inode: p.Inode, Offset: r.consumed, Head: p.Head}
	}
	if c := f.cur; c != nil {
		return Position{Inode: c.ino, Offset: c.consumed, Head: c.head}
	}
	return Position{}
}

// identify computes the hash of r's first line, when the file has one.
func (r *reader) identify(maxLine int) {
	h, n, ok := headOf(r.file, maxLine)
	if ok {
		r.head, r.headLen = h, n
	}
}

// headOf hashes the first line of file (at most maxLine bytes of it) and
// returns its length with the newline; ok is false while the file holds
// no complete line.
func headOf(file *os.File, maxLine int) (string, int, bool) {
	buf := make([]byte, 0, 512)
	for len(buf) <= maxLine {
		chunk := make([]byte, min(4096, maxLine+1-len(buf)))
		n, err := file.ReadAt(chunk, int64(len(buf)))
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			buf = append(buf, chunk[:i+1]...)
			sum := sha256.Sum256(buf)
			return hex.EncodeToString(sum[:12]), len(buf), true
		}
		buf = append(buf, chunk[:n]...)
		if err != nil || n == 0 {
			return "", 0, false
		}
	}
	// A first line longer than maxLine: its first maxLine bytes.
	sum := sha256.Sum256(buf[:maxLine])
	return hex.EncodeToString(sum[:12]), maxLine, true
}

// sameHead reports whether r's file still starts with the first line seen.
func (r *reader) sameHead() bool {
	if r.head == "" {
		return true
	}
	if cap(r.headBuf) < r.headLen {
		r.headBuf = make([]byte, r.headLen)
	}
	b := r.headBuf[:r.headLen]
	if n, _ := r.file.ReadAt(b, 0); n < len(b) {
		return false
	}
	sum := sha256.Sum256(b)
	var h [24]byte
	hex.Encode(h[:], sum[:12])
	return string(h[:]) == r.head
}

// checkRotation follows the path to the file it now names, and rewinds
// when the file was truncated or rewritten (copytruncate).
func (f *follower) checkRotation() {
	for f.cur != nil && f.ctx.Err() == nil {
		if !f.nextFile() {
			return
		}
	}
}

// nextFile handles a rotation of the current file, if there was one, and
// reports whether it moved to another file (which may be rotated too).
func (f *follower) nextFile() bool {
	r := f.cur
	st, err := os.Stat(f.path)
	if err == nil && inode(st) == r.ino && len(f.pending) == 0 {
		if st.Size() >= r.offset && r.sameHead() {
			return false
		}
		// Copied and truncated: the copy has what was written after the
		// last read and before the copy; then the file from its start.
		p := Position{Inode: r.ino, Offset: r.consumed, Head: r.head}
		if err := r.seek(0); err != nil {
			f.report(err)
			return false
		}
		for {
			// The generation now in the file; reading the copy may take
			// long enough for it to be copied and truncated too: then
			// its copy is read next, from its start.
			r.head, r.headLen = "", 0
			r.identify(f.o.MaxLine)
			next := r.head
			f.recover(p, nil)
			r.head, r.headLen = "", 0
			r.identify(f.o.MaxLine)
			if next == "" || r.head == next || f.ctx.Err() != nil {
				break
			}
			p = Position{Inode: r.ino, Head: next}
		}
		if err := f.drain(r, true); err != nil && !errors.Is(err, errRewritten) {
			f.report(fmt.Errorf("reading %s: %w", f.path, err))
		}
		return false
	}
	// Renamed or deleted: what the old descriptor still has was read by
	// drain; a last read catches lines written between drain and stat.
	if err := f.drain(r, true); err != nil {
		f.report(fmt.Errorf("reading rotated %s: %w", f.path, err))
	}
	if f.retired != nil {
		f.retired.file.Close()
		f.retired = nil
	}
	if f.o.Grace > 0 {
		f.retired, f.until = r, time.Now().Add(f.o.Grace)
	} else {
		r.file.Close()
	}
	f.cur = nil
	// The next file, opened ahead or now, is read from its start.
	switch {
	case len(f.pending) > 0:
		f.cur, f.pending = f.pending[0], f.pending[1:]
	case err == nil:
		if err := f.open(false); err != nil {
			f.report(err)
			return false
		}
	default:
		return false
	}
	if err := f.drain(f.cur, true); err != nil && !errors.Is(err, errRewritten) {
		f.report(fmt.Errorf("reading %s: %w", f.path, err))
	}
	return true
}

func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
