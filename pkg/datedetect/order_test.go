package datedetect

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

// mixedLog makes a log mixing many date formats, in runs of one format
// (as a log written by several programs), so that templates win, lose and
// are reordered.
func mixedLog(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	two := func(v int) string { return fmt.Sprintf("%02d", v) }
	formats := []func(m, s int) string{
		func(m, s int) string {
			return "Aug 14 11:" + two(m) + ":" + two(s) + " host sshd[123]: Failed password"
		},
		func(m, s int) string { return "2005-08-14 11:" + two(m) + ":" + two(s) + " host x" },
		func(m, s int) string { return "2005-08-14T11:" + two(m) + ":" + two(s) + ".123456+02:00 host x" },
		func(m, s int) string {
			return "192.0.2.1 - - [14/Aug/2005:11:" + two(m) + ":" + two(s) + " -0400] \"GET / HTTP/1.1\" 401"
		},
		func(m, s int) string { return fmt.Sprintf("[%d] epoch in brackets", 1124013000+m*60+s) },
		func(m, s int) string { return fmt.Sprintf("%d.123 epoch", 1124013000+m*60+s) },
		func(m, s int) string { return "pre 2005/08/14 11:" + two(m) + ":" + two(s) + " x" },
		func(m, s int) string { return "no date here at all" },
		func(m, s int) string { return "Aug 14 11:" + two(m) + ":" + two(s) + " host x 2005-08-14 10:00:00 y" },
		func(m, s int) string { return "050814 11:" + two(m) + ":" + two(s) + " mysqld x" },
		func(m, s int) string { return "14-Aug-2005 11:" + two(m) + ":" + two(s) + ".252 named x" },
		func(m, s int) string { return "Sun Aug 14 11:" + two(m) + ":" + two(s) + " 2005 asctime" },
		func(m, s int) string { return "11:" + two(m) + ":" + two(s) + " time only" },
		func(m, s int) string { return "<08/14/05@11:" + two(m) + ":" + two(s) + "> x" },
		func(m, s int) string { return "tomcat: Aug 14, 2005 11:" + two(m) + ":" + two(s) + " AM x" },
		func(m, s int) string { return "  Aug 14 11:" + two(m) + ":" + two(s) + " indented" },
		func(m, s int) string { return "PDT Aug 14 11:" + two(m) + ":" + two(s) + " monit" },
		func(m, s int) string { return "Aug 14 11:" + two(m) + ":" + two(s) + ".123 host frac" },
		func(m, s int) string { return "ünï 2005-08-14 11:" + two(m) + ":" + two(s) + " x" },
		func(m, s int) string { return "host ünï Aug 14 11:" + two(m) + ":" + two(s) + " x" },
		func(m, s int) string { return "x: 20050814T11" + two(m) + two(s) + " compact" },
		func(m, s int) string { return "log 2005-08-14 11:" + two(m) + ":" + two(s) + " and Aug 14 10:00:00" },
		func(m, s int) string { return "08-14-2005 11:" + two(m) + ":" + two(s) + ".252 x" },
	}
	var out []string
	for len(out) < n {
		f := formats[r.IntN(len(formats))]
		for range 1 + r.IntN(6) {
			out = append(out, f(r.IntN(60), r.IntN(60)))
		}
	}
	return out[:n]
}

// TestOrderAgainstFail2ban runs mixed logs (mixedLog's, and the start of
// the mixed benchmark log) through fail2ban's DateDetector and ours and
// compares, line by line, the winning template, the date text
// and the time, and at the end the template order and hits.
func TestOrderAgainstFail2ban(t *testing.T) {
	if _, err := os.Stat("/usr/lib/python3/dist-packages/fail2ban"); err != nil {
		testenv.Missing(t, "fail2ban not installed: %v", err)
	}
	loc, err := PosixLocation("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys, os, time
os.environ['TZ'] = 'CET-01CEST-02,M3.5.0,M10.5.0'; time.tzset()
from fail2ban.server.mytime import MyTime
MyTime.setTime(1124013600)
from fail2ban.server.datedetector import DateDetector
req = json.loads(sys.stdin.read())
d = DateDetector()
if req['pattern']: d.appendTemplate(req['pattern'])
else: d.addDefaultTemplate()
init = {id(t.template): i for i, t in enumerate(d.templates)}
lines = []
for l in req['lines']:
    m, tpl = d.matchTime(l)
    if not m:
        lines.append(None); continue
    r = d.getTime(l, (m, tpl))
    s = len(l[:m.start(1)].encode()); e = len(l[:m.end(1)].encode())
    lines.append([init[id(tpl)], s, e, r[0] if r else None])
print(json.dumps({'lines': lines, 'order': [init[id(t.template)] for t in d.templates], 'hits': [t.hits for t in d.templates]}))
`
	genlog, _ := mixedSequence(t)
	for _, pattern := range []string{"", "{^LN-BEG}"} {
		for seed := uint64(1); seed <= 4; seed++ {
			lines := mixedLog(seed, 600)
			if seed == 4 {
				// the benchmark's log (syslog, nginx, asterisk)
				lines = genlog[:1500]
			}
			req, _ := json.Marshal(map[string]any{"pattern": pattern, "lines": lines})
			cmd := exec.Command("/usr/bin/python3", "-c", script)
			cmd.Stdin = strings.NewReader(string(req))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			var want struct {
				Lines [][]*float64
				Order []int
				Hits  []int
			}
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			d, err := New(Options{Pattern: pattern, Now: func() time.Time { return time.Unix(testNow, 0) }, Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			initial := func(tp *template) int { return slices.Index(d.templates, tp) }
			bad := 0
			for i, l := range lines {
				m, ok, err := d.Find(l)
				w := want.Lines[i]
				if w == nil {
					if ok || err != nil {
						t.Errorf("%q seed %d line %d %q: found a date, fail2ban none", pattern, seed, i, l)
						bad++
					}
					continue
				}
				won := initial(d.slots[d.lastIdx].t)
				if !ok && err == nil {
					t.Errorf("%q seed %d line %d %q: no date, fail2ban template %d", pattern, seed, i, l, int(*w[0]))
					bad++
				} else if won != int(*w[0]) || (ok && (m.Start != int(*w[1]) || m.End != int(*w[2]))) {
					t.Errorf("%q seed %d line %d %q: template %d date %q, fail2ban template %d date %q", pattern, seed, i, l,
						won, l[m.Start:m.End], int(*w[0]), l[int(*w[1]):int(*w[2])])
					bad++
				} else if ok && w[3] != nil && m.Time.UnixMicro() != int64(*w[3]*1e6+0.5) {
					t.Errorf("%q seed %d line %d %q: time %v, fail2ban %f", pattern, seed, i, l, m.Time, *w[3])
					bad++
				}
				if bad > 10 {
					t.FailNow()
				}
			}
			var order, hits []int
			for _, s := range d.slots {
				order = append(order, initial(s.t))
				hits = append(hits, s.hits)
			}
			t.Logf("%q seed %d: order %v hits %v", pattern, seed, order, hits)
			if !slices.Equal(order, want.Order) || !slices.Equal(hits, want.Hits) {
				t.Errorf("%q seed %d: order %v hits %v\nfail2ban order %v hits %v", pattern, seed, order, hits, want.Order, want.Hits)
			}
		}
	}
}
