// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Pure part of the reconciler: diffs a desired state against the cache of
 * what the maps hold, lists the writes in a safe order, and records each
 * write once it is done. No I/O; a key listed twice is logged here, as
 * the caller cannot say which one it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reconcile_int.h"

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
	rc_kv_init(&c->vip_addrs4, sizeof(__u32),
		   sizeof(struct meridian_vip_addr));
	rc_kv_init(&c->vip_addrs6, sizeof(struct meridian_vip_addr6_key),
		   sizeof(struct meridian_vip_addr));
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
	rc_kv_free(&c->vip_addrs4);
	rc_kv_free(&c->vip_addrs6);
	rc_kv_free(&c->classes4);
	rc_kv_free(&c->classes6);
	rc_kv_free(&c->tables);
}

size_t rc_cache_memory(const struct rc_cache *c)
{
	return sizeof(*c) + MERIDIAN_MAX_BACKENDS * sizeof(*c->backends) +
	       MERIDIAN_MAX_RINGS * sizeof(*c->rings) +
	       rc_kv_memory(&c->ring_ids) + rc_kv_memory(&c->vips) +
	       rc_kv_memory(&c->vip_addrs4) + rc_kv_memory(&c->vip_addrs6) +
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
	if (!memcmp(old, want, sizeof(*old)))
		return BK_SAME;
	if (!old->family)
		return BK_NEW;
	if (!want->family)
		return BK_GONE;
	if (!rc_backend_same_but_up(old, want))
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
 * New backends and those that came up go first, so rings may name them;
 * those that went down too, as the edge skips their ring slots.
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
		if (ch == BK_NEW || ch == BK_UP || ch == BK_DOWN) {
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

static int plan_rings(struct rc_cache *c, const struct desired *d,
		      struct rc_plan *p)
{
	struct rc_op *op;
	uint32_t i, id;
	int err;

	err = rc_assign_rings(c, p, d);
	for (i = 0; !err && i < d->n_rings; i++) {
		id = p->ring_id[i];
		if (id == MERIDIAN_RING_NONE ||
		    (c->rings[id].known &&
		     rc_ring_holds(&c->rings[id], p, d, i)))
			continue;
		err = rc_check_ring_slots(&d->rings[i], i);
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
 * VIPs, prefilter entries and class prefixes share a shape: keyed entries
 * in an array of the desired state, compared by value.
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

/* In the order their puts go: classes, then the prefilter, then VIPs. */
enum { KEYED_SETS = 5 };

static void keyed_sets(struct rc_cache *c, const struct desired *d,
		       struct keyed_set s[KEYED_SETS])
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
		.cache = &c->vip_addrs4,
		.base = d->vip_addrs4,
		.n = d->n_vip_addrs4,
		.stride = sizeof(*d->vip_addrs4),
		.val_off = offsetof(struct desired_vip_addr4, val),
		.put = RECONCILE_VIP_ADDR4_PUT,
		.del = RECONCILE_VIP_ADDR4_DELETE,
		.what = "an IPv4 VIP address",
	};
	s[3] = (struct keyed_set){
		.cache = &c->vip_addrs6,
		.base = d->vip_addrs6,
		.n = d->n_vip_addrs6,
		.stride = sizeof(*d->vip_addrs6),
		.val_off = offsetof(struct desired_vip_addr6, val),
		.put = RECONCILE_VIP_ADDR6_PUT,
		.del = RECONCILE_VIP_ADDR6_DELETE,
		.what = "an IPv6 VIP address",
	};
	s[4] = (struct keyed_set){
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
	struct keyed_set s[KEYED_SETS];
	int err, i;

	err = note_keys(&c->tables, d->tables, d->n_tables, sizeof(*d->tables),
			c->epoch, "a region table");
	keyed_sets(c, d, s);
	for (i = 0; !err && i < KEYED_SETS; i++)
		err = note_keys(s[i].cache, s[i].base, s[i].n, s[i].stride,
				c->epoch, s[i].what);
	return err;
}

int rc_plan_begin(struct rc_cache *c, const struct desired *d,
		  struct rc_plan *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	err = rc_check_desired(d);
	if (err)
		return err;
	c->epoch++;
	if (!c->epoch)
		c->epoch = 1;
	err = note_all_keys(c, d);
	if (!err)
		err = rc_hash_desired_rings(p, d);
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
	return err;
}

int rc_plan_rest(struct rc_cache *c, const struct desired *d, struct rc_plan *p)
{
	struct keyed_set s[KEYED_SETS];
	int err, i;

	p->n_ops = 0;
	keyed_sets(c, d, s);
	err = plan_tables(c, d, p);
	/*
	 * Classes before VIPs: a new VIP finds its classes' tables ready.
	 * The prefilter before VIPs: it announces them, wildcards included.
	 */
	for (i = 0; !err && i < KEYED_SETS; i++)
		err = plan_puts(&s[i], p);
	/* Deletes: VIPs, prefilter, class prefixes, tables, rings, backends. */
	if (!err)
		err = plan_deletes(&c->vips, c->epoch, RECONCILE_VIP_DELETE, p);
	if (!err)
		err = plan_deletes(&c->vip_addrs4, c->epoch,
				   RECONCILE_VIP_ADDR4_DELETE, p);
	if (!err)
		err = plan_deletes(&c->vip_addrs6, c->epoch,
				   RECONCILE_VIP_ADDR6_DELETE, p);
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
	case RECONCILE_VIP_ADDR4_PUT:
		return rc_kv_put(&c->vip_addrs4, &o->key.vip_addr4,
				 &d->vip_addrs4[o->index].val, c->epoch);
	case RECONCILE_VIP_ADDR6_PUT:
		return rc_kv_put(&c->vip_addrs6, &o->key.vip_addr6,
				 &d->vip_addrs6[o->index].val, c->epoch);
	case RECONCILE_VIP_ADDR4_DELETE:
		rc_kv_del(&c->vip_addrs4, &o->key.vip_addr4);
		return 0;
	case RECONCILE_VIP_ADDR6_DELETE:
		rc_kv_del(&c->vip_addrs6, &o->key.vip_addr6);
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
