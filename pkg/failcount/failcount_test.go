package failcount

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestBanAtMaxRetry(t *testing.T) {
	c := New[string](10*time.Minute, 3, 2)
	for i := 1; i <= 2; i++ {
		r := c.Add("192.0.2.2", t0.Add(time.Duration(i)*time.Second), fmt.Sprint("line", i))
		if r.Ban || r.Attempts != i {
			t.Fatalf("failure %d: got %+v, want attempts %d and no ban", i, r, i)
		}
	}
	r := c.Add("192.0.2.2", t0.Add(3*time.Second), "line3")
	if !r.Ban || r.Attempts != 3 {
		t.Fatalf("third failure: got %+v, want a ban at 3", r)
	}
	if got := fmt.Sprint(r.Matches); got != "[line2 line3]" {
		t.Errorf("matches kept = %s, want the last 2", got)
	}
	if c.Current() != 0 || c.Total() != 3 {
		t.Errorf("after ban: current %d total %d, want 0 and 3", c.Current(), c.Total())
	}
	// A new failure after the ban starts a fresh count.
	if r := c.Add("192.0.2.2", t0.Add(4*time.Second), "x"); r.Attempts != 1 || r.Ban {
		t.Errorf("after ban: got %+v, want a fresh count", r)
	}
}

func TestIDsAreCountedApart(t *testing.T) {
	c := New[string](time.Minute, 2, 0)
	c.Add("192.0.2.2", t0, "")
	if r := c.Add("192.0.2.3", t0, ""); r.Ban {
		t.Fatal("a failure of another id must not complete the first id's count")
	}
	if c.Current() != 2 {
		t.Errorf("current = %d, want 2", c.Current())
	}
}

func TestSlowFailuresAreScaledToFindTime(t *testing.T) {
	// One failure every 11 minutes with findtime 10 minutes: the count is
	// scaled to the rate, so it stays at 2 and maxretry 3 is never reached,
	// even without a Cleanup in between.
	c := New[string](10*time.Minute, 3, 0)
	for i := 0; i < 10; i++ {
		if r := c.Add("198.51.100.7", t0.Add(time.Duration(i)*11*time.Minute), ""); r.Ban || r.Attempts > 2 {
			t.Fatalf("failure %d banned (attempts %d) at a rate below maxretry per findtime", i, r.Attempts)
		}
	}
	// Fast failures still ban.
	c2 := New[string](10*time.Minute, 3, 0)
	var banned bool
	for i := 0; i < 3; i++ {
		banned = c2.Add("198.51.100.8", t0.Add(time.Duration(i)*time.Minute), "").Ban
	}
	if !banned {
		t.Error("3 failures in 3 minutes with findtime 10m did not ban")
	}
}

func TestCleanupForgetsOldIDs(t *testing.T) {
	c := New[string](time.Minute, 5, 0)
	c.Add("192.0.2.2", t0, "")
	c.Add("192.0.2.3", t0.Add(50*time.Second), "")
	c.Cleanup(t0.Add(70 * time.Second))
	if c.Current() != 1 {
		t.Fatalf("current = %d after cleanup, want 1 (only the recent id)", c.Current())
	}
	if r := c.Add("192.0.2.2", t0.Add(71*time.Second), ""); r.Attempts != 1 {
		t.Errorf("forgotten id restarted at %d, want 1", r.Attempts)
	}
}

func BenchmarkAdd(b *testing.B) {
	c := New[string](10*time.Minute, 1<<30, 0)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("192.0.2.%d", i%256) + fmt.Sprint(i/256)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Add(ids[i&1023], t0.Add(time.Duration(i)), "")
	}
}

func TestWeightedFailuresBanSooner(t *testing.T) {
	c := New[string](10*time.Minute, 5, 0)
	if r := c.AddWeighted("198.51.100.9", t0, "", 3); r.Ban || r.Attempts != 3 {
		t.Fatalf("first weighted failure: %+v, want 3 attempts and no ban", r)
	}
	if r := c.AddWeighted("198.51.100.9", t0.Add(time.Second), "", 3); !r.Ban || r.Attempts != 6 {
		t.Fatalf("second weighted failure: %+v, want a ban at 6 >= maxretry 5", r)
	}
	if c.Total() != 2 {
		t.Errorf("total = %d, want 2 failures (weights are not failures)", c.Total())
	}
	if r := c.AddWeighted("198.51.100.10", t0, "", 0); r.Attempts != 1 {
		t.Errorf("weight 0 counted %d, want 1", r.Attempts)
	}
}

// A jail with a large maxretry keeps every line up to its ban, without
// reserving room for all of them for each new address.
func TestLargeMaxRetryKeepsLinesWithoutReserving(t *testing.T) {
	const maxRetry = 100000
	c := New[string](time.Hour, maxRetry, maxRetry)
	c.Add("192.0.2.3", t0, "first")
	if got := cap(c.entries["192.0.2.3"].matches); got > maxPrealloc {
		t.Errorf("a new id's entry has room for %d lines, want at most %d", got, maxPrealloc)
	}
	var r Result
	for i := 1; i < maxRetry; i++ {
		r = c.Add("192.0.2.3", t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("line", i))
	}
	if !r.Ban || len(r.Matches) != maxRetry || r.Matches[0] != "first" || r.Matches[maxRetry-1] != fmt.Sprint("line", maxRetry-1) {
		t.Fatalf("ban at %d: ban %v, %d matches (first %q); want a ban with every line in order", maxRetry, r.Ban, len(r.Matches), r.Matches[0])
	}
}
