package datedetect

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

const testNow = 1124013600 // fail2ban's frozen test clock

// TestAgainstFail2ban compares date text and time with the installed
// fail2ban's DateDetector (TZ=CET-01CEST-02,M3.5.0,M10.5.0, frozen clock).
func TestAgainstFail2ban(t *testing.T) {
	if _, err := os.Stat("/usr/lib/python3/dist-packages/fail2ban"); err != nil {
		testenv.Missing(t, "fail2ban not installed: %v", err)
	}
	cases := []struct{ pattern, line string }{
		{"{^LN-BEG}", "Nov 22 10:00:00 srv sshd[1]: x"},
		{"{^LN-BEG}", "Aug 14 11:59:59 srv sshd[1]: x"},
		{"{^LN-BEG}", "Dec 31 23:59:59 srv sshd[1]: x"},
		{"{^LN-BEG}", "2005-08-14T11:58:59.123456+00:00 host sshd[1]: x"},
		{"{^LN-BEG}", "2005-08-14 11:58:59 host x"},
		{"{^LN-BEG}", "[1124013500] x"},
		{"", "pre 2005/08/14 09:00:00 x"},
		{"", "host 1124013500.123 x"},
		{"", "x [14/Aug/2005:11:58:59 -0400] y"},
		{"%Y-%m-%d %H:%M:%S", "at 2004-01-02 03:04:05 z"},
		{"^%b %d %H:%M:%S", "Jan  2 03:04:05 z"},
		{"%d.%m.%Y %H:%M:%S%z", "a 02.01.2004 03:04:05+0200"},
		{"EPOCH", "1124013000 x"},
		{"{^LN-BEG}", "no date here"},
	}
	loc, err := time.LoadLocation("CET")
	if err != nil {
		testenv.Missing(t, "no CET zoneinfo: %v", err)
	}
	script := `
import json, sys, os, time
os.environ['TZ'] = 'CET-01CEST-02,M3.5.0,M10.5.0'; time.tzset()
from fail2ban.server.mytime import MyTime
MyTime.setTime(1124013600)
from fail2ban.server.datedetector import DateDetector
out = []
for c in json.loads(sys.stdin.read()):
    d = DateDetector()
    if c[0]: d.appendTemplate(c[0])
    else: d.addDefaultTemplate()
    m, tpl = d.matchTime(c[1])
    if not m:
        out.append(None); continue
    r = d.getTime(c[1], (m, tpl))
    s = len(c[1][:m.start(1)].encode()); e = len(c[1][:m.end(1)].encode())
    out.append([s, e, r[0] if r else None])
print(json.dumps(out))
`
	js, _ := json.Marshal(toPairs(cases))
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = strings.NewReader(string(js))
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][]*float64
	if err := json.Unmarshal(outb, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		d, err := New(Options{Pattern: c.pattern, Now: func() time.Time { return time.Unix(testNow, 0) }, Location: loc})
		if err != nil {
			t.Fatalf("New(%q): %v", c.pattern, err)
		}
		m, ok, err := d.Find(c.line)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if want[i] == nil {
			if ok {
				t.Errorf("%q/%q: found %v, fail2ban finds none", c.pattern, c.line, m)
			}
			continue
		}
		if !ok {
			t.Errorf("%q/%q: no date, fail2ban finds %q", c.pattern, c.line, c.line[int(*want[i][0]):int(*want[i][1])])
			continue
		}
		if m.Start != int(*want[i][0]) || m.End != int(*want[i][1]) {
			t.Errorf("%q/%q: date text %q, fail2ban %q", c.pattern, c.line, c.line[m.Start:m.End], c.line[int(*want[i][0]):int(*want[i][1])])
		}
		if want[i][2] != nil && m.Time.Unix() != int64(*want[i][2]) {
			t.Errorf("%q/%q: time %v (%d), fail2ban %d", c.pattern, c.line, m.Time, m.Time.Unix(), int64(*want[i][2]))
		}
	}
}

func toPairs(cs []struct{ pattern, line string }) [][2]string {
	out := make([][2]string, len(cs))
	for i, c := range cs {
		out[i] = [2]string{c.pattern, c.line}
	}
	return out
}

func TestZoneOffset(t *testing.T) {
	for in, want := range map[string]int{"UTC": 0, "CET": 60, "UTC+0200": 120, "-04:30": -270, "CEST-01": 60, "+05": 300} {
		got, err := ZoneOffset(in)
		if err != nil || got != want {
			t.Errorf("ZoneOffset(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ZoneOffset("Mars/Olympus"); err == nil {
		t.Error("bad zone accepted")
	}
}

func BenchmarkFindSyslog(b *testing.B) {
	d, err := New(Options{Pattern: "{^LN-BEG}", Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	line := "Nov 22 10:00:00 srv sshd[1234]: Failed password for root from 192.0.2.1 port 22 ssh2"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := d.Find(line); !ok {
			b.Fatal("no date")
		}
	}
}
