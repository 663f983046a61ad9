package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// collector gathers lines from a follower running in the background.
type collector struct {
	mu    sync.Mutex
	lines []string
	pos   []Position
	nl    []bool   // the line came with its newline (Line.WithNL)
	bad   []string // lines whose WithNL was not their text and newline, in place
}

func (c *collector) add(l Line) {
	text := l.Text
	var bad string
	if nl := l.WithNL; nl != "" && (nl != text+"\n" || unsafe.StringData(nl) != unsafe.StringData(text)) {
		bad = fmt.Sprintf("%q with %q", text, nl)
	}
	if l.Chunk != nil {
		// a recycled chunk: the text is copied, then the chunk released
		text = strings.Clone(text)
		l.Chunk.Release()
	}
	c.mu.Lock()
	c.lines = append(c.lines, text)
	c.pos = append(c.pos, l.Pos)
	c.nl = append(c.nl, l.WithNL != "")
	if bad != "" {
		c.bad = append(c.bad, bad)
	}
	c.mu.Unlock()
}

// last returns the position of the last line received.
func (c *collector) last() Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos[len(c.pos)-1]
}

func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		got := append([]string(nil), c.lines...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Fatalf("got %d lines %q, want %d", len(c.lines), c.lines, n)
	return nil
}

func start(t *testing.T, path string, o Options) *collector {
	t.Helper()
	c, stop := startStoppable(t, path, o)
	t.Cleanup(stop)
	return c
}

// testChunk is the Options.Chunk that start and startStoppable give
// followers whose options set none (see TestChunked).
var testChunk int

// testRecycle, with testChunk, has the followers recycle their chunks
// (Options.Chunks); the collector releases each line once it copied it.
var testRecycle bool

// startStoppable starts a follower and returns a function that stops it
// and waits until it returned.
func startStoppable(t *testing.T, path string, o Options) (*collector, func()) {
	t.Helper()
	if o.Chunk == 0 {
		o.Chunk = testChunk
	}
	if testRecycle && o.Chunk > 0 && o.Chunks == nil {
		o.Chunks = NewChunks()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, path, o, c.add) }()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != context.Canceled {
				t.Errorf("Follow returned %v, want context.Canceled", err)
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestReadsExistingThenFollows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "one\ntwo\n")
	c := start(t, path, Options{})
	c.waitFor(t, 2)
	appendTo(t, path, "thr")
	time.Sleep(50 * time.Millisecond)
	appendTo(t, path, "ee\r\nfour\n")
	got := c.waitFor(t, 4)
	if fmt.Sprint(got) != "[one two three four]" {
		t.Fatalf("lines = %q", got)
	}
}

func TestFromEndSkipsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "old\n")
	c := start(t, path, Options{FromEnd: true})
	time.Sleep(100 * time.Millisecond)
	appendTo(t, path, "new\n")
	if got := c.waitFor(t, 1); fmt.Sprint(got) != "[new]" {
		t.Fatalf("lines = %q, want only the new line", got)
	}
}

func TestFileAppearsLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.log")
	c := start(t, path, Options{Poll: 20 * time.Millisecond})
	time.Sleep(50 * time.Millisecond)
	appendTo(t, path, "hello\n")
	if got := c.waitFor(t, 1); got[0] != "hello" {
		t.Fatalf("lines = %q", got)
	}
}

func TestRotationByRenameReadsOldFileToItsEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	appendTo(t, path, "a\n")
	c := start(t, path, Options{Poll: time.Hour}) // only inotify may wake it
	c.waitFor(t, 1)
	// Keep the old file open for writing, rename it, create a new one,
	// then write a last line to the old file: it must not be lost.
	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	old.WriteString("b\n")
	old.Close()
	appendTo(t, path, "c\n")
	got := c.waitFor(t, 3)
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("lines = %q, want [a b c]", got)
	}
}

func TestDeleteAndRecreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "a\n")
	c := start(t, path, Options{Poll: 20 * time.Millisecond})
	c.waitFor(t, 1)
	os.Remove(path)
	appendTo(t, path, "b\n")
	if got := c.waitFor(t, 2); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("lines = %q", got)
	}
}

func TestCopyTruncateRewinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "a long first line\n")
	c := start(t, path, Options{Poll: 20 * time.Millisecond})
	c.waitFor(t, 1)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	appendTo(t, path, "b\n")
	if got := c.waitFor(t, 2); got[1] != "b" {
		t.Fatalf("lines = %q", got)
	}
}

func TestOverlongLineIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	long := make([]byte, 200<<10)
	for i := range long {
		long[i] = 'x'
	}
	appendTo(t, path, string(long)+"\nnext\n")
	var reported bool
	var mu sync.Mutex
	c := start(t, path, Options{MaxLine: 1000, OnError: func(error) { mu.Lock(); reported = true; mu.Unlock() }})
	got := c.waitFor(t, 2)
	if len(got[0]) != 1000 || got[1] != "next" {
		t.Fatalf("got lengths %d and %q", len(got[0]), got[1])
	}
	mu.Lock()
	defer mu.Unlock()
	if !reported {
		t.Error("over-long line not reported")
	}
}

// readN follows path with o until n lines arrived, then stops and returns
// them with the position of the last one.
func readN(t *testing.T, path string, o Options, n int) ([]string, Position) {
	t.Helper()
	c, stop := startStoppable(t, path, o)
	got := c.waitFor(t, n)
	stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) != n {
		t.Fatalf("got %d lines %q, want %d", len(c.lines), c.lines, n)
	}
	return got, c.pos[n-1]
}

// quietFor fails when the collector holds more than n lines after d.
func (c *collector) quietFor(t *testing.T, n int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) > n {
		t.Fatalf("got %d lines %q, want %d", len(c.lines), c.lines, n)
	}
}

func TestResumeAtPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "one\ntwo\npart")
	_, pos := readN(t, path, Options{}, 2)
	if pos.Offset != 8 || pos.Head == "" || pos.Inode == 0 {
		t.Fatalf("position after two lines = %+v, want offset 8 with inode and head", pos)
	}
	appendTo(t, path, "ial\nfour\n")
	c := start(t, path, Options{Start: &pos})
	if got := c.waitFor(t, 2); fmt.Sprint(got) != "[partial four]" {
		t.Fatalf("after resume: %q, want [partial four]", got)
	}
	c.quietFor(t, 2, 100*time.Millisecond)
}

func TestResumeReplacedFileFromStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "one\ntwo\n")
	_, pos := readN(t, path, Options{}, 2)
	// Same size and name, another file (deleted while nobody follows it).
	os.Remove(path)
	appendTo(t, path, "uno\ndos\ntres\n")
	c := start(t, path, Options{Start: &pos})
	if got := c.waitFor(t, 3); fmt.Sprint(got) != "[uno dos tres]" {
		t.Fatalf("after replacement: %q", got)
	}
	// Rewritten in place (same inode), first line changed: from the start.
	_, pos = readN(t, path, Options{}, 3)
	if err := os.WriteFile(path, []byte("ONE\nTWO\nTHREE\nFOUR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c = start(t, path, Options{Start: &pos})
	if got := c.waitFor(t, 4); fmt.Sprint(got) != "[ONE TWO THREE FOUR]" {
		t.Fatalf("after rewrite: %q", got)
	}
}

func TestResumeFindsRenamedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "a\nb\n")
	_, pos := readN(t, path, Options{}, 2)
	// While nobody follows: more lines, rotation by rename, a new file,
	// and an older compressed rotation that must be ignored.
	appendTo(t, path, "c\nd\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".2.gz", "junk\n")
	appendTo(t, path, "e\n")
	c := start(t, path, Options{Start: &pos})
	if got := c.waitFor(t, 3); fmt.Sprint(got) != "[c d e]" {
		t.Fatalf("after rotation while stopped: %q, want [c d e]", got)
	}
	c.quietFor(t, 3, 100*time.Millisecond)
	// A stop in the middle of the rotated file resumes there.
	c2, stop := startStoppable(t, path, Options{Start: &pos})
	c2.waitFor(t, 1)
	stop()
	mid := c2.pos[0]
	c3 := start(t, path, Options{Start: &mid})
	if got := c3.waitFor(t, 2); fmt.Sprint(got) != "[d e]" {
		t.Fatalf("resume inside the rotated file: %q, want [d e]", got)
	}
}

func TestResumeFindsCopyTruncatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "a\nb\n")
	_, pos := readN(t, path, Options{}, 2)
	appendTo(t, path, "c\n")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+"-20240101", string(data))  // logrotate's copy...
	if err := os.Truncate(path, 0); err != nil { // ...and truncate
		t.Fatal(err)
	}
	appendTo(t, path, "new 1\nnew 2\n")
	c := start(t, path, Options{Start: &pos})
	if got := c.waitFor(t, 3); fmt.Sprint(got) != "[c new 1 new 2]" {
		t.Fatalf("after copytruncate while stopped: %q", got)
	}
	c.quietFor(t, 3, 100*time.Millisecond)
}

func TestCopyTruncateWhileFollowingReadsTheCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "first\n")
	// Poll once an hour, so only inotify wakes the follower: the lines
	// written with O_APPEND through a descriptor opened before the watch
	// are seen, yet a copy and truncate done before it wakes must not
	// lose "second".
	c := start(t, path, Options{Poll: time.Hour})
	c.waitFor(t, 1)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("second\n")
	data, _ := os.ReadFile(path)
	appendTo(t, path+".1", string(data))
	f.Truncate(0)
	f.WriteString("after\n")
	got := c.waitFor(t, 3)
	if got[len(got)-1] != "after" || len(got) > 3 {
		t.Fatalf("lines = %q, want first, second, after", got)
	}
	t.Logf("lines: %q", got)
}

func TestGraceReadsRotatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "a\n")
	c := start(t, path, Options{Poll: 20 * time.Millisecond})
	c.waitFor(t, 1)
	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	os.Rename(path, path+".1")
	appendTo(t, path, "b\n")
	c.waitFor(t, 2)
	// The daemon writes once more to its old descriptor before reopening.
	old.WriteString("late\n")
	if got := c.waitFor(t, 3); fmt.Sprint(got) != "[a b late]" {
		t.Fatalf("lines = %q, want [a b late]", got)
	}
}

func TestSeekOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendTo(t, path, "old\nrecent\n")
	c := start(t, path, Options{Seek: func(*os.File) (int64, error) { return 4, nil }})
	if got := c.waitFor(t, 1); fmt.Sprint(got) != "[recent]" {
		t.Fatalf("lines = %q", got)
	}
	if p := c.last(); p.Offset != 11 {
		t.Fatalf("position %+v, want offset 11", p)
	}
}

func TestDecoder(t *testing.T) {
	in := []byte("caf\xe9 \xff ok")
	for _, tc := range []struct{ enc, want string }{
		{"auto", "caf\uFFFD \uFFFD ok"},
		{"utf-8", "caf\uFFFD \uFFFD ok"},
		{"latin-1", "café ÿ ok"},
		{"ISO-8859-1", "café ÿ ok"},
		{"iso8859-15", "café ÿ ok"},
		{"cp1252", "café ÿ ok"},
		{"ascii", "caf\uFFFD \uFFFD ok"},
	} {
		invalid := 0
		dec, err := Decoder(tc.enc, func() { invalid++ })
		if err != nil {
			t.Fatalf("%s: %v", tc.enc, err)
		}
		if got := dec(in); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.enc, got, tc.want)
		}
		if bad := tc.want != "café ÿ ok"; bad != (invalid == 1) {
			t.Errorf("%s: invalid reported %d times", tc.enc, invalid)
		}
	}
	if _, err := Decoder("no-such-charset", nil); err == nil {
		t.Error("unknown encoding accepted")
	}
	t.Setenv("LC_ALL", "de_DE.ISO-8859-1")
	dec, err := Decoder("auto", nil)
	if err != nil || dec(in) != "café ÿ ok" {
		t.Errorf("auto in a latin-1 locale: %v", err)
	}
}

// TestRotationTorture writes about 20k lines/s while rotating the file
// every quarter second alternately by rename+create and delete+recreate:
// every line arrives exactly once, in order. (A file created and rotated
// away again before the follower looks at the path at all cannot be
// seen; that takes a writer far faster than any logger.)
func TestRotationTorture(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	c := start(t, path, Options{Poll: 10 * time.Millisecond})
	const total = 60000
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < total; i++ {
		if i > 0 && i%5000 == 0 {
			if i/5000%2 == 0 {
				os.Rename(path, fmt.Sprintf("%s.%d", path, i))
			} else {
				os.Remove(path)
			}
			f.Close()
			if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(f, "line %d\n", i)
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	f.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.lines)
		c.mu.Unlock()
		if n >= total {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.quietFor(t, total, 200*time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) != total {
		t.Fatalf("got %d lines, want %d", len(c.lines), total)
	}
	for i, l := range c.lines {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
}

// TestCaughtUpAfterEachBurst: CaughtUp is called once the lines written so
// far are read, before the follower waits, so that a caller gathering
// lines never holds back one that was written.
func TestCaughtUpAfterEachBurst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	caught := make(chan int, 100) // lines seen at each CaughtUp
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{CaughtUp: func() {
		mu.Lock()
		caught <- len(seen)
		mu.Unlock()
	}}
	go Follow(ctx, path, o, func(l Line) {
		mu.Lock()
		seen = append(seen, l.Text)
		mu.Unlock()
	})
	waitCaught := func(want int) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case n := <-caught:
				if n == want {
					return
				}
			case <-deadline:
				t.Fatalf("no CaughtUp after %d lines", want)
			}
		}
	}
	waitCaught(3)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprint(f, "d\ne\n")
	waitCaught(5)
}
