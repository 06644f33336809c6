// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The VIP-address prefilter in the maps is a whole open-addressing table
 * per family, swapped in with one outer update. A run of prefilter writes
 * of the plan (all puts, or all deletes, of one family) is therefore one
 * table: what the cache says the map holds with the run applied, placed
 * in address order (equal contents give equal tables), then swapped. At
 * create, the tables are read back into the cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reconcile_int.h"
#include "vip_table.h"

/* Either family: an IPv4 address is key[0], the rest zero. */
struct pf_entry {
	__u32 key[4];
	struct meridian_vip_addr val;
	bool gone;
};

struct pf_list {
	struct pf_entry *e;
	uint32_t n;
	uint32_t sorted; /* e[0..sorted) is in key order */
};

static int pf_cmp(const void *a, const void *b)
{
	return memcmp(((const struct pf_entry *)a)->key,
		      ((const struct pf_entry *)b)->key,
		      sizeof(((const struct pf_entry *)a)->key));
}

static bool is_v4(enum reconcile_op_kind kind)
{
	return kind == RECONCILE_VIP_ADDR4_PUT ||
	       kind == RECONCILE_VIP_ADDR4_DELETE;
}

static bool is_delete(enum reconcile_op_kind kind)
{
	return kind == RECONCILE_VIP_ADDR4_DELETE ||
	       kind == RECONCILE_VIP_ADDR6_DELETE;
}

/* The op's key and, for a put, the value it writes. */
static void op_entry(const struct rc_op *op, const struct desired *d,
		     struct pf_entry *out)
{
	const struct reconcile_op *o = &op->pub;

	memset(out, 0, sizeof(*out));
	if (is_v4(o->kind)) {
		out->key[0] = o->key.vip_addr4;
		if (o->kind == RECONCILE_VIP_ADDR4_PUT)
			out->val = d->vip_addrs4[o->index].val;
	} else {
		memcpy(out->key, o->key.vip_addr6.addr, sizeof(out->key));
		if (o->kind == RECONCILE_VIP_ADDR6_PUT)
			out->val = d->vip_addrs6[o->index].val;
	}
}

/* The cache's entries, sorted, with room for more. */
static int pf_from_cache(const struct rc_kv *kv, uint32_t more,
			 struct pf_list *l)
{
	uint32_t i;

	l->n = 0;
	l->e = calloc((size_t)kv->count + more + 1, sizeof(*l->e));
	if (!l->e)
		return -ENOMEM;
	for (i = 0; i < kv->cap; i++) {
		if (!*rc_kv_mark(kv, i))
			continue;
		memcpy(l->e[l->n].key, rc_kv_key(kv, i), kv->key_size);
		memcpy(&l->e[l->n].val, rc_kv_val(kv, i), sizeof(l->e->val));
		l->n++;
	}
	qsort(l->e, l->n, sizeof(*l->e), pf_cmp);
	l->sorted = l->n;
	return 0;
}

static void pf_apply(struct pf_list *l, const struct pf_entry *op, bool del)
{
	struct pf_entry *at = bsearch(op, l->e, l->sorted, sizeof(*l->e),
				      pf_cmp);

	if (del) {
		if (at)
			at->gone = true;
	} else if (at) {
		at->val = op->val;
	} else {
		l->e[l->n++] = *op;
	}
}

static const char *pf_name(const struct pf_entry *e, bool v4)
{
	static char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(v4 ? AF_INET : AF_INET6, e->key, buf, sizeof(buf)))
		return "an address";
	return buf;
}

/* The table image of l, in key order; -ENOSPC names the address. */
static int pf_place(struct pf_list *l, bool v4, void *slots)
{
	uint32_t i;
	int err;

	qsort(l->e, l->n, sizeof(*l->e), pf_cmp);
	memset(slots, 0,
	       MERIDIAN_VIP_ADDR_SLOTS *
		       (v4 ? sizeof(struct meridian_vip_addr_slot4) :
			     sizeof(struct meridian_vip_addr_slot6)));
	for (i = 0; i < l->n; i++) {
		if (l->e[i].gone)
			continue;
		err = v4 ? vip_table4_put(slots, l->e[i].key[0], &l->e[i].val) :
			   vip_table6_put(slots, l->e[i].key, &l->e[i].val);
		if (err) {
			log_err("reconcile: VIP-address table: %s finds no "
				"free slot within %u of its home",
				pf_name(&l->e[i], v4), MERIDIAN_VIP_ADDR_PROBES);
			return err;
		}
	}
	return 0;
}

int rc_prefilter_swap(struct reconciler *r, const struct desired *d,
		      const struct rc_op *ops, uint32_t n)
{
	bool v4 = is_v4(ops[0].pub.kind), del = is_delete(ops[0].pub.kind);
	const struct rc_kv *kv = v4 ? &r->cache.vip_addrs4 :
				      &r->cache.vip_addrs6;
	struct pf_list l = { 0 };
	struct pf_entry op;
	void *slots = NULL;
	uint32_t i;
	int err;

	err = pf_from_cache(kv, n, &l);
	if (err)
		goto nomem;
	for (i = 0; i < n; i++) {
		op_entry(&ops[i], d, &op);
		pf_apply(&l, &op, del);
	}
	slots = calloc(MERIDIAN_VIP_ADDR_SLOTS,
		       sizeof(struct meridian_vip_addr_slot6));
	if (!slots)
		goto nomem;
	err = pf_place(&l, v4, slots);
	if (!err)
		err = v4 ? meridian_vip_addrs4_swap(&r->maps, slots) :
			   meridian_vip_addrs6_swap(&r->maps, slots);
	goto out;
nomem:
	log_err("reconcile: out of memory for a VIP-address table");
	err = -ENOMEM;
out:
	free(slots);
	free(l.e);
	return err;
}

static int read_table4(struct reconciler *r, void *slots)
{
	const struct meridian_vip_addr_slot4 *s = slots;
	uint32_t i;
	int err;

	err = meridian_vip_addrs4_read(&r->maps, slots);
	for (i = 0; !err && i < MERIDIAN_VIP_ADDR_SLOTS; i++)
		if (s[i].used)
			err = rc_kv_put(&r->cache.vip_addrs4, &s[i].addr,
					&s[i].va, r->cache.epoch);
	return err;
}

static int read_table6(struct reconciler *r, void *slots)
{
	const struct meridian_vip_addr_slot6 *s = slots;
	uint32_t i;
	int err;

	err = meridian_vip_addrs6_read(&r->maps, slots);
	for (i = 0; !err && i < MERIDIAN_VIP_ADDR_SLOTS; i++)
		if (s[i].used)
			err = rc_kv_put(&r->cache.vip_addrs6, s[i].addr,
					&s[i].va, r->cache.epoch);
	return err;
}

int rc_prefilter_read(struct reconciler *r)
{
	void *slots = calloc(MERIDIAN_VIP_ADDR_SLOTS,
			     sizeof(struct meridian_vip_addr_slot6));
	int err;

	if (!slots) {
		log_err("reconcile: out of memory reading the VIP-address "
			"tables");
		return -ENOMEM;
	}
	err = read_table4(r, slots);
	if (!err)
		err = read_table6(r, slots);
	if (err == -ENOMEM)
		log_err("reconcile: out of memory reading the VIP-address "
			"tables");
	free(slots);
	return err;
}
