package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// latencyJails are two jails that ban at the first failure: one on a log
// file, one on the journal of a real journald (entries marked with the
// field F2BD_BENCH=1).
const latencyJails = `[DEFAULT]
filter = sshd
maxretry = 1
findtime = 1h
bantime = 1h
banaction = nftables-multiport

[lat-file]
enabled = true
logpath = %s

[lat-journal]
enabled = true
backend = systemd[journalpath=%s]
journalmatch = F2BD_BENCH=1
`

// elementMonitor reports when elements appear in the kernel sets of a
// namespace, from "nft monitor" (netlink events, no polling).
type elementMonitor struct {
	mu      sync.Mutex
	waiting map[string]chan time.Time
}

var monitorAddrRE = regexp.MustCompile(`2001:db8:[0-9a-f:]+`)

func startElementMonitor(t testing.TB, ns string) *elementMonitor {
	t.Helper()
	m := &elementMonitor{waiting: map[string]chan time.Time{}}
	pr, pw := io.Pipe()
	startProc(t, ns, "nft monitor", func(cmd *exec.Cmd) { cmd.Stdout = pw }, mustTool(t, "nft"), "monitor", "elements")
	t.Cleanup(func() { pw.Close() })
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			now := time.Now()
			for _, a := range monitorAddrRE.FindAllString(sc.Text(), -1) {
				m.mu.Lock()
				if ch := m.waiting[a]; ch != nil {
					ch <- now
					delete(m.waiting, a)
				}
				m.mu.Unlock()
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // let nft subscribe
	return m
}

// expect returns the channel that receives the time addr enters a set.
func (m *elementMonitor) expect(addr string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	m.mu.Lock()
	m.waiting[addr] = ch
	m.mu.Unlock()
	return ch
}

// percentile returns the p-th percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkSourceLatency measures, with a real f2bd, the time from a
// failure line's append to its address's element in the kernel set (seen
// through nft monitor), one line at a time, for a log file and for the
// journal of a real journald (the entry sent to journald's native socket).
// It reports p50 and p99 in milliseconds. Run it as
//
//	go test ./integration -run '^$' -bench SourceLatency -benchtime 300x
func BenchmarkSourceLatency(b *testing.B) {
	requireHarness(b, "unshare")
	f2bdBin, f2bctlBin := buildBinaries(b)
	guardHostRuleset(b)
	tp := newTopology(b)
	jd := startJournald(b, tp.Srv)
	logFile := filepath.Join(b.TempDir(), "latency.log")
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	startF2BD(b, tp.Srv, f2bdBin, f2bctlBin, fmt.Sprintf(latencyJails, logFile, jd.Dir))
	mon := startElementMonitor(b, tp.Srv)

	logf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	sock, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Net: "unixgram",
		Name: fmt.Sprintf("/proc/%d/root/run/systemd/journal/socket", jd.PID)})
	if err != nil {
		b.Fatal(err)
	}
	defer sock.Close()

	next := 1 << 20 // addresses not used by other tests of this process
	measure := func(b *testing.B, send func(i int) error) {
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			i := next
			next++
			seen := mon.expect(docAddr(i))
			start := time.Now()
			if err := send(i); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-seen:
				lat = append(lat, at.Sub(start))
			case <-time.After(5 * time.Second):
				b.Fatalf("%s not in the kernel 5 s after its line", docAddr(i))
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
	b.Run("file", func(b *testing.B) {
		measure(b, func(i int) error {
			_, err := logf.WriteString(failLine(i))
			return err
		})
	})
	b.Run("journal", func(b *testing.B) {
		measure(b, func(i int) error {
			_, err := sock.Write(fmt.Appendf(nil, "SYSLOG_IDENTIFIER=sshd\nF2BD_BENCH=1\nMESSAGE=Failed password for root from %s port %d ssh2\n",
				docAddr(i), 1024+i%60000))
			return err
		})
	})
}
