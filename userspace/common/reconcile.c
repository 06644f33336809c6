// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "reconcile_int.h"

#define BATCH_MIN 16
#define BATCH_MAX 1024

/*
 * A batch holds one inner map fd per swap until its entries are in place.
 * Use at most a quarter of the descriptors the process may open.
 */
static uint32_t batch_limit(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return BATCH_MAX;
	n = rl.rlim_cur / 4;
	if (n < BATCH_MIN)
		return BATCH_MIN;
	return n > BATCH_MAX ? BATCH_MAX : (uint32_t)n;
}

int reconciler_create(struct reconciler **out, const struct meridian_maps *m)
{
	struct reconciler *r;
	uint64_t t0 = rc_now_ns();
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		log_err("reconcile: out of memory");
		return -ENOMEM;
	}
	r->maps = *m;
	r->batch_max = batch_limit();
	err = rc_cache_init(&r->cache);
	if (err) {
		log_err("reconcile: out of memory");
		free(r);
		return err;
	}
	err = rc_read_maps(r);
	if (err) {
		reconciler_destroy(r);
		return err;
	}
	log_debug("reconcile: read the maps in %llu us: %u VIP keys on "
		  "%u + %u addresses, %u tables",
		  (unsigned long long)(rc_now_ns() - t0) / 1000,
		  r->cache.vips.count, r->cache.vip_addrs4.count,
		  r->cache.vip_addrs6.count, r->cache.tables.count);
	*out = r;
	return 0;
}

void reconciler_settle(struct reconciler *r)
{
	rc_join_pending(r, false);
}

void reconciler_destroy(struct reconciler *r)
{
	if (!r)
		return;
	rc_join_pending(r, false);
	rc_cache_free(&r->cache);
	free(r);
}

typedef int (*plan_fn)(struct rc_cache *c, const struct desired *d,
		       struct rc_plan *p);

static int plan_and_write(struct reconciler *r, const struct desired *d,
			  struct rc_plan *plan, plan_fn plan_step,
			  struct reconcile_stats *st, uint64_t t0)
{
	int err = plan_step(&r->cache, d, plan);

	/* Invalid input and running out of ring ids are logged in there. */
	if (err == -ENOMEM)
		log_err("reconcile: out of memory planning the writes");
	if (err)
		return err;
	if (plan->empty_refs)
		log_warn("reconcile: %u table regions name an empty ring; "
			 "written as no ring",
			 plan->empty_refs);
	return rc_exec(r, d, plan, st, t0);
}

int reconcile_apply(struct reconciler *r, const struct desired *d,
		    struct reconcile_stats *st)
{
	struct reconcile_stats local;
	uint64_t t0 = rc_now_ns();
	struct rc_plan plan;
	int err;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	rc_join_pending(r, true);
	err = rc_plan_begin(&r->cache, d, &plan);
	if (err == -ENOMEM)
		log_err("reconcile: out of memory planning the writes");
	if (err)
		goto out;
	err = plan_and_write(r, d, &plan, rc_plan_health, st, t0);
	if (!err)
		err = plan_and_write(r, d, &plan, rc_plan_rest, st, t0);
	rc_plan_free(&plan);
out:
	st->duration_ns = rc_now_ns() - t0;
	return err;
}

int reconcile_backend_health(struct reconciler *r, uint32_t id,
			     const struct meridian_backend *want)
{
	struct reconcile_op op = { .kind = RECONCILE_BACKEND_PUT };
	struct meridian_backend *have;
	int err;

	if (id >= MERIDIAN_MAX_BACKENDS || !want->family)
		return 0;
	have = &r->cache.backends[id];
	/* An address, family or region change waits for the apply. */
	if (!have->family || !rc_backend_same_but_up(have, want) ||
	    have->up == want->up)
		return 0;
	err = meridian_backend_put(&r->maps, id, want);
	if (err)
		return err;
	*have = *want;
	op.key.id = id;
	op.backend = *want;
	if (r->log_fn)
		r->log_fn(r->log_arg, &op);
	return 1;
}

int reconciler_ring_id(const struct reconciler *r, uint64_t identity)
{
	int64_t idx = rc_kv_find(&r->cache.ring_ids, &identity);

	if (idx < 0)
		return -ENOENT;
	return (int)*(uint32_t *)rc_kv_val(&r->cache.ring_ids, idx);
}

size_t reconciler_memory(const struct reconciler *r)
{
	return sizeof(*r) + rc_cache_memory(&r->cache);
}

void reconciler_set_log(struct reconciler *r, reconcile_log_fn fn, void *arg)
{
	r->log_fn = fn;
	r->log_arg = arg;
}

const char *reconcile_op_name(enum reconcile_op_kind kind)
{
	static const char *const names[] = {
		[RECONCILE_CONFIG_PUT] = "config_put",
		[RECONCILE_BACKEND_PUT] = "backend_put",
		[RECONCILE_RING_SWAP] = "ring_swap",
		[RECONCILE_TABLE_SWAP] = "table_swap",
		[RECONCILE_CLASS4_PUT] = "class4_put",
		[RECONCILE_CLASS6_PUT] = "class6_put",
		[RECONCILE_VIP_PUT] = "vip_put",
		[RECONCILE_VIP_DELETE] = "vip_delete",
		[RECONCILE_VIP_ADDR4_PUT] = "vip_addr4_put",
		[RECONCILE_VIP_ADDR6_PUT] = "vip_addr6_put",
		[RECONCILE_VIP_ADDR4_DELETE] = "vip_addr4_delete",
		[RECONCILE_VIP_ADDR6_DELETE] = "vip_addr6_delete",
		[RECONCILE_CLASS4_DELETE] = "class4_delete",
		[RECONCILE_CLASS6_DELETE] = "class6_delete",
		[RECONCILE_TABLE_DELETE] = "table_delete",
		[RECONCILE_RING_DELETE] = "ring_delete",
		[RECONCILE_SETTLE] = "settle",
		[RECONCILE_GRACE] = "grace",
	};

	if ((unsigned int)kind < sizeof(names) / sizeof(names[0]) &&
	    names[kind])
		return names[kind];
	return "?";
}
