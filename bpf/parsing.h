/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header parsing for the edge program: Ethernet with up to two VLAN tags,
 * IPv4 with options, IPv6 with a bounded extension-header chain, TCP, UDP,
 * ICMP and ICMPv6. Every access is checked against data_end.
 */
#ifndef MERIDIAN_BPF_PARSING_H
#define MERIDIAN_BPF_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "meridian_maps.h"

/*
 * linux/icmp.h drags in libc's socket headers, which do not build for the
 * BPF target; the few ICMP definitions we need are here instead.
 */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_FRAG_NEEDED 4

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT_HEADERS 6

#define IPV4_MF 0x2000
#define IPV4_DF 0x4000
#define IPV4_OFFSET_MASK 0x1fff

#define IPV6_NH_HOP 0
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_AH 51
#define IPV6_NH_DSTOPTS 60
#define IPV6_FRAG_MF 0x0001
#define IPV6_FRAG_OFFSET_MASK 0xfff8

enum parse_result {
	PARSE_OK,
	PARSE_NOT_IP, /* not IP, or a protocol we never steer */
	PARSE_TRUNCATED, /* IP header parsed, L4 header cut short */
	PARSE_BAD, /* broken L2/L3: not ours to judge, passed untouched */
};

struct pkt {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport; /* network order; ICMP echo: 0 */
	__u16 dport;
	__u8 proto;
	__u8 family; /* MERIDIAN_AF_* */
	__u8 tos; /* IPv4 TOS or IPv6 traffic class, DSCP and ECN */
	__u8 fragment; /* any fragment of a fragmented datagram */
	__u8 later_fragment; /* a fragment without the L4 header */
	__u8 df; /* IPv4 DF set; always 1 for IPv6 */
	__u8 icmp_type; /* valid when proto is ICMP or ICMPv6 */
	__u8 vlan_tags;
	__u8 icmp_error; /* tuple taken reversed from an ICMP error */
	__u8 tcp_syn; /* SYN without ACK: a connection being opened */
	__u16 l3_off; /* offset of the IP header from data */
	__u16 l4_off; /* offset of the L4 header from data */
	__u16 l4_end; /* end of the L4 bytes parsed: the IP length must reach */
	__u32 ip_len; /* IP packet length per its header */
};

/* IPv6 fragment header (RFC 8200, 4.5); uapi has no definition. */
struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) ||
	       h_proto == bpf_htons(ETH_P_8021AD);
}

/* Returns the ethertype in network order, or 0 when truncated. */
static __always_inline __u16 parse_eth(void **pos, void *end, struct pkt *p)
{
	struct ethhdr *eth = *pos;
	struct vlan_tag *tag;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return 0;
	proto = eth->h_proto;
	*pos = eth + 1;
#pragma unroll
	for (i = 0; i < MAX_VLAN_TAGS; i++) {
		if (!proto_is_vlan(proto))
			break;
		tag = *pos;
		if ((void *)(tag + 1) > end)
			return 0;
		proto = tag->proto;
		*pos = tag + 1;
		p->vlan_tags++;
	}
	return proto;
}

static __always_inline int parse_ipv4(void **pos, void *end, struct pkt *p)
{
	struct iphdr *iph = *pos;
	__u16 frag;
	__u32 hlen;

	if ((void *)(iph + 1) > end)
		return PARSE_BAD;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph))
		return PARSE_BAD;
	if (*pos + hlen > end)
		return PARSE_BAD;
	p->family = MERIDIAN_AF_INET;
	p->ip_len = bpf_ntohs(iph->tot_len);
	p->src[0] = iph->saddr;
	p->dst[0] = iph->daddr;
	p->proto = iph->protocol;
	p->tos = iph->tos;
	frag = bpf_ntohs(iph->frag_off);
	p->df = !!(frag & IPV4_DF);
	p->fragment = !!(frag & (IPV4_MF | IPV4_OFFSET_MASK));
	p->later_fragment = !!(frag & IPV4_OFFSET_MASK);
	*pos += hlen;
	return PARSE_OK;
}

/* Skips one extension header; returns its next header, or -1. */
static __always_inline int skip_ipv6_ext(void **pos, void *end, __u8 nh,
					 struct pkt *p)
{
	struct ipv6_opt_hdr *opt = *pos;
	struct ipv6_frag_hdr *fh = *pos;
	__u16 off;

	if (nh == IPV6_NH_FRAGMENT) {
		if ((void *)(fh + 1) > end)
			return -1;
		off = bpf_ntohs(fh->frag_off);
		p->fragment = 1;
		p->later_fragment = !!(off & IPV6_FRAG_OFFSET_MASK);
		*pos = fh + 1;
		return fh->nexthdr;
	}
	if ((void *)(opt + 1) > end)
		return -1;
	if (nh == IPV6_NH_AH)
		*pos += (opt->hdrlen + 2) * 4;
	else
		*pos += (opt->hdrlen + 1) * 8;
	return opt->nexthdr;
}

static __always_inline int is_ipv6_ext(__u8 nh)
{
	return nh == IPV6_NH_HOP || nh == IPV6_NH_ROUTING ||
	       nh == IPV6_NH_FRAGMENT || nh == IPV6_NH_AH ||
	       nh == IPV6_NH_DSTOPTS;
}

static __always_inline int parse_ipv6(void **pos, void *end, struct pkt *p)
{
	struct ipv6hdr *ip6 = *pos;
	int nh, i;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return PARSE_BAD;
	p->family = MERIDIAN_AF_INET6;
	/* A jumbogram (payload length 0) reads as too short: never steered. */
	p->ip_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->df = 1;
	nh = ip6->nexthdr;
	*pos = ip6 + 1;
	for (i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
		if (!is_ipv6_ext(nh))
			break;
		/*
		 * Headers after a fragment header exist only in the first
		 * fragment; the others cannot know the upper protocol. Such a
		 * datagram is left to the kernel whole, so its fragments are
		 * all treated alike.
		 */
		if (p->fragment)
			return PARSE_NOT_IP;
		nh = skip_ipv6_ext(pos, end, nh, p);
		if (nh < 0)
			return PARSE_BAD;
	}
	/* Still an extension header: the chain is longer than we walk. */
	if (is_ipv6_ext(nh))
		return PARSE_NOT_IP;
	p->proto = nh;
	return PARSE_OK;
}

static __always_inline int parse_l4(void *pos, void *end, struct pkt *p)
{
	struct tcphdr *tcp = pos;
	struct udphdr *udp = pos;
	struct icmphdr *icmp = pos;

	p->l4_end = p->l4_off;
	if (p->later_fragment)
		return PARSE_OK;
	switch (p->proto) {
	case IPPROTO_TCP:
		if ((void *)(tcp + 1) > end)
			return PARSE_TRUNCATED;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		p->tcp_syn = tcp->syn && !tcp->ack;
		p->l4_end += sizeof(*tcp);
		return PARSE_OK;
	case IPPROTO_UDP:
		if ((void *)(udp + 1) > end)
			return PARSE_TRUNCATED;
		p->sport = udp->source;
		p->dport = udp->dest;
		p->l4_end += sizeof(*udp);
		return PARSE_OK;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Type, code and checksum; the rest depends on the type. */
		if (pos + 4 > end)
			return PARSE_TRUNCATED;
		p->icmp_type = icmp->type;
		p->l4_end += 4;
		return PARSE_OK;
	}
	return PARSE_NOT_IP;
}

/* Parses everything up to the L4 ports; fills p and its offsets. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *pos = data;
	__u16 proto;
	int ret;

	proto = parse_eth(&pos, end, p);
	p->l3_off = pos - data;
	if (proto == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(&pos, end, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = parse_ipv6(&pos, end, p);
	else
		return proto ? PARSE_NOT_IP : PARSE_BAD;
	if (ret != PARSE_OK)
		return ret;
	p->l4_off = pos - data;
	return parse_l4(pos, end, p);
}

#endif /* MERIDIAN_BPF_PARSING_H */
