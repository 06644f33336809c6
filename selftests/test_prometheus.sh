#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# A real Prometheus scrapes meridiand on the lab (selftests/lab.sh): both
# run in the edge namespace, so Prometheus' target 127.0.0.1:9470 is the
# daemon's metrics endpoint. The client sends N UDP datagrams to the IPv4
# VIP; each is one packet at the edge, steered to the local region (tier
# 0, all backends up). After a scrape that began once the traffic was
# over, PromQL must show meridian_region_packets_total up by exactly N for
# local and by 0 for near and far, and every region's packets and bytes
# equal to what `meridianctl stats -j` reads from the maps.
#
# Skipped when prometheus, curl or python3 is missing.
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/lab.sh
. "$(dirname "$0")/lab.sh"

lib_init prom

PROMETHEUS=${PROMETHEUS:-prometheus}
COUNT=200
# A datagram's frame: Ethernet 14 + IPv4 20 + UDP 8 + "ping\n" 5.
FRAME_BYTES=47
BEFORE_AT=
PROM_DIR=
PROM_PORT=
PROM_PID=
PROM_LOG=
# After the traffic: a scrape must start later than this (epoch seconds).
TRAFFIC_END=
TRAFFIC_OUT=
# shellcheck disable=SC2034 # read through namerefs (delta)
declare -A BEFORE_PKTS=() AFTER_PKTS=() AFTER_BYTES=() BEFORE_BYTES=()
declare -A CTL_PKTS=() CTL_BYTES=()

# ---- Prometheus ----

# free_port: a TCP port nobody listens on in the edge namespace.
free_port() {
	ip netns exec "$LAB_NS_EDGE" python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
'
}

prom_write_config() {
	cat >"$PROM_DIR/prometheus.yml" <<EOF
# Written by selftests/test_prometheus.sh for lab $T_SUFFIX.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s

scrape_configs:
  - job_name: meridian
    static_configs:
      - targets: ['$LAB_METRICS_LISTEN']
EOF
}

# prom_start: Prometheus in the edge namespace; ip netns exec execs, so
# PROM_PID is prometheus itself.
prom_start() {
	PROM_DIR=$LAB_DIR/prometheus
	PROM_LOG=$PROM_DIR/log
	mkdir -p "$PROM_DIR/data" && prom_write_config || return 1
	PROM_PORT=$(free_port) && [ -n "$PROM_PORT" ] || return 1
	ip netns exec "$LAB_NS_EDGE" "$PROMETHEUS" \
		--config.file="$PROM_DIR/prometheus.yml" \
		--storage.tsdb.path="$PROM_DIR/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" \
		>"$PROM_LOG" 2>&1 &
	PROM_PID=$!
	cleanup_add prom_stop
	sleep 0.2
	[ "$(cat "/proc/$PROM_PID/comm" 2>/dev/null)" = prometheus ] || {
		echo "PID $PROM_PID is not prometheus; log:"
		t_log <"$PROM_LOG"
		return 1
	}
}

# prom_stop: SIGTERM, a bounded wait, then SIGKILL; only our own PID.
prom_stop() {
	local i
	[ -n "$PROM_PID" ] || return 0
	kill "$PROM_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$PROM_PID" 2>/dev/null && kill -9 "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=
}

# prom_query EXPR: one line per series of an instant query, "LABEL VALUE"
# where LABEL is the series' region (or "-" without one).
prom_query() {
	ip netns exec "$LAB_NS_EDGE" curl -sf --max-time 5 \
		"http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit(1)
for r in d["data"]["result"]:
    print(r["metric"].get("region", "-"), r["value"][1])
'
}

target_up() {
	[ "$(prom_query 'up{job="meridian"}')" = "- 1" ]
}

prom_wait_up() {
	wait_for 200 target_up || {
		echo "up{job=\"meridian\"} is not 1; Prometheus log:"
		tail -n 20 "$PROM_LOG" | t_log
		return 1
	}
}

# last_scrape: when the newest scrape of the target began (epoch seconds).
last_scrape() {
	prom_query 'timestamp(up{job="meridian"})' | cut -d' ' -f2
}

# scraped_after T: the newest scrape of the target began after T.
scraped_after() {
	local ts
	ts=$(last_scrape)
	[ -n "$ts" ] && awk -v a="$ts" -v b="$1" 'BEGIN { exit !(a > b) }'
}

# read_series METRIC ARRAY: ARRAY[region] = value, for every lab region.
read_series() {
	local -n into=$1
	local out region value r
	out=$(prom_query "$2{job=\"meridian\"}") || return 1
	while read -r region value; do
		into["$region"]=$value
	done <<<"$out"
	for r in "${LAB_REGIONS[@]}"; do
		[ -n "${into[$r]-}" ] || {
			echo "no $2 series for region $r; query gave:"
			printf '%s\n' "$out" | t_log
			return 1
		}
	done
}

# ---- meridianctl stats -j ----

# ctl_read: CTL_PKTS / CTL_BYTES per region name, from the maps.
ctl_read() {
	local out region pkts bytes
	out=$(lab_ctl stats -j -c "$LAB_CONFIG" |
		python3 -c '
import json, sys
for r in json.load(sys.stdin)["regions"]:
    print(r.get("name", r["id"]), r["packets"], r["bytes"])
') || return 1
	while read -r region pkts bytes; do
		CTL_PKTS[$region]=$pkts
		CTL_BYTES[$region]=$bytes
	done <<<"$out"
}

# ---- the checks ----

before_scrape() {
	read_series BEFORE_PKTS meridian_region_packets_total &&
		read_series BEFORE_BYTES meridian_region_bytes_total &&
		echo "before: packets local ${BEFORE_PKTS[local]}," \
			"near ${BEFORE_PKTS[near]}, far ${BEFORE_PKTS[far]}"
}

# send_udp: COUNT datagrams, every one answered by a local backend.
send_udp() {
	local answered local_answers failed
	TRAFFIC_OUT=$(lab_traffic udp --vip "$LAB_VIP4" --port "$LAB_UDP_PORT" \
		--src "$LAB_CLIENT4" --count "$COUNT" --timeout-ms 1000) ||
		return 1
	answered=$(awk '$1 == "backend" { s += $3 } END { print s + 0 }' \
		<<<"$TRAFFIC_OUT")
	local_answers=$(awk '$1 == "backend" && $2 ~ /^local-/ { s += $3 }
		END { print s + 0 }' <<<"$TRAFFIC_OUT")
	failed=$(awk '$1 == "failed" { print $2 }' <<<"$TRAFFIC_OUT")
	echo "$COUNT datagrams: $answered answered ($local_answers by local)," \
		"failed ${failed:-?}"
	TRAFFIC_END=$(date +%s.%N)
	[ "$answered" = "$COUNT" ] && [ "$local_answers" = "$COUNT" ]
}

wait_scrape() {
	wait_for 100 scraped_after "$TRAFFIC_END" || {
		echo "no scrape after $TRAFFIC_END within 10 s"
		return 1
	}
}

after_scrape() {
	read_series AFTER_PKTS meridian_region_packets_total &&
		read_series AFTER_BYTES meridian_region_bytes_total
}

# rose_by REGION WANT: packets in PromQL, after minus before.
rose_by() {
	local d
	d=$(delta AFTER_PKTS BEFORE_PKTS "$1")
	echo "meridian_region_packets_total{region=\"$1\"}:" \
		"${BEFORE_PKTS[$1]} -> ${AFTER_PKTS[$1]} (+$d), want +$2"
	[ "$d" -eq "$2" ]
}

bytes_rose() {
	local d
	d=$(delta AFTER_BYTES BEFORE_BYTES local)
	echo "meridian_region_bytes_total{region=\"local\"}: +$d," \
		"want $COUNT x $FRAME_BYTES"
	[ "$d" -eq $((COUNT * FRAME_BYTES)) ]
}

# same_as_ctl: every region's packets and bytes equal stats -j's.
same_as_ctl() {
	local r rc=0
	for r in "${LAB_REGIONS[@]}"; do
		echo "$r: prometheus packets ${AFTER_PKTS[$r]}" \
			"bytes ${AFTER_BYTES[$r]}; stats -j packets" \
			"${CTL_PKTS[$r]-?} bytes ${CTL_BYTES[$r]-?}"
		[ "${AFTER_PKTS[$r]}" = "${CTL_PKTS[$r]-}" ] &&
			[ "${AFTER_BYTES[$r]}" = "${CTL_BYTES[$r]-}" ] || rc=1
	done
	return "$rc"
}

# The same difference computed by Prometheus itself: now minus the
# samples of the scrape read before the traffic (the @ modifier).
promql_delta() {
	local out want m='meridian_region_packets_total{job="meridian"}'
	out=$(prom_query "sum by (region) ($m) -
		sum by (region) ($m @ $BEFORE_AT)") || return 1
	echo "PromQL now - @$BEFORE_AT by region:"
	printf '%s\n' "$out" | t_log
	want=$(printf 'far 0\nlocal %s\nnear 0\n' "$COUNT")
	[ "$(sort <<<"$out")" = "$want" ]
}

# delta ARRAY_AFTER ARRAY_BEFORE REGION
delta() {
	local -n a=$1 b=$2
	echo $((a[$3] - b[$3]))
}

report() {
	local d
	d=$(delta AFTER_BYTES BEFORE_BYTES local)
	echo "figures: $COUNT datagrams; local packets" \
		"${BEFORE_PKTS[local]} -> ${AFTER_PKTS[local]}, bytes +$d" \
		"($((d / COUNT)) per packet); near" \
		"+$(delta AFTER_PKTS BEFORE_PKTS near), far" \
		"+$(delta AFTER_PKTS BEFORE_PKTS far)"
}

run_checks() {
	local r
	check_setup "Prometheus started in the edge namespace" prom_start ||
		return
	check_setup "Prometheus scrapes meridiand: up{job=\"meridian\"} 1" \
		prom_wait_up || return
	check_setup "per-region counters by PromQL before the traffic" \
		before_scrape || return
	BEFORE_AT=$(last_scrape)
	check_setup "$COUNT UDP datagrams to $LAB_VIP4, all answered by local" \
		send_udp || return
	check_setup "meridianctl stats -j read after the traffic" ctl_read ||
		return
	check_setup "a scrape began after the traffic ended" wait_scrape ||
		return
	check_setup "per-region counters by PromQL after the traffic" \
		after_scrape || return
	check "local's packet counter rose by exactly $COUNT" \
		rose_by local "$COUNT"
	for r in near far; do
		check "$r's packet counter did not move" rose_by "$r" 0
	done
	check "local's byte counter rose by $COUNT x $FRAME_BYTES" bytes_rose
	check "every region: Prometheus equals meridianctl stats -j" \
		same_as_ctl
	check "PromQL difference over the window: local +$COUNT, others 0" \
		promql_delta
	report
}

missing=
for f in "$PROMETHEUS" curl python3; do
	command -v "$f" >/dev/null || missing="$missing $f"
done
if [ -n "$missing" ]; then
	skip "Prometheus scraping the lab" "missing:$missing"
elif [ ! -x "$MERIDIAND" ]; then
	fail "meridiand not built ($MERIDIAND): run make all"
elif check_setup "lab up (edge, client, 6 backends in 3 regions)" lab_up; then
	# shellcheck disable=SC2119 # no extra meridiand arguments
	lab_daemon_start
	if check "meridiand started in the edge namespace; every backend up" \
		lab_daemon_wait_ready 100; then
		run_checks
	else
		t_log <"$LAB_DAEMON_LOG"
	fi
fi
summary
