package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDirListingCache checks that answering isFile and globConf from
// cached directory listings agrees with Stat and ReadDir: symbolic links
// are followed, directories are not files, and missing directories hold
// nothing.
func TestDirListingCache(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("[Definition]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("filter.d/a.conf")
	write("real.d/x.conf")
	write("real.d/.hidden.conf")
	if err := os.MkdirAll(filepath.Join(dir, "filter.d/dir.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"filter.d/b.conf":     "a.conf",
		"filter.d/dead.conf":  "missing.conf",
		"filter.d/linkd.conf": "dir.conf",
		"filter.d/a.d":        "../real.d",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	rel := strings.TrimPrefix(filepath.ToSlash(dir), "/")
	l := newLoader(os.DirFS("/"), rel, true, dir)
	for name, want := range map[string]bool{
		"a.conf": true, "b.conf": true, "dead.conf": false, "dir.conf": false,
		"linkd.conf": false, "none.conf": false, "a.d": false, "none.d/x.conf": false,
		"a.d/x.conf": true,
	} {
		if got := l.isFile(rel + "/filter.d/" + name); got != want {
			t.Errorf("isFile(%s) = %v, want %v", name, got, want)
		}
	}
	if got, want := l.globConf(rel+"/filter.d/a.d", ".conf"), []string{rel + "/filter.d/a.d/x.conf"}; !reflect.DeepEqual(got, want) {
		t.Errorf("globConf(a.d) = %q, want %q", got, want)
	}
	if got := l.globConf(rel+"/filter.d/none.d", ".conf"); got != nil {
		t.Errorf("globConf(none.d) = %q, want nothing", got)
	}
}
