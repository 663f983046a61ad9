// Command genlog writes a deterministic, realistic log for benchmarks and
// tests of f2bd's matching pipeline.
//
//	genlog [-n LINES] [-seed N] [-kind sshd|mixed] [-start UNIX] [-o FILE]
//
// Lines are about 60 ms apart from -start (default 2025-03-01 00:00 UTC);
// a benchmark of the daemon, which counts only failures inside findtime,
// starts them far enough back that the last line is about now.
//
// The sshd kind is a syslog auth.log: sshd connections, each with its own
// PID, interleaved with each other and with other programs (CRON, systemd,
// sudo); about 30% of the connections fail (invalid users, failed
// passwords, pre-authentication disconnects, negotiation errors, too many
// attempts). The mixed kind interleaves that with nginx error.log lines
// (nginx-http-auth), postfix, dovecot and asterisk lines, each program with
// its own date format. Addresses come from the documentation and
// benchmarking ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 198.18.0.0/15, 2001:db8::/32); a few thousand sources, attackers
// returning more often than users. The same flags give the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "number of `lines` to write")
	seed := flag.Uint64("seed", 1, "random `seed`")
	kind := flag.String("kind", "sshd", "log `kind`: sshd or mixed")
	out := flag.String("o", "-", "output `file` (- for standard output)")
	start := flag.Int64("start", 0, "time of the first line, in `unix` seconds (0: 2025-03-01 00:00 UTC)")
	flag.Parse()
	if *kind != "sshd" && *kind != "mixed" {
		fmt.Fprintf(os.Stderr, "genlog: unknown -kind %q (sshd or mixed)\n", *kind)
		os.Exit(2)
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		fh, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "genlog:", err)
			os.Exit(1)
		}
		defer fh.Close()
		w = fh
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	g := newGenerator(*seed, *kind == "mixed")
	if *start != 0 {
		g.now = time.Unix(*start, 0).UTC()
	}
	for range *n {
		bw.WriteString(g.next())
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

// conn is one sshd connection: its PID, peer and the lines still to log.
type conn struct {
	pid   int
	lines []string
}

type generator struct {
	r         *rand.Rand
	mixed     bool
	now       time.Time
	pid       int
	conns     []*conn
	attackers []string
	users     []string
	session   int
}

// Host and account names used in the lines.
var (
	validUsers   = []string{"root", "alice", "bob", "deploy", "git", "backup", "www-data", "carol"}
	invalidUsers = []string{"admin", "test", "oracle", "guest", "ubuntu", "pi", "user", "ftpuser", "postgres", "support", "nagios", "hadoop", "minecraft", "steam", "tomcat"}
	kexAlgs      = []string{"key exchange method", "host key type", "cipher", "MAC"}
	sipReasons   = []string{"Wrong password", "No matching peer found", "Username/auth name mismatch", "Device does not match ACL"}
	mailDomains  = []string{"example.com", "example.net", "example.org"}
)

func newGenerator(seed uint64, mixed bool) *generator {
	g := &generator{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), mixed: mixed, pid: 1000,
		now: time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)}
	for range 3000 {
		g.attackers = append(g.attackers, g.addr())
	}
	for range 500 {
		g.users = append(g.users, g.addr())
	}
	return g
}

// addr draws an address from the documentation and benchmarking ranges.
func (g *generator) addr() string {
	r := g.r
	switch k := r.IntN(10); {
	case k < 1:
		return fmt.Sprintf("192.0.2.%d", 1+r.IntN(254))
	case k < 2:
		return fmt.Sprintf("198.51.100.%d", 1+r.IntN(254))
	case k < 3:
		return fmt.Sprintf("203.0.113.%d", 1+r.IntN(254))
	case k < 8:
		return fmt.Sprintf("198.%d.%d.%d", 18+r.IntN(2), r.IntN(256), 1+r.IntN(254))
	default:
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		for i := 4; i < 16; i++ {
			if i < 8 || r.IntN(3) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		return netip.AddrFrom16(b).String()
	}
}

// pick returns an element of a pool, skewed towards its start (repeat offenders).
func pick[T any](r *rand.Rand, pool []T) T {
	i := r.IntN(len(pool))
	if r.IntN(2) == 0 {
		i = r.IntN(max(1, len(pool)/20))
	}
	return pool[i]
}

func (g *generator) one(list []string) string { return list[g.r.IntN(len(list))] }

func (g *generator) port() int { return 1024 + g.r.IntN(64000) }

// syslog formats a syslog line of program[pid] at the current time.
func (g *generator) syslog(prog string, pid int, msg string) string {
	if pid < 0 {
		return g.now.Format("Jan _2 15:04:05") + " srv1 " + prog + ": " + msg
	}
	return fmt.Sprintf("%s srv1 %s[%d]: %s", g.now.Format("Jan _2 15:04:05"), prog, pid, msg)
}

func (g *generator) next() string {
	g.now = g.now.Add(time.Duration(g.r.IntN(120)) * time.Millisecond)
	if g.mixed {
		switch k := g.r.IntN(100); {
		case k < 12:
			return g.nginx()
		case k < 24:
			return g.postfix()
		case k < 36:
			return g.dovecot()
		case k < 46:
			return g.asterisk()
		}
	}
	if g.r.IntN(100) < 15 {
		return g.other()
	}
	return g.sshd()
}

// sshd advances a random open connection by one line, opening new ones
// so that a few dozen are open at a time.
func (g *generator) sshd() string {
	if len(g.conns) < 8 || (len(g.conns) < 60 && g.r.IntN(4) == 0) {
		g.pid += 1 + g.r.IntN(40)
		if g.pid > 4000000 {
			g.pid = 1000
		}
		g.conns = append(g.conns, &conn{pid: g.pid, lines: g.script()})
	}
	i := g.r.IntN(len(g.conns))
	c := g.conns[i]
	msg := c.lines[0]
	c.lines = c.lines[1:]
	if len(c.lines) == 0 {
		g.conns[i] = g.conns[len(g.conns)-1]
		g.conns = g.conns[:len(g.conns)-1]
	}
	return g.syslog("sshd", c.pid, msg)
}

// script writes the lines of one connection; about 30% fail.
func (g *generator) script() []string {
	r := g.r
	p := g.port()
	k := r.IntN(100)
	if k >= 30 {
		ip := pick(r, g.users)
		u := g.one(validUsers)
		method := "publickey"
		if r.IntN(3) == 0 {
			method = "password"
		}
		g.session++
		return []string{
			fmt.Sprintf("Connection from %s port %d on 10.0.0.1 port 22 rdomain \"\"", ip, p),
			fmt.Sprintf("Postponed publickey for %s from %s port %d ssh2 [preauth]", u, ip, p),
			fmt.Sprintf("Accepted %s for %s from %s port %d ssh2: RSA SHA256:%s", method, u, ip, p, g.b64(43)),
			fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", u, 1000+r.IntN(50)),
			fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", ip, p),
			fmt.Sprintf("Disconnected from user %s %s port %d", u, ip, p),
			fmt.Sprintf("pam_unix(sshd:session): session closed for user %s", u),
		}
	}
	ip := pick(r, g.attackers)
	switch {
	case k < 9: // failed passwords of a valid user
		u := g.one(validUsers[:3])
		out := []string{fmt.Sprintf("Connection from %s port %d on 10.0.0.1 port 22 rdomain \"\"", ip, p)}
		for range 1 + r.IntN(3) {
			out = append(out, fmt.Sprintf("Failed password for %s from %s port %d ssh2", u, ip, p))
		}
		if r.IntN(2) == 0 {
			return append(out, fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", u, ip, p))
		}
		return append(out, fmt.Sprintf("Received disconnect from %s port %d:11: Bye Bye [preauth]", ip, p),
			fmt.Sprintf("Disconnected from authenticating user %s %s port %d [preauth]", u, ip, p))
	case k < 18: // invalid user
		u := g.one(invalidUsers)
		return []string{
			fmt.Sprintf("Invalid user %s from %s port %d", u, ip, p),
			"pam_unix(sshd:auth): check pass; user unknown",
			fmt.Sprintf("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s", ip),
			fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", u, ip, p),
			fmt.Sprintf("Connection closed by invalid user %s %s port %d [preauth]", u, ip, p),
		}
	case k < 24: // pre-authentication disconnects
		switch r.IntN(4) {
		case 0:
			return []string{fmt.Sprintf("Connection closed by %s port %d [preauth]", ip, p)}
		case 1:
			return []string{fmt.Sprintf("Did not receive identification string from %s port %d", ip, p)}
		case 2:
			return []string{fmt.Sprintf("banner exchange: Connection from %s port %d: invalid format", ip, p)}
		default:
			return []string{fmt.Sprintf("Connection reset by %s port %d [preauth]", ip, p)}
		}
	case k < 27: // negotiation failures
		alg := g.one(kexAlgs)
		return []string{fmt.Sprintf("Unable to negotiate with %s port %d: no matching %s found. Their offer: diffie-hellman-group1-sha1 [preauth]", ip, p, alg)}
	default: // too many attempts
		u := g.one(validUsers[:2])
		out := []string{}
		for range 3 + r.IntN(3) {
			out = append(out, fmt.Sprintf("Failed password for %s from %s port %d ssh2", u, ip, p))
		}
		return append(out,
			fmt.Sprintf("error: maximum authentication attempts exceeded for %s from %s port %d ssh2 [preauth]", u, ip, p),
			fmt.Sprintf("Disconnecting authenticating user %s %s port %d: Too many authentication failures [preauth]", u, ip, p))
	}
}

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func (g *generator) b64(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(b64chars[g.r.IntN(len(b64chars))])
	}
	return b.String()
}

// other writes a line of another program of an auth.log.
func (g *generator) other() string {
	r := g.r
	u := g.one(validUsers)
	switch r.IntN(6) {
	case 0:
		return g.syslog("CRON", 20000+r.IntN(9000), "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
	case 1:
		return g.syslog("CRON", 20000+r.IntN(9000), "pam_unix(cron:session): session closed for user root")
	case 2:
		return g.syslog("systemd-logind", 512, fmt.Sprintf("New session %d of user %s.", g.session, u))
	case 3:
		return g.syslog("systemd", 1, fmt.Sprintf("Started session-%d.scope - Session %d of User %s.", g.session, g.session, u))
	case 4:
		return g.syslog("sudo", -1, fmt.Sprintf("%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl status nginx", u, r.IntN(5), u))
	default:
		return g.syslog("systemd-logind", 512, fmt.Sprintf("Session %d logged out. Waiting for processes to exit.", g.session))
	}
}

// nginx writes an nginx error.log line (nginx-http-auth shapes).
func (g *generator) nginx() string {
	r := g.r
	ts := g.now.Format("2006/01/02 15:04:05")
	ip := pick(r, g.attackers)
	if r.IntN(3) == 0 {
		ip = pick(r, g.users)
	}
	u := g.one(invalidUsers)
	const req = `request: "GET /admin/ HTTP/1.1", host: "www.example.com"`
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf(`%s [error] %d#0: *%d user "%s" was not found in "/etc/nginx/.htpasswd", client: %s, server: www.example.com, %s`, ts, 900+r.IntN(50), r.IntN(900000), u, ip, req)
	case 1:
		return fmt.Sprintf(`%s [error] %d#0: *%d user "%s": password mismatch, client: %s, server: www.example.com, %s`, ts, 900+r.IntN(50), r.IntN(900000), u, ip, req)
	case 2:
		return fmt.Sprintf(`%s [error] %d#0: *%d open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: %s, server: www.example.com, request: "GET /favicon.ico HTTP/1.1", host: "www.example.com"`, ts, 900+r.IntN(50), r.IntN(900000), ip)
	default:
		return fmt.Sprintf(`%s [notice] %d#0: signal process started`, ts, 900+r.IntN(50))
	}
}

// postfix writes a postfix/smtpd syslog line.
func (g *generator) postfix() string {
	r := g.r
	ip := pick(r, g.attackers)
	host := "unknown"
	if r.IntN(2) == 0 {
		host = fmt.Sprintf("mail%d.%s", r.IntN(100), g.one(mailDomains))
	}
	pid := 3000 + r.IntN(500)
	dom := g.one(mailDomains)
	switch r.IntN(6) {
	case 0:
		return g.syslog("postfix/smtpd", pid, fmt.Sprintf("NOQUEUE: reject: RCPT from %s[%s]: 554 5.7.1 <spam@%s>: Relay access denied; from=<a@%s> to=<spam@%s> proto=ESMTP helo=<%s>", host, ip, dom, dom, dom, host))
	case 1:
		return g.syslog("postfix/smtpd", pid, fmt.Sprintf("NOQUEUE: reject: RCPT from %s[%s]: 550 5.1.1 <nobody@%s>: Recipient address rejected: User unknown in local recipient table; from=<x@%s> to=<nobody@%s> proto=ESMTP helo=<%s>", host, ip, dom, dom, dom, host))
	case 2:
		return g.syslog("postfix/smtpd", pid, fmt.Sprintf("warning: %s[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", host, ip))
	case 3:
		return g.syslog("postfix/smtpd", pid, fmt.Sprintf("connect from %s[%s]", host, ip))
	case 4:
		return g.syslog("postfix/smtpd", pid, fmt.Sprintf("disconnect from %s[%s] ehlo=1 auth=0/1 quit=1 commands=2/3", host, ip))
	default:
		return g.syslog("postfix/qmgr", 812, fmt.Sprintf("%X: from=<a@%s>, size=%d, nrcpt=1 (queue active)", r.Uint32(), dom, 1000+r.IntN(90000)))
	}
}

// dovecot writes a dovecot syslog line.
func (g *generator) dovecot() string {
	r := g.r
	ip := pick(r, g.attackers)
	u := g.one(invalidUsers) + "@" + g.one(mailDomains)
	switch r.IntN(5) {
	case 0:
		return g.syslog("dovecot", -1, fmt.Sprintf("imap-login: Aborted login (auth failed, %d attempts in %d secs): user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.1, TLS, session=<%s>", 1+r.IntN(3), 2+r.IntN(20), u, ip, g.b64(16)))
	case 1:
		return g.syslog("dovecot", -1, fmt.Sprintf("auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=%s rhost=%s", u, ip))
	case 2:
		return g.syslog("dovecot", -1, fmt.Sprintf("pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.1, session=<%s>", u, ip, g.b64(16)))
	case 3:
		return g.syslog("dovecot", -1, fmt.Sprintf("imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.1, mpid=%d, TLS, session=<%s>", g.one(validUsers), pick(r, g.users), 4000+r.IntN(5000), g.b64(16)))
	default:
		return g.syslog("dovecot", -1, fmt.Sprintf("imap(%s)<%d><%s>: Logged out in=%d out=%d", g.one(validUsers), 4000+r.IntN(5000), g.b64(16), r.IntN(900), r.IntN(90000)))
	}
}

// asterisk writes an asterisk messages line.
func (g *generator) asterisk() string {
	r := g.r
	ts := g.now.Format("[2006-01-02 15:04:05]")
	ip := pick(r, g.attackers)
	ext := 100 + r.IntN(900)
	switch r.IntN(4) {
	case 0, 1:
		return fmt.Sprintf("%s NOTICE[%d] chan_sip.c: Registration from '<sip:%d@%s>' failed for '%s:%d' - %s", ts, 1600+r.IntN(100), ext, g.one(mailDomains), ip, 5060+r.IntN(10), g.one(sipReasons))
	case 2:
		remote := "IPV4/UDP/" + ip
		if strings.Contains(ip, ":") {
			remote = "IPV6/UDP/[" + ip + "]"
		}
		return fmt.Sprintf("%s SECURITY[%d] res_security_log.c: SecurityEvent=\"InvalidPassword\",EventTV=\"%d\",Severity=\"Error\",Service=\"SIP\",EventVersion=\"2\",AccountID=\"%d\",SessionID=\"0x%x\",LocalAddress=\"IPV4/UDP/10.0.0.1/5060\",RemoteAddress=\"%s/5060\",Challenge=\"%s\"", ts, 1600+r.IntN(100), g.now.Unix(), ext, r.Uint32(), remote, g.b64(8))
	default:
		return fmt.Sprintf("%s VERBOSE[%d] pbx.c: Executing [%d@default:1] Dial(\"SIP/%d-0000%x\", \"SIP/%d,30\") in new stack", ts, 1600+r.IntN(100), ext, ext, r.IntN(4096), ext+1)
	}
}
