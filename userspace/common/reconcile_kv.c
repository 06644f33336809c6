// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Pure helpers of the reconciler: a hash table over fixed-size keys and
 * the content hashes that stand in for tables and rings in its cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash64.h"
#include "reconcile_int.h"

#define KV_MIN_CAP 64

void rc_kv_init(struct rc_kv *kv, uint32_t key_size, uint32_t val_size)
{
	memset(kv, 0, sizeof(*kv));
	kv->key_size = key_size;
	kv->val_size = val_size;
	/* Mark, key, value: values and entries start 8-byte aligned. */
	kv->val_off = (sizeof(uint32_t) + key_size + 7) & ~7u;
	kv->stride = (kv->val_off + val_size + 7) & ~7u;
}

void rc_kv_free(struct rc_kv *kv)
{
	free(kv->entries);
	kv->entries = NULL;
	kv->cap = 0;
	kv->count = 0;
}

size_t rc_kv_memory(const struct rc_kv *kv)
{
	return (size_t)kv->cap * kv->stride;
}

/* Keys are a few words long: a short chain beats the content hash. */
static uint32_t kv_home(const struct rc_kv *kv, const void *key)
{
	const uint8_t *p = key;
	uint64_t h = kv->key_size, w;
	uint32_t i;

	for (i = 0; i + 8 <= kv->key_size; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	if (i < kv->key_size) {
		w = 0;
		memcpy(&w, p + i, kv->key_size - i);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	}
	return (uint32_t)hash64_mix(h) & (kv->cap - 1);
}

int64_t rc_kv_find(const struct rc_kv *kv, const void *key)
{
	uint32_t i, n;

	if (!kv->cap)
		return -1;
	i = kv_home(kv, key);
	for (n = 0; n < kv->cap; n++, i = (i + 1) & (kv->cap - 1)) {
		if (!*rc_kv_mark(kv, i))
			return -1;
		if (!memcmp(rc_kv_key(kv, i), key, kv->key_size))
			return i;
	}
	return -1;
}

/* Places an entry known to be absent; the table has room. */
static void kv_place(struct rc_kv *kv, const void *key, const void *val,
		     uint32_t mark)
{
	uint32_t i = kv_home(kv, key);

	while (*rc_kv_mark(kv, i))
		i = (i + 1) & (kv->cap - 1);
	*rc_kv_mark(kv, i) = mark;
	memcpy(rc_kv_key(kv, i), key, kv->key_size);
	if (kv->val_size)
		memcpy(rc_kv_val(kv, i), val, kv->val_size);
	kv->count++;
}

static int kv_grow(struct rc_kv *kv)
{
	struct rc_kv old = *kv;
	uint32_t i;

	kv->cap = old.cap ? old.cap * 2 : KV_MIN_CAP;
	kv->entries = calloc(kv->cap, kv->stride);
	if (!kv->entries) {
		*kv = old;
		return -ENOMEM;
	}
	kv->count = 0;
	for (i = 0; i < old.cap; i++)
		if (*rc_kv_mark(&old, i))
			kv_place(kv, rc_kv_key(&old, i), rc_kv_val(&old, i),
				 *rc_kv_mark(&old, i));
	free(old.entries);
	return 0;
}

int rc_kv_put(struct rc_kv *kv, const void *key, const void *val, uint32_t mark)
{
	int64_t i = rc_kv_find(kv, key);
	int err;

	if (i >= 0) {
		*rc_kv_mark(kv, i) = mark;
		if (kv->val_size)
			memcpy(rc_kv_val(kv, i), val, kv->val_size);
		return 0;
	}
	/* Load factor at most 3/4 keeps probe chains short. */
	if ((uint64_t)(kv->count + 1) * 4 > (uint64_t)kv->cap * 3) {
		err = kv_grow(kv);
		if (err)
			return err;
	}
	kv_place(kv, key, val, mark);
	return 0;
}

/* Backward-shift deletion: no tombstones, probe chains stay exact. */
void rc_kv_del(struct rc_kv *kv, const void *key)
{
	int64_t found = rc_kv_find(kv, key);
	uint32_t hole, i, home, mask = kv->cap - 1;

	if (found < 0)
		return;
	hole = (uint32_t)found;
	i = hole;
	for (;;) {
		i = (i + 1) & mask;
		if (!*rc_kv_mark(kv, i))
			break;
		home = kv_home(kv, rc_kv_key(kv, i));
		/* Entry i may fill the hole if its home is not in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			memcpy(rc_kv_mark(kv, hole), rc_kv_mark(kv, i),
			       kv->stride);
			hole = i;
		}
	}
	memset(rc_kv_mark(kv, hole), 0, kv->stride);
	kv->count--;
}

#define LANES 8
#define LANE_MUL 0x9e3779b97f4a7c15ull

static inline uint64_t rotl64(uint64_t x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

/* One multiply per word: the loop runs at close to memory bandwidth. */
static inline uint64_t lane_step(uint64_t lane, uint64_t word)
{
	return rotl64((lane ^ word) * LANE_MUL, 29);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

uint64_t rc_hash(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t lane[LANES], tail = 0, h;
	size_t i = 0, l;

	for (l = 0; l < LANES; l++)
		lane[l] = seed + l * LANE_MUL;
	for (; i + 8 * LANES <= len; i += 8 * LANES)
		for (l = 0; l < LANES; l++)
			lane[l] = lane_step(lane[l], load64(p + i + 8 * l));
	for (l = 0; i + 8 <= len; i += 8, l++)
		lane[l] = lane_step(lane[l], load64(p + i));
	if (i < len) {
		memcpy(&tail, p + i, len - i);
		lane[LANES - 1] = lane_step(lane[LANES - 1], tail);
	}
	h = len;
	for (l = 0; l < LANES; l++)
		h = rotl64(h ^ lane[l], 23) * LANE_MUL;
	return hash64_mix(h);
}

uint64_t rc_ring_hash(const uint32_t *slots, uint32_t size)
{
	return rc_hash(slots, (size_t)size * sizeof(*slots), size);
}

uint64_t rc_table_hash(uint32_t flags, const uint16_t *ring,
		       const uint8_t *slot)
{
	uint64_t h = rc_hash(slot, MERIDIAN_REGION_SLOTS, flags);

	return rc_hash(ring, MERIDIAN_MAX_REGIONS * sizeof(*ring), h);
}
