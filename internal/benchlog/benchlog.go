// Package benchlog gives tests and benchmarks their logs: a file's lines
// read as the daemon reads them, and the generated auth.log the throughput
// benchmarks run over (scripts/genlog, or the file F2BD_BENCH_LOG names).
package benchlog

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Read returns the lines of the file at path, invalid UTF-8 replaced as
// the daemon's file reader replaces it.
func Read(tb testing.TB, path string) []string {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, strings.ToValidUTF8(sc.Text(), "\uFFFD"))
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// Lines returns the lines of the benchmarks' log of kind (sshd or mixed):
// the file named by F2BD_BENCH_LOG, else 200000 lines that scripts/genlog
// writes with seed 1.
func Lines(tb testing.TB, kind string) []string {
	tb.Helper()
	path := os.Getenv("F2BD_BENCH_LOG")
	if path == "" {
		path = filepath.Join(tb.TempDir(), kind+".log")
		cmd := exec.Command("go", "run", genlogDir(), "-n", "200000", "-seed", "1", "-kind", kind, "-o", path)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("genlog: %v: %s", err, out)
		}
	}
	return Read(tb, path)
}

// genlogDir is scripts/genlog in the module this file is part of.
func genlogDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "genlog")
}
