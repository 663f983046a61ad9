package daemon

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/nft"
	"github.com/f2bd/f2bd/nft/nftest"
	"github.com/f2bd/f2bd/pkg/banstore"
	"github.com/f2bd/f2bd/pkg/bantime"
	"github.com/f2bd/f2bd/pkg/jail"
)

// restoreFixture is a ban store holding n active bans of jail sshd
// (IPv4 from 198.18.0.0/15, the benchmarking range; they only ever sit in
// the sets of namespaces the test made), a few expired ones, and the
// jail that restores them.
func restoreFixture(tb testing.TB, n int) (*banstore.Store, []*running, []nft.JailSpec) {
	tb.Helper()
	store, err := banstore.Open(filepath.Join(tb.TempDir(), StateFile), &banstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	now := time.Now()
	recs := make([]banstore.Record, 0, n+3)
	for i := 1; i <= n; i++ {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
		recs = append(recs, banstore.Record{Jail: "sshd", Prefix: banstore.HostPrefix(a), Time: now.Add(-time.Minute), BanTime: time.Hour, Count: 1})
	}
	for i := 1; i <= 3; i++ { // expired: must not come back
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		recs = append(recs, banstore.Record{Jail: "sshd", Prefix: banstore.HostPrefix(a), Time: now.Add(-2 * time.Hour), BanTime: time.Hour, Count: 1})
	}
	if err := store.PutAll(recs); err != nil {
		tb.Fatal(err)
	}
	c := &config.Jail{Name: "sshd", MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour,
		Filter: &config.Filter{Name: "t", FailRegex: []string{`^fail <HOST>$`}}}
	j, err := jail.New(c, nil)
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := bantime.NewPolicy("sshd", nil, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	spec := nft.JailSpec{Name: "sshd", Ports: []nft.PortRange{{First: 22, Last: 22}}, Protocols: []string{"tcp"}}
	return store, []*running{newRunning(j, pol)}, []nft.JailSpec{spec}
}

func TestRestoreIntoEmptyKernel(t *testing.T) {
	nftest.RequireRoot(t)
	store, jails, specs := restoreFixture(t, 5000)
	fw, err := nft.Open(nft.WithNetNSFd(nftest.NewNetNS(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	k := &kernelState{fw: fw, store: store, specs: specs, jails: jails, log: zap.NewNop(), now: time.Now}
	if err := k.restore("test"); err != nil {
		t.Fatal(err)
	}
	els, err := fw.List("sshd")
	if err != nil {
		t.Fatal(err)
	}
	if len(els) != 5000 {
		t.Fatalf("kernel holds %d bans after restore, want the 5000 active ones", len(els))
	}
	for _, e := range els {
		if e.Expires > 59*time.Minute || e.Expires < 58*time.Minute {
			t.Fatalf("%s restored with %v left, want about 59m (1h ban, 1m old)", e.Addr, e.Expires)
		}
	}
	if n, _ := store.Len("sshd"); n != 5000 {
		t.Errorf("store holds %d bans, want the expired ones dropped", n)
	}
	// A second restore (a plain restart) changes nothing in the kernel.
	before := els[0].Expires
	time.Sleep(20 * time.Millisecond)
	if err := k.restore("test again"); err != nil {
		t.Fatal(err)
	}
	els, _ = fw.List("sshd")
	if len(els) != 5000 || els[0].Expires >= before {
		t.Errorf("second restore: %d bans, first expires %v (was %v): want untouched", len(els), els[0].Expires, before)
	}
}

// BenchmarkRestore100k measures a start after a reboot: 100k active bans
// in the store, an empty kernel, everything restored in one batch.
func BenchmarkRestore100k(b *testing.B) {
	nftest.RequireRoot(b)
	store, jails, specs := restoreFixture(b, 100_000)
	for b.Loop() {
		b.StopTimer()
		fw, err := nft.Open(nft.WithNetNSFd(nftest.NewNetNS(b)))
		if err != nil {
			b.Fatal(err)
		}
		k := &kernelState{fw: fw, store: store, specs: specs, jails: jails, log: zap.NewNop(), now: time.Now}
		b.StartTimer()
		if err := k.restore("bench"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		fw.Close()
		b.StartTimer()
	}
	b.ReportMetric(100_000/(b.Elapsed().Seconds()/float64(b.N)), "bans/s")
}

func TestOffenderWeight(t *testing.T) {
	store, err := banstore.Open(filepath.Join(t.TempDir(), StateFile), &banstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pol, err := bantime.NewPolicy("sshd", map[string]string{"bantime.increment": "true"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	banned := netip.MustParseAddr("198.51.100.7")
	lastBan := time.Now().Add(-time.Hour)
	if err := store.Put(banstore.Record{Jail: "sshd", Prefix: banstore.HostPrefix(banned), Time: lastBan, BanTime: time.Minute, Count: 2}); err != nil {
		t.Fatal(err)
	}
	w := offenderWeight(store, pol, 10, zap.NewNop())
	for _, tc := range []struct {
		addr string
		at   time.Time
		want int
	}{
		{"198.51.100.7", time.Now(), pol.FailureWeight(2, 10)},
		{"198.51.100.7", lastBan.Add(-time.Second), 1}, // before its last ban
		{"198.51.100.8", time.Now(), 1},                // never banned
	} {
		if got := w(netip.MustParseAddr(tc.addr), tc.at); got != tc.want {
			t.Errorf("weight of %s at %v = %d, want %d", tc.addr, tc.at, got, tc.want)
		}
	}
	if pol.FailureWeight(2, 10) <= 1 {
		t.Errorf("an address banned twice weighs %d, want more than 1", pol.FailureWeight(2, 10))
	}
}
