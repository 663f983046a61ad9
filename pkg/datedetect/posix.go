package datedetect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// PosixLocation returns a Location that follows a POSIX TZ rule such as
// "CET-01CEST-02,M3.5.0,M10.5.0" exactly (time.LoadLocation only takes
// zone names). It builds a TZif v2 blob whose footer is the rule, which Go
// applies to every time after 1901.
func PosixLocation(rule string) (*time.Location, error) {
	var b bytes.Buffer
	const chars = "LMT\x00"
	for _, timeSize := range []int{4, 8} {
		hdr := make([]byte, 20)
		copy(hdr, "TZif2")
		b.Write(hdr)
		// counts: isut, isstd, leap, time, type, char
		for _, n := range []uint32{0, 0, 0, 1, 1, uint32(len(chars))} {
			_ = binary.Write(&b, binary.BigEndian, n)
		}
		if timeSize == 4 {
			_ = binary.Write(&b, binary.BigEndian, int32(math.MinInt32))
		} else {
			_ = binary.Write(&b, binary.BigEndian, int64(math.MinInt32))
		}
		b.WriteByte(0)
		_ = binary.Write(&b, binary.BigEndian, int32(0))
		b.Write([]byte{0, 0})
		b.WriteString(chars)
	}
	b.WriteString("\n" + rule + "\n")
	loc, err := time.LoadLocationFromTZData(rule, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("time zone rule %q: %w", rule, err)
	}
	// Go ignores a footer it cannot parse: check the rule took effect.
	if name, _ := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).In(loc).Zone(); name == "LMT" {
		return nil, fmt.Errorf("time zone rule %q: not a POSIX TZ rule", rule)
	}
	return loc, nil
}

// LocalFromTZ returns the zone named by the TZ environment value tz: a
// zone name (Europe/Berlin), or a POSIX rule (CET-01CEST-02,M3.5.0,M10.5.0)
// which time.LoadLocation does not take. An empty tz gives time.Local.
func LocalFromTZ(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	if tz[0] == ':' {
		tz = tz[1:]
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc, nil
	}
	return PosixLocation(tz)
}
