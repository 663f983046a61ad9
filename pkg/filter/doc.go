// Package filter runs a fail2ban filter (prefregex, failregex, ignoreregex,
// datepattern, maxlines) over log lines: the date is found and cut out of
// the line, fail2ban tags (<HOST>, <ADDR>, <F-USER>, <F-MLFID>, <F-NOFAIL>,
// <F-CONTENT>, <SKIPLINES>, ...) are expanded to regexes, and matches sharing
// a multi-line failure id are merged, as fail2ban's filter does in normal
// operation (first matching failregex wins).
package filter
