package position

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.SetFile("sshd", "/var/log/auth.log", File{Inode: 7, Head: "ab", Offset: 42, Updated: now})
	s.SetJournal("system", Journal{Cursor: "s=1;i=2", Updated: now})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no positions file after Flush: %v", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := s2.File("sshd", "/var/log/auth.log")
	if !ok || f.Inode != 7 || f.Head != "ab" || f.Offset != 42 || !f.Updated.Equal(now) {
		t.Fatalf("file position read back as %+v, %v", f, ok)
	}
	if j, ok := s2.Journal("system"); !ok || j.Cursor != "s=1;i=2" {
		t.Fatalf("journal position read back as %+v, %v", j, ok)
	}
	if _, ok := s2.File("other", "/var/log/auth.log"); ok {
		t.Fatal("another jail's position found")
	}
	// Nothing changed: Flush does not rewrite.
	st1, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond)
	if err := s2.Flush(); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("Flush rewrote unchanged positions")
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("state directory holds %d files, want 1", len(ents))
	}
}

func TestDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err == nil {
		t.Fatal("damaged file accepted")
	}
	s.SetJournal("k", Journal{Cursor: "c"})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(path); err != nil {
		t.Fatalf("rewritten file: %v", err)
	} else if j, _ := s2.Journal("k"); j.Cursor != "c" {
		t.Fatalf("cursor %q", j.Cursor)
	}
}
