// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_fixture.h"
#include "hash64.h"
#include "maglev.h"
#include "weighted_slots.h"

static const uint8_t in_mac[6] = TR_IN_MAC;
static const uint8_t in_peer_mac[6] = TR_IN_PEER_MAC;

int fx_setup(struct fx *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	meridian_maps_init(&f->m);
	err = tr_netns_enter(&f->env);
	if (err)
		return err;
	f->obj = tr_obj_load("bpf/edge.bpf.o");
	if (!f->obj)
		return -ENOENT;
	f->prog = tr_prog_fd(f->obj, "meridian_edge");
	if (f->prog < 0)
		return f->prog;
	err = meridian_maps_from_object(&f->m, f->obj);
	if (err)
		return err;
	return fx_config(f, 0, 0);
}

void fx_teardown(struct fx *f)
{
	meridian_maps_close(&f->m);
	if (f->obj)
		tr_obj_close(f->obj);
}

bool fx_setup_failed(struct fx *f, int err)
{
	if (!err)
		return false;
	if (err != -EPERM) {
		tr_case_begin("setup");
		tr_check(false, "fixture setup failed: %d", err);
		tr_case_end();
	}
	fx_teardown(f);
	return true;
}

static int addr_words(const char *text, __u32 addr[4], __u8 *family)
{
	int fam = pkt_addr(text, (uint8_t *)addr);

	if (fam < 0) {
		fprintf(stderr, "fixture: bad address %s\n", text);
		return fam;
	}
	*family = fam == 4 ? MERIDIAN_AF_INET : MERIDIAN_AF_INET6;
	return 0;
}

int fx_config(struct fx *f, uint16_t mtu, uint32_t flood_limit)
{
	struct meridian_config cfg = { .mtu = mtu, .flood_limit = flood_limit };
	__u32 v4[4];
	__u8 fam;

	if (addr_words(FX_TUNNEL4, v4, &fam) ||
	    addr_words(FX_TUNNEL6, cfg.tunnel_src6, &fam))
		return -EINVAL;
	cfg.tunnel_src4 = v4[0];
	return meridian_config_put(&f->m, &cfg);
}

int fx_backend(struct fx *f, uint32_t id, const char *addr, uint8_t region,
	       bool up)
{
	struct meridian_backend b = { .region = region, .up = up };

	if (addr_words(addr, b.addr, &b.family))
		return -EINVAL;
	return meridian_backend_put(&f->m, id, &b);
}

int fx_ring(struct fx *f, uint32_t ring_id, const uint32_t *ids, size_t n)
{
	struct maglev_backend mb[64];
	uint32_t size = maglev_ring_size(n), *ring;
	size_t i;
	int err;

	if (n > 64)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		mb[i].key = hash64_mix(ids[i]);
		mb[i].id = ids[i];
		mb[i].weight = 1;
	}
	ring = calloc(size, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	err = maglev_build(mb, n, ring, size);
	if (!err)
		err = meridian_ring_swap(&f->m, ring_id, ring, size);
	free(ring);
	return err;
}

int fx_vip(struct fx *f, uint32_t id, const char *addr, int proto,
	   uint16_t port, uint32_t flags)
{
	struct meridian_vip_key k = { .port = htons(port), .proto = proto };
	struct meridian_vip v = { .id = id, .flags = flags };
	int err;

	if (addr_words(addr, k.addr, &k.family))
		return -EINVAL;
	/* The prefilter first, as the controller orders it. */
	err = meridian_vip_addr_merge(&f->m, &k, &v);
	return err ? err : meridian_vip_put(&f->m, &k, &v);
}

int fx_table(struct fx *f, uint32_t vip, uint32_t cls,
	     const uint32_t *weight, const uint16_t *ring, uint32_t flags)
{
	struct meridian_region_key k = { .vip_id = vip, .class_id = cls };
	struct meridian_region_table *t;
	int err, i;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->flags = flags;
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		t->ring[i] = ring[i];
	err = weighted_slots_fill(weight, MERIDIAN_MAX_REGIONS, t->slot,
				  MERIDIAN_REGION_SLOTS);
	if (!err)
		err = meridian_region_table_swap(&f->m, &k, t);
	free(t);
	return err;
}

int fx_table_one(struct fx *f, uint32_t vip, uint32_t cls, uint8_t region,
		 uint16_t ring)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { 0 };
	uint16_t rings[MERIDIAN_MAX_REGIONS];
	int i;

	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		rings[i] = MERIDIAN_RING_NONE;
	weight[region] = 1;
	rings[region] = ring;
	return fx_table(f, vip, cls, weight, rings, 0);
}

int fx_class(struct fx *f, const char *prefix, uint32_t prefixlen,
	     uint32_t cls, uint32_t flags, uint32_t pin4, uint32_t pin6)
{
	struct meridian_class c = { .id = cls, .flags = flags,
				    .pin_prefixlen4 = pin4,
				    .pin_prefixlen6 = pin6 };
	__u32 addr[4];
	__u8 fam;

	if (addr_words(prefix, addr, &fam))
		return -EINVAL;
	if (fam == MERIDIAN_AF_INET) {
		struct meridian_lpm4_key k = { prefixlen, addr[0] };

		return meridian_class4_put(&f->m, &k, &c);
	} else {
		struct meridian_lpm6_key k = { .prefixlen = prefixlen };

		memcpy(k.addr, addr, sizeof(k.addr));
		return meridian_class6_put(&f->m, &k, &c);
	}
}

int fx_snap(struct fx *f, struct fx_snap *s)
{
	uint32_t i;
	int err;

	memset(s, 0, sizeof(*s));
	err = meridian_counters_read(&f->m, &s->c);
	for (i = 0; !err && i < MERIDIAN_MAX_REGIONS; i++)
		err = meridian_region_stats_read(&f->m, i, &s->region[i]);
	for (i = 0; !err && i < FX_IDS; i++) {
		err = meridian_vip_stats_read(&f->m, i, &s->vip[i]);
		if (!err)
			err = meridian_backend_stats_read(&f->m, i,
							  &s->backend[i]);
	}
	return err;
}

static const char *counter_name(size_t i, char *buf, size_t len)
{
	static const char *const tail[] = { "lru_hit",	    "lru_miss",
					    "lru_repick",   "lru_skip",
					    "icmp_too_big", "icmp_steered",
					    "echo_reply" };

	if (i < MERIDIAN_ACT_MAX)
		snprintf(buf, len, "action.%s", meridian_action_name(i));
	else if (i < MERIDIAN_ACT_MAX + MERIDIAN_DROP_MAX)
		snprintf(buf, len, "drop.%s",
			 meridian_drop_name(i - MERIDIAN_ACT_MAX));
	else
		snprintf(buf, len, "%s",
			 tail[i - MERIDIAN_ACT_MAX - MERIDIAN_DROP_MAX]);
	return buf;
}

/* Every counter must equal want: the deltas the case named, and no other. */
void fx_check_counters(struct fx *f, const struct fx_snap *want)
{
	const uint64_t *w = (const void *)want, *g;
	size_t n = sizeof(*want) / sizeof(uint64_t), i;
	size_t c = sizeof(want->c) / 8, r = c + sizeof(want->region) / 8;
	size_t v = r + sizeof(want->vip) / 8;
	struct fx_snap got;
	char name[64];

	if (!tr_check(fx_snap(f, &got) == 0, "reading counters"))
		return;
	g = (const void *)&got;
	for (i = 0; i < n; i++) {
		if (w[i] == g[i])
			continue;
		if (i < c)
			counter_name(i, name, sizeof(name));
		else if (i < r)
			snprintf(name, sizeof(name), "region[%zu].field%zu",
				 (i - c) / 4, (i - c) % 4);
		else if (i < v)
			snprintf(name, sizeof(name), "vip[%zu].field%zu",
				 (i - r) / 2, (i - r) % 2);
		else
			snprintf(name, sizeof(name), "backend[%zu].field%zu",
				 (i - v) / 2, (i - v) % 2);
		tr_check(false, "counter %s = %llu, want %llu", name,
			 (unsigned long long)g[i], (unsigned long long)w[i]);
	}
}

void fx_want_steered(struct fx_snap *s, uint32_t vip, uint32_t backend,
		     uint8_t region, size_t in_len, size_t out_len)
{
	s->vip[vip].packets++;
	s->vip[vip].bytes += in_len;
	s->backend[backend].packets++;
	s->backend[backend].bytes += in_len;
	s->region[region].packets++;
	s->region[region].bytes += in_len;
	s->region[region].egress_packets++;
	s->region[region].egress_bytes += out_len;
}

int fx_frame(struct pkt *frame, const struct pkt_ip *ip,
	     const struct pkt_l4 *l4)
{
	struct pkt_eth eth = { 0 };

	memcpy(eth.dst, in_mac, 6);
	memcpy(eth.src, in_peer_mac, 6);
	return pkt_build(frame, &eth, ip, l4);
}

int fx_simple(struct pkt *frame, const char *src, const char *dst, int proto,
	      uint16_t sport, uint16_t dport, size_t payload_len)
{
	static const uint8_t zeros[2048];
	struct pkt_ip ip = { .src = src, .dst = dst, .frag = PKT_DF };
	struct pkt_l4 l4 = { .proto = proto, .sport = sport, .dport = dport,
			     .payload = zeros, .payload_len = payload_len };

	if (payload_len > sizeof(zeros))
		return -EINVAL;
	return fx_frame(frame, &ip, &l4);
}

static uint32_t got_flow_label(const struct tr_result *got)
{
	const uint8_t *ip6 = got->data + PKT_ETH_HLEN;

	if (!got || got->len < PKT_ETH_HLEN + 4 || (ip6[0] >> 4) != 6)
		return 0;
	return ((ip6[1] & 0x0f) << 16) | (ip6[2] << 8) | ip6[3];
}

int fx_expect_encap(struct pkt *want, const struct pkt *in, size_t l3_off,
		    const char *outer_src, const char *backend,
		    const struct tr_link *link, const struct tr_result *got)
{
	const uint8_t *inner = in->data + l3_off;
	int inner_v4 = (inner[0] >> 4) == 4;
	struct pkt_ip outer = { .src = outer_src, .dst = backend };
	struct pkt_eth eth = { 0 };
	int err;

	outer.tos = inner_v4 ? inner[1] : ((inner[0] & 0x0f) << 4 |
					   inner[1] >> 4);
	outer.frag = (inner_v4 && !(inner[6] & 0x40)) ? 0 : PKT_DF;
	outer.flow_label = got ? got_flow_label(got) : 0;
	pkt_reset(want);
	err = pkt_append(want, inner, in->len - l3_off);
	if (!err)
		err = pkt_encap(want, &outer);
	memcpy(eth.dst, link->peer_mac, 6);
	memcpy(eth.src, link->mac, 6);
	if (!err)
		err = pkt_eth(want, &eth);
	return err;
}

const char *fx_outer_dst(const struct tr_result *res, char *buf, size_t len)
{
	const uint8_t *ip = res->data + PKT_ETH_HLEN;

	if (res->len < PKT_ETH_HLEN + 40) {
		snprintf(buf, len, "(short)");
		return buf;
	}
	if ((ip[0] >> 4) == 4)
		inet_ntop(AF_INET, ip + 16, buf, len);
	else
		inet_ntop(AF_INET6, ip + 24, buf, len);
	return buf;
}

bool fx_run_expect(struct fx *f, const struct pkt *in, uint32_t action,
		   struct tr_result *res)
{
	if (tr_run(f->prog, in->data, in->len, res))
		return tr_check(false, "test run failed: %d", res->err);
	return tr_check(res->retval == action, "verdict %s, want %s",
			tr_xdp_str(res->retval), tr_xdp_str(action));
}

int fx_topology(struct fx *fx)
{
	static const struct {
		const char *addr;
		uint8_t region;
	} backends[] = {
		{ "198.19.0.10", 0 },	   { "198.19.0.11", 0 },
		{ "198.19.1.10", 1 },	   { "198.19.1.11", 1 },
		{ "2001:db8:100::10", 2 }, { "2001:db8:100::11", 2 },
		{ TR_IN_NONEIGH4, 3 },	   { TR_UNROUTED4, 4 },
		{ "2001:db8:101::10", 5 },
	};
	static const uint32_t rings[][2] = { { 0, 0 }, { 0, 1 }, { 2, 2 },
					     { 2, 3 }, { 4, 4 }, { 4, 5 },
					     { 6, 6 }, { 7, 7 }, { 8, 8 } };
	static const uint8_t ring_len[] = { 1, 2, 1, 2, 1, 2, 1, 1, 1 };
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < sizeof(backends) / sizeof(backends[0]); i++)
		err = fx_backend(fx, i, backends[i].addr, backends[i].region,
				 true);
	for (i = 0; !err && i < sizeof(ring_len); i++)
		err = fx_ring(fx, i, rings[i], ring_len[i]);
	if (!err)
		err = fx_vip(fx, 1, VIP4, IPPROTO_TCP, 80, 0) ||
		      fx_vip(fx, 1, VIP4, IPPROTO_ICMP, 0,
			     MERIDIAN_VIP_ECHO) ||
		      fx_vip(fx, 2, VIP4, IPPROTO_UDP, 53, 0) ||
		      fx_vip(fx, 3, VIP4_WILD, IPPROTO_TCP, 0, 0) ||
		      fx_vip(fx, 4, VIP6, IPPROTO_TCP, 443, 0) ||
		      fx_vip(fx, 4, VIP6, IPPROTO_ICMPV6, 0,
			     MERIDIAN_VIP_ECHO) ||
		      fx_vip(fx, 5, VIP6, IPPROTO_UDP, 443, 0) ||
		      fx_vip(fx, 6, VIP4_ADDRS, IPPROTO_UDP, 0,
			     MERIDIAN_VIP_HASH_ADDRS) ||
		      fx_vip(fx, 7, VIP6_ADDRS, IPPROTO_UDP, 0,
			     MERIDIAN_VIP_HASH_ADDRS);
	return err;
}
