#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# meridiand at scale: 1000 VIPs x 8 regions x 64 backends (the config of
# bench_ctl -C), TCP probes every 100 ms, against the real edge maps pinned
# in a private bpffs, in a private network namespace. Every backend address
# (198.19.128.0/17) is local on lo there, where one listener (bench_ctl -L)
# accepts every probe, so all 512 backends come up and the tables fill.
#
# Reports the daemon's VmRSS after its first reconcile ("ready"), after the
# reconcile that brought every backend up, and SETTLE_S seconds later, with
# VmHWM; its CPU over that time; and its own reconcile times from its log.
# Report: build/bench/bench-daemon.txt. Target: RSS <= 32 MiB.
#
# Usage: bench-daemon.sh [-s SUMMARY_FILE] [-t SETTLE_S]
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

root=$MERIDIAN_ROOT
daemon=$root/build/meridiand
ctl_bench=$root/build/bench/bench_ctl
report=$root/build/bench/bench-daemon.txt
summary=
settle_s=30
backends=512
rss_target_kib=$((32 * 1024))

while getopts "s:t:" opt; do
	case $opt in
	s) summary=$OPTARG ;;
	t) settle_s=$OPTARG ;;
	*) exit 2 ;;
	esac
done

cd "$root" || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-daemon: skipped: needs root"
	exit 0
fi
for f in "$daemon" "$ctl_bench" "$MERIDIANCTL" bpf/edge.bpf.o; do
	[ -e "$f" ] || {
		echo "bench-daemon: $f is missing; run make first" >&2
		exit 1
	}
done

T_NAME=dm
T_SUFFIX=$(t_suffix)
trap cleanup_run EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NS=$(t_name n)
PIN_DIR=/sys/fs/bpf/meridian
WORK=$(mktemp -d "/tmp/meridian-bench-daemon.XXXXXX") || exit 1
cleanup_add rm -rf "$WORK"
LOG=$WORK/meridiand.log
CFG=$WORK/scale.yaml


build_world() {
	bpffs_create && ns_create "$NS" || return 1
	ip -n "$NS" addr add 198.19.128.1/17 dev lo &&
		ip -n "$NS" link add vd0 type veth peer name vd1 &&
		ip -n "$NS" link set vd0 up && ip -n "$NS" link set vd1 up &&
		ip -n "$NS" addr add 198.18.0.1/24 dev vd0 || return 1
	ns_exec "$NS" "$MERIDIANCTL" attach vd0 \
		--obj "$root/bpf/edge.bpf.o" --pin-dir "$PIN_DIR" >/dev/null &&
		"$ctl_bench" -C "$CFG" -I vd0 -p "$PIN_DIR" -S "$WORK/ctl.sock"
}

status_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

# CPU ticks (user + system) of a process.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

log_has() {
	grep -q "$1" "$LOG"
}

all_up() {
	[ "$(grep -c ' is up' "$LOG")" -ge "$backends" ]
}

# Reconciles logged after the last backend came up.
reconciled_after_up() {
	awk '/ is up/ { n++; if (n == '"$backends"') seen = 1; next }
		seen && /reconciled:/ { found = 1 } END { exit !found }' "$LOG"
}

# The largest "reconciled: ... in N us" of the log, in ms.
max_reconcile_ms() {
	sed -n 's/.*reconciled: .* in \([0-9]*\) us.*/\1/p' "$LOG" |
		sort -n | tail -n 1 | awk '{ printf "%.1f", $1 / 1000 }'
}

ms_now() {
	date +%s%3N
}

kib_mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

mkdir -p "$(dirname "$report")"
build_world || {
	echo "bench-daemon: setting up the namespace failed" >&2
	exit 1
}
(ns_exec_job "$NS" "$ctl_bench" -L 8080 -T $((settle_s + 120))) >/dev/null 2>&1 &
cleanup_add stop_pid $!
t0=$(ms_now)
(ns_exec_job "$NS" "$daemon" -c "$CFG" -l info) >"$LOG" 2>&1 &
pid=$!
cleanup_add stop_pid "$pid"

fail() {
	echo "bench-daemon: $1; meridiand log:" >&2
	tail -n 20 "$LOG" >&2
	exit 1
}

wait_for 300 log_has 'ready:' || fail "meridiand not ready after 30 s"
t_ready=$(($(ms_now) - t0))
rss_ready=$(status_kib "$pid" VmRSS)
wait_for 300 all_up || fail "not every backend came up within 30 s"
wait_for 100 reconciled_after_up || fail "no reconcile after the last backend"
t_full=$(($(ms_now) - t0))
rss_full=$(status_kib "$pid" VmRSS)
ticks0=$(cpu_ticks "$pid")
sleep "$settle_s"
kill -0 "$pid" 2>/dev/null || fail "meridiand exited"
ticks1=$(cpu_ticks "$pid")
rss_late=$(status_kib "$pid" VmRSS)
hwm=$(status_kib "$pid" VmHWM)
hz=$(getconf CLK_TCK)
cpu_pct=$(awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v s="$settle_s" \
	'BEGIN { printf "%.1f", 100 * t / hz / s }')
full_ms=$(max_reconcile_ms)

# One backend (r0-b4, 198.19.128.5) stops answering: a prohibit route in
# the local table beats the /17 on lo, so its probes fail. meridiand
# reports when the flip reached the data plane and when the whole apply
# (policy, rings, tables) was done, both from the decision.
FAIL_ADDR=198.19.128.5
status_field() {
	ns_exec "$NS" "$MERIDIANCTL" status -j --socket "$WORK/ctl.sock" |
		sed -n 's/.*"'"$1"'":\([0-9.]*\).*/\1/p'
}
down_logged() {
	log_has "backend r0-b4 is down"
}
up_again_logged() {
	[ "$(grep -c 'backend r0-b4 is up' "$LOG")" -ge 2 ]
}
flip_down_us=- tables_down_ms=- flip_up_us=- tables_up_ms=-
if ip -n "$NS" route add prohibit "$FAIL_ADDR/32" table local; then
	if wait_for 100 down_logged; then
		sleep 0.5
		flip_down_us=$(status_field decision_to_dataplane_us)
		tables_down_ms=$(awk -v u="$(status_field decision_to_map_us)" \
			'BEGIN { printf "%.1f", u / 1000 }')
	fi
	ip -n "$NS" route del prohibit "$FAIL_ADDR/32" table local
	if wait_for 100 up_again_logged; then
		sleep 0.5
		flip_up_us=$(status_field decision_to_dataplane_us)
		tables_up_ms=$(awk -v u="$(status_field decision_to_map_us)" \
			'BEGIN { printf "%.1f", u / 1000 }')
	fi
fi
flip_verdict=MISS
awk -v d="$flip_down_us" -v u="$flip_up_us" 'BEGIN {
	exit !(d != "-" && u != "-" && d + 0 <= 1000 && u + 0 <= 1000) }' &&
	flip_verdict=PASS
[ "$flip_down_us" = - ] && flip_verdict=ERROR
errors=$(grep -c ': err:' "$LOG")
rss_max=$rss_late
[ "$rss_full" -gt "$rss_max" ] && rss_max=$rss_full
verdict=PASS
[ "$rss_max" -le "$rss_target_kib" ] || verdict=MISS
[ "$errors" -eq 0 ] || verdict=INVALID

print_report() {
	cat <<EOF
meridian bench-daemon: meridiand at 1000 VIPs x 8 regions x 64 backends
date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')
kernel:   $(uname -srm)
method:   meridiand -c (bench_ctl -C: 1000 VIPs x 2 ports, 8 regions in 4
          tiers, 512 backends, one strict class) against bpf/edge.bpf.o
          attached to a veth with its maps pinned, in a private namespace;
          TCP probes every 100 ms to one listener; VmRSS/VmHWM from
          /proc/PID/status, CPU from /proc/PID/stat over the last ${settle_s} s

EOF
	printf '%-50s %10s\n' "" "VmRSS MiB" \
		"after the first reconcile (ready, ${t_ready} ms)" \
		"$(kib_mib "$rss_ready")" \
		"after every backend came up (${t_full} ms)" \
		"$(kib_mib "$rss_full")" \
		"${settle_s} s later" "$(kib_mib "$rss_late")" \
		"peak (VmHWM)" "$(kib_mib "$hwm")"
	cat <<EOF

headline: RSS $(kib_mib "$rss_max") MiB (target <= 32 MiB): $verdict
cpu:      ${cpu_pct} % of one core while probing 512 backends every 100 ms
reconcile: largest logged by meridiand: ${full_ms} ms (policy + apply)
health:   backend r0-b4 failed then recovered (prohibit route to its
          address); from the health decision, as meridiand's status reports:
          down: flag in the data plane ${flip_down_us} us, rings and tables ${tables_down_ms} ms
          up:   flag in the data plane ${flip_up_us} us, rings and tables ${tables_up_ms} ms
          target: a health change reaches the data plane within 1 ms: $flip_verdict
checks:   ${errors} error lines in the daemon's log
EOF
}

print_summary() {
	local rss
	rss="$(kib_mib "$rss_late") / $(kib_mib "$hwm") MiB"
	printf '%s|%s|%s|%s\n' \
		"meridiand RSS at 1000 VIPs (after ${settle_s} s / peak)" \
		"$rss" "<= 32 MiB" "$verdict" \
		"meridiand CPU, 512 backends probed every 100 ms" \
		"${cpu_pct} % of a core" - - \
		"meridiand's own largest reconcile at that scale" \
		"${full_ms} ms" - - \
		"health decided -> data plane, down / up (meridiand)" \
		"${flip_down_us} / ${flip_up_us} us" "<= 1 ms" "$flip_verdict" \
		"health decided -> rings and tables, down / up" \
		"${tables_down_ms} / ${tables_up_ms} ms" - -
}

print_report | tee "$report"
[ -z "$summary" ] || print_summary >>"$summary"
[ "$verdict" != INVALID ]
