// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The prefilter from VIP keys: the keys of one family sorted by address,
 * each run of one address folded into one entry. Pure.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vip_addrs.h"

static int proto_index(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return MERIDIAN_VIP_ADDR_TCP;
	if (proto == IPPROTO_UDP)
		return MERIDIAN_VIP_ADDR_UDP;
	return -1;
}

static bool is_echo_key(const struct meridian_vip_key *key,
			const struct meridian_vip *vip)
{
	__u8 proto = key->family == MERIDIAN_AF_INET ? IPPROTO_ICMP :
						       IPPROTO_ICMPV6;

	return key->proto == proto && !key->port &&
	       (vip->flags & MERIDIAN_VIP_ECHO);
}

/* The key rides inline while there is room; later ones only flag. */
static void fold_port(struct meridian_vip_addr *va,
		      const struct meridian_vip_key *key,
		      const struct meridian_vip *vip, int i)
{
	struct meridian_vip_port *slot;
	int j;

	for (j = 0; j < MERIDIAN_VIP_ADDR_INLINE; j++) {
		slot = &va->port[j];
		if (slot->port && (slot->port != key->port ||
				   slot->proto != key->proto))
			continue;
		slot->port = key->port;
		slot->proto = key->proto;
		slot->vip = *vip;
		return;
	}
	va->flags |= MERIDIAN_VIP_ADDR_PORTS_TCP << i;
}

bool vip_addr_fold(struct meridian_vip_addr *va,
		   const struct meridian_vip_key *key,
		   const struct meridian_vip *vip)
{
	int i = proto_index(key->proto);

	if (key->family != MERIDIAN_AF_INET &&
	    key->family != MERIDIAN_AF_INET6)
		return false;
	if (i >= 0 && key->port) {
		fold_port(va, key, vip, i);
		return true;
	}
	if (i >= 0) {
		va->flags |= MERIDIAN_VIP_ADDR_WILD_TCP << i;
		va->wild[i] = *vip;
		return true;
	}
	if (!is_echo_key(key, vip))
		return false;
	va->flags |= MERIDIAN_VIP_ADDR_ECHO;
	return true;
}

/* A VIP key's address as the prefilter keys it, and where the key is. */
struct addr_ref {
	__u32 addr[4]; /* IPv4: addr[0], the rest zero */
	uint32_t idx; /* into desired.vips */
};

struct addr_entry {
	__u32 addr[4];
	struct meridian_vip_addr val;
};

/* Address order (bytes in network order), then the order of the keys. */
static int ref_cmp(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static uint32_t collect(const struct desired *d, __u8 family,
			struct addr_ref *refs)
{
	const struct meridian_vip_key *key;
	uint32_t i, n = 0;

	for (i = 0; i < d->n_vips; i++) {
		key = &d->vips[i].key;
		if (key->family != family)
			continue;
		memset(refs[n].addr, 0, sizeof(refs[n].addr));
		memcpy(refs[n].addr, key->addr,
		       family == MERIDIAN_AF_INET ? 4 : 16);
		refs[n++].idx = i;
	}
	qsort(refs, n, sizeof(*refs), ref_cmp);
	return n;
}

/*
 * One entry per address that has a key the prefilter notes. A new
 * address starts a candidate at e[m], kept (m++) once a key counts.
 */
static uint32_t fold_runs(const struct desired *d, const struct addr_ref *refs,
			  uint32_t n, struct addr_entry *e)
{
	const struct desired_vip *v;
	uint32_t i, m = 0;
	bool same;

	for (i = 0; i < n; i++) {
		v = &d->vips[refs[i].idx];
		same = m && !memcmp(e[m - 1].addr, refs[i].addr,
				    sizeof(refs[i].addr));
		if (same) {
			vip_addr_fold(&e[m - 1].val, &v->key, &v->val);
			continue;
		}
		memcpy(e[m].addr, refs[i].addr, sizeof(e[m].addr));
		memset(&e[m].val, 0, sizeof(e[m].val));
		if (vip_addr_fold(&e[m].val, &v->key, &v->val))
			m++;
	}
	return m;
}

/* The entries of one family, sorted by address. 0 or -ENOMEM. */
static int derive(const struct desired *d, __u8 family,
		  struct addr_entry **out, uint32_t *n_out)
{
	uint32_t cap = d->n_vips ? d->n_vips : 1, n;
	struct addr_ref *refs;
	struct addr_entry *e;

	*out = NULL;
	*n_out = 0;
	refs = malloc(cap * sizeof(*refs));
	e = malloc(cap * sizeof(*e));
	if (!refs || !e) {
		free(refs);
		free(e);
		return -ENOMEM;
	}
	n = collect(d, family, refs);
	*n_out = fold_runs(d, refs, n, e);
	*out = e;
	free(refs);
	return 0;
}

static int build4(struct desired *d)
{
	struct addr_entry *e;
	uint32_t n, i;
	int err;

	err = derive(d, MERIDIAN_AF_INET, &e, &n);
	if (err)
		return err;
	d->vip_addrs4 = calloc(n ? n : 1, sizeof(*d->vip_addrs4));
	if (!d->vip_addrs4) {
		free(e);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		d->vip_addrs4[i].key = e[i].addr[0];
		d->vip_addrs4[i].val = e[i].val;
	}
	d->n_vip_addrs4 = n;
	free(e);
	return 0;
}

static int build6(struct desired *d)
{
	struct addr_entry *e;
	uint32_t n, i;
	int err;

	err = derive(d, MERIDIAN_AF_INET6, &e, &n);
	if (err)
		return err;
	d->vip_addrs6 = calloc(n ? n : 1, sizeof(*d->vip_addrs6));
	if (!d->vip_addrs6) {
		free(e);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		memcpy(d->vip_addrs6[i].key.addr, e[i].addr,
		       sizeof(e[i].addr));
		d->vip_addrs6[i].val = e[i].val;
	}
	d->n_vip_addrs6 = n;
	free(e);
	return 0;
}

static void clear_addrs(struct desired *d)
{
	free(d->vip_addrs4);
	free(d->vip_addrs6);
	d->vip_addrs4 = NULL;
	d->vip_addrs6 = NULL;
	d->n_vip_addrs4 = 0;
	d->n_vip_addrs6 = 0;
}

int vip_addrs_build(struct desired *d)
{
	int err;

	clear_addrs(d);
	err = build4(d);
	if (!err)
		err = build6(d);
	if (err)
		clear_addrs(d);
	return err;
}

static int key4_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(__u32));
}

static int key6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct meridian_vip_addr6_key));
}

/* Every entry of have is in want (sorted), with the same value. */
static bool all_found(const void *have, const void *want, uint32_t n,
		      size_t size, size_t val_off,
		      int (*cmp)(const void *, const void *))
{
	const uint8_t *h, *w;
	uint32_t i;

	for (i = 0; i < n; i++) {
		h = (const uint8_t *)have + i * size;
		w = bsearch(h, want, n, size, cmp);
		if (!w || memcmp(h + val_off, w + val_off,
				 sizeof(struct meridian_vip_addr)))
			return false;
	}
	return true;
}

int vip_addrs_match(const struct desired *d)
{
	struct desired want = { .vips = d->vips, .n_vips = d->n_vips };
	int match;

	if (vip_addrs_build(&want))
		return -ENOMEM;
	match = want.n_vip_addrs4 == d->n_vip_addrs4 &&
		want.n_vip_addrs6 == d->n_vip_addrs6 &&
		all_found(d->vip_addrs4, want.vip_addrs4, d->n_vip_addrs4,
			  sizeof(*d->vip_addrs4),
			  offsetof(struct desired_vip_addr4, val), key4_cmp) &&
		all_found(d->vip_addrs6, want.vip_addrs6, d->n_vip_addrs6,
			  sizeof(*d->vip_addrs6),
			  offsetof(struct desired_vip_addr6, val), key6_cmp);
	clear_addrs(&want);
	return match;
}
