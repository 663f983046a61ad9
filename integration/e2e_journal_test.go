package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2bd/f2bd/internal/testenv"
)

// journalRemote finds systemd-journal-remote, which turns an export-format
// stream into real journal files.
func journalRemote(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, "systemd-journal-remote is needed (package systemd-journal-remote)")
	return ""
}

// appendSSHDFailure appends one failed password entry of Debian's sshd
// (unit ssh.service, which the stock journalmatch does not name) to the
// journal file.
func appendSSHDFailure(t testing.TB, bin, file, addr string, pid int) {
	t.Helper()
	appendJournal(t, bin, file, []journalEntry{{
		{"_HOSTNAME", "srv"}, {"_SYSTEMD_UNIT", "ssh.service"}, {"_COMM", "sshd"},
		{"SYSLOG_IDENTIFIER", "sshd"}, {"_PID", strconv.Itoa(pid)},
		{"MESSAGE", fmt.Sprintf("Failed password for root from %s port %d ssh2", addr, 40000+pid)},
	}})
}

// TestJournalBanE2E runs the stock sshd jail on backend = systemd over a
// real journal directory that grows while f2bd follows it, and checks the
// ban lands in the kernel at the third failure.
func TestJournalBanE2E(t *testing.T) {
	t.Parallel()
	requireHarness(t)
	remote := journalRemote(t)
	f2bdBin, f2bctlBin := buildBinaries(t)
	guardHostRuleset(t)
	tp := newTopology(t)

	jdir := t.TempDir()
	jfile := filepath.Join(jdir, "remote.journal")
	appendSSHDFailure(t, remote, jfile, "198.51.100.77", 1) // an unrelated address
	jail := fmt.Sprintf(`[sshd]
enabled = true
backend = systemd[journalpath=%s]
maxretry = 3
findtime = 10m
bantime = 60
banaction = nftables-multiport
`, jdir)
	d := startF2BD(t, tp.Srv, f2bdBin, f2bctlBin, jail)
	attacker := tp.AtkV4.String()

	inSet := func() *SetElem {
		return nftJSON(t, tp.Srv).Set("inet", "f2b", "f2b-sshd-v4").Elem(tp.AtkV4)
	}
	for i := 0; i < 2; i++ {
		appendSSHDFailure(t, remote, jfile, attacker, 100+i)
	}
	// Two failures are counted, not banned.
	if !waitFor(5*time.Second, 100*time.Millisecond, func() bool {
		out, _ := d.Ctl("status", "sshd")
		return strings.Contains(out, "Total failed:\t3") // the unrelated one and two
	}) {
		out, _ := d.Ctl("status", "sshd")
		t.Fatalf("f2bd did not count the journal's failures:\n%s", out)
	}
	if el := inSet(); el != nil {
		t.Fatalf("%s banned after 2 failures (maxretry 3)", attacker)
	}

	appendSSHDFailure(t, remote, jfile, attacker, 102)
	var el *SetElem
	waitFor(5*time.Second, 50*time.Millisecond, func() bool { el = inSet(); return el != nil })
	if el == nil {
		out, _ := d.Ctl("status", "sshd")
		t.Fatalf("%s not banned after the third failure in the journal:\n%s", attacker, out)
	}
	if el.Expires <= 0 || el.Expires > 60*time.Second {
		t.Errorf("element expires in %v, want within bantime 60s", el.Expires)
	}
	out, err := d.Ctl("status", "sshd")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Journal matches:\t_SYSTEMD_UNIT=sshd.service + _COMM=sshd", "Currently banned:\t1", "Banned IP list:\t" + attacker} {
		if !strings.Contains(out, want) {
			t.Errorf("status sshd lacks %q:\n%s", want, out)
		}
	}
}
