package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/oracle"
)

// BenchmarkLoadStockAllJails loads the stock /etc/fail2ban with every jail
// of jail.conf enabled.
func BenchmarkLoadStockAllJails(b *testing.B) {
	oracle.Require(b, oracle.StockDir)
	dir := b.TempDir()
	oracle.CopyTree(b, oracle.StockDir, dir)
	var sb strings.Builder
	for _, n := range oracle.StockJails(b) {
		fmt.Fprintf(&sb, "[%s]\nenabled = true\n", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "jail.local"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Jails) == 0 || len(cfg.Broken) != 0 {
			b.Fatalf("jails %d broken %v", len(cfg.Jails), cfg.Broken)
		}
	}
}
