package tail

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	defer func() { testChunk = 0 }()
	for _, chunk := range []int{16, 4096} {
		for _, tc := range tests {
			t.Run(fmt.Sprint(chunk, "/", tc.name), func(t *testing.T) {
				testChunk = chunk
				tc.fn(t)
			})
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
	for _, chunk := range []int{1, 2, 7, 64, 333, 4096, 1 << 20} {
		got := read(chunk)
		for i := range want.lines {
			if got.lines[i] != want.lines[i] || got.pos[i] != want.pos[i] {
				t.Fatalf("chunk %d: line %d is %q at %+v, want %q at %+v", chunk, i, got.lines[i], got.pos[i], want.lines[i], want.pos[i])
			}
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
