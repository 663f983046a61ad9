// Package banstore keeps f2bd's bans on disk in a bbolt file (state.db in
// the state directory): the active bans, so that the daemon can restore
// the kernel's ban sets at start, and the history of past bans per jail
// and address that bantime.increment counts.
//
// Active bans are keyed by jail and prefix: one ban per (jail, prefix),
// a new Put replaces the old. History entries are keyed by prefix and
// jail and hold what fail2ban's "bips" table holds: the ban count, start
// and length of the last ban. Every Put records its ban in the history;
// Delete (the ban ran out or was lifted) leaves the history alone; Forget
// removes both, as fail2ban's unban command does.
//
// A Store is safe for concurrent use. Only one process can hold the file
// open: Open fails after Options.Timeout when another holds it.
package banstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is not set.
const DefaultTimeout = time.Second

// initialMmapSize is the address space mapped at open. A write that
// outgrows the map remaps it and copies every node the transaction
// touched, which made a bulk put of 100k bans twice as slow. On Linux
// the file itself does not grow to this size.
const initialMmapSize = 256 << 20

// schemaVersion is the layout of the buckets written by this package.
const schemaVersion = "1"

// A PutAll of at least bulkThreshold records fills pages to bulkFill.
const (
	bulkThreshold = 1000
	bulkFill      = 0.9
)

// Bucket names, and the meta bucket's schema version key.
const (
	bucketMeta    = "meta"
	bucketBans    = "bans"
	bucketHistory = "history"
	keyVersion    = "version"
)

// ErrLocked is returned (wrapped) by Open when another process, or
// another Store in this process, holds the file.
var ErrLocked = errors.New("state database is locked by another f2bd")

// Options tune Open. The zero value is usable.
type Options struct {
	// Timeout is how long to wait for the file lock; zero or negative
	// means DefaultTimeout. The wait never is unbounded.
	Timeout time.Duration
	// MaxMatches limits the matched lines stored with a ban: when > 0,
	// only the last MaxMatches lines; 0 keeps all given; negative keeps
	// none (fail2ban's dbmaxmatches = 0).
	MaxMatches int
	// NoSync skips fsync after each transaction (for tests; a crash may
	// lose the last bans).
	NoSync bool
}

// Store is an open ban database.
type Store struct {
	db         *bolt.DB
	path       string
	maxMatches int
}

// Open opens, or creates (mode 0600), the ban database at path. The
// directory must exist. opts may be nil.
//
// Open fails with an error wrapping ErrLocked when the file stays locked
// for the timeout, and with an error naming the path when the file is not
// a ban database (corrupt, another bbolt layout version, or a newer
// schema).
func Open(path string, opts *Options) (s *Store, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync, InitialMmapSize: initialMmapSize})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return nil, fmt.Errorf("banstore: open %s: %w (waited %v)", path, ErrLocked, o.Timeout)
		}
		return nil, fmt.Errorf("banstore: open %s: %w", path, err)
	}
	defer func() {
		// A damaged file can make bbolt panic while reading its pages.
		if p := recover(); p != nil {
			err = fmt.Errorf("banstore: open %s: damaged database: %v", path, p)
		}
		if err != nil {
			_ = db.Close()
			s = nil
		}
	}()
	err = db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
		if err != nil {
			return err
		}
		switch v := m.Get([]byte(keyVersion)); {
		case v == nil:
			if err := m.Put([]byte(keyVersion), []byte(schemaVersion)); err != nil {
				return err
			}
		case string(v) != schemaVersion:
			return fmt.Errorf("unsupported schema version %q (this f2bd knows %q)", v, schemaVersion)
		}
		for _, b := range []string{bucketBans, bucketHistory} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("banstore: open %s: %w", path, err)
	}
	return &Store{db: db, path: path, maxMatches: o.MaxMatches}, nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file. It fails when bbolt cannot unmap or unlock it.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("banstore: close %s: %w", s.path, err)
	}
	return nil
}

// wrap adds the store's path and an operation to an error.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("banstore: %s %s: %w", op, s.path, err)
}

// Put stores an active ban, replacing the jail's ban of the same prefix,
// and records it in the history (count, start and length). It fails on
// an empty jail name, an invalid prefix, a zero Time, or a write error.
func (s *Store) Put(r Record) error {
	return s.PutAll([]Record{r})
}

// PutAll stores many bans in one transaction, as Put does for each; a
// later record replaces an earlier one of the same jail and prefix.
// Either all are stored or, on error, none.
func (s *Store) PutAll(rs []Record) error {
	if len(rs) == 0 {
		return nil
	}
	type kv struct {
		k, v []byte
		i    int // position in rs, to keep the last of equal keys last
	}
	bans := make([]kv, len(rs))
	hist := make([]kv, len(rs))
	// One arena for all keys and values (bbolt needs them to stay valid
	// until the commit), sized from above so that it never moves.
	size := 0
	for i := range rs {
		size += 2*len(rs[i].Jail) + len(rs[i].Origin) + 200
		for _, m := range rs[i].Matches {
			size += len(m) + binary.MaxVarintLen64
		}
	}
	arena := make([]byte, 0, size)
	for i := range rs {
		r := &rs[i]
		if err := checkJail(r.Jail); err != nil {
			return s.wrap("put", err)
		}
		p, err := canonical(r.Prefix)
		if err != nil {
			return s.wrap("put", fmt.Errorf("jail %s: %w", r.Jail, err))
		}
		if r.Time.IsZero() {
			return s.wrap("put", fmt.Errorf("ban %s %s: zero start time", r.Jail, p))
		}
		rec := *r
		rec.Matches = s.trimMatches(r.Matches)
		start := len(arena)
		arena = banKey(arena, r.Jail, p)
		mid := len(arena)
		arena = appendRecord(arena, &rec)
		end := len(arena)
		arena = histKey(arena, p, r.Jail)
		hmid := len(arena)
		arena = appendHistory(arena, History{Count: r.Count, LastBan: r.Time, BanTime: r.BanTime})
		// Slice after all appends of this record: should the estimate
		// fall short, the arena moves, and earlier records' slices keep
		// pointing into the old array, which stays alive and unchanged.
		bans[i] = kv{arena[start:mid:mid], arena[mid:end:end], i}
		hist[i] = kv{arena[end:hmid:hmid], arena[hmid:len(arena):len(arena)], i}
	}
	// Sorted keys make bbolt's inserts sequential; of equal keys the last
	// stays last, so it wins.
	cmp := func(a, b kv) int {
		if c := bytes.Compare(a.k, b.k); c != 0 {
			return c
		}
		return a.i - b.i
	}
	slices.SortFunc(bans, cmp)
	slices.SortFunc(hist, cmp)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, h := tx.Bucket([]byte(bucketBans)), tx.Bucket([]byte(bucketHistory))
		if len(rs) >= bulkThreshold {
			// Sorted bulk inserts fill pages better when they split late.
			b.FillPercent, h.FillPercent = bulkFill, bulkFill
		}
		for _, e := range bans {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
		for _, e := range hist {
			if err := h.Put(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("put", err)
}

func (s *Store) trimMatches(m []string) []string {
	switch {
	case s.maxMatches < 0:
		return nil
	case s.maxMatches > 0 && len(m) > s.maxMatches:
		return m[len(m)-s.maxMatches:]
	}
	return m
}

// Get returns a jail's active ban of a prefix; ok is false when there is
// none. It fails on an invalid prefix or a corrupt record.
func (s *Store) Get(jail string, p netip.Prefix) (r Record, ok bool, err error) {
	p, err = canonical(p)
	if err != nil {
		return Record{}, false, s.wrap("get", err)
	}
	key := banKey(nil, jail, p)
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bucketBans)).Get(key)
		if v == nil {
			return nil
		}
		r, err = decodeRecord(key, v)
		ok = err == nil
		return err
	})
	return r, ok, s.wrap("get", err)
}

// Delete removes a jail's active ban of a prefix and reports whether there
// was one. The history stays. It fails on an invalid prefix or a write
// error.
func (s *Store) Delete(jail string, p netip.Prefix) (bool, error) {
	p, err := canonical(p)
	if err != nil {
		return false, s.wrap("delete", err)
	}
	key := banKey(nil, jail, p)
	found := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketBans))
		if b.Get(key) == nil {
			return nil
		}
		found = true
		return b.Delete(key)
	})
	return found, s.wrap("delete", err)
}

// Key names one ban: a jail and a prefix.
type Key struct {
	Jail   string
	Prefix netip.Prefix
}

// Forget removes a jail's active ban of a prefix and the prefix's history
// in that jail, as fail2ban's unban command forgets the address. It fails
// on an invalid prefix or a write error.
func (s *Store) Forget(jail string, p netip.Prefix) error {
	return s.ForgetAll([]Key{{Jail: jail, Prefix: p}})
}

// ForgetAll is Forget for many bans in one transaction: all are forgotten
// or, on an error (an invalid prefix, a write error), none.
func (s *Store) ForgetAll(keys []Key) error {
	canon := make([]Key, len(keys))
	for i, k := range keys {
		p, err := canonical(k.Prefix)
		if err != nil {
			return s.wrap("forget", err)
		}
		canon[i] = Key{Jail: k.Jail, Prefix: p}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		bans, hist := tx.Bucket([]byte(bucketBans)), tx.Bucket([]byte(bucketHistory))
		var kb []byte
		for _, k := range canon {
			kb = banKey(kb[:0], k.Jail, k.Prefix)
			if err := bans.Delete(kb); err != nil {
				return err
			}
			kb = histKey(kb[:0], k.Prefix, k.Jail)
			if err := hist.Delete(kb); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("forget", err)
}

// ForEach calls fn for each active ban of jail ("" for all jails), in
// jail then prefix-text order, in one read transaction: fn must not call
// the store's writing methods. It stops at fn's first error and returns
// it; it fails on a corrupt record.
func (s *Store) ForEach(jail string, fn func(Record) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketBans)).Cursor()
		var from []byte
		if jail != "" {
			from = append([]byte(jail), 0)
		}
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, v = c.Next() {
			r, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("list", err)
}

// List returns the active bans of jail ("" for all jails), as ForEach
// orders them. It fails on a corrupt record.
func (s *Store) List(jail string) ([]Record, error) {
	var out []Record
	err := s.ForEach(jail, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Len is the number of active bans of jail ("" for all jails).
func (s *Store) Len(jail string) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketBans))
		if jail == "" {
			n = b.Stats().KeyN
			return nil
		}
		from := append([]byte(jail), 0)
		c := b.Cursor()
		for k, _ := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, s.wrap("count", err)
}

// Expired lists the active bans that have run out at now (never the
// permanent ones). It fails on a corrupt record.
func (s *Store) Expired(now time.Time) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketBans)).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			t, bt, err := decodeHead(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if !expired(t, bt, now) {
				continue
			}
			r, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, s.wrap("expired", err)
}

// RemoveExpired deletes the active bans that have run out at now, in one
// transaction, and returns how many. Their history stays. It fails on a
// corrupt record or a write error (then nothing is removed).
func (s *Store) RemoveExpired(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketBans))
		var dead [][]byte
		err := b.ForEach(func(k, v []byte) error {
			t, bt, err := decodeHead(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if expired(t, bt, now) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		n = len(dead)
		return deleteKeys(b, dead)
	})
	if err != nil {
		return 0, s.wrap("remove expired", err)
	}
	return n, nil
}

// Count is the history of a prefix for bantime.increment: in one jail,
// or with overall, summed over all jails (Count summed, LastBan and
// BanTime of the latest ban), as fail2ban's database answers. It is the
// zero History when the prefix has none. It fails on an invalid prefix or
// a corrupt entry.
func (s *Store) Count(jail string, p netip.Prefix, overall bool) (History, error) {
	p, err := canonical(p)
	if err != nil {
		return History{}, s.wrap("count", err)
	}
	var h History
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketHistory))
		if !overall {
			v := b.Get(histKey(nil, p, jail))
			if v == nil {
				return nil
			}
			h, err = decodeHistory(v)
			return err
		}
		from := histKey(nil, p, "")
		c := b.Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, v = c.Next() {
			e, err := decodeHistory(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			h.Count += e.Count
			if h.LastBan.IsZero() || e.LastBan.After(h.LastBan) {
				h.LastBan, h.BanTime = e.LastBan, e.BanTime
			}
		}
		return nil
	})
	return h, s.wrap("count", err)
}

// outdatedFactor is fail2ban's: a history entry outlives its ban's end by
// twice the ban's length before it can be purged.
const outdatedFactor = 3

// Purge deletes the history entries older than age at now, as fail2ban
// purges its bad-IP table with dbpurgeage: an entry goes when its ban
// started before now-age and start + 3*bantime is also before now-age;
// entries of permanent bans stay. Active bans are left alone (see
// RemoveExpired). It returns how many entries went; it fails on a corrupt
// entry or a write error (then nothing is deleted).
func (s *Store) Purge(now time.Time, age time.Duration) (int, error) {
	limit := now.Add(-age)
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketHistory))
		var dead [][]byte
		err := b.ForEach(func(k, v []byte) error {
			h, err := decodeHistory(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if h.BanTime >= 0 && h.LastBan.Before(limit) && h.LastBan.Add(scale(h.BanTime, outdatedFactor)).Before(limit) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		n = len(dead)
		return deleteKeys(b, dead)
	})
	if err != nil {
		return 0, s.wrap("purge", err)
	}
	return n, nil
}

// scale multiplies a non-negative duration, saturating.
func scale(d time.Duration, f int64) time.Duration {
	if d > math.MaxInt64/time.Duration(f) {
		return math.MaxInt64
	}
	return d * time.Duration(f)
}

// deleteKeys deletes keys from a bucket (never while iterating it: bbolt
// cursors skip items after a delete).
func deleteKeys(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
