package tail

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestChunked runs the follower's tests again with lines cut from shared
// strings (Options.Chunk): chunks smaller than most lines, and larger.
func TestChunked(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"ReadsExistingThenFollows", TestReadsExistingThenFollows},
		{"FromEndSkipsExisting", TestFromEndSkipsExisting},
		{"FileAppearsLater", TestFileAppearsLater},
		{"RotationByRenameReadsOldFileToItsEnd", TestRotationByRenameReadsOldFileToItsEnd},
		{"DeleteAndRecreate", TestDeleteAndRecreate},
		{"CopyTruncateRewinds", TestCopyTruncateRewinds},
		{"OverlongLineIsCut", TestOverlongLineIsCut},
		{"ResumeAtPosition", TestResumeAtPosition},
		{"ResumeReplacedFileFromStart", TestResumeReplacedFileFromStart},
		{"ResumeFindsRenamedFile", TestResumeFindsRenamedFile},
		{"ResumeFindsCopyTruncatedFile", TestResumeFindsCopyTruncatedFile},
		{"CopyTruncateWhileFollowingReadsTheCopy", TestCopyTruncateWhileFollowingReadsTheCopy},
		{"GraceReadsRotatedFile", TestGraceReadsRotatedFile},
		{"SeekOption", TestSeekOption},
	}
	defer func() { testChunk, testRecycle = 0, false }()
	for _, recycle := range []bool{false, true} {
		for _, chunk := range []int{16, 4096} {
			for _, tc := range tests {
				t.Run(fmt.Sprint(chunk, "/recycle=", recycle, "/", tc.name), func(t *testing.T) {
					testChunk, testRecycle = chunk, recycle
					tc.fn(t)
				})
			}
		}
	}
	t.Run("4096/RotationTorture", func(t *testing.T) {
		testChunk = 4096
		TestRotationTorture(t)
	})
}

// TestChunkedSameLines: with any Options.Chunk, the follower hands on the
// same texts at the same positions as with a string per line, over lines
// of every kind: empty, CRLF, UTF-8, invalid UTF-8, over-long (cut within
// a character too), and a last line written in two parts.
func TestChunkedSameLines(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "Failed password for root from 192.0.2.1", " ", "\r", "é", "日本", "\xff", "\xc3", "\xe6\x97", "x\r\n"}
	var sb strings.Builder
	for range 3000 {
		for k := rnd.IntN(12); k > 0; k-- {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		if rnd.IntN(50) == 0 {
			sb.WriteString(strings.Repeat("é", 40+rnd.IntN(20))) // over MaxLine
		}
		sb.WriteString("\n")
	}
	total := strings.Count(sb.String(), "\n")
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(sb.String()+"par"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(chunk int) *collector {
		c, stop := startStoppable(t, path, Options{Chunk: chunk, MaxLine: 75, Poll: 10 * time.Millisecond})
		defer stop()
		c.waitFor(t, total)
		c.quietFor(t, total, 20*time.Millisecond)
		return c
	}
	want := read(0)
	raw := strings.Split(sb.String(), "\n")
	for _, chunk := range []int{1, 2, 7, 64, 333, 4096, 1 << 20} {
		got := read(chunk)
		if len(got.bad) > 0 {
			t.Fatalf("chunk %d: %d lines with a wrong WithNL, the first %s", chunk, len(got.bad), got.bad[0])
		}
		withNL, same := 0, 0
		for i := range want.lines {
			if got.lines[i] != want.lines[i] || got.pos[i] != want.pos[i] {
				t.Fatalf("chunk %d: line %d is %q at %+v, want %q at %+v", chunk, i, got.lines[i], got.pos[i], want.lines[i], want.pos[i])
			}
			// WithNL only for a line read as it is in the file (not cut,
			// no carriage return dropped, no invalid UTF-8 replaced)
			if raw[i] == got.lines[i] {
				same++
			}
			if got.nl[i] {
				withNL++
				if raw[i] != got.lines[i] {
					t.Fatalf("chunk %d: line %d %q has WithNL, but the file has %q", chunk, i, got.lines[i], raw[i])
				}
			}
		}
		// with chunks larger than the lines, nearly every line read as
		// written comes with its newline (not those read past a chunk's
		// end, one string each)
		if chunk >= 4096 && withNL < same*9/10 {
			t.Fatalf("chunk %d: %d of %d lines read as written have WithNL", chunk, withNL, same)
		}
	}
	// The partial last line, completed while a chunked follower runs.
	c, stop := startStoppable(t, path, Options{Chunk: 4096, MaxLine: 75})
	defer stop()
	c.waitFor(t, total)
	appendTo(t, path, "tial\r\nnext\n")
	if got := c.waitFor(t, total+2); got[total] != "partial" || got[total+1] != "next" {
		t.Fatalf("got %q after the partial line", got[total:])
	}
	if p := c.last(); p.Offset != int64(sb.Len()+len("partial\r\nnext\n")) {
		t.Fatalf("position %+v after the last line, want offset %d", p, sb.Len()+len("partial\r\nnext\n"))
	}
}

// TestChunksRecycled: with Options.Chunks, a line's text stays as read
// while the line is held, however much more the follower reads, and the
// chunks of released lines are reused (few buffers for many chunks).
func TestChunksRecycled(t *testing.T) {
	var sb strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&sb, "line %d of the log, with some text to fill a chunk\n", i)
	}
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type held struct {
		l    Line
		want string
	}
	var keep []held // every 100th line, released at the end
	bufs := map[*byte]bool{}
	n, plain := 0, 0
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, Options{Chunk: 512, Chunks: NewChunks()}, func(l Line) {
			if l.Chunk == nil {
				plain++ // a line read on its own (the file's first one)
			} else {
				bufs[unsafe.SliceData(l.Chunk.buf)] = true
			}
			if want := fmt.Sprintf("line %d of the log, with some text to fill a chunk", n); l.Text != want {
				t.Errorf("line %d: %q, want %q", n, l.Text, want)
			}
			if n%100 == 0 {
				keep = append(keep, held{l, strings.Clone(l.Text)})
			} else {
				l.Chunk.Release()
			}
			if n++; n == 5000 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
	}
	if n != 5000 || plain > 10 {
		t.Fatalf("%d lines, %d of them without a chunk; want 5000, nearly all in chunks", n, plain)
	}
	for _, h := range keep {
		if h.l.Text != h.want {
			t.Errorf("held line %q changed to %q", h.want, h.l.Text)
		}
		h.l.Chunk.Release()
	}
	// about 430 chunks of 512 bytes were read; each held line pins one
	if len(bufs) > 2*len(keep)+20 {
		t.Errorf("%d buffers for %d held lines: chunks are not reused", len(bufs), len(keep))
	}
	if len(bufs) < len(keep) {
		t.Errorf("%d buffers for %d held lines in distinct chunks", len(bufs), len(keep))
	}
}

// TestChunkReleaseN: references given back in runs (ReleaseN, the
// daemon's way for a batch's lines of one chunk) recycle the chunk when
// the last one goes, not before, and one too many panics.
func TestChunkReleaseN(t *testing.T) {
	cs := NewChunks()
	cs.Poison = true // a recycled chunk's bytes turn to 0xff
	c, text := cs.fill([]byte("a\nb\nc\n"))
	c.holdN(3) // the three lines; fill's reference is the cutter's
	c.ReleaseN(2)
	c.Release() // the cutter's
	if text != "a\nb\nc\n" {
		t.Fatalf("chunk recycled with a line still held: %q", text)
	}
	c.ReleaseN(1)
	if text == "a\nb\nc\n" {
		t.Fatal("chunk not recycled once every line was released")
	}
	c2, _ := cs.fill([]byte("d\n"))
	c2.holdN(1)
	c2.ReleaseN(0) // nothing
	c2.ReleaseN(2)
	defer func() {
		if recover() == nil {
			t.Error("a reference released twice did not panic")
		}
	}()
	c2.ReleaseN(1)
}
