package bantime

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// optionSets are jail option sets exercising every bantime.* option.
var optionSets = []map[string]string{
	{},
	{"bantime.increment": "false", "bantime.factor": "3"},
	{"bantime.increment": "true"},
	{"bantime.increment": "yes", "bantime.factor": "2"},
	{"bantime.increment": "On", "bantime.factor": "0.5"},
	{"bantime.increment": "1", "bantime.factor": "2.0 / 2.885385"},
	{"bantime.increment": "true", "bantime.maxtime": "1w"},
	{"bantime.increment": "true", "bantime.maxtime": "5m"},
	{"bantime.increment": "true", "bantime.maxtime": "1d 12h", "bantime.rndtime": "30m"},
	{"bantime.increment": "true", "bantime.rndtime": "600"},
	{"bantime.increment": "true", "bantime.multipliers": "1 2 4 8 16 32 64"},
	{"bantime.increment": "true", "bantime.multipliers": "1 5 30 60 300 720 1440 2880", "bantime.factor": "1.5", "bantime.maxtime": "2d"},
	{"bantime.increment": "true", "bantime.multipliers": "3"},
	{"bantime.increment": "true", "bantime.multipliers": "0 1"},
	{"bantime.increment": "true", "bantime.formula": DefaultFormula, "bantime.factor": "3"},
	{"bantime.increment": "true", "bantime.formula": "banFactor*(1 << min(ban.Count, 20))*ban.Time"},
	{"bantime.increment": "true", "bantime.formula": "(ban.Time * 2**(ban.Count if ban.Count<20 else 20) * banFactor)", "bantime.factor": "0.25"},
	{"bantime.increment": "true", "bantime.formula": ExpFormula, "bantime.factor": "2.0 / 2.885385"},
	{"bantime.increment": "true", "bantime.formula": ExpFormula, "bantime.maxtime": "30d", "bantime.rndtime": "1h"},
	{"bantime.increment": "true", "bantime.formula": "ban.Time * 42", "bantime.multipliers": "1 3 9"},
	{"bantime.increment": "true", "bantime.overalljails": "true", "bantime.factor": "1e0"},
}

func TestBanTimeOracle(t *testing.T) {
	havePython(t)
	var cases []oracleCase
	var policies []*Policy
	for i, opts := range optionSets {
		for _, base := range []float64{-1, 0, 1, 60, 600, 86400, 12.5} {
			p, err := NewPolicy("j", opts, time.Duration(base*float64(time.Second)))
			if err != nil {
				t.Fatalf("set %d: %v", i, err)
			}
			for _, count := range []int{0, 1, 2, 3, 6, 7, 8, 19, 20, 21, 50} {
				for _, rnd := range []float64{0, 0.37, 0.999} {
					cases = append(cases, oracleCase{Opts: opts, Base: base, Count: count, Rnd: rnd, MaxRetry: 5})
					policies = append(policies, p)
				}
			}
		}
	}
	res := runOracle(t, cases)
	for i, c := range cases {
		p := policies[i]
		name := fmt.Sprintf("opts=%v base=%v count=%d rnd=%v", c.Opts, c.Base, c.Count, c.Rnd)
		got := p.BanTime(c.Count, func() float64 { return c.Rnd })
		want := res[i].BanTime
		if want*float64(time.Second) >= math.MaxInt64 {
			if got != math.MaxInt64 {
				t.Errorf("%s: BanTime = %v, fail2ban %.0fs beyond time.Duration", name, got, want)
			}
		} else if want < 0 {
			if got >= 0 {
				t.Errorf("%s: BanTime = %v, fail2ban permanent (%v)", name, got, want)
			}
		} else if diff := math.Abs(got.Seconds() - want); diff > 1e-9*math.Max(1, want) {
			t.Errorf("%s: BanTime = %v (%.9fs), fail2ban %.9fs", name, got, got.Seconds(), want)
		}
		if gm := p.MaxBanTime(); math.Abs(gm.Seconds()-res[i].Max) > 1e-9 && !(gm < 0 && res[i].Max == -1) {
			t.Errorf("%s: MaxBanTime = %v, fail2ban %v", name, gm, res[i].Max)
		}
		if gw := p.FailureWeight(c.Count, c.MaxRetry); gw != res[i].Weight {
			t.Errorf("%s: FailureWeight = %d, fail2ban %d", name, gw, res[i].Weight)
		}
	}
	t.Logf("%d cases compared with fail2ban", len(cases))
}

func TestNewPolicyRefuses(t *testing.T) {
	for _, tc := range []struct {
		opt, val string
	}{
		{"bantime.formula", "ban.Time * 3"},
		{"bantime.formula", "ban.Time * (1<<ban.Count) * banFactor"},
		{"bantime.formula", "__import__('os').system('id')"},
		{"bantime.formula", "ban.Time * math.exp(float(ban.Count+2)*banFactor)/math.exp(1*banFactor)"},
		{"bantime.factor", "banFactor"},
		{"bantime.factor", "-2"},
		{"bantime.factor", "1/0"},
		{"bantime.factor", "2 **3"},
		{"bantime.multipliers", "1 2 x"},
		{"bantime.multipliers", "1 -2"},
		{"bantime.multipliers", "1.5"},
		{"bantime.maxtime", "forever"},
		{"bantime.maxtime", "-1"},
		{"bantime.rndtime", "-5m"},
	} {
		opts := map[string]string{"bantime.increment": "true", tc.opt: tc.val}
		_, err := NewPolicy("sshd", opts, 10*time.Minute)
		if err == nil {
			t.Errorf("%s = %q: accepted", tc.opt, tc.val)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, `"sshd"`) || !strings.Contains(msg, tc.opt) {
			t.Errorf("%s = %q: error does not name jail and option: %v", tc.opt, tc.val, err)
		}
		// Without increment fail2ban never evaluates these options.
		opts["bantime.increment"] = "false"
		if _, err := NewPolicy("sshd", opts, 10*time.Minute); err != nil {
			t.Errorf("%s = %q without increment: %v", tc.opt, tc.val, err)
		}
	}
}

// TestBanTimeRandom checks the random part stays within rndtime and
// varies when rnd is nil.
func TestBanTimeRandom(t *testing.T) {
	p, err := NewPolicy("j", map[string]string{"bantime.increment": "true", "bantime.rndtime": "10m"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		bt := p.BanTime(1, nil)
		if bt < 2*time.Hour || bt >= 2*time.Hour+10*time.Minute {
			t.Fatalf("BanTime(1) = %v, want in [2h, 2h10m)", bt)
		}
		seen[bt] = true
	}
	if len(seen) < 2 {
		t.Errorf("50 random ban times all equal")
	}
}

func TestBanTimeSaturates(t *testing.T) {
	p, err := NewPolicy("j", map[string]string{"bantime.increment": "true", "bantime.factor": "1000"}, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if bt := p.BanTime(20, nil); bt != math.MaxInt64 {
		t.Errorf("BanTime = %v, want saturation at max Duration", bt)
	}
}

func TestOverallJails(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		want bool
	}{
		{map[string]string{"bantime.overalljails": "true"}, false},
		{map[string]string{"bantime.increment": "true", "bantime.overalljails": "true"}, true},
		{map[string]string{"bantime.increment": "true", "bantime.overalljails": "no"}, false},
	} {
		p, err := NewPolicy("j", tc.opts, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if p.OverallJails() != tc.want {
			t.Errorf("%v: OverallJails = %v", tc.opts, p.OverallJails())
		}
	}
}

func BenchmarkBanTime(b *testing.B) {
	p, err := NewPolicy("j", map[string]string{"bantime.increment": "true", "bantime.maxtime": "1w", "bantime.rndtime": "5m"}, 10*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	rnd := func() float64 { return 0.5 }
	for i := 0; b.Loop(); i++ {
		_ = p.BanTime(i%30, rnd)
	}
}

func BenchmarkNewPolicy(b *testing.B) {
	opts := map[string]string{"bantime.increment": "true", "bantime.formula": DefaultFormula, "bantime.factor": "2.0 / 2.885385"}
	for b.Loop() {
		if _, err := NewPolicy("j", opts, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
