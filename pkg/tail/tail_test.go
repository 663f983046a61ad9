package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// collector gathers lines from a follower running in the background.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) add(l string) { c.mu.Lock(); c.lines = append(c.lines, l); c.mu.Unlock() }

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
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, path, o, c.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	})
	return c
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
