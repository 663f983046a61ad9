package journal

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFollow measures how fast the variant built (sd-journal with cgo,
// journalctl without) reads a journal of benchEntries realistic sshd-like
// entries from its start, reported as entries/s.
func BenchmarkFollow(b *testing.B) {
	const benchEntries = 50000
	dir := b.TempDir()
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	units := [...]string{"ssh.service", "nginx.service", "cron.service"}
	entries := make([]fields, benchEntries)
	for i := range entries {
		entries[i] = entryAt(base.Add(time.Duration(i)*time.Millisecond),
			[2]string{"_HOSTNAME", "web1"}, [2]string{"SYSLOG_IDENTIFIER", "sshd"},
			[2]string{"_PID", strconv.Itoa(1000 + i%5000)}, [2]string{"_COMM", "sshd"},
			[2]string{"_SYSTEMD_UNIT", units[i%len(units)]}, [2]string{"_UID", "0"},
			[2]string{"PRIORITY", "6"}, [2]string{"SYSLOG_FACILITY", "4"},
			[2]string{"MESSAGE", "Failed password for invalid user admin from 192.0.2." +
				strconv.Itoa(i%250) + " port " + strconv.Itoa(10000+i) + " ssh2"})
	}
	writeJournal(b, filepath.Join(dir, "remote.journal"), entries)

	for _, bc := range []struct {
		name, match string
		want        int
	}{
		{"all", "", benchEntries},
		{"match-ssh-unit", "_SYSTEMD_UNIT=ssh.service", (benchEntries + 2) / 3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			total := 0
			b.ResetTimer()
			for b.Loop() {
				r, err := Open(Options{Path: dir, Matches: bc.match, Since: base})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				n := 0
				err = r.Follow(ctx, func(Entry) {
					if n++; n == bc.want {
						cancel()
					}
				})
				cancel()
				r.Close()
				if err != nil || n != bc.want {
					b.Fatalf("read %d of %d entries: %v", n, bc.want, err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
