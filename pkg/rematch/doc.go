// Package rematch is a fast path for Go regular expressions with capture
// groups: it compiles a parsed expression (regexp/syntax) into a graph
// walked by a backtracking matcher, and finds the same match and the same
// submatches as the regexp package (leftmost-first: alternatives and
// repetitions in order of preference).
//
// Go's regexp extracts groups with an interpreted backtracker or NFA at
// about 20 ns per byte; log filter expressions (a literal, a few \S+ or
// .*? groups, an address) mostly decide within a few dozen steps, which a
// walk over a compiled graph does several times faster: literals compare
// as strings, a repeated character class is one scan, and the
// continuation after it is only tried where its first byte fits.
//
// Backtracking can take exponential time on some expressions and
// subjects, so every Find has a step budget (Budget: proportional to the
// subject). When it runs out, Find says so and the caller runs regexp,
// whose time is linear: a hostile line costs at most the budget more.
// A search that has taken a few hundred steps also starts a memo of the
// continuations that failed (node and position, as RE2's BitState), so
// that it does not try them again: most such searches then decide well
// within their budget.
// Expressions whose meaning differs between plain backtracking and regexp
// (a repetition of something that can match empty) are not compiled
// (ErrUnsupported).
package rematch
