// Package rarebyte looks literals up in log lines by their rarest byte:
// the literals of log filters start with spaces, colons and lower-case
// letters, which every line is full of, so a search that looks for a
// literal's first byte stops at nearly every position, while one that
// looks for its rarest byte (a vectorized byte search) and compares the
// literal only there stops at few.
package rarebyte

import "strings"

// Pick returns the index of lit's rarest byte in log text (0 for an empty
// lit).
func Pick(lit string) int {
	k := 0
	for i := 1; i < len(lit); i++ {
		if rank[lit[i]] < rank[lit[k]] {
			k = i
		}
	}
	return k
}

// Index returns the index of the first lit in s, -1 when there is none;
// k is Pick(lit).
func Index(s, lit string, k int) int {
	n := len(lit)
	if n == 0 {
		return 0
	}
	if n > len(s) {
		return -1
	}
	c := lit[k]
	// lit's byte k can be at k .. len(s)-n+k
	for i, hi := k, len(s)-n+k+1; i < hi; {
		j := strings.IndexByte(s[i:hi], c)
		if j < 0 {
			return -1
		}
		if p := i + j - k; s[p:p+n] == lit {
			return p
		}
		i += j + 1
	}
	return -1
}

// LastIndex returns the index of the last lit in s, -1 when there is
// none; k is Pick(lit).
func LastIndex(s, lit string, k int) int {
	n := len(lit)
	if n == 0 {
		return len(s)
	}
	c := lit[k]
	for i := len(s) - n + k; i >= k; i-- {
		if s[i] == c && s[i-k:i-k+n] == lit {
			return i - k
		}
	}
	return -1
}

// rank orders bytes by how common they are in log lines (lower: rarer):
// spaces, then digits and the punctuation of addresses, times and
// key=value pairs, then lower-case letters by their frequency in English,
// then the other punctuation, upper-case letters, and other bytes.
var rank = func() (r [256]uint8) {
	for b := range r {
		r[b] = 1 // control and non-ASCII bytes
	}
	for b := 'A'; b <= 'Z'; b++ {
		r[b] = 10
	}
	for _, b := range `()[]{};"'<>@#$%&*+!?^|~\,` + "`" {
		r[b] = 20
	}
	// lower-case letters, rarest first
	for i, b := range "zqxjkvbpygfwmucldrhsnioate" {
		r[b] = uint8(40 + 6*i)
	}
	for b := '0'; b <= '9'; b++ {
		r[b] = 220
	}
	for i, b := range "_=/-.:" {
		r[b] = uint8(30 + 35*i) // _ 30 ... : 205
	}
	r[' '] = 255
	return r
}()
