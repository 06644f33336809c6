#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Loads the edge program onto a veth both ways, ip link and meridianctl,
# and checks attachment, pins, stats, map reuse across a re-attach, and
# detach. Topology: namespace E holds the XDP device, namespace P its peer.
#
#   P: mer1 198.18.0.2/24  <-- veth -->  E: mer0 198.18.0.1/24 (XDP)
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init load

EDGE_DEV=mer0
PEER_DEV=mer1
EDGE_ADDR=198.18.0.1
PEER_ADDR=198.18.0.2
IPROUTE2_PINS=/sys/fs/bpf/tc/globals
CTL_PINS=/sys/fs/bpf/meridian
EDGE_MAPS="meridian_vips meridian_vip_addrs4 meridian_vip_addrs6
meridian_classes4 meridian_classes6
meridian_region_tables meridian_rings meridian_backends meridian_flows
meridian_config meridian_counters meridian_region_stats meridian_vip_stats
meridian_backend_stats meridian_flood"

NS_E=$(t_name e)
NS_P=$(t_name p)

ctl() {
	ns_exec "$NS_E" "$MERIDIANCTL" "$@"
}

# maps_pinned DIR: every edge map has a pin in DIR (inside NS_E).
maps_pinned() {
	local dir=$1 map missing=
	for map in $EDGE_MAPS; do
		ns_exec "$NS_E" test -e "$dir/$map" || missing="$missing $map"
	done
	[ -z "$missing" ] || {
		echo "not pinned under $dir:$missing"
		return 1
	}
}

attached_as() {
	local want_mode=$1 mode name
	mode=$(xdp_mode "$NS_E" "$EDGE_DEV")
	name=$(xdp_prog_name "$NS_E" "$EDGE_DEV")
	echo "mode $mode, program '$name'"
	[ "$mode" = "$want_mode" ] && [ "$name" = meridian_edge ]
}

not_attached() {
	attached_as none
	[ "$(xdp_mode "$NS_E" "$EDGE_DEV")" = none ]
}

# A reply proves the requests went through the XDP program and were passed.
ping_edge() {
	ip netns exec "$NS_P" ping -n -q -c 3 -i 0.2 -W 2 "$EDGE_ADDR"
}

# counter NAME DIR: a counter from `meridianctl stats -j`.
counter() {
	ctl stats -j --pin-dir "$2" | grep -o "\"$1\":[0-9]*" | head -n 1 |
		cut -d: -f2
}

positive_counter() {
	local value
	value=$(counter "$1" "$2")
	echo "$1 = ${value:-missing}"
	[ -n "$value" ] && [ "$value" -gt 0 ]
}

# map_ids DIR: "name=id" of every pinned edge map, one line.
map_ids() {
	local map id
	for map in $EDGE_MAPS; do
		id=$(ns_exec "$NS_E" bpftool map show pinned "$1/$map" |
			sed -n 's/^\([0-9]*\):.*/\1/p')
		printf '%s=%s ' "$map" "${id:-missing}"
	done
}

# vip_tables DIR: the inner map ids the pinned prefilter maps hold, one line.
vip_tables() {
	local fam id b
	for fam in 4 6; do
		# The value is the id, four bytes, little end first.
		read -r -a b <<<"$(ns_exec "$NS_E" bpftool -j map lookup \
			pinned "$1/meridian_vip_addrs$fam" key 0 0 0 0 \
			2>/dev/null | grep -o '"value":\[[^]]*\]' |
			grep -o '0x[0-9a-f]*' | tr '\n' ' ')"
		id=
		[ "${#b[@]}" -eq 4 ] &&
			id=$((b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24))
		printf 'v%s=%s ' "$fam" "${id:-missing}"
	done
}

# tables_in_place DIR: each prefilter map holds a table (on a fresh load,
# the empty template).
tables_in_place() {
	local tables
	tables=$(vip_tables "$1")
	echo "$tables"
	[[ $tables != *missing* ]]
}

same_value() {
	echo "before '$1', after '$2'"
	[ -n "$1" ] && [ "$1" = "$2" ] && [[ $1 != *missing* ]]
}

# kept_count BEFORE AFTER: a count seen before is still there (or grew).
kept_count() {
	echo "before '$1', after '$2'"
	[ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt 0 ] && [ "$2" -ge "$1" ]
}

# output_has TEXT CMD...: CMD succeeds and says TEXT (a grep pattern).
output_has() {
	local want=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && grep -q -- "$want" <<<"$out"
}

setup() {
	ns_create "$NS_E" && ns_create "$NS_P" &&
		veth_create "$NS_E" "$EDGE_DEV" "$NS_P" "$PEER_DEV" &&
		ip -n "$NS_E" addr add "$EDGE_ADDR/24" dev "$EDGE_DEV" &&
		ip -n "$NS_P" addr add "$PEER_ADDR/24" dev "$PEER_DEV" &&
		ip netns exec "$NS_P" ethtool -K "$PEER_DEV" tx off \
			>/dev/null &&
		bpffs_create
}

prerequisites() {
	local missing=
	[ -f "$MERIDIAN_EDGE_OBJ" ] || missing="$missing $MERIDIAN_EDGE_OBJ"
	[ -x "$MERIDIANCTL" ] || missing="$missing $MERIDIANCTL"
	[ -z "$missing" ] || {
		echo "not built:$missing (run make)"
		return 1
	}
}

test_iproute2() {
	check "ip link loads the object in native mode" \
		ns_exec "$NS_E" ip link set dev "$EDGE_DEV" xdpdrv \
		obj "$MERIDIAN_EDGE_OBJ" sec xdp || return
	check "meridian_edge attached in native mode" attached_as xdp
	check "maps pinned under $IPROUTE2_PINS" maps_pinned "$IPROUTE2_PINS"
	check "VIP-address tables in place (ip link)" \
		tables_in_place "$IPROUTE2_PINS"
	check "meridianctl stats reads the ip link pins" \
		ctl stats --pin-dir "$IPROUTE2_PINS"
	if [ -n "$HAVE_PING" ]; then
		check "non-VIP traffic passes the program" ping_edge
		check "non-VIP packets counted as pass_nonvip" \
			positive_counter pass_nonvip "$IPROUTE2_PINS"
	fi
	check "ip link detaches" \
		ns_exec "$NS_E" ip link set dev "$EDGE_DEV" xdpdrv off
	check "nothing attached after ip link detach" not_attached
}

test_usage() {
	check_fails "attach without DEV is a usage error" 2 ctl attach
	check_fails "unknown command is a usage error" 2 ctl frobnicate
	check_fails "bad --mode is a usage error" 2 \
		ctl attach "$EDGE_DEV" --mode turbo
	check_fails "detach with nothing attached fails" 1 \
		ctl detach "$EDGE_DEV"
	check_fails "stats without pins fails" 1 \
		ctl stats --pin-dir /sys/fs/bpf/nothing-here
}

test_meridianctl() {
	local ids_before ids_after pass_before pass_after
	check "meridianctl attach" \
		ctl attach "$EDGE_DEV" --obj "$MERIDIAN_EDGE_OBJ" || return
	check "meridian_edge attached in native mode" attached_as xdp
	check "maps pinned under $CTL_PINS" maps_pinned "$CTL_PINS"
	check "VIP-address tables in place (meridianctl)" \
		tables_in_place "$CTL_PINS"
	check "link pinned at $CTL_PINS/link_$EDGE_DEV" \
		ns_exec "$NS_E" test -e "$CTL_PINS/link_$EDGE_DEV"
	check "second attach is refused" output_has "already has" \
		expect_rc 1 ctl attach "$EDGE_DEV" --obj "$MERIDIAN_EDGE_OBJ"
	check "meridianctl stats" ctl stats
	check "meridianctl stats -j is one JSON object" \
		output_has '^{"counters":{"actions":{' ctl stats -j
	if [ -n "$HAVE_PING" ]; then
		check "non-VIP traffic passes the program" ping_edge
		check "non-VIP packets counted as pass_nonvip" \
			positive_counter pass_nonvip "$CTL_PINS"
	fi
	ids_before="$(map_ids "$CTL_PINS") $(vip_tables "$CTL_PINS")"
	pass_before=$(counter pass_nonvip "$CTL_PINS")

	check "meridianctl detach keeps the maps" \
		output_has "maps stay pinned" ctl detach "$EDGE_DEV"
	check "nothing attached after detach" not_attached
	check "link pin removed" \
		expect_rc 1 ns_exec "$NS_E" test -e "$CTL_PINS/link_$EDGE_DEV"
	check "maps still pinned after detach" maps_pinned "$CTL_PINS"

	check "re-attach" ctl attach "$EDGE_DEV" --obj "$MERIDIAN_EDGE_OBJ"
	ids_after="$(map_ids "$CTL_PINS") $(vip_tables "$CTL_PINS")"
	pass_after=$(counter pass_nonvip "$CTL_PINS")
	check "re-attach reuses every pinned map and VIP-address table" \
		same_value "$ids_before" "$ids_after"
	if [ -n "$HAVE_PING" ]; then
		check "counters survive the re-attach" \
			kept_count "$pass_before" "$pass_after"
	fi
	check "meridianctl detach" ctl detach "$EDGE_DEV"
}

test_generic() {
	check "meridianctl attach --mode generic" \
		ctl attach "$EDGE_DEV" --mode generic \
		--obj "$MERIDIAN_EDGE_OBJ" || return
	check "meridian_edge attached in generic mode" attached_as xdpgeneric
	if [ -n "$HAVE_PING" ]; then
		check "non-VIP traffic passes in generic mode" ping_edge
	fi
	check "meridianctl detach (generic)" ctl detach "$EDGE_DEV"
	check "nothing attached after generic detach" not_attached
}

HAVE_PING=$(command -v ping)
[ -n "$HAVE_PING" ] || skip "traffic checks" "ping missing (make deps)"

if check "prerequisites built" prerequisites &&
	check_setup "namespaces, veth and bpffs set up" setup; then
	test_iproute2
	test_usage
	test_meridianctl
	test_generic
fi
summary
