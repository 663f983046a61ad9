// Package oracle gives tests the installed fail2ban, the reference that
// f2bd's behaviour is checked against: where its programs, configuration
// and sample corpus are, and how to require them.
//
// fail2ban's programs must run with the system Python (/usr/bin/python3):
// another python3 first on PATH may not import fail2ban.
package oracle

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/testenv"
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
			testenv.Missing(t, "required %s is missing: %v", p, err)
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

// StockJails lists the jail sections of the installed jail.conf, in order.
func StockJails(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(StockDir, "jail.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "[") {
			continue
		}
		if end := strings.Index(line, "]"); end > 1 {
			if n := line[1:end]; n != "INCLUDES" && n != "DEFAULT" {
				names = append(names, n)
			}
		}
	}
	return names
}

// toJSON turns fail2ban-client -d's Python reprs into one JSON array per
// line, by Python itself.
const toJSON = `import ast, json, sys
for line in sys.stdin:
    if line.startswith('['):
        print(json.dumps(ast.literal_eval(line)))
    elif line.strip():
        sys.exit('unexpected fail2ban-client output: ' + line)`

// Commands runs `fail2ban-client -c dir -d` and returns the commands it
// prints, as JSON values (numbers as float64, True as true, None as nil).
func Commands(t testing.TB, dir string) [][]any {
	t.Helper()
	Require(t, Python, Client)
	var stderr bytes.Buffer
	cmd := exec.Command(Python, Client, "-c", dir, "-d")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-client -c %s -d: %v\n%s", dir, err, stderr.String())
	}
	conv := exec.Command(Python, "-c", toJSON)
	conv.Stdin = bytes.NewReader(out)
	conv.Stderr = &stderr
	js, err := conv.Output()
	if err != nil {
		t.Fatalf("converting fail2ban-client -d output: %v\n%s", err, stderr.String())
	}
	var cmds [][]any
	for _, line := range strings.Split(strings.TrimSpace(string(js)), "\n") {
		if line == "" {
			continue
		}
		var c []any
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("decoding %q: %v", line, err)
		}
		cmds = append(cmds, c)
	}
	return cmds
}
