/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnel encapsulation: IPv4 or IPv6 outer header around the inner IP
 * packet (IPIP, IPv6-in-IPv6, IPv4-in-IPv6, IPv6-in-IPv4). VLAN tags of the
 * received frame are dropped: the outer frame is a new hop.
 */
#ifndef MERIDIAN_BPF_ENCAP_H
#define MERIDIAN_BPF_ENCAP_H

#include "parsing.h"
#include "csum.h"
#include "hashing.h"

#define DEFAULT_TTL 64
#define DEFAULT_MTU 1500

struct outer {
	__u32 src[4];
	__u32 dst[4];
	__u8 family; /* outer family, MERIDIAN_AF_* */
	__u8 ttl;
	__u16 hlen; /* outer IP header length: 20 or 40 */
	__u16 inner_len; /* bytes of the inner IP packet */
	__u16 tot_len; /* hlen + inner_len */
};

static __always_inline __u8 inner_ipproto(const struct pkt *p)
{
	return p->family == MERIDIAN_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
}

/*
 * The outer source: the tunnel address, or an entropy prefix whose host
 * bits come from the flow hash, so backends that spread receive queues by
 * addresses alone still spread flows.
 */
static __always_inline void outer_source(struct outer *o,
					 const struct meridian_config *cfg,
					 __u32 hash)
{
	__u32 mask;

	if (o->family == MERIDIAN_AF_INET) {
		o->src[0] = cfg->tunnel_src4;
		if (!(cfg->flags & MERIDIAN_CFG_ENTROPY_SRC4))
			return;
		mask = prefix_word_mask(cfg->entropy4_len, 0);
		o->src[0] = (cfg->entropy4 & mask) | (bpf_htonl(hash) & ~mask);
		return;
	}
	__builtin_memcpy(o->src, cfg->tunnel_src6, 16);
	if (!(cfg->flags & MERIDIAN_CFG_ENTROPY_SRC6))
		return;
	__builtin_memcpy(o->src, cfg->entropy6, 16);
	/* Entropy goes in the last word: a /96 or longer prefix. */
	mask = prefix_word_mask(cfg->entropy6_len, 3);
	o->src[3] = (cfg->entropy6[3] & mask) | (bpf_htonl(hash) & ~mask);
}

static __always_inline void write_outer4(struct iphdr *iph,
					 const struct outer *o,
					 const struct pkt *p)
{
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = p->tos;
	iph->tot_len = bpf_htons(o->tot_len);
	iph->id = 0;
	/* An IPv4 sender without DF allows fragments; keep that choice. */
	iph->frag_off = (p->family == MERIDIAN_AF_INET && !p->df) ?
				0 : bpf_htons(IPV4_DF);
	iph->ttl = o->ttl;
	iph->protocol = inner_ipproto(p);
	iph->saddr = o->src[0];
	iph->daddr = o->dst[0];
	iph->check = ipv4_header_csum(iph);
}

static __always_inline void write_outer6(struct ipv6hdr *ip6,
					 const struct outer *o,
					 const struct pkt *p, __u32 hash)
{
	/* Flow label from the flow hash: receive-side spreading for free. */
	__u32 first = (6u << 28) | ((__u32)p->tos << 20) | (hash & 0xfffff);

	*(__u32 *)ip6 = bpf_htonl(first);
	ip6->payload_len = bpf_htons(o->inner_len);
	ip6->nexthdr = inner_ipproto(p);
	ip6->hop_limit = o->ttl;
	__builtin_memcpy(&ip6->saddr, o->src, 16);
	__builtin_memcpy(&ip6->daddr, o->dst, 16);
}

/*
 * Replaces the L2 header (and any VLAN tags) with Ethernet + outer IP.
 * The MACs of the received frame are kept until the caller writes the
 * next hop's, so a frame handed to the kernel is still addressed to us.
 * Returns 0, or -1 when the headroom cannot be grown.
 */
static __always_inline int encapsulate(struct xdp_md *ctx, const struct pkt *p,
				       const struct outer *o, __u32 hash)
{
	int delta = (int)p->l3_off - (int)(sizeof(struct ethhdr) + o->hlen);
	unsigned char macs[2 * ETH_ALEN];
	struct ethhdr *eth;
	void *data, *end;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(macs) > end)
		return -1;
	__builtin_memcpy(macs, data, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, delta))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if (o->family == MERIDIAN_AF_INET) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		write_outer4(iph, o, p);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		write_outer6(ip6, o, p, hash);
	}
	__builtin_memcpy(eth, macs, sizeof(macs));
	return 0;
}

#endif /* MERIDIAN_BPF_ENCAP_H */
