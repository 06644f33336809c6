/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP at the edge: errors about a VIP flow are steered by the tuple they
 * quote; echo requests to a VIP are answered here, so ping measures the
 * distance to the nearest edge; packets that would exceed the MTU once
 * encapsulated are answered with fragmentation-needed / packet-too-big.
 */
#ifndef MERIDIAN_BPF_ICMP_H
#define MERIDIAN_BPF_ICMP_H

#include "parsing.h"
#include "csum.h"

#define ICMP_REPLY_TTL 64
#define ICMP_HDR_LEN 8
/* IPv4 quotes the header plus 8 bytes (RFC 792): at most 60 + 8. */
#define ICMP4_QUOTE_MAX 68
/*
 * IPv6 quotes a fixed 504 bytes: with the 8-byte ICMPv6 header that is the
 * 512 bytes one bpf_csum_diff call takes, and far below the 1280 limit.
 */
#define ICMP6_QUOTE_LEN 504
#define L4_OFF_MASK 0x3fff /* bounds a parsed offset for the verifier */

static __always_inline int icmp_is_error(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP)
		return p->icmp_type == ICMP_DEST_UNREACH ||
		       p->icmp_type == ICMP_TIME_EXCEEDED;
	return p->icmp_type == ICMPV6_DEST_UNREACH ||
	       p->icmp_type == ICMPV6_PKT_TOOBIG ||
	       p->icmp_type == ICMPV6_TIME_EXCEED;
}

static __always_inline int icmp_is_echo_request(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP)
		return p->icmp_type == ICMP_ECHO;
	return p->icmp_type == ICMPV6_ECHO_REQUEST;
}

static __always_inline int quoted_ports(void *l4, void *end, struct pkt *p)
{
	__u16 *ports = l4;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return -1;
	if ((void *)(ports + 2) > end)
		return -1;
	/* The quoted packet went from the VIP to the client: reverse it. */
	p->sport = ports[1];
	p->dport = ports[0];
	return 0;
}

/*
 * Rewrites p to the flow that the ICMP error is about, as the client sent
 * it: source = quoted destination, destination = quoted source (the VIP).
 */
static __always_inline int icmp_take_quoted_flow(struct xdp_md *ctx,
						 struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *quote = data + (p->l4_off & L4_OFF_MASK) + ICMP_HDR_LEN;

	if (p->family == MERIDIAN_AF_INET) {
		struct iphdr *iph = quote;

		if ((void *)(iph + 1) > end || iph->ihl < 5)
			return -1;
		if (bpf_ntohs(iph->frag_off) & IPV4_OFFSET_MASK)
			return -1;
		p->src[0] = iph->daddr;
		p->dst[0] = iph->saddr;
		p->proto = iph->protocol;
		p->icmp_error = 1;
		return quoted_ports(quote + iph->ihl * 4, end, p);
	} else {
		struct ipv6hdr *ip6 = quote;

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(p->src, &ip6->daddr, 16);
		__builtin_memcpy(p->dst, &ip6->saddr, 16);
		p->proto = ip6->nexthdr;
		p->icmp_error = 1;
		return quoted_ports(ip6 + 1, end, p);
	}
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	unsigned char tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* Echo request to a VIP: turned around in place, VLAN tags kept. */
static __always_inline int icmp_echo_reply(struct xdp_md *ctx,
					   const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct icmphdr *icmp = data + (p->l4_off & L4_OFF_MASK);
	void *l3 = data + (p->l3_off & L4_OFF_MASK);
	__u16 old_word, new_word;

	if ((void *)(icmp + 1) > end || data + sizeof(struct ethhdr) > end)
		return -1;
	old_word = *(__u16 *)icmp;
	icmp->type = p->proto == IPPROTO_ICMP ? ICMP_ECHOREPLY :
						ICMPV6_ECHO_REPLY;
	new_word = *(__u16 *)icmp;
	/* The ICMPv6 pseudo-header sum is the same with addresses swapped. */
	csum_replace16(&icmp->checksum, old_word, new_word);
	if (p->family == MERIDIAN_AF_INET) {
		struct iphdr *iph = l3;

		if ((void *)(iph + 1) > end)
			return -1;
		old_word = *(__u16 *)&iph->ttl;
		iph->ttl = ICMP_REPLY_TTL;
		csum_replace16(&iph->check, old_word, *(__u16 *)&iph->ttl);
		iph->saddr = p->dst[0];
		iph->daddr = p->src[0];
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return -1;
		ip6->hop_limit = ICMP_REPLY_TTL;
		__builtin_memcpy(&ip6->saddr, p->dst, 16);
		__builtin_memcpy(&ip6->daddr, p->src, 16);
	}
	swap_macs(data);
	return 0;
}

/*
 * Grows the head by hdr_len for the new IP + ICMP headers and moves the
 * received L2 header (VLAN tags included) to the front, so the answer
 * leaves the way the packet came. The quoted packet then starts right
 * after the new headers. Returns the new data start, or NULL.
 */
static __always_inline void *icmp_make_room(struct xdp_md *ctx,
					    const struct pkt *p, int hdr_len)
{
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, -hdr_len))
		return NULL;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + hdr_len + sizeof(struct ethhdr) +
		    MAX_VLAN_TAGS * sizeof(struct vlan_tag) > end)
		return NULL;
	/* Regions never overlap: hdr_len exceeds the longest L2 header. */
	switch (p->vlan_tags) {
	case 0:
		__builtin_memcpy(data, data + hdr_len, 14);
		break;
	case 1:
		__builtin_memcpy(data, data + hdr_len, 18);
		break;
	default:
		__builtin_memcpy(data, data + hdr_len, 22);
		break;
	}
	swap_macs(data);
	return data;
}

/* cur is the length now; computed from data_end it would upset the verifier. */
static __always_inline int trim_to(struct xdp_md *ctx, int cur, int len)
{
	return bpf_xdp_adjust_tail(ctx, len - cur);
}

static __always_inline int icmp4_too_big(struct xdp_md *ctx,
					 const struct pkt *p, __u16 mtu,
					 __u32 frame_len)
{
	int hdr_len = sizeof(struct iphdr) + ICMP_HDR_LEN;
	__u32 quote_len, l3_off = p->l3_off & L4_OFF_MASK;
	struct icmphdr *icmp;
	struct iphdr *iph;
	void *data, *end;
	__s64 sum;

	quote_len = (p->l4_off - p->l3_off) + 8;
	if (quote_len > ICMP4_QUOTE_MAX)
		return -1;
	data = icmp_make_room(ctx, p, hdr_len);
	if (!data)
		return -1;
	end = (void *)(long)ctx->data_end;
	iph = data + l3_off;
	icmp = (void *)(iph + 1);
	if ((void *)(icmp + 1) + ICMP4_QUOTE_MAX > end)
		return -1;
	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->un.frag.__unused = 0;
	icmp->un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (void *)icmp, ICMP_HDR_LEN + quote_len,
			    0);
	if (sum < 0)
		return -1;
	icmp->checksum = csum_fold(sum);
	__builtin_memset(iph, 0, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->tot_len = bpf_htons(hdr_len + quote_len);
	iph->ttl = ICMP_REPLY_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = p->dst[0];
	iph->daddr = p->src[0];
	iph->check = ipv4_header_csum(iph);
	return trim_to(ctx, frame_len + hdr_len,
		       l3_off + hdr_len + quote_len);
}

struct ipv6_pseudo {
	__u32 src[4];
	__u32 dst[4];
	__u32 len;
	__u8 zero[3];
	__u8 nexthdr;
};

static __always_inline int icmp6_too_big(struct xdp_md *ctx,
					 const struct pkt *p, __u32 mtu,
					 __u32 frame_len)
{
	int hdr_len = sizeof(struct ipv6hdr) + ICMP_HDR_LEN;
	__u32 l3_off = p->l3_off & L4_OFF_MASK;
	struct ipv6_pseudo ph = {};
	struct icmp6hdr *icmp;
	struct ipv6hdr *ip6;
	void *data, *end;
	__s64 sum;

	data = icmp_make_room(ctx, p, hdr_len);
	if (!data)
		return -1;
	end = (void *)(long)ctx->data_end;
	ip6 = data + l3_off;
	icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) + ICMP6_QUOTE_LEN > end)
		return -1;
	__builtin_memcpy(ph.src, p->dst, 16);
	__builtin_memcpy(ph.dst, p->src, 16);
	ph.len = bpf_htonl(ICMP_HDR_LEN + ICMP6_QUOTE_LEN);
	ph.nexthdr = IPPROTO_ICMPV6;
	icmp->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp->icmp6_code = 0;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_mtu = bpf_htonl(mtu);
	sum = bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0);
	sum = bpf_csum_diff(NULL, 0, (void *)icmp,
			    ICMP_HDR_LEN + ICMP6_QUOTE_LEN, sum);
	if (sum < 0)
		return -1;
	icmp->icmp6_cksum = csum_fold(sum);
	*(__u32 *)ip6 = bpf_htonl(6u << 28);
	ip6->payload_len = bpf_htons(ICMP_HDR_LEN + ICMP6_QUOTE_LEN);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = ICMP_REPLY_TTL;
	__builtin_memcpy(&ip6->saddr, p->dst, 16);
	__builtin_memcpy(&ip6->daddr, p->src, 16);
	return trim_to(ctx, frame_len + hdr_len,
		       l3_off + hdr_len + ICMP6_QUOTE_LEN);
}

#endif /* MERIDIAN_BPF_ICMP_H */
