package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/bantime"
	"github.com/f2bd/f2bd/pkg/filter"
	"github.com/f2bd/f2bd/pkg/jail"
	"github.com/f2bd/f2bd/pkg/tail"
)

// TestPipelineRecyclesSafely runs a file through the whole pipeline as the
// daemon does (followFile with recycled chunks, batches whose line
// buffers go back to the source, a jail matching on a pool of workers)
// and checks that the jail counts exactly the failures the filter finds
// in the file line by line. A chunk released while a line in it is still
// being handled is poisoned (tail.Chunks.Poison), and a line buffer
// reused then would hand the filter other lines: the lines have two
// shapes of different lengths and every failure needs a whole line of its
// shape, so such a line no longer matches (or matches as another one),
// and the count differs. (That what the filter returns and keeps holds no
// line text after its batch is finished is pkg/filter's
// TestBatchMatchesProcess: it overwrites each batch's lines then.)
func TestPipelineRecyclesSafely(t *testing.T) {
	const n = 60_000
	var sb strings.Builder
	for i := range n {
		if i%3 == 0 {
			fmt.Fprintf(&sb, "2026-01-01 10:%02d:%02d srv sshd[%d]: Connection closed by 203.0.113.%d port %d [preauth]\n", i/60%60, i%60, 1000+i, i%250+1, 40000+i%20000)
		} else {
			fmt.Fprintf(&sb, "2026-01-01 10:%02d:%02d srv sshd[%d]: Failed password for user%d from 198.51.100.%d port %d ssh2\n", i/60%60, i%60, 1000+i, i, i%250+1, 40000+i%20000)
		}
	}
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fc := &config.Filter{Name: "t", FailRegex: []string{`^ srv sshd\[\d+\]: Failed password for user\d+ from <HOST> port \d+ ssh2$`}}
	c := &config.Jail{Name: "t", MaxRetry: 1 << 30, FindTime: 100000 * time.Hour, BanTime: time.Hour, Filter: fc}

	// the filter's count, line by line
	ref, err := jail.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n") {
		items := []filter.Item{{Line: l}}
		ref.Lines(items, nil, nil)
	}
	want := ref.Stats().TotalFailed
	if want != n-n/3 {
		t.Fatalf("the filter finds %d failures in the file, want %d", want, n-n/3)
	}

	j, err := jail.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := bantime.NewPolicy("t", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunning(j, pol)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.run(ctx, nil) // no bans are decided: no banner
	b := newBatcher(r, ctx.Done())
	done := make(chan error, 1)
	go func() {
		chunks := tail.NewChunks()
		chunks.Poison = true
		done <- followFile(ctx, b, path, tail.Options{Chunk: lineChunk, Chunks: chunks}, recordAcks{})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for j.Stats().TotalFailed < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // more than want would show now
	cancel()
	<-done
	b.stop()
	close(r.lines)
	<-r.done
	if got := j.Stats().TotalFailed; got != want {
		t.Fatalf("the pipeline counted %d failures, the filter line by line %d", got, want)
	}
}
