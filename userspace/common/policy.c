// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy: model + health -> desired map contents. The map entries that
 * follow the configuration one to one (config, VIPs, classes, backends)
 * are built here, the VIP-address prefilter from the VIP keys in
 * vip_addrs.c; rings and region tables in policy_rings.c,
 * policy_regions.c and policy_tables.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "vip_addrs.h"

static bool addr_ok(const struct model_addr *a)
{
	return a->family == MERIDIAN_AF_INET || a->family == MERIDIAN_AF_INET6;
}

static bool prefix_ok(const struct model_prefix *p)
{
	return addr_ok(&p->addr) &&
	       p->len <= (p->addr.family == MERIDIAN_AF_INET ? 32 : 128);
}

static uint32_t count_vip_keys(const struct model *m)
{
	uint32_t v, n = 0;

	for (v = 0; v < m->n_vips; v++)
		n += m->vips[v].n_ports + (m->vips[v].echo ? 1 : 0);
	return n;
}

static uint32_t count_prefixes(const struct model *m, uint8_t family)
{
	uint32_t c, i, n = 0;

	for (c = 0; c < m->n_classes; c++) {
		for (i = 0; i < m->classes[c].n_prefixes; i++)
			n += m->classes[c].prefixes[i].addr.family == family;
	}
	return n;
}

static bool limits_ok(const struct model *m)
{
	return m->n_regions <= MERIDIAN_MAX_REGIONS &&
	       m->n_backends <= MERIDIAN_MAX_BACKENDS &&
	       m->n_vips <= MERIDIAN_MAX_VIPS &&
	       m->n_classes < MERIDIAN_MAX_CLASSES &&
	       (uint64_t)m->n_vips * (m->n_classes + 1) <=
		       MERIDIAN_MAX_REGION_TABLES &&
	       (!m->n_backends || m->backends) && (!m->n_vips || m->vips) &&
	       (!m->n_classes || m->classes);
}

static bool entries_ok(const struct model *m)
{
	uint32_t i, j;

	for (i = 0; i < m->n_backends; i++) {
		if (m->backends[i].region >= m->n_regions ||
		    !addr_ok(&m->backends[i].addr))
			return false;
	}
	for (i = 0; i < m->n_vips; i++) {
		if (!addr_ok(&m->vips[i].addr) ||
		    m->vips[i].n_ports > MODEL_MAX_PORTS)
			return false;
	}
	for (i = 0; i < m->n_classes; i++) {
		const struct model_class *c = &m->classes[i];

		if (c->n_prefixes && !c->prefixes)
			return false;
		for (j = 0; j < c->n_prefixes; j++) {
			if (!prefix_ok(&c->prefixes[j]))
				return false;
		}
	}
	return count_vip_keys(m) <= MERIDIAN_MAX_VIP_KEYS &&
	       count_prefixes(m, MERIDIAN_AF_INET) <= MERIDIAN_MAX_PREFIXES &&
	       count_prefixes(m, MERIDIAN_AF_INET6) <= MERIDIAN_MAX_PREFIXES;
}

/* The loader validates; this only guards the array bounds policy relies on. */
static bool input_ok(const struct policy_input *in)
{
	const struct model *m = in ? in->model : NULL;

	return m && limits_ok(m) && (!m->n_backends || in->backend_up) &&
	       entries_ok(m);
}

static void build_config(const struct model_edge *e, struct meridian_config *c)
{
	memset(c, 0, sizeof(*c));
	if (e->tunnel_src4.family == MERIDIAN_AF_INET)
		memcpy(&c->tunnel_src4, e->tunnel_src4.bytes, 4);
	if (e->tunnel_src6.family == MERIDIAN_AF_INET6)
		memcpy(c->tunnel_src6, e->tunnel_src6.bytes, 16);
	if (e->entropy4.len && e->entropy4.addr.family == MERIDIAN_AF_INET) {
		memcpy(&c->entropy4, e->entropy4.addr.bytes, 4);
		c->entropy4_len = e->entropy4.len;
		c->flags |= MERIDIAN_CFG_ENTROPY_SRC4;
	}
	if (e->entropy6.len && e->entropy6.addr.family == MERIDIAN_AF_INET6) {
		memcpy(c->entropy6, e->entropy6.addr.bytes, 16);
		c->entropy6_len = e->entropy6.len;
		c->flags |= MERIDIAN_CFG_ENTROPY_SRC6;
	}
	c->mtu = e->mtu;
	c->ttl = e->ttl;
	c->flood_limit = e->flood_limit;
}

static void addr_words(const struct model_addr *a, __u32 *words)
{
	memset(words, 0, 16);
	memcpy(words, a->bytes, a->family == MERIDIAN_AF_INET ? 4 : 16);
}

static uint32_t vip_flags(const struct model_vip *v)
{
	uint32_t flags = 0;

	if (v->hash == VIP_HASH_ADDRS)
		flags |= MERIDIAN_VIP_HASH_ADDRS;
	if (v->no_region == VIP_NO_REGION_PASS)
		flags |= MERIDIAN_VIP_NOREGION_PASS;
	return flags;
}

static void vip_entry(const struct model_vip *v, uint32_t id, uint8_t proto,
		      uint16_t port, uint32_t flags, struct desired_vip *e)
{
	addr_words(&v->addr, e->key.addr);
	e->key.port = htons(port);
	e->key.proto = proto;
	e->key.family = v->addr.family;
	e->val.id = id;
	e->val.flags = flags;
}

static int build_vips(const struct model *m, struct desired *out)
{
	uint32_t v, p, n = count_vip_keys(m);

	out->vips = calloc(n ? n : 1, sizeof(*out->vips));
	if (!out->vips)
		return -ENOMEM;
	for (v = 0; v < m->n_vips; v++) {
		const struct model_vip *vip = &m->vips[v];

		for (p = 0; p < vip->n_ports; p++)
			vip_entry(vip, v, vip->ports[p].proto,
				  vip->ports[p].port, vip_flags(vip),
				  &out->vips[out->n_vips++]);
		if (vip->echo)
			vip_entry(vip, v,
				  vip->addr.family == MERIDIAN_AF_INET
					  ? IPPROTO_ICMP
					  : IPPROTO_ICMPV6,
				  0, MERIDIAN_VIP_ECHO,
				  &out->vips[out->n_vips++]);
	}
	return 0;
}

static void class_value(const struct model_class *c, uint32_t id,
			struct meridian_class *val)
{
	val->id = id;
	val->flags = c->pin_home ? MERIDIAN_CLASS_PIN_HOME : 0;
	val->pin_prefixlen4 = c->pin_prefixlen4;
	val->pin_prefixlen6 = c->pin_prefixlen6;
}

static void class_prefix(const struct model_class *c, uint32_t id,
			 const struct model_prefix *p, struct desired *out)
{
	if (p->addr.family == MERIDIAN_AF_INET) {
		struct desired_class4 *e = &out->classes4[out->n_classes4++];

		e->key.prefixlen = p->len;
		memcpy(&e->key.addr, p->addr.bytes, 4);
		class_value(c, id, &e->val);
	} else {
		struct desired_class6 *e = &out->classes6[out->n_classes6++];

		e->key.prefixlen = p->len;
		memcpy(e->key.addr, p->addr.bytes, 16);
		class_value(c, id, &e->val);
	}
}

static int build_classes(const struct model *m, struct desired *out)
{
	uint32_t n4 = count_prefixes(m, MERIDIAN_AF_INET);
	uint32_t n6 = count_prefixes(m, MERIDIAN_AF_INET6);
	uint32_t c, i;

	out->classes4 = calloc(n4 ? n4 : 1, sizeof(*out->classes4));
	out->classes6 = calloc(n6 ? n6 : 1, sizeof(*out->classes6));
	if (!out->classes4 || !out->classes6)
		return -ENOMEM;
	for (c = 0; c < m->n_classes; c++) {
		for (i = 0; i < m->classes[c].n_prefixes; i++)
			class_prefix(&m->classes[c], c + 1,
				     &m->classes[c].prefixes[i], out);
	}
	return 0;
}

void policy_backend_entry(const struct model *m, uint32_t i, bool up,
			  struct meridian_backend *out)
{
	memset(out, 0, sizeof(*out));
	addr_words(&m->backends[i].addr, out->addr);
	out->family = m->backends[i].addr.family;
	out->region = m->backends[i].region;
	out->up = up ? 1 : 0;
}

static int build_backends(const struct policy_input *in, struct desired *out)
{
	const struct model *m = in->model;
	uint32_t i;

	out->backends = calloc(m->n_backends ? m->n_backends : 1,
			       sizeof(*out->backends));
	if (!out->backends)
		return -ENOMEM;
	for (i = 0; i < m->n_backends; i++)
		policy_backend_entry(m, i, in->backend_up[i],
				     &out->backends[i]);
	out->n_backends = m->n_backends;
	return 0;
}

int policy_build(const struct policy_input *in, struct desired *out)
{
	struct policy_regions pr;
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!input_ok(in))
		return -EINVAL;
	out->generation = in->generation;
	build_config(&in->model->edge, &out->config);
	policy_regions_init(in, &pr);
	err = build_vips(in->model, out);
	if (!err)
		err = vip_addrs_build(out);
	if (!err)
		err = build_classes(in->model, out);
	if (!err)
		err = build_backends(in, out);
	if (!err)
		err = policy_build_rings(in, &pr, out);
	if (!err)
		err = policy_build_tables(in, &pr, out);
	if (err)
		desired_free(out);
	return err;
}

/* Enough steps that the share visibly falls, few enough for reconcile. */
#define DRAIN_MIN_STEPS 10
#define DRAIN_STEP_MS 1000

static uint64_t drain_steps(uint64_t over_ms)
{
	uint64_t n = over_ms / DRAIN_STEP_MS;

	if (n < DRAIN_MIN_STEPS)
		return DRAIN_MIN_STEPS;
	/* A finer step than one permille would repeat values. */
	return n < POLICY_PERMILLE ? n : POLICY_PERMILLE;
}

uint32_t policy_drain_permille(uint64_t start_ms, uint64_t over_ms,
			       uint64_t now_ms)
{
	uint64_t n, step;

	if (now_ms < start_ms)
		return POLICY_PERMILLE;
	if (now_ms - start_ms >= over_ms)
		return 0;
	n = drain_steps(over_ms);
	step = (uint64_t)((unsigned __int128)(now_ms - start_ms) * n / over_ms);
	return (uint32_t)(POLICY_PERMILLE * (n - step) / n);
}
