// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Ring ids for the rings of a desired state. Pure. An identity keeps the
 * id it has; after a restart, pinned rings are matched to identities by
 * content and by the tables that name them; the rest get free ids.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "reconcile_int.h"

#define VOTE_UNSET UINT32_MAX
#define VOTE_POISON (UINT32_MAX - 1)

static bool ring_assigned(const struct rc_plan *p, uint32_t i)
{
	return p->ring_id[i] != MERIDIAN_RING_NONE;
}

static void claim_ring(struct rc_cache *c, struct rc_plan *p, uint32_t id,
		       uint32_t i)
{
	c->rings[id].epoch = c->epoch;
	p->ring_id[i] = id;
}

bool rc_ring_holds(const struct rc_ring *ring, const struct rc_plan *p,
		   const struct desired *d, uint32_t i)
{
	return ring->present && ring->hash == p->ring_hash[i] &&
	       ring->size == d->rings[i].size;
}

static bool ring_unknown(const struct rc_cache *c, uint32_t id)
{
	const struct rc_ring *ring = &c->rings[id];

	return ring->present && !ring->known && ring->epoch != c->epoch;
}

/* Pinned content equal to desired ring i: the id is i's, no write. */
static int adopt_by_content(struct rc_cache *c, struct rc_plan *p,
			    const struct desired *d, uint32_t id, uint32_t i)
{
	uint64_t identity = d->rings[i].identity;
	uint32_t id32 = id;

	c->rings[id].known = 1;
	c->rings[id].identity = identity;
	claim_ring(c, p, id, i);
	return rc_kv_put(&c->ring_ids, &identity, &id32, c->epoch);
}

int rc_hash_desired_rings(struct rc_plan *p, const struct desired *d)
{
	uint32_t i;

	p->n_rings = d->n_rings;
	if (!d->n_rings)
		return 0;
	p->ring_id = malloc((size_t)d->n_rings * sizeof(*p->ring_id));
	p->ring_hash = calloc(d->n_rings, sizeof(*p->ring_hash));
	if (!p->ring_id || !p->ring_hash)
		return -ENOMEM;
	for (i = 0; i < d->n_rings; i++) {
		p->ring_id[i] = MERIDIAN_RING_NONE;
		if (d->rings[i].size)
			p->ring_hash[i] = rc_ring_hash(d->rings[i].slots,
						       d->rings[i].size);
	}
	return 0;
}

/* Identities the cache already maps to an id keep it. */
static int assign_known_rings(struct rc_cache *c, struct rc_plan *p,
			      const struct desired *d)
{
	struct rc_kv seen;
	uint64_t identity;
	int64_t idx;
	uint32_t i;
	int err = 0;

	rc_kv_init(&seen, sizeof(uint64_t), 0);
	for (i = 0; !err && i < d->n_rings; i++) {
		if (!d->rings[i].size)
			continue;
		identity = d->rings[i].identity;
		if (rc_kv_find(&seen, &identity) >= 0) {
			log_err("desired: ring identity %016llx listed twice",
				(unsigned long long)identity);
			err = -EINVAL;
			break;
		}
		err = rc_kv_put(&seen, &identity, NULL, 1);
		idx = rc_kv_find(&c->ring_ids, &identity);
		if (!err && idx >= 0)
			claim_ring(c, p,
				   *(uint32_t *)rc_kv_val(&c->ring_ids, idx),
				   i);
	}
	rc_kv_free(&seen);
	return err;
}

/*
 * For each pinned ring of unknown identity: the desired ring index that
 * every pinned table naming it will name in the same region, or POISON if
 * they disagree or some table will not name a ring there.
 */
static int vote_rings(const struct rc_cache *c, const struct desired *d,
		      uint32_t *vote)
{
	const struct rc_table *t;
	struct rc_kv dkeys;
	uint32_t i, r, id, want;
	int64_t di;
	int err = 0;

	rc_kv_init(&dkeys, sizeof(struct meridian_region_key),
		   sizeof(uint32_t));
	for (i = 0; !err && i < d->n_tables; i++)
		err = rc_kv_put(&dkeys, &d->tables[i].key, &i, 1);
	for (i = 0; !err && i < c->tables.cap; i++) {
		if (!*rc_kv_mark(&c->tables, i))
			continue;
		t = rc_kv_val(&c->tables, i);
		di = rc_kv_find(&dkeys, rc_kv_key(&c->tables, i));
		if (di >= 0)
			di = *(uint32_t *)rc_kv_val(&dkeys, di);
		for (r = 0; r < MERIDIAN_MAX_REGIONS; r++) {
			id = t->ring[r];
			if (id >= MERIDIAN_MAX_RINGS || !ring_unknown(c, id))
				continue;
			want = di >= 0 ? d->tables[di].table.ring[r] :
					 MERIDIAN_RING_NONE;
			if (want == MERIDIAN_RING_NONE || !d->rings[want].size)
				vote[id] = VOTE_POISON;
			else if (vote[id] == VOTE_UNSET)
				vote[id] = want;
			else if (vote[id] != want)
				vote[id] = VOTE_POISON;
		}
	}
	rc_kv_free(&dkeys);
	return err;
}

static bool vote_valid(uint32_t v)
{
	return v != VOTE_UNSET && v != VOTE_POISON;
}

struct hash_id {
	uint64_t hash;
	uint32_t id;
};

static int cmp_hash_id(const void *a, const void *b)
{
	const struct hash_id *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* First entry of the sorted a[0..n) with a hash not below hash. */
static uint32_t lower_bound(const struct hash_id *a, uint32_t n, uint64_t hash)
{
	uint32_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Any pinned ring of unknown identity with the same content. */
static int adopt_any_content(struct rc_cache *c, struct rc_plan *p,
			     const struct desired *d)
{
	uint32_t n = 0, id, i, k;
	struct hash_id *byhash;
	int err = 0;

	byhash = malloc(MERIDIAN_MAX_RINGS * sizeof(*byhash));
	if (!byhash)
		return -ENOMEM;
	for (id = 0; id < MERIDIAN_MAX_RINGS; id++)
		if (ring_unknown(c, id))
			byhash[n++] = (struct hash_id){ c->rings[id].hash, id };
	qsort(byhash, n, sizeof(*byhash), cmp_hash_id);
	for (i = 0; !err && i < d->n_rings; i++) {
		if (!d->rings[i].size || ring_assigned(p, i))
			continue;
		k = lower_bound(byhash, n, p->ring_hash[i]);
		for (; k < n && byhash[k].hash == p->ring_hash[i]; k++) {
			id = byhash[k].id;
			if (ring_unknown(c, id) &&
			    rc_ring_holds(&c->rings[id], p, d, i)) {
				err = adopt_by_content(c, p, d, id, i);
				break;
			}
		}
	}
	free(byhash);
	return err;
}

/*
 * After a restart the cache has ring contents but not their identities.
 * In order of preference, desired ring i takes a pinned ring that
 *   1. the pinned tables name where the desired tables name i, and that
 *      holds i's content already (nothing to write);
 *   2. holds i's content (nothing to write; the tables follow);
 *   3. the pinned tables name where, and only where, the desired tables
 *      name i: rewritten in place, the tables stay as they are, and no
 *      table sees a ring of another region in between.
 * Anything else gets a fresh id.
 */
static int adopt_pinned_rings(struct rc_cache *c, struct rc_plan *p,
			      const struct desired *d)
{
	uint32_t *vote, id, i;
	int err;

	vote = malloc(MERIDIAN_MAX_RINGS * sizeof(*vote));
	if (!vote)
		return -ENOMEM;
	for (id = 0; id < MERIDIAN_MAX_RINGS; id++)
		vote[id] = VOTE_UNSET;
	err = vote_rings(c, d, vote);
	for (id = 0; !err && id < MERIDIAN_MAX_RINGS; id++) {
		i = vote[id];
		if (ring_unknown(c, id) && vote_valid(i) &&
		    !ring_assigned(p, i) &&
		    rc_ring_holds(&c->rings[id], p, d, i))
			err = adopt_by_content(c, p, d, id, i);
	}
	if (!err)
		err = adopt_any_content(c, p, d);
	for (id = 0; !err && id < MERIDIAN_MAX_RINGS; id++) {
		i = vote[id];
		if (ring_unknown(c, id) && vote_valid(i) &&
		    !ring_assigned(p, i))
			claim_ring(c, p, id, i);
	}
	free(vote);
	return err;
}

static bool any_unknown_ring(const struct rc_cache *c)
{
	uint32_t id;

	for (id = 0; id < MERIDIAN_MAX_RINGS; id++)
		if (ring_unknown(c, id))
			return true;
	return false;
}

/* Fresh ids: neither in the map nor taken in this apply. */
static int allocate_rings(struct rc_cache *c, struct rc_plan *p,
			  const struct desired *d)
{
	uint32_t i, id = 0;

	for (i = 0; i < d->n_rings; i++) {
		if (!d->rings[i].size || ring_assigned(p, i))
			continue;
		while (id < MERIDIAN_MAX_RINGS &&
		       (c->rings[id].present || c->rings[id].epoch == c->epoch))
			id++;
		if (id == MERIDIAN_MAX_RINGS) {
			log_err("desired: more than %u rings",
				MERIDIAN_MAX_RINGS);
			return -ENOSPC;
		}
		claim_ring(c, p, id, i);
	}
	return 0;
}

int rc_assign_rings(struct rc_cache *c, struct rc_plan *p,
		    const struct desired *d)
{
	int err;

	err = assign_known_rings(c, p, d);
	if (!err && any_unknown_ring(c))
		err = adopt_pinned_rings(c, p, d);
	if (!err)
		err = allocate_rings(c, p, d);
	return err;
}
