package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Seconds per unit as fail2ban counts them: a month is a twelfth of an
// average (leap-year aware) year.
const (
	secMinute = 60
	secHour   = 60 * secMinute
	secDay    = 24 * secHour
	secWeek   = 7 * secDay
	secYear   = (365*3 + 366) * secDay / 4
	secMonth  = secYear / 12
)

// timeUnit returns the seconds of a unit word (case-insensitive), using
// fail2ban's abbreviations: s/ss/sec/second(s), m/mm/min/minute(s),
// h/hh/hou/hour(s), d/dd/da/day(s), w/ww/wee/week(s), mo/mon/month(s),
// y/yy/yea/year(s).
func timeUnit(u string) (float64, bool) {
	switch strings.ToLower(u) {
	case "s", "ss", "se", "sec", "second", "seconds":
		return 1, true
	case "m", "mm", "mi", "min", "minute", "minutes":
		return secMinute, true
	case "h", "hh", "ho", "hou", "hour", "hours":
		return secHour, true
	case "d", "dd", "da", "day", "days":
		return secDay, true
	case "w", "ww", "we", "wee", "week", "weeks":
		return secWeek, true
	case "mo", "mon", "month", "months":
		return secMonth, true
	case "y", "yy", "ye", "yea", "year", "years":
		return secYear, true
	}
	return 0, false
}

// ParseTime parses a fail2ban time value: a number of seconds ("600"), a
// number with a unit ("10m", "1h", "1d", "1w", "1mo", "1y", also spelled
// out: "2 hours"), or a sum of such terms ("1d 2h", "1d12h", "1h+30m",
// "1y-6mo"). A negative result ("-1") means permanent. Anything else is an
// error.
func ParseTime(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("parse time %q: empty value", in)
	}
	total := 0.0
	i := 0
	terms := 0
	for i < len(s) {
		sign := 1.0
		// Operator between terms; none means "+".
		for i < len(s) && s[i] == ' ' || i < len(s) && s[i] == '\t' {
			i++
		}
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			if s[i] == '-' {
				sign = -1
			}
			i++
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
		}
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("parse time %q: expected a number at %q", in, s[i:])
		}
		n, err := strconv.ParseFloat(s[i:j], 64)
		if err != nil {
			return 0, fmt.Errorf("parse time %q: %w", in, err)
		}
		i = j
		k := i
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		u := k
		for u < len(s) && (s[u] >= 'a' && s[u] <= 'z' || s[u] >= 'A' && s[u] <= 'Z') {
			u++
		}
		mult := 1.0
		if u > k {
			m, ok := timeUnit(s[k:u])
			if !ok {
				return 0, fmt.Errorf("parse time %q: unknown unit %q", in, s[k:u])
			}
			mult = m
			i = u
		}
		total += sign * n * mult
		terms++
	}
	if terms == 0 {
		return 0, fmt.Errorf("parse time %q: no value", in)
	}
	if math.Abs(total) > float64(math.MaxInt64)/float64(time.Second) {
		return 0, fmt.Errorf("parse time %q: out of range", in)
	}
	return time.Duration(math.Round(total * float64(time.Second))), nil
}
