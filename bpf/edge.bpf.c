// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * meridian edge steering: for each packet to a VIP pick a region and a
 * backend from the controller's tables, encapsulate towards the backend and
 * send it on, before the kernel's stack sees it. Everything else passes
 * untouched. The data path is described in DESIGN.md, "Data path".
 */
#include "maps.h"
#include "parsing.h"
#include "hashing.h"
#include "flow_cache.h"
#include "encap.h"
#include "icmp.h"
#include "counters.h"
#include "nexthop.h"

#define NSEC_PER_SEC 1000000000ull

/* The per-packet working set, kept together to spare the stack. */
struct steer {
	struct pkt p;
	/* Aligned: the flow cache compares it eight bytes at a time. */
	struct meridian_flow_key key __attribute__((aligned(8)));
	struct meridian_flow flow;
	struct meridian_backend *backend;
	const struct meridian_vip *vip;
	struct meridian_counters *cnt;
	__u64 jiffies; /* read once per steered packet */
	__u32 frame_len;
};

#define COUNT(cnt, field)                                                      \
	do {                                                                   \
		if (cnt)                                                       \
			(cnt)->field++;                                        \
	} while (0)

static __always_inline int verdict(struct meridian_counters *cnt,
				   enum meridian_action act, int xdp_ret)
{
	if (cnt && act < MERIDIAN_ACT_MAX)
		cnt->action[act]++;
	return xdp_ret;
}

static __always_inline int drop(struct meridian_counters *cnt,
				enum meridian_drop reason)
{
	if (cnt && reason < MERIDIAN_DROP_MAX)
		cnt->drop[reason]++;
	return verdict(cnt, MERIDIAN_ACT_DROP, XDP_DROP);
}

/* addr's entry in a prefilter table (meridian_maps.h: the search), or NULL. */
static __always_inline const struct meridian_vip_addr *
vip_addr_search4(void *table, __u32 addr)
{
	__u32 home = meridian_vip_addr_home4(addr), i, k;
	struct meridian_vip_addr_slot4 *slot;

#pragma unroll
	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		k = (home + i) & (MERIDIAN_VIP_ADDR_SLOTS - 1);
		slot = bpf_map_lookup_elem(table, &k);
		if (!slot || !slot->used)
			return NULL;
		if (slot->addr == addr)
			return &slot->va;
	}
	return NULL;
}

/*
 * Compared as two 8-byte words: array values start 8-byte aligned, and
 * the address opens the slot.
 */
static __always_inline const struct meridian_vip_addr *
vip_addr_search6(void *table, const __u32 addr[4])
{
	__u32 home = meridian_vip_addr_home6(addr), i, k;
	struct meridian_vip_addr_slot6 *slot;
	const __u64 *w;
	__u64 lo, hi;

	__builtin_memcpy(&lo, addr, 8);
	__builtin_memcpy(&hi, addr + 2, 8);
#pragma unroll
	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		k = (home + i) & (MERIDIAN_VIP_ADDR_SLOTS - 1);
		slot = bpf_map_lookup_elem(table, &k);
		if (!slot || !slot->used)
			return NULL;
		w = __builtin_assume_aligned(slot->addr, 8);
		if (w[0] == lo && w[1] == hi)
			return &slot->va;
	}
	return NULL;
}

/*
 * The prefilter entry of the destination; NULL: the packet is for no VIP.
 *
 * Every lookup here must keep a call site of its own, seeing one map, or
 * the verifier cannot inline it (a call site seen with two maps goes
 * through the generic helper and an indirect call). The two families'
 * searches differ, so clang keeps their calls apart; with the hash maps
 * this replaced it merged them unless kept apart by force.
 */
static __always_inline const struct meridian_vip_addr *
vip_addr_lookup(const struct pkt *p)
{
	__u32 zero = 0;
	void *table;

	if (p->family == MERIDIAN_AF_INET) {
		table = bpf_map_lookup_elem(&meridian_vip_addrs4, &zero);
		return table ? vip_addr_search4(table, p->dst[0]) : NULL;
	}
	table = bpf_map_lookup_elem(&meridian_vip_addrs6, &zero);
	return table ? vip_addr_search6(table, p->dst) : NULL;
}

/* A key with the packet's port among those its prefilter entry carries. */
static __always_inline const struct meridian_vip *
vip_port_inline(const struct pkt *p, const struct meridian_vip_addr *va)
{
	int j;

#pragma unroll
	for (j = 0; j < MERIDIAN_VIP_ADDR_INLINE; j++)
		if (va->port[j].port == p->dport &&
		    va->port[j].proto == p->proto)
			return &va->port[j].vip;
	return NULL;
}

/*
 * TCP or UDP to a VIP address: the key with the packet's port, from the
 * prefilter entry or, if the address has more, from meridian_vips; else
 * the address's wildcard, which its prefilter entry carries.
 */
static __always_inline const struct meridian_vip *
vip_lookup(const struct pkt *p, const struct meridian_vip_addr *va,
	   int wildcard_only)
{
	struct meridian_vip_key k = {};
	const struct meridian_vip *vip;
	__u32 i;

	if (p->proto == IPPROTO_TCP)
		i = MERIDIAN_VIP_ADDR_TCP;
	else if (p->proto == IPPROTO_UDP)
		i = MERIDIAN_VIP_ADDR_UDP;
	else
		return NULL;
	/* Fragments carry no ports after the first: only the wildcard. */
	if (!wildcard_only && !p->fragment) {
		vip = vip_port_inline(p, va);
		if (vip)
			return vip;
	}
	if (!wildcard_only && !p->fragment &&
	    (va->flags & (MERIDIAN_VIP_ADDR_PORTS_TCP << i))) {
		__builtin_memcpy(k.addr, p->dst, 16);
		k.port = p->dport;
		k.proto = p->proto;
		k.family = p->family;
		vip = bpf_map_lookup_elem(&meridian_vips, &k);
		if (vip)
			return vip;
	}
	if (va->flags & (MERIDIAN_VIP_ADDR_WILD_TCP << i))
		return &va->wild[i];
	return NULL;
}

/* Echo is answered in the family's own ICMP only (no ICMPv6 over IPv4). */
static __always_inline int vip_addr_echoes(const struct pkt *p,
					   const struct meridian_vip_addr *va)
{
	__u8 proto = p->family == MERIDIAN_AF_INET ? IPPROTO_ICMP :
						     IPPROTO_ICMPV6;

	return va && p->proto == proto && (va->flags & MERIDIAN_VIP_ADDR_ECHO);
}

static __always_inline void flow_key_fill(struct steer *s)
{
	struct meridian_flow_key *k = &s->key;

	__builtin_memcpy(k->src, s->p.src, 16);
	__builtin_memcpy(k->dst, s->p.dst, 16);
	k->proto = s->p.proto;
	k->family = s->p.family;
	if (!(s->vip->flags & MERIDIAN_VIP_HASH_ADDRS)) {
		k->sport = s->p.sport;
		k->dport = s->p.dport;
	}
}

static __always_inline const struct meridian_class *
class_lookup(const struct pkt *p)
{
	const struct meridian_class *c;

	if (p->family == MERIDIAN_AF_INET) {
		struct meridian_lpm4_key k = { .prefixlen = 32,
					       .addr = p->src[0] };

		c = bpf_map_lookup_elem(&meridian_classes4, &k);
		/* Keeps clang from merging the two lookups into one call. */
		asm volatile("" : "+r"(c));
		return c;
	} else {
		struct meridian_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, p->src, 16);
		return bpf_map_lookup_elem(&meridian_classes6, &k);
	}
}

/*
 * The IP length must fit the frame and cover the headers we parsed (ports
 * read past it would be Ethernet padding); bytes past it (padding of a
 * short frame) are cut, so a tunnel or a reply carries exactly the packet.
 */
static __always_inline int fit_ip_length(struct xdp_md *ctx, struct steer *s)
{
	__u32 avail = s->frame_len - s->p.l3_off;

	if (s->p.ip_len > avail || s->p.ip_len < s->p.l4_end - s->p.l3_off)
		return -1;
	if (s->p.ip_len == avail)
		return 0;
	if (bpf_xdp_adjust_tail(ctx, (int)s->p.ip_len - (int)avail))
		return -1;
	s->frame_len = s->p.l3_off + s->p.ip_len;
	return 0;
}

static __always_inline struct meridian_backend *backend_get(__u32 id)
{
	if (id >= MERIDIAN_MAX_BACKENDS)
		return NULL;
	return bpf_map_lookup_elem(&meridian_backends, &id);
}

static __always_inline struct meridian_backend *backend_up(__u32 id)
{
	struct meridian_backend *b = backend_get(id);

	return b && b->up ? b : NULL;
}

/*
 * The first up backend among lanes first..last of a ring element, probed
 * from start in steps of stride. An odd stride visits every lane.
 */
static __always_inline __u32 lanes_probe(const struct meridian_ring_chunk *c,
					 __u32 start, __u32 stride,
					 __u32 first, __u32 last)
{
	__u32 lane, id;
	int i;

	for (i = 0; i < MERIDIAN_RING_LANES; i++) {
		lane = (start + i * stride) & (MERIDIAN_RING_LANES - 1);
		if (lane < first || lane > last)
			continue;
		id = c->id[lane];
		if (backend_up(id))
			return id;
	}
	return MERIDIAN_BACKEND_NONE;
}

/*
 * A slot whose backend is down falls to another slot of the same ring
 * element, so the up word alone completes a failover before the controller
 * rebuilds the ring, and costs no lookup beyond the two already made. The
 * probe order steps by an odd stride taken from the flow hash: the flows of
 * one dead slot spread over the element's backends instead of piling onto
 * the slot's neighbour (Maglev neighbours are far from independent). The
 * ring's last element may hold only a few slots; it goes on in the head
 * (lane 0 there holds the size). Deterministic in the hash and the ring,
 * so every edge makes the same choice.
 *
 * A global function: the verifier walks the loop once, not once for every
 * path that reaches a pick.
 */
__noinline __u32 ring_walk(const struct meridian_ring_chunk *head,
			   const struct meridian_ring_chunk *chunk, __u32 pos,
			   __u32 size, __u32 hash)
{
	__u32 lane = pos % MERIDIAN_RING_LANES, base = pos - lane, last, id;
	__u32 stride = (hash >> 25) | 1;

	if (!head || !chunk)
		return MERIDIAN_BACKEND_NONE;
	last = size - base;
	if (last >= MERIDIAN_RING_LANES)
		last = MERIDIAN_RING_LANES - 1;
	id = lanes_probe(chunk, lane + stride, stride, base ? 0 : 1, last);
	if (id != MERIDIAN_BACKEND_NONE || !base || base + last != size)
		return id;
	return lanes_probe(head, 1, stride, 1, MERIDIAN_RING_LANES - 1);
}

/*
 * The backend id at the ring slot for hash, or the next up one after it;
 * BACKEND_NONE with *backend NULL when none is up.
 */
static __always_inline __u32 ring_pick(__u32 ring_id, __u32 hash,
				       struct meridian_backend **backend)
{
	struct meridian_ring_chunk *head, *chunk;
	__u32 zero = 0, pos, elem, size, id;
	void *ring;

	*backend = NULL;
	ring = bpf_map_lookup_elem(&meridian_rings, &ring_id);
	if (!ring)
		return MERIDIAN_BACKEND_NONE;
	head = bpf_map_lookup_elem(ring, &zero);
	if (!head)
		return MERIDIAN_BACKEND_NONE;
	size = head->id[0];
	if (!size || size > MERIDIAN_RING_MAX)
		return MERIDIAN_BACKEND_NONE;
	/* Rotated so the ring index is independent of the region slot. */
	pos = 1 + rol32(hash, 16) % size;
	elem = pos / MERIDIAN_RING_LANES;
	chunk = elem ? bpf_map_lookup_elem(ring, &elem) : head;
	if (!chunk)
		return MERIDIAN_BACKEND_NONE;
	id = chunk->id[pos % MERIDIAN_RING_LANES];
	*backend = backend_up(id);
	if (*backend)
		return id;
	id = ring_walk(head, chunk, pos, size, hash);
	*backend = backend_up(id);
	return id;
}

/* Flood guard: at most flood_limit new LRU entries per CPU per second. */
static __always_inline int flood_allows_insert(const struct meridian_config *c)
{
	struct meridian_flood *f;
	__u32 zero = 0;
	__u64 now;

	if (!c->flood_limit)
		return 1;
	f = bpf_map_lookup_elem(&meridian_flood, &zero);
	if (!f)
		return 1;
	now = bpf_ktime_get_ns();
	if (now - f->window_start_ns >= NSEC_PER_SEC) {
		f->window_start_ns = now;
		f->inserts = 0;
	}
	if (f->inserts >= c->flood_limit)
		return 0;
	f->inserts++;
	return 1;
}

/*
 * New flow (or one whose backend died): class, region table, ring.
 * Returns MERIDIAN_DROP_MAX on success, else the drop reason; *pass is set
 * when the VIP wants region-less traffic handed to the local stack.
 */
static __always_inline int pick_backend(struct steer *s, int *pass)
{
	const struct meridian_class *cls = class_lookup(&s->p);
	struct meridian_region_key rk = { .vip_id = s->vip->id };
	struct meridian_region_table *table;
	__u32 region_hash = s->flow.hash, zero = 0, pin_len, region, id;
	void *inner;

	if (cls) {
		rk.class_id = cls->id;
		if (cls->flags & MERIDIAN_CLASS_PIN_HOME) {
			pin_len = s->p.family == MERIDIAN_AF_INET ?
					  cls->pin_prefixlen4 :
					  cls->pin_prefixlen6;
			/* The one second hash: new flows of pinning classes. */
			region_hash = hash_client(&s->key, hash_words(&s->key),
						  pin_len);
		}
	}

	inner = bpf_map_lookup_elem(&meridian_region_tables, &rk);
	if (!inner)
		return MERIDIAN_DROP_NO_TABLE;
	table = bpf_map_lookup_elem(inner, &zero);
	if (!table)
		return MERIDIAN_DROP_NO_TABLE;
	region = table->slot[region_hash & (MERIDIAN_REGION_SLOTS - 1)];
	if (region == MERIDIAN_REGION_NONE) {
		if (table->flags & MERIDIAN_RT_STRICT)
			return MERIDIAN_DROP_RESIDENCY;
		*pass = !!(s->vip->flags & MERIDIAN_VIP_NOREGION_PASS);
		return MERIDIAN_DROP_NO_REGION;
	}
	if (region >= MERIDIAN_MAX_REGIONS)
		return MERIDIAN_DROP_NO_TABLE;
	id = ring_pick(table->ring[region], s->flow.hash, &s->backend);
	if (!s->backend)
		return MERIDIAN_DROP_NO_BACKEND;
	s->flow.backend = id;
	return MERIDIAN_DROP_MAX;
}

/*
 * The flow cache first; a hit counts only while its backend is still up.
 * A SYN opens a connection: it follows the current tables even if the
 * tuple was used before, and rewrites the tuple's way.
 */
static __always_inline int choose_backend(struct steer *s,
					  const struct meridian_config *cfg,
					  int *pass)
{
	__u32 idx, id = 0, now = (__u32)s->jiffies;
	struct meridian_flow_set *set;
	int way = -1, seen, ret;
	__u64 tag = 0;

	s->flow.hash = hash_flow(&s->key, hash_words(&s->key));
	idx = flow_set_index(s->flow.hash);
	set = bpf_map_lookup_elem(&meridian_flows, &idx);
	if (set)
		way = flow_find(set, &s->key, s->flow.hash, &tag, &id);
	/* Seen: found, and not reopened by a SYN; a re-pick if we go on. */
	seen = way >= 0 && !s->p.tcp_syn;
	if (seen) {
		s->backend = backend_get(id);
		if (s->backend && s->backend->up) {
			COUNT(s->cnt, lru_hit);
			s->flow.backend = id;
			flow_touch(set, way, tag, now);
			return MERIDIAN_DROP_MAX;
		}
		COUNT(s->cnt, lru_repick);
	} else {
		COUNT(s->cnt, lru_miss);
	}
	ret = pick_backend(s, pass);
	if (ret != MERIDIAN_DROP_MAX || !set)
		return ret;
	/* ICMP errors follow flows; they never create them. */
	if (s->p.icmp_error)
		return ret;
	/* The flow's own way is rewritten in place; a new one may evict. */
	if (way < 0) {
		if (!flood_allows_insert(cfg)) {
			COUNT(s->cnt, lru_skip);
			return ret;
		}
		way = flow_victim(set, now, &tag);
		if (way < 0)
			return ret;
	}
	flow_write(set, way, tag, &s->key, s->flow.hash, s->flow.backend, now,
		   seen);
	return ret;
}

static __always_inline void outer_fill(struct outer *o, const struct steer *s,
				       const struct meridian_config *cfg)
{
	o->family = s->backend->family;
	__builtin_memcpy(o->dst, s->backend->addr, 16);
	o->hlen = o->family == MERIDIAN_AF_INET ? sizeof(struct iphdr) :
						  sizeof(struct ipv6hdr);
	o->inner_len = s->frame_len - s->p.l3_off;
	o->tot_len = o->hlen + o->inner_len;
	o->ttl = cfg->ttl ? cfg->ttl : DEFAULT_TTL;
	outer_source(o, cfg, s->flow.hash);
}

/* Over the path MTU once encapsulated: tell the client, if it listens. */
static __always_inline int too_big(struct xdp_md *ctx, struct steer *s,
				   __u32 path_mtu, __u32 overhead)
{
	__u32 mtu = path_mtu - overhead;
	int ret;

	if (!s->p.df || s->p.icmp_error)
		return drop(s->cnt, MERIDIAN_DROP_TOO_BIG);
	if (s->p.family == MERIDIAN_AF_INET)
		ret = icmp4_too_big(ctx, &s->p, mtu, s->frame_len);
	else
		ret = icmp6_too_big(ctx, &s->p, mtu, s->frame_len);
	if (ret)
		return drop(s->cnt, MERIDIAN_DROP_ENCAP);
	COUNT(s->cnt, icmp_too_big);
	return verdict(s->cnt, MERIDIAN_ACT_ICMP_REPLY, XDP_TX);
}

static __always_inline int forward(struct xdp_md *ctx, struct steer *s,
				   const struct meridian_config *cfg)
{
	__u32 mtu = cfg->mtu ? cfg->mtu : DEFAULT_MTU;
	struct outer o = {};
	struct nexthop *nh;
	struct ethhdr *eth;
	void *end;
	int rc;

	outer_fill(&o, s, cfg);
	nh = nexthop_get(ctx, s->flow.backend, &o, &s->p, s->jiffies, &rc);
	if (nh && rc != BPF_FIB_LKUP_RET_SUCCESS &&
	    rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return drop(s->cnt, MERIDIAN_DROP_FIB);
	if (nh && nh->mtu < mtu)
		mtu = nh->mtu;
	if (o.tot_len > mtu)
		return too_big(ctx, s, mtu, o.hlen);
	if (!nh)
		return drop(s->cnt, MERIDIAN_DROP_FIB);
	if (encapsulate(ctx, &s->p, &o, s->flow.hash))
		return drop(s->cnt, MERIDIAN_DROP_ENCAP);
	count_region(s->backend->region, s->frame_len,
		     sizeof(struct ethhdr) + o.tot_len);
	count_traffic(&meridian_backend_stats, s->flow.backend, s->frame_len);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return verdict(s->cnt, MERIDIAN_ACT_FALLBACK, XDP_PASS);

	eth = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > end)
		return drop(s->cnt, MERIDIAN_DROP_ENCAP);
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	if (nh->ifindex == ctx->ingress_ifindex)
		return verdict(s->cnt, MERIDIAN_ACT_TX, XDP_TX);
	return verdict(s->cnt, MERIDIAN_ACT_REDIRECT,
		       bpf_redirect(nh->ifindex, 0));
}

static __always_inline int steer_to_backend(struct xdp_md *ctx,
					    struct steer *s)
{
	const struct meridian_config *cfg;
	__u32 zero = 0;
	int pass = 0, ret;

	count_traffic(&meridian_vip_stats, s->vip->id, s->frame_len);
	if (fit_ip_length(ctx, s))
		return drop(s->cnt, MERIDIAN_DROP_MALFORMED);
	if (s->p.fragment && !(s->vip->flags & MERIDIAN_VIP_HASH_ADDRS))
		return drop(s->cnt, MERIDIAN_DROP_FRAGMENT);
	cfg = bpf_map_lookup_elem(&meridian_config, &zero);
	if (!cfg)
		return drop(s->cnt, MERIDIAN_DROP_NO_TABLE);
	s->jiffies = bpf_jiffies64();
	flow_key_fill(s);
	ret = choose_backend(s, cfg, &pass);
	if (pass)
		return verdict(s->cnt, MERIDIAN_ACT_PASS_NOREGION, XDP_PASS);
	if (ret != MERIDIAN_DROP_MAX)
		return drop(s->cnt, ret);
	return forward(ctx, s, cfg);
}

static __always_inline int handle_icmp(struct xdp_md *ctx, struct steer *s)
{
	const struct meridian_vip_addr *va;

	if (icmp_is_echo_request(&s->p)) {
		/* A fragment's reply would be a fragment missing the rest. */
		if (s->p.fragment ||
		    !vip_addr_echoes(&s->p, vip_addr_lookup(&s->p)))
			return verdict(s->cnt, MERIDIAN_ACT_PASS_NONVIP,
				       XDP_PASS);
		if (fit_ip_length(ctx, s) || icmp_echo_reply(ctx, &s->p))
			return drop(s->cnt, MERIDIAN_DROP_MALFORMED);
		COUNT(s->cnt, echo_reply);
		return verdict(s->cnt, MERIDIAN_ACT_ICMP_REPLY, XDP_TX);
	}
	if (!icmp_is_error(&s->p) || s->p.fragment ||
	    icmp_take_quoted_flow(ctx, &s->p))
		return verdict(s->cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	va = vip_addr_lookup(&s->p);
	s->vip = va ? vip_lookup(&s->p, va, 0) : NULL;
	if (!s->vip)
		return verdict(s->cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	COUNT(s->cnt, icmp_steered);
	return steer_to_backend(ctx, s);
}

SEC("xdp")
int meridian_edge(struct xdp_md *ctx)
{
	const struct meridian_vip_addr *va;
	struct steer s = {};
	int ret;

	s.cnt = counters_get();
	s.frame_len = ctx->data_end - ctx->data;
	ret = parse_packet(ctx, &s.p);
	if (ret == PARSE_BAD || ret == PARSE_NOT_IP)
		return verdict(s.cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	if (ret == PARSE_OK && (s.p.proto == IPPROTO_ICMP ||
				s.p.proto == IPPROTO_ICMPV6))
		return handle_icmp(ctx, &s);
	va = vip_addr_lookup(&s.p);
	if (!va)
		return verdict(s.cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	/*
	 * Truncated L4: only a wildcard VIP or an echo address can claim it,
	 * and it is broken.
	 */
	if (ret == PARSE_TRUNCATED) {
		if (vip_lookup(&s.p, va, 1) || vip_addr_echoes(&s.p, va))
			return drop(s.cnt, MERIDIAN_DROP_MALFORMED);
		return verdict(s.cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	}
	s.vip = vip_lookup(&s.p, va, 0);
	if (!s.vip)
		return verdict(s.cnt, MERIDIAN_ACT_PASS_NONVIP, XDP_PASS);
	return steer_to_backend(ctx, &s);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
