/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the reconciler, shared by its files:
 *   reconcile_kv.c    pure: a small hash table and content hashes
 *   reconcile_check.c pure: validation of a desired state
 *   reconcile_rings.c pure: which ring id holds which ring identity
 *   reconcile_plan.c  pure: the ordered list of writes, and their record
 *   reconcile_read.c  reads the maps into the cache (at create)
 *   reconcile_exec.c  performs the writes, batched, in helper threads
 *   reconcile_prefilter.c  the VIP-address tables, swapped whole
 *   reconcile.c       the public API
 */
#ifndef MERIDIAN_RECONCILE_INT_H
#define MERIDIAN_RECONCILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reconcile.h"

/*
 * Open addressing with linear probing over fixed-size keys and values.
 * Each entry starts with a u32 mark: 0 is an empty entry, anything else
 * the apply (epoch) that last saw the key in a desired state.
 */
struct rc_kv {
	uint8_t *entries;
	uint32_t cap; /* a power of two, or 0 before the first insert */
	uint32_t count;
	uint32_t key_size;
	uint32_t val_size;
	uint32_t val_off; /* 8-byte aligned, for values holding u64s */
	uint32_t stride;
};

void rc_kv_init(struct rc_kv *kv, uint32_t key_size, uint32_t val_size);
void rc_kv_free(struct rc_kv *kv);
/* Entry index of key, or -1. */
int64_t rc_kv_find(const struct rc_kv *kv, const void *key);
/* Insert or replace; the entry gets mark. 0 or -ENOMEM. */
int rc_kv_put(struct rc_kv *kv, const void *key, const void *val,
	      uint32_t mark);
void rc_kv_del(struct rc_kv *kv, const void *key);
size_t rc_kv_memory(const struct rc_kv *kv);

static inline uint32_t *rc_kv_mark(const struct rc_kv *kv, uint32_t i)
{
	return (uint32_t *)(kv->entries + (size_t)i * kv->stride);
}

static inline void *rc_kv_key(const struct rc_kv *kv, uint32_t i)
{
	return kv->entries + (size_t)i * kv->stride + sizeof(uint32_t);
}

static inline void *rc_kv_val(const struct rc_kv *kv, uint32_t i)
{
	return kv->entries + (size_t)i * kv->stride + kv->val_off;
}

/*
 * 64-bit content hash, eight independent lanes so long inputs (tables,
 * rings) hash at memory speed. Change detection only: a collision between
 * a table's old and new content would leave the old one in place, with odds
 * of about 2^-64 per change.
 */
uint64_t rc_hash(const void *data, size_t len, uint64_t seed);

/* Hashes of what a ring or a table holds, equal for maps and desired. */
uint64_t rc_ring_hash(const uint32_t *slots, uint32_t size);
uint64_t rc_table_hash(uint32_t flags, const uint16_t *ring,
		       const uint8_t *slot);

struct rc_ring {
	uint64_t identity; /* when known */
	uint64_t hash;
	uint32_t size;
	uint32_t epoch; /* claimed by a desired ring in that apply */
	uint8_t present;
	uint8_t known; /* identity is known; else adopted content only */
};

struct rc_table {
	uint64_t hash; /* rc_table_hash() of what the map holds */
	uint16_t ring[MERIDIAN_MAX_REGIONS]; /* ring ids it names */
};

/* What the maps hold, as far as the reconciler knows. */
struct rc_cache {
	bool config_known;
	struct meridian_config config;
	struct meridian_backend *backends; /* MERIDIAN_MAX_BACKENDS */
	struct rc_ring *rings; /* MERIDIAN_MAX_RINGS */
	struct rc_kv ring_ids; /* identity -> u32 ring id */
	struct rc_kv vips; /* meridian_vip_key -> meridian_vip */
	struct rc_kv vip_addrs4; /* __u32 address -> meridian_vip_addr */
	struct rc_kv vip_addrs6; /* meridian_vip_addr6_key -> the same */
	struct rc_kv classes4; /* meridian_lpm4_key -> meridian_class */
	struct rc_kv classes6; /* meridian_lpm6_key -> meridian_class */
	struct rc_kv tables; /* meridian_region_key -> rc_table */
	uint32_t epoch; /* of the current or last apply; never 0 */
};

/* a and b differ in their up flag at most (address, family, region). */
static inline bool rc_backend_same_but_up(const struct meridian_backend *a,
					  const struct meridian_backend *b)
{
	struct meridian_backend x = *b;

	x.up = a->up;
	return !memcmp(a, &x, sizeof(x));
}

int rc_cache_init(struct rc_cache *c);
void rc_cache_free(struct rc_cache *c);
size_t rc_cache_memory(const struct rc_cache *c);

struct rc_op {
	struct reconcile_op pub;
	uint64_t hash; /* content hash of a ring or table swap */
};

struct rc_plan {
	struct rc_op *ops;
	uint32_t n_ops;
	uint32_t cap_ops;
	uint32_t *ring_id; /* per desired ring: its id, RING_NONE if empty */
	uint64_t *ring_hash; /* per desired ring */
	uint32_t n_rings;
	uint32_t empty_refs; /* table regions naming an empty ring */
};

/*
 * The writes that turn what c holds into d, in a safe order, planned in
 * two steps so health reaches the data plane before the tables are even
 * compared:
 *   rc_plan_begin()   checks d (a key listed twice too) and marks what d
 *                     keeps; nothing may be written if it fails (-EINVAL);
 *   rc_plan_health()  config, backends new, up or down, then rings;
 *   rc_plan_rest()    tables, class prefixes, prefilter entries, VIPs,
 *                     then the deletes.
 * Each of the two lists replaces p's ops. Adopting a pinned ring for an
 * identity (no write needed) is recorded in c at once.
 * 0, -EINVAL, -ENOSPC (out of ring ids), -ENOMEM.
 */
int rc_plan_begin(struct rc_cache *c, const struct desired *d,
		  struct rc_plan *p);
int rc_plan_health(struct rc_cache *c, const struct desired *d,
		   struct rc_plan *p);
int rc_plan_rest(struct rc_cache *c, const struct desired *d,
		 struct rc_plan *p);
void rc_plan_free(struct rc_plan *p);

/* reconcile_check.c: logs what is wrong; -EINVAL (or -ENOMEM). */
int rc_check_desired(const struct desired *d);
/* Entries of a ring being written must name backend ids the map has. */
int rc_check_ring_slots(const struct desired_ring *ring, uint32_t i);

/* reconcile_rings.c: p->ring_hash and p->ring_id (RING_NONE) for d. */
int rc_hash_desired_rings(struct rc_plan *p, const struct desired *d);
/*
 * An id for every non-empty ring of d in p->ring_id, claimed in c for
 * this apply. 0, -EINVAL (identity twice), -ENOSPC, -ENOMEM.
 */
int rc_assign_rings(struct rc_cache *c, struct rc_plan *p,
		    const struct desired *d);
/* The ring in the map holds desired ring i already. */
bool rc_ring_holds(const struct rc_ring *ring, const struct rc_plan *p,
		   const struct desired *d, uint32_t i);

/* Records in c that op was written. 0 or -ENOMEM. */
int rc_commit(struct rc_cache *c, const struct desired *d,
	      const struct rc_plan *p, const struct rc_op *op);

/* A desired table's ring indexes as ring ids. */
void rc_table_ring_ids(const struct rc_plan *p, const struct desired_table *t,
		       uint16_t ring[MERIDIAN_MAX_REGIONS]);

struct rc_async;

struct reconciler {
	struct meridian_maps maps; /* fds borrowed from the caller */
	struct rc_cache cache;
	reconcile_log_fn log_fn;
	void *log_arg;
	struct rc_async *pending; /* helper threads not yet joined */
	uint32_t n_pending;
	uint32_t batch_max; /* inner map fds held open at once */
};

/* Reads every map into r->cache. */
int rc_read_maps(struct reconciler *r);

/*
 * reconcile_prefilter.c: a run of n prefilter puts (or deletes) of one
 * family as one table swap, and the tables read into the cache.
 */
int rc_prefilter_swap(struct reconciler *r, const struct desired *d,
		      const struct rc_op *ops, uint32_t n);
int rc_prefilter_read(struct reconciler *r);

/*
 * Performs p's writes in order, committing each to r->cache and counting
 * it in st (visible_ns from t0).
 */
int rc_exec(struct reconciler *r, const struct desired *d,
	    const struct rc_plan *p, struct reconcile_stats *st, uint64_t t0);

/* Joins helper threads: all of them, or only those already finished. */
void rc_join_pending(struct reconciler *r, bool only_finished);

uint64_t rc_now_ns(void);

#endif /* MERIDIAN_RECONCILE_INT_H */
