// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Totals, rates and egress cost from counter snapshots: pure, no I/O. */
#include <math.h>
#include <string.h>

#include "counter_snapshot.h"

void counter_snapshot_counts(const struct model *m, uint32_t *n_regions,
			     uint32_t *n_vips, uint32_t *n_backends)
{
	*n_regions = m->n_regions;
	*n_vips = m->n_vips;
	*n_backends = m->n_backends;
}

double counter_rate(uint64_t prev, uint64_t cur, double seconds)
{
	if (!(seconds > 0))
		return NAN;
	if (cur < prev)
		return (double)cur / seconds;
	return (double)(cur - prev) / seconds;
}

double counter_interval(const struct counter_snapshot *prev,
			const struct counter_snapshot *cur)
{
	if (!prev || cur->taken_ns <= prev->taken_ns)
		return NAN;
	return (double)(cur->taken_ns - prev->taken_ns) / 1e9;
}

double counter_egress_cost(uint64_t bytes, double cost_per_gb)
{
	return (double)bytes / COUNTER_BYTES_PER_GB * cost_per_gb;
}

size_t counter_table_size(enum counter_table table)
{
	switch (table) {
	case COUNTER_REGIONS:
		return MERIDIAN_MAX_REGIONS;
	case COUNTER_VIPS:
		return MERIDIAN_MAX_VIPS;
	case COUNTER_BACKENDS:
		return MERIDIAN_MAX_BACKENDS;
	}
	return 0;
}

static void fill_region(struct counter_row *row, uint32_t id,
			const struct counter_snapshot *cur,
			const struct counter_snapshot *prev, double secs)
{
	static const struct meridian_region_stats zero;
	const struct meridian_region_stats *c = &cur->regions[id];
	const struct meridian_region_stats *p = prev ? &prev->regions[id] :
						       &zero;

	row->packets = c->packets;
	row->bytes = c->bytes;
	row->egress_packets = c->egress_packets;
	row->egress_bytes = c->egress_bytes;
	row->packets_rate = counter_rate(p->packets, c->packets, secs);
	row->bytes_rate = counter_rate(p->bytes, c->bytes, secs);
	row->egress_packets_rate =
		counter_rate(p->egress_packets, c->egress_packets, secs);
	row->egress_bytes_rate =
		counter_rate(p->egress_bytes, c->egress_bytes, secs);
}

static void fill_traffic(struct counter_row *row,
			 const struct meridian_traffic_stats *c,
			 const struct meridian_traffic_stats *p, double secs)
{
	static const struct meridian_traffic_stats zero;

	if (!p)
		p = &zero;
	row->packets = c->packets;
	row->bytes = c->bytes;
	row->packets_rate = counter_rate(p->packets, c->packets, secs);
	row->bytes_rate = counter_rate(p->bytes, c->bytes, secs);
	row->egress_packets_rate = NAN;
	row->egress_bytes_rate = NAN;
}

static void fill_row(struct counter_row *row, uint32_t id,
		     const struct counter_snapshot *cur,
		     const struct counter_snapshot *prev,
		     const struct model *m, enum counter_table table)
{
	double secs = counter_interval(prev, cur);

	memset(row, 0, sizeof(*row));
	row->id = id;
	row->egress_cost = NAN;
	switch (table) {
	case COUNTER_REGIONS:
		fill_region(row, id, cur, prev, secs);
		if (m) {
			row->name = m->regions[id].name;
			row->egress_cost = counter_egress_cost(
				row->egress_bytes,
				m->regions[id].egress_cost_per_gb);
		}
		break;
	case COUNTER_VIPS:
		fill_traffic(row, &cur->vips[id], prev ? &prev->vips[id] : NULL,
			     secs);
		if (m)
			row->name = m->vips[id].name;
		break;
	case COUNTER_BACKENDS:
		fill_traffic(row, &cur->backends[id],
			     prev ? &prev->backends[id] : NULL, secs);
		if (m) {
			row->name = m->backends[id].name;
			row->region = m->regions[m->backends[id].region].name;
		}
		break;
	}
}

static uint32_t ids_in(const struct counter_snapshot *cur,
		       const struct model *m, enum counter_table table)
{
	uint32_t n = 0;

	switch (table) {
	case COUNTER_REGIONS:
		n = m ? m->n_regions : cur->n_regions;
		break;
	case COUNTER_VIPS:
		n = m ? m->n_vips : cur->n_vips;
		break;
	case COUNTER_BACKENDS:
		n = m ? m->n_backends : cur->n_backends;
		break;
	}
	return n < counter_table_size(table) ? n : counter_table_size(table);
}

size_t counter_rows(const struct counter_snapshot *cur,
		    const struct counter_snapshot *prev,
		    const struct model *m, enum counter_table table,
		    struct counter_row *out, size_t cap)
{
	uint32_t id, n = ids_in(cur, m, table);
	size_t rows = 0;

	for (id = 0; id < n && rows < cap; id++) {
		fill_row(&out[rows], id, cur, prev, m, table);
		/* Without names, an idle id is just noise. */
		if (!m && !out[rows].packets && !out[rows].egress_packets)
			continue;
		rows++;
	}
	return rows;
}
