#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# meridiand's Prometheus endpoint, live: the edge program attached in a
# namespace, meridiand running there with one backend that answers its
# HTTP probe with an X-Replication-Lag header, one that does not answer,
# and one nobody probes. Checks the HTTP side (status codes, content type,
# concurrent scrapes, IPv6, a busy port retried), `promtool check metrics`
# on the live output, the health series (up, RTT histogram, lag, region
# max, failures, a failover when the last backend of a region dies), and
# meridianctl stats and top with the daemon stopped.
#
#   NS: mer0 198.18.0.1 <-veth-> mer1 (XDP on mer0)
#       lo: 198.18.1.1 (w1, HTTP with lag 7.5 s), 198.18.1.2 (w2, silent)
set -u

# shellcheck source=selftests/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init metrics

MERIDIAND=$MERIDIAN_ROOT/build/meridiand
NS=$(t_name e)
DIR=$(mktemp -d "/tmp/meridian-metrics.XXXXXX")
cleanup_add rm -rf "$DIR"
URL=http://127.0.0.1:9470/metrics
LAG=7.5
DAEMON_PID=
SERVER_PID=

# The backend: an HTTP/1.0 server answering every GET with the lag header.
LAG_SERVER='
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("X-Replication-Lag", sys.argv[3])
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
'

# write_config FILE [METRICS_LISTEN]: no listen line means the default.
write_config() {
	{
		cat <<EOF
version: 1
edge:
  interface: mer0
  region: west
  tunnel_source: {ipv4: 198.18.0.1, ipv6: "2001:db8::1"}
  control_socket: $DIR/ctl
EOF
		[ -n "${2:-}" ] && echo "  metrics_listen: \"$2\""
		cat <<EOF
probe: {type: http, path: /health, interval: 100ms, rise: 1, fall: 3,
        lag_header: X-Replication-Lag}
regions:
  - {name: west, tier: 0, egress_cost_per_gb: 0.01}
  - {name: east, tier: 1}
backends:
  - {name: w1, address: 198.18.1.1, port: 8080, region: west}
  - {name: w2, address: 198.18.1.2, port: 8080, region: west}
  - name: e1
    address: 2001:db8:2::1
    port: 80
    region: east
    probe: {type: none}
vips:
  - {name: web, address: 198.18.50.1, ports: [tcp/80],
     weights: {west: 100, east: 10}}
EOF
	} >"$1"
}

setup() {
	ns_create "$NS" &&
		veth_create "$NS" mer0 "$NS" mer1 &&
		ip -n "$NS" addr add 198.18.0.1/24 dev mer0 &&
		ip -n "$NS" addr add 198.18.1.1/32 dev lo &&
		ip -n "$NS" addr add 198.18.1.2/32 dev lo &&
		bpffs_create &&
		ns_exec "$NS" "$MERIDIANCTL" attach mer0 \
			--obj "$MERIDIAN_EDGE_OBJ" >/dev/null &&
		write_config "$DIR/v4.yaml" &&
		write_config "$DIR/v6.yaml" "[::1]:9471" &&
		write_config "$DIR/busy.yaml" "127.0.0.1:9472"
}

# listening NS ADDR:PORT
listening() {
	ip netns exec "$1" ss -Hltn | grep -q -F " $2 "
}

# The prober resets its connections once it has a verdict: the server's
# complaints about that go nowhere.
start_server() {
	ip netns exec "$NS" python3 -c "$LAG_SERVER" 198.18.1.1 8080 "$LAG" \
		2>/dev/null &
	SERVER_PID=$!
	cleanup_add kill "$SERVER_PID"
	wait_for 50 listening "$NS" 198.18.1.1:8080
}

stop_server() {
	kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	true
}

# start_daemon CONFIG: meridiand in the background, log in $DIR/log; $!
# is meridiand itself (ns_exec_job), so that kill reaches it.
start_daemon() {
	(ns_exec_job "$NS" "$MERIDIAND" -c "$1") >"$DIR/log" 2>&1 &
	DAEMON_PID=$!
	cleanup_add kill "$DAEMON_PID"
	wait_for 50 grep -q "ready:" "$DIR/log"
}

# Waits (bounded) for meridiand to exit; SIGTERM leaves the maps serving.
stop_daemon() {
	local i
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$DAEMON_PID" 2>/dev/null
	! kill -0 "$DAEMON_PID" 2>/dev/null || {
		echo "meridiand $DAEMON_PID did not stop"
		return 1
	}
	DAEMON_PID=
}

# scrape [URL]: the metrics text, in $DIR/metrics.
scrape() {
	ip netns exec "$NS" curl -sfg --max-time 5 "${1:-$URL}" \
		>"$DIR/metrics"
}

# value SERIES: the value of an exact series line from the last scrape.
value() {
	awk -v s="$1" '$1 == s { print $2 }' "$DIR/metrics"
}

# series_is SERIES WANT: scrapes until SERIES has the value WANT.
series_is() {
	local tries
	for ((tries = 0; tries < 50; tries++)); do
		scrape && [ "$(value "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 = '$(value "$1")', want '$2'"
	return 1
}

# series_above SERIES MIN: scrapes until SERIES > MIN.
series_above() {
	local tries v
	for ((tries = 0; tries < 50; tries++)); do
		scrape && v=$(value "$1") && [ -n "$v" ] &&
			awk -v v="$v" -v m="$2" 'BEGIN { exit !(v > m) }' &&
			return 0
		sleep 0.1
	done
	echo "$1 = '$(value "$1")', want more than $2"
	return 1
}

absent() {
	scrape && ! grep -q -F -- "$1" "$DIR/metrics" ||
		{ grep -F -- "$1" "$DIR/metrics"; return 1; }
}

http_status() {
	local want=$1 got
	shift
	got=$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 5 "$@")
	echo "status $got, want $want"
	[ "$got" = "$want" ]
}

content_type() {
	ip netns exec "$NS" curl -sf -D - -o /dev/null --max-time 5 "$URL" |
		tr -d '\r' | grep -i -x \
		'content-type: text/plain; version=0.0.4; charset=utf-8'
}

promtool_ok() {
	scrape && promtool check metrics <"$DIR/metrics"
}

# Forty scrapes at once against a limit of 16 connections: all answered.
concurrent_scrapes() {
	local i pids=() bad=0
	for ((i = 0; i < 40; i++)); do
		ip netns exec "$NS" curl -sf -o /dev/null --max-time 10 \
			"$URL" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || bad=$((bad + 1))
	done
	echo "$bad of 40 scrapes failed"
	[ "$bad" -eq 0 ]
}

ctl_says() {
	local want=$1 out
	shift
	out=$(ns_exec "$NS" "$MERIDIANCTL" "$@" 2>&1)
	printf '%s\n' "$out" | head -c 600
	echo
	grep -q -F -- "$want" <<<"$out"
}

W1='{region="west",backend="w1"}'
W2='{region="west",backend="w2"}'
E1='{region="east",backend="e1"}'

test_http() {
	check "GET /metrics: 200" http_status 200 "$URL"
	check "content type: Prometheus text 0.0.4" content_type
	check "HEAD /metrics: 200" http_status 200 -I "$URL"
	check "POST /metrics: 405" http_status 405 -X POST "$URL"
	check "GET /nothing: 404" http_status 404 "${URL%/metrics}/nothing"
	check "40 concurrent scrapes all answered" concurrent_scrapes
	if command -v promtool >/dev/null; then
		check "promtool check metrics on the live output" promtool_ok
	else
		skip "promtool check metrics" "promtool missing"
	fi
}

test_health() {
	local failovers transitions
	check "w1 answers its probe: up" series_is "meridian_backend_up$W1" 1
	check "w1 RTT histogram counts its probes" \
		series_above "meridian_backend_probe_rtt_seconds_count$W1" 2
	check "w1 lag from X-Replication-Lag: $LAG" \
		series_is "meridian_backend_replication_lag_seconds$W1" "$LAG"
	check "west's max lag: $LAG" series_is \
		'meridian_region_replication_lag_max_seconds{region="west"}' \
		"$LAG"
	check "w2 silent: down, failures counted" \
		series_above "meridian_backend_probe_failures_total$W2" 1
	check "w2 down" series_is "meridian_backend_up$W2" 0
	check "w2 health state down" series_is \
		"meridian_backend_health_state${W2%\}},state=\"down\"}" 1
	check "e1 (probe none) up" series_is "meridian_backend_up$E1" 1
	check "e1 has no RTT histogram" \
		absent "meridian_backend_probe_rtt_seconds_count$E1"
	check "west: 1 of 2 backends up" series_is \
		'meridian_region_backends_up{region="west"}' 1
	check "tables current: stale 0 s" \
		series_is meridian_tables_stale_seconds 0
	check "tables written: generation 1 or more" \
		series_above meridian_table_generation 0
	check "counters readable" series_is meridian_counters_readable 1
	check "egress cost series for west" series_is \
		'meridian_region_egress_cost_total{region="west"}' 0
	scrape
	failovers=$(value 'meridian_region_failovers_total{region="west"}')
	transitions=$(value "meridian_backend_health_transitions_total$W1")
	check_setup "stop w1's server" stop_server
	check "w1 down after its server stopped" \
		series_is "meridian_backend_up$W1" 0
	check "west lost its last backend: one failover more" series_is \
		'meridian_region_failovers_total{region="west"}' \
		"$((${failovers:-0} + 1))"
	check "w1's going down is a transition" series_above \
		"meridian_backend_health_transitions_total$W1" \
		"${transitions:-0}"
	check "no lag reported any more: series gone" \
		absent "meridian_backend_replication_lag_seconds$W1"
}

test_ctl() {
	check "meridianctl stats -j names regions from the config" \
		ctl_says '"name":"west"' stats -j -c "$DIR/v4.yaml"
	check "meridianctl stats --interval: rates" \
		ctl_says '"interval_seconds":' stats -j -c "$DIR/v4.yaml" \
		--interval 200ms
	check_setup "meridiand stopped" stop_daemon
	check "meridianctl stats with the daemon stopped" \
		ctl_says '"egress_cost":0' stats -j -c "$DIR/v4.yaml"
	if ns_exec "$NS" "$MERIDIANCTL" help | grep -q "meridianctl top"; then
		check "meridianctl top -j --count 2 with the daemon stopped" \
			ctl_says '"rates":' top -j -c "$DIR/v4.yaml" \
			--count 2 --interval 100ms
		check "meridianctl top (text) --count 1" ctl_says \
			"REGION" top -c "$DIR/v4.yaml" --count 1 \
			--interval 100ms
	else
		skip "meridianctl top" "not registered in meridianctl yet"
	fi
}

test_ipv6() {
	check_setup "meridiand with metrics_listen [::1]:9471" \
		start_daemon "$DIR/v6.yaml" || return
	check "GET http://[::1]:9471/metrics: 200" \
		http_status 200 -g "http://[::1]:9471/metrics"
	check "not on 127.0.0.1:9471" \
		expect_rc 7 ip netns exec "$NS" curl -s -o /dev/null \
		--max-time 5 http://127.0.0.1:9471/metrics
	stop_daemon
}

# Another process holds the port: meridiand serves anyway, says so, and
# takes the port once it is free.
test_busy_port() {
	local holder
	ip netns exec "$NS" python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9472))
s.listen(1)
time.sleep(60)
' 2>/dev/null &
	holder=$!
	cleanup_add kill "$holder"
	check "port 9472 taken by another process" wait_for 50 \
		listening "$NS" 127.0.0.1:9472
	check_setup "meridiand starts with its metrics port taken" \
		start_daemon "$DIR/busy.yaml" || return
	check "the bind failure is logged" \
		grep -q "metrics: cannot serve on 127.0.0.1:9472" "$DIR/log"
	kill "$holder"
	wait "$holder" 2>/dev/null
	check "metrics served once the port is free (retried)" \
		wait_for 100 scrape http://127.0.0.1:9472/metrics
	stop_daemon
}

missing=
for f in "$MERIDIAND" "$MERIDIANCTL" "$MERIDIAN_EDGE_OBJ"; do
	[ -e "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	fail "not built:$missing (run make)"
	summary
	exit $?
fi
if ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	skip "all metrics checks" "curl or python3 missing"
	summary
	exit $?
fi
if ! check_setup "namespace, edge program, configs" setup; then
	summary
	exit $?
fi
start_server
if check_setup "meridiand starts (metrics on the default 127.0.0.1:9470)" \
	start_daemon "$DIR/v4.yaml"; then
	test_http
	test_health
	test_ctl
fi
stop_daemon
test_ipv6
test_busy_port
summary
