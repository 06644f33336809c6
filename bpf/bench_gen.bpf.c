// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Live-frames generator of the benchmarks: run with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, ingress_ifindex a veth. Its XDP_TX becomes a
 * real transmission out of that veth, so the frame reaches the program on
 * the peer (the edge, or the reference) as from a NIC.
 *
 * The kernel copies the test frame into a page only when the page pool
 * first hands that page out. Later runs get recycled pages holding
 * whatever the last user left there (here: the encapsulated output), with
 * only the data pointers reset. So every run writes the whole frame anew
 * from the template, then steps the source port through `flows` values
 * and fixes the TCP checksum for it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "../selftests/bench/bench_progs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_gen_cfg);
} bench_gen_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_gen_seq SEC(".maps");

/* The offsets come from userspace: checked before each access. */
static __always_inline __u16 *frame_word(void *data, void *end, __u16 off)
{
	__u16 *w;

	if (off > BENCH_FRAME_LEN - sizeof(*w))
		return 0;
	w = data + off;
	if ((void *)(w + 1) > end)
		return 0;
	return w;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct bench_gen_cfg *cfg;
	__u16 *sport, *check, port;
	__u32 zero = 0;
	__u64 *seq;

	cfg = bpf_map_lookup_elem(&bench_gen_cfg, &zero);
	seq = bpf_map_lookup_elem(&bench_gen_seq, &zero);
	/* Exactly the template's size: nothing of an old frame stays. */
	if (!cfg || !seq || data + BENCH_FRAME_LEN > end ||
	    ctx->data_end - ctx->data != BENCH_FRAME_LEN)
		return XDP_ABORTED;
	__builtin_memcpy(data, cfg->frame, BENCH_FRAME_LEN);
	if (cfg->flows <= 1)
		return XDP_TX;
	sport = frame_word(data, end, cfg->sport_off);
	check = frame_word(data, end, cfg->csum_off);
	if (!sport || !check)
		return XDP_ABORTED;
	port = bpf_htons(bpf_ntohs(*sport) + (*seq & (cfg->flows - 1)));
	(*seq)++;
	csum_replace16(check, *sport, port);
	*sport = port;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
