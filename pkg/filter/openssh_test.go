package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/benchlog"
)

// TestOpenSSH92 checks real OpenSSH 9.2 auth.log lines and crafted user
// names that try to inject an address.
func TestOpenSSH92(t *testing.T) {
	opts := resolvedFilter(t, "sshd", "")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	opts.Location = time.UTC
	cases := []struct {
		line, id, user string
		match          bool
	}{
		{"Nov 22 10:00:00 srv sshd[1234]: Failed password for invalid user nobody from 192.0.2.2 port 50000 ssh2", "192.0.2.2", "nobody", true},
		{"Nov 22 10:00:01 srv sshd[1235]: Failed password for root from 2001:db8::2 port 4 ssh2", "2001:db8::2", "root", true},
		{"Nov 22 10:00:02 srv sshd[1236]: Failed password for invalid user x from 203.0.113.9 from 198.51.100.7 port 22 ssh2", "198.51.100.7", "invalid user x from 203.0.113.9", true}, // same user value as fail2ban 1.0.2,
		{"Nov 22 10:00:03 srv sshd[1237]: Invalid user x from 203.0.113.9 from 198.51.100.8 port 22", "198.51.100.8", "x from 203.0.113.9", true},
		{"Nov 22 10:00:04 srv sshd[1238]: Failed password for invalid user  from ::ffff:192.0.2.77 port 1 ssh2", "192.0.2.77", "", true},
		{"Nov 22 10:00:05 srv sshd[1239]: Accepted password for root from 192.0.2.3 port 22 ssh2", "", "", false},
		{"Nov 22 10:00:06 srv sshd[1240]: Connection closed by 192.0.2.4 port 22", "", "", false},
	}
	for _, c := range cases {
		f, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := f.Process(c.line)
		if ok != c.match {
			t.Errorf("%q: match %v want %v (id %q)", c.line, ok, c.match, got.ID)
			continue
		}
		if !ok {
			continue
		}
		if got.ID != c.id || got.Addr.String() != c.id {
			t.Errorf("%q: id %q addr %v want %q", c.line, got.ID, got.Addr, c.id)
		}
		if c.user != "" && got.Groups["user"] != c.user {
			t.Errorf("%q: user %q want %q", c.line, got.Groups["user"], c.user)
		}
		if want := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC); got.Time.Sub(want) > 10*time.Second || got.Time.Before(want) {
			t.Errorf("%q: time %v", c.line, got.Time)
		}
	}
}

func TestNewErrorNamesRegex(t *testing.T) {
	_, err := New(Options{FailRegex: []string{`^x <HOST>`, `^no id here`}})
	if err == nil || err.Error()[:12] != "failregex[1]" {
		t.Fatalf("error %v, want failregex[1]: ...", err)
	}
	_, err = New(Options{FailRegex: []string{`^<HOST>`, `^(<HOST>`}})
	if err == nil || err.Error()[:12] != "failregex[1]" {
		t.Fatalf("error %v, want failregex[1]: ...", err)
	}
}

func benchFilter(b *testing.B, line string, wantMatch bool) {
	opts := resolvedFilter(b, "sshd", "")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	opts.Location = time.UTC
	f, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := f.Process(line); ok != wantMatch {
		b.Fatalf("match %v", ok)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Process(line)
	}
}

func BenchmarkProcessSSHDMiss(b *testing.B) {
	benchFilter(b, "Nov 22 10:00:00 srv sshd[1234]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)", false)
}

func BenchmarkProcessSSHDMatch(b *testing.B) {
	benchFilter(b, "Nov 22 10:00:00 srv sshd[1234]: Failed password for invalid user nobody from 192.0.2.2 port 50000 ssh2", true)
}

func BenchmarkProcessOtherDaemon(b *testing.B) {
	benchFilter(b, "Nov 22 10:00:00 srv CRON[999]: pam_unix(cron:session): session closed for user root", false)
}

// genlogFilter is the stock sshd filter (conf: more of filter.d/sshd.conf's
// [Definition], e.g. "mode = aggressive\n") as the benchmarks over benchlog.Lines'
// generated log run it: its clock on the log's day (2025-03-02 12:00 UTC),
// CheckAll as given.
func genlogFilter(b *testing.B, conf string, checkAll bool) *Filter {
	b.Helper()
	opts := resolvedFilter(b, "sshd", conf)
	now := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	opts.Location = time.UTC
	opts.CheckAll = checkAll
	f, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkProcessGenlog runs the stock sshd filter over a generated
// auth.log (about 30% failing connections), one op per line: Process as
// the daemon calls it, and ProcessLine with every failregex tried as
// f2bctl regex does.
func BenchmarkProcessGenlog(b *testing.B) {
	lines := benchlog.Lines(b, "sshd")
	for _, checkAll := range []bool{false, true} {
		b.Run(fmt.Sprintf("checkAll=%v", checkAll), func(b *testing.B) {
			f := genlogFilter(b, "", checkAll)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if checkAll {
					f.ProcessLine(lines[i])
				} else {
					f.Process(lines[i])
				}
				if i++; i == len(lines) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkProcessSSHDAccepted is an sshd line that a failregex does match:
// the F-NOFAIL/F-MLFGAINED "Accepted" regex (no failure results).
func BenchmarkProcessSSHDAccepted(b *testing.B) {
	benchFilter(b, "Nov 22 10:00:00 srv sshd[1234]: Accepted publickey for root from 192.0.2.3 port 22 ssh2: RSA SHA256:abc", false)
}

// TestNoAllocOnMissingLines requires the non-matching path of the stock
// sshd filter to be allocation-free: lines of other programs and sshd
// lines no failregex matches.
func TestNoAllocOnMissingLines(t *testing.T) {
	opts := resolvedFilter(t, "sshd", "")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	opts.Location = time.UTC
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Nov 22 10:00:00 srv CRON[999]: pam_unix(cron:session): session closed for user root",
		"Nov 22 10:00:00 srv systemd[1]: Started session-9.scope - Session 9 of User root.",
		"Nov 22 10:00:00 srv sshd[1234]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)",
		"Nov 22 10:00:00 srv sshd[1234]: Postponed publickey for root from 192.0.2.3 port 22 ssh2 [preauth]",
		"2026-11-22T10:00:00.123456+00:00 srv sshd[1234]: Server listening on 0.0.0.0 port 22.",
	} {
		f.Process(line)
		if n := testing.AllocsPerRun(200, func() {
			if _, ok := f.Process(line); ok {
				t.Fatalf("%q matched", line)
			}
		}); n != 0 {
			t.Errorf("%q: %v allocations per line", line, n)
		}
	}
}

// BenchmarkNewSSHD compiles the stock sshd filter, one op per filter:
// what a jail's start (and every f2bctl regex run) pays before its first
// line.
func BenchmarkNewSSHD(b *testing.B) {
	opts := resolvedFilter(b, "sshd", "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(opts); err != nil {
			b.Fatal(err)
		}
	}
}
