package datedetect

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// syslogMessages are typical messages of a syslog file, after the date.
var syslogMessages = []string{
	"srv1 sshd[%d]: Connection from 198.19.%d.80 port 31178 on 10.0.0.1 port 22",
	"srv1 sshd[%d]: Failed password for invalid user admin from 203.0.113.%d port 40022 ssh2",
	"srv1 sshd[%d]: Invalid user oracle from 192.0.2.%d port 51234",
	"srv1 sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.%d",
	"srv1 CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=%d)",
	"srv1 CRON[%d]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 %d)",
	"srv1 systemd[%d]: Started session-%d.scope - Session of User root.",
	"srv1 systemd[%d]: logrotate.service: Deactivated successfully (%d).",
}

// syslogSequence makes n syslog-dated lines as a busy host writes them:
// each second repeated 5 to 20 times, then the next second, with mixed
// sshd, CRON and systemd messages, starting at start (in loc). It returns
// the lines and, for each, the clock a daemon reading it would have (the
// line's second plus a few milliseconds per line).
func syslogSequence(r *rand.Rand, start time.Time, loc *time.Location, n int) (lines []string, nows []time.Time) {
	return syslogLines(r, start, loc, n, 5, 20)
}

// syslogLines is syslogSequence with each second repeated lo to hi times.
func syslogLines(r *rand.Rand, start time.Time, loc *time.Location, n, lo, hi int) (lines []string, nows []time.Time) {
	t := start
	for len(lines) < n {
		reps := lo + r.IntN(hi-lo+1)
		for k := 0; k < reps && len(lines) < n; k++ {
			msg := fmt.Sprintf(syslogMessages[r.IntN(len(syslogMessages))], 1000+r.IntN(30000), r.IntN(256))
			lines = append(lines, t.In(loc).Format(time.Stamp)+" "+msg)
			nows = append(nows, t.Add(time.Duration(k+1)*3*time.Millisecond+time.Duration(r.IntN(1000))*time.Microsecond))
		}
		t = t.Add(time.Second)
	}
	return lines, nows
}

// BenchmarkFindSyslogSequence dates a realistic sequence of 1000 syslog
// lines (each second repeated 5 to 20 times, mixed messages) with the
// clock advancing line by line; one op is one line. The zone is a fixed
// CET offset, or (dst) a CET/CEST rule as a daemon's time.Local with
// dates of today, for which time's zone cache holds (it covers the zone
// period current when the zone was loaded). newsecond has one line per
// second (no line with the date of the line before).
func BenchmarkFindSyslogSequence(b *testing.B) {
	cet := time.FixedZone("CET", 3600)
	dst, err := PosixLocation("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, pattern string
		loc           *time.Location
		start         time.Time
		lo, hi        int
	}{
		{"default", "", cet, time.Date(2025, 3, 1, 0, 0, 0, 0, cet), 5, 20},
		{"lnbeg", "{^LN-BEG}", cet, time.Date(2025, 3, 1, 0, 0, 0, 0, cet), 5, 20},
		{"dst", "", dst, time.Now().Truncate(time.Second), 5, 20},
		{"newsecond", "", cet, time.Date(2025, 3, 1, 0, 0, 0, 0, cet), 1, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lines, nows := syslogLines(rand.New(rand.NewPCG(3, 4)), bc.start, bc.loc, 1000, bc.lo, bc.hi)
			d, err := New(Options{Pattern: bc.pattern, Location: bc.loc, Now: func() time.Time { return bc.start }})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !findSyslog(d, lines[i], nows[i]) {
					b.Fatal("no date")
				}
				if i++; i == len(lines) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
		})
	}
}

// mixedSequence reads testdata/mixed.log.gz, the first 4000 lines of
// `go run ./scripts/genlog -n 20000 -seed 1 -kind mixed` (syslog lines of
// sshd, postfix, dovecot and others interleaved with nginx error-log
// lines "2025/03/01 00:01:59 [error] ..." and asterisk lines "[2025-03-01
// 00:00:00] VERBOSE[1645] ..."), all dated in UTC. It returns the lines
// and, for each, the clock a daemon reading it would have: the line's
// date (as an uncached detector reads it) plus a few milliseconds.
func mixedSequence(tb testing.TB) (lines []string, nows []time.Time) {
	fh, err := os.Open("testdata/mixed.log.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	d, err := New(Options{Location: time.UTC, Now: func() time.Time { return start }})
	if err != nil {
		tb.Fatal(err)
	}
	d.noCache = true
	now := start
	for i, l := range lines {
		if m, ok, _ := d.FindAt(l, now); ok && !m.Empty {
			now = m.Time
		}
		nows = append(nows, now.Add(time.Duration(1+i%7)*time.Millisecond))
	}
	return lines, nows
}

// BenchmarkFindMixedSequence dates the mixed log of mixedSequence in
// order with the default templates, as each jail's detector of a daemon
// does; one op is one line. Each line is dated through a function of its
// kind (findSyslog, findNginx, findAsterisk), so that a profile, or
// cachegrind's --toggle-collect, tells the cost of each kind in the mix.
func BenchmarkFindMixedSequence(b *testing.B) {
	lines, nows := mixedSequence(b)
	d, err := New(Options{Location: time.UTC, Now: func() time.Time { return nows[0] }})
	if err != nil {
		b.Fatal(err)
	}
	kinds := make([]byte, len(lines))
	counts := map[byte]int{}
	for i, l := range lines {
		switch {
		case l[0] == '[':
			kinds[i] = 'a'
		case isDigit(l[0]):
			kinds[i] = 'n'
		default:
			kinds[i] = 's'
		}
		counts[kinds[i]]++
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var ok bool
		switch kinds[i] {
		case 's':
			ok = findSyslog(d, lines[i], nows[i])
		case 'n':
			ok = findNginx(d, lines[i], nows[i])
		default:
			ok = findAsterisk(d, lines[i], nows[i])
		}
		if !ok {
			b.Fatal("no date")
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
	b.Logf("%d lines: %d syslog, %d nginx, %d asterisk", len(lines), counts['s'], counts['n'], counts['a'])
}

// findSyslog, findNginx and findAsterisk are d.FindAt for the lines of one
// kind of BenchmarkFindMixedSequence.
//
//go:noinline
func findSyslog(d *Detector, line string, now time.Time) bool {
	_, ok, _ := d.FindAt(line, now)
	return ok
}

//go:noinline
func findNginx(d *Detector, line string, now time.Time) bool {
	_, ok, _ := d.FindAt(line, now)
	return ok
}

//go:noinline
func findAsterisk(d *Detector, line string, now time.Time) bool {
	_, ok, _ := d.FindAt(line, now)
	return ok
}
