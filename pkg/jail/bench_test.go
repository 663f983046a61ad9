package jail

import (
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/internal/benchlog"
	"github.com/f2bd/f2bd/pkg/ban"
	"github.com/f2bd/f2bd/pkg/filter"
)

// BenchmarkJailGenlog runs fail2ban's sshd jail over a generated
// auth.log as the daemon's jail goroutine does, minus the reading: batches
// of 256 lines, their items reused, dated, matched and finished into
// failures, counts and ban decisions. Everything runs on one goroutine, so
// that its instruction count per line is steady (cachegrind). One op is
// one line. The log is the file named by F2BD_BENCH_LOG, else 200000
// lines of scripts/genlog (seed 1); the jail's clock is the time of each
// batch's first line, as it would be when following the log live.
func BenchmarkJailGenlog(b *testing.B) {
	lines := benchlog.Lines(b, "sshd")
	// each line with its newline, cut from one text as the daemon's file
	// source cuts them from its chunks (filter.Item.ResetNL)
	text := strings.Join(lines, "\n") + "\n"
	for i, off := 0, 0; i < len(lines); i++ {
		n := len(lines[i]) + 1
		lines[i], off = text[off:off+n], off+n
	}
	// fail2ban's own sshd jail, as the daemon benchmark runs it (its tree
	// is installed wherever the benchmarks run against fail2ban)
	cfg, err := config.LoadDir("/etc/fail2ban")
	if err != nil {
		b.Fatalf("fail2ban's configuration: %v", err)
	}
	var clock time.Time
	var j *Jail
	for _, c := range cfg.Jails {
		if c.Name == "sshd" {
			if j, err = New(c, func() time.Time { return clock }); err != nil {
				b.Fatal(err)
			}
		}
	}
	if j == nil {
		b.Fatal("no sshd jail in /etc/fail2ban")
	}
	const batch = 256
	items := make([]filter.Item, batch)
	var out []ban.Decision
	bans := 0
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for n := 0; n < b.N; n += batch {
		k := min(batch, b.N-n)
		// genlog's lines are syslog-dated in UTC, from 2025-03-01 on
		if t, err := time.Parse(time.Stamp, lines[next][:len(time.Stamp)]); err == nil {
			clock = t.AddDate(2025, 0, 0)
		}
		for i := range items[:k] {
			items[i].ResetNL(lines[next], time.Time{})
			if next++; next == len(lines) {
				next = 0
			}
		}
		j.Start(items[:k], nil).Wait()
		out = j.Finish(items[:k], out[:0])
		bans += len(out)
	}
	b.StopTimer()
	st := j.Stats()
	if b.N >= 100000 && (st.TotalFailed == 0 || bans == 0) {
		b.Fatalf("%d lines: %d failures, %d bans: the jail did not count", b.N, st.TotalFailed, bans)
	}
	b.ReportMetric(float64(st.TotalFailed)/float64(b.N), "failures/line")
	b.ReportMetric(float64(bans), "bans")
}
