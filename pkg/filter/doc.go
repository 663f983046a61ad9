// Package filter runs a fail2ban filter (prefregex, failregex, ignoreregex,
// datepattern, maxlines) over log lines: the date is found and cut out of
// the line, fail2ban tags (<HOST>, <ADDR>, <F-USER>, <F-MLFID>, <F-NOFAIL>,
// <F-CONTENT>, <SKIPLINES>, ...) are expanded to regexes, and matches sharing
// a multi-line failure id are merged, as fail2ban's filter does in normal
// operation (first matching failregex wins).
//
// The usual syslog prefregex (fail2ban's __prefix_line with a literal
// daemon, as in sshd.conf) is matched first, by hand for the common
// "host daemon[pid]: " shape (see syslogPrefix), the regex running only
// for other shapes. Then, before any failregex runs, a literal prefilter
// (one Aho-Corasick pass over the text the failregexes search) finds which
// of them can match at all: every match of a failregex contains a string
// of each of its required literal sets (pyregex.Regexp.RequiredLiteralSets,
// a conjunction), so a failregex is skipped unless each of its sets has a
// string in the text, and a maxlines-1 line that no failregex can match
// ends there. A line that ends there, the usual case for lines of other
// programs and for harmless sshd lines, costs no allocation.
//
// In the daemon, lines come in batches split in three stages (batch.go):
// dates in line order, matching on worker goroutines, and the multi-line
// merge and failures in line order again, with the results of Process.
// Group values of a match are cut from one copy of the line rather than
// copied one by one.
package filter
