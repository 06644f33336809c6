// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash64.h"
#include "maglev.h"
#include "meridian_maps.h"
#include "weighted_slots.h"

/* Part of the table contract: changing them reshuffles every region table. */
#define SLOTS_SEED_OFFSET 0x726567696f6e2d6full /* "region-o" */
#define SLOTS_SEED_SKIP 0x726567696f6e2d73ull /* "region-s" */

static void region_entrants(const uint32_t *weight, const uint32_t *quota,
			    unsigned int nregions, unsigned int nslots,
			    struct maglev_entrant *e)
{
	unsigned int r;

	for (r = 0; r < nregions; r++) {
		e[r].offset = hash64_pair(SLOTS_SEED_OFFSET, r) % nslots;
		e[r].skip = maglev_skip_from_hash(
			hash64_pair(SLOTS_SEED_SKIP, r), nslots);
		e[r].weight = weight[r];
		e[r].quota = quota[r];
		e[r].value = r;
	}
}

int weighted_slots_fill(const uint32_t *weight, unsigned int nregions,
			uint8_t *slot, unsigned int nslots)
{
	struct maglev_entrant e[MERIDIAN_MAX_REGIONS];
	uint32_t quota[MERIDIAN_MAX_REGIONS];
	uint32_t *table;
	unsigned int i;
	int err;

	if (!weight || !slot || nregions > MERIDIAN_MAX_REGIONS ||
	    nslots == 0 || nslots > MAGLEV_FILL_MAX)
		return -EINVAL;
	err = nregions ? maglev_apportion(weight, nregions, nslots, quota) :
			 -ENOENT;
	if (err == -ENOENT) {
		memset(slot, MERIDIAN_REGION_NONE, nslots);
		return 0;
	}
	if (err)
		return err;
	table = calloc(nslots, sizeof(*table));
	if (!table)
		return -ENOMEM;
	region_entrants(weight, quota, nregions, nslots, e);
	err = maglev_fill(e, nregions, table, nslots);
	for (i = 0; !err && i < nslots; i++)
		slot[i] = table[i];
	free(table);
	return err;
}
