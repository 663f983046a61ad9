// Package datedetect finds and parses the date of a log line the way
// fail2ban's date detector does: a set of date templates (the default set,
// its line-begin anchored part {^LN-BEG}, EPOCH, LEPOCH, TAI64N or custom
// strptime patterns with %Y %m %d %H %M %S %b %a %f %z ... and fail2ban's
// %Ex* variants) is tried against the line, the matched date text is
// reported by position so the caller can cut it out before running
// failregexes, and the date is converted with fail2ban's rules for missing
// years (previous year when the date would be more than a day ahead of the
// clock) and explicit or default time zones. The clock and zone are injectable.
//
// Templates are tried and reordered as fail2ban's DateDetector does: the
// last winner first, then the list in its current order, with hit counts
// bubbling frequently used templates up (see order.go). A line-begin
// anchored template rejects by its first bytes the lines it cannot match,
// before any regex runs (see prefilter.go). The line-begin anchored
// syslog ("Nov 22 10:00:00") and ISO 8601 ("2025-03-01 00:00:00",
// "2025/03/01 00:00:00", "[2025-03-01T00:00:00Z]") templates have
// hand-written matchers that give exactly the regex's match for their
// common shapes and leave everything else to the regex (see fast.go), so
// the usual lines are dated without a backtracking match or an allocation,
// also in logs mixing those formats.
//
// On the hot path, consecutive lines of a format nearly always have the
// same template and often the same date, else the next second: each
// template of a Detector remembers its last fast matches and parses and
// reuses them when that cannot change a result or the template order
// (see cache.go).
package datedetect
