/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Weighted Maglev consistent hashing, pure (no I/O, no logging: callers log
 * failures with their own context).
 *
 * maglev_build() fills a ring of prime size with backend ids. Identical
 * input, in any order, gives a byte-identical ring on every host (integer
 * arithmetic only), so edges with the same config and health view send a
 * flow to the same backend.
 *
 * Each backend walks its own permutation of the ring (offset and skip from
 * its key) and reaches the p-th slot of its walk at a time that grows with
 * p and shrinks with its weight; the first to arrive at a free slot takes
 * it. That alone is weighted rendezvous hashing: each backend's expected
 * share follows its weight, and a slot's owner does not depend on the other
 * backends' turns, so removing a backend mostly moves only its own slots.
 * On top, each backend stops at its largest-remainder share of the ring, so
 * |slots - size * w / sum(w)| < 1 exactly.
 */
#ifndef MERIDIAN_MAGLEV_H
#define MERIDIAN_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	uint64_t key; /* stable identity (e.g. hash of the address) */
	uint32_t id; /* value written into the ring (a backend id) */
	uint32_t weight; /* 0 = not in the ring */
};

/*
 * Ring size for n backends with weight > 0: the smallest prime above
 * 100 * n, capped at MERIDIAN_RING_MAX (itself prime). 0 when n == 0.
 * Passing the configured backend count rather than the healthy count keeps
 * the size, and so every surviving slot, stable across health flips.
 */
uint32_t maglev_ring_size(size_t n_backends);

bool maglev_is_prime(uint32_t n);

/*
 * Fill ring[0..size-1]. The data plane's ring element 0 holds the size, so a
 * caller writing a map value passes value + 1 here.
 * Returns 0, -EINVAL (NULL pointer, size not a prime in 2..RING_MAX),
 * -E2BIG (n > MERIDIAN_MAX_BACKENDS), -ENOENT (no backend with weight > 0)
 * or -ENOMEM. The ring is untouched on failure.
 */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t *ring,
		 uint32_t size);

/* Lower layer, shared with the region-slot fill. */

/* One contender: walks offset, offset + skip, ... (mod size). */
struct maglev_entrant {
	uint32_t offset; /* < size */
	uint32_t skip; /* coprime with size, so the walk visits every slot */
	uint32_t weight; /* turn rate; > 0 when quota > 0 */
	uint32_t quota; /* slots it ends up with */
	uint32_t value; /* written into each slot it takes */
};

/* Largest table maglev_fill() takes; keeps turn times exact in 64 bits. */
#define MAGLEV_FILL_MAX (1u << 24)
#define MAGLEV_FILL_MAX_ENTRANTS (1u << 16)

/*
 * Fill table[0..size-1]; the quotas must sum to size. Ties in turn order go
 * to the lower index, so callers sort entrants into a canonical order.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int maglev_fill(const struct maglev_entrant *e, size_t n, uint32_t *table,
		uint32_t size);

/*
 * Largest-remainder apportionment of total among weights: quota[i] is
 * floor or ceil of total * weight[i] / sum, and the quotas sum to total.
 * Equal remainders go to the lower index. Returns 0, -EINVAL, -ENOENT (all
 * weights 0) or -ENOMEM.
 */
int maglev_apportion(const uint32_t *weight, size_t n, uint32_t total,
		     uint32_t *quota);

/* log2(x) in Q8.24 fixed point, integer-only; 0 for x == 0. */
uint32_t maglev_log2_q24(uint32_t x);

/* A step for a walk of length size that visits every slot, from a hash. */
uint32_t maglev_skip_from_hash(uint64_t hash, uint32_t size);

#endif /* MERIDIAN_MAGLEV_H */
