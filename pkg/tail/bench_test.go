package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFollowFile measures reading a log through a Follower: a file
// of 100k syslog-shaped lines read from its start, per line.
func BenchmarkFollowFile(b *testing.B) {
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
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			Follow(ctx, path, Options{}, func(l Line) {
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
}
