package config

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// refSubstituteTags is the straightforward form of substituteTags (one new
// string per replacement, maps for the counts), kept to check the
// optimised one against. It gives up with errTooBig on runaway growth.
func refSubstituteTags(in *omap, ignore map[string]bool, addrepl func(string) (string, bool, error)) (*omap, error) {
	tags := in.clone()
	done := make([]bool, len(in.keys))
	repCounts := make([]map[string]int, len(in.keys))
	for {
		repeat := false
		for ti, tag := range in.keys {
			if done[ti] || ignore[tag] {
				continue
			}
			value := tags.vals[tag]
			if value == noneValue {
				done[ti] = true
				continue
			}
			orig := value
			rplc := repCounts[ti]
			pos := 0
			for {
				start, end, ok := findTag(value, pos)
				if !ok {
					break
				}
				rtag := value[start+1 : end-1]
				if ignore[rtag] {
					pos = end
					continue
				}
				cnt, seen := rplc[rtag]
				if !seen {
					cnt = 1
				}
				if rtag == tag || cnt > maxTagReplaceCount {
					return nil, fmt.Errorf("option %q contains a self-referencing tag definition <%s> that cannot be resolved (value %q)", tag, rtag, value)
				}
				repl, ok := tags.get(rtag)
				if repl == noneValue {
					ok = false
				}
				if !ok && addrepl != nil {
					var err error
					repl, ok, err = addrepl(rtag)
					if err != nil {
						return nil, fmt.Errorf("option %q, tag <%s>: %w", tag, rtag, err)
					}
				}
				if !ok {
					pos = end
					continue
				}
				value = value[:start] + strings.ReplaceAll(value[start:], value[start:end], repl)
				if len(value) > 4096 {
					return nil, errTooBig
				}
				if rplc == nil {
					rplc = map[string]int{}
				}
				rplc[rtag]++
				pos = start
			}
			if orig != value {
				if _, _, ok := findTag(value, 0); ok {
					repCounts[ti] = rplc
					repeat = true
				}
				tags.set(tag, value, "")
			}
			if strings.IndexByte(value, '<') < 0 {
				done[ti] = true
			}
		}
		if !repeat {
			break
		}
	}
	return tags, nil
}

var errTooBig = fmt.Errorf("too big")

// TestSubstituteTagsAgainstReference compares substituteTags with
// refSubstituteTags on random values made of tags, partial tags and text,
// with random ignored tags and an addrepl that resolves, misses or fails.
func TestSubstituteTagsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	pieces := []string{"<a>", "<b>", "<c>", "<d>", "<x>", "<y>", "<", ">", " ", "a", "b", "c", "<a", "b>", "<<", ">>", "z", "<ip>", "<e?f=1>"}
	gen := func() string {
		n := r.Intn(6)
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(pieces[r.Intn(len(pieces))])
		}
		return sb.String()
	}
	names := []string{"a", "b", "c", "d", "e?f=1", "e"}
	nerr, nsame := 0, 0
	for it := 0; it < 30000; it++ {
		in := newOmap()
		for _, n := range names {
			if r.Intn(3) > 0 {
				v := gen()
				if r.Intn(10) == 0 {
					v = noneValue
				}
				in.set(n, v, "")
			}
		}
		ign := map[string]bool{}
		if r.Intn(3) == 0 {
			ign[names[r.Intn(len(names))]] = true
		}
		if r.Intn(4) == 0 {
			ign["ip"] = true
		}
		xv, yv := gen(), gen()
		var add func(string) (string, bool, error)
		if r.Intn(2) == 0 {
			add = func(tag string) (string, bool, error) {
				switch tag {
				case "x":
					return xv, true, nil
				case "y":
					if strings.Contains(yv, "zz") {
						return "", false, fmt.Errorf("boom")
					}
					return yv, true, nil
				}
				return "", false, nil
			}
		}
		inCopy := in.clone()
		want, werr := refSubstituteTags(in, ign, add)
		if werr == errTooBig {
			continue
		}
		var add2 tagLookup
		if add != nil {
			add2 = func(b []byte) (string, string, bool, error) {
				n := string(b)
				v, ok, err := add(n)
				return n, v, ok, err
			}
		}
		got, gerr := substituteTags(in, ign, add2)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("in %q ign %v x %q y %q: err %v want %v", in.vals, ign, xv, yv, gerr, werr)
		}
		if werr != nil {
			nerr++
			continue
		}
		if fmt.Sprint(want.keys, want.vals) != fmt.Sprint(got.keys, got.vals) {
			t.Fatalf("in %q ign %v x %q y %q:\n got %q\nwant %q", inCopy.vals, ign, xv, yv, got.vals, want.vals)
		}
		if fmt.Sprint(in.keys, in.vals) != fmt.Sprint(inCopy.keys, inCopy.vals) {
			t.Fatalf("input modified")
		}
		if got == in {
			nsame++
		}
	}
	if nerr == 0 || nsame == 0 {
		t.Errorf("errors %d unchanged %d: the inputs do not cover both", nerr, nsame)
	}
}
