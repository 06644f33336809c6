#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# meridiand's policies end to end on the lab (selftests/lab.sh): the daemon
# runs in the edge namespace, probes the six backends and programs the edge;
# labclient sends real TCP flows from the client namespace, and every answer
# names the backend (and so the region) that served it.
#
#   drain      local ramps from 100 to 0 over DRAIN_S seconds: its share of
#              new flows follows the ramp down to 0, while established
#              long-lived connections keep their backends
#   residency  the strict EU class stays in EU regions (local, near); with
#              both down its flows are dropped and counted (residency),
#              while other clients go to far; a non-strict EU class spills
#   canary     local, near and far in one tier, weights 90/10/0 through
#              `meridianctl weight`: near gets 10 % +- 3 % of 2000 flows
#   pin_home   every flow of a client prefix lands in one region
#
# Every batch of flows uses fresh source ports: a 5-tuple seen before would
# hit the edge's flow table and keep its old backend, hiding the policy.
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/lab.sh
. "$(dirname "$0")/lab.sh"

lib_init e2e

MERIDIAND=${MERIDIAND:-$MERIDIAN_ROOT/build/meridiand}
TIMEOUT_MS=1000
DROP_TIMEOUT_MS=300 # flows that are expected to be dropped
PARALLEL=8
DRAIN_S=10
SAMPLE_FLOWS=500 # a drain sample; binomial noise under 25 permille
TOLERANCE=100 # permille a drain sample may stray from the ramp
CANARY_FLOWS=2000
PIN_FLOWS=24
E2E_CONFIG=
DAEMON_PID=
PORT_NEXT=10000
PORT=

# ---- the daemon ----

# daemon_start: meridiand in the edge namespace on E2E_CONFIG. A plain
# command, not a shell function, goes in the background, so that $! is
# meridiand itself (ip netns exec and sh both exec) and SIGHUP and SIGTERM
# reach it.
daemon_start() {
	(ns_exec_job "$LAB_NS_EDGE" "$MERIDIAND" -c "$E2E_CONFIG") \
		>>"$LAB_DIR/meridiand.log" 2>&1 &
	DAEMON_PID=$!
	cleanup_add lab_kill_pid "$DAEMON_PID"
	wait_for 100 all_backends_up || {
		echo "meridiand did not bring the backends up; log:"
		t_log <"$LAB_DIR/meridiand.log"
		return 1
	}
	[ "$(cat "/proc/$DAEMON_PID/comm" 2>/dev/null)" = meridiand ] || {
		echo "PID $DAEMON_PID is not meridiand"
		return 1
	}
}

ctl() {
	lab_ctl "$@" --socket "$LAB_CONTROL_SOCKET"
}

status_json() {
	ctl status -j
}

# region_field REGION FIELD: a number from the region's status entry.
region_field() {
	status_json 2>/dev/null | grep -o "{\"name\":\"$1\",[^}]*}" |
		grep -o "\"$2\":[0-9a-z]*" | cut -d: -f2
}

all_backends_up() {
	local r up n
	for r in "${LAB_REGIONS[@]}"; do
		up=$(region_field "$r" up) && n=$(region_field "$r" backends) ||
			return 1
		[ -n "$up" ] && [ "$up" = "$n" ] || return 1
	done
}

region_up_is() {
	[ "$(region_field "$1" up)" = "$2" ]
}

region_tier_is() {
	[ "$(region_field "$1" tier)" = "$2" ]
}

# write_config "TIERS" KEY=VALUE...: the lab's config (lab_write_config)
# with the regions' tiers replaced, e.g. "0 0 0" for one tier.
write_config() {
	local saved=("${LAB_REGION_TIER[@]}") rc
	read -ra LAB_REGION_TIER <<<"$1"
	shift
	lab_write_config "$E2E_CONFIG" "$@"
	rc=$?
	LAB_REGION_TIER=("${saved[@]}")
	return "$rc"
}

reloads_logged() {
	grep -c 'reloaded:' "$LAB_DIR/meridiand.log"
}

reloads_above() {
	[ "$(reloads_logged)" -gt "$1" ]
}

# reload "TIERS" KEY=VALUE...: rewrite the config and SIGHUP the daemon;
# returns once it has reloaded and reconciled (the reload is logged before
# the reconcile of the same loop pass, and a status answer comes after it).
reload() {
	local before
	before=$(reloads_logged)
	write_config "$@" || return 1
	kill -HUP "$DAEMON_PID" || return 1
	wait_for 50 reloads_above "$before" || {
		echo "no reload logged"
		tail -n 5 "$LAB_DIR/meridiand.log"
		return 1
	}
	status_json >/dev/null
}

# ---- traffic and its tallies ----

# take_ports N: PORT gets the first of N source ports never used before.
take_ports() {
	PORT=$PORT_NEXT
	PORT_NEXT=$((PORT_NEXT + $1))
	[ "$PORT_NEXT" -le 65000 ] || {
		echo "out of fresh source ports" >&2
		return 1
	}
}

# flows SRC VIP COUNT PORT [TIMEOUT_MS]: labclient's tally of new flows.
flows() {
	lab_traffic flows --vip "$2" --port "$LAB_HTTP_PORT" --src "$1" \
		--count "$3" --parallel "$PARALLEL" --sport-base "$4" \
		--timeout-ms "${5:-$TIMEOUT_MS}"
}

vip_of() {
	if [[ $1 == *:* ]]; then
		echo "$LAB_VIP6"
	else
		echo "$LAB_VIP4"
	fi
}

answered() {
	awk '$1 == "backend" { s += $3 } END { print s + 0 }' <<<"$1"
}

# answered_in OUTPUT REGION: answers from the region's backends.
answered_in() {
	awk -v names=" $(lab_region_backends "$2") " '
		$1 == "backend" && index(names, " " $2 " ") { s += $3 }
		END { print s + 0 }' <<<"$1"
}

failed_of() {
	awk '$1 == "failed" { print $2 }' <<<"$1"
}

# regions_of OUTPUT: the regions that answered, one line.
regions_of() {
	local r out=
	for r in "${LAB_REGIONS[@]}"; do
		[ "$(answered_in "$1" "$r")" -gt 0 ] && out="$out${out:+ }$r"
	done
	echo "$out"
}

# served_by SRC COUNT PORT REGIONS...: every flow answered, only by REGIONS.
served_by() {
	local src=$1 count=$2 port=$3 out r sum=0
	shift 3
	out=$(flows "$src" "$(vip_of "$src")" "$count" "$port") || return 1
	for r in "$@"; do
		sum=$((sum + $(answered_in "$out" "$r")))
	done
	echo "$count flows from $src: answered by $(regions_of "$out")," \
		"failed $(failed_of "$out"); expected only: $*"
	[ "$sum" -eq "$count" ] && [ "$(failed_of "$out")" = 0 ]
}

# none_served SRC COUNT PORT: not one of COUNT flows is answered.
none_served() {
	local out
	out=$(flows "$1" "$(vip_of "$1")" "$2" "$3" "$DROP_TIMEOUT_MS") ||
		return 1
	echo "$2 flows from $1: $(answered "$out") answered," \
		"failed $(failed_of "$out")"
	[ "$(answered "$out")" -eq 0 ] && [ "$(failed_of "$out")" = "$2" ]
}

# ---- drain ----

DRAIN_SAMPLES=()

# drain_sample: permille before, permille after, local's share (permille)
# of SAMPLE_FLOWS new flows sent in between, failures. The map contents
# during the batch lie between the two drain levels.
drain_sample() {
	local p0 p1 out n share
	p0=$(region_field local drain_permille)
	take_ports "$SAMPLE_FLOWS" || return 1
	out=$(flows "$LAB_CLIENT4" "$LAB_VIP4" "$SAMPLE_FLOWS" "$PORT")
	p1=$(region_field local drain_permille)
	n=$(answered "$out")
	[ "$n" -gt 0 ] || n=1
	share=$(($(answered_in "$out" local) * 1000 / n))
	DRAIN_SAMPLES+=("$p0 $p1 $share $(failed_of "$out")")
}

# Samples while the ramp runs, and one more once it has reached 0.
drain_run() {
	local i p0
	for ((i = 0; i < 60; i++)); do
		drain_sample || return 1
		read -r p0 _ <<<"${DRAIN_SAMPLES[-1]}"
		[ "$p0" = 0 ] && return 0
		sleep 0.5
	done
	echo "the drain never reached 0"
	return 1
}

drain_table() {
	local s p0 p1 share failed
	echo "drain level (permille) before..after -> local's share of" \
		"$SAMPLE_FLOWS new flows"
	for s in "${DRAIN_SAMPLES[@]}"; do
		read -r p0 p1 share failed <<<"$s"
		printf '  %4s..%-4s -> %4s  (failed %s)\n' "$p0" "$p1" \
			"$share" "$failed"
	done
}

# Each share lies within TOLERANCE of the ramp's levels around it, and
# never rises by more than the tolerance: monotone within noise.
drain_follows_ramp() {
	local s p0 p1 share failed prev=1000 rc=0
	drain_table
	for s in "${DRAIN_SAMPLES[@]}"; do
		read -r p0 p1 share failed <<<"$s"
		if [ "$failed" != 0 ]; then
			echo "sample at $p0: $failed flows failed"
			rc=1
		fi
		if [ "$share" -gt $((p0 + TOLERANCE)) ] ||
			[ "$share" -lt $((p1 - TOLERANCE)) ]; then
			echo "share $share outside $p1..$p0 +- $TOLERANCE"
			rc=1
		fi
		if [ "$share" -gt $((prev + TOLERANCE)) ]; then
			echo "share rose from $prev to $share"
			rc=1
		fi
		prev=$share
	done
	return "$rc"
}

# The ramp went down in steps: several levels strictly between 100 % and
# 0 were seen, and the shares under them were strictly between too.
drain_stepped() {
	local s p0 p1 share failed levels=
	for s in "${DRAIN_SAMPLES[@]}"; do
		read -r p0 p1 share failed <<<"$s"
		if [ "$p0" = "$p1" ] && [ "$p0" -gt 0 ] && [ "$p0" -lt 1000 ] &&
			[ "$share" -gt 0 ] && [ "$share" -lt 1000 ] &&
			[[ " $levels " != *" $p0 "* ]]; then
			levels="$levels $p0"
		fi
	done
	echo "intermediate levels seen:${levels:- none}"
	[ "$(wc -w <<<"$levels")" -ge 3 ]
}

drain_ended_at_zero() {
	local p0 p1 share failed
	read -r p0 p1 share failed <<<"${DRAIN_SAMPLES[-1]}"
	echo "last sample: level $p0..$p1, local share $share, failed $failed"
	[ "$p0" = 0 ] && [ "$share" = 0 ] && [ "$failed" = 0 ]
}

# kept_backends FILE: longlived's report: every connection began on local
# and kept its backend, none broke, and requests went on to the end.
kept_backends() {
	local conns on_local
	conns=$(grep -c '^conn ' "$1")
	on_local=$(grep -c '^conn .* backend local-[12] ' "$1")
	sed -n '/^requests\|^failed\|^moved\|^broken\|^backend/p' "$1"
	[ "$conns" -gt 0 ] && [ "$on_local" = "$conns" ] &&
		grep -q '^moved 0$' "$1" && grep -q '^broken 0$' "$1" &&
		grep -q '^failed 0$' "$1" && grep -q '^requests [1-9]' "$1"
}

test_drain() {
	local ll=$LAB_DIR/longlived.out pid conns=16 interval=200 name

	take_ports 64 || return 1
	# Runs from before the drain until 3 s after it has ended.
	lab_traffic longlived --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "${LAB_CLIENTS4[1]}" --conns "$conns" \
		--interval-ms "$interval" --sport-base "$PORT" \
		--duration-ms $(((DRAIN_S + 4) * 1000)) \
		--timeout-ms "$TIMEOUT_MS" >"$ll" 2>&1 &
	pid=$!
	cleanup_add lab_kill_pid "$pid"
	sleep 1
	check "drain local over ${DRAIN_S}s (meridianctl drain --over)" \
		ctl drain local --over "${DRAIN_S}s" || return 1
	check_setup "new-flow shares sampled across the drain" drain_run
	check "local's share follows the ramp (within $TOLERANCE permille)" \
		drain_follows_ramp
	check "the share fell step by step (3+ intermediate levels)" \
		drain_stepped
	check "the drain ended at 0: no new flow reaches local" \
		drain_ended_at_zero
	take_ports 200 || return 1
	check "... they all go to near (tier 1)" \
		served_by "$LAB_CLIENT4" 200 "$PORT" near
	wait "$pid"
	name="$conns long-lived connections across the drain: 0 moved,"
	check "$name 0 broken" kept_backends "$ll"
	check "undrain local" ctl undrain local
	take_ports 200 || return 1
	check "undrained: new flows are local again" \
		served_by "$LAB_CLIENT4" 200 "$PORT" local
}

# ---- residency ----

residency_drops() {
	lab_edge_counter residency
}

# residency_grew BEFORE MIN: drop.residency grew by MIN or more.
residency_grew() {
	local now
	now=$(residency_drops)
	echo "drop.residency: $1 -> $now (expected +$2 or more)"
	[ "$((now - $1))" -ge "$2" ]
}

same_number() {
	echo "$1: $2 -> $3"
	[ "$2" = "$3" ]
}

test_residency() {
	local eu4=${LAB_CLIENTS4_EU[0]} eu6=${LAB_CLIENTS6_EU[0]}
	local drops far far_after

	take_ports 100 || return 1
	check "strict EU client, all up: served in local" \
		served_by "$eu4" 100 "$PORT" local
	check_setup "local region cut (links down)" lab_region_cut local &&
		check "meridiand sees local down" \
			wait_for 50 region_up_is local 0
	take_ports 100 || return 1
	check "local down: EU flows go to near, an EU region" \
		served_by "$eu4" 100 "$PORT" near
	check_setup "near region cut too" lab_region_cut near &&
		check "meridiand sees near down" wait_for 50 region_up_is near 0
	drops=$(residency_drops)
	far=$(lab_region_packets 2)
	take_ports 40 || return 1
	check "EU and near down: no IPv4 EU flow is served (strict)" \
		none_served "$eu4" 40 "$PORT"
	take_ports 20 || return 1
	check "... nor an IPv6 EU flow" none_served "$eu6" 20 "$PORT"
	check "... and every dropped SYN counted as drop.residency" \
		residency_grew "$drops" 60
	far_after=$(lab_region_packets 2)
	check "... and not one EU packet reached far" \
		same_number "far's packet count" "$far" "$far_after"
	RESIDENCY_DROPS=$(($(residency_drops) - drops))
	take_ports 100 || return 1
	check "non-EU IPv4 clients are still served, by far" \
		served_by "$LAB_CLIENT4" 100 "$PORT" far
	take_ports 100 || return 1
	check "non-EU IPv6 clients are still served, by far" \
		served_by "$LAB_CLIENT6" 100 "$PORT" far
	check "config reloaded (SIGHUP) with a non-strict EU class" \
		reload "0 1 2" eu_strict=false
	drops=$(residency_drops)
	take_ports 50 || return 1
	check "non-strict: EU flows spill to far when EU regions are down" \
		served_by "$eu4" 50 "$PORT" far
	check "... and none is dropped for residency" \
		same_number "drop.residency" "$drops" "$(residency_drops)"
	check "local and near restored" \
		eval 'lab_region_restore local && lab_region_restore near'
	check "meridiand sees every backend up again" \
		wait_for 100 all_backends_up
}

# ---- canary ----

# weights_are L N F: the overrides status reports.
weights_are() {
	[ "$(region_field local weight)" = "$1" ] &&
		[ "$(region_field near weight)" = "$2" ] &&
		[ "$(region_field far weight)" = "$3" ]
}

set_weights() {
	ctl weight local "$1" && ctl weight near "$2" && ctl weight far "$3"
}

# canary_ok OUTPUT PERMILLE TOLERANCE: near's share of the flows.
canary_ok() {
	local n share
	n=$(answered "$1")
	share=$(canary_share "$1")
	echo "near: $(answered_in "$1" near), local:" \
		"$(answered_in "$1" local), far: $(answered_in "$1" far)," \
		"failed: $(failed_of "$1"); near's share $share permille"
	[ "$(failed_of "$1")" = 0 ] && [ "$n" -gt 0 ] &&
		[ "$(answered_in "$1" far)" = 0 ] &&
		[ "$share" -ge $(($2 - $3)) ] && [ "$share" -le $(($2 + $3)) ]
}

canary_share() {
	local n
	n=$(answered "$1")
	echo $(($(answered_in "$1" near) * 1000 / (n > 0 ? n : 1)))
}

test_canary() {
	local out

	check "config reloaded: local, near and far in one tier, pin_home" \
		reload "0 0 0" pin_home=true
	check "status shows near in tier 0" region_tier_is near 0
	check "weights local 90, near 10, far 0 (meridianctl weight)" \
		set_weights 90 10 0
	check "status shows the overrides" weights_are 90 10 0
	take_ports "$CANARY_FLOWS" || return 1
	out=$(flows "$LAB_CLIENT4" "$LAB_VIP4" "$CANARY_FLOWS" "$PORT")
	CANARY_SHARE=$(canary_share "$out")
	check "near (10 % canary) gets 10 % +- 3 % of $CANARY_FLOWS flows" \
		canary_ok "$out" 100 30
	check "weights reset to the config's" set_weights reset reset reset
	check "status shows no override" weights_are null null null
}

# ---- home pinning ----

# pinned SRC PORT: every flow of the client lands in one region.
pinned() {
	local out regions
	out=$(flows "$1" "$(vip_of "$1")" "$PIN_FLOWS" "$2") || return 1
	regions=$(regions_of "$out")
	echo "$1: $PIN_FLOWS flows, failed $(failed_of "$out"), regions:" \
		"$regions"
	[ "$(failed_of "$out")" = 0 ] && [ "$(wc -w <<<"$regions")" = 1 ] &&
		echo "$regions" >>"$LAB_DIR/pin.regions"
}

spread_over() {
	local n
	n=$(sort -u "$LAB_DIR/pin.regions" | wc -l)
	echo "home regions of the clients: $(sort "$LAB_DIR/pin.regions" |
		uniq -c | tr -s ' \n' ' ')"
	[ "$n" -ge "$1" ]
}

# all_regions SRC COUNT PORT: an unpinned client's flows reach every region.
all_regions() {
	local out
	out=$(flows "$1" "$(vip_of "$1")" "$2" "$3") || return 1
	echo "unpinned $1: regions $(regions_of "$out"), failed" \
		"$(failed_of "$out")"
	[ "$(failed_of "$out")" = 0 ] &&
		[ "$(regions_of "$out")" = "${LAB_REGIONS[*]}" ]
}

test_pin_home() {
	local c
	: >"$LAB_DIR/pin.regions"
	take_ports 300 || return 1
	check "unpinned client: flows spread over all three regions" \
		all_regions "$LAB_CLIENT4" 300 "$PORT"
	for c in "${LAB_MANY4[@]}" "${LAB_MANY6[@]}"; do
		take_ports "$PIN_FLOWS" || return 1
		check "pin_home: every flow of $c's prefix in one region" \
			pinned "$c" "$PORT"
	done
	check "the 16 pinned prefixes have homes in 2+ regions" spread_over 2
}

# ---- deploy/lab.yaml, the demo's copy of the lab config ----

test_demo_config() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	check "deploy/lab.yaml is what the lab generator writes" \
		sh -c '"$1" --print-config | diff -u "$2" -' _ \
		"$MERIDIAN_ROOT/selftests/demo.sh" \
		"$MERIDIAN_ROOT/deploy/lab.yaml"
	check "meridiand accepts deploy/lab.yaml" \
		"$MERIDIAND" --check -c "$MERIDIAN_ROOT/deploy/lab.yaml"
}

report() {
	local p0 p1 share failed s steps=
	for s in "${DRAIN_SAMPLES[@]}"; do
		read -r p0 p1 share failed <<<"$s"
		steps="$steps $p0:$share"
	done
	echo "figures: drain (level:local share, permille):$steps"
	echo "figures: canary share ${CANARY_SHARE:-?} permille," \
		"residency drops ${RESIDENCY_DROPS:-?}"
}

if [ ! -x "$MERIDIAND" ]; then
	fail "meridiand not built ($MERIDIAND): run make all"
elif check_setup "lab up (edge, client, 6 backends in 3 regions)" lab_up; then
	E2E_CONFIG=$LAB_DIR/e2e.yaml
	if check_setup "config: the lab's, tiers 0/1/2, strict EU class" \
		write_config "0 1 2" &&
		check_setup "meridiand started; every backend up" \
			daemon_start; then
		test_drain
		test_residency
		test_canary
		test_pin_home
		report
	fi
fi
test_demo_config
summary
