#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# `make demo`: meridian's main job on the built-in lab, for newcomers.
# Builds nothing itself (the make target runs `make deps all` first), then:
# creates the lab (selftests/lab.sh: a client, an edge running the XDP
# program, six backends in three regions), starts meridiand with
# deploy/lab.yaml, sends real traffic while a live per-region counter view
# refreshes every second, cuts the local region and measures the failover
# (cut -> first good new flow on another region), shows the way back and
# that the data plane needs no controller, and removes everything again.
#
# The configuration: deploy/lab.yaml is the lab's meridiand configuration,
# generated from the lab's own description by `selftests/demo.sh
# --write-config` and committed, so that the demo runs a config from
# deploy/ that a newcomer can read next to deploy/meridian.yaml (the
# annotated example for a real edge host). The demo refuses to run a stale
# copy, and the selftests (test_e2e_policy.sh) check it is current.
#
# Usage: selftests/demo.sh                  as root, after make all
#        selftests/demo.sh --print-config   the config deploy/lab.yaml holds
#        selftests/demo.sh --write-config   regenerate deploy/lab.yaml
#
# print_config sets the lab's names in a subshell, on purpose:
# shellcheck disable=SC2030,SC2031
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/lab.sh
. "$(dirname "$0")/lab.sh"

MERIDIAND=${MERIDIAND:-$MERIDIAN_ROOT/build/meridiand}
DEMO_CONFIG=$MERIDIAN_ROOT/deploy/lab.yaml
# The control socket deploy/lab.yaml names; a unix socket path is seen
# from every namespace. The directory doubles as the demo's lock.
DEMO_RUN=/run/meridian-demo
DEMO_SOCKET=$DEMO_RUN/ctl.sock
VIEW_S=10
CUT_AT_S=5
FAILOVER_MAX_MS=8000
TRAFFIC_SOURCES=()

DAEMON_PID=
TRAFFIC_PID=
FAILOVER_PID=
FAILOVER_MS=
FAILOVER_BACKEND=
ERRORS=0
STARTED_MS=
OWN_RUN=

now_ms() {
	date +%s%3N
}

say() {
	printf '%s\n' "$*"
}

# step N/M TEXT...
step() {
	local n=$1
	shift
	printf '\n[%s] %s\n' "$n" "$*"
}

problem() {
	ERRORS=$((ERRORS + 1))
	printf '  ERROR: %s\n' "$*"
}

# ---- the configuration ----

# The lab's fixed plan with the demo's names: what lab_up would write,
# except the control socket, which lives at a fixed path. A subshell: the
# names it sets stay in it.
print_config() (
	T_NAME=demo
	T_SUFFIX=demo
	LAB_DIR=$DEMO_RUN
	lab_make_names
	cat <<EOF
# deploy/lab.yaml: meridiand's configuration for the built-in lab that
# \`make demo\` runs (topology: selftests/lab.sh). Generated, do not edit;
# regenerate with:  selftests/demo.sh --write-config
# deploy/meridian.yaml is the annotated example for a real edge host;
# every key is described in deploy/README-config.md.
EOF
	# Through a file: with stdout redirected to a file, writing to
	# /dev/stdout would reopen and truncate it.
	tmp=$(mktemp) || exit 1
	lab_write_config "$tmp" && cat "$tmp"
	rc=$?
	rm -f "$tmp"
	exit "$rc"
)

config_current() {
	print_config | cmp -s - "$DEMO_CONFIG"
}

# ---- the run directory (control socket) ----

claim_run_dir() {
	if ! mkdir -m 0700 "$DEMO_RUN" 2>/dev/null; then
		if "$MERIDIANCTL" status --socket "$DEMO_SOCKET" \
			>/dev/null 2>&1; then
			say "  another demo is running (its controller" \
				"answers on $DEMO_SOCKET)"
			return 1
		fi
		# Left over from a demo that was killed outright.
		rm -rf "$DEMO_RUN" && mkdir -m 0700 "$DEMO_RUN" || return 1
	fi
	OWN_RUN=$DEMO_RUN
	cleanup_add rm -rf "$DEMO_RUN"
}

# ---- the controller ----

ctl() {
	lab_ctl "$@" --socket "$DEMO_SOCKET"
}

# region_field REGION FIELD: from `meridianctl status -j`.
region_field() {
	ctl status -j 2>/dev/null | grep -o "{\"name\":\"$1\",[^}]*}" |
		grep -o "\"$2\":[0-9a-z]*" | cut -d: -f2
}

region_up_count() {
	local up n
	up=$(region_field "$1" up)
	n=$(region_field "$1" backends)
	echo "${up:-?}/${n:-?}"
}

all_backends_up() {
	local r up n
	for r in "${LAB_REGIONS[@]}"; do
		up=$(region_field "$r" up)
		n=$(region_field "$r" backends)
		[ -n "$up" ] && [ "$up" = "$n" ] || return 1
	done
}

region_up_is() {
	[ "$(region_field "$1" up)" = "$2" ]
}

# A plain command in the background, so that $! is meridiand itself.
daemon_start() {
	(ns_exec_job "$LAB_NS_EDGE" "$MERIDIAND" -c "$DEMO_CONFIG") \
		>"$LAB_DIR/meridiand.log" 2>&1 &
	DAEMON_PID=$!
	cleanup_add lab_kill_pid "$DAEMON_PID"
}

daemon_log_tail() {
	tail -n 8 "$LAB_DIR/meridiand.log" | sed 's/^/    | /'
}

# ---- traffic ----

# traffic_loop MS FILE: batches of new TCP flows from the default, IPv6
# and EU clients until MS have passed; one line per batch in FILE:
# "time_ms answered failed". Bounded in time and in batches.
traffic_loop() {
	local end=$(($(now_ms) + $1)) file=$2 i src out base=20000
	for ((i = 0; i < 600 && $(now_ms) < end; i++)); do
		for src in "${TRAFFIC_SOURCES[@]}"; do
			out=$(lab_traffic flows --vip "$(vip_of "$src")" \
				--port "$LAB_HTTP_PORT" --src "$src" \
				--count 20 --parallel 4 --sport-base "$base" \
				--timeout-ms 250 2>/dev/null)
			echo "$(now_ms) $(tally "$out")" >>"$file"
		done
		base=$((base + 20))
		sleep 0.05
	done
}

# tally OUTPUT: labclient's "answered failed".
tally() {
	awk '$1 == "backend" { a += $3 } $1 == "failed" { f = $2 }
		END { print a + 0, f + 0 }' <<<"$1"
}

vip_of() {
	if [[ $1 == *:* ]]; then
		echo "$LAB_VIP6"
	else
		echo "$LAB_VIP4"
	fi
}

# flows_in_last_second FILE: "answered failed" over the last second.
flows_in_last_second() {
	awk -v since=$(($(now_ms) - 1000)) '
		$1 >= since { a += $2; f += $3 }
		END { print a + 0, f + 0 }' "$1" 2>/dev/null || echo "0 0"
}

# served_by SRC COUNT PORT REGION: COUNT new flows, all answered by REGION.
served_by() {
	local out names n=0
	out=$(lab_traffic flows --vip "$(vip_of "$1")" --port "$LAB_HTTP_PORT" \
		--src "$1" --count "$2" --parallel 4 --sport-base "$3" \
		--timeout-ms 1000) || return 1
	names=" $(lab_region_backends "$4") "
	n=$(awk -v names="$names" '
		$1 == "backend" && index(names, " " $2 " ") { s += $3 }
		END { print s + 0 }' <<<"$out")
	[ "$n" -eq "$2" ]
}

# ---- the live view ----

# stats_regions: "id packets bytes egress_bytes" per region with traffic.
stats_regions() {
	lab_ctl stats -j --pin-dir "$LAB_PIN_DIR" 2>/dev/null |
		grep -o '"regions":\[[^]]*\]' | grep -o '{[^}]*}' |
		sed 's/[{}"]//g; s/[a-z_]*://g; s/,/ /g' |
		awk '{ print $1, $2, $3, $5 }'
}

declare -A PREV_PK PREV_EB
PREV_MS=
# Clear to the end of the line: the view redraws in place on a terminal.
EL=

# view_block T NOTE: the counter table, one block of VIEW_LINES lines, each
# under 80 columns so that none wraps and the redraw stays in place.
VIEW_LINES=7
view_block() {
	local t=$1 note=$2 now dt id pk by eb rate mbit r flows
	declare -A PK BY EB
	while read -r id pk by eb; do
		[ -n "$id" ] || continue
		PK[$id]=$pk BY[$id]=$by EB[$id]=$eb
	done < <(stats_regions)
	now=$(now_ms)
	dt=$((now - ${PREV_MS:-$now}))
	flows=$(flows_in_last_second "$LAB_DIR/traffic.out")
	printf '  t=%2ss  clients: %s new flows answered, %s failed in' \
		"$t" "${flows% *}" "${flows#* }"
	printf ' the last second%s\n' "$EL"
	printf '  %-6s %4s %4s %10s %12s %13s %8s %13s%s\n' REGION TIER UP \
		PACKETS BYTES EGRESS_BYTES PKT/S "EGRESS Mbit/s" "$EL"
	for id in "${!LAB_REGIONS[@]}"; do
		r=${LAB_REGIONS[$id]}
		pk=${PK[$id]:-0} by=${BY[$id]:-0} eb=${EB[$id]:-0}
		rate=0 mbit=0.00
		if [ "$dt" -gt 0 ] && [ -n "${PREV_PK[$id]:-}" ]; then
			rate=$(((pk - PREV_PK[$id]) * 1000 / dt))
			mbit=$(awk -v b=$((eb - PREV_EB[$id])) -v ms="$dt" \
				'BEGIN { printf "%.2f", b * 8 / ms / 1000 }')
		fi
		printf '  %-6s %4s %4s %10s %12s %13s %8s %13s%s\n' "$r" \
			"${LAB_REGION_TIER[$id]}" "$(region_up_count "$r")" \
			"$pk" "$by" "$eb" "$rate" "$mbit" "$EL"
		PREV_PK[$id]=$pk PREV_EB[$id]=$eb
	done
	PREV_MS=$now
	printf '  %s%s\n%s\n' "$note" "$EL" "$EL"
}

# cut_local: the failure, and the clock the failover is measured from.
cut_local() {
	local t0 others=near-1,near-2,far-1,far-2
	t0=$(now_ms)
	lab_region_cut local || problem "cutting the local region failed"
	lab_traffic until-ok --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "${LAB_CLIENTS4[2]}" --backends "$others" \
		--max-ms "$FAILOVER_MAX_MS" --start-ms "$t0" \
		--clock realtime --interval-ms 5 --timeout-ms 50 \
		>"$LAB_DIR/failover.out" 2>&1 &
	FAILOVER_PID=$!
	cleanup_add lab_kill_pid "$FAILOVER_PID"
}

live_view() {
	local t tty=0
	local note="note: new flows to the VIPs, answered by the backends (DSR)"
	local cut_note="note: t=${CUT_AT_S}s local region CUT (links dark); new"
	cut_note="$cut_note flows move once probes notice"
	if [ -t 1 ]; then
		tty=1
		EL=$'\e[K'
	fi
	traffic_loop $(((VIEW_S + 1) * 1000)) "$LAB_DIR/traffic.out" &
	TRAFFIC_PID=$!
	cleanup_add lab_kill_pid "$TRAFFIC_PID"
	view_block 0 "$note" >/dev/null
	for ((t = 1; t <= VIEW_S; t++)); do
		sleep 1
		if [ "$t" -eq "$CUT_AT_S" ]; then
			cut_local
			note=$cut_note
		fi
		# On a terminal, back up over the previous block.
		if [ "$tty" = 1 ] && [ "$t" -gt 1 ]; then
			printf '\e[%dA' "$VIEW_LINES"
		fi
		view_block "$t" "$note"
	done
	wait "$TRAFFIC_PID"
}

traffic_summary() {
	local sums
	sums=$(awk '{ a += $2; f += $3 } END { print a + 0, f + 0 }' \
		"$LAB_DIR/traffic.out")
	say "  clients: ${sums% *} new flows answered, ${sums#* } failed" \
		"(those sent to local"
	say "  between the cut and meridiand marking it down)"
	[ "${sums% *}" -gt 0 ] || problem "no flow was answered"
}

# probe_key KEY: the default probe's KEY in deploy/lab.yaml.
probe_key() {
	awk -v key="$1:" '/^probe:/ { p = 1; next } /^[^ ]/ { p = 0 }
		p && $1 == key { print $2; exit }' "$DEMO_CONFIG"
}

failover_result() {
	wait "$FAILOVER_PID"
	FAILOVER_MS=$(awk '$1 == "elapsed_ms" { print $2 }' \
		"$LAB_DIR/failover.out")
	FAILOVER_BACKEND=$(awk '$1 == "backend" { print $2 }' \
		"$LAB_DIR/failover.out")
	if [ -z "$FAILOVER_MS" ]; then
		problem "no new flow reached another region within" \
			"$FAILOVER_MAX_MS ms"
		sed 's/^/    | /' "$LAB_DIR/failover.out"
		daemon_log_tail
		return 1
	fi
	say "  failover: local cut -> first good new flow on" \
		"$FAILOVER_BACKEND after $FAILOVER_MS ms"
	say "  (probes every $(probe_key interval), a backend is down after" \
		"$(probe_key fall) misses; new flows"
	say "  move the moment meridiand rewrites the region tables." \
		"DNS-based failover"
	say "  takes ~90 s: a 60 s TTL plus ~30 s of health checking)"
}

# ---- the way back, and static stability ----

restore_local() {
	local t0 ms
	t0=$(now_ms)
	lab_region_restore local || {
		problem "restoring the local links failed"
		return 1
	}
	if ! wait_for 100 region_up_is local 2; then
		problem "local's backends did not come back up"
		daemon_log_tail
		return 1
	fi
	ms=$(($(now_ms) - t0))
	if served_by "$LAB_CLIENT4" 50 30000 local; then
		say "  local restored: its backends up again after $ms ms" \
			"($(probe_key rise) good probes);"
		say "  50 new flows: all local"
	else
		problem "new flows did not return to local"
		return 1
	fi
}

# Static stability: stop meridiand; the edge keeps its last tables.
controller_stop() {
	if ! lab_kill_pid "$DAEMON_PID" || kill -0 "$DAEMON_PID" 2>/dev/null
	then
		problem "meridiand did not stop"
		return 1
	fi
	if served_by "$LAB_CLIENT4" 50 31000 local &&
		served_by "$LAB_CLIENT6" 50 31000 local; then
		say "  meridiand stopped: 100 new flows (IPv4 and IPv6) still" \
			"answered, by local"
		say "  (the data plane never needs the controller; it keeps" \
			"the last tables)"
	else
		problem "flows failed with the controller stopped"
		return 1
	fi
}

# ---- clean-up, verified ----

# pids_with TEXT: processes whose command line contains TEXT.
pids_with() {
	local p cmd
	[ -n "$1" ] || return 0
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		[[ $cmd == *"$1"* ]] && echo "${p#/proc/}"
	done
}

clean_up() {
	local left='' ns mnt d p
	lab_down
	ns=$(ip netns list | grep -c -- "-$T_SUFFIX-")
	[ "$ns" = 0 ] || left="$left $ns namespaces;"
	if [ -n "$T_BPFFS" ]; then
		mnt=$(grep -c " $T_BPFFS " /proc/mounts)
		[ "$mnt" = 0 ] || left="$left the bpffs mount $T_BPFFS;"
	fi
	for d in "$T_BPFFS" "$LAB_DIR" "$OWN_RUN"; do
		[ -z "$d" ] || [ ! -e "$d" ] || left="$left $d;"
	done
	for p in $(pids_with "$LAB_DIR") $DAEMON_PID $TRAFFIC_PID \
		$FAILOVER_PID; do
		! kill -0 "$p" 2>/dev/null || left="$left process $p;"
	done
	if [ -n "$left" ]; then
		problem "left behind:$left"
		return 1
	fi
	if [ -z "$LAB_DIR" ]; then
		say "  nothing was created; nothing is left"
		return 0
	fi
	say "  removed: 8 namespaces (with their veths and XDP programs)," \
		"the private"
	say "  bpffs and its pins, meridiand, the backends' servers," \
		"$DEMO_RUN."
	say "  Checked: nothing is left."
}

# ---- the run ----

intro() {
	say "meridian demo: an XDP anycast edge and its controller on a" \
		"built-in lab"
	say "(make has built it all first: BPF objects, meridiand," \
		"meridianctl, lab tools)"
}

describe_lab() {
	local r names
	say "  client ns -- edge ns (XDP meridian_edge on $LAB_EDGE_DEV) --" \
		"6 backend ns"
	say "  (each backend: XDP decap + an HTTP server naming itself)"
	say "  VIPs $LAB_VIP4 and $LAB_VIP6, tcp/$LAB_HTTP_PORT and" \
		"udp/$LAB_UDP_PORT"
	say "  clients $LAB_CLIENT4, $LAB_CLIENT6, EU $LAB_CLIENT4_EU"
	for r in "${!LAB_REGIONS[@]}"; do
		names=$(lab_region_backends "${LAB_REGIONS[$r]}")
		say "  region ${LAB_REGIONS[$r]}" \
			"(tier ${LAB_REGION_TIER[$r]}): ${names// /, }"
	done
}

start_controller() {
	local t0
	t0=$(now_ms)
	daemon_start
	if ! wait_for 100 all_backends_up; then
		problem "meridiand did not bring the backends up"
		daemon_log_tail
		return 1
	fi
	say "  meridiand -c deploy/lab.yaml, in the edge namespace:"
	say "  all 6 backends healthy after $(($(now_ms) - t0)) ms"
	ctl status | sed -n '3,6p' | sed 's/^/  /'
}

run() {
	step 1/6 "configuration: deploy/lab.yaml"
	if ! config_current; then
		problem "deploy/lab.yaml does not match the lab" \
			"(selftests/lab.sh)"
		print_config | diff -u "$DEMO_CONFIG" - | head -n 20 |
			sed 's/^/    | /'
		say "  regenerate it: selftests/demo.sh --write-config"
		return 1
	fi
	say "  the lab's meridiand config: generated from selftests/lab.sh" \
		"by"
	say "  \`selftests/demo.sh --write-config\`, checked to be current" \
		"before use."
	say "  deploy/meridian.yaml is the annotated example for a real edge" \
		"host."
	claim_run_dir || {
		problem "cannot use $DEMO_RUN"
		return 1
	}

	step 2/6 "lab: network namespaces joined by veth pairs" \
		"(selftests/lab.sh)"
	if ! lab_up; then
		problem "the lab did not come up"
		return 1
	fi
	describe_lab

	step 3/6 "controller: meridiand probes the backends and programs" \
		"the edge"
	start_controller || return 1

	step 4/6 "traffic, and the per-region counters live (every second)"
	say "  from meridianctl stats -j: packets and bytes the edge steered" \
		"to each"
	say "  region (client to VIP; replies go straight back from the" \
		"backend), and"
	say "  egress bytes after encapsulation: the load on the tunnels"
	say
	TRAFFIC_SOURCES=("$LAB_CLIENT4" "$LAB_CLIENT6" "$LAB_CLIENT4_EU")
	live_view
	traffic_summary

	step 5/6 "failover, the way back, and a controller outage"
	failover_result
	restore_local
	controller_stop
}

main() {
	STARTED_MS=$(now_ms)
	if [ "$(id -u)" -ne 0 ]; then
		echo "make demo needs root (network namespaces, XDP)" >&2
		exit 1
	fi
	[ -x "$MERIDIAND" ] || {
		echo "no $MERIDIAND: run make all (make demo does)" >&2
		exit 1
	}
	intro
	lib_init demo
	run
	step 6/6 "clean-up"
	clean_up
	say
	if [ -n "$FAILOVER_MS" ]; then
		say "figures: failover $FAILOVER_MS ms" \
			"(to $FAILOVER_BACKEND), demo runtime" \
			"$((($(now_ms) - STARTED_MS) / 1000)) s"
	fi
	if [ "$ERRORS" -gt 0 ]; then
		say "demo FAILED: $ERRORS problem(s), see ERROR lines above"
		exit 1
	fi
	say "demo done"
}

case ${1:-} in
--print-config)
	print_config
	;;
--write-config)
	print_config >"$DEMO_CONFIG.tmp" &&
		mv "$DEMO_CONFIG.tmp" "$DEMO_CONFIG" &&
		echo "wrote $DEMO_CONFIG"
	;;
"")
	main
	;;
*)
	echo "usage: $0 [--print-config | --write-config]" >&2
	exit 2
	;;
esac
