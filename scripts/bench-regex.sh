#!/bin/sh
# bench-regex.sh: f2bd's `f2bctl regex` against fail2ban-regex on the same
# generated sshd auth.log: checks that both count the same lines (tested,
# ignored, matched, missed) and prints lines/s, peak RSS and the ratios.
#
#   scripts/bench-regex.sh [-n LINES] [-seed N] [-kind sshd|mixed] [-filter FILTER] [-runs N] [-skip-f2b]
#
# Defaults: 1000000 lines of seed 1, the sshd kind and filter
# /etc/fail2ban/filter.d/sshd.conf. fail2ban-regex needs about 80 s per
# million lines here: use e.g. -n 100000 for a quick run; -skip-f2b runs
# only f2bctl (no comparison). f2bctl runs -runs times (5), a second or
# two each, and its median time is compared: one run is one spell of a
# shared VM (1.43 s, 1.50 s, 0.88 s and 2.32 s in four runs of the same
# code). Run from the repository root.
set -eu

n=1000000 seed=1 kind=sshd filter=/etc/fail2ban/filter.d/sshd.conf skipf2b=0 runs=5
while [ $# -gt 0 ]; do
	case "$1" in
	-n) n=$2; shift 2 ;;
	-seed) seed=$2; shift 2 ;;
	-kind) kind=$2; shift 2 ;;
	-filter) filter=$2; shift 2 ;;
	-runs) runs=$2; shift 2 ;;
	-skip-f2b) skipf2b=1; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "bench-regex.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

tmp=${TMPDIR:-/tmp}/bench-regex.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/f2bctl" ./cmd/f2bctl
go build -o "$tmp/genlog" ./scripts/genlog
log="$tmp/$kind-$n-$seed.log"
"$tmp/genlog" -n "$n" -seed "$seed" -kind "$kind" -o "$log"
echo "log: $n lines ($kind, seed $seed), $(wc -c <"$log") bytes; filter: $filter"

# run NAME CMD...: runs CMD under /usr/bin/time -v, keeps its output in
# $tmp/NAME.out and sets NAME_secs, NAME_rss (kB) and NAME_lines.
run() {
	name=$1; shift
	/usr/bin/time -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
		echo "$name failed:" >&2; tail -5 "$tmp/$name.err" >&2; exit 1; }
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tmp/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/$name.time")
	lines=$(grep -m1 '^Lines:' "$tmp/$name.out" || true)
	eval "${name}_secs=\$secs ${name}_rss=\$rss ${name}_lines=\"\$lines\""
	printf '%-14s %8.2f s %12.0f lines/s %8d kB peak RSS   %s\n' "$name" "$secs" \
		"$(awk -v n="$n" -v s="$secs" 'BEGIN { print (s > 0 ? n / s : 0) }')" "$rss" "$lines"
}

times= maxrss=0
for _ in $(seq "$runs"); do
	run f2bctl "$tmp/f2bctl" regex "$log" "$filter"
	times="$times $f2bctl_secs"
	[ "$f2bctl_rss" -gt "$maxrss" ] && maxrss=$f2bctl_rss
done
f2bctl_secs=$(echo $times | tr ' ' '\n' | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
f2bctl_rss=$maxrss
printf 'f2bctl median of %d runs: %.2f s, %.0f lines/s, peak RSS at most %d kB\n' "$runs" "$f2bctl_secs" \
	"$(awk -v n="$n" -v s="$f2bctl_secs" 'BEGIN { print (s > 0 ? n / s : 0) }')" "$f2bctl_rss"
[ "$skipf2b" = 1 ] && exit 0
run fail2ban /usr/bin/python3 /usr/bin/fail2ban-regex --print-no-missed --print-no-ignored "$log" "$filter"

status=0
if [ "$f2bctl_lines" = "$fail2ban_lines" ]; then
	echo "counts: identical"
else
	echo "counts DIFFER:"; echo "  f2bctl   $f2bctl_lines"; echo "  fail2ban $fail2ban_lines"; status=1
fi
awk -v a="$fail2ban_secs" -v b="$f2bctl_secs" -v ra="$fail2ban_rss" -v rb="$f2bctl_rss" 'BEGIN {
	printf "speed-up: %.1fx (fail2ban-regex %.2f s / f2bctl median %.2f s); peak RSS ratio: %.2f\n", (b > 0 ? a / b : 0), a, b, (rb > 0 ? ra / rb : 0) }'
exit $status
