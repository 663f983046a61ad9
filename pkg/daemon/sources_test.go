package daemon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/config"
)

// writeDatedLog writes n syslog lines one second apart ending at end, and
// returns the offset of each line.
func writeDatedLog(t testing.TB, path string, end time.Time, n int) []int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	offs := make([]int64, n)
	var off int64
	for i := 0; i < n; i++ {
		offs[i] = off
		ts := end.Add(-time.Duration(n-1-i) * time.Second).Format(time.Stamp)
		k, _ := fmt.Fprintf(w, "%s srv sshd[%d]: Failed password for root from 192.0.2.%d port %d ssh2\n", ts, 1000+i%50000, i%250+1, 1024+i%60000)
		off += int64(k)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return offs
}

func TestFindtimeSeek(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	now := time.Now().Truncate(time.Second)
	const n = 100000 // about 9 MB, 28 hours of lines
	offs := writeDatedLog(t, path, now, n)
	c := &config.Jail{Name: "sshd", FindTime: 10 * time.Minute, Filter: &config.Filter{}, Options: map[string]string{}}
	seek := findtimeSeeker(c, func() time.Time { return now }, zap.NewNop())
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off, err := seek(f)
	if err != nil {
		t.Fatal(err)
	}
	first := offs[n-1-600] // the first line within findtime (600 s back)
	if off > first || first-off > seekSlack+200 {
		t.Fatalf("seek to %d; the first line within findtime starts at %d (slack %d)", off, first, seekSlack)
	}
	// off starts a line.
	if off > 0 {
		b := make([]byte, 1)
		f.ReadAt(b, off-1)
		if b[0] != '\n' {
			t.Fatalf("offset %d does not start a line", off)
		}
	}
	// A small file is read whole; undated lines are never skipped.
	small := filepath.Join(t.TempDir(), "small.log")
	writeDatedLog(t, small, now, 100)
	fs, _ := os.Open(small)
	defer fs.Close()
	if off, _ := seek(fs); off != 0 {
		t.Errorf("small file: seek to %d, want 0", off)
	}
	undated := filepath.Join(t.TempDir(), "undated.log")
	os.WriteFile(undated, []byte(strings.Repeat("no date on this line at all\n", 100000)), 0o644)
	fu, _ := os.Open(undated)
	defer fu.Close()
	if off, _ := seek(fu); off != 0 {
		t.Errorf("undated file: seek to %d, want 0", off)
	}
}

// BenchmarkFindtimeSeek measures the bisection on a 9 MB log.
func BenchmarkFindtimeSeek(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	now := time.Now().Truncate(time.Second)
	writeDatedLog(b, path, now, 100000)
	c := &config.Jail{Name: "sshd", FindTime: 10 * time.Minute, Filter: &config.Filter{}, Options: map[string]string{}}
	seek := findtimeSeeker(c, func() time.Time { return now }, zap.NewNop())
	f, _ := os.Open(path)
	defer f.Close()
	for b.Loop() {
		if _, err := seek(f); err != nil {
			b.Fatal(err)
		}
	}
}
