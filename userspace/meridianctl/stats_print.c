// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Formatting of counter snapshots: tables for people, one JSON object for
 * tools. JSON keeps its first keys stable ("counters" first; region rows
 * start with "id" then "packets") because scripts grep them.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "stats.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct named_counter {
	const char *name;
	__u64 value;
};

/* The scalar counters besides actions and drops, in output order. */
static size_t other_counters(const struct meridian_counters *c,
			     struct named_counter *out)
{
	const struct named_counter list[] = {
		{ "lru_hit", c->lru_hit },
		{ "lru_miss", c->lru_miss },
		{ "lru_repick", c->lru_repick },
		{ "lru_skip", c->lru_skip },
		{ "icmp_too_big", c->icmp_too_big },
		{ "icmp_steered", c->icmp_steered },
		{ "echo_reply", c->echo_reply },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(list); i++)
		out[i] = list[i];
	return ARRAY_LEN(list);
}

const char *stats_si(double v, char *buf, size_t len)
{
	static const char prefix[] = " kMGTPE";
	size_t i = 0;

	if (isnan(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	while (fabs(v) >= 999.5 && i < sizeof(prefix) - 2) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.3g", v);
	else
		snprintf(buf, len, "%.3g%c", v, prefix[i]);
	return buf;
}

static double interval_of(const struct stats_view *v)
{
	return counter_interval(v->prev, v->cur);
}

/* --- text --------------------------------------------------------------- */

static void text_counter(FILE *out, const struct stats_view *v,
			 const char *name, __u64 cur, __u64 prev)
{
	char rate[16];

	fprintf(out, "  %-16s %20" PRIu64, name, (uint64_t)cur);
	if (v->prev)
		fprintf(out, " %10s/s",
			stats_si(counter_rate(prev, cur, interval_of(v)), rate,
				 sizeof(rate)));
	fprintf(out, "\n");
}

static void text_counters(FILE *out, const struct stats_view *v)
{
	static const struct meridian_counters zero;
	const struct meridian_counters *c = &v->cur->counters;
	const struct meridian_counters *p = v->prev ? &v->prev->counters :
						      &zero;
	struct named_counter cn[8], pn[8];
	size_t i, n;

	fprintf(out, "actions:\n");
	for (i = 0; i < MERIDIAN_ACT_MAX; i++)
		text_counter(out, v, meridian_action_name(i), c->action[i],
			     p->action[i]);
	fprintf(out, "drops:\n");
	for (i = 0; i < MERIDIAN_DROP_MAX; i++)
		text_counter(out, v, meridian_drop_name(i), c->drop[i],
			     p->drop[i]);
	fprintf(out, "flows and icmp:\n");
	n = other_counters(c, cn);
	other_counters(p, pn);
	for (i = 0; i < n; i++)
		text_counter(out, v, cn[i].name, cn[i].value, pn[i].value);
}

static const char *row_name(const struct counter_row *r, char *buf,
			    size_t len)
{
	if (r->name)
		return r->name;
	snprintf(buf, len, "%u", r->id);
	return buf;
}

static struct counter_row *rows_of(const struct stats_view *v,
				   enum counter_table t, size_t *n)
{
	size_t cap = counter_table_size(t);
	struct counter_row *rows = calloc(cap, sizeof(*rows));

	*n = rows ? counter_rows(v->cur, v->prev, v->model, t, rows, cap) : 0;
	if (!rows)
		fprintf(stderr, "meridianctl: out of memory for %zu rows\n",
			cap);
	return rows;
}

static void text_regions(FILE *out, const struct stats_view *v)
{
	char id[16], a[16], b[16], c[16];
	struct counter_row *rows, *r;
	size_t n, i;

	rows = rows_of(v, COUNTER_REGIONS, &n);
	if (!n) {
		fprintf(out, "regions: no traffic\n");
		free(rows);
		return;
	}
	fprintf(out, "regions:\n  %-16s %14s %18s %14s %18s", "region",
		"packets", "bytes", "egress_packets", "egress_bytes");
	if (v->prev)
		fprintf(out, " %9s %10s %10s", "pkt/s", "in bit/s",
			"out bit/s");
	if (v->model)
		fprintf(out, " %12s", "egress_cost");
	fprintf(out, "\n");
	for (i = 0; i < n; i++) {
		r = &rows[i];
		fprintf(out,
			"  %-16s %14" PRIu64 " %18" PRIu64 " %14" PRIu64
			" %18" PRIu64,
			row_name(r, id, sizeof(id)), r->packets, r->bytes,
			r->egress_packets, r->egress_bytes);
		if (v->prev)
			fprintf(out, " %9s %10s %10s",
				stats_si(r->packets_rate, a, sizeof(a)),
				stats_si(r->bytes_rate * 8, b, sizeof(b)),
				stats_si(r->egress_bytes_rate * 8, c,
					 sizeof(c)));
		if (v->model)
			fprintf(out, " %12.6g", r->egress_cost);
		fprintf(out, "\n");
	}
	free(rows);
}

static void text_traffic(FILE *out, const struct stats_view *v,
			 enum counter_table t, const char *title)
{
	char id[16], a[16], b[16];
	struct counter_row *rows, *r;
	size_t n, i;

	rows = rows_of(v, t, &n);
	if (!n) {
		free(rows);
		return;
	}
	fprintf(out, "%s:\n  %-24s", title,
		t == COUNTER_VIPS ? "vip" : "backend");
	if (t == COUNTER_BACKENDS && v->model)
		fprintf(out, " %-16s", "region");
	fprintf(out, " %14s %18s", "packets", "bytes");
	if (v->prev)
		fprintf(out, " %9s %10s", "pkt/s", "bit/s");
	fprintf(out, "\n");
	for (i = 0; i < n; i++) {
		r = &rows[i];
		fprintf(out, "  %-24s", row_name(r, id, sizeof(id)));
		if (t == COUNTER_BACKENDS && v->model)
			fprintf(out, " %-16s", r->region);
		fprintf(out, " %14" PRIu64 " %18" PRIu64, r->packets,
			r->bytes);
		if (v->prev)
			fprintf(out, " %9s %10s",
				stats_si(r->packets_rate, a, sizeof(a)),
				stats_si(r->bytes_rate * 8, b, sizeof(b)));
		fprintf(out, "\n");
	}
	free(rows);
}

void stats_show_text(FILE *out, const struct stats_view *v)
{
	if (v->prev)
		fprintf(out, "rates over %.2f s\n", interval_of(v));
	text_counters(out, v);
	text_regions(out, v);
	text_traffic(out, v, COUNTER_VIPS, "vips");
	text_traffic(out, v, COUNTER_BACKENDS, "backends");
}

/* --- JSON --------------------------------------------------------------- */

/* JSON has no NaN: a rate that cannot be computed is null. */
static void json_number(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.6g", v);
	else
		fprintf(out, "null");
}

static void json_named(FILE *out, const char *key,
		       const char *(*name)(unsigned int), const __u64 *values,
		       const __u64 *prev, double secs, size_t n)
{
	size_t i;

	fprintf(out, "\"%s\":{", key);
	for (i = 0; i < n; i++) {
		fprintf(out, "%s\"%s\":", i ? "," : "", name(i));
		if (prev)
			json_number(out,
				    counter_rate(prev[i], values[i], secs));
		else
			fprintf(out, "%" PRIu64, (uint64_t)values[i]);
	}
	fprintf(out, "}");
}

/* The counters object; with prev, the same shape holding rates. */
static void json_counters(FILE *out, const struct meridian_counters *c,
			  const struct meridian_counters *prev, double secs)
{
	struct named_counter cn[8], pn[8];
	size_t i, n;

	fprintf(out, "{");
	json_named(out, "actions", meridian_action_name, c->action,
		   prev ? prev->action : NULL, secs, MERIDIAN_ACT_MAX);
	fprintf(out, ",");
	json_named(out, "drops", meridian_drop_name, c->drop,
		   prev ? prev->drop : NULL, secs, MERIDIAN_DROP_MAX);
	n = other_counters(c, cn);
	if (prev)
		other_counters(prev, pn);
	for (i = 0; i < n; i++) {
		fprintf(out, ",\"%s\":", cn[i].name);
		if (prev)
			json_number(out, counter_rate(pn[i].value, cn[i].value,
						      secs));
		else
			fprintf(out, "%" PRIu64, (uint64_t)cn[i].value);
	}
	fprintf(out, "}");
}

static void json_rates(FILE *out, const struct counter_row *r, bool egress)
{
	fprintf(out, ",\"packets_per_second\":");
	json_number(out, r->packets_rate);
	fprintf(out, ",\"bytes_per_second\":");
	json_number(out, r->bytes_rate);
	if (!egress)
		return;
	fprintf(out, ",\"egress_packets_per_second\":");
	json_number(out, r->egress_packets_rate);
	fprintf(out, ",\"egress_bytes_per_second\":");
	json_number(out, r->egress_bytes_rate);
}

static void json_row(FILE *out, const struct stats_view *v,
		     const struct counter_row *r, enum counter_table t)
{
	fprintf(out, "{\"id\":%u,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64,
		r->id, r->packets, r->bytes);
	if (t == COUNTER_REGIONS)
		fprintf(out,
			",\"egress_packets\":%" PRIu64
			",\"egress_bytes\":%" PRIu64,
			r->egress_packets, r->egress_bytes);
	/* Names are config names: letters, digits, '.', '_' and '-'. */
	if (r->name)
		fprintf(out, ",\"name\":\"%s\"", r->name);
	if (r->region)
		fprintf(out, ",\"region\":\"%s\"", r->region);
	if (t == COUNTER_REGIONS && v->model) {
		fprintf(out, ",\"egress_cost\":");
		json_number(out, r->egress_cost);
	}
	if (v->prev)
		json_rates(out, r, t == COUNTER_REGIONS);
	fprintf(out, "}");
}

static void json_table(FILE *out, const struct stats_view *v,
		       enum counter_table t, const char *key)
{
	struct counter_row *rows;
	size_t n, i;

	rows = rows_of(v, t, &n);
	fprintf(out, "\"%s\":[", key);
	for (i = 0; i < n; i++) {
		if (i)
			fprintf(out, ",");
		json_row(out, v, &rows[i], t);
	}
	fprintf(out, "]");
	free(rows);
}

void stats_show_json(FILE *out, const struct stats_view *v)
{
	double secs = interval_of(v);

	fprintf(out, "{\"counters\":");
	json_counters(out, &v->cur->counters, NULL, secs);
	if (v->prev) {
		fprintf(out, ",\"interval_seconds\":");
		json_number(out, secs);
		fprintf(out, ",\"rates\":");
		json_counters(out, &v->cur->counters, &v->prev->counters,
			      secs);
	}
	fprintf(out, ",");
	json_table(out, v, COUNTER_REGIONS, "regions");
	fprintf(out, ",");
	json_table(out, v, COUNTER_VIPS, "vips");
	fprintf(out, ",");
	json_table(out, v, COUNTER_BACKENDS, "backends");
	fprintf(out, "}\n");
}
