#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The Prometheus files under deploy/prometheus pass promtool: the alert
# rules check, their unit tests (alerts_test.yml) pass, and the example
# configuration loads them. Needs no root; skipped without promtool
# (Debian package prometheus, installed by make deps). The rendered
# metrics are checked by tests/unit/test_metrics and, live, by
# selftests/test_metrics.sh.
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"

PROM_DIR=$MERIDIAN_ROOT/deploy/prometheus

if ! command -v promtool >/dev/null; then
	skip "promtool checks" "promtool missing"
	summary
	exit $?
fi

# Paths inside the files are relative to deploy/prometheus.
in_dir() {
	(cd "$PROM_DIR" && "$@")
}

check "promtool check rules alerts.yml" \
	in_dir promtool check rules alerts.yml
check "promtool test rules alerts_test.yml" \
	in_dir promtool test rules alerts_test.yml
check "promtool check config prometheus.yml (loads alerts.yml)" \
	in_dir promtool check config prometheus.yml
summary
