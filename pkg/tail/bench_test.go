package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkFollowFile measures reading a log through a Follower: a file
// of 100k syslog-shaped lines read from its start, per line.
func BenchmarkFollowFile(b *testing.B) { benchmarkFollowFile(b, Options{}) }

// BenchmarkFollowFileChunked is BenchmarkFollowFile with the lines cut
// from shared strings of 4 KiB (Options.Chunk).
func BenchmarkFollowFileChunked(b *testing.B) { benchmarkFollowFile(b, Options{Chunk: 4096}) }

func benchmarkFollowFile(b *testing.B, o Options) {
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
	cpu0 := cpuTime()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			Follow(ctx, path, o, func(l Line) {
				if seen++; seen == n {
					cancel()
				}
			})
		}()
		<-done
		cancel()
		if seen != n {
			b.Fatalf("read %d lines, want %d", seen, n)
		}
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
