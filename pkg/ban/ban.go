// Package ban defines a ban decision: the value that flows from whatever
// decided a ban (a jail's failure count, an admin through f2bctl, later a
// peer host) to whatever enforces it (the kernel sets, the state store).
package ban

import (
	"net/netip"
	"time"
)

// Origin says who decided a ban.
type Origin string

// The origins f2bd knows.
const (
	OriginJail Origin = "jail" // a jail's failure count reached maxretry
	OriginCLI  Origin = "cli"  // an admin through f2bctl
	OriginPeer Origin = "peer" // another host (fleet sharing)
)

// Permanent is the BanTime of a ban that never expires (fail2ban's
// bantime = -1).
const Permanent time.Duration = -1

// Decision is one ban to enforce.
type Decision struct {
	Jail string
	Addr netip.Addr
	// Time is when the ban starts: the time of the failure that
	// completed the count, or the time of the command.
	Time time.Time
	// BanTime is the ban's length; Permanent (or any negative value)
	// means it never expires.
	BanTime  time.Duration
	Failures int
	Origin   Origin
	// Matches are the log lines that led to the ban (up to maxmatches).
	Matches []string
}

// Remaining is how long the ban still has to run at now: BanTime less the
// time since Time, Permanent for a permanent ban, and zero or less when it
// has already run out.
func (d Decision) Remaining(now time.Time) time.Duration {
	if d.BanTime < 0 {
		return Permanent
	}
	return d.BanTime - now.Sub(d.Time)
}
