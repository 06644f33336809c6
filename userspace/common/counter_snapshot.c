// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reading the edge's per-CPU counter maps into a snapshot. */
#include <string.h>
#include <time.h>

#include "counter_snapshot.h"

static uint32_t clamp(uint32_t n, uint32_t max)
{
	return n < max ? n : max;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int counter_snapshot_read(const struct meridian_maps *m, uint32_t n_regions,
			  uint32_t n_vips, uint32_t n_backends,
			  struct counter_snapshot *s)
{
	uint32_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->n_regions = clamp(n_regions, MERIDIAN_MAX_REGIONS);
	s->n_vips = clamp(n_vips, MERIDIAN_MAX_VIPS);
	s->n_backends = clamp(n_backends, MERIDIAN_MAX_BACKENDS);
	err = meridian_counters_read(m, &s->counters);
	for (i = 0; !err && i < s->n_regions; i++)
		err = meridian_region_stats_read(m, i, &s->regions[i]);
	for (i = 0; !err && i < s->n_vips; i++)
		err = meridian_vip_stats_read(m, i, &s->vips[i]);
	for (i = 0; !err && i < s->n_backends; i++)
		err = meridian_backend_stats_read(m, i, &s->backends[i]);
	s->taken_ns = monotonic_ns();
	return err;
}
