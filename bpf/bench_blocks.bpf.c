// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Building blocks of the edge's per-packet work, one program each, for
 * selftests/bench/bench_blocks.c: what a map lookup of each kind, the
 * per-CPU counting and the encapsulation cost on this machine, measured the
 * way bench-dp measures the whole program. The maps have the shapes of the
 * edge's (type, flags, key size, entries); keys come from the packet so
 * nothing folds away.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "meridian_maps.h"
#include "hashing.h"
#include "flow_cache.h"

struct blk_pkt {
	struct iphdr *iph;
	struct tcphdr *tcp;
};

/* Like the VIP-address prefilter: an array of one table of slots. */
struct blk_vat_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_VIP_ADDR_SLOTS);
	__type(key, __u32);
	__type(value, struct meridian_vip_addr_slot4);
} blk_vat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct blk_vat_inner);
} blk_vat_outer SEC(".maps") = {
	.values = { [0] = &blk_vat },
};

/* The prefilter before it: a hash map with a 4-byte key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MERIDIAN_MAX_VIP_KEYS);
	__type(key, __u32);
	__type(value, __u64);
} blk_addrs SEC(".maps");

/* Like meridian_vips: {address, port, proto, family}. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MERIDIAN_MAX_VIP_KEYS);
	__type(key, struct meridian_vip_key);
	__type(value, struct meridian_vip);
} blk_vips SEC(".maps");

/* Like meridian_flows: the flow cache. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_FLOW_SETS);
	__type(key, __u32);
	__type(value, struct meridian_flow_set);
} blk_cache SEC(".maps");

/* The same, for inserts, so they never evict blk_cache's entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_FLOW_SETS);
	__type(key, __u32);
	__type(value, struct meridian_flow_set);
} blk_cache_new SEC(".maps");

/*
 * The flow table before the cache, a kernel LRU hash without a common LRU
 * list, kept for comparison.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MERIDIAN_FLOW_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct meridian_flow_key);
	__type(value, struct meridian_flow);
} blk_flows SEC(".maps");

/* The same, for inserts, so they never evict blk_flows' entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MERIDIAN_FLOW_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct meridian_flow_key);
	__type(value, struct meridian_flow);
} blk_flows_new SEC(".maps");

/*
 * Shaped like meridian_flows, for a new flow's unavoidable memory access:
 * its set is random in the table and its lines were not touched lately.
 * One for reads, one for claims, so neither warms the other's lines.
 */
struct blk_cold_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_FLOW_SETS);
	__type(key, __u32);
	__type(value, struct meridian_flow_set);
};

struct blk_cold_map blk_cold SEC(".maps");
struct blk_cold_map blk_cold_claims SEC(".maps");

/* The same sets, few enough to stay in the caches. */
#define BLK_WARM_SETS 64

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLK_WARM_SETS);
	__type(key, __u32);
	__type(value, struct meridian_flow_set);
} blk_warm SEC(".maps");

/* The per-CPU counting of one steered packet: four slots. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meridian_counters);
} blk_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct meridian_region_stats);
} blk_stats SEC(".maps");

static __always_inline int blk_parse(struct xdp_md *ctx, struct blk_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	p->iph = (void *)(eth + 1);
	p->tcp = (void *)(p->iph + 1);
	if ((void *)(p->tcp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    p->iph->ihl != 5 || p->iph->protocol != IPPROTO_TCP)
		return -1;
	return 0;
}

static __always_inline void blk_flow_key(const struct blk_pkt *p,
					 struct meridian_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src[0] = p->iph->saddr;
	k->dst[0] = p->iph->daddr;
	k->sport = p->tcp->source;
	k->dport = p->tcp->dest;
	k->proto = IPPROTO_TCP;
	k->family = MERIDIAN_AF_INET;
}

/* Parsing and the flow key alone: the base of every block below. */
SEC("xdp")
int blk_base(struct xdp_md *ctx)
{
	struct meridian_flow_key k;
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	return k.sport ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int blk_addr_lookup(struct xdp_md *ctx)
{
	struct blk_pkt p;
	__u32 key;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	key = p.iph->daddr;
	return bpf_map_lookup_elem(&blk_addrs, &key) ? XDP_PASS : XDP_DROP;
}

/* The prefilter's search, as the edge makes it. */
SEC("xdp")
int blk_addr_table(struct xdp_md *ctx)
{
	struct meridian_vip_addr_slot4 *slot;
	__u32 zero = 0, addr, home, i, k;
	struct blk_pkt p;
	void *table;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	table = bpf_map_lookup_elem(&blk_vat_outer, &zero);
	if (!table)
		return XDP_DROP;
	addr = p.iph->daddr;
	home = meridian_vip_addr_home4(addr);
#pragma unroll
	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		k = (home + i) & (MERIDIAN_VIP_ADDR_SLOTS - 1);
		slot = bpf_map_lookup_elem(table, &k);
		if (!slot || !slot->used)
			return XDP_DROP;
		if (slot->addr == addr)
			return XDP_PASS;
	}
	return XDP_DROP;
}

SEC("xdp")
int blk_vip_lookup(struct xdp_md *ctx)
{
	struct meridian_vip_key k = {};
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	k.addr[0] = p.iph->daddr;
	k.port = p.tcp->dest;
	k.proto = IPPROTO_TCP;
	k.family = MERIDIAN_AF_INET;
	return bpf_map_lookup_elem(&blk_vips, &k) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int blk_flow_lookup(struct xdp_md *ctx)
{
	struct meridian_flow_key k;
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	return bpf_map_lookup_elem(&blk_flows, &k) ? XDP_PASS : XDP_DROP;
}

/* The edge's flow cache hit: hash, set, tags, key. */
SEC("xdp")
int blk_cache_lookup(struct xdp_md *ctx)
{
	struct meridian_flow_key k __attribute__((aligned(8)));
	struct meridian_flow_set *set;
	__u32 hash, idx, backend;
	struct blk_pkt p;
	__u64 tag;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	hash = hash_flow(&k, 1);
	idx = flow_set_index(hash);
	set = bpf_map_lookup_elem(&blk_cache, &idx);
	if (!set || flow_find(set, &k, hash, &tag, &backend) < 0)
		return XDP_DROP;
	return backend ? XDP_PASS : XDP_DROP;
}

/*
 * A new flow into a full set, as the edge inserts one: the search that
 * misses, the victim, the claim and the write. Every insert evicts.
 */
SEC("xdp")
int blk_cache_insert(struct xdp_md *ctx)
{
	struct meridian_flow_key k __attribute__((aligned(8)));
	struct meridian_flow_set *set;
	__u32 hash, idx, backend, now;
	struct blk_pkt p;
	__u64 tag;
	int way;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	hash = hash_flow(&k, 1);
	idx = flow_set_index(hash);
	set = bpf_map_lookup_elem(&blk_cache_new, &idx);
	if (!set)
		return XDP_DROP;
	now = (__u32)bpf_jiffies64();
	way = flow_find(set, &k, hash, &tag, &backend);
	if (way < 0)
		way = flow_victim(set, now, &tag);
	if (way < 0 || flow_write(set, way, tag, &k, hash, 1, now, 0))
		return XDP_DROP;
	return XDP_PASS;
}

/* A new flow into a full LRU share: every insert evicts. */
SEC("xdp")
int blk_flow_insert(struct xdp_md *ctx)
{
	struct meridian_flow v = { .backend = 1 };
	struct meridian_flow_key k;
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	return bpf_map_update_elem(&blk_flows_new, &k, &v, BPF_ANY) ?
		       XDP_DROP :
		       XDP_PASS;
}

/* What the edge counts for one steered packet. */
SEC("xdp")
int blk_count(struct xdp_md *ctx)
{
	struct meridian_region_stats *s;
	struct meridian_counters *c;
	__u32 zero = 0, id, i;
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	c = bpf_map_lookup_elem(&blk_counters, &zero);
	if (!c)
		return XDP_DROP;
	c->lru_hit++;
	c->action[MERIDIAN_ACT_TX]++;
	id = bpf_ntohs(p.tcp->dest) & 0xff;
#pragma unroll
	for (i = 0; i < 3; i++) {
		__u32 key = id + i;

		s = bpf_map_lookup_elem(&blk_stats, &key);
		if (!s)
			return XDP_DROP;
		s->packets++;
		s->bytes += 64;
	}
	return XDP_PASS;
}

/* Grow the head and write an outer IPv4 header with its checksum. */
SEC("xdp")
int blk_encap(struct xdp_md *ctx)
{
	struct iphdr *outer;
	struct blk_pkt p;
	__u32 daddr;
	void *data, *end;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	daddr = p.iph->daddr;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*outer)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	outer = data + sizeof(struct ethhdr);
	if ((void *)(outer + 1) > end)
		return XDP_DROP;
	__builtin_memmove(data, data + sizeof(*outer), sizeof(struct ethhdr));
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(84);
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000);
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->saddr = daddr;
	outer->daddr = daddr;
	outer->check = ipv4_header_csum(outer);
	return XDP_TX;
}

/* The next-hop cache's clock, read on every steered packet. */
SEC("xdp")
int blk_jiffies(struct xdp_md *ctx)
{
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	return bpf_jiffies64() ? XDP_PASS : XDP_DROP;
}

/* The flood guard's clock, read for new flows when the guard is on. */
SEC("xdp")
int blk_ktime(struct xdp_md *ctx)
{
	struct blk_pkt p;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

/*
 * The cold-line blocks take their set from the frame's source address,
 * which userspace steps through a permutation of the sets; tag[0] of every
 * set holds its own index, so a pass proves the read was of that set.
 */
static __always_inline int blk_line(void *map, __u32 mask, struct xdp_md *ctx)
{
	struct meridian_flow_set *set;
	struct blk_pkt p;
	__u32 idx;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	idx = bpf_ntohl(p.iph->saddr) & mask;
	set = bpf_map_lookup_elem(map, &idx);
	if (!set)
		return XDP_DROP;
	return (__u32)flow_tag_load(&set->tag[0]) == idx ? XDP_PASS : XDP_DROP;
}

/* One 8-byte read at a random set of a table shaped like meridian_flows. */
SEC("xdp")
int blk_cold_line(struct xdp_md *ctx)
{
	return blk_line(&blk_cold, MERIDIAN_FLOW_SETS - 1, ctx);
}

/* The same read, the same instructions, in a table the caches hold. */
SEC("xdp")
int blk_warm_line(struct xdp_md *ctx)
{
	return blk_line(&blk_warm, BLK_WARM_SETS - 1, ctx);
}

/*
 * What an insert must do at the least: read the set's tags, pick a way
 * from them (so the write waits for the read, as a victim choice does),
 * write the way, its stamp and its tag; with cas, claim the tag first with
 * a compare-and-swap, as flow_write does. The new tag keeps the set's
 * index in its low half and a new generation, which moves the next pick.
 */
static __always_inline int blk_claim(void *map, __u32 mask, int cas,
				     struct xdp_md *ctx)
{
	struct meridian_flow_key k __attribute__((aligned(8)));
	struct meridian_flow_set *set;
	struct meridian_flow_way *w;
	__u64 old, t[MERIDIAN_FLOW_WAYS];
	struct blk_pkt p;
	__u32 idx, way;
	int i;

	if (blk_parse(ctx, &p))
		return XDP_DROP;
	blk_flow_key(&p, &k);
	idx = bpf_ntohl(p.iph->saddr) & mask;
	set = bpf_map_lookup_elem(map, &idx);
	if (!set)
		return XDP_DROP;
#pragma unroll
	for (i = 0; i < MERIDIAN_FLOW_WAYS; i++)
		t[i] = flow_tag_load(&set->tag[i]);
	old = t[0] ^ t[1] ^ t[2] ^ t[3];
	way = FLOW_WAY(old >> MERIDIAN_FLOW_TAG_GEN_SHIFT);
	old = flow_tag_load(&set->tag[way]);
	if (cas && __sync_val_compare_and_swap(&set->tag[way], old,
					       old | MERIDIAN_FLOW_TAG_BUSY) !=
			   old)
		return XDP_DROP;
	w = &set->way[way];
	__builtin_memcpy(&w->key, &k, sizeof(w->key));
	w->backend = 1;
	set->stamp[way] = 0;
	flow_barrier();
	*(volatile __u64 *)&set->tag[way] =
		((old >> MERIDIAN_FLOW_TAG_GEN_SHIFT) + 1)
			<< MERIDIAN_FLOW_TAG_GEN_SHIFT |
		MERIDIAN_FLOW_TAG_VALID | idx;
	return XDP_PASS;
}

SEC("xdp")
int blk_cold_claim(struct xdp_md *ctx)
{
	return blk_claim(&blk_cold_claims, MERIDIAN_FLOW_SETS - 1, 0, ctx);
}

SEC("xdp")
int blk_cold_claim_cas(struct xdp_md *ctx)
{
	return blk_claim(&blk_cold_claims, MERIDIAN_FLOW_SETS - 1, 1, ctx);
}

/* The claim with its compare-and-swap where the line is cached. */
SEC("xdp")
int blk_warm_claim_cas(struct xdp_md *ctx)
{
	return blk_claim(&blk_warm, BLK_WARM_SETS - 1, 1, ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
