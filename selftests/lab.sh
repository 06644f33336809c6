# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034 # LAB_* variables are for the tests using the lab
#
# The multi-region lab: network namespaces joined by veth pairs, used by the
# end-to-end selftests and `make demo`. Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lab.sh"
#   lib_init mytest
#   lab_up || { fail "lab up"; summary; exit 1; }
#   lab_traffic flows --vip "$LAB_VIP4" --port 80 --src "$LAB_CLIENT4" ...
#   summary                     # every namespace, process and pin goes
#                               # away at exit (lib.sh's trap)
#
# Call lab_up and the helpers that start servers in the test's own shell,
# not in $(...) or a pipeline: they register cleanups and background jobs.
# The servers are background jobs of that shell, so wait for a PID of your
# own (`wait "$pid"`), never a bare `wait`.
#
# Topology (every name unique to the run, every address from 198.18.0.0/15
# and 2001:db8::/32):
#
#   client ns                     edge ns                    backend ns (x6)
#   eth0 ----------------------- cl0 (meridian_edge XDP)
#     198.18.1.10-12/24            198.18.1.1/24, 2001:db8:1::1/64
#     198.18.2.10-12/24 (eu)       198.18.2.1/24, 2001:db8:2::1/64
#     2001:db8:1::10-12/64         lo: tunnel source 198.18.0.1,
#     2001:db8:2::10-12/64 (eu)        2001:db8::1
#     many-clients: 198.18.32-39.10, be-NAME ---------------- eth0 (decap XDP)
#       2001:db8:30-37::10           198.18.N.1/24,           198.18.N.2/24
#                                    2001:db8:N::1/64         2001:db8:N::2/64
#                                                             lo: the VIPs
#
# Regions: local (tier 0), near (tier 1), far (tier 2), two backends each:
# local-1 local-2 near-1 near-2 far-1 far-2, backend i on link N = 11 + i.
# Each backend runs labsrv (HTTP on 80, UDP echo on 5353) answering with its
# name, and bpf/decap.bpf.o on eth0 with its link addresses registered. Its
# default route points at the edge, so direct-server-return replies (source:
# the VIP) reach the client through the edge's kernel forwarding.
#
# Pins: one private bpffs per run (lib.sh's bpffs_create), which ns_exec
# binds onto /sys/fs/bpf. The edge's maps live under $LAB_PIN_DIR
# (/sys/fs/bpf/meridian, meridiand's default), each backend's decap maps
# under /sys/fs/bpf/lab/NAME. Pins persist across commands until exit.
#
# After lab_up, $LAB_DIR/lab.env holds every parameter (lab_load_env FILE
# from another shell), and $LAB_CONFIG a meridiand configuration for the
# lab (lab_write_config writes variants). Ids follow the config's order:
# backend i of LAB_BE_NAME is data-plane backend id i, region i of
# LAB_REGIONS is region id i, VIP 0 is LAB_VIP4 and VIP 1 LAB_VIP6.
#
# meridiand runs in the edge namespace:
#   lab_daemon_start                 # LAB_DAEMON_PID is meridiand itself
#   lab_daemon_wait_ready 50 || ...  # every backend up, within 5 s
# and answers on $LAB_CONTROL_SOCKET (lab_ctl adds --socket to status,
# drain, undrain and weight; lab_status reads `status -j` quickly). Its
# stderr goes to $LAB_DAEMON_LOG, every line prefixed with the wall-clock
# time in ms. (`lab_edge meridiand &` also works, but there $! is a
# subshell, not meridiand: fine for lab_kill_pid, which ends the
# subshell's children too, not for kill -HUP or kill -9.)
#
# Helpers:
#   lab_edge / lab_client / lab_be NAME CMD...   run inside a namespace
#   lab_ctl ARGS        meridianctl in the edge namespace
#   lab_maps ARGS       labmaps on the edge's pins; lab_maps_static W0 W1 W2
#                       programs a whole static setup (no daemon)
#   lab_traffic MODE ARGS                        labclient in the client ns
#   lab_region_packets ID, lab_edge_counter NAME, lab_decap_counter BE NAME,
#   lab_decap_total BE                           counters
#   lab_daemon_start [ARGS], lab_daemon_stop, lab_daemon_wait_ready [TRIES]
#   lab_status, lab_health NAME [JSON], lab_region_up REGION [JSON],
#   lab_all_up [JSON], lab_status_number KEY [JSON]    meridiand's view
#   lab_traffic_loop MS OUT MODE ARGS            continuous traffic, summed
#   lab_backend_stop|start NAME                  kill / restart its server
#   lab_backend_health NAME ok|fail              its /health 200 or 503
#   lab_link_down|up NAME                        silent blackhole, restore
#   lab_region_cut|restore REGION                every link of a region
#   lab_region_backends REGION, lab_be_index NAME
#   lab_write_config FILE [KEY=VALUE...]         meridiand config variants

LAB_TOOLS=${LAB_TOOLS:-$MERIDIAN_ROOT/build/tools}
LABSRV=${LABSRV:-$LAB_TOOLS/labsrv}
LABCLIENT=${LABCLIENT:-$LAB_TOOLS/labclient}
LABMAPS=${LABMAPS:-$LAB_TOOLS/labmaps}
MERIDIAN_DECAP_OBJ=${MERIDIAN_DECAP_OBJ:-$MERIDIAN_ROOT/bpf/decap.bpf.o}
MERIDIAND=${MERIDIAND:-$MERIDIAN_ROOT/build/meridiand}

# Fixed plan; lab_up adds the per-run names.
LAB_REGIONS=(local near far)
LAB_REGION_TIER=(0 1 2)
LAB_REGION_COST=(0.00 0.02 0.05)
LAB_BE_NAME=(local-1 local-2 near-1 near-2 far-1 far-2)
LAB_BE_REGION=(local local near near far far)
LAB_BE_REGION_ID=(0 0 1 1 2 2)
LAB_VIP4=198.18.100.1
LAB_VIP6=2001:db8:100::1
LAB_VIP4_ID=0
LAB_VIP6_ID=1
LAB_HTTP_PORT=80
LAB_UDP_PORT=5353
LAB_EDGE_DEV=cl0
LAB_CLIENT_DEV=eth0
LAB_BE_DEV=eth0
LAB_TUNNEL4=198.18.0.1
LAB_TUNNEL6=2001:db8::1
LAB_EDGE_GW4=198.18.1.1
LAB_EDGE_GW4_EU=198.18.2.1
LAB_EDGE_GW6=2001:db8:1::1
LAB_EDGE_GW6_EU=2001:db8:2::1
LAB_PREFIX4=198.18.1.0/24
LAB_PREFIX4_EU=198.18.2.0/24
LAB_PREFIX6=2001:db8:1::/64
LAB_PREFIX6_EU=2001:db8:2::/64
LAB_CLIENT4=198.18.1.10
LAB_CLIENT4_EU=198.18.2.10
LAB_CLIENT6=2001:db8:1::10
LAB_CLIENT6_EU=2001:db8:2::10
LAB_CLIENTS4=(198.18.1.10 198.18.1.11 198.18.1.12)
LAB_CLIENTS4_EU=(198.18.2.10 198.18.2.11 198.18.2.12)
LAB_CLIENTS6=(2001:db8:1::10 2001:db8:1::11 2001:db8:1::12)
LAB_CLIENTS6_EU=(2001:db8:2::10 2001:db8:2::11 2001:db8:2::12)
# One client in each of eight /24s and /56s, for partition (pin_home) tests.
LAB_MANY_PREFIX4=198.18.32.0/21
LAB_MANY_PREFIX6=2001:db8:30::/45
LAB_MANY4=(198.18.32.10 198.18.33.10 198.18.34.10 198.18.35.10
	198.18.36.10 198.18.37.10 198.18.38.10 198.18.39.10)
LAB_MANY6=(2001:db8:30::10 2001:db8:31::10 2001:db8:32::10 2001:db8:33::10
	2001:db8:34::10 2001:db8:35::10 2001:db8:36::10 2001:db8:37::10)
LAB_PIN_DIR=/sys/fs/bpf/meridian
LAB_METRICS_LISTEN=127.0.0.1:9470

LAB_DIR=
LAB_BPFFS=
LAB_CONFIG=
LAB_CONTROL_SOCKET=
LAB_NS_EDGE=
LAB_NS_CLIENT=
LAB_BE_NS=()
LAB_BE_ADDR4=()
LAB_BE_ADDR6=()
LAB_BE_GW4=()
LAB_BE_GW6=()
LAB_BE_EDGE_DEV=()
LAB_BE_PIN=()
LAB_DAEMON_PID=
LAB_DAEMON_LOG=

# ---- running things in the lab ----

lab_edge() {
	ns_exec "$LAB_NS_EDGE" "$@"
}

lab_client() {
	ip netns exec "$LAB_NS_CLIENT" "$@"
}

# lab_be_index NAME: index of a backend in the LAB_BE_* arrays.
lab_be_index() {
	local i
	for i in "${!LAB_BE_NAME[@]}"; do
		[ "${LAB_BE_NAME[$i]}" = "$1" ] && {
			echo "$i"
			return 0
		}
	done
	echo "lab: no backend '$1'" >&2
	return 1
}

# lab_be NAME CMD...: CMD inside backend NAME's namespace, with the pins.
lab_be() {
	local i
	i=$(lab_be_index "$1") || return 1
	shift
	ns_exec "${LAB_BE_NS[$i]}" "$@"
}

# lab_region_backends REGION: names of its backends, one line.
lab_region_backends() {
	local i out=
	for i in "${!LAB_BE_NAME[@]}"; do
		[ "${LAB_BE_REGION[$i]}" = "$1" ] &&
			out="$out${out:+ }${LAB_BE_NAME[$i]}"
	done
	echo "$out"
}

# lab_ctl ARGS: meridianctl in the edge namespace. Commands for the
# daemon get --socket $LAB_CONTROL_SOCKET unless the caller gave one.
lab_ctl() {
	case ${1-} in
	status | drain | undrain | weight)
		case " $* " in
		*" --socket"* | *" -s "*) ;;
		*) set -- "$@" --socket "$LAB_CONTROL_SOCKET" ;;
		esac
		;;
	esac
	lab_edge "$MERIDIANCTL" "$@"
}

# lab_maps ARGS: labmaps on the edge's pins (static tables, no daemon).
lab_maps() {
	lab_edge "$LABMAPS" --pin-dir "$LAB_PIN_DIR" "$@"
}

# lab_traffic MODE ARGS: labclient in the client namespace.
lab_traffic() {
	lab_client "$LABCLIENT" "$@"
}

# ---- reading counters ----

# lab_region_packets ID: packets the edge steered to region ID (0 if none).
lab_region_packets() {
	local v
	v=$(lab_ctl stats -j | grep -o '"regions":\[[^]]*\]' |
		grep -o "{\"id\":$1,\"packets\":[0-9]*" | cut -d: -f3)
	echo "${v:-0}"
}

# lab_edge_counter NAME: an edge counter from `meridianctl stats -j`.
lab_edge_counter() {
	local v
	v=$(lab_ctl stats -j | grep -o "\"$1\":[0-9]*" | head -n 1 |
		cut -d: -f2)
	echo "${v:-0}"
}

# lab_decap_counter BACKEND COUNTER: e.g. ipip, ip6ip4, not_local.
lab_decap_counter() {
	local i v
	i=$(lab_be_index "$1") || return 1
	v=$(lab_be "$1" "$MERIDIANCTL" decap stats -j \
		--pin-dir "${LAB_BE_PIN[$i]}" | grep -o "\"$2\":[0-9]*" |
		cut -d: -f2)
	echo "${v:-0}"
}

# lab_decap_total BACKEND: packets it decapsulated, all families.
lab_decap_total() {
	local c sum=0 v
	for c in ipip ip6ip6 ip4ip6 ip6ip4; do
		v=$(lab_decap_counter "$1" "$c") || return 1
		sum=$((sum + v))
	done
	echo "$sum"
}

# ---- failures to inject ----

lab_backend_pidfile() {
	echo "$LAB_DIR/$1.pid"
}

# lab_backend_start NAME: (re)start its labsrv; returns once it listens.
lab_backend_start() {
	local i name=$1 pidfile pid
	i=$(lab_be_index "$name") || return 1
	pidfile=$(lab_backend_pidfile "$name")
	rm -f "$pidfile"
	ip netns exec "${LAB_BE_NS[$i]}" "$LABSRV" --name "$name" \
		--http-port "$LAB_HTTP_PORT" --udp-port "$LAB_UDP_PORT" \
		--pidfile "$pidfile" --fail-file "$LAB_DIR/$name.fail" \
		>>"$LAB_DIR/$name.log" 2>&1 &
	pid=$!
	cleanup_add lab_kill_pid "$pid"
	lab_wait_ms 5000 test -s "$pidfile" || {
		echo "lab: labsrv $name did not start; log:" >&2
		cat "$LAB_DIR/$name.log" >&2
		return 1
	}
}

# lab_kill_pid PID: ends a process the lab started, and waits for it.
# Its children go first: `func &` makes PID a subshell whose child does the
# work (e.g. `lab_edge meridiand &`), and ending only the subshell would
# leave that child running on its own. PIDs wrap quickly (pid_max may be
# 32768), so a cleanup registered long ago may name someone else's process
# by now: only a PID that still descends from this test's shell is ended.
lab_kill_pid() {
	local pid live=()
	lab_own_pid "$1" || return 0
	for pid in $(ps -o pid= --ppid "$1" 2>/dev/null) "$1"; do
		kill "$pid" 2>/dev/null && live+=("$pid")
	done
	[ "${#live[@]}" -eq 0 ] || wait_for 30 pid_gone "${live[@]}"
}

# lab_own_pid PID: PID runs, and descends from this test's shell ($$,
# which subshells share): its parent, or the parent's parent and so on (at
# most 4 levels), is $$.
lab_own_pid() {
	local pid=$1 i
	for ((i = 0; i < 4; i++)); do
		pid=$(lab_ppid "$pid") || return 1
		[ "$pid" = "$$" ] && return 0
		[ "$pid" -gt 1 ] || return 1
	done
	return 1
}

# lab_ppid PID: its parent: field 4 of /proc/PID/stat, after "(comm)".
lab_ppid() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $stat
	[ -n "${2-}" ] && echo "$2"
}

# lab_backend_stop NAME: its server exits; connections are refused. Works
# from another shell too (lab_load_env): the pidfile names the server, and
# its command line must still be that server's.
lab_backend_stop() {
	local pidfile pid cmd
	lab_be_index "$1" >/dev/null || return 1
	pidfile=$(lab_backend_pidfile "$1")
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	[[ $cmd == "$LABSRV --name $1 "* ]] || return 0
	kill "$pid" 2>/dev/null || return 0
	lab_wait_ms 3000 pid_gone "$pid"
}

# lab_wait_ms MS CMD...: CMD retried every 10 ms until it succeeds, for at
# most MS milliseconds. For failure injection, where wait_for's 100 ms
# steps would blur what a test measures.
lab_wait_ms() {
	local ms=$1 us end
	shift
	us=${EPOCHREALTIME//[!0-9]/}
	end=$((us / 1000 + ms))
	while :; do
		"$@" && return 0
		us=${EPOCHREALTIME//[!0-9]/}
		[ "$((us / 1000))" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# lab_backend_health NAME ok|fail: its /health answers 200 or 503; the
# service itself keeps answering.
lab_backend_health() {
	lab_be_index "$1" >/dev/null || return 1
	case $2 in
	ok) rm -f "$LAB_DIR/$1.fail" ;;
	fail) : >"$LAB_DIR/$1.fail" ;;
	*) return 1 ;;
	esac
}

# lab_link_down NAME: the backend's link goes dark, silently: the edge
# still sends (its side only loses carrier), nothing arrives or returns.
lab_link_down() {
	local i
	i=$(lab_be_index "$1") || return 1
	ip -n "${LAB_BE_NS[$i]}" link set dev "$LAB_BE_DEV" down
}

# lab_link_up NAME: back up, with the routes that went with the link.
# Returns once both ends are operational: the kernel activates a device's
# queues only when it processes the carrier change, up to a second later.
lab_link_up() {
	local i ns edev
	i=$(lab_be_index "$1") || return 1
	ns=${LAB_BE_NS[$i]}
	edev=${LAB_BE_EDGE_DEV[$i]}
	ip -n "$ns" link set dev "$LAB_BE_DEV" up &&
		ip -n "$ns" route replace default via "${LAB_BE_GW4[$i]}" \
			dev "$LAB_BE_DEV" &&
		ip -n "$ns" -6 route replace default via "${LAB_BE_GW6[$i]}" \
			dev "$LAB_BE_DEV" &&
		wait_for 30 lab_dev_up "$ns" "$LAB_BE_DEV" &&
		wait_for 30 lab_dev_up "$LAB_NS_EDGE" "$edev" &&
		lab_neigh_forget "$edev"
}

# lab_neigh_forget DEV: the edge drops what it knows of neighbours on DEV.
# Resolution attempts made while the link was dark would otherwise retry
# only on their one-second timer; a fresh entry asks at once.
lab_neigh_forget() {
	ip -n "$LAB_NS_EDGE" neigh flush dev "$1" &&
		ip -n "$LAB_NS_EDGE" -6 neigh flush dev "$1"
}

# lab_dev_up NS DEV: operational state UP.
lab_dev_up() {
	ip -n "$1" -o link show dev "$2" | grep -q ' state UP '
}

# lab_region_cut REGION / lab_region_restore REGION: every link of the
# region at once, e.g. cutting near and far is the cross-region game day.
lab_region_cut() {
	local name rc=0
	for name in $(lab_region_backends "$1"); do
		lab_link_down "$name" || rc=1
	done
	return "$rc"
}

lab_region_restore() {
	local name rc=0
	for name in $(lab_region_backends "$1"); do
		lab_link_up "$name" || rc=1
	done
	return "$rc"
}

# ---- meridiand ----

# lab_daemon_start [ARGS...]: meridiand in the edge namespace on
# $LAB_CONFIG, ARGS added (e.g. -v). A plain command, not a function, goes
# in the background, and ip netns exec and sh both exec, so LAB_DAEMON_PID
# is meridiand's own PID (kill -HUP, kill -9 reach it). Returns at once;
# lab_daemon_wait_ready waits. Stopped at exit. Its stderr is appended to
# LAB_DAEMON_LOG, every line stamped by lab_log_stamp.
lab_daemon_start() {
	[ -x "$MERIDIAND" ] || {
		echo "lab: no $MERIDIAND (run make all)" >&2
		return 1
	}
	LAB_DAEMON_LOG=$LAB_DIR/meridiand.log
	(ns_exec_job "$LAB_NS_EDGE" "$MERIDIAND" -c "$LAB_CONFIG" "$@") \
		2> >(lab_log_stamp >>"$LAB_DAEMON_LOG") >/dev/null &
	LAB_DAEMON_PID=$!
	cleanup_add lab_kill_pid "$LAB_DAEMON_PID"
}

# lab_log_stamp: stdin to stdout, each line prefixed with the wall-clock
# time in milliseconds (bash builtins only: no fork per line).
lab_log_stamp() {
	local line us
	while IFS= read -r line || [ -n "$line" ]; do
		us=${EPOCHREALTIME//[!0-9]/}
		printf '%s %s\n' "$((us / 1000))" "$line"
	done
}

# lab_daemon_stop: SIGTERM (the data plane keeps its tables), then waits.
lab_daemon_stop() {
	[ -n "$LAB_DAEMON_PID" ] && lab_own_pid "$LAB_DAEMON_PID" || return 0
	kill "$LAB_DAEMON_PID" 2>/dev/null
	wait_for 30 pid_gone "$LAB_DAEMON_PID"
}

# lab_daemon_wait_ready [TRIES]: until status answers and every backend is
# up, checked every 0.1 s, at most TRIES (default 50) times.
lab_daemon_wait_ready() {
	wait_for "${1:-50}" lab_all_up
}

# lab_status: meridiand's `status -j`. A Unix socket path is reachable
# from any network namespace, so this skips ip netns exec: a poll takes
# about 2 ms instead of 5.
lab_status() {
	"$MERIDIANCTL" status -j --socket "$LAB_CONTROL_SOCKET"
}

# lab_health NAME [JSON]: the backend's health (up, down, unknown) in JSON
# (a `status -j` answer; asked for when not given). Empty if unknown.
lab_health() {
	local json re
	json=${2-$(lab_status 2>/dev/null)}
	re="\"name\":\"$1\",\"region\":\"[^\"]*\",\"address\":\"[^\"]*\","
	re+="\"health\":\"([a-z]+)\""
	[[ $json =~ $re ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# lab_region_up REGION [JSON]: how many of its backends are up.
lab_region_up() {
	local json re
	json=${2-$(lab_status 2>/dev/null)}
	re="\"name\":\"$1\",\"tier\":[0-9]+,\"up\":([0-9]+),"
	[[ $json =~ $re ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# lab_all_up [JSON]: status answers, and every lab backend is up.
lab_all_up() {
	local json name
	json=${1-$(lab_status 2>/dev/null)}
	[ -n "$json" ] || return 1
	for name in "${LAB_BE_NAME[@]}"; do
		[ "$(lab_health "$name" "$json")" = up ] || return 1
	done
}

# lab_status_number KEY [JSON]: a top-level number of `status -j`, e.g.
# generation, reconcile_writes.
lab_status_number() {
	local json re
	json=${2-$(lab_status 2>/dev/null)}
	re="^\{[^[{]*\"$1\":([0-9]+)"
	[[ $json =~ $re ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# ---- continuous traffic ----

# lab_traffic_loop MS OUT MODE ARGS...: labclient MODE (flows or udp) with
# ARGS, again and again until MS milliseconds have passed (at most 5000
# runs), then OUT gets the sums: "backend NAME N", "failed N", "error
# REASON N", "other LINE" (the first 5 lines that were none of these, e.g.
# errors), "runs N", "exits N" (runs that exited non-zero; "exit CODE N"
# per exit code), "first_ms T" and "last_ms T" (wall clock: start of the
# first run, end of the last).
# Without --sport-base each run picks its own random ports. For traffic in
# the background while something happens:
#   lab_traffic_loop 3000 "$out" flows --vip ... --count 50 & pid=$!
lab_traffic_loop() {
	local ms=$1 out=$2 raw=$2.raw runs=0 exits=0 first last us rc
	local -A codes=()
	shift 2
	: >"$raw"
	us=${EPOCHREALTIME//[!0-9]/}
	first=$((us / 1000))
	last=$first
	while [ "$runs" -lt 5000 ] && [ "$((last - first))" -lt "$ms" ]; do
		lab_traffic "$@" >>"$raw" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then
			exits=$((exits + 1))
			codes[$rc]=$((${codes[$rc]-0} + 1))
		fi
		runs=$((runs + 1))
		us=${EPOCHREALTIME//[!0-9]/}
		last=$((us / 1000))
	done
	{
		awk '$1 == "backend" { b[$2] += $3 }
			$1 == "failed" { f += $2 }
			$1 == "error" { e[$2] += $3 }
			$1 !~ /^(backend|failed|error|flow)$/ && other++ < 5 {
				print "other", $0
			}
			END {
				for (n in b) print "backend", n, b[n]
				print "failed", f + 0
				for (n in e) print "error", n, e[n]
			}' "$raw"
		echo "runs $runs"
		echo "exits $exits"
		for rc in "${!codes[@]}"; do
			echo "exit $rc ${codes[$rc]}"
		done
		echo "first_ms $first"
		echo "last_ms $last"
	} >"$out"
}

# ---- static tables, without meridiand ----

# lab_maps_static [WEIGHT_LOCAL WEIGHT_NEAR WEIGHT_FAR]: programs the edge
# maps directly: config, backends (ids 0-5 by their IPv4 link address,
# ids 6-11 the same backends by IPv6), one ring per region and family
# (rings 0-2 IPv4, 3-5 IPv6), region tables for class 0 of both VIPs with
# the given region weights (default 1 0 0: everything local), and the VIP
# keys: v4 tcp/80 + udp/5353 (VIP 0), v6 tcp/80 + udp/5353 (VIP 1).
lab_maps_static() {
	local w=("${1:-1}" "${2:-0}" "${3:-0}") i r n v4=() v6=()
	lab_maps config "$LAB_TUNNEL4" "$LAB_TUNNEL6" >/dev/null || return 1
	n=${#LAB_BE_NAME[@]}
	for i in "${!LAB_BE_NAME[@]}"; do
		lab_maps backend "$i" "${LAB_BE_ADDR4[$i]}" \
			"${LAB_BE_REGION_ID[$i]}" &&
			lab_maps backend "$((i + n))" "${LAB_BE_ADDR6[$i]}" \
				"${LAB_BE_REGION_ID[$i]}" || return 1
	done
	for r in "${!LAB_REGIONS[@]}"; do
		local ids4=() ids6=()
		for i in "${!LAB_BE_NAME[@]}"; do
			[ "${LAB_BE_REGION_ID[$i]}" = "$r" ] || continue
			ids4+=("$i")
			ids6+=("$((i + n))")
		done
		lab_maps ring "$r" "${ids4[@]}" &&
			lab_maps ring "$((r + 3))" "${ids6[@]}" || return 1
		v4+=("$r:$r:${w[$r]}")
		v6+=("$r:$((r + 3)):${w[$r]}")
	done
	lab_maps table "$LAB_VIP4_ID" 0 "${v4[@]}" &&
		lab_maps table "$LAB_VIP6_ID" 0 "${v6[@]}" &&
		lab_maps vip "$LAB_VIP4" tcp "$LAB_HTTP_PORT" "$LAB_VIP4_ID" &&
		lab_maps vip "$LAB_VIP4" udp "$LAB_UDP_PORT" "$LAB_VIP4_ID" &&
		lab_maps vip "$LAB_VIP6" tcp "$LAB_HTTP_PORT" "$LAB_VIP6_ID" &&
		lab_maps vip "$LAB_VIP6" udp "$LAB_UDP_PORT" "$LAB_VIP6_ID"
}

# ---- meridiand configuration ----

# lab_write_config FILE [KEY=VALUE...]: a meridiand config for the lab
# (schema: deploy/README-config.md). Backend i is data-plane id i, region
# i is LAB_REGIONS[i], VIP 0 is the IPv4 VIP, VIP 1 the IPv6 one, class 1
# is "eu" (the EU client prefixes; local and near are the EU regions).
# Keys, with defaults:
#   probe_type=http probe_interval=100ms probe_timeout=80ms rise=2 fall=3
#   far_interval=(probe_interval)   probe interval of the far region
#   weights="local: 100, near: 100, far: 100"
#   eu_strict=true   pin_home=false (true: class "many" pins the
#   many-client prefixes to home regions)   overprovisioning=1.4
#   flood_limit=0
lab_write_config() {
	local file=$1 kv
	local probe_type=http probe_interval=100ms probe_timeout=80ms
	local rise=2 fall=3 far_interval='' eu_strict=true pin_home=false
	local weights="local: 100, near: 100, far: 100"
	local overprovisioning=1.4 flood_limit=0
	shift
	for kv in "$@"; do
		case ${kv%%=*} in
		probe_type | probe_interval | probe_timeout | rise | fall | \
			far_interval | eu_strict | pin_home | weights | \
			overprovisioning | flood_limit)
			printf -v "${kv%%=*}" '%s' "${kv#*=}"
			;;
		*)
			echo "lab_write_config: unknown key '${kv%%=*}'" >&2
			return 1
			;;
		esac
	done
	{
		lab_config_head
		lab_config_regions
		lab_config_backends
		lab_config_classes
		lab_config_vips
	} >"$file"
}

lab_config_head() {
	cat <<EOF
# meridiand configuration for the selftest lab $T_SUFFIX (generated by
# selftests/lab.sh; schema in deploy/README-config.md).
version: 1

edge:
  interface: $LAB_EDGE_DEV
  region: ${LAB_REGIONS[0]}
  tunnel_source: {ipv4: $LAB_TUNNEL4, ipv6: "$LAB_TUNNEL6"}
  mtu: 1500
  ttl: 64
  flood_limit: $flood_limit
  overprovisioning: $overprovisioning
  pin_dir: $LAB_PIN_DIR
  control_socket: $LAB_DIR/ctl.sock
  metrics_listen: $LAB_METRICS_LISTEN

probe:
  type: $probe_type
EOF
	if [ "$probe_type" = http ]; then
		printf '  path: /health\n  status: 200\n  body: ok\n'
	fi
	cat <<EOF
  interval: $probe_interval
  timeout: $probe_timeout
  rise: $rise
  fall: $fall
  jitter: 10%
EOF
}

lab_config_regions() {
	local r
	printf '\nregions:\n'
	for r in "${!LAB_REGIONS[@]}"; do
		printf '  - name: %s\n    tier: %s\n' "${LAB_REGIONS[$r]}" \
			"${LAB_REGION_TIER[$r]}"
		printf '    egress_cost_per_gb: %s\n' "${LAB_REGION_COST[$r]}"
		[ "${LAB_REGIONS[$r]}" = far ] || continue
		[ -n "$far_interval" ] || continue
		printf '    probe:\n      interval: %s\n' "$far_interval"
		printf '      timeout: %s\n' "$far_interval"
	done
}

lab_config_backends() {
	local i
	printf '\nbackends:\n'
	for i in "${!LAB_BE_NAME[@]}"; do
		printf '  - name: %s\n    address: %s\n    port: %s\n' \
			"${LAB_BE_NAME[$i]}" "${LAB_BE_ADDR4[$i]}" \
			"$LAB_HTTP_PORT"
		printf '    region: %s\n' "${LAB_BE_REGION[$i]}"
	done
}

lab_config_classes() {
	cat <<EOF

classes:
  - name: eu
    prefixes: [$LAB_PREFIX4_EU, "$LAB_PREFIX6_EU"]
    allowed_regions: [local, near]
    strict: $eu_strict
EOF
	[ "$pin_home" = true ] || return 0
	cat <<EOF
  - name: many
    prefixes: [$LAB_MANY_PREFIX4, "$LAB_MANY_PREFIX6"]
    pin_home: {ipv4: 24, ipv6: 56}
EOF
}

lab_config_vips() {
	cat <<EOF

vips:
  - name: web4
    address: $LAB_VIP4
    ports: [tcp/$LAB_HTTP_PORT, udp/$LAB_UDP_PORT]
    weights: {$weights}
  - name: web6
    address: "$LAB_VIP6"
    ports: [tcp/$LAB_HTTP_PORT, udp/$LAB_UDP_PORT]
    weights: {$weights}
EOF
}

# ---- lab.env ----

lab_env_var() {
	printf '%s=%q\n' "$1" "${!1}"
}

lab_env_array() {
	local -n arr=$1
	local v
	printf '%s=(' "$1"
	for v in "${arr[@]}"; do
		printf ' %q' "$v"
	done
	printf ' )\n'
}

# Plain assignments (no declare): sourcing it inside a function still
# sets globals.
lab_write_env() {
	local v
	{
		echo "# selftest lab $T_SUFFIX; source it (bash)"
		for v in LAB_DIR LAB_BPFFS LAB_NS_EDGE LAB_NS_CLIENT \
			LAB_EDGE_DEV LAB_CLIENT_DEV LAB_BE_DEV LAB_PIN_DIR \
			LAB_CONFIG LAB_CONTROL_SOCKET LAB_METRICS_LISTEN \
			LAB_EDGE_GW4 LAB_EDGE_GW6 LAB_VIP4 LAB_VIP6 \
			LAB_VIP4_ID LAB_VIP6_ID LAB_HTTP_PORT LAB_UDP_PORT \
			LAB_TUNNEL4 LAB_TUNNEL6 LAB_PREFIX4 LAB_PREFIX4_EU \
			LAB_PREFIX6 LAB_PREFIX6_EU LAB_CLIENT4 LAB_CLIENT4_EU \
			LAB_CLIENT6 LAB_CLIENT6_EU LAB_MANY_PREFIX4 \
			LAB_MANY_PREFIX6; do
			lab_env_var "$v"
		done
		for v in LAB_REGIONS LAB_REGION_TIER LAB_BE_NAME LAB_BE_REGION \
			LAB_BE_REGION_ID LAB_BE_NS LAB_BE_ADDR4 LAB_BE_ADDR6 \
			LAB_BE_GW4 LAB_BE_GW6 LAB_BE_EDGE_DEV LAB_BE_PIN \
			LAB_CLIENTS4 LAB_CLIENTS4_EU LAB_CLIENTS6 \
			LAB_CLIENTS6_EU LAB_MANY4 LAB_MANY6; do
			lab_env_array "$v"
		done
	} >"$LAB_DIR/lab.env"
}

# ---- building the lab ----

lab_prerequisites() {
	local f missing=
	for f in "$MERIDIAN_EDGE_OBJ" "$MERIDIAN_DECAP_OBJ"; do
		[ -f "$f" ] || missing="$missing $f"
	done
	for f in "$MERIDIANCTL" "$LABSRV" "$LABCLIENT" "$LABMAPS"; do
		[ -x "$f" ] || missing="$missing $f"
	done
	for f in ethtool sysctl; do
		command -v "$f" >/dev/null || missing="$missing $f"
	done
	[ -z "$missing" ] || {
		echo "lab: missing:$missing (run make deps all)" >&2
		return 1
	}
}

# Before any link exists, so new devices inherit the defaults.
lab_ns_sysctls() {
	ip netns exec "$1" sysctl -q -w \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.keep_addr_on_down=1 \
		net.ipv6.conf.default.keep_addr_on_down=1 >/dev/null
}

# Frames from local sockets would reach XDP with partial checksums.
lab_tx_csum_off() {
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1
}

lab_make_names() {
	local i
	LAB_NS_EDGE=$(t_name edge)
	LAB_NS_CLIENT=$(t_name client)
	LAB_BE_NS=() LAB_BE_ADDR4=() LAB_BE_ADDR6=() LAB_BE_GW4=()
	LAB_BE_GW6=() LAB_BE_EDGE_DEV=() LAB_BE_PIN=()
	for i in "${!LAB_BE_NAME[@]}"; do
		local net=$((11 + i)) name=${LAB_BE_NAME[$i]}
		LAB_BE_NS+=("$(t_name "$name")")
		LAB_BE_ADDR4+=("198.18.$net.2")
		LAB_BE_GW4+=("198.18.$net.1")
		LAB_BE_ADDR6+=("2001:db8:$net::2")
		LAB_BE_GW6+=("2001:db8:$net::1")
		LAB_BE_EDGE_DEV+=("be-$name")
		LAB_BE_PIN+=("/sys/fs/bpf/lab/$name")
	done
}

lab_setup_edge() {
	local ns=$LAB_NS_EDGE
	ns_create "$ns" && lab_ns_sysctls "$ns" &&
		ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.accept_local=1 >/dev/null &&
		ip -n "$ns" addr add "$LAB_TUNNEL4/32" dev lo &&
		ip -n "$ns" addr add "$LAB_TUNNEL6/128" dev lo
}

# The client namespace and its link; the edge program goes on last.
lab_setup_client() {
	local ns=$LAB_NS_CLIENT a
	ns_create "$ns" && lab_ns_sysctls "$ns" &&
		veth_create "$LAB_NS_EDGE" "$LAB_EDGE_DEV" "$ns" \
			"$LAB_CLIENT_DEV" || return 1
	for a in "$LAB_EDGE_GW4/24" "$LAB_EDGE_GW4_EU/24" \
		"$LAB_EDGE_GW6/64" "$LAB_EDGE_GW6_EU/64"; do
		ip -n "$LAB_NS_EDGE" addr add "$a" dev "$LAB_EDGE_DEV" ||
			return 1
	done
	for a in "${LAB_CLIENTS4[@]}" "${LAB_CLIENTS4_EU[@]}"; do
		ip -n "$ns" addr add "$a/24" dev "$LAB_CLIENT_DEV" || return 1
	done
	for a in "${LAB_CLIENTS6[@]}" "${LAB_CLIENTS6_EU[@]}"; do
		ip -n "$ns" addr add "$a/64" dev "$LAB_CLIENT_DEV" || return 1
	done
	for a in "${LAB_MANY4[@]}"; do
		ip -n "$ns" addr add "$a/32" dev "$LAB_CLIENT_DEV" || return 1
	done
	for a in "${LAB_MANY6[@]}"; do
		ip -n "$ns" addr add "$a/128" dev "$LAB_CLIENT_DEV" || return 1
	done
	ip -n "$ns" route add default via "$LAB_EDGE_GW4" \
		dev "$LAB_CLIENT_DEV" &&
		ip -n "$ns" -6 route add default via "$LAB_EDGE_GW6" \
			dev "$LAB_CLIENT_DEV" &&
		ip -n "$LAB_NS_EDGE" route add "$LAB_MANY_PREFIX4" \
			via "$LAB_CLIENT4" dev "$LAB_EDGE_DEV" &&
		ip -n "$LAB_NS_EDGE" -6 route add "$LAB_MANY_PREFIX6" \
			via "$LAB_CLIENT6" dev "$LAB_EDGE_DEV" &&
		lab_tx_csum_off "$ns" "$LAB_CLIENT_DEV" &&
		lab_tx_csum_off "$LAB_NS_EDGE" "$LAB_EDGE_DEV"
}

# The VIPs sit on lo: answer ARP only for eth0's own address, and announce
# that address, not the VIP a reply came from (the usual DSR settings).
lab_be_arp_sysctls() {
	ip netns exec "$1" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 >/dev/null
}

# lab_setup_backend I: namespace, link, addresses, VIPs, decap, server.
lab_setup_backend() {
	local i=$1 ns=${LAB_BE_NS[$1]} edge=$LAB_NS_EDGE dev=$LAB_BE_DEV
	local edev=${LAB_BE_EDGE_DEV[$1]} gw4=${LAB_BE_GW4[$1]}
	local gw6=${LAB_BE_GW6[$1]} a4=${LAB_BE_ADDR4[$1]}
	local a6=${LAB_BE_ADDR6[$1]} pin=${LAB_BE_PIN[$1]}
	ns_create "$ns" && lab_ns_sysctls "$ns" && lab_be_arp_sysctls "$ns" &&
		veth_create "$edge" "$edev" "$ns" "$dev" &&
		ip -n "$edge" addr add "$gw4/24" dev "$edev" &&
		ip -n "$edge" addr add "$gw6/64" dev "$edev" &&
		ip -n "$ns" addr add "$a4/24" dev "$dev" &&
		ip -n "$ns" addr add "$a6/64" dev "$dev" &&
		ip -n "$ns" addr add "$LAB_VIP4/32" dev lo &&
		ip -n "$ns" addr add "$LAB_VIP6/128" dev lo &&
		ip -n "$ns" route add default via "$gw4" dev "$dev" &&
		ip -n "$ns" -6 route add default via "$gw6" dev "$dev" &&
		lab_tx_csum_off "$ns" "$dev" &&
		lab_tx_csum_off "$edge" "$edev" &&
		ns_exec "$ns" "$MERIDIANCTL" decap attach "$dev" \
			--obj "$MERIDIAN_DECAP_OBJ" --pin-dir "$pin" \
			--addr "$a4" --addr "$a6" >/dev/null &&
		lab_backend_start "${LAB_BE_NAME[$i]}"
}

# XDP_TX from the edge's cl0 (ICMP answers) reaches the client only if the
# client's end runs an XDP program too: the decap program without any
# address passes every frame (and counts them as "pass").
lab_attach_programs() {
	ns_exec "$LAB_NS_CLIENT" "$MERIDIANCTL" decap attach \
		"$LAB_CLIENT_DEV" --obj "$MERIDIAN_DECAP_OBJ" \
		--pin-dir /sys/fs/bpf/lab/client >/dev/null &&
		lab_ctl attach "$LAB_EDGE_DEV" --obj "$MERIDIAN_EDGE_OBJ" \
			--pin-dir "$LAB_PIN_DIR" >/dev/null
}

# lab_up: builds the whole lab; 0 when everything is in place. Needs
# lib_init first (names, the cleanup trap). Progress goes to stderr.
lab_up() {
	local i
	lab_prerequisites || return 1
	if [ -z "$T_BPFFS" ]; then
		bpffs_create || return 1
	fi
	LAB_BPFFS=$T_BPFFS
	LAB_DIR=$(mktemp -d "/tmp/meridian-lab-$T_SUFFIX.XXXXXX") || return 1
	cleanup_add rm -rf "$LAB_DIR"
	LAB_CONFIG=$LAB_DIR/meridian.yaml
	LAB_CONTROL_SOCKET=$LAB_DIR/ctl.sock
	lab_make_names
	lab_setup_edge || return 1
	lab_setup_client || return 1
	for i in "${!LAB_BE_NAME[@]}"; do
		lab_setup_backend "$i" || {
			echo "lab: backend ${LAB_BE_NAME[$i]} failed" >&2
			return 1
		}
	done
	lab_attach_programs || return 1
	lab_write_env && lab_write_config "$LAB_CONFIG"
}

# lab_load_env FILE: from another shell, use a running lab (its lab.env):
# the helpers work, the lab's owner still tears it down.
lab_load_env() {
	# shellcheck source=/dev/null
	. "$1" || return 1
	T_BPFFS=$LAB_BPFFS
}

# lab_down: tears everything down now rather than at exit (it runs every
# cleanup registered so far, the test's own included).
lab_down() {
	cleanup_run
}
