// Package tail follows a growing log file line by line, surviving rotation.
//
// A Follower reads to the end of the file, then waits for it to grow
// (woken by inotify through fsnotify, with a polling fallback). When the
// path is renamed or deleted and created anew, the old file is read to its
// end through the open descriptor before the new one is followed from its
// start; when the file shrinks (copytruncate), it is read again from the
// start. A partial last line is held until its newline arrives.
package tail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options tune a Follower.
type Options struct {
	// FromEnd starts at the current end of the file (fail2ban's " tail"
	// logpath suffix) instead of its beginning.
	FromEnd bool
	// Poll is the longest wait between two looks at the file when no
	// inotify event arrives. Zero means 250ms.
	Poll time.Duration
	// MaxLine caps a line's length; the rest of an over-long line is
	// dropped. Zero means 64 KiB.
	MaxLine int
	// OnError is told about errors that the follower retries (file
	// missing, unreadable). It may be nil.
	OnError func(error)
}

// Follow reads path and calls fn for every complete line (without its
// newline) until ctx is done. It returns ctx's error, or an error it cannot
// retry.
func Follow(ctx context.Context, path string, o Options, fn func(line string)) error {
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 64 << 10
	}
	f := &follower{path: path, o: o, fn: fn}
	return f.run(ctx)
}

type follower struct {
	path string
	o    Options
	fn   func(string)

	file    *os.File
	ino     uint64
	offset  int64
	partial []byte
	rd      *bufio.Reader
}

func (f *follower) report(err error) {
	if f.o.OnError != nil {
		f.o.OnError(err)
	}
}

func (f *follower) run(ctx context.Context) error {
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
		if f.file != nil {
			f.file.Close()
		}
	}()

	first := true
	for {
		if f.file == nil {
			if err := f.open(first && f.o.FromEnd); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					f.report(err)
				}
			} else {
				first = false
			}
		}
		if f.file != nil {
			if err := f.drain(); err != nil {
				f.report(fmt.Errorf("reading %s: %w", f.path, err))
			}
			f.checkRotation()
		}
		t := time.NewTimer(f.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (f *follower) open(atEnd bool) error {
	file, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", f.path, err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return fmt.Errorf("stat %s: %w", f.path, err)
	}
	f.file, f.ino, f.offset = file, inode(st), 0
	f.partial = f.partial[:0]
	if atEnd {
		if f.offset, err = file.Seek(0, io.SeekEnd); err != nil {
			return fmt.Errorf("seeking %s: %w", f.path, err)
		}
	}
	f.rd = bufio.NewReaderSize(file, 64<<10)
	return nil
}

// drain reads all complete lines available now.
func (f *follower) drain() error {
	for {
		chunk, err := f.rd.ReadSlice('\n')
		f.offset += int64(len(chunk))
		if len(chunk) > 0 {
			if err == nil { // a whole line (maybe completing a partial one)
				line := chunk[:len(chunk)-1]
				if len(f.partial) > 0 {
					line = append(f.partial, line...)
					f.partial = f.partial[:0]
				}
				if len(line) > f.o.MaxLine {
					f.report(fmt.Errorf("%s: line of %d bytes cut to %d", f.path, len(line), f.o.MaxLine))
					line = line[:f.o.MaxLine]
				}
				f.fn(string(trimCR(line)))
				continue
			}
			if len(f.partial) < f.o.MaxLine {
				f.partial = append(f.partial, chunk...)
			}
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
}

// checkRotation reopens the path when it now names another file, and
// rewinds when the file was truncated.
func (f *follower) checkRotation() {
	st, err := os.Stat(f.path)
	if err == nil && inode(st) == f.ino {
		if st.Size() < f.offset { // copytruncate
			if _, err := f.file.Seek(0, io.SeekStart); err == nil {
				f.offset = 0
				f.partial = f.partial[:0]
				f.rd.Reset(f.file)
			}
		}
		return
	}
	// Renamed or deleted: what the old descriptor still has was read by
	// drain; a last read catches lines written between drain and stat.
	if err := f.drain(); err != nil {
		f.report(fmt.Errorf("reading rotated %s: %w", f.path, err))
	}
	f.file.Close()
	f.file = nil
	if err == nil {
		// The new file is read from its start.
		if err := f.open(false); err != nil {
			f.report(err)
			return
		}
		if err := f.drain(); err != nil {
			f.report(fmt.Errorf("reading %s: %w", f.path, err))
		}
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
