// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Receivers of the benchmarks, on the veth end the edge transmits to. Only
 * what arrives here counts: a sender's own report says nothing about
 * frames a veth dropped on the way.
 *
 * bench_sink counts every frame (tunnel frames apart) and drops it.
 *
 * bench_sink_fo follows one flow through a failover. It reads the killed
 * backend's `up` word in the edge's own meridian_backends map (the
 * benchmark hands it the pinned map), so the moment the controller's write
 * became visible and the moment the flow reached another backend are both
 * bpf_ktime stamps of frames arriving here: one clock, resolution one
 * frame gap. Frames that are not IPv4-in-IPv4 (probes, ARP) pass.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian_maps.h"
#include "../selftests/bench/bench_progs.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_sink_stats);
} bench_sink_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bench_fo);
} bench_fo SEC(".maps");

/* Same shape as the edge's map; replaced by the pinned one before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct meridian_backend);
} meridian_backends SEC(".maps");

/* The outer IPv4 header of a tunnel frame, or NULL. */
static __always_inline struct iphdr *tunnel_header(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    iph->protocol != IPPROTO_IPIP)
		return 0;
	return iph;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	struct bench_sink_stats *st;
	__u32 zero = 0;
	__u64 now;

	st = bpf_map_lookup_elem(&bench_sink_stats, &zero);
	if (!st)
		return XDP_DROP;
	now = bpf_ktime_get_ns();
	if (tunnel_header(ctx))
		st->encap++;
	else
		st->plain++;
	if (!st->first_ns)
		st->first_ns = now;
	st->last_ns = now;
	return XDP_DROP;
}

static __always_inline void fo_watch(const struct bench_fo *ctl,
				     struct bench_fo *res, __u32 dst, __u64 now)
{
	const struct meridian_backend *b;
	__u32 id = ctl->watch_id;

	if (!res->update_ns) {
		b = bpf_map_lookup_elem(&meridian_backends, &id);
		if (b && !b->up)
			res->update_ns = now;
	}
	if (dst == ctl->dead_addr) {
		if (res->update_ns)
			res->stale++;
		return;
	}
	if (res->update_ns && !res->switch_ns)
		res->switch_ns = now;
	else if (!res->update_ns && !res->early_ns)
		res->early_ns = now;
}

SEC("xdp")
int bench_sink_fo(struct xdp_md *ctx)
{
	__u32 ctl_key = BENCH_FO_CTL, res_key = BENCH_FO_RES;
	struct bench_fo *ctl, *res;
	struct iphdr *iph;
	__u64 now;

	iph = tunnel_header(ctx);
	if (!iph)
		return XDP_PASS;
	ctl = bpf_map_lookup_elem(&bench_fo, &ctl_key);
	res = bpf_map_lookup_elem(&bench_fo, &res_key);
	if (!ctl || !res)
		return XDP_DROP;
	now = bpf_ktime_get_ns();
	if (res->trial != ctl->trial) {
		res->trial = ctl->trial;
		res->update_ns = 0;
		res->switch_ns = 0;
		res->early_ns = 0;
		res->stale = 0;
	}
	if (ctl->armed)
		fo_watch(ctl, res, iph->daddr, now);
	res->frames++;
	res->last_ns = now;
	res->last_dst = iph->daddr;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
