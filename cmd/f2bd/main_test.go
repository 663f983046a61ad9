package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestBuiltinConfigWhenTheHostHasNone(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "fail2ban")
	cfg, err := loadConfig(missing, false, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != "embedded" || len(cfg.Jails) != 1 || cfg.Jails[0].Name != "sshd" {
		t.Fatalf("config %q with jails %v, want the built-in sshd jail", cfg.Dir, cfg.Jails)
	}
	j := cfg.Jails[0]
	// The built-in jail reads auth.log when the host has it, else the journal.
	_, statErr := os.Stat("/var/log/auth.log")
	if wantJournal := statErr != nil; (j.Backend == "systemd") != wantJournal {
		t.Errorf("backend %q with /var/log/auth.log present=%v", j.Backend, statErr == nil)
	}
	if j.BanAction != "nftables-multiport" || j.Filter.JournalMatch == "" || len(j.Filter.FailRegex) == 0 {
		t.Errorf("built-in jail: banaction %q, filter %+v", j.BanAction, j.Filter)
	}
}

func TestExplicitMissingConfigIsAnError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "fail2ban")
	if _, err := loadConfig(missing, true, zap.NewNop()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want an error naming %s", err, missing)
	}
}

func TestHostConfigIsRead(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "filter.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "jail.conf"), []byte("[web]\nenabled = true\nfilter = web\nlogpath = /dev/null\nbanaction = nftables\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "filter.d", "web.conf"), []byte("[Definition]\nfailregex = ^bad <HOST>$\n"), 0o644)
	cfg, err := loadConfig(dir, false, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != dir || len(cfg.Jails) != 1 || cfg.Jails[0].Name != "web" {
		t.Fatalf("config %q jails %v", cfg.Dir, cfg.Jails)
	}
}
