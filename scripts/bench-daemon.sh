#!/usr/bin/env bash
# bench-daemon.sh: the whole f2bd pipeline on a generated log: a real f2bd
# (in a network namespace of its own, so the kernel sets it writes are
# throw-away) follows an empty file with the stock sshd jail; the log is
# appended at once, and the clock runs until f2bd has counted every
# failure that `f2bctl regex` finds in it. Prints lines/s, f2bd's peak RSS
# and the bans it decided. Needs root.
#
# With -kind mixed, ten stock jails (sshd, dropbear, selinux-ssh,
# nginx-http-auth, nginx-botsearch, postfix, postfix-sasl, dovecot, sieve,
# asterisk) follow one mixed log, and the clock runs until the last jail's
# count stops changing (reported: the time of that last change).
# -ref LINES_PER_SEC prints the ratio to a reference (fail2ban-regex's
# rate measured in the same run).
#
# -profile FILE writes f2bd's CPU profile of the run to FILE (go tool pprof),
# -trace FILE its execution trace (go tool trace), -memprofile FILE the
# profile of its allocations (go tool pprof -sample_index=alloc_space).
# F2BD_GODEBUG is passed to f2bd as GODEBUG (e.g. gctrace=1), F2BD_LOG
# names a file for f2bd's log (kept after the run), F2BD_WRAP is a command
# f2bd runs under (e.g. "valgrind --tool=cachegrind --cache-sim=no
# --cachegrind-out-file=cg.out" to count its instructions).
#
#   scripts/bench-daemon.sh [-n LINES] [-seed N] [-kind sshd|mixed] [-ref LINES_PER_SEC] [-profile FILE] [-trace FILE] [-memprofile FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000000 seed=1 kind=sshd ref= profile= trace= memprofile=
while [ $# -gt 0 ]; do
	case "$1" in
	-n) n=$2; shift 2 ;;
	-seed) seed=$2; shift 2 ;;
	-kind) kind=$2; shift 2 ;;
	-ref) ref=$2; shift 2 ;;
	-profile) profile=$(realpath -m "$2"); shift 2 ;;
	-trace) trace=$(realpath -m "$2"); shift 2 ;;
	-memprofile) memprofile=$(realpath -m "$2"); shift 2 ;;
	*) echo "bench-daemon.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
GO=${GO:-go}
tmp=$(mktemp -d)
ns=f2b-bench-$$
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

$GO build -o "$tmp/" ./cmd/f2bd ./cmd/f2bctl ./scripts/genlog ./scripts/benchfeed
# genlog spaces lines ~60 ms apart: end the log about now, so that every
# failure is inside the jail's findtime (1 day).
"$tmp/genlog" -n "$n" -seed "$seed" -kind "$kind" -start $(($(date +%s) - n * 60 / 1000 - 60)) -o "$tmp/src.log"
jails=sshd
if [ "$kind" = mixed ]; then
	jails="sshd dropbear selinux-ssh nginx-http-auth nginx-botsearch postfix postfix-sasl dovecot sieve asterisk"
fi

cp -r /etc/fail2ban "$tmp/fail2ban"
: >"$tmp/auth.log"
{
	printf '[DEFAULT]\nbackend = auto\nlogpath = %s\nfindtime = 1d\nmaxretry = 5\nbantime = 1h\n' "$tmp/auth.log"
	printf 'ignoreself = false\nignoreip =\nbanaction = nftables-multiport\n\n'
	for j in $jails; do printf '[%s]\nenabled = true\nlogpath = %s\n\n' "$j" "$tmp/auth.log"; done
} >"$tmp/fail2ban/jail.local"

ip netns add "$ns"
ip netns exec "$ns" env GODEBUG=${F2BD_GODEBUG:-} ${F2BD_WRAP:-} "$tmp/f2bd" -c "$tmp/fail2ban" -s "$tmp/f2bd.sock" --state-dir "$tmp/state" ${profile:+--cpuprofile "$profile"} ${trace:+--trace "$trace"} ${memprofile:+--memprofile "$memprofile"} 2>"${F2BD_LOG:-$tmp/f2bd.log}" &
pid=$!
for _ in $(seq $([ -n "${F2BD_WRAP:-}" ] && echo 600 || echo 100)); do
	"$tmp/f2bctl" -s "$tmp/f2bd.sock" ping >/dev/null 2>&1 && break
	sleep 0.1
done
want=
if [ "$kind" = sshd ]; then
	want=$("$tmp/f2bctl" regex --json "$tmp/src.log" /etc/fail2ban/filter.d/sshd.conf | grep -c '"fid"' || true)
fi
# cpu: f2bd's user+system CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
cpu0=$(cpu)
# benchfeed appends the log and looks at the counts every 20 ms from one
# process (a shell loop of f2bctl calls would take CPU from f2bd)
read -r secs got banned < <("$tmp/benchfeed" -s "$tmp/f2bd.sock" -src "$tmp/src.log" -dst "$tmp/auth.log" \
	-jails "$(echo $jails | tr ' ' ,)" ${want:+-want "$want"})
[ -n "${secs:-}" ] || { echo "bench-daemon.sh: benchfeed failed" >&2; exit 1; }
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
cpu1=$(cpu)
rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { print (s > 0 ? n / s : 0) }')
printf 'f2bd daemon    %8.2f s %12.0f lines/s %8d kB peak RSS   %d jail(s): failures counted %d%s, bans decided %d\n' \
	"$secs" "$rate" "$rss" "$(echo $jails | wc -w)" "$got" "${want:+ of $want}" "$banned"
# CPU time per line depends less than the rate on what else the machine runs
awk -v c="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v n="$n" -v s="$secs" \
	'BEGIN { printf "f2bd CPU time: %.2f s (%.2f us per line, %.2f cores busy)\n", c / hz, c / hz / n * 1e6, (s > 0 ? c / hz / s : 0) }'
[ -n "$ref" ] && awk -v r="$rate" -v f="$ref" 'BEGIN { printf "ratio to fail2ban-regex in this run: %.1fx\n", r / f }'
if [ -n "$want" ]; then
	if [ "$got" != "$want" ]; then
		echo "counts DIFFER: f2bd counted $got failures, f2bctl regex finds $want" >&2
		exit 1
	fi
	echo "counts: identical (f2bd's Total failed = failures f2bctl regex finds)"
fi
