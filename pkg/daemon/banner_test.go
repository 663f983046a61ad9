package daemon

import (
	"testing"
	"time"

	"github.com/f2bd/f2bd/pkg/banstore"
)

// gatherBanner is a banner with only what gather uses: a queue of store
// jobs and a pause long enough that a test never waits it out.
func gatherBanner() *banner {
	return &banner{records: make(chan storeJob, 8), storeEvery: time.Hour}
}

// recsJob is a store job of n records (their content does not matter to
// gather).
func recsJob(n int) storeJob { return storeJob{recs: make([]banstore.Record, n)} }

// gathered runs gather on its own goroutine and returns its result, or
// fails the test when gather has not returned within a generous bound.
func gathered(t *testing.T, b *banner, jobs []storeJob, last time.Time, send func()) []storeJob {
	t.Helper()
	out := make(chan []storeJob, 1)
	go func() { out <- b.gather(jobs, last) }()
	send()
	select {
	case got := <-out:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("gather still waits")
		return nil
	}
}

// Jobs that arrive within storeEvery of the last transaction go into the
// next one, including those that come after gather began; the queue's
// closing ends the wait, so that the last bans are stored at shutdown.
func TestGatherPausesBetweenTransactions(t *testing.T) {
	b := gatherBanner()
	got := gathered(t, b, []storeJob{recsJob(1)}, time.Now(), func() {
		b.records <- recsJob(2)
		time.Sleep(20 * time.Millisecond) // gather is waiting by now
		b.records <- recsJob(3)
		close(b.records)
	})
	if len(got) != 3 || len(got[1].recs) != 2 || len(got[2].recs) != 3 {
		t.Fatalf("gathered %d jobs, want the 3 sent before the queue closed", len(got))
	}
}

// A job with a request waiting for the store (f2bctl's) ends the pause,
// and one that comes first means no pause at all; so does a last
// transaction longer ago than storeEvery.
func TestGatherDoesNotDelayWaitingRequests(t *testing.T) {
	waiting := func(n int) storeJob {
		j := recsJob(n)
		j.done = []chan<- error{make(chan error, 1)}
		return j
	}
	b := gatherBanner()
	got := gathered(t, b, []storeJob{recsJob(1)}, time.Now(), func() {
		b.records <- waiting(2)
	})
	if len(got) != 2 || len(got[1].done) != 1 {
		t.Fatalf("gathered %d jobs, want the first and the waiting one", len(got))
	}

	b = gatherBanner()
	if got := gathered(t, b, []storeJob{waiting(1)}, time.Now(), func() {}); len(got) != 1 {
		t.Fatalf("gathered %d jobs after a waiting one, want it alone", len(got))
	}

	b = gatherBanner()
	b.storeEvery = time.Millisecond
	b.records <- recsJob(2) // queued: taken without a pause
	if got := gathered(t, b, []storeJob{recsJob(1)}, time.Now().Add(-time.Second), func() {}); len(got) != 2 {
		t.Fatalf("gathered %d jobs after the pause was over, want the queued one too", len(got))
	}
}
