// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the configuration loader (userspace/common/config*.c,
 * model.c). Error cases are table-driven: each is a small edit of one base
 * configuration and asserts the line, the field and a piece of the message.
 * Run from the repository root (the example is deploy/meridian.yaml).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cmocka.h>

#include "config.h"
#include "model.h"

#define EXAMPLE "deploy/meridian.yaml"

/* Line numbers matter: error cases below refer to them. */
static const char *const base[] = {
	/*  1 */ "edge:",
	/*  2 */ "  interface: eth0",
	/*  3 */ "  region: west",
	/*  4 */ "  tunnel_source:",
	/*  5 */ "    ipv4: 198.18.0.1",
	/*  6 */ "    ipv6: 2001:db8::1",
	/*  7 */ "regions:",
	/*  8 */ "  - name: west",
	/*  9 */ "    tier: 0",
	/* 10 */ "  - name: east",
	/* 11 */ "    tier: 1",
	/* 12 */ "    egress_cost_per_gb: 0.05",
	/* 13 */ "backends:",
	/* 14 */ "  - name: w1",
	/* 15 */ "    address: 198.18.1.1",
	/* 16 */ "    port: 80",
	/* 17 */ "    region: west",
	/* 18 */ "  - name: e1",
	/* 19 */ "    address: 2001:db8:2::1",
	/* 20 */ "    port: 80",
	/* 21 */ "    region: east",
	/* 22 */ "classes:",
	/* 23 */ "  - name: eu",
	/* 24 */ "    prefixes: [198.18.64.0/19, \"2001:db8:4000::/36\"]",
	/* 25 */ "    allowed_regions: [west]",
	/* 26 */ "    strict: true",
	/* 27 */ "  - name: pinned",
	/* 28 */ "    prefixes:",
	/* 29 */ "      - 198.18.96.0/20",
	/* 30 */ "    pin_home: true",
	/* 31 */ "vips:",
	/* 32 */ "  - name: web",
	/* 33 */ "    address: 198.18.50.1",
	/* 34 */ "    ports: [tcp/80, udp/443]",
	/* 35 */ "    weights: {west: 100, east: 10}",
	/* 36 */ "  - name: web6",
	/* 37 */ "    address: 2001:db8:50::1",
	/* 38 */ "    ports:",
	/* 39 */ "      - tcp/443",
};

#define BASE_LINES ((int)(sizeof(base) / sizeof(base[0])))

enum edit_op { ED_END, ED_REPLACE, ED_INSERT, ED_DELETE };

/* Edits name lines of the base; ED_INSERT adds text after the line. */
struct edit {
	int line;
	enum edit_op op;
	const char *text;
};

#define R(l, t)                  \
	{                        \
		l, ED_REPLACE, t \
	}
#define I(l, t)                 \
	{                       \
		l, ED_INSERT, t \
	}
#define D(l)                       \
	{                          \
		l, ED_DELETE, NULL \
	}
#define MAX_EDITS 12

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	assert_non_null(p);
	return p;
}

static char *patched(const struct edit *edits)
{
	size_t cap = 8192, used = 0;
	char *out = xmalloc(cap);
	int line, k;

	out[0] = '\0';
	for (line = 1; line <= BASE_LINES; line++) {
		const char *text = base[line - 1], *after = NULL;

		for (k = 0; k < MAX_EDITS && edits[k].op != ED_END; k++) {
			if (edits[k].line != line)
				continue;
			if (edits[k].op == ED_REPLACE)
				text = edits[k].text;
			else if (edits[k].op == ED_DELETE)
				text = NULL;
			else
				after = edits[k].text;
		}
		if (text)
			used += (size_t)snprintf(out + used, cap - used, "%s\n",
						 text);
		if (after)
			used += (size_t)snprintf(out + used, cap - used, "%s\n",
						 after);
		assert_true(used < cap);
	}
	return out;
}

static void assert_model_empty(const struct model *m)
{
	assert_int_equal(m->n_regions, 0);
	assert_int_equal(m->n_backends, 0);
	assert_int_equal(m->n_classes, 0);
	assert_int_equal(m->n_vips, 0);
	assert_null(m->backends);
	assert_null(m->classes);
	assert_null(m->vips);
}

static void dump_error(const char *what, const struct config_error *err)
{
	char buf[768];

	config_error_format(err, buf, sizeof(buf));
	print_message("%s: %s\n", what, buf);
}

struct err_case {
	const char *name;
	struct edit edits[MAX_EDITS];
	int line;
	const char *field;
	const char *msg;
};

static void run_error_case(void **state)
{
	const struct err_case *c = *state;
	struct config_error err;
	char buf[768], want[160];
	struct model m;
	char *text = patched(c->edits);
	int r;

	r = config_load_string(text, "test.yaml", &m, &err);
	if (r != -EINVAL || err.line != c->line ||
	    strcmp(err.field, c->field) || !strstr(err.msg, c->msg)) {
		print_message("--- config:\n%s---\n", text);
		dump_error("got", &err);
		print_message("want: test.yaml:%d: %s: ...%s...\n", c->line,
			      c->field, c->msg);
	}
	free(text);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(err.line, c->line);
	assert_string_equal(err.field, c->field);
	assert_non_null(strstr(err.msg, c->msg));
	assert_true(err.column > 0);
	assert_model_empty(&m);
	config_error_format(&err, buf, sizeof(buf));
	snprintf(want, sizeof(want), "test.yaml:%d:%d: ", c->line, err.column);
	assert_true(!strncmp(buf, want, strlen(want)));
	if (c->field[0])
		assert_non_null(strstr(buf, c->field));
}

#define SOUTH "  - name: south\n    tier: 2"

static const struct err_case cases[] = {
	/* Document level */
	{ "unknown_top_key",
	  { R(1, "colour: blue\nedge:") },
	  1,
	  "colour",
	  "unknown key" },
	{ "repeated_top_key",
	  { I(39, "edge:\n  interface: eth1") },
	  40,
	  "edge",
	  "repeated key (first at line 1)" },
	{ "yaml_syntax",
	  { R(34, "    ports: [tcp/80, udp/443") },
	  35,
	  "",
	  "YAML syntax" },
	{ "bad_indentation", { R(16, "   port: 80") }, 16, "", "YAML syntax" },
	{ "yaml_tab", { R(2, "\tinterface: eth0") }, 2, "", "a tab" },
	{ "yaml_not_utf8",
	  { R(2, "  interface: \xff") },
	  2,
	  "",
	  "must be UTF-8" },
	{ "yaml_flow_ipv6",
	  { I(6, "  source_entropy: {ipv6: ::/32}") },
	  7,
	  "",
	  "quote addresses like" },
	{ "second_document",
	  { I(39, "---\nfoo: 1") },
	  41,
	  "",
	  "second YAML document" },
	{ "missing_edge",
	  { D(1), D(2), D(3), D(4), D(5), D(6) },
	  1,
	  "edge",
	  "missing (required)" },
	{ "missing_regions", { R(7, "zones:") }, 7, "zones", "unknown key" },
	{ "version",
	  { R(1, "version: 2\nedge:") },
	  1,
	  "version",
	  "out of range 1..1" },
	{ "not_a_mapping",
	  { R(1, "edge: eth0"), D(2), D(3), D(4), D(5), D(6) },
	  1,
	  "edge",
	  "expected a mapping" },
	/* Edge */
	{ "interface_too_long",
	  { R(2, "  interface: averyveryverylongname0") },
	  2,
	  "edge.interface",
	  "longer than 15" },
	{ "interface_list",
	  { R(2, "  interface: [eth0]") },
	  2,
	  "edge.interface",
	  "expected a single value" },
	{ "edge_unknown_region",
	  { R(3, "  region: north") },
	  3,
	  "edge.region",
	  "unknown region 'north'" },
	{ "edge_region_not_tier0",
	  { R(3, "  region: east") },
	  3,
	  "edge.region",
	  "must be tier 0" },
	{ "tunnel4_family",
	  { R(5, "    ipv4: 2001:db8::5") },
	  5,
	  "edge.tunnel_source.ipv4",
	  "not an IPv4 address" },
	{ "tunnel4_garbage",
	  { R(5, "    ipv4: 198.18.0.256") },
	  5,
	  "edge.tunnel_source.ipv4",
	  "not an IPv4 or IPv6 address" },
	{ "tunnel4_loopback",
	  { R(5, "    ipv4: 127.0.0.1") },
	  5,
	  "edge.tunnel_source.ipv4",
	  "loopback" },
	{ "tunnel6_missing",
	  { D(6) },
	  2,
	  "edge.tunnel_source.ipv6",
	  "backend 'e1' (line 18) is IPv6" },
	{ "tunnel4_missing",
	  { D(5) },
	  2,
	  "edge.tunnel_source.ipv4",
	  "backend 'w1' (line 14) is IPv4" },
	{ "tunnel_is_backend",
	  { R(5, "    ipv4: 198.18.1.1") },
	  5,
	  "edge.tunnel_source.ipv4",
	  "also the address of backend 'w1'" },
	{ "mtu_range",
	  { I(3, "  mtu: 9001") },
	  4,
	  "edge.mtu",
	  "out of range 576..9000" },
	{ "mtu_ipv6_minimum",
	  { I(3, "  mtu: 1000") },
	  4,
	  "edge.mtu",
	  "IPv6 minimum" },
	{ "mtu_quoted",
	  { I(3, "  mtu: \"1500\"") },
	  4,
	  "edge.mtu",
	  "quoted string" },
	{ "ttl_zero",
	  { I(3, "  ttl: 0") },
	  4,
	  "edge.ttl",
	  "out of range 1..255" },
	{ "ttl_leading_zero",
	  { I(3, "  ttl: 064") },
	  4,
	  "edge.ttl",
	  "leading zero" },
	{ "overprovisioning",
	  { I(3, "  overprovisioning: 0.5") },
	  4,
	  "edge.overprovisioning",
	  "out of range" },
	{ "metrics_listen",
	  { I(3, "  metrics_listen: localhost:9470") },
	  4,
	  "edge.metrics_listen",
	  "expected ADDRESS:PORT" },
	{ "control_socket",
	  { I(3, "  control_socket: run/ctl") },
	  4,
	  "edge.control_socket",
	  "not an absolute path" },
	{ "entropy_host_bits",
	  { I(3, "  source_entropy: {ipv4: 198.18.128.1/24}") },
	  4,
	  "edge.source_entropy.ipv4",
	  "did you mean 198.18.128.0/24" },
	{ "edge_unknown_key",
	  { I(3, "  interfaces: eth1") },
	  4,
	  "edge.interfaces",
	  "unknown key" },
	{ "edge_missing_interface",
	  { D(2) },
	  2,
	  "edge.interface",
	  "missing (required)" },
	/* Regions */
	{ "region_duplicate",
	  { R(10, "  - name: west") },
	  10,
	  "regions[west].name",
	  "duplicate region name (first at line 8)" },
	{ "region_tier_range",
	  { R(11, "    tier: 16") },
	  11,
	  "regions[east].tier",
	  "out of range 0..15" },
	{ "region_tier_missing",
	  { D(11) },
	  10,
	  "regions[east].tier",
	  "missing (required)" },
	{ "region_cost_negative",
	  { R(12, "    egress_cost_per_gb: -1") },
	  12,
	  "regions[east].egress_cost_per_gb",
	  "out of range" },
	{ "region_cost_garbage",
	  { R(12, "    egress_cost_per_gb: cheap") },
	  12,
	  "regions[east].egress_cost_per_gb",
	  "expected a number" },
	{ "region_name_chars",
	  { R(8, "  - name: west coast") },
	  8,
	  "regions[0].name",
	  "not allowed" },
	{ "region_unknown_key",
	  { I(9, "    teir: 1") },
	  10,
	  "regions[west].teir",
	  "unknown key" },
	{ "region_repeated_key",
	  { I(9, "    tier: 1") },
	  10,
	  "regions[west].tier",
	  "repeated key (first at line 9)" },
	{ "regions_empty",
	  { R(7, "regions: []"), D(8), D(9), D(10), D(11), D(12) },
	  7,
	  "regions",
	  "at least one region" },
	/* Probes */
	{ "probe_interval_small",
	  { I(17, "    probe: {interval: 5ms}") },
	  18,
	  "backends[w1].probe.interval",
	  "out of range 10ms..60s" },
	{ "probe_interval_unitless",
	  { I(17, "    probe: {interval: 100}") },
	  18,
	  "backends[w1].probe.interval",
	  "needs a unit" },
	{ "probe_interval_negative",
	  { I(17, "    probe: {interval: -1s}") },
	  18,
	  "backends[w1].probe.interval",
	  "negative" },
	{ "probe_interval_zero",
	  { I(17, "    probe: {interval: 0ms}") },
	  18,
	  "backends[w1].probe.interval",
	  "must be positive" },
	{ "probe_interval_fraction",
	  { I(17, "    probe: {interval: 10.5ms}") },
	  18,
	  "backends[w1].probe.interval",
	  "whole number of milliseconds" },
	{ "probe_interval_garbage",
	  { I(17, "    probe: {interval: fast}") },
	  18,
	  "backends[w1].probe.interval",
	  "expected a duration" },
	{ "probe_interval_large",
	  { I(17, "    probe: {interval: 61s}") },
	  18,
	  "backends[w1].probe.interval",
	  "out of range 10ms..60s" },
	{ "probe_timeout_over_interval",
	  { I(17, "    probe: {interval: 100ms, timeout: 200ms}") },
	  18,
	  "backends[w1].probe.timeout",
	  "longer than the interval" },
	{ "probe_timeout_inherited",
	  { I(9, "    probe: {interval: 1s, timeout: 500ms}"),
	    I(17, "    probe: {interval: 100ms}") },
	  19,
	  "backends[w1].probe.interval",
	  "timeout 500ms is longer" },
	{ "probe_top_level_timeout",
	  { R(1, "probe: {timeout: 200ms}\nedge:") },
	  1,
	  "probe.timeout",
	  "longer than the interval 100ms" },
	{ "probe_rise_zero",
	  { I(17, "    probe: {rise: 0}") },
	  18,
	  "backends[w1].probe.rise",
	  "out of range 1..100" },
	{ "probe_fall_large",
	  { I(17, "    probe: {fall: 101}") },
	  18,
	  "backends[w1].probe.fall",
	  "out of range 1..100" },
	{ "probe_jitter",
	  { I(17, "    probe: {jitter: 60%}") },
	  18,
	  "backends[w1].probe.jitter",
	  "0..50%" },
	{ "probe_http_key_on_tcp",
	  { I(17, "    probe: {type: tcp, path: /x}") },
	  18,
	  "backends[w1].probe.path",
	  "only for probes of type http" },
	{ "probe_unknown_type",
	  { I(17, "    probe: {type: icmp}") },
	  18,
	  "backends[w1].probe.type",
	  "unknown value 'icmp'" },
	{ "probe_status",
	  { I(17, "    probe: {type: http, status: 99}") },
	  18,
	  "backends[w1].probe.status",
	  "out of range 100..599" },
	{ "probe_none_with_interval",
	  { I(17, "    probe: {type: none, interval: 1s}") },
	  18,
	  "backends[w1].probe.interval",
	  "no effect with type none" },
	{ "probe_http_path",
	  { I(17, "    probe: {type: http, path: health}") },
	  18,
	  "backends[w1].probe.path",
	  "must start with /" },
	{ "probe_lag_header",
	  { I(17, "    probe: {type: http, lag_header: "
		  "\"X Lag\"}") },
	  18,
	  "backends[w1].probe.lag_header",
	  "not allowed in a header" },
	{ "probe_unknown_key",
	  { I(17, "    probe: {intervall: 1s}") },
	  18,
	  "backends[w1].probe.intervall",
	  "unknown key" },
	{ "probe_port_needed",
	  { D(16) },
	  14,
	  "backends[w1].port",
	  "tcp probe needs a port" },
	/* Backends */
	{ "backend_unknown_region",
	  { R(17, "    region: north") },
	  17,
	  "backends[w1].region",
	  "unknown region 'north'" },
	{ "backend_duplicate_address",
	  { R(19, "    address: 198.18.1.1") },
	  19,
	  "backends[e1].address",
	  "already used by backend 'w1' (line 15)" },
	{ "backend_duplicate_name",
	  { R(18, "  - name: w1") },
	  18,
	  "backends[w1].name",
	  "duplicate backend name (first at line 14)" },
	{ "backend_weight_zero",
	  { I(17, "    weight: 0") },
	  18,
	  "backends[w1].weight",
	  "out of range 1..1000" },
	{ "backend_weight_large",
	  { I(17, "    weight: 1001") },
	  18,
	  "backends[w1].weight",
	  "out of range 1..1000" },
	{ "backend_address_short",
	  { R(15, "    address: 198.18.1") },
	  15,
	  "backends[w1].address",
	  "not an IPv4 or IPv6 address" },
	{ "backend_address_multicast",
	  { R(15, "    address: 224.0.0.1") },
	  15,
	  "backends[w1].address",
	  "multicast" },
	{ "backend_address_mapped",
	  { R(15, "    address: ::ffff:198.18.1.1") },
	  15,
	  "backends[w1].address",
	  "IPv4-mapped" },
	{ "backend_address_missing",
	  { D(15) },
	  14,
	  "backends[w1].address",
	  "missing (required)" },
	{ "backend_port_range",
	  { R(16, "    port: 70000") },
	  16,
	  "backends[w1].port",
	  "out of range 1..65535" },
	{ "backend_not_mapping",
	  { R(14, "  - w1"), D(15), D(16), D(17) },
	  14,
	  "backends[0]",
	  "expected a mapping" },
	{ "backends_not_list",
	  { R(14, "  w1: x"), D(15), D(16), D(17), D(18), D(19), D(20), D(21) },
	  14,
	  "backends",
	  "expected a list" },
	/* Classes */
	{ "class_overlap_across",
	  { R(29, "      - 198.18.64.0/24") },
	  29,
	  "classes[pinned].prefixes[0]",
	  "overlaps 198.18.64.0/19 of class 'eu' (line 24)" },
	{ "class_overlap_within",
	  { R(24, "    prefixes: [198.18.64.0/19, 198.18.70.0/24]") },
	  24,
	  "classes[eu].prefixes[1]",
	  "in the same class" },
	{ "class_prefix_repeated",
	  { R(24, "    prefixes: [198.18.64.0/19, 198.18.64.0/19]") },
	  24,
	  "classes[eu].prefixes[1]",
	  "repeats 198.18.64.0/19" },
	{ "class_prefix_default_route",
	  { R(29, "      - 0.0.0.0/0") },
	  29,
	  "classes[pinned].prefixes[0]",
	  "overlaps 198.18.64.0/19" },
	{ "class_prefix_host_bits",
	  { R(29, "      - 198.18.96.1/20") },
	  29,
	  "classes[pinned].prefixes[0]",
	  "did you mean 198.18.96.0/20" },
	{ "class_prefix_length",
	  { R(29, "      - 198.18.96.0/33") },
	  29,
	  "classes[pinned].prefixes[0]",
	  "expected a prefix" },
	{ "class_allowed_unknown",
	  { R(25, "    allowed_regions: [west, north]") },
	  25,
	  "classes[eu].allowed_regions[1]",
	  "unknown region 'north'" },
	{ "class_allowed_twice",
	  { R(25, "    allowed_regions: [west, west]") },
	  25,
	  "classes[eu].allowed_regions[1]",
	  "listed twice" },
	{ "class_allowed_empty",
	  { R(25, "    allowed_regions: []") },
	  25,
	  "classes[eu].allowed_regions",
	  "leave the key out" },
	{ "class_strict_needs_allowed",
	  { D(25) },
	  25,
	  "classes[eu].strict",
	  "strict needs allowed_regions" },
	{ "class_prefixes_empty",
	  { R(24, "    prefixes: []") },
	  24,
	  "classes[eu].prefixes",
	  "at least one prefix" },
	{ "class_prefixes_missing",
	  { D(28), D(29) },
	  27,
	  "classes[pinned].prefixes",
	  "missing (required)" },
	{ "class_pin_length",
	  { R(30, "    pin_home: {ipv4: 33}") },
	  30,
	  "classes[pinned].pin_home.ipv4",
	  "out of range 1..32" },
	{ "class_pin_yes",
	  { R(30, "    pin_home: yes") },
	  30,
	  "classes[pinned].pin_home",
	  "expected true or false" },
	{ "class_duplicate_name",
	  { R(27, "  - name: eu") },
	  27,
	  "classes[eu].name",
	  "duplicate class name (first at line 23)" },
	{ "class_allowed_without_backends",
	  { I(12, SOUTH), R(25, "    allowed_regions: [south]") },
	  27,
	  "classes[eu].allowed_regions",
	  "none of the allowed regions has backends" },
	/* VIPs */
	{ "vip_duplicate_key",
	  { R(37, "    address: 198.18.50.1"), R(39, "      - tcp/80") },
	  39,
	  "vips[web6].ports[0]",
	  "198.18.50.1 tcp/80 is already VIP 'web' (line 34)" },
	{ "vip_port_twice",
	  { R(34, "    ports: [tcp/80, tcp/80]") },
	  34,
	  "vips[web].ports[1]",
	  "tcp/80 is listed twice" },
	{ "vip_port_range",
	  { R(34, "    ports: [tcp/70000]") },
	  34,
	  "vips[web].ports[0].port",
	  "1..65535" },
	{ "vip_port_proto",
	  { R(34, "    ports: [sctp/80]") },
	  34,
	  "vips[web].ports[0].proto",
	  "unknown protocol 'sctp'" },
	{ "vip_port_bare",
	  { R(34, "    ports: [80]") },
	  34,
	  "vips[web].ports[0]",
	  "expected PROTO/PORT" },
	{ "vip_port_map_zero",
	  { R(39, "      - {proto: tcp, port: 0}") },
	  39,
	  "vips[web6].ports[0].port",
	  "expected a port 1..65535 or *" },
	{ "vip_port_map_proto",
	  { R(39, "      - {proto: icmp, port: 1}") },
	  39,
	  "vips[web6].ports[0].proto",
	  "unknown protocol" },
	{ "vip_too_many_ports",
	  { R(34, "    ports: [tcp/1, tcp/2, tcp/3, tcp/4, tcp/5, tcp/6, "
		  "tcp/7, tcp/8, tcp/9, tcp/10, tcp/11, tcp/12, tcp/13, "
		  "tcp/14, tcp/15, tcp/16, tcp/17]") },
	  34,
	  "vips[web].ports",
	  "17 entries: at most 16" },
	{ "vip_ports_missing",
	  { D(38), D(39) },
	  36,
	  "vips[web6].ports",
	  "missing (required)" },
	{ "vip_weight_unknown_region",
	  { R(35, "    weights: {west: 100, north: 10}") },
	  35,
	  "vips[web].weights.north",
	  "unknown region 'north'" },
	{ "vip_weight_range",
	  { R(35, "    weights: {west: 1001}") },
	  35,
	  "vips[web].weights.west",
	  "out of range 0..1000" },
	{ "vip_weight_repeated",
	  { R(35, "    weights: {west: 1, west: 2}") },
	  35,
	  "vips[web].weights.west",
	  "repeated key" },
	{ "vip_weights_zero",
	  { R(35, "    weights: {west: 0, east: 0}") },
	  35,
	  "vips[web].weights",
	  "every region weight is 0" },
	{ "vip_weight_no_backends",
	  { I(12, SOUTH), R(35, "    weights: {west: 100, south: 5}") },
	  37,
	  "vips[web].weights.south",
	  "region 'south' has no backends" },
	{ "vip_encap_gue",
	  { I(35, "    encapsulation: gue") },
	  36,
	  "vips[web].encapsulation",
	  "GUE is not supported yet" },
	{ "vip_encap_unknown",
	  { I(35, "    encapsulation: vxlan") },
	  36,
	  "vips[web].encapsulation",
	  "unknown value 'vxlan'" },
	{ "vip_hash_unknown",
	  { I(35, "    hash: l3") },
	  36,
	  "vips[web].hash",
	  "unknown value 'l3'" },
	{ "vip_no_region_unknown",
	  { I(35, "    no_region: reject") },
	  36,
	  "vips[web].no_region",
	  "unknown value 'reject'" },
	{ "vip_echo_not_bool",
	  { I(35, "    echo: 1") },
	  36,
	  "vips[web].echo",
	  "expected true or false" },
	{ "vip_duplicate_name",
	  { R(36, "  - name: web") },
	  36,
	  "vips[web].name",
	  "duplicate VIP name (first at line 32)" },
	{ "vip_is_backend",
	  { R(33, "    address: 198.18.1.1") },
	  33,
	  "vips[web].address",
	  "also the address of backend 'w1'" },
	{ "vip_is_tunnel_source",
	  { R(33, "    address: 198.18.0.1") },
	  33,
	  "vips[web].address",
	  "tunnel source" },
	{ "vip_echo_disagrees",
	  { R(37, "    address: 198.18.50.1"), I(39, "    echo: false") },
	  40,
	  "vips[web6].echo",
	  "echo is off but on for VIP 'web'" },
	{ "vip_name_missing",
	  { R(32, "  - address: 198.18.50.1"), D(33) },
	  32,
	  "vips[0].name",
	  "missing (required)" },
	{ "vip_unknown_key",
	  { I(35, "    weight: 100") },
	  36,
	  "vips[web].weight",
	  "unknown key" },
	{ "vip_address_unspecified",
	  { R(37, "    address: \"::\"") },
	  37,
	  "vips[web6].address",
	  "unspecified" },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Positive tests */

static char *base_text(void)
{
	static const struct edit none[MAX_EDITS];

	return patched(none);
}

static void load_ok(const char *text, struct model *m)
{
	struct config_error err;
	int r = config_load_string(text, "test.yaml", m, &err);

	if (r)
		dump_error("unexpected error", &err);
	assert_int_equal(r, 0);
}

static void test_base_loads(void **state)
{
	char *text = base_text();
	struct model m;

	(void)state;
	load_ok(text, &m);
	free(text);
	assert_string_equal(m.path, "test.yaml");
	assert_int_equal(m.n_regions, 2);
	assert_int_equal(m.n_backends, 2);
	assert_int_equal(m.n_classes, 2);
	assert_int_equal(m.n_vips, 2);
	assert_int_equal(m.backends[1].region, 1);
	assert_int_equal(m.backends[1].addr.family, MERIDIAN_AF_INET6);
	assert_int_equal(m.classes[0].allowed_regions, 1u << 0);
	assert_true(m.classes[0].strict);
	assert_int_equal(m.classes[0].n_prefixes, 2);
	assert_int_equal(m.classes[0].prefixes[1].len, 36);
	assert_true(m.classes[1].pin_home);
	assert_int_equal(m.vips[0].n_ports, 2);
	assert_int_equal(m.vips[0].ports[0].proto, IPPROTO_TCP);
	assert_int_equal(m.vips[0].ports[0].port, 80);
	assert_int_equal(m.vips[0].ports[1].proto, IPPROTO_UDP);
	assert_int_equal(m.vips[0].ports[1].port, 443);
	assert_int_equal(m.vips[0].region_weight[0], 100);
	assert_int_equal(m.vips[0].region_weight[1], 10);
	model_free(&m);
	assert_model_empty(&m);
}

static const char minimal[] =
	"edge: {interface: eth0, region: here,\n"
	"       tunnel_source: {ipv4: 198.18.0.1}}\n"
	"regions: [{name: here, tier: 0}]\n"
	"backends:\n"
	"  - {address: 198.18.1.1, port: 80, region: here}\n"
	"vips:\n"
	"  - {name: v, address: 198.18.50.1, ports: "
	"[tcp/80]}\n";

static void test_defaults(void **state)
{
	const struct probe_spec *p;
	struct model m;

	(void)state;
	load_ok(minimal, &m);
	assert_int_equal(m.edge.mtu, 1500);
	assert_int_equal(m.edge.ttl, 64);
	assert_int_equal(m.edge.flood_limit, 0);
	assert_true(m.edge.overprovisioning > 1.39 &&
		    m.edge.overprovisioning < 1.41);
	assert_string_equal(m.edge.pin_dir, MERIDIAN_PIN_DIR);
	assert_string_equal(m.edge.control_socket, "/run/meridian/ctl");
	assert_string_equal(m.edge.metrics_listen, "127.0.0.1:9470");
	assert_int_equal(m.edge.tunnel_src6.family, 0);
	assert_int_equal(m.edge.entropy4.len, 0);
	assert_int_equal(m.regions[0].tier, 0);
	assert_true(m.regions[0].egress_cost_per_gb == 0.0);
	assert_string_equal(m.backends[0].name, "198.18.1.1");
	assert_int_equal(m.backends[0].weight, 100);
	p = &m.backends[0].probe;
	assert_int_equal(p->kind, PROBE_TCP);
	assert_int_equal(p->port, 0);
	assert_int_equal(p->interval_ms, 100);
	assert_int_equal(p->timeout_ms, 100);
	assert_int_equal(p->rise, 2);
	assert_int_equal(p->fall, 3);
	assert_int_equal(p->jitter_pct, 10);
	assert_string_equal(p->http_path, "");
	assert_int_equal(m.regions[0].probe.interval_ms, 100);
	assert_int_equal(m.vips[0].hash, VIP_HASH_L4);
	assert_int_equal(m.vips[0].no_region, VIP_NO_REGION_DROP);
	assert_true(m.vips[0].echo);
	assert_int_equal(m.vips[0].region_weight[0], 100);
	assert_int_equal(m.n_classes, 0);
	model_free(&m);
}

static const char layered[] =
	"probe: {type: http, path: /healthz, interval: 200ms, fall: 5}\n"
	"edge: {interface: eth0, region: a,\n"
	"       tunnel_source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}}\n"
	"regions:\n"
	"  - {name: a, tier: 0}\n"
	"  - {name: b, tier: 1, probe: {interval: 1s, timeout: 300ms}}\n"
	"  - {name: c, tier: 2}\n"
	"backends:\n"
	"  - {name: a1, address: 198.18.1.1, port: 8080, region: a}\n"
	"  - {name: b1, address: \"2001:db8:1::1\", port: 80, region: b,\n"
	"     probe: {interval: 500ms, body: ok, host: svc.example}}\n"
	"  - {name: b2, address: 198.18.2.2, port: 80, region: b,\n"
	"     probe: {type: tcp, port: 81}}\n"
	"  - {name: c1, address: 198.18.3.3, region: c, weight: 7,\n"
	"     probe: {type: none}}\n"
	"vips:\n"
	"  - name: v\n"
	"    address: \"2001:db8:50::1\"\n"
	"    ports: [udp/*, {proto: tcp, port: \"*\"}, {proto: tcp, port: 22}]\n"
	"    hash: addresses\n"
	"    no_region: pass\n"
	"    echo: false\n";

static void test_probe_layers(void **state)
{
	const struct probe_spec *p;
	struct model m;

	(void)state;
	load_ok(layered, &m);
	/* a1: top-level defaults, timeout follows the interval. */
	p = &m.backends[0].probe;
	assert_int_equal(p->kind, PROBE_HTTP);
	assert_string_equal(p->http_path, "/healthz");
	assert_string_equal(p->http_host, "");
	assert_int_equal(p->http_status, 200);
	assert_int_equal(p->interval_ms, 200);
	assert_int_equal(p->timeout_ms, 200);
	assert_int_equal(p->fall, 5);
	assert_int_equal(p->rise, 2);
	/* b1: region b's timeout kept, its own interval and body. */
	p = &m.backends[1].probe;
	assert_int_equal(p->interval_ms, 500);
	assert_int_equal(p->timeout_ms, 300);
	assert_string_equal(p->http_body, "ok");
	assert_string_equal(p->http_host, "svc.example");
	/* b2: tcp on another port; http fields cleared. */
	p = &m.backends[2].probe;
	assert_int_equal(p->kind, PROBE_TCP);
	assert_int_equal(p->port, 81);
	assert_int_equal(p->interval_ms, 1000);
	assert_string_equal(p->http_path, "");
	/* c1: no probe, no port needed. */
	assert_int_equal(m.backends[3].probe.kind, PROBE_NONE);
	assert_int_equal(m.backends[3].port, 0);
	assert_int_equal(m.backends[3].weight, 7);
	/* Region defaults as the model holds them. */
	assert_int_equal(m.regions[1].probe.interval_ms, 1000);
	assert_int_equal(m.regions[1].probe.timeout_ms, 300);
	assert_int_equal(m.regions[2].probe.interval_ms, 200);
	/* VIP: wildcards, default weights on regions with backends. */
	assert_int_equal(m.vips[0].n_ports, 3);
	assert_int_equal(m.vips[0].ports[0].proto, IPPROTO_UDP);
	assert_int_equal(m.vips[0].ports[0].port, 0);
	assert_int_equal(m.vips[0].ports[1].port, 0);
	assert_int_equal(m.vips[0].ports[2].port, 22);
	assert_int_equal(m.vips[0].region_weight[0], 100);
	assert_int_equal(m.vips[0].region_weight[1], 100);
	assert_int_equal(m.vips[0].region_weight[2], 100);
	assert_int_equal(m.vips[0].hash, VIP_HASH_ADDRS);
	assert_int_equal(m.vips[0].no_region, VIP_NO_REGION_PASS);
	assert_false(m.vips[0].echo);
	model_free(&m);
}

static void test_unnamed_ipv6_only(void **state)
{
	static const char text[] =
		"edge: {interface: eth0, region: a,\n"
		"       tunnel_source: {ipv6: \"2001:db8::1\"}}\n"
		"regions: [{name: a, tier: 0}]\n"
		"backends:\n"
		"  - {address: \"2001:db8:1::1\", port: 80, region: a,\n"
		"     probe: {type: http}}\n";
	struct model m;

	(void)state;
	load_ok(text, &m);
	assert_int_equal(m.backends[0].probe.kind, PROBE_HTTP);
	assert_string_equal(m.backends[0].probe.http_host, "");
	assert_string_equal(m.backends[0].name, "2001:db8:1::1");
	assert_int_equal(m.n_vips, 0);
	model_free(&m);
}

/* VIPs sharing an address: one echo key, on the first of them. */
static void test_echo_per_address(void **state)
{
	char *text;
	struct model m;
	const struct edit e[MAX_EDITS] = {
		R(37, "    address: 198.18.50.1"),
	};

	(void)state;
	text = patched(e);
	load_ok(text, &m);
	free(text);
	assert_true(m.vips[0].echo);
	assert_false(m.vips[1].echo);
	model_free(&m);
}

static void test_aliases(void **state)
{
	static const char text[] =
		"edge: {interface: eth0, region: a,\n"
		"       tunnel_source: {ipv4: 198.18.0.1}}\n"
		"regions:\n"
		"  - {name: a, tier: 0, probe: &slow {interval: 2s, fall: 2}}\n"
		"  - {name: b, tier: 1, probe: *slow}\n"
		"backends:\n"
		"  - {address: 198.18.1.1, port: 80, region: b}\n";
	struct model m;

	(void)state;
	load_ok(text, &m);
	assert_int_equal(m.backends[0].probe.interval_ms, 2000);
	assert_int_equal(m.backends[0].probe.fall, 2);
	model_free(&m);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} ok[] = {
		{ "probe: {interval: 10ms}", 10 },
		{ "probe: {interval: 1s}", 1000 },
		{ "probe: {interval: 1.5s}", 1500 },
		{ "probe: {interval: 0.25s}", 250 },
		{ "probe: {interval: 60s}", 60000 },
		{ "probe: {interval: 60000ms}", 60000 },
	};
	struct model m;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[64];
		char *text;

		snprintf(line, sizeof(line), "%s\nedge:", ok[i].text);
		text = patched((const struct edit[MAX_EDITS]){ R(1, line) });
		load_ok(text, &m);
		free(text);
		assert_int_equal(m.backends[0].probe.interval_ms, ok[i].ms);
		model_free(&m);
	}
}

static void test_example(void **state)
{
	struct config_error err;
	struct model m;
	int r;

	(void)state;
	r = config_load_file(EXAMPLE, &m, &err);
	if (r)
		dump_error(EXAMPLE, &err);
	assert_int_equal(r, 0);
	assert_string_equal(m.path, EXAMPLE);
	assert_string_equal(m.edge.interface, "eth0");
	assert_string_equal(m.regions[m.edge.region].name, "eu-west");
	assert_int_equal(m.n_regions, 3);
	assert_int_equal(m.regions[1].tier, 1);
	assert_string_equal(m.regions[2].name, "us-east");
	assert_int_equal(m.n_backends, 6);
	for (uint32_t r2 = 0; r2 < m.n_regions; r2++) {
		uint32_t n = 0, i;

		for (i = 0; i < m.n_backends; i++)
			n += m.backends[i].region == r2;
		assert_int_equal(n, 2);
	}
	assert_int_equal(m.backends[1].weight, 200);
	assert_int_equal(m.backends[3].probe.kind, PROBE_TCP);
	assert_int_equal(m.backends[4].probe.interval_ms, 500);
	assert_string_equal(m.backends[4].probe.http_body, "ok");
	assert_int_equal(m.n_classes, 2);
	assert_true(m.classes[0].strict);
	assert_int_equal(m.classes[0].allowed_regions, 0x3);
	assert_true(m.classes[1].pin_home);
	assert_int_equal(m.classes[1].pin_prefixlen6, 56);
	assert_int_equal(m.n_vips, 2);
	assert_int_equal(m.vips[0].addr.family, MERIDIAN_AF_INET);
	assert_int_equal(m.vips[1].addr.family, MERIDIAN_AF_INET6);
	assert_int_equal(m.vips[1].region_weight[2], 22);
	model_free(&m);
}

/* The same text twice gives the same model, byte for byte. */
static void test_deterministic(void **state)
{
	struct model a, b;
	uint32_t i;

	(void)state;
	load_ok(layered, &a);
	load_ok(layered, &b);
	assert_memory_equal(&a.edge, &b.edge, sizeof(a.edge));
	assert_memory_equal(a.regions, b.regions, sizeof(a.regions));
	assert_memory_equal(a.backends, b.backends,
			    a.n_backends * sizeof(*a.backends));
	assert_memory_equal(a.vips, b.vips, a.n_vips * sizeof(*a.vips));
	for (i = 0; i < a.n_classes; i++)
		assert_memory_equal(a.classes[i].prefixes,
				    b.classes[i].prefixes,
				    a.classes[i].n_prefixes *
					    sizeof(*a.classes[i].prefixes));
	model_free(&a);
	model_free(&b);
}

static void expect_load_error(const char *text, int line, const char *field,
			      const char *msg)
{
	struct config_error err;
	struct model m;
	int r = config_load_string(text, "test.yaml", &m, &err);

	if (r != -EINVAL || err.line != line || strcmp(err.field, field) ||
	    !strstr(err.msg, msg))
		dump_error("got", &err);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(err.line, line);
	assert_string_equal(err.field, field);
	assert_non_null(strstr(err.msg, msg));
	assert_model_empty(&m);
}

static void test_empty(void **state)
{
	(void)state;
	expect_load_error("", 1, "", "empty configuration");
	expect_load_error("# only a comment\n", 1, "", "empty configuration");
	expect_load_error("- a\n- b\n", 1, "", "expected a mapping");
}

/* A growing text buffer for generated configurations. */
struct text {
	char *buf;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap ? t->cap * 2 : 1 << 16;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
		t->buf[t->len] = '\0';
	}
	t->len += (size_t)n;
}

/*
 * n_vips VIPs x n_regions regions x per_region backends (HTTP probes), and
 * n_classes classes of 16 prefixes each.
 */
static void generate(struct text *t, uint32_t n_vips, uint32_t n_regions,
		     uint32_t per_region, uint32_t n_classes)
{
	uint32_t i, j, k;

	put(t, "version: 1\n"
	       "edge:\n  interface: eth0\n  region: r0\n"
	       "  tunnel_source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
	       "probe: {type: http, path: /health, interval: 50ms}\n"
	       "regions:\n");
	for (i = 0; i < n_regions; i++)
		put(t, "  - {name: r%u, tier: %u, egress_cost_per_gb: 0.01}\n",
		    i, i ? 1 + i % 15 : 0);
	put(t, "backends:\n");
	for (i = 0; i < n_regions; i++)
		for (j = 0; j < per_region; j++)
			put(t,
			    "  - name: r%u-b%u\n"
			    "    address: \"2001:db8:%x::%x\"\n"
			    "    port: 80\n"
			    "    region: r%u\n"
			    "    weight: %u\n",
			    i, j, 0x100 + i, j + 1, i, 1 + j % 100);
	put(t, "classes:\n");
	for (i = 0; i < n_classes; i++) {
		put(t, "  - name: c%u\n    prefixes:\n", i);
		for (k = 0; k < 16; k++)
			put(t, "      - 198.%u.%u.0/24\n", 19 + i / 16,
			    (i % 16) * 16 + k);
		put(t, "    allowed_regions: [r0, r1]\n");
	}
	put(t, "vips:\n");
	for (i = 0; i < n_vips; i++) {
		put(t,
		    "  - name: vip%u\n"
		    "    address: 198.18.%u.%u\n"
		    "    ports: [tcp/80, tcp/443, udp/443]\n"
		    "    weights: {",
		    i, 100 + i / 250, 1 + i % 250);
		for (j = 0; j < n_regions; j++)
			put(t, "%sr%u: %u", j ? ", " : "", j, 100 - j * 10);
		put(t, "}\n");
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Reports the time; asserts only the outcome (no timed assertions). */
static void test_large(void **state)
{
	struct text t = { 0 };
	struct model m;
	double t0, t1;

	(void)state;
	generate(&t, 1000, 8, 64, 8);
	t0 = now_ms();
	load_ok(t.buf, &m);
	t1 = now_ms();
	print_message("large config: %u VIPs, %u regions, %u backends, "
		      "%u classes, %zu KiB of YAML: loaded in %.1f ms\n",
		      m.n_vips, m.n_regions, m.n_backends, m.n_classes,
		      t.len >> 10, t1 - t0);
	assert_int_equal(m.n_vips, 1000);
	assert_int_equal(m.n_backends, 512);
	assert_int_equal(m.backends[511].region, 7);
	assert_int_equal(m.vips[999].region_weight[7], 30);
	model_free(&m);
	free(t.buf);
}

/* 1-based line of the first occurrence of needle. */
static int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *p;
	int line = 1;

	assert_non_null(at);
	for (p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static void test_limits(void **state)
{
	struct text t = { 0 };

	(void)state;
	/* 33 regions */
	generate(&t, 1, MERIDIAN_MAX_REGIONS + 1, 1, 0);
	expect_load_error(t.buf, line_of(t.buf, "  - {name: r0,"), "regions",
			  "33 entries: at most 32");
	free(t.buf);
	memset(&t, 0, sizeof(t));
	/* 256 classes: one more than the data plane's ids allow */
	generate(&t, 1, 2, 1, MERIDIAN_MAX_CLASSES);
	expect_load_error(t.buf, line_of(t.buf, "  - name: c0\n"), "classes",
			  "256 entries: at most 255");
	free(t.buf);
	memset(&t, 0, sizeof(t));
	/* 1000 VIPs x (17 classes + 1) region tables > 16384 */
	generate(&t, 1000, 2, 1, 17);
	expect_load_error(t.buf, line_of(t.buf, "  - name: vip999\n"), "vips",
			  "18000 region tables");
	free(t.buf);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64], buf[512];
	static const char nul[] = "edge:\n  interface: e\0th0\n";
	struct config_error err;
	struct model m;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_int_equal(config_load_file(path, &m, &err), -ENOENT);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 0);
	config_error_format(&err, buf, sizeof(buf));
	assert_non_null(strstr(buf, "No such file"));
	assert_true(!strncmp(buf, path, strlen(path)));
	assert_model_empty(&m);

	assert_int_equal(config_load_file(dir, &m, &err), -EISDIR);

	snprintf(path, sizeof(path), "%s/nul.yaml", dir);
	write_file(path, nul, sizeof(nul) - 1);
	assert_int_equal(config_load_file(path, &m, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "NUL byte"));
	unlink(path);

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	text = patched((const struct edit[MAX_EDITS]){ R(16, "    port: 0") });
	write_file(path, text, strlen(text));
	free(text);
	assert_int_equal(config_load_file(path, &m, &err), -EINVAL);
	config_error_format(&err, buf, sizeof(buf));
	assert_non_null(strstr(buf, "/bad.yaml:16:11: backends[w1].port: "
				    "0 is out of range 1..65535"));
	unlink(path);

	snprintf(path, sizeof(path), "%s/good.yaml", dir);
	text = base_text();
	write_file(path, text, strlen(text));
	free(text);
	assert_int_equal(config_load_file(path, &m, &err), 0);
	assert_string_equal(m.path, path);
	model_free(&m);
	unlink(path);
	rmdir(dir);
}

static void test_error_format(void **state)
{
	struct config_error e = { 0 };
	char buf[600], small[12];

	(void)state;
	strcpy(e.file, "a.yaml");
	e.line = 3;
	e.column = 7;
	strcpy(e.field, "vips[2].ports[0].port");
	strcpy(e.msg, "bad");
	config_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "a.yaml:3:7: vips[2].ports[0].port: bad");
	e.field[0] = '\0';
	config_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "a.yaml:3:7: bad");
	e.line = 0;
	config_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "a.yaml: bad");
	config_error_format(&e, small, sizeof(small));
	assert_string_equal(small, "a.yaml: bad");
	config_error_format(&e, small, 4);
	assert_string_equal(small, "a.y");
}

static void test_addr_helpers(void **state)
{
	struct model_prefix p;
	struct model_addr a;
	char buf[MODEL_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(model_prefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(p.len, 32);
	assert_true(model_prefix_is_canonical(&p));
	assert_int_equal(model_addr_parse("2001:db8:1::5", &a), 0);
	assert_true(model_prefix_contains(&p, &a));
	assert_int_equal(model_addr_parse("198.18.0.1", &a), 0);
	assert_false(model_prefix_contains(&p, &a));
	assert_int_equal(model_prefix_parse("198.18.3.4/23", &p), 0);
	assert_false(model_prefix_is_canonical(&p));
	model_prefix_canonical(&p);
	model_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.2.0/23");
	assert_int_equal(model_prefix_parse("198.18.3.4", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(model_prefix_parse("198.18.0.0/", &p), -EINVAL);
	assert_int_equal(model_prefix_parse("198.18.0.0/08", &p), -EINVAL);
	assert_int_equal(model_prefix_parse("198.18.0.0/-1", &p), -EINVAL);
	assert_int_equal(model_prefix_parse("::/129", &p), -EINVAL);
	assert_int_equal(model_addr_parse("eth0", &a), -EINVAL);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_base_loads),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_probe_layers),
		cmocka_unit_test(test_unnamed_ipv6_only),
		cmocka_unit_test(test_echo_per_address),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_addr_helpers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_large),
	};
	size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t total = n_fixed + N_CASES, i;
	struct CMUnitTest *tests = calloc(total, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < N_CASES; i++) {
		tests[n_fixed + i].name = cases[i].name;
		tests[n_fixed + i].test_func = run_error_case;
		tests[n_fixed + i].initial_state = (void *)&cases[i];
	}
	failed = _cmocka_run_group_tests("config", tests, total, NULL, NULL);
	free(tests);
	printf("%d passed, %d failed\n", (int)total - failed, failed);
	return failed ? 1 : 0;
}
