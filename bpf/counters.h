/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-CPU accounting. Plain increments: each CPU owns its slot. */
#ifndef MERIDIAN_BPF_COUNTERS_H
#define MERIDIAN_BPF_COUNTERS_H

#include "maps.h"

static __always_inline struct meridian_counters *counters_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&meridian_counters, &zero);
}

static __always_inline void count_traffic(void *map, __u32 id, __u64 bytes)
{
	struct meridian_traffic_stats *s = bpf_map_lookup_elem(map, &id);

	if (s) {
		s->packets++;
		s->bytes += bytes;
	}
}

static __always_inline void count_region(__u32 region, __u64 bytes,
					 __u64 egress_bytes)
{
	struct meridian_region_stats *s;

	s = bpf_map_lookup_elem(&meridian_region_stats, &region);
	if (!s)
		return;
	s->packets++;
	s->bytes += bytes;
	if (egress_bytes) {
		s->egress_packets++;
		s->egress_bytes += egress_bytes;
	}
}

#endif /* MERIDIAN_BPF_COUNTERS_H */
