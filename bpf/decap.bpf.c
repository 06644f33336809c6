// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Backend decapsulation. Strips the outer IPv4 or IPv6 header of a tunnel
 * packet (IPv4 or IPv6 inside, protocol 4 or 41) sent to one of this
 * host's decap addresses and passes the inner packet to the stack, so a
 * socket bound to the VIP receives it and answers the client directly.
 *
 * Everything else passes untouched. A tunnel packet for us whose inner
 * packet cannot be what the outer header promises is dropped: handing it
 * on would only make the stack drop it later, after a misleading parse.
 *
 * Our encapsulation never fragments and never adds IPv6 extension headers,
 * so outer fragments and outer extension headers are not ours either.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian_maps.h"

#define MAX_VLANS 2
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IPV4_MAX_WORDS 15 /* ihl 15: 60 bytes */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MERIDIAN_DECAP_ADDRS);
	__type(key, struct meridian_decap_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_DECAP_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_decap_stats SEC(".maps");

struct vlan_tag {
	__be16 tci;
	__be16 next_proto;
};

/* The link-layer header, kept on the stack while the outer one goes. */
struct l2 {
	struct ethhdr eth;
	struct vlan_tag tag[MAX_VLANS];
	__u32 n_vlan;
	__u32 len;
	__be16 proto; /* innermost ethertype */
};

enum verdict {
	V_NOT_TUNNEL,
	V_NOT_LOCAL,
	V_MALFORMED,
	V_DECAP,
};

struct decap {
	__u32 outer_len;
	__u32 counter; /* enum meridian_decap_counter */
	__be16 inner_proto; /* ethertype for the inner packet */
};

static __always_inline void count(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&meridian_decap_stats, &counter);

	if (n)
		*n += 1;
}

static __always_inline int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int parse_l2(void *data, void *end, struct l2 *l2)
{
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	int i;

	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(&l2->eth, eth, sizeof(*eth));
	l2->proto = eth->h_proto;
	l2->n_vlan = 0;
	l2->len = sizeof(*eth);
	tag = (void *)(eth + 1);
#pragma unroll
	for (i = 0; i < MAX_VLANS; i++) {
		if (!is_vlan(l2->proto))
			break;
		if ((void *)(tag + 1) > end)
			return -1;
		l2->tag[i] = *tag;
		l2->proto = tag->next_proto;
		l2->n_vlan = i + 1;
		l2->len += sizeof(*tag);
		tag++;
	}
	return 0;
}

static __always_inline int is_local(const __u32 addr[4], __u32 family)
{
	struct meridian_decap_key key = { .family = family };

	key.addr[0] = addr[0];
	if (family == MERIDIAN_AF_INET6) {
		key.addr[1] = addr[1];
		key.addr[2] = addr[2];
		key.addr[3] = addr[3];
	}
	return bpf_map_lookup_elem(&meridian_decap_addrs, &key) != NULL;
}

/*
 * The stack would drop a bad header; so must we, rather than decap it.
 * The caller checked that hlen bytes are there; the verifier wants each
 * word checked again, and a loop without early exit unrolls fully, so
 * every offset is a constant.
 */
static __always_inline int ipv4_csum_ok(void *iph, __u32 hlen, void *end)
{
	__u32 *word = iph;
	__u64 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < IPV4_MAX_WORDS; i++) {
		if ((__u32)i < hlen / 4 && (void *)(word + i + 1) <= end)
			sum += word[i];
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Is the inner packet at inner, with avail bytes of outer payload, whole? */
static __always_inline enum verdict check_inner(void *inner, void *end,
						__u32 avail, int want_v4)
{
	struct ipv6hdr *ip6 = inner;
	struct iphdr *ip = inner;
	__u32 hlen, len;

	if (want_v4) {
		if (avail < sizeof(*ip) || (void *)(ip + 1) > end)
			return V_MALFORMED;
		hlen = (*(__u8 *)ip & 0xf) * 4;
		len = bpf_ntohs(ip->tot_len);
		if (*(__u8 *)ip >> 4 != 4 || hlen < sizeof(*ip) || len < hlen ||
		    len > avail)
			return V_MALFORMED;
		return V_DECAP;
	}
	if (avail < sizeof(*ip6) || (void *)(ip6 + 1) > end)
		return V_MALFORMED;
	len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (*(__u8 *)ip6 >> 4 != 6 || len > avail)
		return V_MALFORMED;
	return V_DECAP;
}

static __always_inline enum verdict classify4(void *l3, void *end,
					      struct decap *d)
{
	struct iphdr *ip = l3;
	__u32 addr[4] = {};
	__u32 hlen, len;
	int inner_v4;

	if ((void *)(ip + 1) > end || *(__u8 *)ip >> 4 != 4)
		return V_NOT_TUNNEL;
	if (ip->protocol != IPPROTO_IPIP && ip->protocol != IPPROTO_IPV6)
		return V_NOT_TUNNEL;
	hlen = (*(__u8 *)ip & 0xf) * 4;
	len = bpf_ntohs(ip->tot_len);
	if (hlen < sizeof(*ip) || l3 + hlen > end || len < hlen ||
	    !ipv4_csum_ok(ip, hlen, end))
		return V_NOT_TUNNEL;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return V_NOT_TUNNEL;
	addr[0] = ip->daddr;
	if (!is_local(addr, MERIDIAN_AF_INET))
		return V_NOT_LOCAL;
	if (l3 + len > end)
		return V_MALFORMED;
	inner_v4 = ip->protocol == IPPROTO_IPIP;
	d->outer_len = hlen;
	d->counter = inner_v4 ? MERIDIAN_DECAP_IPIP : MERIDIAN_DECAP_IP6IP4;
	d->inner_proto = bpf_htons(inner_v4 ? ETH_P_IP : ETH_P_IPV6);
	return check_inner(l3 + hlen, end, len - hlen, inner_v4);
}

static __always_inline enum verdict classify6(void *l3, void *end,
					      struct decap *d)
{
	struct ipv6hdr *ip6 = l3;
	__u32 addr[4], len;
	int inner_v4;

	if ((void *)(ip6 + 1) > end || *(__u8 *)ip6 >> 4 != 6)
		return V_NOT_TUNNEL;
	if (ip6->nexthdr != IPPROTO_IPIP && ip6->nexthdr != IPPROTO_IPV6)
		return V_NOT_TUNNEL;
	__builtin_memcpy(addr, &ip6->daddr, sizeof(addr));
	if (!is_local(addr, MERIDIAN_AF_INET6))
		return V_NOT_LOCAL;
	len = bpf_ntohs(ip6->payload_len);
	if (l3 + sizeof(*ip6) + len > end)
		return V_MALFORMED;
	inner_v4 = ip6->nexthdr == IPPROTO_IPIP;
	d->outer_len = sizeof(*ip6);
	d->counter = inner_v4 ? MERIDIAN_DECAP_IP4IP6 : MERIDIAN_DECAP_IP6IP6;
	d->inner_proto = bpf_htons(inner_v4 ? ETH_P_IP : ETH_P_IPV6);
	return check_inner(l3 + sizeof(*ip6), end, len, inner_v4);
}

/*
 * Drop the outer header and put the link-layer header back in front of
 * the inner packet, ethertype changed. The inner packet holds at least
 * 20 bytes, so the 22 bytes of the largest link-layer header fit.
 */
static __always_inline int strip(struct xdp_md *ctx, struct l2 *l2,
				 const struct decap *d)
{
	void *data, *end;

	if (l2->n_vlan == 0)
		l2->eth.h_proto = d->inner_proto;
	else if (l2->n_vlan == 1)
		l2->tag[0].next_proto = d->inner_proto;
	else
		l2->tag[1].next_proto = d->inner_proto;
	if (bpf_xdp_adjust_head(ctx, (int)d->outer_len))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + sizeof(l2->tag) > end)
		return -1;
	__builtin_memcpy(data, &l2->eth, sizeof(struct ethhdr));
	if (l2->n_vlan > 0)
		__builtin_memcpy(data + sizeof(struct ethhdr), &l2->tag[0],
				 sizeof(struct vlan_tag));
	if (l2->n_vlan > 1)
		__builtin_memcpy(data + sizeof(struct ethhdr) +
					 sizeof(struct vlan_tag),
				 &l2->tag[1], sizeof(struct vlan_tag));
	return 0;
}

SEC("xdp")
int meridian_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct decap d = {};
	enum verdict v;
	struct l2 l2;

	if (parse_l2(data, end, &l2) < 0)
		v = V_NOT_TUNNEL;
	else if (l2.proto == bpf_htons(ETH_P_IP))
		v = classify4(data + l2.len, end, &d);
	else if (l2.proto == bpf_htons(ETH_P_IPV6))
		v = classify6(data + l2.len, end, &d);
	else
		v = V_NOT_TUNNEL;

	switch (v) {
	case V_DECAP:
		/* Checked above that the new head fits: strip cannot fail. */
		if (strip(ctx, &l2, &d) < 0) {
			count(MERIDIAN_DECAP_MALFORMED);
			return XDP_DROP;
		}
		count(d.counter);
		return XDP_PASS;
	case V_MALFORMED:
		count(MERIDIAN_DECAP_MALFORMED);
		return XDP_DROP;
	case V_NOT_LOCAL:
		count(MERIDIAN_DECAP_NOT_LOCAL);
		return XDP_PASS;
	default:
		count(MERIDIAN_DECAP_PASS);
		return XDP_PASS;
	}
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
