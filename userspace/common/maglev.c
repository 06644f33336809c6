// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash64.h"
#include "maglev.h"
#include "meridian_maps.h"

/* Part of the table contract: changing them reshuffles every ring. */
#define MAGLEV_SEED_OFFSET 0x6d61676c65762d6full /* "maglev-o" */
#define MAGLEV_SEED_SKIP 0x6d61676c65762d73ull /* "maglev-s" */
#define MAGLEV_SLOTS_PER_BACKEND 100

bool maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2) {
		if (n % d == 0)
			return false;
	}
	return true;
}

uint32_t maglev_ring_size(size_t n_backends)
{
	uint32_t size;

	if (n_backends == 0)
		return 0;
	if (n_backends > (MERIDIAN_RING_MAX - 1) / MAGLEV_SLOTS_PER_BACKEND)
		return MERIDIAN_RING_MAX;
	/* Ends at MERIDIAN_RING_MAX at the latest: it is prime. */
	size = (uint32_t)n_backends * MAGLEV_SLOTS_PER_BACKEND + 1;
	while (!maglev_is_prime(size))
		size++;
	return size;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

uint32_t maglev_skip_from_hash(uint64_t hash, uint32_t size)
{
	uint32_t skip;

	if (size < 2)
		return 1;
	skip = 1 + hash % (size - 1);
	/* Prime sizes never loop; other sizes walk to the next coprime step. */
	while (gcd32(skip, size) != 1)
		skip = skip + 1 < size ? skip + 1 : 1;
	return skip;
}

/* ---- apportionment ---- */

struct remainder {
	uint64_t rem;
	size_t idx;
};

static int remainder_cmp(const void *pa, const void *pb)
{
	const struct remainder *a = pa, *b = pb;

	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int maglev_apportion(const uint32_t *weight, size_t n, uint32_t total,
		     uint32_t *quota)
{
	struct remainder *r;
	uint64_t sum = 0, given = 0;
	size_t i;

	/* n bounded so the sum of 32-bit weights fits 64 bits. */
	if (!weight || !quota || n > UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		sum += weight[i];
	if (sum == 0)
		return -ENOENT;
	r = calloc(n, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint64_t share = (uint64_t)total * weight[i];

		quota[i] = share / sum;
		given += quota[i];
		r[i].rem = share % sum;
		r[i].idx = i;
	}
	qsort(r, n, sizeof(*r), remainder_cmp);
	/* Fewer are left than nonzero remainders, and those sort first. */
	for (i = 0; given < total; i++, given++)
		quota[r[i].idx]++;
	free(r);
	return 0;
}

/* ---- fill ---- */

/* LOG2_TABLE[i] = round(2^24 * log2(1 + i / 256)), i = 0..256. */
static const uint32_t LOG2_TABLE[257] = {
	0, 94364, 188362, 281996, 375270, 468185,
	560745, 652952, 744810, 836320, 927485, 1018309,
	1108793, 1198939, 1288752, 1378232, 1467383, 1556207,
	1644705, 1732882, 1820738, 1908277, 1995500, 2082410,
	2169009, 2255299, 2341283, 2426963, 2512340, 2597417,
	2682196, 2766679, 2850868, 2934766, 3018374, 3101694,
	3184728, 3267478, 3349946, 3432134, 3514044, 3595678,
	3677038, 3758124, 3838941, 3919488, 3999768, 4079782,
	4159533, 4239023, 4318251, 4397222, 4475935, 4554394,
	4632599, 4710552, 4788255, 4865709, 4942916, 5019878,
	5096595, 5173071, 5249305, 5325300, 5401057, 5476578,
	5551864, 5626916, 5701737, 5776327, 5850688, 5924821,
	5998727, 6072409, 6145867, 6219103, 6292118, 6364913,
	6437490, 6509850, 6581994, 6653924, 6725641, 6797146,
	6868440, 6939525, 7010402, 7081072, 7151536, 7221795,
	7291852, 7361706, 7431359, 7500812, 7570066, 7639123,
	7707984, 7776649, 7845119, 7913397, 7981483, 8049377,
	8117082, 8184598, 8251926, 8319067, 8386022, 8452793,
	8519380, 8585785, 8652008, 8718050, 8783912, 8849596,
	8915102, 8980431, 9045584, 9110562, 9175366, 9239998,
	9304457, 9368745, 9432863, 9496811, 9560591, 9624203,
	9687648, 9750928, 9814042, 9876993, 9939780, 10002404,
	10064867, 10127170, 10189312, 10251295, 10313120, 10374787,
	10436298, 10497652, 10558852, 10619897, 10680789, 10741528,
	10802114, 10862550, 10922835, 10982970, 11042956, 11102794,
	11162484, 11222028, 11281425, 11340677, 11399784, 11458748,
	11517568, 11576245, 11634780, 11693175, 11751428, 11809542,
	11867517, 11925353, 11983051, 12040612, 12098037, 12155325,
	12212479, 12269497, 12326382, 12383133, 12439752, 12496238,
	12552593, 12608817, 12664911, 12720875, 12776710, 12832416,
	12887994, 12943445, 12998770, 13053968, 13109041, 13163988,
	13218811, 13273511, 13328087, 13382540, 13436871, 13491080,
	13545168, 13599135, 13652983, 13706711, 13760320, 13813810,
	13867183, 13920438, 13973576, 14026597, 14079503, 14132294,
	14184969, 14237530, 14289978, 14342312, 14394532, 14446641,
	14498638, 14550523, 14602297, 14653961, 14705514, 14756958,
	14808293, 14859519, 14910637, 14961648, 15012551, 15063347,
	15114037, 15164621, 15215099, 15265473, 15315742, 15365906,
	15415967, 15465925, 15515779, 15565531, 15615181, 15664730,
	15714177, 15763523, 15812769, 15861915, 15910962, 15959909,
	16008758, 16057508, 16106160, 16154714, 16203172, 16251532,
	16299796, 16347964, 16396036, 16444013, 16491896, 16539683,
	16587377, 16634976, 16682482, 16729896, 16777216
};

/*
 * log2(x) in Q8.24, integers only so every host computes the same value.
 * Linear between table points: error below 3e-6, and never decreasing.
 */
uint32_t maglev_log2_q24(uint32_t x)
{
	uint32_t e, m, idx, frac, lo, hi;

	if (x == 0)
		return 0;
	e = 31 - __builtin_clz(x);
	m = (uint32_t)((uint64_t)x << (31 - e)); /* 1.31, leading bit set */
	idx = (m >> 23) & 0xff;
	frac = m & 0x7fffff;
	lo = LOG2_TABLE[idx];
	hi = LOG2_TABLE[idx + 1];
	return (e << 24) + lo + (uint32_t)(((uint64_t)(hi - lo) * frac) >> 23);
}

typedef unsigned __int128 arrival_key;

#define ENTRANT_BITS 16

struct fill {
	const struct maglev_entrant *e;
	uint32_t size;
	uint32_t filled;
	uint32_t log2_2size;
	uint8_t *taken;
	uint32_t *slot; /* current slot of each entrant's walk */
	uint32_t *pos; /* index of that slot in the walk */
	uint32_t *claimed;
	uint64_t *inv_weight; /* 2^64 / weight, so times multiply */
	arrival_key *heap; /* entrants by arrival time at their current slot */
	size_t heap_len;
};

/*
 * Entrant i reaches position p of its walk at time -ln(1 - u) / weight_i,
 * u = (p + 1/2) / size. The rank of a slot in a walk is uniform, so this is
 * weighted rendezvous hashing: the first arrival at a slot is entrant i with
 * probability weight_i / sum(weight), and quotas only trim the noise. Each
 * (slot, entrant) pair has a fixed time whatever the others do, so removing
 * an entrant frees its slots and moves the others' only where quotas run
 * out at another point. (Classic Maglev counts claimed slots rather than
 * positions, which cascades about twice as far, and needs credits to
 * weight.)
 *
 * The key packs time, then entrant index as the tie-break, into one integer:
 * time < 2^29 (Q8.24), times 2^64 / weight, shifted by ENTRANT_BITS, stays
 * below 2^109. Equal weights give equal factors, so their order is exact.
 */
static arrival_key arrival(const struct fill *f, uint32_t i)
{
	uint32_t when = f->log2_2size -
			maglev_log2_q24(2 * (f->size - f->pos[i]) - 1);

	return ((arrival_key)when * f->inv_weight[i]) << ENTRANT_BITS | i;
}

static void heap_sift_up(struct fill *f, size_t i)
{
	arrival_key x = f->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (f->heap[parent] < x)
			break;
		f->heap[i] = f->heap[parent];
		i = parent;
	}
	f->heap[i] = x;
}

/*
 * Re-place the top after its time grew. It usually belongs near the bottom,
 * so walk the hole down to a leaf along the earlier children, then let it
 * climb: about one comparison per level instead of two.
 */
static void heap_sift_down(struct fill *f, size_t i)
{
	arrival_key x = f->heap[i];
	size_t child;

	while ((child = 2 * i + 1) < f->heap_len) {
		if (child + 1 < f->heap_len &&
		    f->heap[child + 1] < f->heap[child])
			child++;
		f->heap[i] = f->heap[child];
		i = child;
	}
	f->heap[i] = x;
	heap_sift_up(f, i);
}

static void heap_pop(struct fill *f)
{
	f->heap[0] = f->heap[--f->heap_len];
	heap_sift_down(f, 0);
}

/*
 * Move entrant i past slots already taken: they stay taken, so i would find
 * them taken at their own time too. An entrant never passes a free slot, so
 * with a slot still free this ends within one lap (pos < size).
 */
static void walk_to_free(struct fill *f, uint32_t i)
{
	uint32_t skip = f->e[i].skip % f->size;

	while (f->taken[f->slot[i]]) {
		uint64_t next = (uint64_t)f->slot[i] + skip;

		f->slot[i] = next >= f->size ? next - f->size : next;
		f->pos[i]++;
	}
}

/* The earliest arrival claims its slot if nobody took it in the meantime. */
static void next_arrival(struct fill *f, uint32_t *table)
{
	uint32_t i = f->heap[0] & ((1u << ENTRANT_BITS) - 1);
	uint32_t slot = f->slot[i];

	if (!f->taken[slot]) {
		f->taken[slot] = 1;
		table[slot] = f->e[i].value;
		f->filled++;
		if (++f->claimed[i] == f->e[i].quota) {
			heap_pop(f);
			return;
		}
	}
	if (f->filled == f->size)
		return;
	walk_to_free(f, i);
	f->heap[0] = arrival(f, i);
	heap_sift_down(f, 0);
}

static int fill_check(const struct maglev_entrant *e, size_t n, uint32_t size)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (e[i].quota == 0)
			continue;
		if (!e[i].weight || e[i].offset >= size ||
		    gcd32(e[i].skip % size, size) != 1)
			return -EINVAL;
		sum += e[i].quota;
	}
	return sum == size ? 0 : -EINVAL;
}

static int fill_init(struct fill *f, const struct maglev_entrant *e, size_t n,
		     uint32_t size)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->e = e;
	f->size = size;
	f->log2_2size = maglev_log2_q24(2 * size);
	f->taken = calloc(size, sizeof(*f->taken));
	f->slot = calloc(n, sizeof(*f->slot));
	f->pos = calloc(n, sizeof(*f->pos));
	f->claimed = calloc(n, sizeof(*f->claimed));
	f->inv_weight = calloc(n, sizeof(*f->inv_weight));
	f->heap = calloc(n, sizeof(*f->heap));
	if (!f->taken || !f->slot || !f->pos || !f->claimed ||
	    !f->inv_weight || !f->heap)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (e[i].quota == 0)
			continue;
		f->slot[i] = e[i].offset;
		f->inv_weight[i] = UINT64_MAX / e[i].weight;
		f->heap[f->heap_len] = arrival(f, i);
		heap_sift_up(f, f->heap_len++);
	}
	return 0;
}

static void fill_free(struct fill *f)
{
	free(f->taken);
	free(f->slot);
	free(f->pos);
	free(f->claimed);
	free(f->inv_weight);
	free(f->heap);
}

int maglev_fill(const struct maglev_entrant *e, size_t n, uint32_t *table,
		uint32_t size)
{
	struct fill f;
	int err;

	if (!e || !table || size == 0 || size > MAGLEV_FILL_MAX ||
	    n > MAGLEV_FILL_MAX_ENTRANTS)
		return -EINVAL;
	err = fill_check(e, n, size);
	if (err)
		return err;
	err = fill_init(&f, e, n, size);
	/* Quotas sum to size, so the heap empties exactly when all is taken. */
	while (!err && f.filled < f.size)
		next_arrival(&f, table);
	fill_free(&f);
	return err;
}

/* ---- backend rings ---- */

static int backend_cmp(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->weight < b->weight ? -1 : a->weight > b->weight;
}

/* The weighted backends, in a canonical order independent of the input's. */
static size_t collect_weighted(const struct maglev_backend *b, size_t n,
			       struct maglev_backend *out)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (b[i].weight)
			out[m++] = b[i];
	}
	qsort(out, m, sizeof(*out), backend_cmp);
	return m;
}

static int build_entrants(const struct maglev_backend *b, size_t m,
			  uint32_t size, struct maglev_entrant *e)
{
	uint32_t *weight, *quota;
	size_t i;
	int err;

	weight = calloc(m, sizeof(*weight));
	quota = calloc(m, sizeof(*quota));
	if (!weight || !quota) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m; i++)
		weight[i] = b[i].weight;
	err = maglev_apportion(weight, m, size, quota);
	for (i = 0; !err && i < m; i++) {
		e[i].offset = hash64_pair(MAGLEV_SEED_OFFSET, b[i].key) % size;
		e[i].skip = maglev_skip_from_hash(
			hash64_pair(MAGLEV_SEED_SKIP, b[i].key), size);
		e[i].weight = b[i].weight;
		e[i].quota = quota[i];
		e[i].value = b[i].id;
	}
out:
	free(quota);
	free(weight);
	return err;
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t *ring,
		 uint32_t size)
{
	struct maglev_backend *sorted = NULL;
	struct maglev_entrant *e = NULL;
	size_t m;
	int err;

	if ((n && !b) || !ring || size > MERIDIAN_RING_MAX ||
	    !maglev_is_prime(size))
		return -EINVAL;
	if (n > MERIDIAN_MAX_BACKENDS)
		return -E2BIG;
	if (n == 0)
		return -ENOENT;
	sorted = calloc(n, sizeof(*sorted));
	e = calloc(n, sizeof(*e));
	if (!sorted || !e) {
		err = -ENOMEM;
		goto out;
	}
	m = collect_weighted(b, n, sorted);
	if (m == 0) {
		err = -ENOENT;
		goto out;
	}
	err = build_entrants(sorted, m, size, e);
	if (err)
		goto out;
	err = maglev_fill(e, m, ring, size);
out:
	free(e);
	free(sorted);
	return err;
}
