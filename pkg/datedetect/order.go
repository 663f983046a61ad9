package datedetect

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// Template selection and ordering, as fail2ban's DateDetector.matchTime
// and _reorderTemplate do it (fail2ban 1.0.2, server/datedetector.py):
//
//   - the template that won last is tried first: an anchored one (line
//     begin or end) on the whole line, another one only between the last
//     date's start and end when the characters around them still look
//     alike, else on the whole line;
//   - its match is accepted if it is anchored, the only template, or at
//     the same position as last time; otherwise it is kept in reserve and
//     every template is tried in list order: an anchored match wins, a match
//     at distance 0 wins when its template has hits and the next one has
//     none, a match further in the line than that template's last match or
//     than the last date is kept in reserve (the nearest reserve wins when
//     nothing else does), any other match wins;
//   - the winner's hits grow, and a winner that is not first and was not
//     the last winner bubbles up: to the first never-used slot, or half way
//     to the top, when its weight (hits x template weight / last distance)
//     beats the weight of the template there or that template was not used
//     for five minutes, else one slot up under the same rule.
//
// Positions (distances) count characters, as Python does. fail2ban shares
// a default template's own hit counter between all detectors of a process;
// here every detector has its own (the same as a process with one jail).
// "Not used for five minutes" reads the detector's clock (time.Now in a
// daemon) where fail2ban reads the wall clock.

// unusedTime is fail2ban's __unusedTime: a template unused that long can be displaced.
const unusedTime = 300 * time.Second

// noChar stands for Python's empty slice (out of range) and noneChar for
// the None fail2ban's detector starts with.
const (
	noChar   rune = -1
	noneChar rune = -2
)

// slot is one template in a detector's list with its usage statistics
// (fail2ban's DateDetectorTemplate).
type slot struct {
	t        *template
	hits     int
	lastUsed time.Time
	distance int // character position of its last winning match
}

// weight is fail2ban's DateDetectorTemplate.weight.
func (s *slot) weight() float64 {
	return float64(s.hits) * s.t.weight / float64(max(1, s.distance))
}

// position is fail2ban's __lastPos / __lastEndPos: a character position
// with the characters before and at it.
type position struct {
	pos        int
	before, at rune
}

// anchored reports whether a template's matches are tied to the line begin or end.
func (t *template) anchored() bool { return t.flags&(flagLineBegin|flagLineEnd) != 0 }

// runeAt returns the character at character index i of s, or noChar.
func runeAt(s string, i int) rune {
	if i < 0 {
		return noChar
	}
	b := byteIndex(s, i)
	if b >= len(s) {
		return noChar
	}
	r, _ := utf8.DecodeRuneInString(s[b:])
	return r
}

// runeBefore returns the character ending at byte offset b of s, or noChar.
func runeBefore(s string, b int) rune {
	if b <= 0 {
		return noChar
	}
	if c := s[b-1]; c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:b])
	return r
}

// runeFrom returns the character starting at byte offset b of s, or noChar.
func runeFrom(s string, b int) rune {
	if b >= len(s) {
		return noChar
	}
	if c := s[b]; c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(s[b:])
	return r
}

// byteIndex converts a character index of s to a byte offset (len(s) when past the end).
func byteIndex(s string, n int) int {
	if n <= 0 {
		return 0
	}
	i := 0
	for i < len(s) && n > 0 {
		if s[i] < utf8.RuneSelf {
			i++
		} else {
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		n--
	}
	return i
}

// charIndex converts a byte offset of s to a character index.
func charIndex(s string, b int) int {
	s = s[:b]
	i := 0
	// eight bytes at a time while they are ASCII
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return i + utf8.RuneCountInString(s[i:])
		}
	}
	return b
}

// isAlnum is Python's str.isalnum for one character.
func isAlnum(r rune) bool {
	return r >= 0 && (unicode.IsLetter(r) || unicode.IsNumber(r))
}

// sameRune compares a character of the line with a remembered one (None never matches).
func sameRune(a, b rune) bool { return b != noneChar && a == b }

// match finds the winning template for line and returns its index in
// d.slots and its match (byte offsets), or -1. d.locIsMemo tells whether
// the match is a memo's (d.memoHit).
func (d *Detector) match(line string, now time.Time) (int, []int) {
	n := len(d.slots)
	if n == 0 {
		return -1, nil
	}
	var loc []int
	var s *slot
	i := -1
	resIdx, resDist := -1, int(^uint(0)>>1)
	ignore := -1
	reserve := func(l []int, dist, idx int) {
		d.res = append(d.res[:0], l...)
		resIdx, resDist = idx, dist
	}
	if d.lastIdx >= 0 && d.lastIdx < n {
		i = d.lastIdx
		s = d.slots[i]
		if s.t.anchored() {
			loc = d.find(s.t, line)
			ignore = i
		} else {
			dist, endpos := d.lastPos.pos, d.lastEnd.pos
			b, a := runeAt(line, dist-1), runeAt(line, dist)
			e1, e0 := runeAt(line, endpos), runeAt(line, endpos-1)
			if (sameRune(b, d.lastPos.before) || (sameRune(a, d.lastPos.at) && !isAlnum(d.lastPos.at))) &&
				(sameRune(e1, d.lastEnd.at) || (sameRune(e0, d.lastEnd.before) && !isAlnum(d.lastEnd.before))) {
				loc = d.findRange(s.t, line, byteIndex(line, dist), byteIndex(line, endpos))
			} else {
				loc = d.find(s.t, line)
				ignore = i
			}
		}
		if loc != nil && n != 1 && !s.t.anchored() {
			dist, end := charIndex(line, loc[0]), charIndex(line, loc[1])
			if dist != d.lastPos.pos || end != d.lastEnd.pos {
				reserve(loc, dist, i)
				loc = nil
			}
		}
	}
	if loc == nil {
		for i = 0; i < n; i++ {
			if i == ignore {
				continue
			}
			s = d.slots[i]
			loc = d.find(s.t, line)
			if loc == nil {
				continue
			}
			dist := charIndex(line, loc[0])
			if i+1 >= n || s.t.anchored() {
				break
			}
			if dist == 0 && s.hits > 0 && d.slots[i+1].t.hits == 0 {
				break
			}
			if dist > s.distance || dist > d.lastPos.pos {
				if dist < resDist {
					reserve(loc, dist, i)
				}
				loc = nil
				continue
			}
			break
		}
		if loc == nil && resIdx >= 0 {
			i, loc = resIdx, d.res
			d.locIsMemo = false
			s = d.slots[i]
		}
	}
	if loc == nil {
		return -1, nil
	}
	if d.locIsMemo {
		// the same values, computed with the memo
		m := d.memoHit
		d.lastPos = m.start
		d.lastEnd = position{pos: m.end, before: m.endBefore, at: runeFrom(line, loc[1])}
	} else {
		dist, end := charIndex(line, loc[0]), charIndex(line, loc[1])
		d.lastPos = position{pos: dist, before: runeBefore(line, loc[0]), at: runeFrom(line, loc[0])}
		d.lastEnd = position{pos: end, before: runeBefore(line, loc[1]), at: runeFrom(line, loc[1])}
	}
	s.hits++
	s.lastUsed = now
	s.distance = d.lastPos.pos
	if d.firstUnused == i {
		d.firstUnused++
	}
	if i != 0 && i != d.lastIdx {
		i = d.reorder(i)
	}
	d.lastIdx = i
	return i, loc
}

// find searches the whole line with a template, counting its hits. It
// sets d.locIsMemo when the match is a memo's (d.memoHit).
func (d *Detector) find(t *template, line string) []int {
	var loc []int
	d.locIsMemo = false
	if t == d.rejected {
		return nil
	}
	var m *matchMemo
	ticked := false
	if t.fastTail != nil && d.memoFailed != t {
		m, ticked = t.memoMatch(line)
	}
	if m != nil {
		loc = m.loc // not d.buf: d.buf is written by the next search
		d.locIsMemo, d.memoHit = true, m
		d.memoTicked = d.memoTicked || ticked
	} else {
		var fast bool
		loc, fast = t.find(line, d.buf)
		if loc != nil {
			d.buf = loc
		}
		if fast && loc != nil && t.fastTail != nil && t.anchored() && loc[0] < loc[1] && !d.noCache {
			m := t.newMemo()
			m.set(t, line, loc)
			d.memoFailed, d.memoTicked = nil, false
			d.locIsMemo, d.memoHit = true, m
		}
	}
	if loc != nil {
		t.hits++
	}
	return loc
}

// findRange searches line[pos:endpos] (Python's search(line, pos, endpos)).
func (d *Detector) findRange(t *template, line string, pos, endpos int) []int {
	d.locIsMemo = false
	loc, _ := t.re.FindIndexRange(line, pos, endpos, d.buf)
	if loc != nil {
		d.buf = loc
		t.hits++
	}
	return loc
}

// reorder bubbles the winning template at num up (fail2ban's _reorderTemplate)
// and returns its new index.
func (d *Detector) reorder(num int) int {
	s := d.slots[num]
	pos := num / 2
	if d.firstUnused < num {
		pos = d.firstUnused
	}
	if !d.movable(s, pos) {
		if pos == num-1 {
			return num
		}
		pos = num - 1
		if !d.movable(s, pos) {
			return num
		}
	}
	copy(d.slots[pos+1:num+1], d.slots[pos:num])
	d.slots[pos] = s
	for d.firstUnused < len(d.slots) && d.slots[d.firstUnused].hits > 0 {
		d.firstUnused++
	}
	return pos
}

// movable reports whether slot s may move to pos: its weight beats the
// weight of the template there, or that one was not used for unusedTime
// before s's last use.
func (d *Detector) movable(s *slot, pos int) bool {
	p := d.slots[pos]
	return s.weight() > p.weight() || s.lastUsed.Add(-unusedTime).After(p.lastUsed)
}
