// Package testenv tells tests what to do when something they need is not
// on the machine: fail under CI (CI=true), where every test must run, and
// skip elsewhere, where a developer may lack fail2ban, python3 or root.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing stops the test because something it needs is missing, described
// by format and args: t.Fatal under CI, t.Skip otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required for this test (CI=true): %s", msg)
		return
	}
	t.Skipf("skipping: %s (under CI=true this fails)", msg)
}
