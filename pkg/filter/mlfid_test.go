package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/f2bd/f2bd/internal/oracle"
)

// cacheOp is one use of the F-MLFID cache as a merge makes it: a lookup
// of key at time t (in seconds), then, when nothing is cached, an insert
// (touch), or when something is, its removal (forget).
type cacheOp struct {
	Key    string  `json:"k"`
	T      float64 `json:"t"`
	Forget bool    `json:"forget"`
}

// cacheOracle runs ops through fail2ban's own Utils.Cache, its clock set
// to each op's time, and returns whether each lookup found an entry and
// the keys cached at the end, oldest first.
const cacheOracle = `
import json, sys
import fail2ban.server.utils as u
clock = [0.0]
class fake:
    @staticmethod
    def time():
        return clock[0]
u.time = fake
req = json.load(sys.stdin)
c = u.Utils.Cache(maxCount=req["max"], maxTime=req["ttl"])
found = []
for op in req["ops"]:
    clock[0] = op["t"]
    v = c.get(op["k"])
    found.append(v is not None)
    if v is None and not op["forget"]:
        c.set(op["k"], 1)
    elif v is not None and op["forget"]:
        c.unset(op["k"])
print(json.dumps({"found": found, "keys": list(c._cache.keys())}))
`

// TestMLFIDCacheAsFail2ban drives random sequences of lookups, inserts
// and removals through mlfidCache and through fail2ban's Utils.Cache
// (its filter's F-MLFID cache) and compares every lookup's result and
// what stays cached: entries expire ttl after they were cached, and a
// full cache drops them in the order they came.
func TestMLFIDCacheAsFail2ban(t *testing.T) {
	oracle.Require(t, oracle.Python, oracle.Client)
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 40 {
		max, ttl := 1+r.IntN(8), 1+r.IntN(20)
		nkeys := 2 + r.IntN(3*max)
		var ops []cacheOp
		tm := 0.0
		for range 400 {
			// quarter seconds: exact in both clocks, so that ops fall on
			// expiry times exactly; some at the same time
			tm += float64(r.IntN(12)) / 4
			ops = append(ops, cacheOp{Key: fmt.Sprint("k", r.IntN(nkeys)), T: tm, Forget: r.IntN(5) == 0})
		}
		req, _ := json.Marshal(map[string]any{"max": max, "ttl": ttl, "ops": ops})
		cmd := exec.Command(oracle.Python, "-c", cacheOracle)
		cmd.Stdin = bytes.NewReader(req)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fail2ban's cache: %v", err)
		}
		var want struct {
			Found []bool   `json:"found"`
			Keys  []string `json:"keys"`
		}
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatalf("fail2ban's cache: %v: %s", err, out)
		}

		c := newMLFIDCache(max, time.Duration(ttl)*time.Second)
		base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		for i, op := range ops {
			now := base.Add(time.Duration(op.T * float64(time.Second)))
			e := c.get(op.Key, now)
			if (e != nil) != want.Found[i] {
				t.Fatalf("round %d (max %d, ttl %ds), op %d %+v: found %v, fail2ban %v", round, max, ttl, i, op, e != nil, want.Found[i])
			}
			if e == nil && !op.Forget {
				// entries come recycled, as merge takes them: a stale
				// queue record of an entry's earlier use must stay stale
				c.set(op.Key, c.alloc(), now)
			} else if e != nil && op.Forget {
				c.drop(e)
			}
			if len(c.order)-c.head > 2*max+16 {
				t.Fatalf("round %d: queue of %d records for at most %d entries", round, len(c.order)-c.head, max)
			}
		}
		var keys []string
		for _, r := range c.order[c.head:] {
			if c.live(r) {
				keys = append(keys, r.e.id)
			}
		}
		if len(keys) != len(c.m) || !slices.Equal(keys, want.Keys) {
			t.Fatalf("round %d: cached %q (map of %d), fail2ban %q", round, keys, len(c.m), want.Keys)
		}
	}
}

// TestMergeKeepsCopies checks that the F-MLFID cache keeps copies of what
// it is given: the strings of a merged match (group values, users, matched
// lines, the id) are cut from a batch item's line, which the item's next
// line overwrites. Each merge here takes its strings from one buffer that
// is scribbled over right after; what the entries hold must not change.
func TestMergeKeepsCopies(t *testing.T) {
	c := newMLFIDCache(4, time.Hour)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var buf []byte
	// str returns s backed by buf (the item's line)
	str := func(s string) string {
		start := len(buf)
		buf = append(buf, s...)
		return unsafe.String(unsafe.SliceData(buf[start:]), len(s))
	}
	type step struct {
		id, user, ip, line string
		nofail, forget     bool
	}
	steps := []step{
		{id: "srv sshd[1]: ", ip: "192.0.2.1", line: "Connection from 192.0.2.1", nofail: true},
		{id: "srv sshd[2]: ", ip: "192.0.2.2", line: "Connection from 192.0.2.2", nofail: true},
		{id: "srv sshd[1]: ", user: "alice", ip: "192.0.2.1", line: "Failed password for alice from 192.0.2.1"},
		{id: "srv sshd[1]: ", user: "bob", ip: "192.0.2.1", line: "Failed password for bob from 192.0.2.1"},
		{id: "srv sshd[2]: ", user: "carol", line: "pam_unix(sshd:auth): authentication failure; user=carol", nofail: true},
		{id: "srv sshd[3]: ", ip: "192.0.2.3", line: "Connection from 192.0.2.3", nofail: true},
		{id: "srv sshd[1]: ", ip: "192.0.2.1", line: "Disconnected from 192.0.2.1", nofail: true, forget: true},
		{id: "srv sshd[4]: ", ip: "192.0.2.4", line: "Connection from 192.0.2.4", nofail: true},
		{id: "srv sshd[4]: ", user: "dave", ip: "192.0.2.4", line: "Failed password for dave from 192.0.2.4"},
		{id: "srv sshd[5]: ", ip: "192.0.2.5", line: "Connection from 192.0.2.5", nofail: true},
	}
	// want: what the cached entries hold, from the same merges with
	// strings of their own
	wantCache := newMLFIDCache(4, time.Hour)
	for i, s := range steps {
		for k, cache := range []*mlfidCache{&c, &wantCache} {
			buf = buf[:0]
			mk := func(v string) string { return v }
			if k == 0 {
				mk = str
			}
			var g groupSet
			g.set(gMLFID, mk(s.id))
			if s.user != "" {
				g.set(gUser, mk(s.user))
			}
			if s.ip != "" {
				g.set(gIP4, mk(s.ip))
			}
			if s.nofail {
				g.set(gNoFail, mk("Connection"))
			}
			if s.forget {
				g.set(gMLFForget, mk("x"))
			}
			cache.merge(mk(s.id), entry{g: g}, []string{mk(s.line)}, now.Add(time.Duration(i)*time.Second))
			for j := range buf {
				buf[j] = 'X'
			}
		}
	}
	if len(c.m) != len(wantCache.m) {
		t.Fatalf("%d entries cached, want %d", len(c.m), len(wantCache.m))
	}
	for id, w := range wantCache.m {
		e := c.m[id]
		if e == nil {
			t.Fatalf("no entry for %q (cached: %d)", id, len(c.m))
		}
		if e.id != w.id || !slices.Equal(e.g.kv, w.g.kv) || !slices.Equal(e.users, w.users) ||
			!slices.Equal(e.matches, w.matches) || !slices.Equal(e.nofailMatches, w.nofailMatches) {
			t.Errorf("entry %q:\n got  id %q groups %q users %q matches %q nofail %q\n want id %q groups %q users %q matches %q nofail %q",
				id, e.id, e.g.kv, e.users, e.matches, e.nofailMatches, w.id, w.g.kv, w.users, w.matches, w.nofailMatches)
		}
	}
}

// TestEntryTextBounded merges thousands of failing lines under one id (a
// process whose lines all carry the same prefix) and checks that the
// entry's copies stay the size of what it holds, and hold what they should.
func TestEntryTextBounded(t *testing.T) {
	c := newMLFIDCache(10, time.Hour)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var buf []byte
	var e *entry
	for i := range 20000 {
		buf = fmt.Appendf(buf[:0], "srv app[7]: |Failed login for user%d from 192.0.2.%d", i%50, i%200)
		line := unsafe.String(unsafe.SliceData(buf), len(buf))
		var g groupSet
		g.set(gMLFID, line[:len("srv app[7]: ")])
		g.set(gUser, line[len("srv app[7]: |Failed login for "):strings.Index(line, " from")])
		g.set(gIP4, line[strings.Index(line, "192."):])
		e = c.merge(g.val(gMLFID), entry{g: g}, []string{line[len("srv app[7]: "):]}, now)
		for j := range buf {
			buf[j] = 'X'
		}
	}
	if got := cap(e.text); got > 64<<10 {
		t.Errorf("entry text of %d bytes after 20000 merges, for %d users and %d matches", got, len(e.users), len(e.matches))
	}
	if e.g.val(gIP4) != "192.0.2.199" || e.g.val(gUser) != "user49" || len(e.users) != 50 ||
		len(e.matches) != 1 || e.matches[0] != "|Failed login for user49 from 192.0.2.199" {
		t.Errorf("entry after 20000 merges: groups %q, %d users, matches %q", e.g.kv, len(e.users), e.matches)
	}
}
