package nft

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/nftables"
)

const benchBatch = 1000

// benchBans returns batches of 1000 bans: IPv6 into one jail, or IPv4
// spread over two jails (only 768 IPv4 documentation addresses exist).
func benchBans(v6addrs bool, batches int) [][]Ban {
	out := make([][]Ban, batches)
	for n := range out {
		bans := make([]Ban, benchBatch)
		for i := range bans {
			if v6addrs {
				bans[i] = Ban{Jail: "sshd", Addr: v6(n*benchBatch + i), Timeout: time.Hour}
			} else {
				k := n*benchBatch + i
				bans[i] = Ban{Jail: fmt.Sprintf("j%d", i%2), Addr: v4(k % docV4), Timeout: time.Hour}
			}
		}
		out[n] = bans
	}
	return out
}

func benchSetup(b *testing.B) *Firewall {
	fw, _ := openTest(b)
	mustSetup(b, fw, sshd, JailSpec{Name: "j0"}, JailSpec{Name: "j1"})
	return fw
}

func reportRate(b *testing.B, ops int) {
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "bans/s")
}

// BenchmarkBan measures Ban with 1000-ban calls, with the plain add of
// Linux >= 6.18 and with the add, delete, add of older kernels; the sets
// grow as new addresses are added.
func BenchmarkBan(b *testing.B) {
	for _, bc := range []struct {
		fam  string
		mode string
	}{{"v4", "add"}, {"v6", "add"}, {"v4", "add-del-add"}, {"v6", "add-del-add"}} {
		fam := bc.fam
		b.Run(bc.fam+"/"+bc.mode, func(b *testing.B) {
			fw := benchSetup(b)
			fw.feat.addRefreshes = bc.mode == "add"
			batches := benchBans(fam == "v6", 64)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := fw.Ban(batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N*benchBatch)
		})
	}
}

// BenchmarkUnban measures Unban (destroy) of 1000 elements, half of them
// present.
func BenchmarkUnban(b *testing.B) {
	fw := benchSetup(b)
	batches := benchBans(true, 2)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if err := fw.Ban(batches[0][:benchBatch/2]); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := fw.Unban(batches[0]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N*benchBatch)
}

// BenchmarkRawAdd is the baseline: one plain element add per ban, 1000 per
// Flush, without the refresh guarantee Ban gives.
func BenchmarkRawAdd(b *testing.B) {
	fw := benchSetup(b)
	set, err := fw.lookupSet("sshd", true)
	if err != nil {
		b.Fatal(err)
	}
	batches := benchBans(true, 64)
	elems := make([][]nftables.SetElement, len(batches))
	for n, bans := range batches {
		for _, ban := range bans {
			elems[n] = append(elems[n], nftables.SetElement{Key: ban.Addr.AsSlice(), Timeout: ban.Timeout})
		}
	}
	for i := 0; b.Loop(); i++ {
		if err := fw.conn.SetAddElements(set, elems[i%len(elems)]); err != nil {
			b.Fatal(err)
		}
		if err := fw.conn.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N*benchBatch)
}

// BenchmarkList measures listing a jail holding 768 IPv4 and 10000 IPv6
// bans.
func BenchmarkList(b *testing.B) {
	fw := benchSetup(b)
	for _, bans := range benchBans(true, 10) {
		if err := fw.Ban(bans); err != nil {
			b.Fatal(err)
		}
	}
	var v4bans []Ban
	for i := range docV4 {
		v4bans = append(v4bans, Ban{Jail: "sshd", Addr: v4(i), Timeout: time.Hour})
	}
	if err := fw.Ban(v4bans); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l, err := fw.List("sshd")
		if err != nil {
			b.Fatal(err)
		}
		if len(l) != 10000+docV4 {
			b.Fatalf("List returned %d elements", len(l))
		}
	}
	b.ReportMetric(float64(b.N*(10000+docV4))/b.Elapsed().Seconds(), "elements/s")
}
