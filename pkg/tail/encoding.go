package tail

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// Decoder returns the function that turns a line's bytes into text for a
// jail's logencoding, as fail2ban decodes log lines: "auto" (or "") is the
// locale's character set (LC_ALL, LC_CTYPE, LANG; UTF-8 when they name
// none), other names are Python codec names or IANA character sets
// ("latin-1", "iso-8859-15", "cp1252", "utf-8"...). Bytes that are not
// valid in the encoding become U+FFFD, and invalid is called for each line
// that had some (nil: not told). An unknown name is an error.
func Decoder(name string, invalid func()) (func([]byte) string, error) {
	enc, err := lookupEncoding(name)
	if err != nil {
		return nil, err
	}
	if enc == ascii {
		return func(b []byte) string {
			if !isASCII(b) {
				if invalid != nil {
					invalid()
				}
				return strings.Map(func(r rune) rune {
					if r > 0x7f {
						return utf8.RuneError
					}
					return r
				}, string(b))
			}
			return string(b)
		}, nil
	}
	if enc == nil { // UTF-8
		return func(b []byte) string {
			if validUTF8(b) {
				return string(b)
			}
			if invalid != nil {
				invalid()
			}
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}, nil
	}
	return func(b []byte) string {
		// Decoder is not safe for concurrent use: one per call is cheap
		// for the single-byte charsets logs use.
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			if invalid != nil {
				invalid()
			}
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		if !utf8.Valid(out) && invalid != nil {
			invalid()
		}
		return string(out)
	}, nil
}

// IsUTF8 reports whether Decoder decodes the logencoding name as UTF-8:
// then a follower's own decoding (Options.Decode nil) is the same, and it
// may decode a chunk of lines at a time (Options.Chunk).
func IsUTF8(name string) bool {
	enc, err := lookupEncoding(name)
	return err == nil && enc == nil
}

// validUTF8 reports whether b is valid UTF-8, as utf8.Valid does, faster
// on the all-ASCII lines most logs hold.
func validUTF8(b []byte) bool {
	return isASCII(b) || utf8.Valid(b)
}

// isASCII reports whether no byte of b is above 0x7f. It looks at 32 bytes
// a step (utf8.Valid's fast path takes 8), then at the rest in 8-byte
// words, the last one overlapping the ones before.
func isASCII(b []byte) bool {
	const high = 0x8080808080808080
	n := len(b)
	if n < 8 {
		var x byte
		for _, c := range b {
			x |= c
		}
		return x < 0x80
	}
	var x uint64
	i := 0
	for ; i+32 <= n; i += 32 {
		w := b[i : i+32 : i+32]
		x |= binary.LittleEndian.Uint64(w[0:8]) | binary.LittleEndian.Uint64(w[8:16]) |
			binary.LittleEndian.Uint64(w[16:24]) | binary.LittleEndian.Uint64(w[24:32])
	}
	for ; i+8 <= n; i += 8 {
		x |= binary.LittleEndian.Uint64(b[i : i+8])
	}
	x |= binary.LittleEndian.Uint64(b[n-8:])
	return x&high == 0
}

// ascii stands for ASCII in lookupEncoding's results: a byte above 0x7f
// is invalid.
const ascii = asciiMarker(0)

// asciiMarker is the type of ascii, an encoding.Encoding that is never used
// as one.
type asciiMarker int

func (asciiMarker) NewDecoder() *encoding.Decoder { return encoding.Nop.NewDecoder() }
func (asciiMarker) NewEncoder() *encoding.Encoder { return encoding.Nop.NewEncoder() }

// lookupEncoding finds the encoding called name; nil means UTF-8.
func lookupEncoding(name string) (encoding.Encoding, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == "auto" {
		n = localeCharset()
	}
	n = strings.ReplaceAll(n, "_", "-")
	switch n {
	case "utf-8", "utf8", "u8", "utf", "cp65001":
		return nil, nil
	case "latin-1", "latin1", "l1", "iso-8859-1", "iso8859-1", "8859", "cp819", "iso-ir-100":
		// Python's latin-1 is ISO-8859-1 proper, where WHATWG's
		// "latin1" is windows-1252.
		return charmap.ISO8859_1, nil
	case "ascii", "us-ascii", "646", "ansi-x3.4-1968":
		return ascii, nil
	}
	for _, find := range []func(string) (encoding.Encoding, error){
		ianaindex.IANA.Encoding, ianaindex.MIME.Encoding, htmlindex.Get} {
		if e, err := find(n); err == nil && e != nil {
			if e == unicode.UTF8 {
				return nil, nil
			}
			return e, nil
		}
	}
	// Python spells ISO-8859-x also as iso8859-x and latin-x.
	if strings.HasPrefix(n, "iso8859-") {
		return lookupEncoding("iso-8859-" + strings.TrimPrefix(n, "iso8859-"))
	}
	return nil, fmt.Errorf("unknown logencoding %q", name)
}

// localeCharset returns the character set the locale environment names
// ("de_DE.ISO-8859-1" gives "iso-8859-1"); UTF-8 when it names none, as
// Python 3 does in the C and POSIX locales.
func localeCharset() string {
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		s := os.Getenv(v)
		if s == "" {
			continue
		}
		if _, cs, ok := strings.Cut(s, "."); ok {
			cs, _, _ = strings.Cut(cs, "@")
			return strings.ToLower(cs)
		}
		return "utf-8"
	}
	return "utf-8"
}
