package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/f2bd/f2bd/pkg/tail"
)

// jailSink takes the batches of r like a jail, slowly when delay is set,
// and returns them once r.lines is closed.
func jailSink(r *running, delay time.Duration) <-chan [][]line {
	out := make(chan [][]line, 1)
	go func() {
		var got [][]line
		for ls := range r.lines {
			got = append(got, ls)
			time.Sleep(delay)
		}
		out <- got
	}()
	return out
}

// checkBatches checks that batches hold want's lines in order, none empty
// or over size, and returns how many there were.
func checkBatches(t *testing.T, batches [][]line, want []string, size int) int {
	t.Helper()
	i := 0
	for _, ls := range batches {
		if len(ls) == 0 || len(ls) > size {
			t.Fatalf("batch of %d lines", len(ls))
		}
		for _, l := range ls {
			if i >= len(want) || l.text != want[i] {
				t.Fatalf("line %d is %q, want %q", i, l.text, want[min(i, len(want)-1)])
			}
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("got %d lines, want %d", i, len(want))
	}
	return len(batches)
}

// TestBatcherNextInPlace: lines written in place through next reach the
// jail in order, in batches of at most the jail's batch size (the default,
// and the smaller one of jails that share the cores); a busy jail gets
// full batches, and stop hands on the last lines.
func TestBatcherNextInPlace(t *testing.T) {
	for _, c := range []struct {
		delay time.Duration
		size  int
	}{{0, 0}, {2 * time.Millisecond, 0}, {2 * time.Millisecond, lineBatchFor(10, 2)}} {
		delay := c.delay
		r := &running{lines: make(chan []line, 1), lineBatch: c.size}
		sink := jailSink(r, delay)
		b := newBatcher(r, nil)
		var want []string
		for i := range 5000 {
			l := b.next()
			l.text = fmt.Sprint("line ", i)
			b.written()
			want = append(want, l.text)
			if i%1000 == 999 {
				b.handOn() // caught up
			}
		}
		// The journal's way after in-place lines keeps the order.
		for i := range 10 {
			b.add(line{text: fmt.Sprint("added ", i)})
			want = append(want, fmt.Sprint("added ", i))
		}
		l := b.next()
		l.text = "last"
		b.written()
		want = append(want, "last")
		b.stop()
		close(r.lines)
		n := checkBatches(t, <-sink, want, r.batchSize())
		if delay > 0 && n > len(want)/r.batchSize()+10 {
			t.Errorf("busy jail: %d batches of at most %d for %d lines", n, r.batchSize(), len(want))
		}
	}
}

// TestBatcherNextGivesUp: while the jail takes nothing, next waits once
// the batch is full, and returns nil when giveUp is closed.
func TestBatcherNextGivesUp(t *testing.T) {
	r := &running{lines: make(chan []line)}
	giveUp := make(chan struct{})
	b := newBatcher(r, giveUp)
	done := make(chan int)
	go func() {
		n := 0
		for {
			l := b.next()
			if l == nil {
				done <- n
				return
			}
			l.text = "x"
			b.written()
			n++
		}
	}()
	time.Sleep(50 * time.Millisecond)
	close(giveUp)
	select {
	case n := <-done:
		// a batch in the send (what was gathered when the flusher
		// took it), one full in the slot
		if n < gather+maxLineBatch || n > 2*maxLineBatch {
			t.Errorf("%d lines taken before giving up", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("next did not give up")
	}
	b.stop()
}

// recordAcks is an acker that keeps nothing.
type recordAcks struct{}

func (recordAcks) ack(*line) {}

// TestFollowFileBatches: followFile hands the file's lines to the jail in
// order, each with the position just after it, and the lines appended
// later too; with a string per line and cut from shared chunks.
func TestFollowFileBatches(t *testing.T) {
	for _, chunk := range []int{0, 4096} {
		t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) { testFollowFileBatches(t, chunk) })
	}
}

func testFollowFileBatches(t *testing.T, chunk int) {
	path := filepath.Join(t.TempDir(), "auth.log")
	var sb strings.Builder
	var want []string
	var ends []int64
	for i := range 3000 {
		s := fmt.Sprintf("Nov 22 10:00:%02d srv sshd[%d]: Failed password for root from 198.51.100.%d", i%60, i, i%250)
		if i%7 == 0 {
			s += "\r" // cut with the newline
		}
		sb.WriteString(s + "\n")
		want = append(want, strings.TrimSuffix(s, "\r"))
		ends = append(ends, int64(sb.Len()))
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &running{lines: make(chan []line, 16)}
	got := make(chan []line, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	total := len(want) + 1 // with the line appended below
	go func() {
		var all []line
		for ls := range r.lines {
			all = append(all, ls...)
			if len(all) == total {
				cancel()
			}
		}
		got <- all
	}()
	b := newBatcher(r, nil)
	done := make(chan error, 1)
	go func() { done <- followFile(ctx, b, path, tail.Options{Chunk: chunk}, recordAcks{}) }()
	time.Sleep(100 * time.Millisecond)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "appended")
	f.Close()
	want = append(want, "appended")
	ends = append(ends, int64(sb.Len()+len("appended\n")))
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("followFile returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the appended line did not arrive")
	}
	b.stop()
	close(r.lines)
	all := <-got
	if len(all) != len(want) {
		t.Fatalf("got %d lines, want %d", len(all), len(want))
	}
	st, _ := os.Stat(path)
	for i, l := range all {
		if l.text != want[i] || l.pos.Offset != ends[i] || l.pos.Inode != inodeOf(st) || l.pos.Head == "" || l.ack == nil {
			t.Fatalf("line %d: %q at %+v, want %q at %d", i, l.text, l.pos, want[i], ends[i])
		}
	}
}

func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
