package datedetect

import (
	"fmt"
	"math/rand/v2"
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
				if _, ok, _ := d.FindAt(lines[i], nows[i]); !ok {
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
