// Package filter runs a fail2ban filter (prefregex, failregex, ignoreregex,
// datepattern, maxlines) over log lines: the date is found and cut out of
// the line, fail2ban tags (<HOST>, <ADDR>, <F-USER>, <F-MLFID>, <F-NOFAIL>,
// <F-CONTENT>, <SKIPLINES>, ...) are expanded to regexes, and matches sharing
// a multi-line failure id are merged, as fail2ban's filter does in normal
// operation (first matching failregex wins).
//
// Before any regex runs, a literal prefilter (one Aho-Corasick pass over
// the line) finds which failregexes can match at all: each failregex whose
// every match must contain one of a few literals (derived from the
// expanded regex by pyregex.Regexp.RequiredLiterals) is skipped when none
// is in the line, and a maxlines-1 line that no failregex can match ends
// there, without running the prefregex. A line that ends there, the usual
// case for lines of other programs and for harmless sshd lines, costs no
// allocation.
//
// The usual syslog prefregex (fail2ban's __prefix_line with a literal
// daemon, as in sshd.conf) is matched by hand for the common
// "host daemon[pid]: " shape (see syslogPrefix), the regex running only
// for other shapes. Group values of a match are cut from one copy of the
// line rather than copied one by one.
package filter
