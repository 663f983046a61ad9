package filter

import (
	"bufio"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/internal/benchlog"
)

// batchResult is what Process (or ProcessAt) returned for a line.
type batchResult struct {
	f  Failure
	ok bool
}

// compareBatch runs lines through two filters built alike, one line by
// line with Process/ProcessAt, the other in batches of varying sizes on a
// pool, and reports every line whose results differ. Every seventh line
// carries a source time (the journal's path). With countOnly the batch
// filter is built with Options.CountOnly, as a jail builds its own: its
// failures must be Process's without their groups, users and matches.
func compareBatch(t *testing.T, name string, mk func(countOnly bool) (*Filter, error), lines []string, pool *Pool, countOnly bool) {
	t.Helper()
	seq, err := mk(false)
	if err != nil {
		t.Logf("%s: %v", name, err)
		return
	}
	bat, err := mk(countOnly)
	if err != nil {
		t.Fatalf("%s: second filter: %v", name, err)
	}
	at := func(i int) time.Time {
		if i%7 == 3 {
			return time.Unix(testNow-int64(i%500), 0)
		}
		return time.Time{}
	}
	want := make([]batchResult, len(lines))
	for i, l := range lines {
		if a := at(i); !a.IsZero() {
			want[i].f, want[i].ok = seq.ProcessAt(l, a)
		} else {
			want[i].f, want[i].ok = seq.Process(l)
		}
		if countOnly {
			want[i].f.Groups, want[i].f.Users, want[i].f.Matches = nil, nil, nil
		}
	}
	sizes := []int{1, 256, 3, 100, 33, 64, 7, 200, 2, 150}
	var items []Item
	var buf []byte
	var got, all []batchResult
	diffs, fails := 0, 0
	for i, k := 0, 0; i < len(lines); k++ {
		n := min(sizes[k%len(sizes)], len(lines)-i)
		items, buf = fillBatch(items, buf, lines, i, n, at)
		bat.Batch(items, pool)
		got = got[:0]
		for j := range items {
			var r batchResult
			r.f, r.ok = bat.Finish(&items[j])
			got = append(got, r)
		}
		for k := range buf {
			buf[k] = 'X'
		}
		// the items' own copies of their lines go the same way: what
		// the filter keeps past Finish must be its own
		for j := range items {
			b := items[j].buf[:cap(items[j].buf)]
			for k := range b {
				b[k] = 'Y'
			}
		}
		all = append(all, got...)
		i += n
	}
	// compared once every line went through: a failure that still
	// pointed into storage reused since (the source's buffer, an item's
	// line, a recycled F-MLFID entry) would differ by now
	for i, got := range all {
		w := want[i]
		if w.ok {
			fails++
		}
		if !reflect.DeepEqual(got, w) && diffs < 5 {
			diffs++
			t.Errorf("%s: line %d %q:\n batch   %v %+v\n process %v %+v", name, i, lines[i], got.ok, got.f, w.ok, w.f)
		}
	}
	t.Logf("%s: %d lines, %d failures", name, len(lines), fails)
}

// fillBatch makes items of lines[first:first+n], as the daemon's batches
// are: the items are reused from batch to batch, and their lines are cut
// from one buffer that the caller overwrites once the batch is finished,
// as a source's recycled chunk is, so that nothing the filter keeps or
// returns may point into it. Every other line is given with its newline
// (ResetNL), the others without (Reset). at gives a line's source time
// (nil: none).
func fillBatch(items []Item, buf []byte, lines []string, first, n int, at func(int) time.Time) ([]Item, []byte) {
	if cap(items) < n {
		items = make([]Item, n, 256)
	}
	items = items[:n]
	size := 0
	for j := range items {
		size += len(lines[first+j]) + 1
	}
	buf = slices.Grow(buf[:0], size)
	for j := range items {
		start := len(buf)
		buf = append(buf, lines[first+j]...)
		var t time.Time
		if at != nil {
			t = at(first + j)
		}
		if (first+j)%2 == 1 {
			// every other line comes with its newline, as the daemon's
			// file sources give them, and is matched in place
			buf = append(buf, '\n')
			items[j].ResetNL(unsafe.String(unsafe.SliceData(buf[start:]), len(buf)-start), t)
			continue
		}
		items[j].Reset(unsafe.String(unsafe.SliceData(buf[start:]), len(lines[first+j])), t)
	}
	return items, buf
}

// batchLines returns a file's lines (invalid UTF-8 replaced).
func batchLines(t *testing.T, path string) []string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	var out []string
	for sc.Scan() {
		out = append(out, strings.ToValidUTF8(sc.Text(), "\uFFFD"))
	}
	return out
}

// corpusFilters returns the stock filters that fail2ban's sample corpus
// has a log of (f2bLogs/NAME).
func corpusFilters(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(f2bConfDir, "filter.d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n := strings.TrimSuffix(e.Name(), ".conf")
		if !strings.HasSuffix(e.Name(), ".conf") || strings.HasSuffix(n, "common") {
			continue
		}
		if _, err := os.Stat(filepath.Join(f2bLogs, n)); err == nil {
			names = append(names, n)
		}
	}
	return names
}

// checkAllMaker builds a stock filter in CheckAll mode, as f2bctl regex
// does (frozen clock, raw host names); edit, when set, changes its
// definition first.
func checkAllMaker(t *testing.T, name string, params map[string]string, edit func(*config.Filter)) func() (*Filter, error) {
	def, err := config.LoadFilter(f2bConfDir, name, params)
	if err != nil {
		return func() (*Filter, error) { return nil, err }
	}
	if edit != nil {
		edit(def)
	}
	loc := testLocation(t)
	return func() (*Filter, error) {
		return New(Options{
			PrefRegex: def.PrefRegex, FailRegex: def.FailRegex, IgnoreRegex: def.IgnoreRegex,
			DatePattern: def.DatePattern, MaxLines: def.MaxLines, CheckAll: true, RawHost: true,
			Location: loc, Now: func() time.Time { return time.Unix(testNow, 0) },
		})
	}
}

// filterMaker builds a stock filter for batch comparisons (first match
// wins, as in the daemon; frozen clock).
func filterMaker(t *testing.T, name string, params map[string]string, useDNS string) func(bool) (*Filter, error) {
	def, err := config.LoadFilter(f2bConfDir, name, params)
	if err != nil {
		return func(bool) (*Filter, error) { return nil, err }
	}
	loc := testLocation(t)
	return func(countOnly bool) (*Filter, error) {
		return New(Options{
			PrefRegex: def.PrefRegex, FailRegex: def.FailRegex, IgnoreRegex: def.IgnoreRegex,
			DatePattern: def.DatePattern, MaxLines: def.MaxLines, UseDNS: useDNS,
			Resolve:  func(string) []string { return []string{"192.0.2.7"} },
			Location: loc, Now: func() time.Time { return time.Unix(testNow, 0) }, CountOnly: countOnly,
		})
	}
}

// TestBatchMatchesProcess checks that the staged, parallel batch path
// (Batch + Finish) gives every line exactly the failure Process gives
// (id, address, time, groups, matches, users, regex): over fail2ban's
// whole sample corpus, each log through its filter and with usedns no and
// raw and yes (resolver stubbed), and over generated sshd and mixed logs
// through the stock filters of the daemon benchmark; some of them with the
// jails' CountOnly failures.
func TestBatchMatchesProcess(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	pool := NewPool(3, PoolOptions{Yield: true})
	defer pool.Close()
	for _, n := range corpusFilters(t) {
		lines := batchLines(t, filepath.Join(f2bLogs, n))
		for _, dns := range []string{"no", "raw", "yes"} {
			compareBatch(t, n+"/usedns="+dns, filterMaker(t, n, nil, dns), lines, pool, dns == "raw")
		}
	}
	if testing.Short() {
		return
	}
	dir := t.TempDir()
	for _, kind := range []string{"sshd", "mixed"} {
		out := filepath.Join(dir, kind+".log")
		cmd := exec.Command("go", "run", "../../scripts/genlog", "-n", "60000", "-seed", "5", "-kind", kind,
			"-start", "1124000000", "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("genlog: %v\n%s", err, b)
		}
		lines := batchLines(t, out)
		for _, fl := range []struct {
			name   string
			params map[string]string
		}{
			{"sshd", nil}, {"sshd", map[string]string{"mode": "aggressive"}}, {"sshd", map[string]string{"mode": "ddos"}},
			{"dropbear", nil}, {"selinux-ssh", nil}, {"nginx-http-auth", nil}, {"nginx-botsearch", nil},
			{"postfix", nil}, {"postfix", map[string]string{"mode": "auth"}}, {"dovecot", nil}, {"sieve", nil}, {"asterisk", nil},
		} {
			if kind == "sshd" && fl.name != "sshd" {
				continue
			}
			compareBatch(t, kind+"/"+fl.name+"/"+fl.params["mode"], filterMaker(t, fl.name, fl.params, "no"), lines, pool, kind == "sshd" || fl.params != nil)
		}
	}
}

// TestNextSet checks nextSet against a bit-by-bit search.
func TestNextSet(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + rnd.IntN(200)
		mask := make([]uint64, (n+63)/64+1) // a word beyond n's, like the prefilter's extra words
		for w := range mask {
			mask[w] = rnd.Uint64() & rnd.Uint64() & rnd.Uint64()
		}
		for i := 0; i <= n; i++ {
			want := -1
			for j := i; j < n; j++ {
				if mask[j/64]&(1<<(j%64)) != 0 {
					want = j
					break
				}
			}
			if got := nextSet(mask, i, n); got != want {
				t.Fatalf("n=%d i=%d: nextSet %d, want %d", n, i, got, want)
			}
		}
	}
}

// TestFailureKeepsNoSourceBuffer: a failure's line, matched lines and group
// values are the filter's own copies, so that a source may cut lines from a
// shared buffer (tail's chunks) without failures keeping it alive.
func TestFailureKeepsNoSourceBuffer(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f, err := New(Options{
		FailRegex: []string{`^\s*Failed password for (?P<user>\S+) from <HOST>`},
		Now:       func() time.Time { return now },
		Location:  time.UTC,
	})
	if err != nil {
		t.Fatal(err)
	}
	chunk := "Nov 22 10:00:00 Failed password for root from 198.51.100.7 port 22\nnext line\n"
	line := chunk[:strings.IndexByte(chunk, '\n')]
	inChunk := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		base := uintptr(unsafe.Pointer(unsafe.StringData(chunk)))
		return p >= base && p < base+uintptr(len(chunk))
	}
	items := []Item{{Line: line}}
	f.Batch(items, nil)
	fl, ok := f.Finish(&items[0])
	if !ok {
		t.Fatal("no failure")
	}
	if inChunk(fl.Line) {
		t.Error("Failure.Line points into the source's buffer")
	}
	for _, m := range fl.Matches {
		if inChunk(m) {
			t.Errorf("match %q points into the source's buffer", m)
		}
	}
	for k, v := range fl.Groups {
		if inChunk(v) {
			t.Errorf("group %s=%q points into the source's buffer", k, v)
		}
	}
	if fl.Groups["user"] != "root" || fl.ID != "198.51.100.7" {
		t.Errorf("failure %+v", fl)
	}
}

// BenchmarkBatchGenlog runs the stock sshd filter over a generated auth.log
// as the daemon does: batches of 256 lines, their items reused from batch
// to batch, dated, matched (on the calling goroutine) and finished. One op
// is one line; its allocations and the GC they cause are part of it.
func BenchmarkBatchGenlog(b *testing.B) {
	lines := benchlog.Lines(b, "sshd")
	f := genlogFilter(b, "", false)
	const batch = 256
	items := make([]Item, batch)
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for n := 0; n < b.N; n += batch {
		k := min(batch, b.N-n)
		for i := range items[:k] {
			items[i].Reset(lines[next], time.Time{})
			if next++; next == len(lines) {
				next = 0
			}
		}
		f.Batch(items[:k], nil)
		for i := range items[:k] {
			f.Finish(&items[i])
		}
	}
}

// TestLongLineBufferNotKept checks that an item matches a line longer than
// the buffer it keeps, and that it does not keep that line's buffer for
// the lines after (the daemon holds about a thousand items).
func TestLongLineBufferNotKept(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f, err := New(Options{
		FailRegex: []string{`^\s*Failed password for (?P<user>\S+) from <HOST> port \d+ \S*$`},
		Now:       func() time.Time { return now },
		Location:  time.UTC,
	})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Item, 1)
	for _, n := range []int{10, 3 * itemBufMax, 20} {
		items[0].Reset("Nov 22 10:00:00 Failed password for root from 198.51.100.7 port 22 "+strings.Repeat("x", n), time.Time{})
		f.Batch(items, nil)
		fl, ok := f.Finish(&items[0])
		if !ok || fl.ID != "198.51.100.7" || fl.Groups["user"] != "root" {
			t.Fatalf("line of %d bytes: %v %+v", n, ok, fl)
		}
		if c := cap(items[0].buf); c > itemBufMax {
			t.Errorf("after a line of %d bytes the item keeps a buffer of %d", n, c)
		}
	}
}

// TestProcessLineKeepsNoLine checks what f2bctl regex relies on when it
// hands ProcessLine lines that alias its reading buffer: in CheckAll mode
// (every failregex tried, every match returned), with every group, no
// result and no state kept past the call points into the line. Each
// sample log of fail2ban's corpus goes through its filter twice, once
// with lines of their own and once with lines cut from one buffer that
// is overwritten after each call; the results, compared once every line
// went through, must be the same.
func TestProcessLineKeepsNoLine(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	checked := 0
	for _, n := range corpusFilters(t) {
		mk := checkAllMaker(t, n, nil, nil)
		own, err := mk()
		if err != nil {
			t.Logf("%s: %v", n, err) // as compareBatch does
			continue
		}
		aliased, err := mk()
		if err != nil {
			t.Fatalf("%s: second filter: %v", n, err)
		}
		logf := filepath.Join(f2bLogs, n)
		lines := batchLines(t, logf)
		var want, got [][]Failure
		var buf []byte
		for _, l := range lines {
			w, _ := own.ProcessLine(l)
			want = append(want, w)
			buf = append(buf[:0], l...)
			g, _ := aliased.ProcessLine(unsafe.String(unsafe.SliceData(buf), len(buf)))
			got = append(got, g)
			for k := range buf {
				buf[k] = 'X'
			}
		}
		for i := range lines {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s: line %d %q:\n aliased %+v\n own     %+v", n, i+1, lines[i], got[i], want[i])
				break
			}
			checked += len(want[i])
		}
	}
	if checked < 500 {
		t.Fatalf("only %d results compared: the corpus did not run", checked)
	}
	t.Logf("%d results compared", checked)
}

// compareBatchAll is compareBatch for CheckAll filters, as f2bctl regex
// runs them: every line's results from FinishAll after Batch must be
// ProcessLine's, every match's failures in order (F-NOFAIL and pending
// ones included), with the same errors and the same Ignored answer.
func compareBatchAll(t *testing.T, name string, mk func() (*Filter, error), lines []string, pool *Pool) int {
	t.Helper()
	seq, err := mk()
	if err != nil {
		t.Logf("%s: %v", name, err)
		return 0
	}
	bat, err := mk()
	if err != nil {
		t.Fatalf("%s: second filter: %v", name, err)
	}
	type result struct {
		fs      []Failure
		err     string
		ignored bool
	}
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	own := func(fs []Failure) []Failure {
		if len(fs) == 0 {
			return nil
		}
		return slices.Clone(fs)
	}
	want := make([]result, len(lines))
	for i, l := range lines {
		fs, err := seq.ProcessLine(l)
		want[i] = result{own(fs), errText(err), seq.Ignored()}
	}
	sizes := []int{1, 256, 3, 100, 33, 64, 7, 200, 2, 150}
	var items []Item
	var buf []byte
	var got []result
	diffs, n := 0, 0
	for i, k := 0, 0; i < len(lines); k++ {
		m := min(sizes[k%len(sizes)], len(lines)-i)
		items, buf = fillBatch(items, buf, lines, i, m, nil)
		bat.Batch(items, pool)
		for j := range items {
			fs, err := bat.FinishAll(&items[j])
			got = append(got, result{own(fs), errText(err), bat.Ignored()})
		}
		// what outlives the batch must not point into its lines
		for k := range buf {
			buf[k] = 'X'
		}
		i += m
	}
	for i := range lines {
		n += len(want[i].fs)
		if !reflect.DeepEqual(got[i], want[i]) && diffs < 5 {
			diffs++
			t.Errorf("%s: line %d %q:\n batch   %+v\n process %+v", name, i+1, lines[i], got[i], want[i])
		}
	}
	return n
}

// TestBatchAllMatchesProcessLine checks the staged path of CheckAll
// filters (Batch + FinishAll, f2bctl regex's) against ProcessLine over
// fail2ban's sample corpus, each log through its filter, and over the
// generated sshd log through the stock sshd filter in its three modes.
func TestBatchAllMatchesProcessLine(t *testing.T) {
	need(t, f2bConfDir, f2bLogs)
	pool := NewPool(3, PoolOptions{Yield: true})
	defer pool.Close()
	total := 0
	for _, n := range corpusFilters(t) {
		total += compareBatchAll(t, n, checkAllMaker(t, n, nil, nil), batchLines(t, filepath.Join(f2bLogs, n)), pool)
	}
	if total < 500 {
		t.Fatalf("only %d results compared: the corpus did not run", total)
	}
	if testing.Short() {
		return
	}
	out := filepath.Join(t.TempDir(), "sshd.log")
	cmd := exec.Command("go", "run", "../../scripts/genlog", "-n", "30000", "-seed", "7", "-kind", "sshd",
		"-start", "1124000000", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genlog: %v\n%s", err, b)
	}
	lines := batchLines(t, out)
	for _, mode := range []string{"normal", "aggressive", "ddos"} {
		n := compareBatchAll(t, "genlog/sshd/"+mode, checkAllMaker(t, "sshd", map[string]string{"mode": mode}, nil), lines, pool)
		t.Logf("genlog/sshd/%s: %d results", mode, n)
	}
	// An ignoreregex, tried before the failregexes (few of them beside
	// many failregexes) and after each match (with two failregexes).
	ignore := func(def *config.Filter) { def.IgnoreRegex = []string{`from 198\.51\.100\.\d+ `} }
	two := func(def *config.Filter) {
		ignore(def)
		def.FailRegex = slices.DeleteFunc(def.FailRegex, func(r string) bool {
			return !strings.Contains(r, "Failed") && !strings.Contains(r, "Connection from")
		})[:2]
	}
	for _, c := range []struct {
		name string
		edit func(*config.Filter)
	}{{"ignore first", ignore}, {"ignore after a match", two}} {
		bat, err := checkAllMaker(t, "sshd", nil, c.edit)()
		if err != nil {
			t.Fatal(err)
		}
		ignored := 0
		for _, l := range lines {
			bat.ProcessLine(l)
			if bat.Ignored() {
				ignored++
			}
		}
		if ignored == 0 {
			t.Fatalf("%s: no line ignored", c.name)
		}
		n := compareBatchAll(t, "genlog/sshd/"+c.name, checkAllMaker(t, "sshd", nil, c.edit), lines, pool)
		t.Logf("genlog/sshd/%s: %d results, %d lines ignored", c.name, n, ignored)
	}
}

// TestCountOnlyResults checks Options.CountOnly's promise over the
// generated sshd log in CheckAll mode (f2bctl regex's): every result is
// the full filter's, without groups, users and matches, and an F-NOFAIL
// one also without its line and address; none is missing or added.
func TestCountOnlyResults(t *testing.T) {
	need(t, f2bConfDir)
	def, err := config.LoadFilter(f2bConfDir, "sshd", nil)
	if err != nil {
		t.Fatal(err)
	}
	loc := testLocation(t)
	mk := func(countOnly bool) *Filter {
		f, err := New(Options{
			PrefRegex: def.PrefRegex, FailRegex: def.FailRegex, IgnoreRegex: def.IgnoreRegex,
			DatePattern: def.DatePattern, MaxLines: def.MaxLines, CheckAll: true, CountOnly: countOnly,
			Location: loc, Now: func() time.Time { return time.Unix(testNow, 0) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	out := filepath.Join(t.TempDir(), "sshd.log")
	cmd := exec.Command("go", "run", "../../scripts/genlog", "-n", "5000", "-seed", "3", "-kind", "sshd",
		"-start", "1124000000", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genlog: %v\n%s", err, b)
	}
	full, slim := mk(false), mk(true)
	nofail := 0
	for i, l := range batchLines(t, out) {
		want, _ := full.ProcessLine(l)
		got, _ := slim.ProcessLine(l)
		want = slices.Clone(want)
		for k := range want {
			w := &want[k]
			w.Groups, w.Users, w.Matches = nil, nil, nil
			if w.NoFail {
				w.Line, w.Addr = "", netip.Addr{}
				nofail++
			}
		}
		if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("line %d %q:\n count-only %+v\n full       %+v", i+1, l, got, want)
		}
	}
	if nofail < 1000 {
		t.Fatalf("%d F-NOFAIL results in 5000 lines: the log did not exercise them", nofail)
	}
}
