#!/usr/bin/env bash
# bench.sh: f2bd's hot paths measured beside what fail2ban does for the
# same work, in the same run, so that the ratios mean something on a noisy
# machine. Needs root (network namespaces for the kernel benchmarks) and
# fail2ban installed (the reference). `make bench` runs it.
#
#   BENCHTIME=1s   go test -benchtime for the Go benchmarks
#   LINES=1000000  lines of the generated log (fail2ban-regex needs ~100 s
#                  per million lines here)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export BENCHTIME=${BENCHTIME:-1s}
LINES=${LINES:-1000000}

section() { printf '\n== %s ==\n' "$1"; }

section "Configuration: the stock tree with every jail enabled, resolved and dumped"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cp -r /etc/fail2ban "$tree/fail2ban"
awk '/^\[[^]]+\]/ { n = substr($0, 2, index($0, "]") - 2); if (n != "DEFAULT" && n != "INCLUDES") printf "[%s]\nenabled = true\n\n", n }' \
	/etc/fail2ban/jail.conf >"$tree/fail2ban/jail.local"
$GO build -o "$tree/f2bctl" ./cmd/f2bctl
# Median wall time of 5 runs of a command, in milliseconds.
median_ms() {
	local ts=()
	for _ in 1 2 3 4 5; do
		local t0 t1
		t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
		ts+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}
f2b=$(median_ms /usr/bin/python3 /usr/bin/fail2ban-client -c "$tree/fail2ban" -d)
ours=$(median_ms "$tree/f2bctl" -c "$tree/fail2ban" -d)
printf 'fail2ban-client -d  %5d ms\nf2bctl -d           %5d ms   (%s)\n' "$f2b" "$ours" \
	"$(awk -v a="$f2b" -v b="$ours" 'BEGIN { if (b > 0) printf "%.1fx faster", a / b }')"
$GO test -run '^$' -bench 'BenchmarkLoadStockAllJails' -benchmem -count 3 ./config/ | grep '^Benchmark'

section "Bans into the kernel: one netlink batch vs one nft process per ban (fail2ban's way)"
scripts/bench-nft.sh

section "Restore after a reboot: 100k bans from the ban store into an empty kernel"
$GO test -run '^$' -bench 'BenchmarkRestore100k' -benchtime 3x ./pkg/daemon/ |
	awk '/^BenchmarkRestore100k/ { printf "restore of 100000 bans: %.0f ms (%s bans/s)\n", $3/1e6, $5 }'

section "Matching: f2bctl regex vs fail2ban-regex on the same generated sshd log (${LINES} lines)"
scripts/bench-regex.sh -n "$LINES" | tee "$tree/regex.out"
ref=$(awk '$1 == "fail2ban" { print $4 }' "$tree/regex.out")

section "The whole daemon: the same log appended to a followed file, until every failure is counted"
# The VM's share of its vCPUs moves the rate by up to 2x from one run to
# the next: five runs, and their median.
: >"$tree/daemon.out"
for _ in 1 2 3 4 5; do
	scripts/bench-daemon.sh -n "$LINES" ${ref:+-ref "$ref"} | tee -a "$tree/daemon.out"
done
awk -v ref="$ref" '
	/^f2bd daemon/ { rate[++n] = $5; if ($7 > rss) rss = $7 }
	END {
		# sort the rates (n is 5)
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (rate[j] < rate[i]) { t = rate[i]; rate[i] = rate[j]; rate[j] = t }
		m = rate[int((n + 1) / 2)]
		printf "daemon, median of %d runs: %.0f lines/s (%.0f-%.0f), peak RSS at most %d kB", n, m, rate[1], rate[n], rss
		if (ref > 0) printf ", %.1fx fail2ban-regex", m / ref
		printf "\n"
	}' "$tree/daemon.out"

section "Ten stock jails following one mixed log (sshd, nginx, postfix, dovecot, asterisk lines)"
scripts/bench-daemon.sh -n "$((LINES / 5))" -kind mixed

section "Hot-path micro-benchmarks"
$GO test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" \
	./pkg/tail/ ./pkg/filter/ ./pkg/jail/ ./pkg/pyregex/ ./pkg/rematch/ ./pkg/datedetect/ ./pkg/failcount/ ./pkg/bantime/ |
	grep -E '^(Benchmark|ok|FAIL)'
