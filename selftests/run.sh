#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs every selftests/test_*.sh (or the ones named), each of which ends with
# "N passed, N failed[, N skipped]", and prints the sum in the same form as
# its last line. A test that exits non-zero without reporting a failure, or
# reports nothing, counts as one failure.
# Usage: selftests/run.sh [TEST...]
set -u

dir=$(cd "$(dirname "$0")" && pwd)
summary_re='^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed'
summary_re+='(, ([0-9]+) skipped)?$'
total_pass=0 total_fail=0 total_skip=0

run_test() {
	local out rc line p=0 f=0 s=0
	out=$(mktemp)
	echo "=== $1"
	"$1" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(tail -n 1 "$out")
	rm -f "$out"
	if [[ $line =~ $summary_re ]]; then
		p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]}
		s=${BASH_REMATCH[5]:-0}
	else
		echo "!!! $1 did not end with a summary line"
		f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!!! $1 exited with $rc without reporting a failure"
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
}

if [ $# -eq 0 ]; then
	set -- "$dir"/test_*.sh
fi
for t in "$@"; do
	[ -e "$t" ] || continue
	run_test "$t"
done

echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
