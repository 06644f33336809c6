/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The edge's counters at one moment, summed over CPUs, and what people read
 * off one or two such snapshots: per region, VIP and backend totals, rates
 * and the estimated egress cost. meridiand renders them as Prometheus
 * metrics; meridianctl stats and top print them.
 *
 * Reading touches the maps (counter_snapshot.c); everything else is pure
 * (counter_view.c).
 */
#ifndef MERIDIAN_COUNTER_SNAPSHOT_H
#define MERIDIAN_COUNTER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "meridian_access.h"
#include "model.h"

/* Egress cost is configured per GB; a GB here is 10^9 bytes. */
#define COUNTER_BYTES_PER_GB 1e9

/* About 130 KiB: allocate it, do not put it on the stack. */
struct counter_snapshot {
	uint64_t taken_ns; /* CLOCK_MONOTONIC, when the read finished */
	/* Ids 0 .. n-1 were read; the rest of each array is zero. */
	uint32_t n_regions;
	uint32_t n_vips;
	uint32_t n_backends;
	struct meridian_counters counters;
	struct meridian_region_stats regions[MERIDIAN_MAX_REGIONS];
	struct meridian_traffic_stats vips[MERIDIAN_MAX_VIPS];
	struct meridian_traffic_stats backends[MERIDIAN_MAX_BACKENDS];
};

/*
 * Reads the global counters and ids below each count (clamped to the map
 * limits) into s, which it zeroes first. Returns 0 or the negative errno of
 * the first read that failed (logged by the accessor).
 */
int counter_snapshot_read(const struct meridian_maps *m, uint32_t n_regions,
			  uint32_t n_vips, uint32_t n_backends,
			  struct counter_snapshot *s);

/* Ids a snapshot needs to cover a model: everything it names. */
void counter_snapshot_counts(const struct model *m, uint32_t *n_regions,
			     uint32_t *n_vips, uint32_t *n_backends);

/*
 * Per second between two readings of one counter. A counter that went
 * backwards was reset (the maps were created afresh), so it counts from 0,
 * as Prometheus' rate() does. NAN when seconds is not positive.
 */
double counter_rate(uint64_t prev, uint64_t cur, double seconds);

/* Seconds between two snapshots; NAN if prev is NULL or not older. */
double counter_interval(const struct counter_snapshot *prev,
			const struct counter_snapshot *cur);

/* bytes / 10^9 * cost_per_gb. */
double counter_egress_cost(uint64_t bytes, double cost_per_gb);

enum counter_table {
	COUNTER_REGIONS,
	COUNTER_VIPS,
	COUNTER_BACKENDS,
};

/* One line of a per-region, per-VIP or per-backend table. */
struct counter_row {
	uint32_t id;
	const char *name; /* from the model; NULL without one */
	const char *region; /* backends: their region's name, else NULL */
	uint64_t packets;
	uint64_t bytes;
	uint64_t egress_packets; /* regions only */
	uint64_t egress_bytes; /* regions only */
	/* Per second; NAN without an earlier snapshot. */
	double packets_rate;
	double bytes_rate;
	double egress_packets_rate;
	double egress_bytes_rate;
	double egress_cost; /* regions with a model; NAN otherwise */
};

/*
 * The rows of one table from cur, and rates against prev (may be NULL).
 * With a model: every id it names, in config order, traffic or not.
 * Without: every id read that has traffic. Returns the number of rows,
 * at most cap (use counter_table_size for room).
 */
size_t counter_rows(const struct counter_snapshot *cur,
		    const struct counter_snapshot *prev,
		    const struct model *m, enum counter_table table,
		    struct counter_row *out, size_t cap);

/* The most rows counter_rows can give for that table. */
size_t counter_table_size(enum counter_table table);

#endif /* MERIDIAN_COUNTER_SNAPSHOT_H */
