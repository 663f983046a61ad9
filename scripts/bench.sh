#!/usr/bin/env bash
# bench.sh: f2bd's hot paths measured beside what fail2ban does for the
# same work, in the same run, so that the ratios mean something on a noisy
# machine. Needs root (network namespaces for the kernel benchmarks) and
# fail2ban installed (the reference). `make bench` runs it.
#
#   BENCHTIME=1s   go test -benchtime for the Go benchmarks
#   LINES=200000   lines of the generated log for the matching comparison
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export BENCHTIME=${BENCHTIME:-1s}

section() { printf '\n== %s ==\n' "$1"; }

section "Bans into the kernel: one netlink batch vs one nft process per ban (fail2ban's way)"
scripts/bench-nft.sh

section "Restore after a reboot: 100k bans from the ban store into an empty kernel"
$GO test -run '^$' -bench 'BenchmarkRestore100k' -benchtime 3x ./pkg/daemon/ |
	awk '/^BenchmarkRestore100k/ { printf "restore of 100000 bans: %.0f ms (%s bans/s)\n", $3/1e6, $5 }'

if [ -x scripts/bench-regex.sh ]; then
	section "Matching: f2bctl regex vs fail2ban-regex on the same generated sshd log"
	scripts/bench-regex.sh
fi

section "Hot-path micro-benchmarks"
$GO test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" \
	./pkg/filter/ ./pkg/pyregex/ ./pkg/datedetect/ ./pkg/failcount/ ./pkg/bantime/ |
	grep -E '^(Benchmark|ok|FAIL)'
