package journal

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entry is one journal entry as the filters see it.
type Entry struct {
	// Time is the entry's own timestamp: _SOURCE_REALTIME_TIMESTAMP when the
	// entry carries a valid one, else __REALTIME_TIMESTAMP (fail2ban's
	// order).
	Time time.Time
	// Line is the entry in the form of fail2ban's systemd backend:
	// "HOSTNAME IDENT[PID]: MESSAGE", newlines escaped as "\n".
	Line string
	// Cursor is the journal cursor of the entry; pass it as Options.Cursor
	// to resume after this entry.
	Cursor string
	// Fields holds the fields named in Options.Fields that the entry has
	// (the first value of a repeated field); nil when none was asked for.
	Fields map[string]string
}

// record holds the fields of a journal entry that formatting needs. String
// fields are "" when the entry lacks the field.
type record struct {
	cursor          string
	realtime        uint64 // __REALTIME_TIMESTAMP, µs since the epoch
	monotonic       uint64 // __MONOTONIC_TIMESTAMP, µs since boot
	sourceRealtime  string // _SOURCE_REALTIME_TIMESTAMP
	sourceMonotonic string // _SOURCE_MONOTONIC_TIMESTAMP
	hostname        string // _HOSTNAME
	ident           string // SYSLOG_IDENTIFIER
	comm            string // _COMM
	syslogPID       string // SYSLOG_PID
	pid             string // _PID
	message         []string
	extra           map[string]string // Options.Fields
}

// keep stores value as the entry's field when it is one of wanted and the
// field has no value yet.
func (r *record) keep(wanted []string, field, value string) {
	if !slices.Contains(wanted, field) {
		return
	}
	if r.extra == nil {
		r.extra = make(map[string]string, len(wanted))
	}
	if _, ok := r.extra[field]; !ok {
		r.extra[field] = value
	}
}

// entryFields lists the journal fields a record is built from (besides the
// address fields cursor, realtime and monotonic timestamps).
func entryFields() [8]string {
	return [8]string{"_SOURCE_REALTIME_TIMESTAMP", "_SOURCE_MONOTONIC_TIMESTAMP",
		"_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "SYSLOG_PID", "_PID", "MESSAGE"}
}

// set stores one field value of the entry; repeated MESSAGE values are kept,
// for other fields the first value wins.
func (r *record) set(field, value string) {
	var p *string
	switch field {
	case "MESSAGE":
		r.message = append(r.message, value)
		return
	case "_SOURCE_REALTIME_TIMESTAMP":
		p = &r.sourceRealtime
	case "_SOURCE_MONOTONIC_TIMESTAMP":
		p = &r.sourceMonotonic
	case "_HOSTNAME":
		p = &r.hostname
	case "SYSLOG_IDENTIFIER":
		p = &r.ident
	case "_COMM":
		p = &r.comm
	case "SYSLOG_PID":
		p = &r.syslogPID
	case "_PID":
		p = &r.pid
	default:
		return
	}
	if *p == "" {
		*p = value
	}
}

// pidText returns the "[pid]" part as fail2ban writes it: SYSLOG_PID unless
// it is empty or zero, else _PID unless empty or zero; integers are printed
// in decimal, anything else as it is.
func (r *record) pidText() string {
	v, n, isInt := pyInt(r.syslogPID)
	if r.syslogPID == "" || isInt && n == 0 {
		v, n, isInt = pyInt(r.pid)
		if r.pid == "" || isInt && n == 0 {
			return ""
		}
	}
	return "[" + v + "]"
}

// pyInt interprets s as Python's int(s), then int(s, 0), would: it returns
// the decimal form and true for integers, else s unchanged and false.
func pyInt(s string) (string, int64, bool) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), n, true
	}
	u := strings.TrimLeft(t, "+-")
	// Python base 0 rejects "010"-style octal; Go would accept it.
	if len(u) > 1 && u[0] == '0' && u[1] >= '0' && u[1] <= '9' {
		return s, 0, false
	}
	if n, err := strconv.ParseInt(t, 0, 64); err == nil {
		return strconv.FormatInt(n, 10), n, true
	}
	return s, 0, false
}

// entry formats r like fail2ban's FilterSystemd.formatJournalEntry.
func (r *record) entry() Entry {
	parts := make([]string, 0, 4)
	if r.hostname != "" {
		parts = append(parts, r.hostname)
	}
	id := r.ident
	if id == "" {
		id = r.comm
	}
	if id != "" {
		tag := id + r.pidText() + ":"
		parts = append(parts, tag)
		if tag == "kernel:" {
			us := r.monotonic
			if v, err := strconv.ParseUint(r.sourceMonotonic, 10, 64); err == nil {
				us = v
			}
			parts = append(parts, fmt.Sprintf("[%12.6f]", float64(us)/1e6))
		}
	}
	parts = append(parts, strings.Join(r.message, " "))
	line := strings.ToValidUTF8(strings.Join(parts, " "), "\uFFFD")

	us := r.realtime
	if v, err := strconv.ParseUint(r.sourceRealtime, 10, 64); err == nil {
		us = v
	}
	return Entry{
		Time:   time.UnixMicro(int64(us)),
		Line:   strings.ReplaceAll(line, "\n", `\n`),
		Cursor: r.cursor,
		Fields: r.extra,
	}
}
