/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small, stable 64-bit hashes for the controller's pure code. Results must
 * not change between builds, hosts or releases: every edge derives the same
 * tables from the same config, so these are part of the wire contract.
 */
#ifndef MERIDIAN_HASH64_H
#define MERIDIAN_HASH64_H

#include <stddef.h>
#include <stdint.h>

/* Bijective avalanche step (the splitmix64 finalizer). */
uint64_t hash64_mix(uint64_t x);

/* Hash of two words, order-sensitive. */
uint64_t hash64_pair(uint64_t a, uint64_t b);

/* FNV-1a over the bytes, seeded, then mixed so low bits avalanche too. */
uint64_t hash64_bytes(const void *data, size_t len, uint64_t seed);

#endif /* MERIDIAN_HASH64_H */
