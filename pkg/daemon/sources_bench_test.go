package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/f2bd/f2bd/pkg/tail"
)

// BenchmarkFollowFileToJail measures a file source from reading the file
// to the batches a jail receives: 100k syslog-shaped lines read from the
// file's start by followFile, through a batcher, to a jail goroutine that
// only takes the batches.
func BenchmarkFollowFileToJail(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "auth.log")
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "Nov 22 10:00:%02d srv sshd[%d]: Failed password for root from 198.51.100.%d port %d ssh2\n", i%60, 1000+i, i%250+1, 40000+i%20000)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	var ff fileFollower
	cpu0 := cpuTime()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		r := &running{lines: make(chan []line, 16)}
		got := make(chan int)
		go func() {
			seen := 0
			for ls := range r.lines {
				if seen += len(ls); seen == n {
					cancel()
				}
			}
			got <- seen
		}()
		bt := newBatcher(r, nil)
		followFile(ctx, bt, path, tail.Options{}, &ff)
		bt.stop()
		close(r.lines)
		if seen := <-got; seen != n {
			b.Fatalf("read %d lines, want %d", seen, n)
		}
		cancel()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/line")
}

// cpuTime is the CPU time the process used so far (all its threads, the
// garbage collector's included), in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
