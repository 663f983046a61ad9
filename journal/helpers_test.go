package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/f2bd/f2bd/internal/testenv"
)

// need fails the test when a required tool is missing under CI=true and
// skips it otherwise.
func need(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	testenv.Missing(t, format, args...)
}

// remoteBin returns the path of systemd-journal-remote, which turns journal
// export streams into real journal files.
func remoteBin(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("systemd-journal-remote")
	need(t, err == nil, "systemd-journal-remote is needed to write test journals (package systemd-journal-remote)")
	return p
}

// fields is one journal entry in export order; a field may repeat.
type fields [][2]string

// export encodes entries in the journal export format.
func export(entries []fields) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		for _, f := range e {
			if strings.ContainsAny(f[1], "\n") || !utf8.ValidString(f[1]) {
				b.WriteString(f[0] + "\n")
				_ = binary.Write(&b, binary.LittleEndian, uint64(len(f[1])))
				b.WriteString(f[1] + "\n")
				continue
			}
			b.WriteString(f[0] + "=" + f[1] + "\n")
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeJournal appends entries to the journal file (a name ending in
// .journal) with systemd-journal-remote, creating it if needed.
func writeJournal(t testing.TB, file string, entries []fields) {
	t.Helper()
	cmd := exec.Command(remoteBin(t), "-o", file, "-")
	cmd.Stdin = bytes.NewReader(export(entries))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote -o %s: %v: %s", file, err, out)
	}
}

const testBoot = "3f1e0c9a2b7d4e5f8a6b1c2d3e4f5a6b"

// entryAt returns an entry with the address fields for time tm.
func entryAt(tm time.Time, f ...[2]string) fields {
	e := fields{
		{"__REALTIME_TIMESTAMP", strconv.FormatInt(tm.UnixMicro(), 10)},
		{"__MONOTONIC_TIMESTAMP", strconv.FormatInt(tm.UnixMicro()%1e12, 10)},
		{"_BOOT_ID", testBoot},
	}
	return append(e, f...)
}

// corpus returns test entries starting at base, one second apart. Each has
// a TEST_ID field naming it.
func corpus(base time.Time) []fields {
	type kv = [2]string
	list := [][]kv{
		{{"TEST_ID", "sshd-unit"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "sshd"}, {"_PID", "1001"},
			{"_SYSTEMD_UNIT", "sshd.service"}, {"_COMM", "sshd"},
			{"MESSAGE", "Failed password for root from 192.0.2.1 port 2201 ssh2"}},
		{{"TEST_ID", "ssh-unit"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "sshd"}, {"_PID", "1002"},
			{"_SYSTEMD_UNIT", "ssh.service"}, {"_COMM", "sshd"},
			{"MESSAGE", "Invalid user admin from 192.0.2.2 port 2202"}},
		{{"TEST_ID", "sshd-session"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "sshd-session"}, {"_PID", "1003"},
			{"_SYSTEMD_UNIT", "ssh.service"}, {"_COMM", "sshd-session"},
			{"MESSAGE", "Connection closed by authenticating user root 192.0.2.3 port 2203 [preauth]"}},
		{{"TEST_ID", "nginx"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "nginx"}, {"_PID", "2000"},
			{"_SYSTEMD_UNIT", "nginx.service"}, {"_COMM", "nginx"}, {"MESSAGE", "worker started"}},
		{{"TEST_ID", "syslog-pid"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "CRON"}, {"SYSLOG_PID", "77"},
			{"_PID", "78"}, {"_SYSTEMD_UNIT", "cron.service"}, {"_COMM", "cron"},
			{"MESSAGE", "(root) CMD (run-parts /etc/cron.hourly)"}},
		{{"TEST_ID", "comm-only"}, {"_HOSTNAME", "mx"}, {"_PID", "300"}, {"_COMM", "smtpd"},
			{"_SYSTEMD_UNIT", "postfix@-.service"}, {"MESSAGE", "connect from unknown[198.51.100.4]"}},
		{{"TEST_ID", "kernel"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "kernel"},
			{"_SOURCE_MONOTONIC_TIMESTAMP", "12345678"}, {"MESSAGE", "IN=eth0 OUT= SRC=203.0.113.5"}},
		{{"TEST_ID", "multiline"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "sshd"}, {"_PID", "1004"},
			{"_SYSTEMD_UNIT", "sshd.service"}, {"_COMM", "sshd"}, {"MESSAGE", "first line\nsecond line"}},
		{{"TEST_ID", "source-time"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "app"}, {"_PID", "42"},
			{"_SOURCE_REALTIME_TIMESTAMP", strconv.FormatInt(base.Add(-time.Hour).UnixMicro(), 10)},
			{"MESSAGE", "stamped by its source"}},
		{{"TEST_ID", "invalid-utf8"}, {"_HOSTNAME", "web1"}, {"SYSLOG_IDENTIFIER", "app"}, {"_PID", "43"},
			{"MESSAGE", "bad \xff byte"}},
		{{"TEST_ID", "zero-syslog-pid"}, {"SYSLOG_IDENTIFIER", "app"}, {"SYSLOG_PID", "0"}, {"_PID", "55"},
			{"MESSAGE", "no hostname"}},
		{{"TEST_ID", "bare"}, {"_HOSTNAME", "web1"}, {"MESSAGE", "no identifier at all"}},
	}
	out := make([]fields, len(list))
	for i, f := range list {
		for j := range f {
			if f[j][0] == "MESSAGE" {
				f[j][1] += " #" + f[0][1]
			}
		}
		out[i] = entryAt(base.Add(time.Duration(i)*time.Second), f...)
	}
	return out
}

// follow runs r.Follow in a goroutine; entries arrive on the first channel
// and Follow's result on the second. Cancelling ctx ends it.
func follow(ctx context.Context, r *Reader) (<-chan Entry, <-chan error) {
	ch := make(chan Entry, 1<<16)
	done := make(chan error, 1)
	go func() { done <- r.Follow(ctx, func(e Entry) { ch <- e }) }()
	return ch, done
}

// receive collects n entries, failing after timeout.
func receive(t testing.TB, ch <-chan Entry, done <-chan error, n int, timeout time.Duration) []Entry {
	t.Helper()
	var got []Entry
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case e := <-ch:
			got = append(got, e)
		case err := <-done:
			t.Fatalf("Follow returned %v after %d of %d entries", err, len(got), n)
		case <-deadline:
			t.Fatalf("got %d of %d entries within %v: %v", len(got), n, timeout, got)
		}
	}
	return got
}

// quiet fails if an entry arrives within d.
func quiet(t testing.TB, ch <-chan Entry, d time.Duration) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("unexpected entry %+v", e)
	case <-time.After(d):
	}
}

// idOf returns the TEST_ID of a corpus entry from its line: corpus
// messages end in "#ID".
func idOf(line string) string {
	return line[strings.LastIndexByte(line, '#')+1:]
}

// ids returns the TEST_IDs of entries.
func ids(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = idOf(e.Line)
	}
	return out
}
