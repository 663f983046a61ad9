// Package pyregex compiles Python 3 `re` patterns (as written in fail2ban
// filters) for Go.
//
// A pattern is translated to Go's RE2 syntax whenever that keeps Python's
// meaning, and to github.com/dlclark/regexp2 (a backtracking engine) when the
// pattern needs lookarounds, backreferences, conditionals `(?(name)yes|no)` or
// atomic groups. Python semantics kept by the translation:
//
//   - \d, \w and \s are Unicode in Python 3 str patterns: they become
//     \p{Nd}, [\p{L}\p{N}_] and [\t-\r\x1c-\x1f\x85\p{Z}] (ASCII sets under (?a)).
//   - `$` without MULTILINE matches at the end or before a final newline
//     (fail2ban always appends one). For RE2 it is written (?m:$), which is
//     exact unless the subject has a newline before its last byte; such
//     subjects are matched by the regexp2 program instead.
//   - \b and \B are Unicode word boundaries in Python but ASCII in RE2; RE2
//     is used for ASCII subjects and regexp2 for the others.
//   - \Z is end of text; {,n} is {0,n}; a brace that is not a quantifier is
//     literal; `[` inside a set is literal; (?#...) comments and the (?x)
//     verbose flag are honoured.
//
// An RE2 program runs on pkg/rematch first (a compiled backtracking
// matcher with the same leftmost-first submatches, several times cheaper
// per match), and on Go's regexp when rematch gives up within its step
// budget or does not take the expression.
//
// Conditionals `(?(name)yes|no)` whose group is set in the same pattern
// (outside repetitions), and tempered tokens `(?:(?!LIT).)*?` followed by
// LIT (or `(?:(?!LIT).)*` followed by `$`), are rewritten into equivalent
// RE2 patterns (see rewrite.go): alternatives are distributed so that each
// copy of the rest knows whether the group took part, duplicated groups
// are reported as the one Python group, and a tempered token becomes the
// regular language it can match there. When the rewritten program is too
// large for Go's backtracker, each path becomes a program of its own, tried
// in order, each only when the subject holds the literals that tell it
// from the others. Regexp.Engine says "re2 (conditionals rewritten, ...)".
//
// Known differences: regexp2's \b (only reached for non-ASCII subjects) uses
// .NET word characters (letters, Mn marks, Nd digits, Pc punctuation) rather
// than Python's (letters, all numbers, underscore); possessive quantifiers and
// octal escapes other than \0 are rejected; global flags after the start of
// the pattern are rejected as in Python 3.11.
//
// Beyond matching, a Regexp can search a part of a subject as Python's
// pattern.search(s, pos, endpos) does (FindIndexRange), and derives from
// its pattern a set of literals one of which every match contains
// (RequiredLiterals), and several such sets that every match satisfies at
// once (RequiredLiteralSets), for prefilters.
package pyregex
