#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The capabilities deploy/meridiand.service grants are the ones meridiand
# needs: with exactly CAP_BPF + CAP_SYS_ADMIN it adopts pinned maps and
# serves; without CAP_SYS_ADMIN it cannot read back the pinned inner maps
# (BPF_MAP_GET_FD_BY_ID), and without CAP_BPF or CAP_SYS_ADMIN it cannot
# create the inner maps that tables are swapped in with.
. "$(dirname "$0")/lib.sh"
lib_init caps

MERIDIAND=$MERIDIAN_ROOT/build/meridiand
LABSRV=$MERIDIAN_ROOT/build/tools/labsrv
NS=$(t_name e)
DIR=$(mktemp -d "/tmp/meridian-caps.XXXXXX")
cleanup_add rm -rf "$DIR"

write_config() {
	cat >"$DIR/meridian.yaml" <<EOF
version: 1
edge:
  interface: ca
  region: local
  tunnel_source: {ipv4: 198.18.0.1}
  control_socket: $DIR/ctl
probe: {type: http, path: /health, status: 200, interval: 100ms, rise: 1, fall: 3}
regions:
  - {name: local, tier: 0}
backends:
  - {name: b1, address: 198.18.10.11, port: 80, region: local}
vips:
  - {name: web, address: 198.18.50.1, ports: [tcp/80], weights: {local: 100}}
EOF
}

setup() {
	ns_create "$NS" &&
		veth_create "$NS" ca "$NS" cb &&
		ip -n "$NS" addr add 198.18.0.1/24 dev ca &&
		ip -n "$NS" addr add 198.18.10.11/32 dev lo &&
		bpffs_create &&
		ns_exec "$NS" "$MERIDIANCTL" attach ca >/dev/null &&
		write_config || return 1
	ns_exec "$NS" "$LABSRV" --name b1 --http-port 80 \
		--pidfile "$DIR/srv.pid" >/dev/null 2>&1 &
	cleanup_add 'kill $(cat '"$DIR"'/srv.pid)'
	wait_for 50 test -s "$DIR/srv.pid"
}

# run_with CAPS: meridiand under a bounding set of exactly CAPS for 2 s.
# Exit 124 (still running when timeout ends it) means it served.
run_with() {
	ns_exec "$NS" timeout 2 setpriv --bounding-set="-all,$1" \
		--inh-caps=-all "$MERIDIAND" -c "$DIR/meridian.yaml" \
		>"$DIR/log" 2>&1
}

serves_with() {
	run_with "$1"
	[ $? -eq 124 ] && grep -q "ready:" "$DIR/log" ||
		{ cat "$DIR/log"; return 1; }
}

refused_with() {
	run_with "$1"
	[ $? -eq 1 ] && grep -q "Operation not permitted" "$DIR/log" ||
		{ cat "$DIR/log"; return 1; }
}

if ! check_setup "namespace, edge program and a backend" setup; then
	summary
	exit $?
fi
# The first run writes the tables, so later runs must read them back.
check "CAP_BPF + CAP_SYS_ADMIN (the unit's set): serves" \
	serves_with +bpf,+sys_admin
check "restart with the same set adopts the pinned maps" \
	serves_with +bpf,+sys_admin
check "CAP_BPF alone: refused reading back pinned inner maps" \
	refused_with +bpf
check "CAP_NET_ADMIN alone: refused" refused_with +net_admin
summary
