// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Pure part of the reconciler: checks a desired state, diffs it against
 * the cache of what the maps hold, and lists the writes in a safe order.
 * No I/O; validation failures are logged, as the caller cannot say which
 * entry was wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reconcile_int.h"

#define VOTE_UNSET UINT32_MAX
#define VOTE_POISON (UINT32_MAX - 1)

static const struct meridian_backend no_backend;

int rc_cache_init(struct rc_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->backends = calloc(MERIDIAN_MAX_BACKENDS, sizeof(*c->backends));
	c->rings = calloc(MERIDIAN_MAX_RINGS, sizeof(*c->rings));
	if (!c->backends || !c->rings) {
		rc_cache_free(c);
		return -ENOMEM;
	}
	rc_kv_init(&c->ring_ids, sizeof(uint64_t), sizeof(uint32_t));
	rc_kv_init(&c->vips, sizeof(struct meridian_vip_key),
		   sizeof(struct meridian_vip));
	rc_kv_init(&c->classes4, sizeof(struct meridian_lpm4_key),
		   sizeof(struct meridian_class));
	rc_kv_init(&c->classes6, sizeof(struct meridian_lpm6_key),
		   sizeof(struct meridian_class));
	rc_kv_init(&c->tables, sizeof(struct meridian_region_key),
		   sizeof(struct rc_table));
	c->epoch = 1;
	return 0;
}

void rc_cache_free(struct rc_cache *c)
{
	free(c->backends);
	free(c->rings);
	c->backends = NULL;
	c->rings = NULL;
	rc_kv_free(&c->ring_ids);
	rc_kv_free(&c->vips);
	rc_kv_free(&c->classes4);
	rc_kv_free(&c->classes6);
	rc_kv_free(&c->tables);
}

size_t rc_cache_memory(const struct rc_cache *c)
{
	return sizeof(*c) + MERIDIAN_MAX_BACKENDS * sizeof(*c->backends) +
	       MERIDIAN_MAX_RINGS * sizeof(*c->rings) +
	       rc_kv_memory(&c->ring_ids) + rc_kv_memory(&c->vips) +
	       rc_kv_memory(&c->classes4) + rc_kv_memory(&c->classes6) +
	       rc_kv_memory(&c->tables);
}

void rc_plan_free(struct rc_plan *p)
{
	free(p->ops);
	free(p->ring_id);
	free(p->ring_hash);
	memset(p, 0, sizeof(*p));
}

static struct rc_op *push(struct rc_plan *p, enum reconcile_op_kind kind,
			  uint32_t index)
{
	struct rc_op *ops, *op;
	uint32_t cap;

	if (p->n_ops == p->cap_ops) {
		cap = p->cap_ops ? p->cap_ops * 2 : 64;
		ops = realloc(p->ops, (size_t)cap * sizeof(*ops));
		if (!ops)
			return NULL;
		p->ops = ops;
		p->cap_ops = cap;
	}
	op = &p->ops[p->n_ops++];
	memset(op, 0, sizeof(*op));
	op->pub.kind = kind;
	op->pub.index = index;
	return op;
}

static int push_backend(struct rc_plan *p, uint32_t id,
			const struct meridian_backend *b)
{
	struct rc_op *op = push(p, RECONCILE_BACKEND_PUT, id);

	if (!op)
		return -ENOMEM;
	op->pub.key.id = id;
	op->pub.backend = *b;
	return 0;
}

static int push_wait(struct rc_plan *p, enum reconcile_op_kind kind)
{
	return push(p, kind, 0) ? 0 : -ENOMEM;
}

/* --- validation --------------------------------------------------------- */

static bool family_ok(__u8 family)
{
	return family == MERIDIAN_AF_INET || family == MERIDIAN_AF_INET6;
}

static int check_backends(const struct desired *d)
{
	const struct meridian_backend *b;
	uint32_t i;

	if (d->n_backends > MERIDIAN_MAX_BACKENDS ||
	    (d->n_backends && !d->backends)) {
		log_err("desired: %u backends, at most %u", d->n_backends,
			MERIDIAN_MAX_BACKENDS);
		return -EINVAL;
	}
	for (i = 0; i < d->n_backends; i++) {
		b = &d->backends[i];
		if (!b->family)
			continue;
		if (!family_ok(b->family) ||
		    b->region >= MERIDIAN_MAX_REGIONS) {
			log_err("desired: backend %u has family %u region %u",
				i, b->family, b->region);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_rings(const struct desired *d)
{
	const struct desired_ring *ring;
	uint32_t i;

	if (d->n_rings >= MERIDIAN_RING_NONE || (d->n_rings && !d->rings)) {
		log_err("desired: %u rings, indexes must fit below %u",
			d->n_rings, MERIDIAN_RING_NONE);
		return -EINVAL;
	}
	for (i = 0; i < d->n_rings; i++) {
		ring = &d->rings[i];
		if (ring->size > MERIDIAN_RING_MAX ||
		    (ring->size && !ring->slots)) {
			log_err("desired: ring %u (identity %016llx) has size "
				"%u, at most %u",
				i, (unsigned long long)ring->identity,
				ring->size, MERIDIAN_RING_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_table(const struct desired *d, const struct desired_table *t)
{
	uint32_t r, idx;

	if (t->key.vip_id >= MERIDIAN_MAX_VIPS ||
	    t->key.class_id >= MERIDIAN_MAX_CLASSES) {
		log_err("desired: table (vip %u, class %u) out of range",
			t->key.vip_id, t->key.class_id);
		return -EINVAL;
	}
	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++) {
		idx = t->table.ring[r];
		if (idx != MERIDIAN_RING_NONE && idx >= d->n_rings) {
			log_err("desired: table (vip %u, class %u) region %u "
				"names ring index %u of %u",
				t->key.vip_id, t->key.class_id, r, idx,
				d->n_rings);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_tables(const struct desired *d)
{
	uint32_t i;
	int err;

	if (d->n_tables > MERIDIAN_MAX_REGION_TABLES ||
	    (d->n_tables && !d->tables)) {
		log_err("desired: %u region tables, at most %u", d->n_tables,
			MERIDIAN_MAX_REGION_TABLES);
		return -EINVAL;
	}
	for (i = 0; i < d->n_tables; i++) {
		err = check_table(d, &d->tables[i]);
		if (err)
			return err;
	}
	return 0;
}

static int check_vips(const struct desired *d)
{
	const struct desired_vip *v;
	uint32_t i;

	if (d->n_vips > MERIDIAN_MAX_VIP_KEYS || (d->n_vips && !d->vips)) {
		log_err("desired: %u VIP keys, at most %u", d->n_vips,
			MERIDIAN_MAX_VIP_KEYS);
		return -EINVAL;
	}
	for (i = 0; i < d->n_vips; i++) {
		v = &d->vips[i];
		if (v->val.id >= MERIDIAN_MAX_VIPS ||
		    !family_ok(v->key.family)) {
			log_err("desired: VIP key %u has id %u family %u", i,
				v->val.id, v->key.family);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_class(const struct meridian_class *cls, __u32 prefixlen,
		       __u32 max_len, uint32_t i)
{
	if (cls->id < MERIDIAN_MAX_CLASSES && prefixlen <= max_len)
		return 0;
	log_err("desired: class prefix %u has class %u, length %u (max %u)", i,
		cls->id, prefixlen, max_len);
	return -EINVAL;
}

static int check_classes(const struct desired *d)
{
	uint32_t i;
	int err = 0;

	if (d->n_classes4 > MERIDIAN_MAX_PREFIXES ||
	    d->n_classes6 > MERIDIAN_MAX_PREFIXES ||
	    (d->n_classes4 && !d->classes4) ||
	    (d->n_classes6 && !d->classes6)) {
		log_err("desired: %u + %u class prefixes, at most %u each",
			d->n_classes4, d->n_classes6, MERIDIAN_MAX_PREFIXES);
		return -EINVAL;
	}
	for (i = 0; !err && i < d->n_classes4; i++)
		err = check_class(&d->classes4[i].val,
				  d->classes4[i].key.prefixlen, 32, i);
	for (i = 0; !err && i < d->n_classes6; i++)
		err = check_class(&d->classes6[i].val,
				  d->classes6[i].key.prefixlen, 128, i);
	return err;
}

static int check_desired(const struct desired *d)
{
	int err;

	err = check_backends(d);
	if (!err)
		err = check_rings(d);
	if (!err)
		err = check_tables(d);
	if (!err)
		err = check_vips(d);
	if (!err)
		err = check_classes(d);
	return err;
}

/* Entries of a ring being written must name backend ids the map has. */
static int check_ring_slots(const struct desired_ring *ring, uint32_t i)
{
	uint32_t s;

	for (s = 0; s < ring->size; s++) {
		if (ring->slots[s] >= MERIDIAN_MAX_BACKENDS) {
			log_err("desired: ring %u slot %u is backend %u, out "
				"of range",
				i, s, ring->slots[s]);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A key met twice in one desired array is an error. Keys the cache knows
 * carry this apply's mark once met; new keys go through `fresh`.
 */
static int note_key(struct rc_kv *cache, struct rc_kv *fresh, const void *key,
		    uint32_t epoch, int64_t *idx, const char *what)
{
	*idx = rc_kv_find(cache, key);
	if (*idx >= 0) {
		if (*rc_kv_mark(cache, *idx) == epoch)
			goto dup;
		*rc_kv_mark(cache, *idx) = epoch;
		return 0;
	}
	if (rc_kv_find(fresh, key) >= 0)
		goto dup;
	return rc_kv_put(fresh, key, NULL, 1);
dup:
	log_err("desired: %s listed twice", what);
	return -EINVAL;
}

/* --- backends ----------------------------------------------------------- */

enum backend_change {
	BK_SAME,
	BK_NEW, /* the id was unused */
	BK_UP, /* only the up flag, and it is now set */
	BK_DOWN, /* only the up flag, and it is now clear */
	BK_MOVED, /* address, family or region changed */
	BK_GONE, /* no longer desired */
};

static const struct meridian_backend *want_backend(const struct desired *d,
						   uint32_t id)
{
	if (id < d->n_backends && d->backends[id].family)
		return &d->backends[id];
	return &no_backend;
}

static enum backend_change backend_change(const struct meridian_backend *old,
					  const struct meridian_backend *want)
{
	struct meridian_backend same_up = *want;

	if (!memcmp(old, want, sizeof(*old)))
		return BK_SAME;
	if (!old->family)
		return BK_NEW;
	if (!want->family)
		return BK_GONE;
	same_up.up = old->up;
	if (memcmp(old, &same_up, sizeof(*old)))
		return BK_MOVED;
	return want->up ? BK_UP : BK_DOWN;
}

static struct meridian_backend with_up(const struct meridian_backend *b,
				       __u32 up)
{
	struct meridian_backend copy = *b;

	copy.up = up;
	return copy;
}

/*
 * New backends and those that came up go first, so rings may name them.
 * A backend whose address changes is taken down, left for a grace period
 * (no packet still holds the old address), rewritten while down (a reader
 * never sees up with half an address) and brought up again.
 */
static int plan_backends_early(const struct rc_cache *c,
			       const struct desired *d, struct rc_plan *p)
{
	const struct meridian_backend *old, *want;
	struct meridian_backend b;
	bool moved_down = false;
	enum backend_change ch;
	uint32_t id;
	int err = 0;

	for (id = 0; !err && id < MERIDIAN_MAX_BACKENDS; id++) {
		old = &c->backends[id];
		want = want_backend(d, id);
		ch = backend_change(old, want);
		if (ch == BK_NEW || ch == BK_UP) {
			err = push_backend(p, id, want);
		} else if (ch == BK_MOVED && old->up) {
			b = with_up(old, 0);
			err = push_backend(p, id, &b);
			moved_down = true;
		}
	}
	if (!err && moved_down)
		err = push_wait(p, RECONCILE_GRACE);
	for (id = 0; !err && id < MERIDIAN_MAX_BACKENDS; id++) {
		old = &c->backends[id];
		want = want_backend(d, id);
		if (backend_change(old, want) != BK_MOVED)
			continue;
		b = with_up(want, 0);
		err = push_backend(p, id, &b);
		if (!err && want->up)
			err = push_backend(p, id, want);
	}
	return err;
}

/* After every ring without them is in place. */
static int plan_backends_down(const struct rc_cache *c, const struct desired *d,
			      struct rc_plan *p)
{
	const struct meridian_backend *want;
	uint32_t id;
	int err = 0;

	for (id = 0; !err && id < MERIDIAN_MAX_BACKENDS; id++) {
		want = want_backend(d, id);
		if (backend_change(&c->backends[id], want) == BK_DOWN)
			err = push_backend(p, id, want);
	}
	return err;
}

/* Last: down, a grace period, then zeroed. */
static int plan_backends_gone(const struct rc_cache *c, const struct desired *d,
			      struct rc_plan *p)
{
	const struct meridian_backend *old;
	struct meridian_backend b;
	bool went_down = false;
	uint32_t id;
	int err = 0;

	for (id = 0; !err && id < MERIDIAN_MAX_BACKENDS; id++) {
		old = &c->backends[id];
		if (backend_change(old, want_backend(d, id)) != BK_GONE ||
		    !old->up)
			continue;
		b = with_up(old, 0);
		err = push_backend(p, id, &b);
		went_down = true;
	}
	if (!err && went_down)
		err = push_wait(p, RECONCILE_GRACE);
	for (id = 0; !err && id < MERIDIAN_MAX_BACKENDS; id++)
		if (backend_change(&c->backends[id], want_backend(d, id)) ==
		    BK_GONE)
			err = push_backend(p, id, &no_backend);
	return err;
}

/* --- rings -------------------------------------------------------------- */

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

static bool ring_holds(const struct rc_ring *ring, const struct rc_plan *p,
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

static int hash_desired_rings(struct rc_plan *p, const struct desired *d)
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
			    ring_holds(&c->rings[id], p, d, i)) {
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
		    !ring_assigned(p, i) && ring_holds(&c->rings[id], p, d, i))
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

static int plan_rings(struct rc_cache *c, const struct desired *d,
		      struct rc_plan *p)
{
	struct rc_op *op;
	uint32_t i, id;
	int err;

	err = assign_known_rings(c, p, d);
	if (!err && any_unknown_ring(c))
		err = adopt_pinned_rings(c, p, d);
	if (!err)
		err = allocate_rings(c, p, d);
	for (i = 0; !err && i < d->n_rings; i++) {
		id = p->ring_id[i];
		if (id == MERIDIAN_RING_NONE ||
		    (c->rings[id].known && ring_holds(&c->rings[id], p, d, i)))
			continue;
		err = check_ring_slots(&d->rings[i], i);
		if (err)
			break;
		op = push(p, RECONCILE_RING_SWAP, i);
		if (!op)
			return -ENOMEM;
		op->pub.key.id = id;
		op->hash = p->ring_hash[i];
	}
	return err;
}

/* Pinned rings no desired ring claimed: after the tables stop naming them. */
static int plan_ring_deletes(const struct rc_cache *c, struct rc_plan *p)
{
	struct rc_op *op;
	bool settled = false;
	uint32_t id;

	for (id = 0; id < MERIDIAN_MAX_RINGS; id++) {
		if (!c->rings[id].present || c->rings[id].epoch == c->epoch)
			continue;
		if (!settled && push_wait(p, RECONCILE_SETTLE))
			return -ENOMEM;
		settled = true;
		op = push(p, RECONCILE_RING_DELETE, 0);
		if (!op)
			return -ENOMEM;
		op->pub.key.id = id;
	}
	return 0;
}

/* --- tables, classes, VIPs ---------------------------------------------- */

void rc_table_ring_ids(const struct rc_plan *p, const struct desired_table *t,
		       uint16_t ring[MERIDIAN_MAX_REGIONS])
{
	uint32_t r, idx;

	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++) {
		idx = t->table.ring[r];
		ring[r] = idx == MERIDIAN_RING_NONE ? MERIDIAN_RING_NONE :
						      p->ring_id[idx];
	}
}

static void count_empty_refs(struct rc_plan *p, const struct desired *d,
			     const struct desired_table *t)
{
	uint32_t r, idx;

	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++) {
		idx = t->table.ring[r];
		if (idx != MERIDIAN_RING_NONE && !d->rings[idx].size)
			p->empty_refs++;
	}
}

static int plan_tables(struct rc_cache *c, const struct desired *d,
		       struct rc_plan *p)
{
	uint16_t ring[MERIDIAN_MAX_REGIONS];
	const struct desired_table *t;
	const struct rc_table *old;
	struct rc_op *op;
	uint64_t hash;
	int64_t idx;
	uint32_t i;

	for (i = 0; i < d->n_tables; i++) {
		t = &d->tables[i];
		count_empty_refs(p, d, t);
		rc_table_ring_ids(p, t, ring);
		hash = rc_table_hash(t->table.flags, ring, t->table.slot);
		idx = rc_kv_find(&c->tables, &t->key);
		old = idx >= 0 ? rc_kv_val(&c->tables, idx) : NULL;
		if (old && old->hash == hash)
			continue;
		op = push(p, RECONCILE_TABLE_SWAP, i);
		if (!op)
			return -ENOMEM;
		op->pub.key.table = t->key;
		op->hash = hash;
	}
	return 0;
}

/*
 * VIPs and class prefixes share a shape: keyed entries in an array of the
 * desired state, compared by value.
 */
struct keyed_set {
	struct rc_kv *cache;
	const void *base; /* desired array */
	uint32_t n;
	size_t stride; /* of the desired array */
	size_t val_off; /* offset of the value in an element */
	enum reconcile_op_kind put, del;
	const char *what;
};

static void set_op_key(struct rc_op *op, const void *key, size_t len)
{
	memcpy(&op->pub.key, key, len);
}

static const uint8_t *set_elem(const struct keyed_set *s, uint32_t i)
{
	return (const uint8_t *)s->base + i * s->stride;
}

static int plan_puts(const struct keyed_set *s, struct rc_plan *p)
{
	const uint8_t *elem;
	struct rc_op *op;
	int64_t idx;
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		elem = set_elem(s, i);
		idx = rc_kv_find(s->cache, elem);
		if (idx >= 0 && !memcmp(rc_kv_val(s->cache, idx),
					elem + s->val_off, s->cache->val_size))
			continue;
		op = push(p, s->put, i);
		if (!op)
			return -ENOMEM;
		set_op_key(op, elem, s->cache->key_size);
	}
	return 0;
}

/*
 * Marks every key the desired state lists (so the rest get deleted) and
 * refuses a key listed twice, before anything is written.
 */
static int note_keys(struct rc_kv *cache, const void *base, uint32_t n,
		     size_t stride, uint32_t epoch, const char *what)
{
	struct rc_kv fresh;
	int64_t idx;
	uint32_t i;
	int err = 0;

	rc_kv_init(&fresh, cache->key_size, 0);
	for (i = 0; !err && i < n; i++)
		err = note_key(cache, &fresh,
			       (const uint8_t *)base + i * stride, epoch, &idx,
			       what);
	rc_kv_free(&fresh);
	return err;
}

/* Keys the cache holds that this apply did not meet. */
static int plan_deletes(struct rc_kv *cache, uint32_t epoch,
			enum reconcile_op_kind kind, struct rc_plan *p)
{
	struct rc_op *op;
	uint32_t i, mark;

	for (i = 0; i < cache->cap; i++) {
		mark = *rc_kv_mark(cache, i);
		if (!mark || mark == epoch)
			continue;
		op = push(p, kind, 0);
		if (!op)
			return -ENOMEM;
		set_op_key(op, rc_kv_key(cache, i), cache->key_size);
	}
	return 0;
}

static void keyed_sets(struct rc_cache *c, const struct desired *d,
		       struct keyed_set s[3])
{
	s[0] = (struct keyed_set){
		.cache = &c->classes4,
		.base = d->classes4,
		.n = d->n_classes4,
		.stride = sizeof(*d->classes4),
		.val_off = offsetof(struct desired_class4, val),
		.put = RECONCILE_CLASS4_PUT,
		.del = RECONCILE_CLASS4_DELETE,
		.what = "an IPv4 class prefix",
	};
	s[1] = (struct keyed_set){
		.cache = &c->classes6,
		.base = d->classes6,
		.n = d->n_classes6,
		.stride = sizeof(*d->classes6),
		.val_off = offsetof(struct desired_class6, val),
		.put = RECONCILE_CLASS6_PUT,
		.del = RECONCILE_CLASS6_DELETE,
		.what = "an IPv6 class prefix",
	};
	s[2] = (struct keyed_set){
		.cache = &c->vips,
		.base = d->vips,
		.n = d->n_vips,
		.stride = sizeof(*d->vips),
		.val_off = offsetof(struct desired_vip, val),
		.put = RECONCILE_VIP_PUT,
		.del = RECONCILE_VIP_DELETE,
		.what = "a VIP key",
	};
}

static int plan_config(const struct rc_cache *c, const struct desired *d,
		       struct rc_plan *p)
{
	if (c->config_known &&
	    !memcmp(&c->config, &d->config, sizeof(c->config)))
		return 0;
	return push(p, RECONCILE_CONFIG_PUT, 0) ? 0 : -ENOMEM;
}

static int note_all_keys(struct rc_cache *c, const struct desired *d)
{
	struct keyed_set s[3];
	int err, i;

	err = note_keys(&c->tables, d->tables, d->n_tables, sizeof(*d->tables),
			c->epoch, "a region table");
	keyed_sets(c, d, s);
	for (i = 0; !err && i < 3; i++)
		err = note_keys(s[i].cache, s[i].base, s[i].n, s[i].stride,
				c->epoch, s[i].what);
	return err;
}

int rc_plan_begin(struct rc_cache *c, const struct desired *d,
		  struct rc_plan *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	err = check_desired(d);
	if (err)
		return err;
	c->epoch++;
	if (!c->epoch)
		c->epoch = 1;
	err = note_all_keys(c, d);
	if (!err)
		err = hash_desired_rings(p, d);
	if (err)
		rc_plan_free(p);
	return err;
}

int rc_plan_health(struct rc_cache *c, const struct desired *d,
		   struct rc_plan *p)
{
	int err;

	p->n_ops = 0;
	err = plan_config(c, d, p);
	if (!err)
		err = plan_backends_early(c, d, p);
	if (!err)
		err = plan_rings(c, d, p);
	if (!err)
		err = plan_backends_down(c, d, p);
	return err;
}

int rc_plan_rest(struct rc_cache *c, const struct desired *d, struct rc_plan *p)
{
	struct keyed_set s[3];
	int err, i;

	p->n_ops = 0;
	keyed_sets(c, d, s);
	err = plan_tables(c, d, p);
	/* Classes before VIPs: a new VIP finds its classes' tables ready. */
	for (i = 0; !err && i < 3; i++)
		err = plan_puts(&s[i], p);
	/* Deletes: VIPs, class prefixes, tables, rings, backends. */
	if (!err)
		err = plan_deletes(&c->vips, c->epoch, RECONCILE_VIP_DELETE, p);
	if (!err)
		err = plan_deletes(&c->classes4, c->epoch,
				   RECONCILE_CLASS4_DELETE, p);
	if (!err)
		err = plan_deletes(&c->classes6, c->epoch,
				   RECONCILE_CLASS6_DELETE, p);
	if (!err)
		err = plan_deletes(&c->tables, c->epoch, RECONCILE_TABLE_DELETE,
				   p);
	if (!err)
		err = plan_ring_deletes(c, p);
	if (!err)
		err = plan_backends_gone(c, d, p);
	return err;
}

/* --- commit ------------------------------------------------------------- */

static int commit_ring(struct rc_cache *c, const struct desired *d,
		       const struct rc_op *op)
{
	const struct desired_ring *want = &d->rings[op->pub.index];
	struct rc_ring *ring = &c->rings[op->pub.key.id];
	uint32_t id = op->pub.key.id;

	if (ring->known && ring->identity != want->identity)
		rc_kv_del(&c->ring_ids, &ring->identity);
	ring->present = 1;
	ring->known = 1;
	ring->identity = want->identity;
	ring->hash = op->hash;
	ring->size = want->size;
	ring->epoch = c->epoch;
	return rc_kv_put(&c->ring_ids, &ring->identity, &id, c->epoch);
}

static void commit_ring_delete(struct rc_cache *c, uint32_t id)
{
	struct rc_ring *ring = &c->rings[id];
	int64_t idx;

	if (ring->known) {
		idx = rc_kv_find(&c->ring_ids, &ring->identity);
		if (idx >= 0 && *(uint32_t *)rc_kv_val(&c->ring_ids, idx) == id)
			rc_kv_del(&c->ring_ids, &ring->identity);
	}
	memset(ring, 0, sizeof(*ring));
}

static int commit_table(struct rc_cache *c, const struct desired *d,
			const struct rc_plan *p, const struct rc_op *op)
{
	const struct desired_table *t = &d->tables[op->pub.index];
	struct rc_table val = { .hash = op->hash };

	rc_table_ring_ids(p, t, val.ring);
	return rc_kv_put(&c->tables, &t->key, &val, c->epoch);
}

int rc_commit(struct rc_cache *c, const struct desired *d,
	      const struct rc_plan *p, const struct rc_op *op)
{
	const struct reconcile_op *o = &op->pub;

	switch (o->kind) {
	case RECONCILE_CONFIG_PUT:
		c->config = d->config;
		c->config_known = true;
		return 0;
	case RECONCILE_BACKEND_PUT:
		c->backends[o->key.id] = o->backend;
		return 0;
	case RECONCILE_RING_SWAP:
		return commit_ring(c, d, op);
	case RECONCILE_TABLE_SWAP:
		return commit_table(c, d, p, op);
	case RECONCILE_CLASS4_PUT:
		return rc_kv_put(&c->classes4, &o->key.class4,
				 &d->classes4[o->index].val, c->epoch);
	case RECONCILE_CLASS6_PUT:
		return rc_kv_put(&c->classes6, &o->key.class6,
				 &d->classes6[o->index].val, c->epoch);
	case RECONCILE_VIP_PUT:
		return rc_kv_put(&c->vips, &o->key.vip, &d->vips[o->index].val,
				 c->epoch);
	case RECONCILE_VIP_DELETE:
		rc_kv_del(&c->vips, &o->key.vip);
		return 0;
	case RECONCILE_CLASS4_DELETE:
		rc_kv_del(&c->classes4, &o->key.class4);
		return 0;
	case RECONCILE_CLASS6_DELETE:
		rc_kv_del(&c->classes6, &o->key.class6);
		return 0;
	case RECONCILE_TABLE_DELETE:
		rc_kv_del(&c->tables, &o->key.table);
		return 0;
	case RECONCILE_RING_DELETE:
		commit_ring_delete(c, o->key.id);
		return 0;
	case RECONCILE_SETTLE:
	case RECONCILE_GRACE:
		return 0;
	}
	return 0;
}
