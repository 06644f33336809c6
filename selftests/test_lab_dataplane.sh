#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The lab's data plane end to end, without meridiand: selftests/lab.sh
# builds the namespaces, labmaps writes the edge's tables directly, and
# labclient sends real TCP and UDP traffic from the client namespace to the
# VIPs. Every answer comes from a backend's labsrv, which names itself, so
# each check knows which backend (and region) a flow reached. The client
# talks to the VIP, so a completed exchange also proves the direct server
# return: the backend's reply carried the VIP as its source.
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/lab.sh
. "$(dirname "$0")/lab.sh"

lib_init dataplane

LOCAL=(local-1 local-2)
NEAR=(near-1 near-2)
FAR=(far-1 far-2)
TIMEOUT_MS=2000

# answered_by OUTPUT COUNT NAMES...: labclient's tally shows COUNT answers,
# no failure, and only backends among NAMES.
answered_by() {
	local out=$1 want=$2 total=0 name count failed
	shift 2
	printf '%s\n' "$out"
	failed=$(sed -n 's/^failed \([0-9]*\)$/\1/p' <<<"$out")
	while read -r name count; do
		[[ " $* " == *" $name "* ]] || {
			echo "answered by $name, expected one of: $*"
			return 1
		}
		total=$((total + count))
	done < <(sed -n 's/^backend \([^ ]*\) \([0-9]*\)$/\1 \2/p' <<<"$out")
	[ "${failed:-x}" = 0 ] && [ "$total" -eq "$want" ]
}

# seen_all OUTPUT NAMES...: every one of NAMES answered at least once.
seen_all() {
	local out=$1 name
	shift
	for name in "$@"; do
		grep -q "^backend $name [1-9]" <<<"$out" || {
			echo "$name never answered"
			printf '%s\n' "$out"
			return 1
		}
	done
}

# flows_to SRC VIP COUNT NAMES...: COUNT new TCP flows, all answered by NAMES.
flows_to() {
	local src=$1 vip=$2 count=$3 out
	shift 3
	out=$(lab_traffic flows --vip "$vip" --port "$LAB_HTTP_PORT" \
		--src "$src" --count "$count" --parallel 4 \
		--timeout-ms "$TIMEOUT_MS") || return 1
	answered_by "$out" "$count" "$@"
}

udp_to() {
	local src=$1 vip=$2 count=$3 out
	shift 3
	out=$(lab_traffic udp --vip "$vip" --port "$LAB_UDP_PORT" \
		--src "$src" --count "$count" --timeout-ms "$TIMEOUT_MS") ||
		return 1
	answered_by "$out" "$count" "$@"
}

# both_local_answer SRC VIP: with 40 flows, each local backend gets some.
both_local_answer() {
	local out
	out=$(lab_traffic flows --vip "$2" --port "$LAB_HTTP_PORT" \
		--src "$1" --count 40 --parallel 4 --timeout-ms "$TIMEOUT_MS")
	answered_by "$out" 40 "${LOCAL[@]}" && seen_all "$out" "${LOCAL[@]}"
}

region_packets_are() {
	local got
	got=$(lab_region_packets "$1")
	echo "region $1 packets: $got, expected $2"
	[ "$got" -eq "$2" ]
}

region_has_packets() {
	local got
	got=$(lab_region_packets "$1")
	echo "region $1 packets: $got"
	[ "$got" -gt 0 ]
}

# decap_sum COUNTER NAMES...: the counter summed over backends.
decap_sum() {
	local counter=$1 name sum=0 v
	shift
	for name in "$@"; do
		v=$(lab_decap_counter "$name" "$counter") || return 1
		sum=$((sum + v))
	done
	echo "$sum"
}

decap_positive() {
	local v
	v=$(decap_sum "$@")
	echo "$1 over $*: $v"
	[ "$v" -gt 0 ]
}

decap_none() {
	local name v total=0
	for name in "$@"; do
		v=$(lab_decap_total "$name") || return 1
		echo "$name decapsulated $v"
		total=$((total + v))
	done
	[ "$total" -eq 0 ]
}

# kept_backends FILE: longlived's report shows no move and no failure.
kept_backends() {
	cat "$1"
	grep -q '^moved 0$' "$1" && grep -q '^failed 0$' "$1" &&
		grep -q '^requests [1-9]' "$1"
}

test_first_packets() {
	check "20 UDP datagrams to the IPv4 VIP answered by local backends" \
		udp_to "$LAB_CLIENT4" "$LAB_VIP4" 20 "${LOCAL[@]}"
	# One datagram each way: the edge counted exactly the 20 it steered.
	check "region 0 (local) counted exactly the 20 datagrams" \
		region_packets_are 0 20
	check "region 1 (near) counted nothing" region_packets_are 1 0
	check "region 2 (far) counted nothing" region_packets_are 2 0
}

test_local_service() {
	check "40 TCP flows to the IPv4 VIP answered (DSR), by local only" \
		both_local_answer "$LAB_CLIENT4" "$LAB_VIP4"
	check "40 TCP flows to the IPv6 VIP answered (DSR), by local only" \
		both_local_answer "$LAB_CLIENT6" "$LAB_VIP6"
	check "10 UDP datagrams to the IPv6 VIP answered by local backends" \
		udp_to "$LAB_CLIENT6" "$LAB_VIP6" 10 "${LOCAL[@]}"
	check "local backends decapsulated IPv4-in-IPv4" \
		decap_positive ipip "${LOCAL[@]}"
	check "local backends decapsulated IPv6-in-IPv6" \
		decap_positive ip6ip6 "${LOCAL[@]}"
	check "near and far backends received no tunnel packet" \
		decap_none "${NEAR[@]}" "${FAR[@]}"
	check "regions 1 and 2 still counted nothing" \
		eval 'region_packets_are 1 0 && region_packets_are 2 0'
	check "non-VIP traffic through the edge is forwarded, not steered" \
		flows_to "$LAB_CLIENT4" "${LAB_BE_ADDR4[2]}" 5 near-1
	check "... and reached near-1 without a tunnel" decap_none near-1
}

# Long-lived connections while the region table is swapped to "near":
# established flows stay on their backends, new ones go to near.
test_table_swap() {
	local out=$LAB_DIR/longlived.out pid
	lab_traffic longlived --vip "$LAB_VIP4" --port "$LAB_HTTP_PORT" \
		--src "${LAB_CLIENTS4[1]}" --conns 8 --interval-ms 50 \
		--duration-ms 1500 --timeout-ms "$TIMEOUT_MS" >"$out" 2>&1 &
	pid=$!
	cleanup_add lab_kill_pid "$pid"
	sleep 0.5
	check "region table swapped to near" lab_maps_static 0 1 0
	wait "$pid"
	check "long-lived connections kept their backends across the swap" \
		kept_backends "$out"
	check "new flows after the swap go to near" \
		flows_to "$LAB_CLIENT4" "$LAB_VIP4" 20 "${NEAR[@]}"
	check "region 1 (near) counted them" region_has_packets 1
	check "near backends decapsulated them" \
		decap_positive ipip "${NEAR[@]}"
}

test_class() {
	check "EU prefix mapped to class 1" \
		lab_maps class "$LAB_PREFIX4_EU" 1
	check "class 1 table of the IPv4 VIP: far only" \
		lab_maps table "$LAB_VIP4_ID" 1 2:2:1
	check "EU client's flows go to far" \
		flows_to "$LAB_CLIENT4_EU" "$LAB_VIP4" 10 "${FAR[@]}"
	check "default client's flows still go to near" \
		flows_to "$LAB_CLIENT4" "$LAB_VIP4" 10 "${NEAR[@]}"
}

# Tunnels of the other family: rings 0-2 hold IPv4 backends, 3-5 IPv6.
test_mixed_families() {
	check "IPv6 VIP table on the IPv4 ring of local" \
		lab_maps table "$LAB_VIP6_ID" 0 0:0:1
	check "IPv6 VIP answered over IPv4 tunnels" \
		flows_to "$LAB_CLIENT6" "$LAB_VIP6" 10 "${LOCAL[@]}"
	check "local backends decapsulated IPv6-in-IPv4" \
		decap_positive ip6ip4 "${LOCAL[@]}"
	check "IPv4 VIP table on the IPv6 ring of local" \
		lab_maps table "$LAB_VIP4_ID" 0 0:3:1
	check "IPv4 VIP answered over IPv6 tunnels" \
		flows_to "$LAB_CLIENT4" "$LAB_VIP4" 10 "${LOCAL[@]}"
	check "local backends decapsulated IPv4-in-IPv6" \
		decap_positive ip4ip6 "${LOCAL[@]}"
}

test_lab_env() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	check "lab.env sources and names every backend namespace" \
		bash -c '. "$1" && [ "${#LAB_BE_NS[@]}" -eq 6 ] &&
			ip netns list | grep -q "^${LAB_BE_NS[5]}\b"' _ \
		"$LAB_DIR/lab.env"
	if [ -x "$MERIDIAN_ROOT/build/meridiand" ]; then
		check "meridiand accepts the generated lab config" \
			"$MERIDIAN_ROOT/build/meridiand" --check \
			-c "$LAB_CONFIG"
	else
		skip "generated config check" "meridiand not built"
	fi
}

if check_setup "lab up (edge, client, 6 backends in 3 regions)" lab_up &&
	check_setup "static tables written with labmaps" lab_maps_static; then
	test_first_packets
	test_local_service
	test_table_swap
	test_class
	test_mixed_families
	test_lab_env
fi
summary
