package banstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
	"github.com/f2bd/f2bd/pkg/ban"
	bolt "go.etcd.io/bbolt"
)

func open(t testing.TB, path string, o *Options) *Store {
	t.Helper()
	s, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func pfx(s string) netip.Prefix {
	if strings.Contains(s, "/") {
		return netip.MustParsePrefix(s)
	}
	return HostPrefix(netip.MustParseAddr(s))
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func rec(jail, p string, start time.Time, bt time.Duration, count int) Record {
	return Record{Jail: jail, Prefix: pfx(p), Time: start, BanTime: bt, Count: count,
		Failures: 5, Origin: ban.OriginJail, Matches: []string{"line 1 " + p, "line 2 " + p}}
}

func equalRecord(a, b Record) bool {
	return a.Jail == b.Jail && a.Prefix == b.Prefix && a.Time.Equal(b.Time) && a.BanTime == b.BanTime &&
		a.Count == b.Count && a.Failures == b.Failures && a.Origin == b.Origin && slices.Equal(a.Matches, b.Matches)
}

func TestRoundTrip(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	want := []Record{
		rec("sshd", "192.0.2.1", t0, 10*time.Minute, 1),
		rec("sshd", "2001:db8::1", t0.Add(time.Second), ban.Permanent, 3),
		rec("nginx", "198.51.100.0/24", t0, time.Hour, 1),
	}
	want[2].Origin, want[2].Matches = ban.OriginCLI, nil
	for _, r := range want {
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range want {
		got, ok, err := s.Get(r.Jail, r.Prefix)
		if err != nil || !ok || !equalRecord(got, r) {
			t.Errorf("Get(%s, %s) = %+v, %v, %v; want %+v", r.Jail, r.Prefix, got, ok, err, r)
		}
	}
	// Replace: same jail and prefix.
	repl := rec("sshd", "192.0.2.1", t0.Add(time.Hour), 20*time.Minute, 2)
	if err := s.Put(repl); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get("sshd", repl.Prefix); !equalRecord(got, repl) {
		t.Errorf("after replace Get = %+v, want %+v", got, repl)
	}
	all, err := s.List("")
	if err != nil || len(all) != 3 {
		t.Fatalf("List(\"\") = %d records, %v; want 3", len(all), err)
	}
	sshd, err := s.List("sshd")
	if err != nil || len(sshd) != 2 || sshd[0].Jail != "sshd" || sshd[1].Jail != "sshd" {
		t.Fatalf("List(sshd) = %+v, %v", sshd, err)
	}
	if n, err := s.Len("nginx"); err != nil || n != 1 {
		t.Errorf("Len(nginx) = %d, %v", n, err)
	}
	if l, _ := s.List("ssh"); len(l) != 0 {
		t.Errorf("List(ssh) matched another jail's bans: %+v", l)
	}
	// A mapped address and a subnet with host bits set are canonical.
	if _, ok, _ := s.Get("sshd", HostPrefix(netip.MustParseAddr("::ffff:192.0.2.1"))); !ok {
		t.Error("IPv4-mapped address did not find the IPv4 ban")
	}
	if _, ok, _ := s.Get("nginx", netip.MustParsePrefix("198.51.100.77/24")); !ok {
		t.Error("prefix with host bits did not find the subnet ban")
	}
	if d := want[1].Decision(); d.Addr != netip.MustParseAddr("2001:db8::1") || d.BanTime != ban.Permanent {
		t.Errorf("Decision() = %+v", d)
	}
	ok, err := s.Delete("sshd", pfx("192.0.2.1"))
	if err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if ok, _ := s.Delete("sshd", pfx("192.0.2.1")); ok {
		t.Error("second Delete found the ban again")
	}
	if _, ok, _ := s.Get("sshd", pfx("192.0.2.1")); ok {
		t.Error("Get after Delete found the ban")
	}
	// Delete keeps the history.
	if h, _ := s.Count("sshd", pfx("192.0.2.1"), false); h.Count != 2 {
		t.Errorf("history after Delete = %+v, want count 2", h)
	}
}

func TestPutRefuses(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	for _, r := range []Record{
		{Jail: "", Prefix: pfx("192.0.2.1"), Time: t0},
		{Jail: "a\x00b", Prefix: pfx("192.0.2.1"), Time: t0},
		{Jail: "sshd", Time: t0},
		{Jail: "sshd", Prefix: pfx("192.0.2.1")},
	} {
		if err := s.PutAll([]Record{rec("ok", "192.0.2.9", t0, time.Minute, 1), r}); err == nil {
			t.Errorf("Put(%+v) accepted", r)
		}
	}
	if n, _ := s.Len(""); n != 0 {
		t.Errorf("a failed PutAll stored %d bans", n)
	}
}

func TestMaxMatches(t *testing.T) {
	dir := t.TempDir()
	r := rec("sshd", "192.0.2.1", t0, time.Minute, 1)
	r.Matches = []string{"a", "b", "c"}
	for _, tc := range []struct {
		max  int
		want []string
	}{{0, []string{"a", "b", "c"}}, {2, []string{"b", "c"}}, {-1, nil}} {
		s := open(t, filepath.Join(dir, fmt.Sprint(tc.max)), &Options{MaxMatches: tc.max})
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.Get("sshd", r.Prefix)
		if !slices.Equal(got.Matches, tc.want) {
			t.Errorf("MaxMatches %d: stored %q, want %q", tc.max, got.Matches, tc.want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rec("sshd", "192.0.2.1", t0, time.Hour, 4)
	if err := s.Put(r); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, nil)
	got, ok, err := s.Get("sshd", r.Prefix)
	if err != nil || !ok || !equalRecord(got, r) {
		t.Fatalf("after reopen Get = %+v, %v, %v", got, ok, err)
	}
	if h, err := s.Count("sshd", r.Prefix, false); err != nil || h.Count != 4 || !h.LastBan.Equal(t0) {
		t.Errorf("after reopen Count = %+v, %v", h, err)
	}
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path, nil)
	start := time.Now()
	s2, err := Open(path, &Options{Timeout: 100 * time.Millisecond})
	took := time.Since(start)
	if err == nil {
		_ = s2.Close()
		t.Fatal("second Open of a held file succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v; want ErrLocked naming %s", err, path)
	}
	if took > 2*time.Second {
		t.Errorf("second Open took %v, want about the 100ms timeout", took)
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	garbage := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	path := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, nil); err == nil {
		_ = s.Close()
		t.Fatal("Open of a garbage file succeeded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
	// A bbolt file of a newer schema.
	path = filepath.Join(dir, "newer.db")
	s := open(t, path, nil)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bucketMeta)).Put([]byte(keyVersion), []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, nil); err == nil {
		_ = s.Close()
		t.Fatal("Open of a newer schema succeeded")
	} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "99") {
		t.Errorf("error %v does not name %s and the version", err, path)
	}
}

func TestExpired(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	now := t0.Add(time.Hour)
	rs := []Record{
		rec("sshd", "192.0.2.1", t0, 30*time.Minute, 1),          // ran out
		rec("sshd", "192.0.2.2", t0, time.Hour, 1),               // runs out exactly now
		rec("sshd", "192.0.2.3", t0, 2*time.Hour, 1),             // an hour left
		rec("web", "192.0.2.1", t0, ban.Permanent, 1),            // never
		rec("web", "192.0.2.4", now.Add(time.Minute), 0, 1),      // starts later
		rec("web", "192.0.2.5", t0.Add(-48*time.Hour), 1<<62, 1), // very long
	}
	if err := s.PutAll(rs); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rs {
		if r.Expired(now) {
			want = append(want, r.Jail+" "+r.Prefix.String())
		}
		rem := r.Remaining(now)
		if r.Expired(now) != (rem <= 0 && !r.Permanent()) {
			t.Errorf("%s %s: Expired %v but Remaining %v", r.Jail, r.Prefix, r.Expired(now), rem)
		}
	}
	if len(want) != 2 {
		t.Fatalf("test table: %d expired, want 2: %v", len(want), want)
	}
	ex, err := s.Expired(now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ex {
		got = append(got, r.Jail+" "+r.Prefix.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("Expired = %v, want %v", got, want)
	}
	n, err := s.RemoveExpired(now)
	if err != nil || n != len(want) {
		t.Fatalf("RemoveExpired = %d, %v; want %d", n, err, len(want))
	}
	if left, _ := s.Len(""); left != len(rs)-len(want) {
		t.Errorf("%d bans left, want %d", left, len(rs)-len(want))
	}
	if ex, _ := s.Expired(now); len(ex) != 0 {
		t.Errorf("Expired after RemoveExpired = %v", ex)
	}
}

func TestForget(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	if err := s.PutAll([]Record{rec("a", "192.0.2.1", t0, time.Hour, 2), rec("b", "192.0.2.1", t0, time.Hour, 3)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget("a", pfx("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get("a", pfx("192.0.2.1")); ok {
		t.Error("Forget left the ban")
	}
	if h, _ := s.Count("a", pfx("192.0.2.1"), false); h.Count != 0 {
		t.Errorf("Forget left the history: %+v", h)
	}
	if h, _ := s.Count("a", pfx("192.0.2.1"), true); h.Count != 3 {
		t.Errorf("overall count after Forget in a = %+v, want b's 3", h)
	}
}

// dbOracle runs fail2ban's own Fail2BanDb (in memory): it stores the bans
// with addBan, answers the queries with getBan before and after purge at
// now.
const dbOracle = `
import sys, json
from fail2ban.server.database import Fail2BanDb
from fail2ban.server.ticket import BanTicket
from fail2ban.server.mytime import MyTime
class Actions:
    def getBanTime(s): return 600
class J:
    def __init__(s, n): s.name = n; s.actions = Actions()
c = json.load(sys.stdin)
db = Fail2BanDb(":memory:", purgeAge=c["purgeage"])
jails = {}
for jail, ip, t, bt, cnt in c["bans"]:
    if jail not in jails:
        jails[jail] = J(jail); db.addJail(jails[jail])
    tk = BanTicket(ip, t); tk.setBanTime(bt); tk.setBanCount(cnt, always=True)
    db.addBan(jails[jail], tk)
def q():
    out = []
    for jail, ip, overall in c["queries"]:
        r = db.getBan(ip, jails.get(jail) or J(jail), overalljails=overall)
        out.append([r[0][0], r[0][1]] if r else [0, 0])
    return out
before = q()
MyTime.setTime(c["now"])
db.purge()
json.dump({"before": before, "after": q()}, sys.stdout)
`

func havePython(t testing.TB) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import fail2ban.server.database").Run(); err != nil {
		testenv.Missing(t, "fail2ban oracle unavailable: %v", err)
	}
}

// TestHistoryAndPurgeOracle compares per-jail and overall counts, and
// what Purge keeps, with fail2ban's database.
func TestHistoryAndPurgeOracle(t *testing.T) {
	havePython(t)
	const day = 86400
	now := int64(1_700_000_000)
	r := rand.New(rand.NewPCG(7, 8))
	jails := []string{"sshd", "nginx", "postfix"}
	var ips []string
	for i := range 12 {
		ips = append(ips, fmt.Sprintf("192.0.2.%d", i+1))
	}
	ips = append(ips, "2001:db8::5", "2001:db8::6")
	type row struct {
		jail, ip string
		t, bt    int64
		count    int
	}
	var rows []row
	for range 60 {
		bt := []int64{-1, 60, 600, 3600, day, 7 * day}[r.IntN(6)]
		rows = append(rows, row{jails[r.IntN(3)], ips[r.IntN(len(ips))], now - r.Int64N(20*day), bt, 1 + r.IntN(9)})
	}
	var queries [][3]any
	for _, ip := range append(ips, "203.0.113.1") {
		for _, j := range jails {
			queries = append(queries, [3]any{j, ip, false})
		}
		queries = append(queries, [3]any{"sshd", ip, true})
	}
	in := map[string]any{"purgeage": day, "now": now, "queries": queries}
	var bans [][]any
	for _, x := range rows {
		bans = append(bans, []any{x.jail, x.ip, x.t, x.bt, x.count})
	}
	in["bans"] = bans
	js, _ := json.Marshal(in)
	cmd := exec.Command("/usr/bin/python3", "-c", dbOracle)
	cmd.Stdin = bytes.NewReader(js)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v: %s", err, stderr.String())
	}
	var res struct{ Before, After [][2]int64 }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("oracle output %.300s: %v", out, err)
	}

	s := open(t, filepath.Join(t.TempDir(), "state.db"), &Options{NoSync: true})
	for _, x := range rows {
		bt := time.Duration(x.bt) * time.Second
		if x.bt < 0 {
			bt = ban.Permanent
		}
		if err := s.Put(rec(x.jail, x.ip, time.Unix(x.t, 0), bt, x.count)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string, want [][2]int64) {
		nonzero := 0
		for i, q := range queries {
			h, err := s.Count(q[0].(string), pfx(q[1].(string)), q[2].(bool))
			if err != nil {
				t.Fatal(err)
			}
			var last int64
			if h.Count > 0 {
				last = h.LastBan.Unix()
				nonzero++
			}
			if got := [2]int64{int64(h.Count), last}; got != want[i] {
				t.Errorf("%s: Count%v = %v, fail2ban %v", stage, q, got, want[i])
			}
		}
		t.Logf("%s: %d of %d queries found history", stage, nonzero, len(queries))
	}
	check("before purge", res.Before)
	n, err := s.Purge(time.Unix(now, 0), day*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("purged %d history entries", n)
	check("after purge", res.After)
	if n, _ := s.Len(""); n == 0 {
		t.Error("Purge removed active bans")
	}
}

func bulk(n int, start time.Time) []Record {
	rs := make([]Record, n)
	for i := range rs {
		var a netip.Addr
		if i%4 == 3 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 16), 9: byte(i >> 8), 10: byte(i)})
		} else {
			a = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		rs[i] = Record{Jail: []string{"sshd", "nginx", "postfix"}[i%3], Prefix: HostPrefix(a),
			Time: start.Add(time.Duration(i) * time.Millisecond), BanTime: time.Duration(i%100) * time.Minute,
			Count: 1 + i%5, Failures: 5, Origin: ban.OriginJail,
			Matches: []string{"Mar  1 12:00:00 host sshd[123]: Failed password for root from " + a.String() + " port 22 ssh2"}}
	}
	return rs
}

func TestBulk100k(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 100_000
	s := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	rs := bulk(n, t0)
	start := time.Now()
	if err := s.PutAll(rs); err != nil {
		t.Fatal(err)
	}
	put := time.Since(start)
	start = time.Now()
	all, err := s.List("")
	if err != nil {
		t.Fatal(err)
	}
	list := time.Since(start)
	if len(all) != n {
		t.Fatalf("List = %d records, want %d", len(all), n)
	}
	per := 0
	for _, j := range []string{"sshd", "nginx", "postfix"} {
		c, err := s.Len(j)
		if err != nil {
			t.Fatal(err)
		}
		per += c
	}
	if per != n {
		t.Errorf("per-jail counts sum to %d, want %d", per, n)
	}
	start = time.Now()
	ex, err := s.Expired(t0.Add(50 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PutAll %d: %v; List: %v; Expired scan: %v (%d expired)", n, put, list, time.Since(start), len(ex))
	if got, _, _ := s.Get(rs[n-1].Jail, rs[n-1].Prefix); !equalRecord(got, rs[n-1]) {
		t.Errorf("last bulk record = %+v, want %+v", got, rs[n-1])
	}
}

func BenchmarkPutAll100k(b *testing.B) {
	rs := bulk(100_000, t0)
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		s, err := Open(filepath.Join(dir, fmt.Sprint(i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		if err := s.PutAll(rs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
}

func BenchmarkList100k(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"), &Options{NoSync: true})
	if err := s.PutAll(bulk(100_000, t0)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.List(""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExpired100k(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"), &Options{NoSync: true})
	if err := s.PutAll(bulk(100_000, t0)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Expired(t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"), &Options{NoSync: true})
	rs := bulk(1000, t0)
	i := 0
	for b.Loop() {
		if err := s.Put(rs[i%len(rs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCountOverall(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"), &Options{NoSync: true})
	if err := s.PutAll(bulk(100_000, t0)); err != nil {
		b.Fatal(err)
	}
	p := pfx("10.0.1.2")
	for b.Loop() {
		if _, err := s.Count("sshd", p, true); err != nil {
			b.Fatal(err)
		}
	}
}

func TestForgetAllInOneTransaction(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	var recs []Record
	var keys []Key
	for i := 0; i < 1000; i++ {
		p := HostPrefix(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
		recs = append(recs, Record{Jail: "sshd", Prefix: p, Time: now, BanTime: time.Hour, Count: 1})
		if i%2 == 0 {
			keys = append(keys, Key{Jail: "sshd", Prefix: p})
		}
	}
	if err := s.PutAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetAll(keys); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Len("sshd"); n != 500 {
		t.Fatalf("%d bans left, want 500", n)
	}
	h, err := s.Count("sshd", keys[0].Prefix, false)
	if err != nil || h.Count != 0 {
		t.Errorf("history of a forgotten address: %+v %v, want none", h, err)
	}
	h, err = s.Count("sshd", recs[1].Prefix, false)
	if err != nil || h.Count != 1 {
		t.Errorf("history of a kept address: %+v %v, want count 1", h, err)
	}
	if err := s.ForgetAll([]Key{{Jail: "sshd", Prefix: netip.Prefix{}}}); err == nil {
		t.Error("ForgetAll with an invalid prefix succeeded")
	}
}
