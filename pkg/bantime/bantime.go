// Package bantime computes ban lengths the way fail2ban 1.0.2's
// bantime.increment does: an address banned before gets a longer ban,
// grown by the default formula or by a list of multipliers, scaled by a
// factor, capped by a maximum and mixed with a random part.
//
// The count a Policy works from is the number of previous bans of the
// address that fail2ban reads from its database: for a jail, the ban count
// stored with the address's last ban in that jail; with
// bantime.overalljails, the sum of those counts over all jails. A first
// ban (count 0) always gets the jail's own bantime; the formula applies
// from the second ban on, with the count of previous bans. The ban that
// results is stored with count previous+1.
package bantime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/ban"
)

// DefaultFormula is fail2ban's default bantime.formula.
const DefaultFormula = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"

// ExpFormula is the exponential bantime.formula jail.conf suggests as a
// more aggressive alternative.
const ExpFormula = "ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)"

// The jail options a Policy reads.
const (
	OptIncrement    = "bantime.increment"
	OptFactor       = "bantime.factor"
	OptFormula      = "bantime.formula"
	OptMultipliers  = "bantime.multipliers"
	OptMaxTime      = "bantime.maxtime"
	OptRndTime      = "bantime.rndtime"
	OptOverallJails = "bantime.overalljails"
)

// formula is a bantime.formula f2bd knows how to evaluate.
type formula int

const (
	formulaDefault formula = iota // DefaultFormula
	formulaExp                    // ExpFormula
)

// Policy is one jail's bantime.increment setting. The zero value is not
// useful; build one with NewPolicy. A Policy is immutable and safe for
// concurrent use.
type Policy struct {
	jail        string
	base        time.Duration
	increment   bool
	overall     bool
	factor      float64
	formula     formula
	multipliers []int64
	maxTime     time.Duration // < 0: none
	rndTime     time.Duration // < 0: none
}

// NewPolicy reads the bantime.* options of a jail (opts is config.Jail's
// Options: lower-case names, values after interpolation) for the jail's
// own bantime base (negative: permanent).
//
// When bantime.increment is not true (fail2ban's boolean spelling: 1, on,
// true, yes) the other options are not read, and the Policy always gives
// base. An empty option counts as not set, as in fail2ban.
//
// NewPolicy fails, with an error naming the jail and the option, when
// bantime.formula is neither fail2ban's default formula (in any spacing,
// factor order, or with min(ban.Count, 20) or 2** for the shift) nor the
// exponential formula jail.conf suggests: f2bd does not evaluate Python.
// It also fails when bantime.factor is not a constant arithmetic
// expression or is negative, when bantime.multipliers holds anything but
// non-negative integers, and when bantime.maxtime or bantime.rndtime is
// not a fail2ban time value or is negative (fail2ban would turn a
// negative maxtime into a permanent or an already expired ban).
func NewPolicy(jail string, opts map[string]string, base time.Duration) (*Policy, error) {
	p := &Policy{jail: jail, base: base, factor: 1, maxTime: -1, rndTime: -1}
	p.increment = config.AsBool(opts[OptIncrement])
	if !p.increment {
		return p, nil
	}
	p.overall = config.AsBool(opts[OptOverallJails])
	fail := func(opt, val string, err error) error {
		return fmt.Errorf("jail %q: %s = %q: %w", jail, opt, val, err)
	}
	if v := opts[OptFactor]; v != "" {
		f, err := evalNumber(v)
		if err != nil {
			return nil, fail(OptFactor, v, fmt.Errorf("not a constant number: %w", err))
		}
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fail(OptFactor, v, fmt.Errorf("must be a finite number >= 0"))
		}
		p.factor = f
	}
	if v := opts[OptMultipliers]; v != "" {
		for _, w := range strings.Fields(v) {
			m, err := strconv.ParseInt(strings.TrimPrefix(w, "+"), 10, 64)
			if err != nil || m < 0 {
				return nil, fail(OptMultipliers, v, fmt.Errorf("%q is not a non-negative integer", w))
			}
			p.multipliers = append(p.multipliers, m)
		}
	}
	if v := opts[OptFormula]; v != "" {
		f, err := parseFormula(v)
		if err != nil {
			if len(p.multipliers) > 0 {
				// fail2ban compiles the formula only when there are no
				// multipliers; with multipliers it is never used.
				f = formulaDefault
			} else {
				return nil, fail(OptFormula, v, err)
			}
		}
		p.formula = f
	}
	for _, o := range []struct {
		name string
		dst  *time.Duration
	}{{OptMaxTime, &p.maxTime}, {OptRndTime, &p.rndTime}} {
		v := opts[o.name]
		if v == "" {
			continue
		}
		d, err := config.ParseTime(v)
		if err != nil {
			return nil, fail(o.name, v, err)
		}
		if d < 0 {
			return nil, fail(o.name, v, fmt.Errorf("must not be negative"))
		}
		*o.dst = d
	}
	return p, nil
}

// parseFormula recognises the formulas f2bd can evaluate.
func parseFormula(s string) (formula, error) {
	n, err := normalize(s)
	if err == nil {
		for _, k := range defaultSpellings() {
			if n == k {
				return formulaDefault, nil
			}
		}
		if k, _ := normalize(ExpFormula); n == k {
			return formulaExp, nil
		}
	}
	return 0, fmt.Errorf("f2bd cannot evaluate this formula (it knows only fail2ban's default %q and jail.conf's %q); use bantime.multipliers instead", DefaultFormula, ExpFormula)
}

// defaultSpellings lists normalized spellings of DefaultFormula: the three
// factors in any order, the exponent capped by a conditional or by min,
// the power by a shift or by **.
func defaultSpellings() []string {
	var out []string
	for _, exp := range []string{"(ban.Count if ban.Count<20 else 20)", "min(ban.Count,20)", "min(20,ban.Count)"} {
		for _, pow := range []string{"(1<<" + exp + ")", "2**" + exp} {
			fs := []string{"ban.Time", pow, "banFactor"}
			for _, o := range [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
				n, err := normalize(fs[o[0]] + "*" + fs[o[1]] + "*" + fs[o[2]])
				if err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Jail is the jail the Policy was built for.
func (p *Policy) Jail() string { return p.jail }

// Base is the jail's own bantime (negative: permanent).
func (p *Policy) Base() time.Duration { return p.base }

// Increment reports whether bantime.increment is on.
func (p *Policy) Increment() bool { return p.increment }

// OverallJails reports whether previous bans are counted over all jails
// (bantime.overalljails) rather than in this jail only. It is false when
// Increment is.
func (p *Policy) OverallJails() bool { return p.increment && p.overall }

// MaxBanTime is the longest ban this jail can give, as fail2ban's
// getMaxBanTime computes it to correct bans restored at start: with
// increment, bantime.maxtime or ban.Permanent when there is none;
// without, the base bantime.
func (p *Policy) MaxBanTime() time.Duration {
	if !p.increment {
		return p.base
	}
	if p.maxTime < 0 {
		return ban.Permanent
	}
	return p.maxTime
}

// BanTime is the length of a ban of an address that was banned count times
// before (the count stored with its last ban, see the package doc). rnd
// returns a number in [0, 1) for bantime.rndtime; nil uses math/rand/v2.
//
// Without increment, for a first ban (count <= 0), and for a permanent or
// zero base, it is the base. Otherwise the formula (never less than the
// base) or base*factor*multiplier (the last multiplier past the end of
// the list) is capped by maxtime, then up to rndtime is added. The result
// may be shorter than the base when maxtime or the multipliers say so;
// it saturates at the largest time.Duration instead of overflowing.
func (p *Policy) BanTime(count int, rnd func() float64) time.Duration {
	if !p.increment || p.base <= 0 || count <= 0 {
		return p.base
	}
	t := p.base.Seconds()
	var s float64
	switch {
	case len(p.multipliers) > 0:
		m := p.multipliers[len(p.multipliers)-1]
		if count < len(p.multipliers) {
			m = p.multipliers[count]
		}
		s = t * p.factor * float64(m)
	case p.formula == formulaExp:
		s = max(t, t*math.Exp(float64(count+1)*p.factor)/math.Exp(p.factor))
	default:
		s = max(t, t*float64(int64(1)<<min(count, 20))*p.factor)
	}
	if p.maxTime >= 0 {
		s = min(s, p.maxTime.Seconds())
	}
	if p.rndTime >= 0 {
		r := rand.Float64
		if rnd != nil {
			r = rnd
		}
		s += r() * p.rndTime.Seconds()
	}
	return seconds(s)
}

// seconds converts seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	ns := s * float64(time.Second)
	if ns >= math.MaxInt64 || math.IsNaN(ns) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}

// FailureWeight is how many failures one failure of an address counts as
// when it was banned count times before in this jail, as fail2ban's
// observer weighs failures of known bad addresses with increment on
// (2, 3, 5, 9, ... never more than maxRetry), so that they are banned
// sooner. fail2ban counts per jail here even with bantime.overalljails.
// It is 1 without increment or previous bans.
func (p *Policy) FailureWeight(count, maxRetry int) int {
	if !p.increment || count <= 0 {
		return 1
	}
	w := 1<<(min(count, 20)-1) + 1
	if maxRetry > 0 {
		w = min(w, maxRetry)
	}
	return max(w, 1)
}
