package tail

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestValidUTF8 checks the ASCII fast path against utf8.Valid: for every
// length up to 100, ASCII text with a byte above 0x7f (alone, or starting
// a valid sequence) at each position.
func TestValidUTF8(t *testing.T) {
	base := []byte(strings.Repeat("Nov 22 10:00:01 srv sshd[1]: x", 4))
	for n := 0; n <= 100; n++ {
		b := base[:n]
		if !isASCII(b) || !validUTF8(b) {
			t.Fatalf("ASCII %q: not ASCII", b)
		}
		for i := range n {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				m := append([]byte(nil), b...)
				m[i] = c
				if isASCII(m) {
					t.Fatalf("%q: ASCII", m)
				}
				if validUTF8(m) != utf8.Valid(m) {
					t.Fatalf("%q: validUTF8 %v", m, validUTF8(m))
				}
			}
			if i+1 < n {
				m := append([]byte(nil), b...)
				m[i], m[i+1] = 0xc3, 0xa9 // é
				if !validUTF8(m) {
					t.Fatalf("%q: invalid", m)
				}
			}
		}
	}
}

func FuzzValidUTF8(f *testing.F) {
	f.Add([]byte("Nov 22 10:00:01 srv sshd[1]: Failed password for root"))
	f.Add([]byte("caf\xc3\xa9 \xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if validUTF8(b) != utf8.Valid(b) {
			t.Fatalf("%q: validUTF8 %v", b, validUTF8(b))
		}
		ascii := true
		for _, c := range b {
			ascii = ascii && c < 0x80
		}
		if isASCII(b) != ascii {
			t.Fatalf("%q: isASCII %v", b, isASCII(b))
		}
	})
}

func TestIsUTF8(t *testing.T) {
	for name, want := range map[string]bool{"utf-8": true, "UTF8": true, "cp65001": true,
		"latin-1": false, "ascii": false, "cp1252": false, "no-such-encoding": false} {
		if got := IsUTF8(name); got != want {
			t.Errorf("IsUTF8(%q) = %v, want %v", name, got, want)
		}
	}
}
