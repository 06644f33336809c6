// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * References for the veth benchmark, attached where the edge program
 * would be.
 *
 * bench_encap is the least an IPIP load balancer must do per packet:
 * check for IPv4, grow the head, write an outer IPv4 header with a valid
 * checksum towards one fixed backend, set the MACs, XDP_TX. No parsing
 * beyond that, no lookups but its one config element, no counters.
 *
 * bench_tx only swaps the MACs and returns XDP_TX: the cost of the path
 * itself (generator, two veth hops, sink), which both others pay too.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "../selftests/bench/bench_progs.h"

#define OUTER_TTL 64
#define IP_DF 0x4000

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_encap_cfg);
} bench_encap_cfg SEC(".maps");

SEC("xdp")
int bench_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct bench_encap_cfg *cfg;
	struct ethhdr *eth = data;
	struct iphdr *inner = (void *)(eth + 1), *outer;
	__u32 zero = 0;
	__u16 inner_len;
	__u8 tos;

	if ((void *)(inner + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&bench_encap_cfg, &zero);
	if (!cfg)
		return XDP_PASS;
	tos = inner->tos;
	inner_len = bpf_ntohs(inner->tot_len);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*outer)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	outer = (void *)(eth + 1);
	if ((void *)(outer + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, cfg->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	outer->version = 4;
	outer->ihl = sizeof(*outer) / 4;
	outer->tos = tos;
	outer->tot_len = bpf_htons(inner_len + sizeof(*outer));
	outer->id = 0;
	outer->frag_off = bpf_htons(IP_DF);
	outer->ttl = OUTER_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->saddr = cfg->saddr;
	outer->daddr = cfg->daddr;
	outer->check = ipv4_header_csum(outer);
	return XDP_TX;
}

SEC("xdp")
int bench_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
