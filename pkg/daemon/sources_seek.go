package daemon

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/datedetect"
)

// seekMinSize is the size below which a log found at the first start is
// read whole: bisecting it would not save anything worth having.
const seekMinSize = 1 << 20

// seekSlack is how far before the first line within findtime reading
// starts: the bisection stops once its window is this small.
const seekSlack = 64 << 10

// findtimeSeeker returns the tail.Options.Seek of a jail: for a log file
// met at the very first start (no saved position), where to start so that
// only lines within findtime are read. fail2ban reads the whole file
// (its issue #2660); a log of gigabytes would take minutes for lines the
// jail then ignores as too old.
func findtimeSeeker(c *config.Jail, now func() time.Time, log *zap.Logger) func(*os.File) (int64, error) {
	loc := time.Local
	if tz := c.Options["logtimezone"]; tz != "" {
		if off, err := datedetect.ZoneOffset(tz); err == nil {
			loc = time.FixedZone(tz, off*60)
		}
	}
	pattern := ""
	if c.Filter != nil {
		pattern = c.Filter.DatePattern
	}
	return func(f *os.File) (int64, error) {
		det, err := datedetect.New(datedetect.Options{Pattern: pattern, Now: now, Location: loc})
		if err != nil {
			return 0, fmt.Errorf("datepattern: %w", err)
		}
		since := now().Add(-c.FindTime)
		off, err := seekSince(f, since, func(line string) (time.Time, bool) {
			m, ok, err := det.Find(line)
			return m.Time, ok && err == nil && !m.Empty
		})
		if err == nil && off > 0 {
			log.Info("first start: skipping the part of the log older than findtime",
				zap.String("jail", c.Name), zap.String("file", f.Name()), zap.Int64("bytes", off),
				zap.Time("since", since))
		}
		return off, err
	}
}

// seekSince returns the start of a line at most seekSlack bytes before the
// first line of f dated at or after since, bisecting on the dates of the
// lines (logs are in time order). Small files, and files whose dates it
// cannot read, are read from 0.
func seekSince(f *os.File, since time.Time, date func(string) (time.Time, bool)) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	size := st.Size()
	if size < seekMinSize {
		return 0, nil
	}
	// lo is always a line start before the first recent line; the first
	// recent line starts before hi.
	lo, hi := int64(0), size
	for hi-lo > seekSlack {
		mid := lo + (hi-lo)/2
		start, t, ok, err := datedLineAfter(f, mid, hi, date)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = mid // no date there: look earlier, never skip it
			continue
		}
		if t.Before(since) {
			lo = start
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// datedLineAfter finds the first line starting after off (and before end)
// that carries a date, looking at 32 lines at most.
func datedLineAfter(f *os.File, off, end int64, date func(string) (time.Time, bool)) (int64, time.Time, bool, error) {
	rd := bufio.NewReaderSize(io.NewSectionReader(f, off, end-off), 16<<10)
	// Skip the rest of the line off falls in.
	skipped, err := rd.ReadSlice('\n')
	pos := off + int64(len(skipped))
	for err == bufio.ErrBufferFull {
		skipped, err = rd.ReadSlice('\n')
		pos += int64(len(skipped))
	}
	for i := 0; i < 32 && err == nil; i++ {
		var b []byte
		b, err = rd.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An over-long line: skip it.
			for err == bufio.ErrBufferFull {
				var more []byte
				more, err = rd.ReadSlice('\n')
				b = append(b, more...)
			}
			pos += int64(len(b))
			continue
		}
		if err != nil {
			break
		}
		if t, ok := date(string(b[:len(b)-1])); ok {
			return pos, t, true, nil
		}
		pos += int64(len(b))
	}
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, time.Time{}, false, fmt.Errorf("reading: %w", err)
	}
	return 0, time.Time{}, false, nil
}
