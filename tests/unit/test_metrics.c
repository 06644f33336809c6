// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the metrics renderer (userspace/common/metrics_render.c)
 * and the counter views behind meridianctl stats (counter_view.c): exact
 * series for known snapshots, the exposition format's structure, and
 * `promtool check metrics` on the output when promtool is installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "config.h"
#include "counter_snapshot.h"
#include "metrics_render.h"

static int n_skipped;

#define SKIP_TEST(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "skipped: " __VA_ARGS__);                      \
		fprintf(stderr, "\n");                                         \
		n_skipped++;                                                   \
		skip();                                                        \
	} while (0)

static const char config_text[] =
	"edge:\n"
	"  interface: eth0\n"
	"  region: west\n"
	"  tunnel_source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
	"regions:\n"
	"  - {name: west, tier: 0}\n"
	"  - {name: east, tier: 1, egress_cost_per_gb: 0.05}\n"
	"  - {name: empty, tier: 2}\n"
	"backends:\n"
	"  - {name: w1, address: 198.18.1.1, port: 80, region: west}\n"
	"  - {name: w2, address: 198.18.1.2, port: 80, region: west}\n"
	"  - name: e1\n"
	"    address: 2001:db8:2::1\n"
	"    port: 80\n"
	"    region: east\n"
	"    probe: {type: none}\n"
	"vips:\n"
	"  - name: web\n"
	"    address: 198.18.50.1\n"
	"    ports: [tcp/80]\n"
	"    weights: {west: 100, east: 10}\n"
	"  - name: web6\n"
	"    address: 2001:db8:50::1\n"
	"    ports: [tcp/443]\n";

struct fixture {
	struct model model;
	struct counter_snapshot *prev;
	struct counter_snapshot *cur;
	struct metrics_rtt_hist rtt[3];
	struct metrics_backend backends[3];
	struct metrics_controller ctl;
	struct metrics_input in;
	char *text; /* rendered */
	size_t len;
};

static int setup(void **state)
{
	struct config_error err;
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->prev = calloc(1, sizeof(*f->prev));
	f->cur = calloc(1, sizeof(*f->cur));
	if (!f->prev || !f->cur ||
	    config_load_string(config_text, "test.yaml", &f->model, &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	f->in.model = &f->model;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_free(&f->model);
	free(f->prev);
	free(f->cur);
	free(f->text);
	free(f);
	return 0;
}

/* A data plane that saw known traffic, two seconds apart. */
static void fill_counters(struct fixture *f)
{
	struct counter_snapshot *p = f->prev, *c = f->cur;

	p->taken_ns = 1000000000ull;
	c->taken_ns = 3000000000ull;
	p->n_regions = c->n_regions = 3;
	p->n_vips = c->n_vips = 2;
	p->n_backends = c->n_backends = 3;
	c->regions[0] = (struct meridian_region_stats){ 10, 1500, 10, 1700 };
	c->regions[1] = (struct meridian_region_stats){ 4, 4000, 4, 4160 };
	p->regions[1] = (struct meridian_region_stats){ 2, 2000, 2, 2080 };
	c->vips[0] = (struct meridian_traffic_stats){ 12, 3500 };
	c->vips[1] = (struct meridian_traffic_stats){ 2, 2000 };
	c->backends[0] = (struct meridian_traffic_stats){ 6, 900 };
	c->backends[1] = (struct meridian_traffic_stats){ 4, 600 };
	c->backends[2] = (struct meridian_traffic_stats){ 4, 4000 };
	c->counters.action[MERIDIAN_ACT_TX] = 13;
	c->counters.action[MERIDIAN_ACT_FALLBACK] = 1;
	c->counters.action[MERIDIAN_ACT_DROP] = 2;
	c->counters.drop[MERIDIAN_DROP_NO_REGION] = 2;
	c->counters.lru_hit = 11;
	c->counters.lru_miss = 3;
	c->counters.echo_reply = 5;
}

static void fill_health(struct fixture *f)
{
	metrics_rtt_observe(&f->rtt[0], 80); /* <= 100 us */
	metrics_rtt_observe(&f->rtt[0], 100); /* the bound is inclusive */
	metrics_rtt_observe(&f->rtt[0], 101);
	metrics_rtt_observe(&f->rtt[0], 3000000); /* above every bound */
	f->backends[0] = (struct metrics_backend){
		.state = HEALTH_UP, .probed = true, .lag_seconds = 1.5,
		.transitions = 1, .rtt = &f->rtt[0],
	};
	f->backends[1] = (struct metrics_backend){
		.state = HEALTH_DOWN, .probed = true, .lag_seconds = 7.25,
		.transitions = 3, .probe_failures = 9, .failovers = 0,
		.rtt = &f->rtt[1],
	};
	f->backends[2] = (struct metrics_backend){
		.state = HEALTH_UP, .probed = false, .lag_seconds = NAN,
		.failovers = 2, .rtt = &f->rtt[2],
	};
	f->ctl = (struct metrics_controller){
		.generation = 42,
		.reconcile_age_seconds = 12.5,
		.reconcile_duration_seconds = 0.002,
		.decision_seconds = NAN,
		.tables_stale_seconds = 0,
		.reconcile_failures = 1,
		.probes_in_flight = 2,
	};
	f->in.backends = f->backends;
	f->in.controller = &f->ctl;
}

static void render(struct fixture *f)
{
	FILE *out;

	free(f->text);
	f->text = NULL;
	out = open_memstream(&f->text, &f->len);
	assert_non_null(out);
	assert_int_equal(metrics_render(out, &f->in), 0);
	assert_int_equal(fclose(out), 0);
}

/* The exact line, start to end, is in the text. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

#define assert_line(text, ...)                                                 \
	do {                                                                   \
		char want_[512];                                               \
		snprintf(want_, sizeof(want_), __VA_ARGS__);                   \
		if (!has_line(text, want_))                                    \
			fail_msg("missing line: %s", want_);                   \
	} while (0)

#define refute_text(text, piece)                                               \
	do {                                                                   \
		if (strstr(text, piece))                                       \
			fail_msg("unexpected: %s", piece);                     \
	} while (0)

/* --- rtt histogram, listen address, rates ------------------------------- */

static void test_rtt_buckets(void **state)
{
	struct metrics_rtt_hist h = { 0 };
	unsigned int i;

	(void)state;
	for (i = 0; i < METRICS_RTT_BOUNDS; i++) {
		metrics_rtt_observe(&h, metrics_rtt_bounds_us[i]);
		assert_int_equal(h.bucket[i], 1);
	}
	metrics_rtt_observe(&h, metrics_rtt_bounds_us[0] + 1);
	assert_int_equal(h.bucket[1], 2);
	metrics_rtt_observe(&h, UINT32_MAX);
	assert_int_equal(h.bucket[METRICS_RTT_BOUNDS], 1);
	metrics_rtt_observe(&h, 0);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.count, METRICS_RTT_BOUNDS + 3);
	for (i = 1; i < METRICS_RTT_BOUNDS; i++)
		assert_true(metrics_rtt_bounds_us[i] >
			    metrics_rtt_bounds_us[i - 1]);
}

static void test_listen_parse(void **state)
{
	static const char *const bad[] = {
		"",		 "127.0.0.1",	    "127.0.0.1:",
		"127.0.0.1:0",	 "127.0.0.1:65536", "127.0.0.1:9x",
		"localhost:9470", "::1:9470",	    "[::1]",
		"[::1:9470",	 "[]:9470",	    "[127.0.0.1]:9470",
		":9470",	 "127.0.0.1:-1",    "127.0.0.1:123456",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char buf[INET6_ADDRSTRLEN];
	socklen_t len;
	size_t i;

	(void)state;
	assert_int_equal(metrics_listen_parse("127.0.0.1:9470", &ss, &len), 0);
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 9470);
	assert_int_equal(len, sizeof(*s4));
	assert_int_equal(s4->sin_addr.s_addr, htonl(0x7f000001));
	assert_int_equal(metrics_listen_parse("[::1]:65535", &ss, &len), 0);
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 65535);
	assert_int_equal(len, sizeof(*s6));
	inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
	assert_string_equal(buf, "::1");
	assert_int_equal(metrics_listen_parse("[2001:db8::5]:1", &ss, &len),
			 0);
	assert_int_equal(metrics_listen_parse("0.0.0.0:9470", &ss, &len), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (metrics_listen_parse(bad[i], &ss, &len) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_rates(void **state)
{
	struct counter_snapshot *a = calloc(2, sizeof(*a)), *b = a + 1;

	(void)state;
	assert_non_null(a);
	assert_true(counter_rate(100, 300, 2.0) == 100.0);
	assert_true(counter_rate(0, 0, 1.0) == 0.0);
	/* Reset: counted from zero. */
	assert_true(counter_rate(500, 40, 2.0) == 20.0);
	assert_true(isnan(counter_rate(1, 2, 0.0)));
	assert_true(isnan(counter_rate(1, 2, -1.0)));
	a->taken_ns = 5000000000ull;
	b->taken_ns = 5500000000ull;
	assert_true(counter_interval(a, b) == 0.5);
	assert_true(isnan(counter_interval(b, a)));
	assert_true(isnan(counter_interval(NULL, b)));
	assert_true(counter_egress_cost(2000000000ull, 0.05) == 0.1);
	assert_true(counter_egress_cost(123, 0) == 0.0);
	free(a);
}

/* --- counter rows (meridianctl stats, top) ------------------------------ */

static void test_rows_with_model(void **state)
{
	struct fixture *f = *state;
	struct counter_row rows[MERIDIAN_MAX_BACKENDS];
	size_t n;

	fill_counters(f);
	n = counter_rows(f->cur, f->prev, &f->model, COUNTER_REGIONS, rows,
			 MERIDIAN_MAX_BACKENDS);
	/* Every configured region, idle ones too. */
	assert_int_equal(n, 3);
	assert_string_equal(rows[1].name, "east");
	assert_int_equal(rows[1].packets, 4);
	assert_int_equal(rows[1].egress_bytes, 4160);
	assert_true(rows[1].packets_rate == 1.0);
	assert_true(rows[1].bytes_rate == 1000.0);
	assert_true(rows[1].egress_bytes_rate == 1040.0);
	assert_true(rows[1].egress_cost == 4160 / 1e9 * 0.05);
	assert_true(rows[0].egress_cost == 0.0);
	assert_string_equal(rows[2].name, "empty");
	assert_int_equal(rows[2].packets, 0);

	n = counter_rows(f->cur, f->prev, &f->model, COUNTER_BACKENDS, rows,
			 MERIDIAN_MAX_BACKENDS);
	assert_int_equal(n, 3);
	assert_string_equal(rows[2].name, "e1");
	assert_string_equal(rows[2].region, "east");
	assert_true(rows[2].bytes_rate == 2000.0);
	assert_true(isnan(rows[2].egress_bytes_rate));

	/* No earlier snapshot: totals, no rates. */
	n = counter_rows(f->cur, NULL, &f->model, COUNTER_VIPS, rows,
			 MERIDIAN_MAX_BACKENDS);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].name, "web");
	assert_int_equal(rows[0].bytes, 3500);
	assert_true(isnan(rows[0].packets_rate));
	assert_true(isnan(rows[0].egress_cost));

	/* cap bounds the output. */
	assert_int_equal(counter_rows(f->cur, NULL, &f->model,
				      COUNTER_REGIONS, rows, 2),
			 2);
}

static void test_rows_without_model(void **state)
{
	struct fixture *f = *state;
	struct counter_row rows[MERIDIAN_MAX_REGIONS];
	size_t n;

	fill_counters(f);
	f->cur->n_regions = MERIDIAN_MAX_REGIONS;
	f->cur->regions[17] = (struct meridian_region_stats){ 0, 0, 1, 80 };
	/* Only ids with traffic, by id, no names and no cost. */
	n = counter_rows(f->cur, f->prev, NULL, COUNTER_REGIONS, rows,
			 MERIDIAN_MAX_REGIONS);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].id, 0);
	assert_int_equal(rows[1].id, 1);
	assert_int_equal(rows[2].id, 17);
	assert_null(rows[2].name);
	assert_true(isnan(rows[2].egress_cost));
	assert_true(rows[2].egress_bytes_rate == 40.0);
}

/* --- rendering ---------------------------------------------------------- */

static void test_render_counters(void **state)
{
	struct fixture *f = *state;
	const char *t;

	fill_counters(f);
	f->in.counters = f->cur;
	render(f);
	t = f->text;
	assert_line(t, "meridian_counters_readable 1");
	assert_line(t, "meridian_region_packets_total{region=\"west\"} 10");
	assert_line(t, "meridian_region_bytes_total{region=\"west\"} 1500");
	assert_line(t,
		    "meridian_region_egress_packets_total{region=\"east\"} 4");
	assert_line(t,
		    "meridian_region_egress_bytes_total{region=\"east\"} 4160");
	assert_line(t, "meridian_region_packets_total{region=\"empty\"} 0");
	assert_line(t,
		    "meridian_region_egress_cost_total{region=\"east\"} %.15g",
		    4160 / 1e9 * 0.05);
	assert_line(t, "meridian_region_egress_cost_total{region=\"west\"} 0");
	assert_line(t, "meridian_vip_packets_total{vip=\"web\"} 12");
	assert_line(t, "meridian_vip_bytes_total{vip=\"web6\"} 2000");
	assert_line(t, "meridian_backend_packets_total{region=\"west\","
		       "backend=\"w2\"} 4");
	assert_line(t, "meridian_backend_bytes_total{region=\"east\","
		       "backend=\"e1\"} 4000");
	assert_line(t, "meridian_actions_total{action=\"tx\"} 13");
	assert_line(t, "meridian_actions_total{action=\"fallback\"} 1");
	assert_line(t, "meridian_actions_total{action=\"redirect\"} 0");
	assert_line(t, "meridian_drops_total{reason=\"no_region\"} 2");
	assert_line(t, "meridian_drops_total{reason=\"malformed\"} 0");
	assert_line(t, "meridian_lru_hits_total 11");
	assert_line(t, "meridian_lru_misses_total 3");
	assert_line(t, "meridian_icmp_echo_replies_total 5");
	assert_line(t, "meridian_region_tier{region=\"empty\"} 2");
	/* No health or controller input: those families stay out. */
	refute_text(t, "meridian_backend_up");
	refute_text(t, "meridian_table_generation");
}

static void test_render_unreadable(void **state)
{
	struct fixture *f = *state;

	fill_health(f);
	f->in.counters = NULL;
	render(f);
	assert_line(f->text, "meridian_counters_readable 0");
	refute_text(f->text, "meridian_region_packets_total");
	refute_text(f->text, "meridian_drops_total");
	/* Health does not depend on the maps. */
	assert_line(f->text, "meridian_backend_up{region=\"west\","
			     "backend=\"w1\"} 1");
}

static void test_render_health(void **state)
{
	struct fixture *f = *state;
	const char *t;

	fill_counters(f);
	fill_health(f);
	f->in.counters = f->cur;
	render(f);
	t = f->text;
	assert_line(t, "meridian_backend_up{region=\"west\",backend=\"w1\"} 1");
	assert_line(t, "meridian_backend_up{region=\"west\",backend=\"w2\"} 0");
	assert_line(t, "meridian_backend_health_state{region=\"west\","
		       "backend=\"w2\",state=\"down\"} 1");
	assert_line(t, "meridian_backend_health_state{region=\"west\","
		       "backend=\"w2\",state=\"up\"} 0");
	assert_line(t, "meridian_backend_health_state{region=\"west\","
		       "backend=\"w2\",state=\"unknown\"} 0");
	assert_line(t, "meridian_backend_health_transitions_total{region="
		       "\"west\",backend=\"w2\"} 3");
	assert_line(t, "meridian_backend_probe_failures_total{region=\"west\","
		       "backend=\"w2\"} 9");
	/* Histogram: cumulative buckets, +Inf equals the count. */
	assert_line(t, "meridian_backend_probe_rtt_seconds_bucket{region="
		       "\"west\",backend=\"w1\",le=\"0.0001\"} 2");
	assert_line(t, "meridian_backend_probe_rtt_seconds_bucket{region="
		       "\"west\",backend=\"w1\",le=\"0.00025\"} 3");
	assert_line(t, "meridian_backend_probe_rtt_seconds_bucket{region="
		       "\"west\",backend=\"w1\",le=\"2.5\"} 3");
	assert_line(t, "meridian_backend_probe_rtt_seconds_bucket{region="
		       "\"west\",backend=\"w1\",le=\"+Inf\"} 4");
	assert_line(t, "meridian_backend_probe_rtt_seconds_count{region="
		       "\"west\",backend=\"w1\"} 4");
	assert_line(t, "meridian_backend_probe_rtt_seconds_sum{region="
		       "\"west\",backend=\"w1\"} 3.000281");
	/* Unprobed backends have no RTT and no lag. */
	refute_text(t, "meridian_backend_probe_rtt_seconds_count{region="
		       "\"east\"");
	assert_line(t, "meridian_backend_replication_lag_seconds{region="
		       "\"west\",backend=\"w1\"} 1.5");
	assert_line(t, "meridian_backend_replication_lag_seconds{region="
		       "\"west\",backend=\"w2\"} 7.25");
	refute_text(t, "meridian_backend_replication_lag_seconds{region="
		       "\"east\"");
	/* Region view: max lag, up count, failovers summed. */
	assert_line(t, "meridian_region_replication_lag_max_seconds{region="
		       "\"west\"} 7.25");
	refute_text(t, "meridian_region_replication_lag_max_seconds{region="
		       "\"east\"");
	assert_line(t, "meridian_region_backends{region=\"west\"} 2");
	assert_line(t, "meridian_region_backends_up{region=\"west\"} 1");
	assert_line(t, "meridian_region_backends{region=\"empty\"} 0");
	assert_line(t, "meridian_region_backends_up{region=\"empty\"} 0");
	assert_line(t, "meridian_region_failovers_total{region=\"east\"} 2");
	assert_line(t, "meridian_region_failovers_total{region=\"west\"} 0");
	/* Controller. */
	assert_line(t, "meridian_table_generation 42");
	assert_line(t, "meridian_reconcile_age_seconds 12.5");
	assert_line(t, "meridian_reconcile_duration_seconds 0.002");
	assert_line(t, "meridian_tables_stale_seconds 0");
	assert_line(t, "meridian_reconcile_failures_total 1");
	assert_line(t, "meridian_probes_in_flight 2");
	refute_text(t, "meridian_health_decision_to_map_seconds");
	f->ctl.decision_seconds = 0.0125;
	f->ctl.reconcile_age_seconds = NAN;
	render(f);
	assert_line(f->text, "meridian_health_decision_to_map_seconds 0.0125");
	refute_text(f->text, "meridian_reconcile_age_seconds");
}

/* Format checks promtool would make, so they run without it too. */
struct family_seen {
	char name[96];
	char type[16];
};

static bool name_in_family(const char *metric, size_t len,
			   const struct family_seen *fam)
{
	static const char *const hist_suffix[] = { "_bucket", "_sum",
						   "_count" };
	size_t n = strlen(fam->name), i;

	if (len == n && !strncmp(metric, fam->name, n))
		return true;
	if (strcmp(fam->type, "histogram") || len <= n ||
	    strncmp(metric, fam->name, n))
		return false;
	for (i = 0; i < 3; i++)
		if (len - n == strlen(hist_suffix[i]) &&
		    !strncmp(metric + n, hist_suffix[i], len - n))
			return true;
	return false;
}

static void check_structure(const char *text)
{
	struct family_seen fams[256];
	char (*series)[256] = calloc(4096, 256);
	size_t n_fams = 0, n_series = 0, i, len;
	const char *line = text, *end, *sp;
	char help_name[96];

	assert_non_null(series);
	for (; *line; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		len = (size_t)(end - line);
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line, "# HELP %95s", help_name),
					 1);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_true(n_fams < 256);
			assert_int_equal(sscanf(line, "# TYPE %95s %15s",
						fams[n_fams].name,
						fams[n_fams].type),
					 2);
			/* HELP right before TYPE, same name. */
			assert_string_equal(help_name, fams[n_fams].name);
			for (i = 0; i < n_fams; i++)
				if (!strcmp(fams[i].name, fams[n_fams].name))
					fail_msg("family %s twice",
						 fams[i].name);
			if (!strcmp(fams[n_fams].type, "counter") &&
			    strlen(fams[n_fams].name) < 6)
				fail_msg("short counter name");
			if (!strcmp(fams[n_fams].type, "counter") &&
			    strcmp(fams[n_fams].name +
					   strlen(fams[n_fams].name) - 6,
				   "_total"))
				fail_msg("counter %s without _total",
					 fams[n_fams].name);
			n_fams++;
			continue;
		}
		assert_true(n_fams > 0);
		sp = memchr(line, '{', len);
		if (!sp)
			sp = memchr(line, ' ', len);
		assert_non_null(sp);
		if (!name_in_family(line, (size_t)(sp - line),
				    &fams[n_fams - 1]))
			fail_msg("series %.*s outside its family %s", (int)len,
				 line, fams[n_fams - 1].name);
		/* Series identity: everything before the value. */
		sp = memrchr(line, ' ', len);
		assert_non_null(sp);
		assert_true((size_t)(sp - line) < 256 && n_series < 4096);
		memcpy(series[n_series], line, (size_t)(sp - line));
		for (i = 0; i < n_series; i++)
			if (!strcmp(series[i], series[n_series]))
				fail_msg("series twice: %s", series[i]);
		n_series++;
	}
	free(series);
}

static void test_render_structure(void **state)
{
	struct fixture *f = *state;

	fill_counters(f);
	fill_health(f);
	f->in.counters = f->cur;
	render(f);
	check_structure(f->text);
	f->in.counters = NULL;
	f->in.backends = NULL;
	f->in.controller = NULL;
	render(f);
	check_structure(f->text);
}

/* Label values are escaped, whatever a future config allows. */
static void test_render_escaping(void **state)
{
	struct fixture *f = *state;

	fill_counters(f);
	f->in.counters = f->cur;
	snprintf(f->model.vips[0].name, MODEL_NAME_MAX, "a\"b\\c\nd");
	render(f);
	assert_line(f->text,
		    "meridian_vip_packets_total{vip=\"a\\\"b\\\\c\\nd\"} 12");
}

/*
 * Series grow with the config by the amounts metrics_render.h states: 10
 * per region, 2 per VIP, 26 per backend, 32 fixed, less what is absent.
 */
static void test_render_cardinality(void **state)
{
	struct fixture *f = *state;
	size_t series = 0, want;
	const char *p;

	fill_counters(f);
	fill_health(f);
	f->in.counters = f->cur;
	render(f);
	for (p = f->text; *p; p = strchr(p, '\n') + 1)
		series += *p != '#';
	want = 10 * 3 + 2 * 2 + 26 * 3 + 32;
	/* e1: no probe, so no histogram (17) and no lag; east and empty
	 * report no lag; no health decision yet. */
	want -= 17 + 1 + 2 + 1;
	assert_int_equal(series, want);
}

static int run_promtool(const char *path, char *out, size_t len)
{
	char cmd[512];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

static void promtool_check(struct fixture *f)
{
	char path[] = "/tmp/meridian-metrics-XXXXXX", out[4096];
	int fd, status;

	render(f);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->text, f->len), (ssize_t)f->len);
	close(fd);
	status = run_promtool(path, out, sizeof(out));
	unlink(path);
	if (status != 0 || out[0])
		fail_msg("promtool check metrics (status %d):\n%s", status,
			 out);
}

static void test_promtool(void **state)
{
	struct fixture *f = *state;

	if (!have_promtool())
		SKIP_TEST("promtool missing (Debian package prometheus)");
	fill_counters(f);
	fill_health(f);
	f->in.counters = f->cur;
	promtool_check(f);
	f->in.counters = NULL;
	promtool_check(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rtt_buckets),	    T(test_listen_parse),
		T(test_rates),		    T(test_rows_with_model),
		T(test_rows_without_model), T(test_render_counters),
		T(test_render_unreadable),  T(test_render_health),
		T(test_render_structure),   T(test_render_escaping),
		T(test_render_cardinality), T(test_promtool),
	};
#undef T
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed;

	failed = cmocka_run_group_tests(tests, NULL, NULL);
	printf("%d passed, %d failed, %d skipped\n", total - failed - n_skipped,
	       failed, n_skipped);
	return failed ? 1 : 0;
}
