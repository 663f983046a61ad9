// Package oracle gives tests the installed fail2ban, the reference that
// f2bd's behaviour is checked against: where its programs, configuration
// and sample corpus are, and how to require them.
//
// fail2ban's programs must run with the system Python (/usr/bin/python3):
// another python3 first on PATH may not import fail2ban.
package oracle

import (
	"os"
	"path/filepath"
	"testing"
)

// Paths of the installed fail2ban (Debian's package).
const (
	Python   = "/usr/bin/python3"
	Client   = "/usr/bin/fail2ban-client"
	Regex    = "/usr/bin/fail2ban-regex"
	StockDir = "/etc/fail2ban"
	Corpus   = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
)

// Require skips the test when one of paths is missing, or fails it when
// CI=true: in CI an oracle test that cannot run must not pass quietly.
func Require(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("required %s is missing: %v", p, err)
			}
			t.Skipf("required %s is missing: %v", p, err)
		}
	}
}

// CopyTree copies the directories and regular files below src to dst
// (symbolic links are followed), failing the test on an error.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}
