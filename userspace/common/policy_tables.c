// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Region tables, one per (VIP, class), class 0 first.
 *
 * Region weights are first turned into slot counts (largest remainder over
 * the 4096 slots), and the slots are filled from those counts. So a table
 * changes only when some region's slot count changes, not when a weight
 * moves by less than a slot, and reconcile has nothing to rewrite.
 *
 * Filling 4096 slots costs tens of microseconds, and a thousand VIPs mostly
 * repeat a handful of count vectors, so a fill is done once per distinct
 * vector and copied. The cache is only ever looked up, never iterated: the
 * output does not depend on its layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash64.h"
#include "maglev.h"
#include "policy_internal.h"
#include "weighted_slots.h"

#define CACHE_SEED 0x736c6f74732d6361ull /* "slots-ca" */
#define CACHE_EMPTY UINT32_MAX

struct slot_cache {
	uint32_t n_regions;
	uint32_t mask; /* buckets - 1, a power of two minus one */
	uint32_t *bucket; /* table index holding the fill, or CACHE_EMPTY */
	uint64_t *hash; /* per bucket */
	uint32_t *quota; /* per table index: n_regions slot counts */
};

static int cache_init(struct slot_cache *c, uint32_t n_regions,
		      uint32_t n_tables)
{
	uint32_t buckets = 16, i;

	while (buckets < 2 * n_tables)
		buckets *= 2;
	c->n_regions = n_regions;
	c->mask = buckets - 1;
	c->bucket = malloc(buckets * sizeof(*c->bucket));
	c->hash = calloc(buckets, sizeof(*c->hash));
	c->quota = calloc((size_t)n_tables * (n_regions ? n_regions : 1),
			  sizeof(*c->quota));
	if (!c->bucket || !c->hash || !c->quota)
		return -ENOMEM;
	for (i = 0; i < buckets; i++)
		c->bucket[i] = CACHE_EMPTY;
	return 0;
}

static void cache_free(struct slot_cache *c)
{
	free(c->bucket);
	free(c->hash);
	free(c->quota);
}

/* Slot counts of table k from its region weights; all 0 without any. */
static int quantize(struct slot_cache *c, const uint32_t *weight, uint32_t k)
{
	uint32_t *quota = c->quota + (size_t)k * c->n_regions;
	int err = -ENOENT;

	if (c->n_regions)
		err = maglev_apportion(weight, c->n_regions,
				       MERIDIAN_REGION_SLOTS, quota);
	if (err == -ENOENT) {
		memset(quota, 0, c->n_regions * sizeof(*quota));
		return 0;
	}
	return err;
}

/*
 * Fill the slots of table k from its slot counts (already in c->quota), or
 * copy them from an earlier table with the same counts. Counts as weights
 * apportion to themselves, so the fill depends on the counts alone.
 */
static int fill_slots(struct slot_cache *c, struct desired_table *tables,
		      uint32_t k)
{
	size_t len = c->n_regions * sizeof(*c->quota);
	const uint32_t *w = c->quota + (size_t)k * c->n_regions;
	uint64_t h = hash64_bytes(w, len, CACHE_SEED);
	uint32_t b = h & c->mask, hit;

	for (; (hit = c->bucket[b]) != CACHE_EMPTY; b = (b + 1) & c->mask) {
		if (c->hash[b] == h &&
		    !memcmp(c->quota + (size_t)hit * c->n_regions, w, len)) {
			memcpy(tables[k].table.slot, tables[hit].table.slot,
			       MERIDIAN_REGION_SLOTS);
			return 0;
		}
	}
	c->bucket[b] = k;
	c->hash[b] = h;
	return weighted_slots_fill(w, c->n_regions, tables[k].table.slot,
				   MERIDIAN_REGION_SLOTS);
}

/* The VIP's weights per region and the rings of the regions it uses. */
static void vip_regions(const struct policy_input *in,
			const struct policy_regions *pr,
			const struct model_vip *vip, uint32_t *vw,
			uint16_t *ring)
{
	uint32_t r;

	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++)
		ring[r] = MERIDIAN_RING_NONE;
	for (r = 0; r < pr->n; r++) {
		vw[r] = policy_vip_weight(in, vip, r);
		if (vw[r])
			ring[r] = pr->ring[r];
	}
}

static void table_head(const struct policy_input *in, uint32_t vip_id,
		       uint32_t class_id, bool strict, const uint16_t *ring,
		       struct desired_table *t)
{
	t->key.vip_id = vip_id;
	t->key.class_id = class_id;
	t->table.generation = in->generation;
	t->table.flags = strict ? MERIDIAN_RT_STRICT : 0;
	memcpy(t->table.ring, ring, sizeof(t->table.ring));
}

static int vip_tables(const struct policy_input *in,
		      const struct policy_regions *pr, struct slot_cache *c,
		      uint32_t v, struct desired *out)
{
	const struct model *m = in->model;
	uint16_t ring[MERIDIAN_MAX_REGIONS];
	uint32_t vw[MERIDIAN_MAX_REGIONS] = { 0 };
	uint32_t weight[MERIDIAN_MAX_REGIONS];
	uint32_t cls, k;
	int err;

	vip_regions(in, pr, &m->vips[v], vw, ring);
	for (cls = 0; cls <= m->n_classes; cls++) {
		const struct model_class *mc =
			cls ? &m->classes[cls - 1] : NULL;
		bool strict = mc && mc->strict;

		k = out->n_tables;
		table_head(in, v, cls, strict, ring, &out->tables[k]);
		policy_region_weights(pr, vw, mc ? mc->allowed_regions : 0,
				      strict, weight);
		err = quantize(c, weight, k);
		if (!err)
			err = fill_slots(c, out->tables, k);
		if (err)
			return err;
		out->n_tables++;
	}
	return 0;
}

int policy_build_tables(const struct policy_input *in,
			const struct policy_regions *pr, struct desired *out)
{
	const struct model *m = in->model;
	uint32_t n = m->n_vips * (m->n_classes + 1), v;
	struct slot_cache c = { 0 };
	int err;

	out->tables = calloc(n ? n : 1, sizeof(*out->tables));
	err = out->tables ? cache_init(&c, pr->n, n) : -ENOMEM;
	for (v = 0; !err && v < m->n_vips; v++)
		err = vip_tables(in, pr, &c, v, out);
	cache_free(&c);
	return err;
}
