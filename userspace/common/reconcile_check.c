// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Checks of a desired state before anything is written. Pure; failures are
 * logged here, naming the entry, as only this code knows which one it was.
 */
#include <errno.h>

#include "log.h"
#include "reconcile_int.h"
#include "vip_addrs.h"

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

/* The prefilter must be exactly what the VIP keys make of it. */
static int check_vip_addrs(const struct desired *d)
{
	int match;

	if (d->n_vip_addrs4 > MERIDIAN_MAX_VIP_KEYS ||
	    d->n_vip_addrs6 > MERIDIAN_MAX_VIP_KEYS ||
	    (d->n_vip_addrs4 && !d->vip_addrs4) ||
	    (d->n_vip_addrs6 && !d->vip_addrs6)) {
		log_err("desired: %u + %u VIP addresses, at most %u each",
			d->n_vip_addrs4, d->n_vip_addrs6,
			MERIDIAN_MAX_VIP_KEYS);
		return -EINVAL;
	}
	match = vip_addrs_match(d);
	if (match < 0)
		return match;
	if (!match) {
		log_err("desired: the VIP-address prefilter (%u + %u entries) "
			"is not what its %u VIP keys make",
			d->n_vip_addrs4, d->n_vip_addrs6, d->n_vips);
		return -EINVAL;
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

int rc_check_desired(const struct desired *d)
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
		err = check_vip_addrs(d);
	if (!err)
		err = check_classes(d);
	return err;
}

int rc_check_ring_slots(const struct desired_ring *ring, uint32_t i)
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
