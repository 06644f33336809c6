/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Next hops towards backends, resolved with bpf_fib_lookup and kept per
 * CPU for a few jiffies. A FIB lookup costs 130 ns (IPv4) to 340 ns (IPv6)
 * here, more than the rest of the fast path; one per backend per CPU every
 * NEXTHOP_TTL_JIFFIES keeps route and neighbour changes visible within a
 * fraction of a second. Unresolved neighbours are never cached, so the
 * kernel fallback sees every packet until the neighbour is known.
 */
#ifndef MERIDIAN_BPF_NEXTHOP_H
#define MERIDIAN_BPF_NEXTHOP_H

#include "encap.h"
#include "maps.h"

#define AF_INET 2
#define AF_INET6 10
#define NEXTHOP_TTL_JIFFIES 64 /* 64 to 256 ms, by the kernel's HZ */
#define FIB_MTU_PROBE_LEN 0xffff /* over any MTU: the lookup reports it */

struct nexthop {
	__u32 addr[4]; /* the backend address it was resolved for */
	__u64 resolved; /* jiffies */
	__u32 ifindex;
	__u32 mtu; /* of the route */
	__u8 smac[ETH_ALEN];
	__u8 dmac[ETH_ALEN];
	__u32 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct nexthop);
} meridian_nexthops SEC(".maps");

static __always_inline int fib_lookup_outer(struct xdp_md *ctx,
					    const struct outer *o,
					    const struct pkt *p, __u16 tot_len,
					    struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = tot_len;
	fib->l4_protocol = inner_ipproto(p);
	if (o->family == MERIDIAN_AF_INET) {
		fib->family = AF_INET;
		fib->tos = p->tos;
		fib->ipv4_src = o->src[0];
		fib->ipv4_dst = o->dst[0];
	} else {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, o->src, 16);
		__builtin_memcpy(fib->ipv6_dst, o->dst, 16);
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

static __always_inline int nexthop_fresh(const struct nexthop *nh,
					 const struct outer *o, __u64 now)
{
	return nh->valid && now - nh->resolved < NEXTHOP_TTL_JIFFIES &&
	       nh->addr[0] == o->dst[0] && nh->addr[1] == o->dst[1] &&
	       nh->addr[2] == o->dst[2] && nh->addr[3] == o->dst[3];
}

/*
 * Two lookups: one with a length over any MTU, which stops at the MTU
 * check and reports the route MTU even when the neighbour is unknown, then
 * the real one for the interface and MACs.
 */
static __always_inline int nexthop_refresh(struct xdp_md *ctx,
					   const struct outer *o,
					   const struct pkt *p,
					   struct nexthop *nh, __u64 now)
{
	struct bpf_fib_lookup fib;
	int rc;

	nh->valid = 0;
	rc = fib_lookup_outer(ctx, o, p, FIB_MTU_PROBE_LEN, &fib);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		nh->mtu = fib.mtu_result;
		rc = fib_lookup_outer(ctx, o, p, 0, &fib);
	} else {
		nh->mtu = FIB_MTU_PROBE_LEN; /* a route that takes anything */
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	__builtin_memcpy(nh->addr, o->dst, 16);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	nh->ifindex = fib.ifindex;
	nh->resolved = now;
	nh->valid = 1;
	return rc;
}

/*
 * The backend's next hop, or NULL with *rc the FIB's reason; now is
 * jiffies, read once by the caller.
 */
static __always_inline struct nexthop *nexthop_get(struct xdp_md *ctx,
						   __u32 backend,
						   const struct outer *o,
						   const struct pkt *p,
						   __u64 now, int *rc)
{
	struct nexthop *nh = bpf_map_lookup_elem(&meridian_nexthops, &backend);

	*rc = BPF_FIB_LKUP_RET_NOT_FWDED;
	if (!nh)
		return NULL;
	if (nexthop_fresh(nh, o, now)) {
		*rc = BPF_FIB_LKUP_RET_SUCCESS;
		return nh;
	}
	*rc = nexthop_refresh(ctx, o, p, nh, now);
	return nh;
}

#endif /* MERIDIAN_BPF_NEXTHOP_H */
