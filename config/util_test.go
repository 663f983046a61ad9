package config

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/oracle"
)

// execPython runs a Python script with input on stdin and returns stdout.
func execPython(t testing.TB, script, input string) string {
	t.Helper()
	cmd := exec.Command(oracle.Python, "-c", script)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	return string(out)
}
