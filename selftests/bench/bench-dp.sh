#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# make bench-dp: the data-plane cost of bpf/edge.bpf.o per packet against
# the floor bpf/xdp_pass.bpf.o, through BPF_PROG_TEST_RUN. The benchmark
# enters a private network namespace of its own (it dies with the process)
# and loads every map unpinned: the host's network and /sys/fs/bpf are
# never touched. The table goes to stdout and to build/bench/bench-dp.txt.
#
# A missed target is reported, never fatal. The exit code is non-zero only
# when the benchmark could not measure what it claims to.
#
# Extra arguments go to the benchmark: -r ROUNDS, -c CPU (see -h).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=build/bench/bench_dp
out=build/bench/bench-dp.txt
limit_s=120 # the benchmark stops itself after 40 s of rounds

cd "$root" || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-dp: skipped: needs root (network namespace, BPF test runs)"
	exit 0
fi
for f in "$bin" bpf/edge.bpf.o bpf/xdp_pass.bpf.o; do
	if [ ! -e "$f" ]; then
		echo "bench-dp: $f is missing; run make first" >&2
		exit 1
	fi
done
timeout "$limit_s" "$bin" -o "$out" "$@"
rc=$?
if [ "$rc" -eq 124 ]; then
	echo "bench-dp: stopped after ${limit_s} s" >&2
elif [ "$rc" -eq 0 ]; then
	echo "bench-dp: written to $out"
fi
exit "$rc"
