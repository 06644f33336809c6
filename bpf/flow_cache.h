/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow cache's operations; struct meridian_flow_set says how it works.
 * Shared by the edge and the benchmark blocks, which pass their own map's
 * sets.
 *
 * Ordering: a writer stores the way, then the tag; a reader loads the tag,
 * then the way, then the tag again. The compiler keeps that order (the
 * barriers); x86 keeps loads in order and stores in order, so a reader
 * whose two tag loads agree saw no write in between. On a weakly ordered
 * CPU the loads could pass each other, and a reader racing a writer on the
 * same way could, rarely, pair a key with the backend being written.
 */
#ifndef MERIDIAN_BPF_FLOW_CACHE_H
#define MERIDIAN_BPF_FLOW_CACHE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian_maps.h"

#define FLOW_WAY(w) ((w) & (MERIDIAN_FLOW_WAYS - 1))
#define FLOW_TAG_STATE (0xffffffffull | MERIDIAN_FLOW_TAG_VALID | \
			MERIDIAN_FLOW_TAG_BUSY)
/*
 * A hit rewrites its way's stamp at most this often (16 to 64 ms by HZ):
 * least-recently-used needs no finer order, and a line that is rarely
 * written stays shared in the caches of the CPUs that read it.
 */
#define FLOW_STAMP_JIFFIES 16
/*
 * Set in a stamp once the flow was found again after its insert: it sent
 * a second packet. A new flow evicts one that never did (a flood's SYN, a
 * one-datagram exchange) before any that did, oldest first in each group,
 * so a flood of new flows turns over among itself and established flows
 * stay. The stamp's lowest bit: ages lose one jiffy of resolution.
 */
#define FLOW_STAMP_HIT 1u

#define flow_barrier() asm volatile("" ::: "memory")

/*
 * Jiffies since the stamp, its hit bit aside. Another CPU may have stamped
 * after the next tick, a jiffy past our now: that is age 0, not a wrap to
 * the oldest (which would evict the freshest way).
 */
static __always_inline __u32 flow_age(__u32 now, __u32 stamp)
{
	__s32 d = (__s32)((now | FLOW_STAMP_HIT) - (stamp | FLOW_STAMP_HIT));

	return d > 0 ? (__u32)d : 0;
}

static __always_inline __u64 flow_tag_load(const __u64 *tag)
{
	return *(const volatile __u64 *)tag;
}

static __always_inline int flow_key_equal(const struct meridian_flow_key *a,
					  const struct meridian_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		 (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/*
 * The way holding key, or -1; *tag and *backend as read. key must be
 * 8-byte aligned. A way rewritten while it was read counts as a miss.
 */
static __always_inline int flow_find(const struct meridian_flow_set *set,
				     const struct meridian_flow_key *key,
				     __u32 hash, __u64 *tag, __u32 *backend)
{
	__u64 want = MERIDIAN_FLOW_TAG_VALID | hash, t;
	__u32 b;
	int i;

#pragma unroll
	for (i = 0; i < MERIDIAN_FLOW_WAYS; i++) {
		t = flow_tag_load(&set->tag[i]);
		if ((t & FLOW_TAG_STATE) != want)
			continue;
		flow_barrier();
		if (!flow_key_equal(&set->way[i].key, key))
			continue;
		b = set->way[i].backend;
		flow_barrier();
		if (flow_tag_load(&set->tag[i]) != t)
			continue;
		*tag = t;
		*backend = b;
		return i;
	}
	return -1;
}

/*
 * An empty way, else the least recently used of the ways never hit, else
 * the least recently used; with its tag. -1 when other CPUs are writing
 * every way.
 */
static __always_inline int flow_victim(const struct meridian_flow_set *set,
				       __u32 now, __u64 *tag)
{
	__u64 score, best = 0;
	int i, victim = -1;
	__u32 stamp;
	__u64 t;

#pragma unroll
	for (i = 0; i < MERIDIAN_FLOW_WAYS; i++) {
		t = flow_tag_load(&set->tag[i]);
		if (t & MERIDIAN_FLOW_TAG_BUSY)
			continue;
		if (!(t & MERIDIAN_FLOW_TAG_VALID)) {
			*tag = t;
			return i;
		}
		stamp = set->stamp[i];
		score = (__u64)!(stamp & FLOW_STAMP_HIT) << 32 |
			flow_age(now, stamp);
		if (victim < 0 || score > best) {
			best = score;
			victim = i;
			*tag = t;
		}
	}
	return victim;
}

/*
 * Claims way if its tag is still old, writes the flow and publishes it;
 * hit: the flow has been seen before (a re-pick), else it is new. Returns
 * 0, or -1 when another CPU changed the way first (the flow then stays
 * uncached until its next packet).
 */
static __always_inline int flow_write(struct meridian_flow_set *set, int way,
				      __u64 old,
				      const struct meridian_flow_key *key,
				      __u32 hash, __u32 backend, __u32 now,
				      int hit)
{
	__u64 gen = ((old >> MERIDIAN_FLOW_TAG_GEN_SHIFT) + 1)
		    << MERIDIAN_FLOW_TAG_GEN_SHIFT;
	struct meridian_flow_way *w = &set->way[FLOW_WAY(way)];
	__u64 *tag = &set->tag[FLOW_WAY(way)];

	if (__sync_val_compare_and_swap(tag, old,
					gen | MERIDIAN_FLOW_TAG_BUSY) != old)
		return -1;
	__builtin_memcpy(&w->key, key, sizeof(w->key));
	w->backend = backend;
	set->stamp[FLOW_WAY(way)] = hit ? now | FLOW_STAMP_HIT :
					  now & ~FLOW_STAMP_HIT;
	flow_barrier();
	*(volatile __u64 *)tag = gen | MERIDIAN_FLOW_TAG_VALID | hash;
	return 0;
}

/*
 * A hit: marked as such at once, its stamp moved on now and then; only
 * while the way still holds the flow found (tag), so a flow another CPU
 * just put there is not marked as one that sent a second packet.
 */
static __always_inline void flow_touch(struct meridian_flow_set *set, int way,
				       __u64 tag, __u32 now)
{
	__u32 *stamp = &set->stamp[FLOW_WAY(way)];
	__u32 old = *stamp;

	if (old & FLOW_STAMP_HIT && flow_age(now, old) < FLOW_STAMP_JIFFIES)
		return;
	if (flow_tag_load(&set->tag[FLOW_WAY(way)]) == tag)
		*stamp = now | FLOW_STAMP_HIT;
}

#endif /* MERIDIAN_BPF_FLOW_CACHE_H */
