#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Failover latency with meridiand's own probes, at 10 ms and 100 ms probe
# intervals (fall 3 each): how long from a backend's death until meridiand
# has updated the maps, and from there until the flow reaches another
# backend. build/bench/bench_failover does the measuring; this script
# builds its world and runs meridiand:
#
#   edge namespace                          backend namespace
#   edge0 (bpf/edge.bpf.o, native XDP) ==== gen0 (bench_sink_fo, XDP)
#     198.18.0.1/24                           198.18.0.2/24, backends
#   meridiand: 4 backends, TCP probes         198.18.0.10-13 (listeners)
#                                           bench_gen sends the client flow
#
# Everything lives in namespaces and a bpffs of this run, removed on any
# exit. Reports go to build/bench/bench-failover-<ms>ms.txt.
#
# Usage: bench-failover.sh [-s SUMMARY_FILE] [-n TRIALS] [INTERVAL_MS...]
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

root=$MERIDIAN_ROOT
bin=$root/build/bench/bench_failover
daemon=$root/build/meridiand
out_dir=$root/build/bench
summary=
trials=40
backends=(198.18.0.10 198.18.0.11 198.18.0.12 198.18.0.13)
port=8080
edge_mac=02:00:00:00:0f:01
gen_mac=02:00:00:00:0f:02
limit_s=300 # one interval's run stops itself well before this

while getopts "s:n:" opt; do
	case $opt in
	s) summary=$OPTARG ;;
	n) trials=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
intervals=("$@")
[ ${#intervals[@]} -gt 0 ] || intervals=(10 100)

cd "$root" || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-failover: skipped: needs root"
	exit 0
fi
for f in "$bin" "$daemon" "$MERIDIANCTL" bpf/edge.bpf.o \
	bpf/bench_gen.bpf.o bpf/bench_sink.bpf.o; do
	[ -e "$f" ] || {
		echo "bench-failover: $f is missing; run make first" >&2
		exit 1
	}
done

T_NAME=fo
T_SUFFIX=$(t_suffix)
trap cleanup_run EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NS_E=$(t_name e)
NS_B=$(t_name b)
PIN_DIR=/sys/fs/bpf/meridian
WORK=$(mktemp -d "/tmp/meridian-bench-fo.XXXXXX") || exit 1
cleanup_add rm -rf "$WORK"

quiet_ns() {
	ip netns exec "$1" sysctl -q -w net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

build_world() {
	local a
	bpffs_create || return 1
	ns_create "$NS_E" && ns_create "$NS_B" || return 1
	quiet_ns "$NS_E" && quiet_ns "$NS_B" || return 1
	ip netns exec "$NS_E" sysctl -q -w net.ipv4.ip_forward=1 >/dev/null ||
		return 1
	veth_create "$NS_E" edge0 "$NS_B" gen0 || return 1
	ip -n "$NS_E" link set dev edge0 address "$edge_mac" &&
		ip -n "$NS_B" link set dev gen0 address "$gen_mac" &&
		ip -n "$NS_E" addr add 198.18.0.1/24 dev edge0 &&
		ip -n "$NS_B" addr add 198.18.0.2/24 dev gen0 || return 1
	for a in "${backends[@]}"; do
		ip -n "$NS_B" addr add "$a/32" dev gen0 &&
			ip -n "$NS_E" neigh replace "$a" lladdr "$gen_mac" \
				dev edge0 nud permanent || return 1
	done
	ip -n "$NS_E" neigh replace 198.18.0.2 lladdr "$gen_mac" dev edge0 \
		nud permanent &&
		ip -n "$NS_B" neigh replace 198.18.0.1 lladdr "$edge_mac" \
			dev gen0 nud permanent || return 1
	# Probes come from local sockets: no partial checksums into XDP.
	ip netns exec "$NS_E" ethtool -K edge0 tx off >/dev/null 2>&1 &&
		ip netns exec "$NS_B" ethtool -K gen0 tx off >/dev/null 2>&1 ||
		return 1
	ns_exec "$NS_E" "$MERIDIANCTL" attach edge0 \
		--obj "$root/bpf/edge.bpf.o" --pin-dir "$PIN_DIR" >/dev/null
}

# write_config FILE INTERVAL_MS
write_config() {
	local i
	{
		cat <<EOF
# bench-failover $T_SUFFIX (generated)
version: 1
edge:
  interface: edge0
  region: local
  tunnel_source: {ipv4: 198.18.0.1}
  pin_dir: $PIN_DIR
  control_socket: $WORK/ctl.sock
  metrics_listen: 127.0.0.1:9470
probe:
  type: tcp
  interval: ${2}ms
  rise: 2
  fall: 3
regions:
  - name: local
    tier: 0
backends:
EOF
		for i in "${!backends[@]}"; do
			printf '  - name: b%s\n    address: %s\n' "$i" \
				"${backends[$i]}"
			printf '    port: %s\n    region: local\n' "$port"
		done
		cat <<EOF
vips:
  - name: web
    address: 198.18.50.1
    ports: [tcp/80]
EOF
	} >"$1"
}

# run_interval MS: meridiand with that probe interval, then the trials.
run_interval() {
	local ms=$1 cfg=$WORK/meridian-$1.yaml pid rc args=() a
	local report=$out_dir/bench-failover-${1}ms.txt
	write_config "$cfg" "$ms" || return 1
	(ns_exec_job "$NS_E" "$daemon" -c "$cfg" -l warn) \
		>>"$WORK/meridiand.log" 2>&1 &
	pid=$!
	cleanup_add stop_pid "$pid"
	for a in "${backends[@]}"; do
		args+=(-b "$a")
	done
	[ -n "$summary" ] && args+=(-s "$summary")
	timeout "$limit_s" ip netns exec "$NS_B" sh -c "$LIB_NS_SH" "$T_BPFFS" \
		"$bin" -d gen0 -m "$edge_mac" -i "$ms" -F 3 -P "$port" \
		-n "$trials" -p "$PIN_DIR" -l "meridiand, ${ms} ms probes" \
		-o "$report" "${args[@]}"
	rc=$?
	stop_pid "$pid"
	if [ "$rc" -ne 0 ]; then
		echo "bench-failover: ${ms} ms run failed (exit $rc); " \
			"meridiand log:" >&2
		tail -n 20 "$WORK/meridiand.log" >&2
	fi
	return "$rc"
}

mkdir -p "$out_dir"
build_world || {
	echo "bench-failover: setting up the namespaces failed" >&2
	exit 1
}
status=0
for ms in "${intervals[@]}"; do
	run_interval "$ms" || status=1
	echo
done
exit "$status"
