#!/usr/bin/env bash
# bench-ab.sh: compares the whole daemon of a revision (A) with the work
# tree (B) in alternated single runs of scripts/bench-daemon.sh, so that
# both meet the same spells of a shared VM, and prints each pair and the
# medians of the CPU time per line and of the rate. A change is worth
# believing when B spends less CPU per line in most pairs: one run's rate
# moves by a fifth with the VM. Needs root (bench-daemon.sh does).
#
#   scripts/bench-ab.sh [-n LINES] [-pairs N] REV
#
# REV is checked out into a temporary git worktree, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000000 pairs=6
while [ $# -gt 1 ]; do
	case "$1" in
	-n) n=$2; shift 2 ;;
	-pairs) pairs=$2; shift 2 ;;
	*) echo "bench-ab.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ $# -eq 1 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
rev=$(git rev-parse --verify "$1^{commit}")
wt=$(mktemp -d /tmp/f2bd-ab.XXXXXX)
git worktree add -q --detach "$wt" "$rev"
trap 'git worktree remove --force "$wt"' EXIT

# one DIR: one daemon run of the tree in DIR; prints "CPU_US_PER_LINE LINES_PER_SEC".
one() {
	local out
	out=$(cd "$1" && bash scripts/bench-daemon.sh -n "$n" 2>&1) || { echo "$out" >&2; return 1; }
	grep -q 'counts: identical' <<<"$out" || { echo "$out" >&2; echo "bench-ab.sh: counts differ in $1" >&2; return 1; }
	local rate cpu
	rate=$(grep -o '[0-9]* lines/s' <<<"$out" | head -1 | cut -d' ' -f1)
	cpu=$(grep -o '[0-9.]* us per line' <<<"$out" | head -1 | cut -d' ' -f1)
	echo "$cpu $rate"
}

# median FORMAT: the median of the numbers on stdin, printed with FORMAT.
median() { sort -n | awk -v f="$1" '{v[NR]=$1} END {printf f, (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

a=() b=() less=0
printf '%-6s %14s %14s\n' pair "A us/line, l/s" "B us/line, l/s"
for i in $(seq "$pairs"); do
	ra=$(one "$wt")
	rb=$(one .)
	a+=("$ra") b+=("$rb")
	printf '%-6s %14s %14s\n' "$i" "${ra// /, }" "${rb// /, }"
	if awk -v x="${ra%% *}" -v y="${rb%% *}" 'BEGIN {exit !(y < x)}'; then less=$((less + 1)); fi
done
echo "A = ${rev:0:12}, B = the work tree; $n lines, $pairs pairs"
echo "CPU per line, median: A $(printf '%s\n' "${a[@]}" | cut -d' ' -f1 | median %.3f) us, B $(printf '%s\n' "${b[@]}" | cut -d' ' -f1 | median %.3f) us (B less in $less of $pairs pairs)"
echo "lines/s, median:      A $(printf '%s\n' "${a[@]}" | cut -d' ' -f2 | median %.0f), B $(printf '%s\n' "${b[@]}" | cut -d' ' -f2 | median %.0f)"
