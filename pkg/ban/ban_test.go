package ban

import (
	"testing"
	"time"
)

func TestRemaining(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	d := Decision{Time: t0, BanTime: 10 * time.Minute}
	if got := d.Remaining(t0.Add(time.Minute)); got != 9*time.Minute {
		t.Errorf("Remaining after 1m = %v, want 9m", got)
	}
	if got := d.Remaining(t0.Add(11 * time.Minute)); got > 0 {
		t.Errorf("Remaining after 11m = %v, want <= 0", got)
	}
	p := Decision{Time: t0, BanTime: Permanent}
	if got := p.Remaining(t0.Add(1000 * time.Hour)); got != Permanent {
		t.Errorf("permanent Remaining = %v, want Permanent", got)
	}
}
