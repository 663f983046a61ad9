#!/bin/sh
# bench-nft.sh: f2bd's netlink ban path against fail2ban's one nft(8)
# process per ban, measured in the same run, in throw-away network
# namespaces (needs root). Prints the Go benchmark lines, then the ratio.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=$($GO test -run '^$' -bench 'BanBatch|Ban120k|List120k|NftProcessPerBan|SetBackend' -benchtime "${BENCHTIME:-1s}" ./nft/)
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '
	{ for (i = 2; i < NF; i++) if ($(i+1) == "ns/ban") v[$1] = $i }
	END {
		nft = ""; for (k in v) if (k ~ /^BenchmarkNftProcessPerBan/) nft = v[k]
		if (nft == "") exit
		printf "\nper ban: nft process %.0f µs\n", nft / 1000
		for (k in v) if (k ~ /^Benchmark(BanBatch|Ban120k)/)
			printf "  %-40s %8.2f µs  %7.0fx faster\n", k, v[k] / 1000, nft / v[k]
	}'
