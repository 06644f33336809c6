# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# Shared helpers for the namespace selftests. Source it from a test:
#
#   . "$(dirname "$0")/lib.sh"
#   lib_init load               # unique suffix, cleanup trap, root check
#   ns_create "$(t_name e)"     # namespace removed again on any exit
#   check "name" cmd args...    # counts a pass or a failure
#   summary                     # "N passed, N failed, N skipped"; exit code
#
# Pins: `ip netns exec` unmounts the host's /sys and mounts a fresh sysfs,
# so every command that needs bpffs must mount it inside. A bpffs mounted
# inside one `ip netns exec` vanishes with it, and so would pinned links and
# maps. bpffs_create therefore makes one private bpffs per test (outside
# /sys/fs/bpf, so the host's pins are never touched), and ns_exec bind-mounts
# it onto /sys/fs/bpf inside each `ip netns exec`: every command of the test
# sees the same pins, and unmounting it at cleanup drops them all.

MERIDIAN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MERIDIANCTL=${MERIDIANCTL:-$MERIDIAN_ROOT/build/meridianctl}
MERIDIAN_EDGE_OBJ=${MERIDIAN_EDGE_OBJ:-$MERIDIAN_ROOT/bpf/edge.bpf.o}

T_PASS=0
T_FAIL=0
T_SKIP=0
T_NAME=
T_SUFFIX=
T_BPFFS=
T_CLEANUPS=()

# Short, so that names built from it fit in a 15-byte interface name.
t_suffix() {
	printf '%x%04x' "$$" "$((RANDOM % 65536))"
}

# t_name TAG: a name unique to this run, e.g. mrd-load-1a2b3c4d-e.
t_name() {
	echo "mrd-$T_NAME-$T_SUFFIX-$1"
}

# cleanup_add CMD...: run CMD at exit, in reverse order of registration.
cleanup_add() {
	T_CLEANUPS+=("$*")
}

cleanup_run() {
	local i
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1
	done
	T_CLEANUPS=()
}

lib_init() {
	T_NAME=$1
	T_SUFFIX=$(t_suffix)
	trap cleanup_run EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "$(id -u)" -ne 0 ]; then
		skip "all $T_NAME checks" "needs root"
		summary
		exit $?
	fi
}

# Logs indented, so a failure's output stands out under its name.
t_log() {
	sed 's/^/    | /'
}

pass() {
	T_PASS=$((T_PASS + 1))
	echo "ok   $1"
}

fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL $1"
}

# check NAME CMD...: CMD's exit status decides; its output shows on failure.
# CMD runs in a subshell, so it cannot set variables or register cleanups:
# do setup directly and record it with pass/fail (see check_setup).
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name (exit $rc): $*"
		[ -n "$out" ] && printf '%s\n' "$out" | t_log
	fi
	return "$rc"
}

# check_setup NAME CMD...: like check, in this shell, output not captured.
check_setup() {
	local name=$1 rc
	shift
	"$@"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name (exit $rc): $*"
	fi
	return "$rc"
}

# check_fails NAME WANT_RC CMD...: CMD must exit with WANT_RC exactly.
check_fails() {
	local name=$1 want=$2
	shift 2
	check "$name" expect_rc "$want" "$@"
}

expect_rc() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, expected $want"
		return 1
	fi
}

skip() {
	T_SKIP=$((T_SKIP + 1))
	echo "skip $1: $2"
}

# Last line of every test; its exit status is the test's.
summary() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}

ns_create() {
	ip netns add "$1" || return 1
	cleanup_add ip netns del "$1"
	ip -n "$1" link set lo up
}

# veth_create NS_A DEV_A NS_B DEV_B: a veth pair, both ends up.
veth_create() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up &&
		ip -n "$3" link set "$4" up
}

bpffs_create() {
	T_BPFFS=$(mktemp -d "/run/meridian-selftest-$T_NAME.XXXXXX") ||
		return 1
	cleanup_add rmdir "$T_BPFFS"
	mount -t bpf bpf "$T_BPFFS" || return 1
	cleanup_add umount "$T_BPFFS"
}

# The inner shell of ns_exec: mounts the test's bpffs ($0), runs CMD.
# shellcheck disable=SC2016 # expanded by the inner shell
LIB_NS_SH='mount --bind "$0" /sys/fs/bpf && exec "$@"'

# ns_exec NS CMD...: CMD inside NS, with the test's bpffs on /sys/fs/bpf.
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" sh -c "$LIB_NS_SH" "$T_BPFFS" "$@"
}

# ns_exec_job NS CMD...: ns_exec replacing the calling (sub)shell, so that
# in `(ns_exec_job NS CMD) &` the job's $! is CMD itself.
ns_exec_job() {
	local ns=$1
	shift
	exec ip netns exec "$ns" sh -c "$LIB_NS_SH" "$T_BPFFS" "$@"
}

# pid_gone PID...: none of them runs any more.
pid_gone() {
	local pid
	for pid in "$@"; do
		! kill -0 "$pid" 2>/dev/null || return 1
	done
}

# stop_pid PID: ends a process this script started (a child), and reaps it.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	wait_for 50 pid_gone "$1" && wait "$1" 2>/dev/null
	return 0
}

# wait_for TRIES CMD...: CMD retried every 0.1 s, at most TRIES times.
wait_for() {
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# xdp_prog_name NS DEV: name of the XDP program on DEV, empty if none.
xdp_prog_name() {
	ip -n "$1" -d link show dev "$2" |
		sed -n 's/.*prog\/xdp id [0-9]* name \([^ ]*\).*/\1/p' |
		head -n 1
}

# xdp_mode NS DEV: xdp (native), xdpgeneric, xdpoffload, or none.
xdp_mode() {
	local mode
	mode=$(ip -n "$1" link show dev "$2" | head -n 1 |
		grep -o -w -E 'xdp|xdpgeneric|xdpoffload|xdpmulti')
	echo "${mode:-none}"
}
