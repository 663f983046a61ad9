package testenv

import (
	"testing"
)

// recorder is a testing.TB that records how the test was stopped.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = format
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = format
}

func TestMissing(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			Missing(r, "no %s", "python3")
			if ci == "true" && (r.fatal == "" || r.skip != "") {
				t.Errorf("under CI=true: fatal %q, skip %q; want a failure", r.fatal, r.skip)
			}
			if ci == "" && (r.skip == "" || r.fatal != "") {
				t.Errorf("outside CI: fatal %q, skip %q; want a skip", r.fatal, r.skip)
			}
		})
	}
}
