/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the benchmark's own XDP programs (bpf/bench_*.bpf.c) share with the
 * benchmarks that drive them: map value layouts, all plain fixed-width
 * types, included by BPF and userspace alike.
 *
 *   bench_gen      live-frames generator: writes a client frame into the
 *                  recycled page and sends it with XDP_TX
 *   bench_sink     counts what arrives, timestamps with bpf_ktime
 *   bench_sink_fo  follows one flow through a failover
 *   bench_encap    the reference: IPIP towards one fixed backend, XDP_TX
 *   bench_tx       the ceiling: MACs swapped, XDP_TX, nothing else
 */
#ifndef MERIDIAN_BENCH_PROGS_H
#define MERIDIAN_BENCH_PROGS_H

#include <linux/types.h>

/*
 * Every generated frame has exactly this size: Ethernet, IPv4, TCP and
 * ten bytes of payload. A constant size lets the generator rewrite the
 * whole frame with fixed-size copies.
 */
#define BENCH_FRAME_LEN 64

/* bench_gen_cfg, element 0. */
struct bench_gen_cfg {
	__u8 frame[BENCH_FRAME_LEN]; /* the frame of flow 0 */
	__u32 flows; /* source ports used in turn: a power of two */
	__u16 sport_off; /* offset of the TCP source port in frame */
	__u16 csum_off; /* offset of the TCP checksum in frame */
};

/* bench_sink_stats, per CPU, element 0. */
struct bench_sink_stats {
	__u64 encap; /* IPv4 frames carrying IPv4 (the tunnel output) */
	__u64 plain; /* every other frame */
	__u64 first_ns; /* bpf_ktime of the first counted frame, encap or not */
	__u64 last_ns; /* and of the last */
};

/* bench_encap_cfg, element 0: where the reference sends everything. */
struct bench_encap_cfg {
	__u32 saddr; /* network order */
	__u32 daddr;
	__u8 smac[6];
	__u8 dmac[6];
};

/*
 * bench_fo: element BENCH_FO_CTL is written by the benchmark only,
 * element BENCH_FO_RES by bench_sink_fo only. A new trial number in the
 * control element makes the sink start its result afresh.
 */
#define BENCH_FO_CTL 0
#define BENCH_FO_RES 1

struct bench_fo {
	__u32 trial;
	__u32 armed; /* CTL: watch for the failover now */
	__u32 watch_id; /* CTL: backend id that was killed */
	__u32 dead_addr; /* CTL: its IPv4 address, network order */
	__u32 last_dst; /* RES: outer destination of the last tunnel frame */
	__u32 pad;
	__u64 frames; /* RES: tunnel frames seen */
	__u64 last_ns; /* RES: when the last one arrived */
	__u64 update_ns; /* RES: first frame that saw the backend down */
	__u64 switch_ns; /* RES: first frame at another backend after that */
	__u64 early_ns; /* RES: first frame elsewhere before it (anomaly) */
	__u64 stale; /* RES: frames still at the dead backend after it */
};

#endif /* MERIDIAN_BENCH_PROGS_H */
