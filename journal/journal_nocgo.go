//go:build !cgo

package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// backend reads the journal by running "journalctl -o json --follow" and
// decoding its output. Each Follow runs one journalctl process; after an
// error the next one starts after the last cursor delivered.
type backend struct {
	bin    string
	c      config
	mu     sync.Mutex
	closed bool
	stop   context.CancelFunc // ends the running journalctl, if any
	last   string             // cursor of the last entry delivered
}

func openBackend(c config) (*backend, error) {
	bin, err := exec.LookPath("journalctl")
	if err != nil {
		return nil, fmt.Errorf("journal: journalctl is needed without cgo: %w", err)
	}
	return &backend{bin: bin, c: c}, nil
}

// args returns the journalctl arguments that resume after cursor, or start
// where the configuration says when cursor is "".
func (b *backend) args(cursor string) []string {
	fields := entryFields()
	a := []string{"--output=json", "--all", "--no-pager", "--quiet", "--follow",
		// --merge stops --follow from limiting output to the current boot.
		"--merge",
		"--output-fields=" + strings.Join(append(fields[:], b.c.fields...), ","),
	}
	switch {
	case b.c.path != "":
		a = append(a, "--directory="+b.c.path)
	case len(b.c.files) > 0:
		for _, f := range b.c.files {
			a = append(a, "--file="+f)
		}
	default:
		if b.c.flags&FlagSystem != 0 {
			a = append(a, "--system")
		}
		if b.c.flags&FlagCurrentUser != 0 {
			a = append(a, "--user")
		}
	}
	switch {
	case cursor != "":
		// --after-cursor skips one matching entry too many when the
		// cursor's own entry does not match (systemd 252), so start at
		// the cursor and let decode drop the cursor's entry.
		a = append(a, "--no-tail", "--cursor="+cursor)
	case !b.c.since.IsZero():
		us := max(b.c.since.UnixMicro(), 0)
		a = append(a, "--no-tail", fmt.Sprintf("--since=@%d.%06d", us/1e6, us%1e6))
	default:
		a = append(a, "--lines=0")
	}
	if len(b.c.matches) > 0 {
		a = append(a, "--")
		a = append(a, b.c.matches.args()...)
	}
	return a
}

func (b *backend) follow(ctx context.Context, fn func(Entry)) (err error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	cursor := b.last
	if cursor == "" {
		cursor = b.c.cursor
	}
	run, stop := context.WithCancel(ctx)
	b.stop = stop
	b.mu.Unlock()
	defer func() {
		stop()
		b.mu.Lock()
		b.stop = nil
		if b.closed {
			err = ErrClosed
		}
		b.mu.Unlock()
	}()

	var stderr bytes.Buffer
	cmd := exec.CommandContext(run, b.bin, b.args(cursor)...)
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("journal: journalctl output: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journal: start journalctl: %w", err)
	}
	readErr := b.decode(run, bufio.NewReaderSize(out, 64<<10), cursor, fn)
	stop()
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil
	case readErr != nil:
		return readErr
	case waitErr != nil:
		return fmt.Errorf("journal: journalctl %s: %w: %s", cmd.Args[1:], waitErr, tail(stderr.String()))
	}
	return fmt.Errorf("journal: journalctl exited: %s", tail(stderr.String()))
}

// decode delivers the entries journalctl writes until its output ends,
// except an entry with cursor skip.
func (b *backend) decode(ctx context.Context, r io.Reader, skip string, fn func(Entry)) error {
	dec := json.NewDecoder(r)
	for {
		var je jsonEntry
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("journal: decode journalctl output: %w", err)
		}
		if err := json.Unmarshal(raw, &je); err != nil {
			return fmt.Errorf("journal: decode journalctl output: %w", err)
		}
		if skip != "" && je.Cursor == skip {
			skip = ""
			continue
		}
		rec, err := je.record()
		if err != nil {
			return err
		}
		if len(b.c.fields) > 0 {
			if err := rec.keepJSON(b.c.fields, raw); err != nil {
				return err
			}
		}
		fn(rec.entry())
		b.mu.Lock()
		b.last = rec.cursor
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// tail returns the last line of journalctl's error output.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no error output"
	}
	return s
}

func (b *backend) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.stop != nil {
		b.stop()
	}
	return nil
}

// jsonEntry is one line of "journalctl -o json". A field value is a string,
// an array of byte values (data that is not printable UTF-8), or, for a
// field the entry has more than once, an array of such values.
type jsonEntry struct {
	Cursor          string          `json:"__CURSOR"`
	Realtime        string          `json:"__REALTIME_TIMESTAMP"`
	Monotonic       string          `json:"__MONOTONIC_TIMESTAMP"`
	SourceRealtime  json.RawMessage `json:"_SOURCE_REALTIME_TIMESTAMP"`
	SourceMonotonic json.RawMessage `json:"_SOURCE_MONOTONIC_TIMESTAMP"`
	Hostname        json.RawMessage `json:"_HOSTNAME"`
	Ident           json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Comm            json.RawMessage `json:"_COMM"`
	SyslogPID       json.RawMessage `json:"SYSLOG_PID"`
	PID             json.RawMessage `json:"_PID"`
	Message         json.RawMessage `json:"MESSAGE"`
}

func (je *jsonEntry) record() (*record, error) {
	rec := &record{cursor: je.Cursor}
	var err error
	if rec.realtime, err = strconv.ParseUint(je.Realtime, 10, 64); err != nil {
		return nil, fmt.Errorf("journal: entry %s: __REALTIME_TIMESTAMP: %w", je.Cursor, err)
	}
	if je.Monotonic != "" {
		if rec.monotonic, err = strconv.ParseUint(je.Monotonic, 10, 64); err != nil {
			return nil, fmt.Errorf("journal: entry %s: __MONOTONIC_TIMESTAMP: %w", je.Cursor, err)
		}
	}
	fields := [...]struct {
		name string
		raw  json.RawMessage
	}{
		{"_SOURCE_REALTIME_TIMESTAMP", je.SourceRealtime},
		{"_SOURCE_MONOTONIC_TIMESTAMP", je.SourceMonotonic},
		{"_HOSTNAME", je.Hostname},
		{"SYSLOG_IDENTIFIER", je.Ident},
		{"_COMM", je.Comm},
		{"SYSLOG_PID", je.SyslogPID},
		{"_PID", je.PID},
		{"MESSAGE", je.Message},
	}
	for _, f := range fields {
		vals, err := jsonValues(f.raw)
		if err != nil {
			return nil, fmt.Errorf("journal: entry %s: field %s: %w", je.Cursor, f.name, err)
		}
		for _, v := range vals {
			rec.set(f.name, v)
		}
	}
	return rec, nil
}

// keepJSON stores the wanted fields of the JSON entry raw in rec.
func (rec *record) keepJSON(wanted []string, raw json.RawMessage) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return fmt.Errorf("journal: decode journalctl output: %w", err)
	}
	for _, f := range wanted {
		vals, err := jsonValues(all[f])
		if err != nil {
			return fmt.Errorf("journal: entry %s: field %s: %w", rec.cursor, f, err)
		}
		for _, v := range vals {
			rec.keep(wanted, f, v)
		}
	}
	return nil
}

// jsonValues decodes a journalctl JSON field value into its values.
func jsonValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		// Fast path: a plain string without escapes.
		return []string{string(raw[1 : len(raw)-1])}, nil
	}
	if raw[0] != '[' {
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	if len(items) > 0 && (items[0][0] == '"' || items[0][0] == '[' || items[0][0] == 'n') {
		// An array of values: each a string or an array of bytes.
		var vals []string
		for _, it := range items {
			v, err := jsonValues(it)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v...)
		}
		return vals, nil
	}
	var bs []byte
	for _, it := range items {
		n, err := strconv.ParseUint(string(it), 10, 8)
		if err != nil {
			return nil, fmt.Errorf("byte value %s: %w", it, err)
		}
		bs = append(bs, byte(n))
	}
	return []string{string(bs)}, nil
}
