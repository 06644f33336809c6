// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "hash64.h"

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

uint64_t hash64_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t hash64_pair(uint64_t a, uint64_t b)
{
	return hash64_mix(hash64_mix(a + GOLDEN_GAMMA) ^ b);
}

uint64_t hash64_bytes(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = FNV64_OFFSET ^ hash64_mix(seed);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return hash64_mix(h ^ len);
}
