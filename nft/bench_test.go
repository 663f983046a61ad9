package nft

import (
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
	"github.com/google/nftables"
)

const benchBatch = 1000

// benchBans returns batches of 1000 bans for jail sshd: IPv6 from
// 2001:db8::/96 or IPv4 from 198.18.0.0/15 (RFC 2544).
func benchBans(v6addrs bool, batches int) [][]Ban {
	out := make([][]Ban, batches)
	for n := range out {
		bans := make([]Ban, benchBatch)
		for i := range bans {
			k := n*benchBatch + i
			if v6addrs {
				bans[i] = Ban{Jail: "sshd", Addr: v6(k), Timeout: time.Hour}
			} else {
				bans[i] = Ban{Jail: "sshd", Addr: benchV4(k % bulkV4), Timeout: time.Hour}
			}
		}
		out[n] = bans
	}
	return out
}

// prefixBans returns batches of 1000 /64 bans from 2001:db8::/32.
func prefixBans(batches int) [][]Ban {
	out := make([][]Ban, batches)
	for n := range out {
		for i := range benchBatch {
			k := n*benchBatch + i
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(k >> 8), byte(k)})
			out[n] = append(out[n], Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, 64), Timeout: time.Hour})
		}
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
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops), "ns/ban")
}

// BenchmarkBanBatch measures Ban with 1000-ban calls of new addresses
// (the sets grow to 64000 elements, then the batches repeat as
// refreshes), with the plain add of Linux >= 6.18 and with the add,
// delete, add of older kernels, and 1000 /64 prefixes per call into the
// interval set, cycling over 4000 (each call reads the set first).
func BenchmarkBanBatch(b *testing.B) {
	for _, bc := range []struct {
		fam  string
		mode string
	}{{"v4", "add"}, {"v6", "add"}, {"v4", "add-del-add"}, {"v6", "add-del-add"}, {"prefix-v6", "add"}} {
		b.Run(bc.fam+"/"+bc.mode, func(b *testing.B) {
			fw := benchSetup(b)
			fw.feat.addRefreshes = bc.mode == "add"
			var batches [][]Ban
			switch bc.fam {
			case "prefix-v6":
				batches = prefixBans(4) // a realistic 4000 prefixes; each call reads the set
			default:
				batches = benchBans(bc.fam == "v6", 64)
			}
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

// BenchmarkSetBackend is why addresses and prefixes live in separate
// sets: raw 1000-element adds of new /32s into a hash set (flags timeout)
// and the same addresses as one-address ranges into an interval set
// (flags interval,timeout; the kernel's rbtree), which is several times
// slower and slows down as it grows.
func BenchmarkSetBackend(b *testing.B) {
	for _, interval := range []bool{false, true} {
		name := "hash"
		if interval {
			name = "rbtree"
		}
		b.Run(name, func(b *testing.B) {
			fw, _ := openTest(b)
			fw.conn.AddTable(fw.table)
			s := &nftables.Set{Table: fw.table, Name: "s", KeyType: nftables.TypeIPAddr, HasTimeout: true, Interval: interval}
			if err := fw.conn.AddSet(s, nil); err != nil {
				b.Fatal(err)
			}
			if err := fw.conn.Flush(); err != nil {
				b.Fatal(err)
			}
			s = &nftables.Set{Table: fw.table, Name: "s", KeyType: nftables.TypeIPAddr, HasTimeout: true, Interval: interval}
			n := 0
			for b.Loop() {
				if n+benchBatch > bulkV4 {
					b.StopTimer()
					fw.conn.FlushSet(s)
					if err := fw.conn.Flush(); err != nil {
						b.Fatal(err)
					}
					n = 0
					b.StartTimer()
				}
				var el []nftables.SetElement
				for range benchBatch {
					p := netip.PrefixFrom(benchV4(n), 32)
					n++
					if interval {
						el = append(el, prefixElems(p, time.Hour)...)
					} else {
						el = append(el, nftables.SetElement{Key: p.Addr().AsSlice(), Timeout: time.Hour})
					}
				}
				if err := fw.conn.SetAddElements(s, el); err != nil {
					b.Fatal(err)
				}
				if err := fw.conn.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N*benchBatch)
		})
	}
}

// BenchmarkBan120k measures one Ban call of 100000 IPv4 (198.18.0.0/15)
// and 20000 IPv6 addresses into empty sets.
func BenchmarkBan120k(b *testing.B) {
	fw := benchSetup(b)
	bans := bulkBans("sshd", 100000, 20000)
	for b.Loop() {
		b.StopTimer()
		for _, v6 := range []bool{false, true} {
			set, err := fw.lookupSet(setKey{jail: "sshd", v6: v6})
			if err != nil {
				b.Fatal(err)
			}
			fw.conn.FlushSet(set)
		}
		if err := fw.conn.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := fw.Ban(bans); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N*len(bans))
}

// BenchmarkList120k measures List of a jail holding 100000 IPv4 and 20000
// IPv6 bans.
func BenchmarkList120k(b *testing.B) {
	fw := benchSetup(b)
	if err := fw.Ban(bulkBans("sshd", 100000, 20000)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l, err := fw.List("sshd")
		if err != nil {
			b.Fatal(err)
		}
		if len(l) != 120000 {
			b.Fatalf("List returned %d elements", len(l))
		}
	}
	b.ReportMetric(float64(b.N*120000)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkNftProcessPerBan is fail2ban's way, the baseline: one nft(8)
// process per ban, "nft add element inet f2b <set> { ADDR timeout 600s }"
// (run in the test namespace through nsenter(1), where fail2ban goes
// through sh -c; both add one exec to the nft one).
func BenchmarkNftProcessPerBan(b *testing.B) {
	if _, err := exec.LookPath("nft"); err != nil {
		b.Skip("nft(8) not installed")
	}
	fw, ns := openTest(b)
	mustSetup(b, fw, sshd)
	for i := 0; b.Loop(); i++ {
		cmd, err := nftest.Command(ns, "nft", "add", "element", "inet", DefaultTable, SetName("sshd", false),
			fmt.Sprintf("{ %s timeout 600s }", benchV4(i%bulkV4)))
		if err != nil {
			b.Fatal(err)
		}
		out, err := cmd.CombinedOutput()
		cmd.ExtraFiles[0].Close()
		if err != nil {
			b.Fatalf("nft: %v: %s", err, out)
		}
	}
	reportRate(b, b.N)
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
	set, err := fw.lookupSet(setKey{jail: "sshd", v6: true})
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
