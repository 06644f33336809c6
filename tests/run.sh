#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run test programs, each of which ends with "N passed, N failed[, N skipped]",
# and print the sum in the same form. A runner that crashes or exits non-zero
# without reporting a failure counts as one failure.
# Usage: run.sh BIN... [-- CMD...]   (commands after -- are run as they are)
set -u

total_pass=0 total_fail=0 total_skip=0
summary_re='^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$'

run_one() {
	local out rc line p f s
	out=$(mktemp)
	echo "=== $*"
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E "$summary_re" "$out" | tail -n 1)
	rm -f "$out"
	if [[ $line =~ $summary_re ]]; then
		p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} s=${BASH_REMATCH[5]:-0}
	else
		p=0 f=0 s=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!!! $1 exited with $rc without reporting a failure"
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
}

for arg in "$@"; do
	if [ "$arg" = "--" ]; then
		:
		continue
	fi
	run_one "$arg"
done

echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
