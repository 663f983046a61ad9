// Package position keeps how far f2bd has read each of its sources (the
// offset and identity of every log file a jail follows, the cursor of
// every journal reader) in a small JSON file of the state directory, so
// that a restart neither misses nor repeats lines.
//
// The file is rewritten atomically (a temporary file, fsync, rename, fsync
// of the directory) by Flush, which the daemon calls every second when
// something moved and once more on stop.
package position

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the positions file's name in the state directory.
const FileName = "positions.json"

// File is how far a jail has read one log file.
type File struct {
	// Inode and Head (a hash of the first line) identify the file.
	Inode uint64 `json:"inode"`
	Head  string `json:"head,omitempty"`
	// Offset is just after the last line the jail has handled.
	Offset int64 `json:"offset"`
	// Updated is when the position last moved.
	Updated time.Time `json:"updated"`
}

// Journal is how far a journal reader has read.
type Journal struct {
	Cursor  string    `json:"cursor"`
	Updated time.Time `json:"updated"`
}

// state is the file's content.
type state struct {
	Version int `json:"version"`
	// Files are keyed by jail, then by path.
	Files map[string]map[string]File `json:"files"`
	// Journals are keyed by the reader's journal (see the daemon).
	Journals map[string]Journal `json:"journals"`
}

// Store holds the positions; its methods are safe for concurrent use.
type Store struct {
	path string

	mu    sync.Mutex
	st    state
	dirty bool
}

// Open reads the positions file at path; a missing file is an empty store.
// A file that cannot be decoded is an error, returned with an empty store
// that will replace it.
func Open(path string) (*Store, error) {
	s := &Store{path: path, st: state{Version: 1,
		Files: map[string]map[string]File{}, Journals: map[string]Journal{}}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("positions: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return s, fmt.Errorf("positions: %s is damaged (starting without positions): %w", path, err)
	}
	if st.Files != nil {
		s.st.Files = st.Files
	}
	if st.Journals != nil {
		s.st.Journals = st.Journals
	}
	return s, nil
}

// Path is the positions file's path.
func (s *Store) Path() string { return s.path }

// File returns the saved position of a jail's log file.
func (s *Store) File(jail, path string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.st.Files[jail][path]
	return f, ok
}

// SetFile records a jail's position in a log file.
func (s *Store) SetFile(jail, path string, f File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.Files[jail]
	if m == nil {
		m = map[string]File{}
		s.st.Files[jail] = m
	}
	if old, ok := m[path]; ok && old.Inode == f.Inode && old.Offset == f.Offset && old.Head == f.Head {
		return
	}
	m[path] = f
	s.dirty = true
}

// Journal returns the saved cursor of a journal reader.
func (s *Store) Journal(key string) (Journal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.st.Journals[key]
	return j, ok
}

// SetJournal records a journal reader's cursor.
func (s *Store) SetJournal(key string, j Journal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.st.Journals[key]; ok && old.Cursor == j.Cursor {
		return
	}
	s.st.Journals[key] = j
	s.dirty = true
}

// Flush writes the positions when they changed since the last Flush.
func (s *Store) Flush() error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	data, err := json.MarshalIndent(&s.st, "", "\t")
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("positions: %w", err)
	}
	if err := writeAtomic(s.path, append(data, '\n')); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

// writeAtomic replaces path with data: readers see the old or the new
// content, also after a crash.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("positions: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("positions: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("positions: syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("positions: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("positions: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
