/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow hash: one pass over the whole tuple, whatever the source's class,
 * so it is known before the class lookup. It indexes the flow cache, the
 * region table and the ring, and gives the outer source and the IPv6 flow
 * label. The client hash, over the source prefix alone, is the one second
 * pass: only a new flow of a class that pins clients to a home region needs
 * it.
 *
 * Shared with userspace (maps/meridian_access.c finds a flow's cache set with
 * it), so it uses kernel types only.
 */
#ifndef MERIDIAN_BPF_HASHING_H
#define MERIDIAN_BPF_HASHING_H

#include <linux/types.h>

#include "meridian_maps.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifdef __clang__
#define HASH_UNROLL _Pragma("unroll")
#else
#define HASH_UNROLL
#endif

#define MERIDIAN_HASH_SEED 0x6d657269u /* fixed: every edge must agree */

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((32 - shift) & 31));
}

static __always_inline __u32 hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = rol32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = rol32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* 32-bit words of each address in the key: 1 for IPv4, 4 for IPv6. */
static __always_inline int hash_words(const struct meridian_flow_key *k)
{
	return k->family == MERIDIAN_AF_INET ? 1 : 4;
}

/*
 * Ports are zero for VIPs that hash on addresses only. The words mixed in
 * first, zero, stand for a client prefix of length 0: the flow hash keeps
 * the value it had when it depended on the class's prefix, and was the
 * same for every class without one, so flows keep their region slots and
 * ring slots across that change. Constant, they fold at compile time.
 */
static __always_inline __u32 hash_flow(const struct meridian_flow_key *k,
				       int words)
{
	__u32 h = MERIDIAN_HASH_SEED;
	int i;

	HASH_UNROLL
	for (i = 0; i < 4; i++)
		if (i < words)
			h = hash_mix(h, 0);
	HASH_UNROLL
	for (i = 0; i < 4; i++) {
		if (i < words) {
			h = hash_mix(h, k->src[i]);
			h = hash_mix(h, k->dst[i]);
		}
	}
	h = hash_mix(h, ((__u32)k->sport << 16) | k->dport);
	h = hash_mix(h, ((__u32)k->proto << 8) | k->family);
	return hash_final(h);
}

/* Network-order mask of the first prefixlen bits of 32-bit word i. */
static __always_inline __u32 prefix_word_mask(__u32 prefixlen, int i)
{
	int bits = (int)prefixlen - i * 32;

	if (bits >= 32)
		return 0xffffffffu;
	if (bits <= 0)
		return 0;
	return __builtin_bswap32(~0u << (32 - bits));
}

/* Hash of the first pin_len bits of the source: the client's home. */
static __always_inline __u32 hash_client(const struct meridian_flow_key *k,
					 int words, __u32 pin_len)
{
	__u32 h = MERIDIAN_HASH_SEED;
	int i;

HASH_UNROLL
	for (i = 0; i < 4; i++)
		if (i < words)
			h = hash_mix(h,
				     k->src[i] & prefix_word_mask(pin_len, i));
	return hash_final(h);
}

/* The flow cache set of a flow hash. */
static __always_inline __u32 flow_set_index(__u32 hash)
{
	return hash & (MERIDIAN_FLOW_SETS - 1);
}

#endif /* MERIDIAN_BPF_HASHING_H */
