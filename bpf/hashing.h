/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one hash computed per packet. Words are mixed in a fixed order, client
 * prefix first, so the state after the prefix is the client hash used for
 * home-region pinning and the same pass goes on to the flow hash: one walk
 * over the tuple yields both.
 */
#ifndef MERIDIAN_BPF_HASHING_H
#define MERIDIAN_BPF_HASHING_H

#include <linux/types.h>

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

struct flow_hashes {
	__u32 client; /* hash of the source prefix */
	__u32 flow; /* hash of the whole tuple */
};

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

/*
 * words is 1 for IPv4, 4 for IPv6; pin_len is the client prefix length.
 * Ports are zero for VIPs that hash on addresses only.
 */
static __always_inline void hash_flow(const struct meridian_flow_key *k,
				      int words, __u32 pin_len,
				      struct flow_hashes *out)
{
	__u32 h = MERIDIAN_HASH_SEED, mask;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		if (i < words) {
			mask = prefix_word_mask(pin_len, i);
			h = hash_mix(h, k->src[i] & mask);
		}
	}
	out->client = hash_final(h);
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (i < words) {
			mask = prefix_word_mask(pin_len, i);
			h = hash_mix(h, k->src[i] & ~mask);
			h = hash_mix(h, k->dst[i]);
		}
	}
	h = hash_mix(h, ((__u32)k->sport << 16) | k->dport);
	h = hash_mix(h, ((__u32)k->proto << 8) | k->family);
	out->flow = hash_final(h);
}

#endif /* MERIDIAN_BPF_HASHING_H */
