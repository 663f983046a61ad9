package rematch

import (
	"regexp"
	"regexp/syntax"
	"testing"
)

// benchHost is <HOST> as fail2ban's filters expand it (usedns = warn),
// translated from Python's Unicode classes.
const benchHost = `(?:\[?(?:(?:::f{4}f?f?:)?(?P<ip4>\p{Nd}{1,3}(?:\.\p{Nd}{1,3}){3})|(?P<ip6>(?:[0-9A-Fa-f]{1,4}:{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:)))\]?|(?P<dns>[\p{L}\p{N}_.^-]*[\p{L}\p{N}_]))`

var benchCases = []struct{ name, expr, line string }{
	{"Connection", `^(?P<nofail>Connection from) ` + benchHost,
		"Connection from 198.18.234.233 port 10660 on 10.0.0.1 port 22 rdomain \"\"\n"},
	{"Accepted", `^(?P<mlfforget>(?P<mlfgained>Accepted [\p{L}\p{N}_]+)) for (?P<user>\S+) from ` + benchHost + `(?:\s|$)`,
		"Accepted publickey for git from 198.19.237.80 port 31178 ssh2: RSA SHA256:rijT15sLM0Ft3ijPOQn3tep2cEQDR0G90KJjExX8ClU\n"},
	{"Failed", `^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>\S+) from ` + benchHost + `(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?: `,
		"Failed password for root from 198.19.237.80 port 31178 ssh2\n"},
	{"Miss", `^(?P<nofail>Received (?P<mlfforget>disconnect)) from ` + benchHost + `(?: (?:port \d+|on \S+)){0,2}:\s*3: .*: Auth fail`,
		"Received disconnect from 198.19.237.80 port 31178:11: disconnected by user\n"},
	// the Miss expression on an IPv6 address: the address alternatives
	// backtrack before the literal after them fails
	{"Disconnect6", `^(?P<nofail>Received (?P<mlfforget>disconnect)) from ` + benchHost + `(?: (?:port \d+|on \S+)){0,2}:\s*3: .*: Auth fail`,
		"Received disconnect from 2001:db8::1 port 22:11: disconnected by user\n"},
	// a search that fails at the first byte (a prefilter admitted the line)
	{"WrongStart", `^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>\S+) from ` + benchHost + `(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?: `,
		"Connection from 198.18.234.233 port 10660 on 10.0.0.1 port 22 rdomain \"\"\n"},
	// an expression that can split the words of the line in exponentially
	// many ways before it fails: the memo of failed continuations bounds it
	{"Backtrack", `^(?:[\w.]+\s?)+: Auth fail`,
		"Received disconnect from 198.19.237.80 port 31178:11: disconnected by user\n"},
}

// BenchmarkFind compares Find with regexp's FindStringSubmatchIndex on
// sshd filter expressions.
func BenchmarkFind(b *testing.B) {
	for _, c := range benchCases {
		re := regexp.MustCompile(c.expr)
		tree, err := syntax.Parse(c.expr, syntax.Perl)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Compile(tree)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/regexp", func(b *testing.B) {
			for b.Loop() {
				re.FindStringSubmatchIndex(c.line)
			}
		})
		b.Run(c.name+"/rematch", func(b *testing.B) {
			caps := make([]int, p.NumCap())
			b.ReportAllocs()
			for b.Loop() {
				p.Find(c.line, caps, Budget(c.line))
			}
		})
	}
}
