/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Region slots for a region table, pure (no I/O, no logging).
 *
 * slot[] is indexed by a flow or client hash and holds a region id. Each
 * region with weight > 0 gets exactly its largest-remainder share of the
 * slots (a 10 % canary gets 410 of 4096). Slots are handed out by the
 * weighted-rendezvous fill of maglev.h, keyed by region id, so a client
 * pinned to a slot keeps its region when another region's weight changes or
 * the region goes away; only the exact shares move a few more slots (about
 * 1 % of the table on a removal, see tests/unit/test_weighted_slots.c).
 */
#ifndef MERIDIAN_WEIGHTED_SLOTS_H
#define MERIDIAN_WEIGHTED_SLOTS_H

#include <stdint.h>

/*
 * Fill slot[0..nslots-1] from weight[0..nregions-1]; region ids are the
 * indexes into weight. With every weight 0, every slot is
 * MERIDIAN_REGION_NONE and 0 is returned. Returns 0, -EINVAL (NULL pointer,
 * nregions > MERIDIAN_MAX_REGIONS, nslots 0 or above MAGLEV_FILL_MAX) or
 * -ENOMEM; slot[] is untouched on failure.
 */
int weighted_slots_fill(const uint32_t *weight, unsigned int nregions,
			uint8_t *slot, unsigned int nslots);

#endif /* MERIDIAN_WEIGHTED_SLOTS_H */
