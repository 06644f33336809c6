// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Performs a plan's writes. Element writes go through the typed accessors.
 * Swaps and deletes of outer (map-in-map) entries are batched, one syscall
 * per batch, because the kernel ends each such syscall with an RCU grace
 * period (synchronize_rcu, about 10 ms): one at a time, 2000 table swaps
 * would take 20 s. The syscall runs in a helper thread and the apply goes
 * on once the last entry of the batch is in the map, which is when packets
 * start using it; the grace period ends in the background and is waited
 * for only where the order needs it (RECONCILE_SETTLE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>

#include "log.h"
#include "reconcile_int.h"

/*
 * Inner maps must have the shape of the templates in bpf/maps.h, as those
 * meridian_access.c creates: tables one element, rings BPF_F_INNER_MAP.
 */

#define MAX_PENDING 32 /* helper threads waiting out grace periods */
/*
 * Ring entries per swap batch. Filling an inner array costs about 0.2 us
 * per entry, so big batches would hold back the first rings; this lets
 * each 64-backend ring go in as soon as it is filled.
 */
#define RING_BATCH_ENTRIES 8192
#define HELPER_STACK (256 * 1024)
/* Polls for a batch to show up before blocking on the syscall instead. */
#define VISIBLE_POLLS 200000

enum async_kind {
	ASYNC_UPDATE, /* batch update of outer entries with inner map fds */
	ASYNC_DELETE, /* batch delete of outer entries */
	ASYNC_DELETE_ONE, /* maps without batch delete (arrays of maps) */
};

/* One outer-map syscall, possibly still in its grace period. */
struct rc_async {
	struct rc_async *next;
	enum async_kind kind;
	int outer_fd;
	const char *map_name;
	uint8_t *keys;
	size_t key_size;
	int *fds; /* ASYNC_UPDATE: inner maps, -1 once closed */
	uint32_t n;
	uint32_t done; /* entries written when the syscall ended */
	uint32_t want_id; /* map id the last entry holds when visible */
	int err;
	atomic_bool finished;
	bool threaded;
	pthread_t thread;
};

uint64_t rc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool batch_unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -524;
}

static void *async_key(const struct rc_async *a, uint32_t i)
{
	return a->keys + (size_t)i * a->key_size;
}

/* Deletes one by one, a missing entry counting as deleted. */
static int delete_each(struct rc_async *a, uint32_t from)
{
	int err;

	for (a->done = from; a->done < a->n; a->done++) {
		err = bpf_map_delete_elem(a->outer_fd, async_key(a, a->done));
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

static int delete_batch(struct rc_async *a)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count;
	int err;

	a->done = 0;
	while (a->done < a->n) {
		count = a->n - a->done;
		err = bpf_map_delete_batch(a->outer_fd, async_key(a, a->done),
					   &count, &opts);
		if (!err) {
			a->done = a->n;
			break;
		}
		if (batch_unsupported(err) && count == 0)
			return delete_each(a, a->done);
		a->done += count;
		if (err != -ENOENT)
			return err;
		a->done++; /* already gone */
	}
	return 0;
}

static void async_run(struct rc_async *a)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count = a->n;

	switch (a->kind) {
	case ASYNC_UPDATE:
		a->err = bpf_map_update_batch(a->outer_fd, a->keys, a->fds,
					      &count, &opts);
		a->done = a->err ? count : a->n;
		break;
	case ASYNC_DELETE:
		a->err = delete_batch(a);
		break;
	case ASYNC_DELETE_ONE:
		a->err = delete_each(a, 0);
		break;
	}
}

static void *async_main(void *arg)
{
	struct rc_async *a = arg;

	async_run(a);
	atomic_store(&a->finished, true);
	return NULL;
}

static struct rc_async *async_new(enum async_kind kind, int outer_fd,
				  const char *map_name, size_t key_size,
				  uint32_t n)
{
	struct rc_async *a = calloc(1, sizeof(*a));
	uint32_t i;

	if (!a)
		return NULL;
	a->kind = kind;
	a->outer_fd = outer_fd;
	a->map_name = map_name;
	a->key_size = key_size;
	a->n = n;
	a->keys = calloc(n, key_size);
	if (kind == ASYNC_UPDATE)
		a->fds = malloc((size_t)n * sizeof(*a->fds));
	if (!a->keys || (kind == ASYNC_UPDATE && !a->fds)) {
		free(a->keys);
		free(a->fds);
		free(a);
		return NULL;
	}
	for (i = 0; kind == ASYNC_UPDATE && i < n; i++)
		a->fds[i] = -1;
	atomic_init(&a->finished, false);
	return a;
}

static void async_close_fds(struct rc_async *a)
{
	uint32_t i;

	for (i = 0; a->fds && i < a->n; i++) {
		if (a->fds[i] >= 0)
			close(a->fds[i]);
		a->fds[i] = -1;
	}
}

static void async_free(struct rc_async *a)
{
	async_close_fds(a);
	free(a->fds);
	free(a->keys);
	free(a);
}

/* In a helper thread if one can be had, else here and now. */
static void async_start(struct rc_async *a)
{
	pthread_attr_t attr;

	if (!pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, HELPER_STACK);
		a->threaded = !pthread_create(&a->thread, &attr, async_main, a);
		pthread_attr_destroy(&attr);
	}
	if (!a->threaded)
		async_main(a);
}

static void async_join(struct rc_async *a)
{
	if (a->threaded) {
		pthread_join(a->thread, NULL);
		a->threaded = false;
	}
}

static bool async_visible(const struct rc_async *a)
{
	uint32_t id;
	int err;

	err = bpf_map_lookup_elem(a->outer_fd, async_key(a, a->n - 1), &id);
	if (a->kind == ASYNC_UPDATE)
		return !err && id == a->want_id;
	return err == -ENOENT;
}

/*
 * Returns how many entries are in the map: all of them once the last one
 * shows, else what the finished syscall reports.
 */
static uint32_t async_wait_visible(struct rc_async *a)
{
	uint32_t polls;

	for (polls = 0; a->threaded && polls < VISIBLE_POLLS; polls++) {
		if (atomic_load(&a->finished))
			break;
		if (async_visible(a))
			return a->n;
		sched_yield();
	}
	async_join(a);
	return a->err ? a->done : a->n;
}

void rc_join_pending(struct reconciler *r, bool only_finished)
{
	struct rc_async **pp = &r->pending, *a;

	while ((a = *pp)) {
		if (only_finished && !atomic_load(&a->finished)) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		async_join(a);
		/* Everything was in the map already; this cannot fail now. */
		if (a->err)
			log_warn("%s: syscall failed after its entries were "
				 "written: %s",
				 a->map_name, strerror(-a->err));
		async_free(a);
		r->n_pending--;
	}
}

static void join_oldest(struct reconciler *r)
{
	struct rc_async *a = r->pending;

	r->pending = a->next;
	r->n_pending--;
	async_join(a);
	async_free(a);
}

/* Keeps a finished-but-for-its-grace-period syscall for later joining. */
static void async_keep(struct reconciler *r, struct rc_async *a)
{
	struct rc_async **pp = &r->pending;

	if (!a->threaded || atomic_load(&a->finished)) {
		async_join(a);
		async_free(a);
		return;
	}
	if (r->n_pending >= MAX_PENDING)
		rc_join_pending(r, true);
	if (r->n_pending >= MAX_PENDING)
		join_oldest(r);
	while (*pp)
		pp = &(*pp)->next;
	a->next = NULL;
	*pp = a;
	r->n_pending++;
}

/* --- bookkeeping -------------------------------------------------------- */

struct exec_ctx {
	struct reconciler *r;
	const struct desired *d;
	const struct rc_plan *p;
	struct reconcile_stats *st;
	uint64_t t0;
};

static int op_done(struct exec_ctx *x, const struct rc_op *op)
{
	struct reconcile_stats *st = x->st;
	int err;

	err = rc_commit(&x->r->cache, x->d, x->p, op);
	if (err)
		log_err("reconcile: out of memory recording a %s",
			reconcile_op_name(op->pub.kind));
	switch (op->pub.kind) {
	case RECONCILE_RING_SWAP:
		st->ring_swaps++;
		st->writes++;
		break;
	case RECONCILE_TABLE_SWAP:
		st->table_swaps++;
		st->writes++;
		break;
	case RECONCILE_VIP_DELETE:
	case RECONCILE_VIP_ADDR4_DELETE:
	case RECONCILE_VIP_ADDR6_DELETE:
	case RECONCILE_CLASS4_DELETE:
	case RECONCILE_CLASS6_DELETE:
	case RECONCILE_TABLE_DELETE:
	case RECONCILE_RING_DELETE:
		st->deletes++;
		break;
	case RECONCILE_SETTLE:
	case RECONCILE_GRACE:
		break;
	default:
		st->writes++;
		break;
	}
	if (op->pub.kind != RECONCILE_SETTLE && op->pub.kind != RECONCILE_GRACE)
		st->visible_ns = rc_now_ns() - x->t0;
	if (x->r->log_fn)
		x->r->log_fn(x->r->log_arg, &op->pub);
	return err;
}

static int ops_done(struct exec_ctx *x, const struct rc_op *ops, uint32_t n)
{
	uint32_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = op_done(x, &ops[i]);
		if (err)
			return err;
	}
	return 0;
}

/* --- inner maps --------------------------------------------------------- */

static int map_id_of(int fd, uint32_t *id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		log_err("cannot read the id of a new inner map: %s",
			strerror(-err));
		return err;
	}
	*id = info.id;
	return 0;
}

static int table_inner(struct exec_ctx *x, const struct rc_op *op)
{
	const struct desired_table *t = &x->d->tables[op->pub.index];
	struct meridian_region_table table;
	int fd;

	table.generation = x->d->generation;
	table.flags = t->table.flags;
	rc_table_ring_ids(x->p, t, table.ring);
	memcpy(table.slot, t->table.slot, sizeof(table.slot));
	fd = meridian_region_inner_new(&table);
	if (fd < 0)
		log_err("region table (vip %u, class %u): cannot fill: %s",
			t->key.vip_id, t->key.class_id, strerror(-fd));
	return fd;
}

static int ring_inner(struct exec_ctx *x, const struct rc_op *op)
{
	const struct desired_ring *ring = &x->d->rings[op->pub.index];
	int fd;

	fd = meridian_ring_inner_new(ring->slots, ring->size);
	if (fd < 0)
		log_err("ring %u: cannot fill %u entries: %s", op->pub.key.id,
			ring->size, strerror(-fd));
	return fd;
}

/* --- grouped writes ----------------------------------------------------- */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int swap_chunk(struct exec_ctx *x, const struct rc_op *ops, uint32_t n,
		      bool rings)
{
	struct reconciler *r = x->r;
	int err = 0, done_err, fd;
	struct rc_async *a;
	uint32_t i, done;

	a = rings ? async_new(ASYNC_UPDATE, r->maps.rings, MERIDIAN_MAP_RINGS,
			      sizeof(__u32), n) :
		    async_new(ASYNC_UPDATE, r->maps.region_tables,
			      MERIDIAN_MAP_REGION_TABLES,
			      sizeof(struct meridian_region_key), n);
	if (!a) {
		log_err("reconcile: out of memory for a batch of %u swaps", n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		fd = rings ? ring_inner(x, &ops[i]) : table_inner(x, &ops[i]);
		if (fd < 0) {
			err = fd;
			goto out_free;
		}
		a->fds[i] = fd;
		memcpy(async_key(a, i), &ops[i].pub.key, a->key_size);
	}
	err = map_id_of(a->fds[n - 1], &a->want_id);
	if (err)
		goto out_free;
	async_start(a);
	done = async_wait_visible(a);
	/* Every fd the kernel needed is taken once its entry is in place. */
	async_close_fds(a);
	if (done < n)
		log_err("%s: swap %u of %u failed: %s", a->map_name, done + 1,
			n, strerror(-a->err));
	err = done < n ? a->err : 0;
	async_keep(r, a);
	done_err = ops_done(x, ops, done);
	return err ? err : done_err;

out_free:
	async_free(a);
	return err;
}

/* How many of the next swaps go in one batch. */
static uint32_t swap_chunk_len(const struct exec_ctx *x,
			       const struct rc_op *ops, uint32_t n, bool rings)
{
	uint64_t entries = 0;
	uint32_t m, max = min_u32(n, x->r->batch_max);

	if (!rings)
		return max;
	for (m = 0; m < max; m++) {
		entries += (uint64_t)x->d->rings[ops[m].pub.index].size + 1;
		if (m && entries > RING_BATCH_ENTRIES)
			break;
	}
	return m;
}

static int exec_swaps(struct exec_ctx *x, const struct rc_op *ops, uint32_t n,
		      bool rings)
{
	uint32_t i, m;
	int err;

	for (i = 0; i < n; i += m) {
		m = swap_chunk_len(x, ops + i, n - i, rings);
		err = swap_chunk(x, ops + i, m, rings);
		if (err)
			return err;
	}
	return 0;
}

static int exec_table_deletes(struct exec_ctx *x, const struct rc_op *ops,
			      uint32_t n)
{
	struct rc_async *a;
	uint32_t i, done;
	int err, done_err;

	a = async_new(ASYNC_DELETE, x->r->maps.region_tables,
		      MERIDIAN_MAP_REGION_TABLES,
		      sizeof(struct meridian_region_key), n);
	if (!a) {
		log_err("reconcile: out of memory for %u table deletes", n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		memcpy(async_key(a, i), &ops[i].pub.key.table, a->key_size);
	async_start(a);
	done = async_wait_visible(a);
	err = done < n ? a->err : 0;
	if (err)
		log_err("%s: delete %u of %u failed: %s", a->map_name, done + 1,
			n, strerror(-err));
	async_keep(x->r, a);
	done_err = ops_done(x, ops, done);
	return err ? err : done_err;
}

/*
 * Arrays of maps have no batch delete, and each delete waits out a grace
 * period of its own: run them side by side so the waits overlap.
 */
static int exec_ring_deletes(struct exec_ctx *x, const struct rc_op *ops,
			     uint32_t n)
{
	struct rc_async *a[MAX_PENDING];
	uint32_t i, j, m;
	int err = 0;

	for (i = 0; !err && i < n; i += m) {
		m = min_u32(n - i, MAX_PENDING);
		for (j = 0; j < m; j++) {
			a[j] = async_new(ASYNC_DELETE_ONE, x->r->maps.rings,
					 MERIDIAN_MAP_RINGS, sizeof(__u32), 1);
			if (!a[j]) {
				m = j;
				err = -ENOMEM;
				log_err("reconcile: out of memory for ring "
					"deletes");
				break;
			}
			memcpy(a[j]->keys, &ops[i + j].pub.key.id,
			       sizeof(__u32));
			async_start(a[j]);
		}
		for (j = 0; j < m; j++) {
			if (!async_wait_visible(a[j]) && !err) {
				err = a[j]->err;
				log_err("%s: delete of ring %u failed: %s",
					MERIDIAN_MAP_RINGS,
					ops[i + j].pub.key.id, strerror(-err));
			}
			if (!err)
				err = op_done(x, &ops[i + j]);
			async_keep(x->r, a[j]);
		}
	}
	return err;
}

/* A fresh RCU grace period: membarrier's global command is exactly that. */
static int grace_period(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return 0;
	/* nohz_full kernels refuse it; a sleep outlasts any XDP run. */
	log_debug("membarrier: %s; sleeping instead", strerror(errno));
	usleep(10000);
	return 0;
}

static int ignore_enoent(int err)
{
	return err == -ENOENT ? 0 : err;
}

static int exec_single(struct exec_ctx *x, const struct rc_op *op)
{
	const struct meridian_maps *m = &x->r->maps;
	const struct reconcile_op *o = &op->pub;
	const struct desired *d = x->d;
	int err = 0;

	switch (o->kind) {
	case RECONCILE_CONFIG_PUT:
		err = meridian_config_put(m, &d->config);
		break;
	case RECONCILE_BACKEND_PUT:
		err = meridian_backend_put(m, o->key.id, &o->backend);
		break;
	case RECONCILE_CLASS4_PUT:
		err = meridian_class4_put(m, &o->key.class4,
					  &d->classes4[o->index].val);
		break;
	case RECONCILE_CLASS6_PUT:
		err = meridian_class6_put(m, &o->key.class6,
					  &d->classes6[o->index].val);
		break;
	case RECONCILE_VIP_PUT:
		err = meridian_vip_put(m, &o->key.vip, &d->vips[o->index].val);
		break;
	case RECONCILE_VIP_DELETE:
		err = ignore_enoent(meridian_vip_delete(m, &o->key.vip));
		break;
	case RECONCILE_CLASS4_DELETE:
		err = ignore_enoent(meridian_class4_delete(m, &o->key.class4));
		break;
	case RECONCILE_CLASS6_DELETE:
		err = ignore_enoent(meridian_class6_delete(m, &o->key.class6));
		break;
	case RECONCILE_SETTLE:
		rc_join_pending(x->r, false);
		break;
	case RECONCILE_GRACE:
		err = grace_period();
		break;
	default:
		log_err("reconcile: %s is not a single write",
			reconcile_op_name(o->kind));
		return -EINVAL;
	}
	if (err)
		return err;
	return op_done(x, op);
}

static bool batched(enum reconcile_op_kind kind)
{
	return kind == RECONCILE_RING_SWAP || kind == RECONCILE_TABLE_SWAP ||
	       kind == RECONCILE_TABLE_DELETE || kind == RECONCILE_RING_DELETE ||
	       kind == RECONCILE_VIP_ADDR4_PUT ||
	       kind == RECONCILE_VIP_ADDR6_PUT ||
	       kind == RECONCILE_VIP_ADDR4_DELETE ||
	       kind == RECONCILE_VIP_ADDR6_DELETE;
}

/* The whole run is one table, in the data plane once the swap returns. */
static int exec_prefilter(struct exec_ctx *x, const struct rc_op *ops,
			  uint32_t n)
{
	int err = rc_prefilter_swap(x->r, x->d, ops, n);

	return err ? err : ops_done(x, ops, n);
}

static int exec_group(struct exec_ctx *x, const struct rc_op *ops, uint32_t n)
{
	switch (ops[0].pub.kind) {
	case RECONCILE_RING_SWAP:
		return exec_swaps(x, ops, n, true);
	case RECONCILE_TABLE_SWAP:
		return exec_swaps(x, ops, n, false);
	case RECONCILE_TABLE_DELETE:
		return exec_table_deletes(x, ops, n);
	case RECONCILE_RING_DELETE:
		return exec_ring_deletes(x, ops, n);
	case RECONCILE_VIP_ADDR4_PUT:
	case RECONCILE_VIP_ADDR6_PUT:
	case RECONCILE_VIP_ADDR4_DELETE:
	case RECONCILE_VIP_ADDR6_DELETE:
		return exec_prefilter(x, ops, n);
	default:
		return exec_single(x, ops);
	}
}

int rc_exec(struct reconciler *r, const struct desired *d,
	    const struct rc_plan *p, struct reconcile_stats *st, uint64_t t0)
{
	struct exec_ctx x = { .r = r, .d = d, .p = p, .st = st, .t0 = t0 };
	enum reconcile_op_kind kind;
	uint32_t i = 0, n;
	int err;

	while (i < p->n_ops) {
		kind = p->ops[i].pub.kind;
		n = 1;
		while (batched(kind) && i + n < p->n_ops &&
		       p->ops[i + n].pub.kind == kind)
			n++;
		err = exec_group(&x, &p->ops[i], n);
		if (err)
			return err;
		i += n;
	}
	return 0;
}
