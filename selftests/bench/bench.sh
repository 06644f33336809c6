#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# make bench: every benchmark in one run, a summary table on stdout and in
# build/bench/results.txt (followed by every benchmark's full report).
#
#   1. data-plane cost per packet    bench-dp.sh        (bench_dp)
#      and where it goes             bench_blocks
#   2. veth throughput, one core     bench_veth
#   3. flood + ring change           bench_flood
#   4. failover latency              bench-failover.sh  (meridiand)
#   5. control plane                 bench_ctl
#   6. meridiand RSS and CPU         bench-daemon.sh    (meridiand)
#
# The machine is noisy: every ratio is taken within one run against a
# reference measured alongside, and medians are reported. A missed target
# says MISS and is not an error; the exit code is non-zero only when a
# benchmark could not measure what it claims to (INVALID) or failed.
#
# Every benchmark runs in network namespaces and a bpffs of its own and
# stops by itself; each is also bounded by a timeout here.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench
results=$out/results.txt
summary=$out/summary.txt

cd "$root" || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: skipped: needs root (namespaces, XDP, BPF test runs)"
	exit 0
fi
mkdir -p "$out"
: >"$summary"
failed=()

# step NAME LIMIT_S REPORT CMD...: runs one benchmark, its output to the
# terminal; a failure becomes a row of the table.
step() {
	local name=$1 limit=$2 report=$3 rc t0
	shift 3
	echo "=== $name"
	rm -f "$report"
	t0=$(date +%s)
	timeout "$limit" "$@"
	rc=$?
	echo "=== $name: $(($(date +%s) - t0)) s"
	if [ "$rc" -ne 0 ]; then
		failed+=("$name")
		[ "$rc" -eq 124 ] && rc="timeout after ${limit} s"
		echo "$name|failed ($rc)|-|ERROR" >>"$summary"
	fi
	echo
}

commit() {
	git -C "$root" describe --always --dirty 2>/dev/null || echo unknown
}

table() {
	awk -F'|' '
		{ n++; name[n] = $1; val[n] = $2; tgt[n] = $3; res[n] = $4 }
		END {
			fmt = "%-60s %-18s %-13s %s\n"
			printf fmt, "measure", "value", "target", "result"
			for (i = 1; i <= n; i++)
				printf fmt, name[i], val[i], tgt[i], res[i]
		}' "$summary"
}

started=$(date +%s)
step "data-plane cost" 150 "$out/bench-dp.txt" \
	./selftests/bench/bench-dp.sh -s "$summary"
step "data-plane blocks" 120 "$out/bench-blocks.txt" \
	build/bench/bench_blocks -o "$out/bench-blocks.txt" -s "$summary"
step "veth throughput" 300 "$out/bench-veth.txt" \
	build/bench/bench_veth -o "$out/bench-veth.txt" -s "$summary"
step "flood" 300 "$out/bench-flood.txt" \
	build/bench/bench_flood -o "$out/bench-flood.txt" -s "$summary"
step "failover" 400 "$out/bench-failover-10ms.txt" \
	./selftests/bench/bench-failover.sh -s "$summary"
step "control plane" 300 "$out/bench-ctl.txt" \
	build/bench/bench_ctl -o "$out/bench-ctl.txt" -s "$summary"
step "meridiand at scale" 300 "$out/bench-daemon.txt" \
	./selftests/bench/bench-daemon.sh -s "$summary"
elapsed=$(($(date +%s) - started))

headline() {
	echo "meridian make bench: results"
	echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC'); ${elapsed} s"
	echo "commit:   $(commit)"
	echo "kernel:   $(uname -srm)"
	echo "cpu:      $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo |
		head -n 1), $(nproc) online"
	echo
	table
	echo
	echo "MISS: a target missed (see README, Performance); INVALID: the"
	echo "benchmark did not measure what it claims; ERROR: it failed."
}

{
	headline
	for f in bench-dp.txt bench-blocks.txt bench-veth.txt bench-flood.txt \
		bench-failover-10ms.txt bench-failover-100ms.txt \
		bench-ctl.txt bench-daemon.txt; do
		[ -f "$out/$f" ] || continue
		echo
		printf '=%.0s' {1..72}
		echo
		cat "$out/$f"
	done
} >"$results"

echo "=== summary"
headline
echo "written to $results"
if grep -q '|INVALID$' "$summary" || [ ${#failed[@]} -gt 0 ]; then
	exit 1
fi
exit 0
