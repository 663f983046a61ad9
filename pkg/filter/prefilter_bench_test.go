package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/benchlog"
)

// BenchmarkPrefilterGenlog runs the literal prefilter of the stock sshd
// filter (normal and aggressive modes) over a generated auth.log (see
// benchlog.Lines), one op per line, checking all the literal sets of each
// failregex (sets=all, as newPrefilter does) or the first one only
// (sets=first: RequiredLiterals' set, the prefilter before literal-set
// conjunctions). Besides the scan cost it reports:
//
//   - passed/line: lines the prefilter lets through;
//   - admitted/line: failregexes it lets run per line (counted on lines the
//     prefregex matches, where failregexes do run; all of them run with
//     checkAll, as in f2bctl regex);
//   - wasted/line: those of them that then do not match;
//   - regex-ns/line: the time these failregex runs take (timed once, one
//     run each, with the scan cost, what the prefilter's choice costs).
func BenchmarkPrefilterGenlog(b *testing.B) {
	lines := benchlog.Lines(b, "sshd")
	for _, mode := range []string{"normal", "aggressive"} {
		f := genlogFilter(b, "mode = "+mode+"\n", false)
		scans := make([]string, len(lines))
		texts := make([]string, len(lines))
		for i, l := range lines {
			scans[i], texts[i] = subjects(f, l)
			if loc, _ := f.pref.FindIndex(scans[i], nil); loc == nil {
				texts[i] = ""
			}
		}
		for _, multi := range []bool{false, true} {
			p := buildPrefilter(f.fail, multi)
			b.Run(fmt.Sprintf("mode=%s/sets=%s", mode, map[bool]string{false: "first", true: "all"}[multi]), func(b *testing.B) {
				mask := make([]uint64, p.words)
				admitted, wasted, passed := 0, 0, 0
				var dst []int
				var regexTime time.Duration
				for i, s := range scans {
					if !p.scan(s, mask) {
						continue
					}
					passed++
					if texts[i] == "" {
						continue
					}
					admitted += p.admitted(mask)
					for j, r := range f.fail {
						if has(mask, j) {
							t0 := time.Now()
							dst, _ = r.FindIndex(texts[i], dst)
							regexTime += time.Since(t0)
							if dst == nil {
								wasted++
							}
						}
					}
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					p.scan(scans[i], mask)
					if i++; i == len(scans) {
						i = 0
					}
				}
				n := float64(len(scans))
				b.ReportMetric(float64(passed)/n, "passed/line")
				b.ReportMetric(float64(admitted)/n, "admitted/line")
				b.ReportMetric(float64(wasted)/n, "wasted/line")
				b.ReportMetric(float64(regexTime)/n, "regex-ns/line")
			})
		}
	}
}

// BenchmarkPrefilterProcessGenlog is BenchmarkProcessGenlog (stock sshd
// filter, generated auth.log, one op per line) with the prefilter checking
// all the literal sets of each failregex or the first one only.
func BenchmarkPrefilterProcessGenlog(b *testing.B) {
	lines := benchlog.Lines(b, "sshd")
	for _, checkAll := range []bool{false, true} {
		for _, multi := range []bool{false, true} {
			b.Run(fmt.Sprintf("checkAll=%v/sets=%s", checkAll, map[bool]string{false: "first", true: "all"}[multi]), func(b *testing.B) {
				f := genlogFilter(b, "", checkAll)
				f.pre = buildPrefilter(f.fail, multi)
				f.mask = make([]uint64, f.pre.words)
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
}
