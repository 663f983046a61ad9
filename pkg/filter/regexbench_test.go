package filter

import (
	"strings"
	"testing"
)

// sshdContents are typical sshd messages (after the syslog prefix) of a
// generated auth.log, for BenchmarkSSHDRegexes.
var sshdContents = []string{
	"Failed password for invalid user nobody from 192.0.2.2 port 50000 ssh2",
	"Failed password for root from 192.0.2.2 port 50000 ssh2",
	"Accepted publickey for git from 198.19.237.80 port 31178 ssh2: RSA SHA256:rijT15sLM0Ft3ijPOQn3tep2cEQDR0G90KJjExX8ClU",
	"Connection from 192.0.2.165 port 49287 on 10.0.0.1 port 22 rdomain \"\"",
	"Received disconnect from 192.0.2.2 port 50000:11: Bye Bye [preauth]",
}

// BenchmarkSSHDRegexes times the prefregex and each failregex of the stock
// sshd filter that matches one of sshdContents, one search per op.
func BenchmarkSSHDRegexes(b *testing.B) {
	opts := resolvedFilter(b, "sshd", "")
	f, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	line := " srv sshd[1234]: " + sshdContents[0] + "\n"
	b.Run("prefregex", func(b *testing.B) {
		var dst []int
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = f.pref.FindIndex(line, dst)
		}
	})
	for _, c := range sshdContents {
		s := c + "\n"
		for i, r := range f.fail {
			if m, _ := r.FindIndex(s, nil); m == nil {
				continue
			}
			name := strings.Join(strings.Fields(c)[:4], "-") + "/failregex" + string(rune('A'+i))
			b.Run(name, func(b *testing.B) {
				var dst []int
				b.ReportAllocs()
				for b.Loop() {
					dst, _ = r.FindIndex(s, dst)
				}
			})
		}
	}
}
