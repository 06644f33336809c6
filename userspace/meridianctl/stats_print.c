// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Formatting of a stats snapshot, as text for people and JSON for tools. */
#include <inttypes.h>
#include <stdbool.h>

#include "meridianctl.h"

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

static bool region_has_traffic(const struct meridian_region_stats *r)
{
	return r->packets || r->egress_packets;
}

static bool has_traffic(const struct meridian_traffic_stats *t)
{
	return t->packets != 0;
}

static void text_traffic(FILE *out, const char *title,
			 const struct meridian_traffic_stats *t, size_t n)
{
	bool header = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!has_traffic(&t[i]))
			continue;
		if (!header)
			fprintf(out, "%s:\n  %-8s %16s %20s\n", title, "id",
				"packets", "bytes");
		header = true;
		fprintf(out, "  %-8zu %16" PRIu64 " %20" PRIu64 "\n", i,
			(uint64_t)t[i].packets, (uint64_t)t[i].bytes);
	}
}

static void text_regions(FILE *out, const struct stats_snapshot *s)
{
	const struct meridian_region_stats *r;
	bool header = false;
	size_t i;

	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++) {
		r = &s->regions[i];
		if (!region_has_traffic(r))
			continue;
		if (!header)
			fprintf(out, "regions:\n  %-8s %16s %20s %16s %20s\n",
				"id", "packets", "bytes", "egress_packets",
				"egress_bytes");
		header = true;
		fprintf(out,
			"  %-8zu %16" PRIu64 " %20" PRIu64 " %16" PRIu64
			" %20" PRIu64 "\n",
			i, (uint64_t)r->packets, (uint64_t)r->bytes,
			(uint64_t)r->egress_packets,
			(uint64_t)r->egress_bytes);
	}
	if (!header)
		fprintf(out, "regions: no traffic\n");
}

void stats_print_text(FILE *out, const struct stats_snapshot *s)
{
	const struct meridian_counters *c = &s->counters;
	struct named_counter other[8];
	size_t i, n;

	fprintf(out, "actions:\n");
	for (i = 0; i < MERIDIAN_ACT_MAX; i++)
		fprintf(out, "  %-16s %20" PRIu64 "\n", meridian_action_name(i),
			(uint64_t)c->action[i]);
	fprintf(out, "drops:\n");
	for (i = 0; i < MERIDIAN_DROP_MAX; i++)
		fprintf(out, "  %-16s %20" PRIu64 "\n", meridian_drop_name(i),
			(uint64_t)c->drop[i]);
	fprintf(out, "flows and icmp:\n");
	n = other_counters(c, other);
	for (i = 0; i < n; i++)
		fprintf(out, "  %-16s %20" PRIu64 "\n", other[i].name,
			(uint64_t)other[i].value);
	text_regions(out, s);
	text_traffic(out, "vips", s->vips, MERIDIAN_MAX_VIPS);
	text_traffic(out, "backends", s->backends, MERIDIAN_MAX_BACKENDS);
}

static void json_named(FILE *out, const char *key,
		       const char *(*name)(unsigned int), const __u64 *values,
		       size_t n)
{
	size_t i;

	fprintf(out, "\"%s\":{", key);
	for (i = 0; i < n; i++)
		fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", name(i),
			(uint64_t)values[i]);
	fprintf(out, "}");
}

static void json_regions(FILE *out, const struct stats_snapshot *s)
{
	const struct meridian_region_stats *r;
	bool first = true;
	size_t i;

	fprintf(out, "\"regions\":[");
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++) {
		r = &s->regions[i];
		if (!region_has_traffic(r))
			continue;
		fprintf(out,
			"%s{\"id\":%zu,\"packets\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"egress_packets\":%" PRIu64
			",\"egress_bytes\":%" PRIu64 "}",
			first ? "" : ",", i, (uint64_t)r->packets,
			(uint64_t)r->bytes, (uint64_t)r->egress_packets,
			(uint64_t)r->egress_bytes);
		first = false;
	}
	fprintf(out, "]");
}

static void json_traffic(FILE *out, const char *key,
			 const struct meridian_traffic_stats *t, size_t n)
{
	bool first = true;
	size_t i;

	fprintf(out, "\"%s\":[", key);
	for (i = 0; i < n; i++) {
		if (!has_traffic(&t[i]))
			continue;
		fprintf(out,
			"%s{\"id\":%zu,\"packets\":%" PRIu64
			",\"bytes\":%" PRIu64 "}",
			first ? "" : ",", i, (uint64_t)t[i].packets,
			(uint64_t)t[i].bytes);
		first = false;
	}
	fprintf(out, "]");
}

void stats_print_json(FILE *out, const struct stats_snapshot *s)
{
	const struct meridian_counters *c = &s->counters;
	struct named_counter other[8];
	size_t i, n;

	fprintf(out, "{\"counters\":{");
	json_named(out, "actions", meridian_action_name, c->action,
		   MERIDIAN_ACT_MAX);
	fprintf(out, ",");
	json_named(out, "drops", meridian_drop_name, c->drop,
		   MERIDIAN_DROP_MAX);
	n = other_counters(c, other);
	for (i = 0; i < n; i++)
		fprintf(out, ",\"%s\":%" PRIu64, other[i].name,
			(uint64_t)other[i].value);
	fprintf(out, "},");
	json_regions(out, s);
	fprintf(out, ",");
	json_traffic(out, "vips", s->vips, MERIDIAN_MAX_VIPS);
	fprintf(out, ",");
	json_traffic(out, "backends", s->backends, MERIDIAN_MAX_BACKENDS);
	fprintf(out, "}\n");
}
