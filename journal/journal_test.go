package journal

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testBase = time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC)

// corpusDir writes the corpus into a fresh journal directory.
func corpusDir(t *testing.T) (string, []fields) {
	t.Helper()
	dir := t.TempDir()
	c := corpus(testBase)
	writeJournal(t, filepath.Join(dir, "remote.journal"), c)
	return dir, c
}

// readAll opens o (from well before the corpus) and returns the first n
// entries, checking that no more arrive.
func readAll(t *testing.T, o Options, n int) []Entry {
	t.Helper()
	if o.Since.IsZero() && o.Cursor == "" {
		o.Since = testBase.Add(-24 * time.Hour)
	}
	r, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, done := follow(ctx, r)
	got := receive(t, ch, done, n, 10*time.Second)
	quiet(t, ch, 300*time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow after cancel: %v", err)
	}
	return got
}

func TestLineFormat(t *testing.T) {
	dir, c := corpusDir(t)
	got := readAll(t, Options{Path: dir}, len(c))
	at := func(i int) time.Time { return testBase.Add(time.Duration(i) * time.Second) }
	want := []struct {
		line string
		time time.Time
	}{
		{"web1 sshd[1001]: Failed password for root from 192.0.2.1 port 2201 ssh2 #sshd-unit", at(0)},
		{"web1 sshd[1002]: Invalid user admin from 192.0.2.2 port 2202 #ssh-unit", at(1)},
		{"web1 sshd-session[1003]: Connection closed by authenticating user root 192.0.2.3 port 2203 [preauth] #sshd-session", at(2)},
		{"web1 nginx[2000]: worker started #nginx", at(3)},
		{"web1 CRON[77]: (root) CMD (run-parts /etc/cron.hourly) #syslog-pid", at(4)},
		{"mx smtpd[300]: connect from unknown[198.51.100.4] #comm-only", at(5)},
		{"web1 kernel: [   12.345678] IN=eth0 OUT= SRC=203.0.113.5 #kernel", at(6)},
		{`web1 sshd[1004]: first line\nsecond line #multiline`, at(7)},
		{"web1 app[42]: stamped by its source #source-time", testBase.Add(-time.Hour)},
		{"web1 app[43]: bad \uFFFD byte #invalid-utf8", at(9)},
		{"app[55]: no hostname #zero-syslog-pid", at(10)},
		{"web1 no identifier at all #bare", at(11)},
	}
	seen := map[string]bool{}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line {
			t.Errorf("entry %d line\n got %q\nwant %q", i, g.Line, w.line)
		}
		if !g.Time.Equal(w.time) {
			t.Errorf("entry %d (%s) time %v, want %v", i, idOf(w.line), g.Time, w.time)
		}
		if g.Cursor == "" || seen[g.Cursor] {
			t.Errorf("entry %d cursor %q empty or repeated", i, g.Cursor)
		}
		seen[g.Cursor] = true
	}
}

func TestMatches(t *testing.T) {
	dir, _ := corpusDir(t)
	stock := "_SYSTEMD_UNIT=sshd.service + _COMM=sshd"
	widened, err := ParseMatches(stock)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"sshd-unit", "ssh-unit", "sshd-session", "nginx", "syslog-pid", "comm-only",
		"kernel", "multiline", "source-time", "invalid-utf8", "zero-syslog-pid", "bare"}
	for _, tc := range []struct {
		name, match string
		want        []string
	}{
		{"none", "", all},
		{"stock sshd", stock, []string{"sshd-unit", "ssh-unit", "multiline"}},
		{"stock sshd widened", widened.WidenSSH().String(), []string{"sshd-unit", "ssh-unit", "sshd-session", "multiline"}},
		{"AND of fields", "_SYSTEMD_UNIT=ssh.service _COMM=sshd-session", []string{"sshd-session"}},
		{"AND excludes", "_SYSTEMD_UNIT=sshd.service _COMM=nginx", nil},
		{"same field is OR", "_SYSTEMD_UNIT=ssh.service _SYSTEMD_UNIT=nginx.service", []string{"ssh-unit", "sshd-session", "nginx"}},
		{"lines are OR", "_SYSTEMD_UNIT=cron.service\n_COMM=smtpd", []string{"syslog-pid", "comm-only"}},
		{"quoted value", `MESSAGE='worker started #nginx' + SYSLOG_IDENTIFIER="kernel"`, []string{"nginx", "kernel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(readAll(t, Options{Path: dir, Matches: tc.match}, len(tc.want)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("journalmatch %q delivered %v, want %v", tc.match, got, tc.want)
			}
		})
	}
}

// oracle runs fail2ban's own systemd backend code (testdata/fail2ban_lines.py)
// over dir.
type oracleEntry struct {
	Cursor string  `json:"cursor"`
	Line   string  `json:"line"`
	Time   float64 `json:"time"`
}

func oracle(t *testing.T, dir, match string) []oracleEntry {
	t.Helper()
	py := "/usr/bin/python3"
	probe := exec.Command(py, "-c", "import systemd.journal, fail2ban.server.filtersystemd")
	need(t, probe.Run() == nil, "%s with fail2ban and python3-systemd is needed for the fail2ban comparison", py)
	cmd := exec.Command(py, "testdata/fail2ban_lines.py", dir, match)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban oracle: %v", err)
	}
	var res []oracleEntry
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		var e oracleEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("oracle line %q: %v", l, err)
		}
		res = append(res, e)
	}
	return res
}

// TestSameAsFail2ban compares entries, lines and times with what fail2ban's
// own systemd backend produces for the same journal and journalmatch.
func TestSameAsFail2ban(t *testing.T) {
	dir, _ := corpusDir(t)
	for _, match := range []string{
		"",
		"_SYSTEMD_UNIT=sshd.service + _COMM=sshd",
		"_SYSTEMD_UNIT=ssh.service _COMM=sshd-session + SYSLOG_IDENTIFIER=kernel",
		"_SYSTEMD_UNIT=ssh.service _SYSTEMD_UNIT=cron.service\n_HOSTNAME=mx",
	} {
		want := oracle(t, dir, match)
		if len(want) == 0 {
			t.Fatalf("oracle found no entries for %q", match)
		}
		got := readAll(t, Options{Path: dir, Matches: match}, len(want))
		for i, w := range want {
			g := got[i]
			if g.Cursor != w.Cursor || g.Line != w.Line {
				t.Errorf("match %q entry %d:\n got %q %q\nwant %q %q", match, i, g.Cursor, g.Line, w.Cursor, w.Line)
			}
			if d := math.Abs(float64(g.Time.UnixMicro())/1e6 - w.Time); d > 2e-6 {
				t.Errorf("match %q entry %d time %v, fail2ban %f", match, i, g.Time, w.Time)
			}
		}
	}
}

func TestCursorAndSince(t *testing.T) {
	dir, c := corpusDir(t)
	all := readAll(t, Options{Path: dir}, len(c))

	got := readAll(t, Options{Path: dir, Cursor: all[3].Cursor}, len(c)-4)
	if !slices.Equal(ids(got), ids(all[4:])) {
		t.Errorf("after cursor of %s: %v, want %v", idOf(all[3].Line), ids(got), ids(all[4:]))
	}
	// A cursor whose entry the match excludes resumes at the next match.
	got = readAll(t, Options{Path: dir, Cursor: all[3].Cursor, Matches: "_SYSTEMD_UNIT=sshd.service"}, 1)
	if ids(got)[0] != "multiline" {
		t.Errorf("after cursor with match: %v, want [multiline]", ids(got))
	}
	// Since selects by the journal's receive time of entry 5 onwards.
	got = readAll(t, Options{Path: dir, Since: testBase.Add(5 * time.Second)}, len(c)-5)
	if !slices.Equal(ids(got), ids(all[5:])) {
		t.Errorf("since entry 5: %v, want %v", ids(got), ids(all[5:]))
	}
}

func TestFiles(t *testing.T) {
	dir, _ := corpusDir(t)
	got := readAll(t, Options{Files: []string{filepath.Join(dir, "*.journal")}, Matches: "_COMM=sshd"}, 3)
	if want := []string{"sshd-unit", "ssh-unit", "multiline"}; !slices.Equal(ids(got), want) {
		t.Errorf("files: %v, want %v", ids(got), want)
	}
	if _, err := Open(Options{Files: []string{filepath.Join(dir, "*.nothing")}}); err == nil {
		t.Error("Open with files matching nothing: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, o := range []Options{
		{Path: "/x", Files: []string{"/y"}},
		{Matches: "_SYSTEMD_UNIT"},
		{Matches: "lower=case"},
		{Matches: "A='unterminated"},
	} {
		if r, err := Open(o); err == nil {
			r.Close()
			t.Errorf("Open(%+v): no error", o)
		}
	}
}

// liveMsg builds an entry stamped now whose message is "tag #id".
func liveMsg(id, unit string) fields {
	return entryAt(time.Now(), [2]string{"_HOSTNAME", "live"}, [2]string{"SYSLOG_IDENTIFIER", "sshd"},
		[2]string{"_PID", "9"}, [2]string{"_SYSTEMD_UNIT", unit}, [2]string{"MESSAGE", "live #" + id})
}

// startFollowing starts Follow from the end of the journal and returns once
// it delivers: it appends probe entries to file until one arrives, so the
// reader is known to be positioned.
func startFollowing(t *testing.T, ctx context.Context, o Options, file string) (<-chan Entry, <-chan error, *Reader) {
	t.Helper()
	r, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ch, done := follow(ctx, r)
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		writeJournal(t, file, []fields{liveMsg("probe"+strconv.Itoa(i), "sshd.service")})
		select {
		case e := <-ch:
			if !strings.Contains(idOf(e.Line), "probe") {
				t.Fatalf("first entry delivered is not a probe: %q", e.Line)
			}
			// Later probes may still arrive; drain them.
			for {
				select {
				case <-ch:
					continue
				case <-time.After(300 * time.Millisecond):
				}
				break
			}
			return ch, done, r
		case err := <-done:
			t.Fatalf("Follow: %v", err)
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("Follow delivered no appended entry within 10s")
		}
	}
}

func TestFollowAppended(t *testing.T) {
	dir, _ := corpusDir(t)
	file := filepath.Join(dir, "remote.journal")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Starting from the end: the corpus must not be delivered.
	ch, done, _ := startFollowing(t, ctx, Options{Path: dir, Matches: "_SYSTEMD_UNIT=sshd.service"}, file)

	var worst time.Duration
	for i := range 5 {
		id := "new" + strconv.Itoa(i)
		start := time.Now()
		writeJournal(t, file, []fields{liveMsg("other"+strconv.Itoa(i), "nginx.service"), liveMsg(id, "sshd.service")})
		got := receive(t, ch, done, 1, 5*time.Second)
		worst = max(worst, time.Since(start))
		if idOf(got[0].Line) != id || !strings.HasPrefix(got[0].Line, "live sshd[9]: ") {
			t.Fatalf("appended entry %d: %q", i, got[0].Line)
		}
		if d := time.Since(got[0].Time); d < 0 || d > 10*time.Second {
			t.Errorf("entry time %v is not its own recent timestamp", got[0].Time)
		}
	}
	t.Logf("worst delivery latency from starting the append (a systemd-journal-remote run): %v", worst)
	if worst > 2*time.Second {
		t.Errorf("delivery took %v", worst)
	}
	quiet(t, ch, 300*time.Millisecond)

	// A new journal file in the directory (as after rotation) is followed.
	writeJournal(t, filepath.Join(dir, "remote-2.journal"), []fields{liveMsg("rotated", "sshd.service")})
	if got := receive(t, ch, done, 1, 5*time.Second); idOf(got[0].Line) != "rotated" {
		t.Errorf("entry in new file: %q", got[0].Line)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Follow after cancel: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Follow did not return within 3s of cancel")
	}
}

func TestFollowEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, done, r := startFollowing(t, ctx, Options{Path: dir}, filepath.Join(dir, "remote.journal"))
	writeJournal(t, filepath.Join(dir, "remote.journal"), []fields{liveMsg("after", "ssh.service")})
	if got := receive(t, ch, done, 1, 5*time.Second); idOf(got[0].Line) != "after" {
		t.Errorf("got %q", got[0].Line)
	}
	// Close ends a running Follow.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Follow after Close: %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Follow did not return within 3s of Close")
	}
	if err := r.Follow(ctx, func(Entry) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Follow on closed reader: %v", err)
	}
}

// TestSystemJournal opens the system journal with fail2ban's default flags
// and follows it until the context ends.
func TestSystemJournal(t *testing.T) {
	r, err := Open(Options{Matches: "_SYSTEMD_UNIT=sshd.service + _COMM=sshd"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := r.Follow(ctx, func(Entry) {}); err != nil {
		t.Errorf("Follow: %v", err)
	}
}
