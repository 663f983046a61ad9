package jail

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/internal/testenv"
)

// now is the clock of these tests; log lines carry its date.
var now = time.Date(2026, 11, 22, 10, 0, 30, 0, time.Local)

func syslogLine(sec int, pid int, msg string) string {
	return fmt.Sprintf("%s srv sshd[%d]: %s", now.Add(time.Duration(sec-30)*time.Second).Format(time.Stamp), pid, msg)
}

// sshdJail returns the sshd jail of a configuration tree, with the given
// maxretry.
func sshdJail(t *testing.T, cfg *config.Config, maxretry int) *Jail {
	t.Helper()
	for _, c := range cfg.Jails {
		if c.Name == "sshd" {
			c.MaxRetry = maxretry
			j, err := New(c, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			return j
		}
	}
	t.Fatalf("no sshd jail in %s", cfg.Dir)
	return nil
}

// stockSSHD loads the installed fail2ban's own tree (Debian enables sshd).
func stockSSHD(t *testing.T, maxretry int) *Jail {
	t.Helper()
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		testenv.Missing(t, "fail2ban's configuration is not installed: %v", err)
	}
	cfg, err := config.LoadDir("/etc/fail2ban")
	if err != nil {
		t.Fatal(err)
	}
	return sshdJail(t, cfg, maxretry)
}

func builtinSSHD(t *testing.T, maxretry int) *Jail {
	t.Helper()
	cfg, err := config.Load(config.Default(), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	return sshdJail(t, cfg, maxretry)
}

// Real OpenSSH 9.2 lines for one failed password each (as the integration
// harness records them from a real sshd), each connection its own PID.
func attempt(sec, pid int, user, addr string) []string {
	return []string{
		syslogLine(sec, pid, fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, addr, 40000+pid)),
		syslogLine(sec, pid, fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", user, addr, 40000+pid)),
	}
}

func TestBanAtThirdFailure(t *testing.T) {
	for name, mk := range map[string]func(*testing.T, int) *Jail{"stock": stockSSHD, "builtin": builtinSSHD} {
		t.Run(name, func(t *testing.T) {
			j := mk(t, 3)
			var decisions []string
			for i := 0; i < 3; i++ {
				for _, l := range attempt(i, 100+i, "root", "198.51.100.2") {
					if d, ok := j.Line(l); ok {
						decisions = append(decisions, fmt.Sprintf("%d:%s:%d", i, d.Addr, d.Failures))
						if d.BanTime != j.Config.BanTime || d.Jail != "sshd" {
							t.Errorf("decision %+v", d)
						}
					}
				}
			}
			if fmt.Sprint(decisions) != "[2:198.51.100.2:3]" {
				t.Fatalf("decisions %v, want one ban at the third failure", decisions)
			}
			if s := j.Stats(); s.TotalFailed != 3 || s.TotalBanned != 1 || s.CurrentlyFailed != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestIPv6AndIgnoreList(t *testing.T) {
	j := builtinSSHD(t, 1)
	if d, ok := j.Line(attempt(0, 7, "root", "2001:db8::2")[0]); !ok || d.Addr != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("IPv6 failure: %v %+v", ok, d)
	}
	for _, addr := range []string{"127.0.0.1", "::1"} {
		if d, ok := j.Line(attempt(0, 8, "root", addr)[0]); ok {
			t.Errorf("loopback %s banned: %+v", addr, d)
		}
	}
	if j.Stats().Ignored != 2 {
		t.Errorf("ignored = %d, want 2", j.Stats().Ignored)
	}
}

func TestOldFailuresAreNotCounted(t *testing.T) {
	j := builtinSSHD(t, 1)
	old := fmt.Sprintf("%s srv sshd[9]: Failed password for root from 198.51.100.9 port 1 ssh2",
		now.Add(-j.Config.FindTime-time.Minute).Format(time.Stamp))
	if d, ok := j.Line(old); ok {
		t.Fatalf("a failure older than findtime banned: %+v", d)
	}
}

// An attacker controls the user name; it must never become the address.
func TestCraftedUserNameIsNotTheAddress(t *testing.T) {
	for name, mk := range map[string]func(*testing.T, int) *Jail{"stock": stockSSHD, "builtin": builtinSSHD} {
		t.Run(name, func(t *testing.T) {
			j := mk(t, 1)
			l := syslogLine(0, 5, "Failed password for invalid user x from 203.0.113.9 port 22 ssh2 from 198.51.100.2 port 4 ssh2")
			if d, ok := j.Line(l); ok && d.Addr == netip.MustParseAddr("203.0.113.9") {
				t.Fatalf("crafted user name banned 203.0.113.9")
			}
		})
	}
}

// With a failure weight (bantime.increment's known offenders), an address
// reaches maxretry sooner; other addresses are unaffected.
func TestWeighedFailures(t *testing.T) {
	j := builtinSSHD(t, 5)
	known := netip.MustParseAddr("198.51.100.7")
	j.WeighFailures(func(a netip.Addr, _ time.Time) int {
		if a == known {
			return 3
		}
		return 1
	})
	var bannedAt []string
	for i := 0; i < 2; i++ {
		for _, addr := range []string{"198.51.100.7", "198.51.100.8"} {
			if d, ok := j.Line(attempt(i, 200+i, "root", addr)[0]); ok {
				bannedAt = append(bannedAt, fmt.Sprintf("%d:%s", i, d.Addr))
			}
		}
	}
	if fmt.Sprint(bannedAt) != "[1:198.51.100.7]" {
		t.Fatalf("bans %v, want only the known offender, at its second failure", bannedAt)
	}
}
