#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# meridiand end to end on the lab (selftests/lab.sh): the controller runs in
# the edge namespace on the lab's config with the default probes (HTTP
# /health every 100 ms, timeout 80 ms, rise 2, fall 3), and every check
# sends real traffic from the client namespace. labsrv answers with its
# name, so each answer tells which backend (and region) served it, and the
# client talks to the VIP, so an answer also proves the reply's source was
# the VIP (direct server return).
#
#   1. service: IPv4 and IPv6 VIPs answered by the local region; the
#      edge's per-region and per-VIP counters match what was sent exactly
#   2. backend failover, server killed and link blackholed, 5 trials each:
#      time to leave the table and time until a flow that hashed to the
#      victim is answered elsewhere; long-lived flows elsewhere unharmed
#   3. region failover: local down, new flows spill to near; restored,
#      they come back only after rise
#   4. static stability: kill -9 of meridiand under traffic, restart that
#      writes nothing and moves nothing, every cross-region link cut, and
#      SIGTERM leaves the data plane serving
#   5. SIGHUP with a bad config: logged with file:line, nothing changes
#   6. meridiand --check on good and bad configs
#
# Bounds asserted (the product's promises, not tuning), measured from the
# moment just before the failure is injected: failover < 1 s; a killed
# backend out of the table within interval x (fall + 1) = 400 ms, a
# blackholed one within that plus the probe timeout (its last failing probe
# only fails when it times out). "Out of the table" is the time of the
# reconcile that removed it: the first status answer showing it down,
# minus that answer's reconcile_age_ms; an upper bound that needs no slack
# for the polling period.
#
# Each phase uses client addresses of its own and fresh source ports, so
# no flow-table entry left by an earlier phase steers a later one.
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/lab.sh
. "$(dirname "$0")/lab.sh"

lib_init failover

TIMEOUT_MS=1000
TRIALS=5
PROBE_INTERVAL_MS=100 # lab_write_config's defaults
PROBE_TIMEOUT_MS=80
FALL=3
DETECT_BOUND_MS=$((PROBE_INTERVAL_MS * (FALL + 1)))
FAILOVER_BOUND_MS=1000
LOCAL=(local-1 local-2)
NEAR=(near-1 near-2)
PORT_NEXT=20000
PORT=
VPORT=
NOW=
LAST_STATUS=
GOOD_CONFIG=
POLL_BEFORE=
POLL_SEEN=
declare -A FIGURES=()

# Client addresses, one set per phase (all class 0: no class matches them).
set_sources() {
	SRC_E2E=${LAB_CLIENTS4[0]}
	SRC_E2E6=${LAB_CLIENTS6[0]}
	SRC_FO=${LAB_CLIENTS4[1]}
	SRC_FO_NEW=${LAB_MANY4[0]}
	SRC_REGION=${LAB_CLIENTS4[2]}
	SRC_REGION6=${LAB_CLIENTS6[2]}
	SRC_RELOAD=${LAB_MANY4[1]}
	SRC_KILL=${LAB_MANY4[2]}
	SRC_RESTART=${LAB_MANY4[3]}
	SRC_GAME_FLOWS=${LAB_MANY4[4]}
	SRC_GAME_LL=${LAB_MANY4[5]}
	SRC_STOP=${LAB_MANY4[6]}
}

# ---- small tools ----

# now: NOW is the wall-clock time in ms (no fork).
now() {
	local us=${EPOCHREALTIME//[!0-9]/}
	NOW=$((us / 1000))
}

# take_ports N: PORT is the first of N source ports no earlier flow used.
take_ports() {
	PORT=$PORT_NEXT
	PORT_NEXT=$((PORT_NEXT + $1 + 16))
}

info() {
	echo "     # $*"
}

# checkn WORDS... -- CMD...: check, with a name of several words.
checkn() {
	local name=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		name+="${name:+ }$1"
		shift
	done
	shift
	check "$name" "$@"
}

# Background jobs still running at exit are ended (by PID, children first).
kill_running_jobs() {
	local pid
	for pid in $(jobs -pr); do
		lab_kill_pid "$pid"
	done
}

other_backends() {
	local name out=
	for name in "${LAB_BE_NAME[@]}"; do
		[ "$name" = "$1" ] || out="$out${out:+,}$name"
	done
	echo "$out"
}

# answered_by OUTPUT COUNT NAMES...: labclient's tally shows COUNT answers,
# no failure, and only backends among NAMES.
answered_by() {
	local out=$1 want=$2 total=0 name count failed
	shift 2
	failed=$(sed -n 's/^failed \([0-9]*\)$/\1/p' <<<"$out")
	while read -r name count; do
		[[ " $* " == *" $name "* ]] || {
			printf '%s\n' "$out"
			echo "answered by $name, expected one of: $*"
			return 1
		}
		total=$((total + count))
	done < <(sed -n 's/^backend \([^ ]*\) \([0-9]*\)$/\1 \2/p' <<<"$out")
	if [ "${failed:-x}" != 0 ] || [ "$total" -ne "$want" ]; then
		printf '%s\n' "$out"
		echo "answers $total of $want, failed ${failed:-?}"
		return 1
	fi
}

# seen_all OUTPUT NAMES...: every one of NAMES answered at least once.
seen_all() {
	local out=$1 name
	shift
	for name in "$@"; do
		grep -q "^backend $name [1-9]" <<<"$out" || {
			printf '%s\n' "$out"
			echo "$name never answered"
			return 1
		}
	done
}

# flows_to SRC VIP COUNT SPORT NAMES...: COUNT new TCP flows (HTTP GET),
# all answered by NAMES.
flows_to() {
	local src=$1 vip=$2 count=$3 sport=$4 out
	shift 4
	out=$(lab_traffic flows --vip "$vip" --port "$LAB_HTTP_PORT" \
		--src "$src" --count "$count" --parallel 4 \
		--sport-base "$sport" --timeout-ms "$TIMEOUT_MS") || return 1
	answered_by "$out" "$count" "$@"
}

# flows_to_all ...: as flows_to, and every one of NAMES answered.
flows_to_all() {
	local src=$1 vip=$2 count=$3 sport=$4 out
	shift 4
	out=$(lab_traffic flows --vip "$vip" --port "$LAB_HTTP_PORT" \
		--src "$src" --count "$count" --parallel 4 \
		--sport-base "$sport" --timeout-ms "$TIMEOUT_MS") || return 1
	answered_by "$out" "$count" "$@" && seen_all "$out" "$@"
}

# counts: "R0 R1 R2 V0 V1", packets the edge counted per region and per
# VIP, from one read of the counters.
counts() {
	local json id v out=() re
	json=$(lab_ctl stats -j) || return 1
	for id in 0 1 2; do
		re="\"regions\":\[[^]]*\{\"id\":$id,\"packets\":([0-9]+)"
		v=0
		[[ $json =~ $re ]] && v=${BASH_REMATCH[1]}
		out+=("$v")
	done
	for id in 0 1; do
		re="\"vips\":\[[^]]*\{\"id\":$id,\"packets\":([0-9]+)"
		v=0
		[[ $json =~ $re ]] && v=${BASH_REMATCH[1]}
		out+=("$v")
	done
	echo "${out[*]}"
}

# udp_counted SRC VIP VIP_ID N SPORT REGION NAMES...: N datagrams, all
# answered by NAMES; the edge counted exactly N packets for REGION and for
# the VIP, none for the other regions. One datagram is one packet.
udp_counted() {
	local src=$1 vip=$2 vip_id=$3 n=$4 sport=$5 region=$6 out rc=0
	local before after r want
	shift 6
	read -r -a before < <(counts) || return 1
	out=$(lab_traffic udp --vip "$vip" --port "$LAB_UDP_PORT" \
		--src "$src" --count "$n" --sport-base "$sport" \
		--timeout-ms "$TIMEOUT_MS") || return 1
	read -r -a after < <(counts) || return 1
	answered_by "$out" "$n" "$@" || rc=1
	for r in 0 1 2; do
		want=0
		[ "$r" -eq "$region" ] && want=$n
		echo "region $r: $((after[r] - before[r])) packets, want $want"
		[ "$((after[r] - before[r]))" -eq "$want" ] || rc=1
	done
	echo "vip $vip_id: $((after[3 + vip_id] - before[3 + vip_id])) packets"
	[ "$((after[3 + vip_id] - before[3 + vip_id]))" -eq "$n" ] || rc=1
	return "$rc"
}

# decap_sum NAMES...: tunnel packets the backends decapsulated.
decap_sum() {
	local name sum=0 v
	for name in "$@"; do
		v=$(lab_decap_total "$name") || return 1
		sum=$((sum + v))
	done
	echo "$sum"
}

# tcp_counted SRC VIP N SPORT: N HTTP flows answered by local backends.
# How many packets a TCP exchange takes is up to the stacks (delayed ACKs,
# a FIN on its own or not), so the exact check is against the receivers:
# region 0 counted exactly what the local backends decapsulated, at least
# the 4 packets a flow surely sends (SYN, ACK, request, RST), and the other
# regions nothing.
tcp_counted() {
	local src=$1 vip=$2 n=$3 sport=$4 before after d0 d1 rc=0
	read -r -a before < <(counts) || return 1
	d0=$(decap_sum "${LAB_BE_NAME[@]}") || return 1
	flows_to_all "$src" "$vip" "$n" "$sport" "${LOCAL[@]}" || rc=1
	read -r -a after < <(counts) || return 1
	d1=$(decap_sum "${LAB_BE_NAME[@]}") || return 1
	echo "region 0: $((after[0] - before[0])) packets for $n flows;" \
		"the backends decapsulated $((d1 - d0))"
	echo "regions 1, 2: $((after[1] - before[1])), $((after[2] - before[2]))"
	[ "$((after[0] - before[0]))" -eq "$((d1 - d0))" ] &&
		[ "$((d1 - d0))" -ge "$((4 * n))" ] &&
		[ "$((after[1] - before[1]))" -eq 0 ] &&
		[ "$((after[2] - before[2]))" -eq 0 ] || rc=1
	return "$rc"
}

# poll_until MAX_MS CMD...: runs CMD (a status query) about every 10 ms
# until it succeeds. POLL_SEEN: wall-clock ms when the successful one had
# returned; POLL_BEFORE: when the last failing one was started (or when
# polling began). Whatever CMD waits for happened between the two.
poll_until() {
	local max=$1 start sent i
	shift
	now
	start=$NOW
	POLL_BEFORE=$NOW
	for ((i = 0; i < 1000; i++)); do
		now
		sent=$NOW
		"$@" && {
			now
			POLL_SEEN=$NOW
			return 0
		}
		POLL_BEFORE=$sent
		now
		[ "$((NOW - start))" -lt "$max" ] || break
		sleep 0.01
	done
	echo "not within $((NOW - start)) ms: $*"
	lab_status
	return 1
}

# health_is NAME STATE, region_up_is REGION N: status queries for
# poll_until; LAST_STATUS keeps the answer.
health_is() {
	LAST_STATUS=$(lab_status 2>/dev/null)
	[ "$(lab_health "$1" "$LAST_STATUS")" = "$2" ]
}

region_up_is() {
	LAST_STATUS=$(lab_status 2>/dev/null)
	[ "$(lab_region_up "$1" "$LAST_STATUS")" = "$2" ]
}

# changed_at: wall-clock ms by which the maps held what the poll just seen
# (LAST_STATUS at POLL_SEEN) shows: its last reconcile was
# reconcile_age_ms before the answer, and the answer was in by POLL_SEEN.
# An upper bound, without the polling period as slack.
changed_at() {
	local age
	age=$(lab_status_number reconcile_age_ms "$LAST_STATUS") || return 1
	echo "$((POLL_SEEN - age))"
}

# poll_health NAME STATE MAX_MS: poll_until NAME's health is STATE.
poll_health() {
	poll_until "$3" health_is "$1" "$2"
}

# log_since LINE: the daemon's log from line LINE + 1 on.
log_since() {
	tail -n "+$(($1 + 1))" "$LAB_DAEMON_LOG"
}

log_lines() {
	wc -l <"$LAB_DAEMON_LOG"
}

log_has_since() {
	log_since "$1" | grep -q -- "$2"
}

# figures NAME: "p50 X ms, max Y ms (n N)" of the values in FIGURES[NAME].
figures() {
	local sorted n
	[ -n "${FIGURES[$1]-}" ] || {
		echo "no values"
		return
	}
	# shellcheck disable=SC2086 # the values are words
	mapfile -t sorted < <(printf '%s\n' ${FIGURES[$1]} | sort -n)
	n=${#sorted[@]}
	echo "p50 ${sorted[$(((n - 1) / 2))]} ms, max ${sorted[$((n - 1))]}" \
		"ms (n $n)"
}

# ---- 6. meridiand --check ----

# check_good FILE: exit 0 and the "ok" line.
check_good() {
	local out rc
	out=$("$MERIDIAND" --check -c "$1" 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" -eq 0 ] && [[ $out == "$1: ok: "* ]]
}

# check_bad FILE LINE FIELD: exit 1 and "FILE:LINE:COL: FIELD: ...".
check_bad() {
	local out rc
	out=$("$MERIDIAND" --check -c "$1" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] && grep -q -E "^$1:$2:[0-9]+: $3: " <<<"$out"
}

# bad_yaml FILE: the lab config with a flow sequence never closed, so the
# YAML parser fails; prints the line of the broken key.
bad_yaml() {
	sed 's/^  fall: 3$/  fall: [3/' "$GOOD_CONFIG" >"$1"
	grep -n '^  fall: \[3$' "$1" | cut -d: -f1
}

# bad_value FILE: valid YAML, an out-of-range probe interval; prints its
# line.
bad_value() {
	sed 's/^  interval: 100ms$/  interval: 5ms/' "$GOOD_CONFIG" >"$1"
	grep -n '^  interval: 5ms$' "$1" | cut -d: -f1
}

# check_yaml_error FILE LINE: exit 1 and "FILE:L:..." with L the broken
# line or the next (the parser notices a missing ']' at the next token).
check_yaml_error() {
	local out rc
	out=$("$MERIDIAND" --check -c "$1" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] &&
		grep -q -E "^$1:($2|$(($2 + 1))):([0-9]+:)? " <<<"$out"
}

test_check() {
	local yaml=$LAB_DIR/bad-yaml.yaml value=$LAB_DIR/bad-value.yaml l
	GOOD_CONFIG=$LAB_DIR/good.yaml
	cp "$LAB_CONFIG" "$GOOD_CONFIG" || return
	check "--check: the lab config is valid (exit 0, ok)" \
		check_good "$LAB_CONFIG"
	l=$(bad_value "$value")
	checkn "--check: probe.interval 5ms rejected: exit 1," \
		"$value:$l:COL: probe.interval: ..." -- \
		check_bad "$value" "$l" probe.interval
	l=$(bad_yaml "$yaml")
	check "--check: broken YAML rejected: exit 1, file:line of the error" \
		check_yaml_error "$yaml" "$l"
}

# ---- 1. the service end to end ----

test_service() {
	take_ports 40
	checkn "40 HTTP flows to the IPv4 VIP: answered (source: the VIP)" \
		"by local-1 and local-2 only" -- \
		flows_to_all "$SRC_E2E" "$LAB_VIP4" 40 "$PORT" "${LOCAL[@]}"
	take_ports 50
	checkn "50 UDP datagrams to the IPv4 VIP: answered by local; region 0" \
		"and VIP 0 counted exactly 50 packets, regions 1 and 2 none" -- \
		udp_counted "$SRC_E2E" "$LAB_VIP4" 0 50 "$PORT" 0 "${LOCAL[@]}"
	take_ports 20
	checkn "20 HTTP flows: region 0 counted exactly what local backends" \
		"decapsulated (>= 4 packets a flow), regions 1 and 2 none" -- \
		tcp_counted "$SRC_E2E" "$LAB_VIP4" 20 "$PORT"
	take_ports 40
	check "40 HTTP flows to the IPv6 VIP: answered by local-1 and local-2" \
		flows_to_all "$SRC_E2E6" "$LAB_VIP6" 40 "$PORT" "${LOCAL[@]}"
	take_ports 50
	checkn "50 UDP datagrams to the IPv6 VIP: answered by local; region 0" \
		"and VIP 1 counted exactly 50" -- \
		udp_counted "$SRC_E2E6" "$LAB_VIP6" 1 50 "$PORT" 0 "${LOCAL[@]}"
}

# ---- 2. backend failover ----

# victim_port VICTIM: VPORT is a source port whose TCP flow from SRC_FO to
# the IPv4 VIP went to VICTIM (fresh ports; the flow table now holds it).
victim_port() {
	local out p name
	take_ports 24
	out=$(lab_traffic flows --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "$SRC_FO" --count 24 --parallel 4 --per-flow \
		--sport-base "$PORT" --timeout-ms "$TIMEOUT_MS")
	while read -r p name; do
		[ "$name" = "$1" ] || continue
		VPORT=$p
		return 0
	done < <(sed -n 's/^flow \([0-9]*\) \([^ ]*\)$/\1 \2/p' <<<"$out")
	printf '%s\n' "$out"
	return 1
}

inject() {
	case $1 in
	kill) lab_backend_stop "$2" ;;
	link) lab_link_down "$2" ;;
	esac
}

restore() {
	case $1 in
	kill) lab_backend_start "$2" ;;
	link) lab_link_up "$2" ;;
	esac
}

# others_kept FILE VICTIM: in longlived's report, every connection that
# started on another backend kept it with no failure (at least one did).
others_kept() {
	local n=0 bad=0 f
	while read -r -a f; do
		# conn I sport P backend NAME requests N failed N moved N
		[ "${f[5]}" = "$2" ] && continue
		n=$((n + 1))
		if [ "${f[5]}" = - ] || [ "${f[9]}" != 0 ] ||
			[ "${f[11]}" != 0 ] || [ "${f[7]}" -lt 5 ]; then
			bad=$((bad + 1))
			echo "bad: ${f[*]}"
		fi
	done < <(grep '^conn ' "$1")
	echo "$n connections on other backends, $bad moved, failed or idle"
	if [ "$n" -eq 0 ] || [ "$bad" -ne 0 ]; then
		cat "$1"
		return 1
	fi
}

# failover_trial KIND VICTIM N: KIND "kill" (the server exits) or "link"
# (the link goes dark). From the moment of the failure, measures when
# status shows VICTIM down and when a flow that hashed to VICTIM is
# answered by another backend; then new flows avoid VICTIM, and long-lived
# connections on the other backends never notice. Restores, waits for rise.
failover_trial() {
	local kind=$1 victim=$2 n=$3 tag bound others uo ll pid_uo pid_ll t0
	local at seen e by
	tag="$kind #$n ($victim)"
	bound=$DETECT_BOUND_MS
	[ "$kind" = link ] && bound=$((DETECT_BOUND_MS + PROBE_TIMEOUT_MS))
	others=$(other_backends "$victim")
	uo=$LAB_DIR/until-$kind-$n.out
	ll=$LAB_DIR/longlived-$kind-$n.out
	victim_port "$victim" >"$LAB_DIR/victim.out" || {
		fail "$tag: no flow of 24 went to $victim"
		t_log <"$LAB_DIR/victim.out"
		return
	}
	take_ports 12
	lab_traffic longlived --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "$SRC_FO" --conns 12 --interval-ms 20 \
		--duration-ms 1500 --sport-base "$PORT" \
		--timeout-ms "$TIMEOUT_MS" >"$ll" 2>&1 &
	pid_ll=$!
	sleep 0.2

	now
	t0=$NOW
	inject "$kind" "$victim" || fail "$tag: failing $victim"
	lab_traffic until-ok --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "$SRC_FO" --sport "$VPORT" --backends "$others" \
		--start-ms "$t0" --clock realtime --max-ms 3000 \
		--interval-ms 5 --timeout-ms 50 >"$uo" 2>&1 &
	pid_uo=$!

	if poll_health "$victim" down 3000 >"$LAB_DIR/poll.out" &&
		at=$(changed_at); then
		seen=$((POLL_SEEN - t0)) at=$((at - t0))
		FIGURES[detect-$kind]+=" $at"
		checkn "$tag: out of the table by ${at} ms after the failure" \
			"(status: up at $((POLL_BEFORE - t0)) ms, down at $seen ms," \
			"reconciled $((seen - at)) ms before); bound $bound ms" -- \
			test "$at" -le "$bound"
	else
		fail "$tag: $victim never shown down"
		t_log <"$LAB_DIR/poll.out"
	fi
	wait "$pid_uo"
	e=$(sed -n 's/^elapsed_ms //p' "$uo")
	by=$(sed -n 's/^backend //p' "$uo")
	if [ -n "$e" ]; then
		FIGURES[failover-$kind]+=" $e"
		checkn "$tag: a flow that hashed to $victim answered by $by" \
			"$e ms after the failure (< $FAILOVER_BOUND_MS ms)" -- \
			test "$e" -lt "$FAILOVER_BOUND_MS"
	else
		fail "$tag: the victim's flow never answered elsewhere"
		t_log <"$uo"
	fi
	take_ports 40
	# shellcheck disable=SC2046 # the names are words
	check "$tag: 40 new flows answered, none by $victim" \
		flows_to "$SRC_FO_NEW" "$LAB_VIP4" 40 "$PORT" \
		$(tr , ' ' <<<"$others")

	restore "$kind" "$victim" || fail "$tag: restoring $victim"
	check "$tag: $victim back up after rise" \
		poll_health "$victim" up 5000
	wait "$pid_ll"
	checkn "$tag: long-lived connections on other backends: 0 moved," \
		"0 failed" -- others_kept "$ll" "$victim"
}

test_failover() {
	local kind i victim
	for kind in kill link; do
		for ((i = 1; i <= TRIALS; i++)); do
			victim=${LOCAL[$((i % 2))]}
			failover_trial "$kind" "$victim" "$i"
		done
		info "failover ($kind): $(figures "failover-$kind")"
		info "out of the table ($kind): $(figures "detect-$kind")"
	done
}

# ---- 3. region failover and spill ----

# hysteresis_samples: right after local's servers are back, until status
# shows local up again: every sample of 10 datagrams sent while status
# showed local 0/2 up, before and after, must go to near (one good probe
# is not enough: rise 2). HELD counts such samples, BAD the wrong ones.
hysteresis_samples() {
	local i before after out
	HELD=0 BAD=0
	for ((i = 0; i < 40; i++)); do
		before=$(lab_region_up local)
		take_ports 10
		out=$(lab_traffic udp --vip "$LAB_VIP4" --port "$LAB_UDP_PORT" \
			--src "$SRC_REGION" --count 10 --sport-base "$PORT" \
			--timeout-ms "$TIMEOUT_MS")
		after=$(lab_region_up local)
		[ "$after" = 2 ] && break
		if [ "$before" != 0 ] || [ "$after" != 0 ]; then
			continue
		fi
		HELD=$((HELD + 1))
		answered_by "$out" 10 "${NEAR[@]}" >/dev/null || {
			BAD=$((BAD + 1))
			printf '%s\n' "$out" | t_log
		}
	done
}

test_region_failover() {
	local t0
	now
	t0=$NOW
	check_setup "local region down: both local servers stopped" \
		eval 'lab_backend_stop local-1 && lab_backend_stop local-2'
	if poll_until 3000 region_up_is local 0 >"$LAB_DIR/poll.out"; then
		pass "status shows local 0/2 up"
		info "local out of the tables by $(($(changed_at) - t0)) ms" \
			"after the first stop"
	else
		fail "status shows local 0/2 up"
		t_log <"$LAB_DIR/poll.out"
	fi
	take_ports 40
	check "local down: 40 new IPv4 flows all answered by near (spill)" \
		flows_to_all "$SRC_REGION" "$LAB_VIP4" 40 "$PORT" "${NEAR[@]}"
	take_ports 40
	check "local down: 40 new IPv6 flows all answered by near" \
		flows_to "$SRC_REGION6" "$LAB_VIP6" 40 "$PORT" "${NEAR[@]}"
	take_ports 30
	checkn "local down: 30 datagrams answered by near; region 1 counted" \
		"exactly 30, regions 0 and 2 none" -- \
		udp_counted "$SRC_REGION" "$LAB_VIP4" 0 30 "$PORT" 1 "${NEAR[@]}"

	now
	t0=$NOW
	check_setup "local servers restarted" \
		eval 'lab_backend_start local-1 && lab_backend_start local-2'
	hysteresis_samples
	if [ "$HELD" -gt 0 ]; then
		checkn "until rise, new flows stayed on near ($HELD samples" \
			"while status showed local 0/2)" -- test "$BAD" -eq 0
	else
		skip "traffic held on near until rise" \
			"no sample fell in the window before rise"
	fi
	if poll_until 5000 region_up_is local 2 >"$LAB_DIR/poll.out"; then
		pass "status shows local 2/2 up again"
		info "local back in the tables by $(($(changed_at) - t0)) ms" \
			"after the first restart (rise 2)"
	else
		fail "status shows local 2/2 up again"
		t_log <"$LAB_DIR/poll.out"
	fi
	take_ports 40
	check "local back: 40 new flows all answered by local" \
		flows_to_all "$SRC_REGION" "$LAB_VIP4" 40 "$PORT" "${LOCAL[@]}"
	take_ports 30
	check "local back: 30 datagrams by local; region 0 counted exactly 30" \
		udp_counted "$SRC_REGION" "$LAB_VIP4" 0 30 "$PORT" 0 "${LOCAL[@]}"
}

# ---- 4. static stability ----

# through_ok OUT T MIN_AFTER NAMES...: a lab_traffic_loop summary: answers
# only from NAMES, none failed, every run exited 0, and traffic ran from
# before wall-clock T to at least MIN_AFTER ms after it.
through_ok() {
	local out=$1 t=$2 min_after=$3 first last total
	shift 3
	cat "$out"
	first=$(sed -n 's/^first_ms //p' "$out")
	last=$(sed -n 's/^last_ms //p' "$out")
	total=$(awk '$1 == "backend" { s += $3 } END { print s + 0 }' "$out")
	echo "answers $total; traffic from $((first - t)) ms to" \
		"$((last - t)) ms around the event"
	grep -q '^exits 0$' "$out" && grep -q '^failed 0$' "$out" &&
		[ "$total" -gt 0 ] && [ "$first" -lt "$t" ] &&
		[ "$((last - t))" -ge "$min_after" ] &&
		answered_by "$(grep '^backend\|^failed' "$out")" "$total" "$@"
}

# all_kept FILE: longlived: every connection answered throughout.
all_kept() {
	cat "$1"
	grep -q '^moved 0$' "$1" && grep -q '^broken 0$' "$1" &&
		grep -q '^failed 0$' "$1" && ! grep -q ' backend - ' "$1" &&
		grep -q '^requests [1-9]' "$1"
}

test_kill9() {
	local out=$LAB_DIR/kill9.out pid tk
	if [ "$(cat "/proc/$LAB_DAEMON_PID/comm" 2>/dev/null)" != meridiand ] ||
		! lab_own_pid "$LAB_DAEMON_PID"; then
		fail "kill -9: LAB_DAEMON_PID $LAB_DAEMON_PID is not our meridiand"
		return
	fi
	lab_traffic_loop 2000 "$out" flows --vip "$LAB_VIP4" \
		--port "$LAB_HTTP_PORT" --src "$SRC_KILL" --count 50 \
		--parallel 4 --timeout-ms "$TIMEOUT_MS" &
	pid=$!
	sleep 0.5
	now
	tk=$NOW
	kill -9 "$LAB_DAEMON_PID"
	# Reaped here, so that bash reports the kill to /dev/null.
	wait "$LAB_DAEMON_PID" 2>/dev/null
	check "meridiand killed with SIGKILL during traffic" \
		pid_gone "$LAB_DAEMON_PID"
	wait "$pid"
	checkn "new flows before, during and 1 s after the kill: none lost," \
		"all local" -- through_ok "$out" "$tk" 1000 "${LOCAL[@]}"
}

# wrote_nothing JSON: a status with generation 0 and a last reconcile of 0
# writes: the only reconcile since start-up changed nothing.
wrote_nothing() {
	echo "$1"
	[ "$(lab_status_number reconcile_writes "$1")" = 0 ] &&
		[ "$(lab_status_number generation "$1")" = 0 ]
}

# quiet_start LINE: the log after LINE says ready, and never reconciled
# (meridiand logs "reconciled: ..." only for a reconcile that wrote).
quiet_start() {
	log_since "$1"
	log_has_since "$1" " ready: " && ! log_has_since "$1" " reconciled: "
}

test_restart() {
	local ll=$LAB_DIR/restart-longlived.out pid lines
	lines=$(log_lines)
	take_ports 16
	lab_traffic longlived --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "$SRC_RESTART" --conns 16 --interval-ms 20 \
		--duration-ms 2500 --sport-base "$PORT" \
		--timeout-ms "$TIMEOUT_MS" >"$ll" 2>&1 &
	pid=$!
	sleep 0.3
	lab_daemon_start -l info
	check "restarted meridiand answers, every backend up (adopted)" \
		lab_daemon_wait_ready 50
	checkn "restart: first reconcile wrote nothing (reconcile_writes 0," \
		"generation 0)" -- wrote_nothing "$(lab_status 2>/dev/null)"
	wait "$pid"
	check "restart: log shows ready and no \"reconciled:\" line" \
		quiet_start "$lines"
	checkn "restart: 16 long-lived connections kept their backends" \
		"(0 moved, 0 broken, 0 failed)" -- all_kept "$ll"
}

regions_cut_down() {
	local json
	json=$(lab_status 2>/dev/null)
	[ "$(lab_region_up near "$json")" = 0 ] &&
		[ "$(lab_region_up far "$json")" = 0 ] &&
		[ "$(lab_region_up local "$json")" = 2 ]
}

test_game_day() {
	local out=$LAB_DIR/gameday.out ll=$LAB_DIR/gameday-longlived.out
	local pid pid_ll tc
	take_ports 8
	lab_traffic longlived --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "$SRC_GAME_LL" --conns 8 --interval-ms 20 \
		--duration-ms 6000 --sport-base "$PORT" \
		--timeout-ms "$TIMEOUT_MS" >"$ll" 2>&1 &
	pid_ll=$!
	lab_traffic_loop 6000 "$out" flows --vip "$LAB_VIP4" \
		--port "$LAB_HTTP_PORT" --src "$SRC_GAME_FLOWS" --count 50 \
		--parallel 4 --timeout-ms "$TIMEOUT_MS" &
	pid=$!
	sleep 0.5
	now
	tc=$NOW
	check_setup "game day: every link of near and far cut" \
		eval 'lab_region_cut near && lab_region_cut far'
	check "game day: status shows near 0/2, far 0/2, local 2/2" \
		wait_for 30 regions_cut_down
	wait "$pid"
	wait "$pid_ll"
	check "game day: 5 s of new flows after the cut, 0 failed, all local" \
		through_ok "$out" "$tc" 5000 "${LOCAL[@]}"
	checkn "game day: 8 long-lived connections through the cut: 0 moved," \
		"0 broken, 0 failed" -- all_kept "$ll"
	check_setup "game day over: near and far links restored" \
		eval 'lab_region_restore near && lab_region_restore far'
	check "every backend up again" lab_daemon_wait_ready 50
}

# SIGTERM: meridiand says so and stops; the edge keeps serving.
test_sigterm() {
	local lines
	lines=$(log_lines)
	check "SIGTERM: meridiand stops" lab_daemon_stop
	check "SIGTERM: logged that the data plane keeps its tables" \
		log_has_since "$lines" "the data plane keeps its tables"
	take_ports 40
	check "meridiand stopped: 40 new flows answered by local" \
		flows_to_all "$SRC_STOP" "$LAB_VIP4" 40 "$PORT" "${LOCAL[@]}"
}

# ---- 5. SIGHUP with a bad config ----

# status_fixed: status -j without the fields that move by themselves.
status_fixed() {
	lab_status | sed -E 's/"(reconcile_age_ms|rtt_us)":[0-9]+/"\1":_/g'
}

# hup_rejected FILE LINE_RE FIELD_RE: SIGHUP with FILE as the config;
# the log says "reload rejected" naming the config path, a line matching
# LINE_RE and FIELD_RE; status stays exactly as it was.
hup_rejected() {
	local lines before after
	cp "$1" "$LAB_CONFIG" || return 1
	before=$(status_fixed)
	lines=$(log_lines)
	kill -HUP "$LAB_DAEMON_PID" || return 1
	wait_for 30 log_has_since "$lines" "reload rejected" || {
		echo "no rejection logged:"
		log_since "$lines"
		return 1
	}
	log_since "$lines" | grep "reload rejected"
	log_since "$lines" | grep -q -E \
		"reload rejected.*: $LAB_CONFIG:($2):([0-9]+:)? $3" || return 1
	after=$(status_fixed)
	[ "$before" = "$after" ] || {
		echo "status changed:"
		echo "$before"
		echo "$after"
		return 1
	}
}

# hup_good: SIGHUP with the good config again: "reloaded", and nothing to
# write (the same config twice changes nothing).
hup_good() {
	local lines gen
	cp "$GOOD_CONFIG" "$LAB_CONFIG" || return 1
	gen=$(lab_status_number generation) || return 1
	lines=$(log_lines)
	kill -HUP "$LAB_DAEMON_PID" || return 1
	wait_for 30 log_has_since "$lines" " reloaded: " || {
		log_since "$lines"
		return 1
	}
	sleep 0.3
	log_since "$lines"
	[ "$(lab_status_number generation)" = "$gen" ] &&
		! log_has_since "$lines" " reconciled: " &&
		lab_all_up "$(lab_status 2>/dev/null)"
}

test_reload() {
	local out=$LAB_DIR/reload.out pid l t
	lab_traffic_loop 2500 "$out" flows --vip "$LAB_VIP4" \
		--port "$LAB_HTTP_PORT" --src "$SRC_RELOAD" --count 50 \
		--parallel 4 --timeout-ms "$TIMEOUT_MS" &
	pid=$!
	sleep 0.3
	now
	t=$NOW
	l=$(bad_yaml "$LAB_DIR/hup-yaml.yaml")
	checkn "SIGHUP, broken YAML: rejected, logged with $LAB_CONFIG:line;" \
		"status unchanged" -- hup_rejected "$LAB_DIR/hup-yaml.yaml" \
		"$l|$((l + 1))" ""
	l=$(bad_value "$LAB_DIR/hup-value.yaml")
	checkn "SIGHUP, probe.interval 5ms: rejected, logged with" \
		"$LAB_CONFIG:$l:COL: probe.interval; status unchanged" -- \
		hup_rejected "$LAB_DIR/hup-value.yaml" "$l" "probe.interval: "
	checkn "SIGHUP, good config again: reloaded, nothing written," \
		"generation unchanged, every backend up" -- hup_good
	wait "$pid"
	check "new flows throughout the reloads: none failed, all local" \
		through_ok "$out" "$t" 1000 "${LOCAL[@]}"
}

# ---- main ----

main() {
	check_setup "lab up (edge, client, 6 backends in 3 regions)" lab_up ||
		return
	cleanup_add kill_running_jobs
	set_sources
	test_check
	check_setup "meridiand started in the edge namespace" \
		lab_daemon_start -l info || return
	check "meridiand: every backend up within 5 s" \
		lab_daemon_wait_ready 50 || return
	test_service
	test_failover
	test_region_failover
	test_reload
	test_kill9
	test_restart
	test_game_day
	test_sigterm
}

main
if [ "$T_FAIL" -gt 0 ] && [ -n "$LAB_DAEMON_LOG" ]; then
	echo "meridiand log (wall-clock ms):"
	t_log <"$LAB_DAEMON_LOG"
fi
summary
