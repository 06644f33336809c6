// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the weighted Maglev ring (userspace/common/maglev.c) and
 * the stable hashes it is built on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash64.h"
#include "maglev.h"
#include "meridian_maps.h"

#define MAX_TEST_BACKENDS 1024

static uint32_t ring_a[MERIDIAN_RING_MAX];
static uint32_t ring_b[MERIDIAN_RING_MAX];
static struct maglev_backend backends[MERIDIAN_MAX_BACKENDS + 1];

static void make_backends(struct maglev_backend *b, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		b[i].key = hash64_pair(seed, i);
		b[i].id = i;
		b[i].weight = 1;
	}
}

/* Slots per backend id; ids in these tests are indexes below n. */
static void count_slots(const uint32_t *ring, uint32_t size, uint32_t *count,
			size_t n)
{
	uint32_t s;

	memset(count, 0, n * sizeof(*count));
	for (s = 0; s < size; s++) {
		assert_in_range(ring[s], 0, n - 1);
		count[ring[s]]++;
	}
}

/* |count - share| <= max(1, 1 % of share) for every backend. */
static void assert_shares(const struct maglev_backend *b, size_t n,
			  const uint32_t *ring, uint32_t size)
{
	static uint32_t count[MAX_TEST_BACKENDS];
	double sum = 0, worst = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += b[i].weight;
	count_slots(ring, size, count, n);
	for (i = 0; i < n; i++) {
		double share = (double)size * b[i].weight / sum;
		double slack = share * 0.01 > 1 ? share * 0.01 : 1;
		double off = count[i] > share ? count[i] - share :
						share - count[i];

		if (off > slack)
			fail_msg("backend %zu: %u slots, share %.2f", i,
				 count[i], share);
		if (b[i].weight == 0)
			assert_int_equal(count[i], 0);
		if (off > worst)
			worst = off;
	}
	printf("  n=%zu size=%u: worst |slots - share| = %.2f\n", n, size,
	       worst);
}

static void test_is_prime(void **state)
{
	static const uint32_t primes[] = { 2, 3, 5, 101, 809, 6421, 65519,
					   65537, 4294967291u };
	static const uint32_t composites[] = { 0, 1, 4, 9, 100, 6419, 65535,
					       65541, 4294967295u };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		assert_true(maglev_is_prime(primes[i]));
	for (i = 0; i < sizeof(composites) / sizeof(composites[0]); i++)
		assert_false(maglev_is_prime(composites[i]));
}

static void test_ring_size(void **state)
{
	uint32_t n, size, p;

	(void)state;
	assert_int_equal(maglev_ring_size(0), 0);
	assert_int_equal(maglev_ring_size(1), 101);
	assert_int_equal(maglev_ring_size(8), 809);
	assert_int_equal(maglev_ring_size(64), 6421);
	assert_int_equal(maglev_ring_size(100), 10007);
	assert_int_equal(maglev_ring_size(300), 30011);
	assert_int_equal(maglev_ring_size(655), 65519);
	assert_int_equal(maglev_ring_size(656), MERIDIAN_RING_MAX);
	assert_int_equal(maglev_ring_size(MERIDIAN_MAX_BACKENDS),
			 MERIDIAN_RING_MAX);
	for (n = 1; n <= 700; n++) {
		size = maglev_ring_size(n);
		assert_true(maglev_is_prime(size));
		assert_true(size <= MERIDIAN_RING_MAX);
		if (100 * n >= MERIDIAN_RING_MAX) {
			assert_int_equal(size, MERIDIAN_RING_MAX);
			continue;
		}
		assert_true(size > 100 * n);
		for (p = 100 * n + 1; p < size; p++)
			assert_false(maglev_is_prime(p));
	}
}

/* The hashes are part of the table contract: pin their values. */
static void test_hash64_stable(void **state)
{
	(void)state;
	assert_int_equal(hash64_mix(0), 0);
	assert_int_equal(hash64_mix(1), 0x5692161d100b05e5ull);
	assert_int_equal(hash64_pair(1, 2), 0x081a5c1377856b73ull);
	assert_int_equal(hash64_bytes("meridian", 8, 0),
			 0x22a6b53492c6825aull);
	assert_int_equal(hash64_bytes("", 0, 0), 0xf52a15e9a9b5e89bull);
	assert_true(hash64_pair(1, 2) != hash64_pair(2, 1));
	assert_true(hash64_bytes("ab", 2, 0) != hash64_bytes("ba", 2, 0));
	assert_true(hash64_bytes("ab", 2, 0) != hash64_bytes("ab", 2, 1));
}

static void test_log2_q24(void **state)
{
	static const struct {
		uint32_t x;
		uint32_t want; /* round(2^24 * log2(x)) */
	} cases[] = {
		{ 3, 26591258 },
		{ 5, 38955489 },
		{ 7, 47099600 },
		{ 10, 55732705 },
		{ 1000, 167198116 },
		{ 12345, 228029867 },
		{ 65537, 268435825 },
		{ 3 << 20, 362135578 },
		{ 0xffffffffu, 536870912 },
	};
	uint32_t x, prev = 0, k;
	size_t i;

	(void)state;
	assert_int_equal(maglev_log2_q24(0), 0);
	for (k = 0; k < 32; k++)
		assert_int_equal(maglev_log2_q24(1u << k), k << 24);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t err = (int64_t)maglev_log2_q24(cases[i].x) -
			      cases[i].want;

		assert_in_range(err + 64, 0, 128);
	}
	/* Never decreasing, or arrival order could run backwards. */
	for (x = 1; x <= (1u << 21); x++) {
		uint32_t v = maglev_log2_q24(x);

		assert_true(v >= prev);
		prev = v;
	}
}

static void test_apportion(void **state)
{
	static const uint32_t w1[] = { 1, 2, 3, 4 };
	static const uint32_t w2[] = { 1, 1, 1 };
	static const uint32_t w3[] = { 0, 5, 0, 5 };
	static const uint32_t zero[] = { 0, 0 };
	static const uint32_t big[] = { 0xffffffffu, 0xffffffffu, 1 };
	uint32_t q[4];

	(void)state;
	assert_int_equal(maglev_apportion(w1, 4, 101, q), 0);
	/* 10.1, 20.2, 30.3, 40.4: the 0.4 remainder wins the last slot. */
	assert_int_equal(q[0], 10);
	assert_int_equal(q[1], 20);
	assert_int_equal(q[2], 30);
	assert_int_equal(q[3], 41);
	assert_int_equal(maglev_apportion(w2, 3, 100, q), 0);
	assert_int_equal(q[0], 34); /* equal remainders: lower index first */
	assert_int_equal(q[1], 33);
	assert_int_equal(q[2], 33);
	assert_int_equal(maglev_apportion(w3, 4, 7, q), 0);
	assert_int_equal(q[0], 0);
	assert_int_equal(q[1], 4);
	assert_int_equal(q[2], 0);
	assert_int_equal(q[3], 3);
	assert_int_equal(maglev_apportion(big, 3, 65537, q), 0);
	assert_int_equal(q[0] + q[1] + q[2], 65537);
	assert_int_equal(q[2], 0);
	assert_int_equal(maglev_apportion(zero, 2, 10, q), -ENOENT);
	assert_int_equal(maglev_apportion(NULL, 2, 10, q), -EINVAL);
	assert_int_equal(maglev_apportion(w1, 4, 10, NULL), -EINVAL);
}

static void test_equal_weights(void **state)
{
	static const size_t ns[] = { 1, 2, 3, 7, 16, 64, 100, 300 };
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
		uint32_t size = maglev_ring_size(ns[t]);

		make_backends(backends, ns[t], 1);
		assert_int_equal(maglev_build(backends, ns[t], ring_a, size),
				 0);
		assert_shares(backends, ns[t], ring_a, size);
	}
}

static void build_weighted(const uint32_t *w, size_t n)
{
	size_t i, live = 0;
	uint32_t size;

	make_backends(backends, n, 2);
	for (i = 0; i < n; i++) {
		backends[i].weight = w[i];
		live += w[i] > 0;
	}
	size = maglev_ring_size(live);
	assert_int_equal(maglev_build(backends, n, ring_a, size), 0);
	assert_shares(backends, n, ring_a, size);
}

static void test_weighted(void **state)
{
	static const uint32_t w1234[] = { 1, 2, 3, 4 };
	static const uint32_t canary[] = { 9, 1 };
	static const uint32_t drained[] = { 100, 0 };
	static const uint32_t skewed[] = { 1, 1000, 1, 0xffffffffu };
	static uint32_t ramp[64];
	uint32_t count[2];
	size_t i;

	(void)state;
	build_weighted(w1234, 4);
	build_weighted(canary, 2);
	count_slots(ring_a, maglev_ring_size(2), count, 2);
	assert_int_equal(count[1], 21); /* 10 % of 211 = 21.1 */
	build_weighted(drained, 2);
	for (i = 0; i < maglev_ring_size(1); i++)
		assert_int_equal(ring_a[i], 0);
	build_weighted(skewed, 4);
	for (i = 0; i < 64; i++)
		ramp[i] = 1 + (hash64_pair(3, i) % 1000);
	build_weighted(ramp, 64);
}

static uint32_t moved_others(uint32_t removed, uint32_t size)
{
	uint32_t s, moved = 0;

	for (s = 0; s < size; s++) {
		assert_true(ring_b[s] != removed);
		moved += ring_a[s] != removed && ring_a[s] != ring_b[s];
	}
	return moved;
}

/*
 * Removing one of n backends at the same ring size must move its slots and
 * at most 1.5 x size / n of the others'. (The size stays when the caller
 * sizes rings by configured rather than healthy backends.)
 */
static void test_removal_stability(void **state)
{
	static const size_t ns[] = { 8, 16, 64 };
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
		size_t n = ns[t];
		uint32_t size = maglev_ring_size(n), r, worst = 0;
		double bound = 1.5 * size / n, sum = 0;

		make_backends(backends, n, 4);
		assert_int_equal(maglev_build(backends, n, ring_a, size), 0);
		for (r = 0; r < n; r++) {
			uint32_t moved;

			backends[r].weight = 0;
			assert_int_equal(
				maglev_build(backends, n, ring_b, size), 0);
			backends[r].weight = 1;
			moved = moved_others(r, size);
			assert_true(moved <= bound);
			sum += moved;
			if (moved > worst)
				worst = moved;
		}
		printf("  removal n=%zu size=%u: others' slots moved avg %.1f "
		       "max %u (%.2f x size/n; bound %.0f)\n",
		       n, size, sum / n, worst, worst * n / (double)size,
		       bound);
	}
}

/* Share of flows, other than the removed backend's, that change backend. */
static double flows_moved(uint32_t removed, uint32_t size_a, uint32_t size_b)
{
	uint32_t h, moved = 0, samples = 100000;

	for (h = 0; h < samples; h++) {
		uint32_t flow = hash64_pair(5, h);
		uint32_t a = ring_a[flow % size_a], b = ring_b[flow % size_b];

		moved += a != removed && a != b;
	}
	return 100.0 * moved / samples;
}

/*
 * For the record: sizing rings by the live backend count reshuffles nearly
 * every flow on a health flip, so callers should size by configured count.
 */
static void test_removal_resized(void **state)
{
	const size_t n = 16;
	uint32_t size_a = maglev_ring_size(n), size_b = maglev_ring_size(n - 1);
	double same, resized;

	(void)state;
	make_backends(backends, n, 4);
	assert_int_equal(maglev_build(backends, n, ring_a, size_a), 0);
	assert_int_equal(maglev_build(backends, n - 1, ring_b, size_a), 0);
	same = flows_moved(n - 1, size_a, size_a);
	assert_int_equal(maglev_build(backends, n - 1, ring_b, size_b), 0);
	resized = flows_moved(n - 1, size_a, size_b);
	printf("  removal n=%zu: %.1f %% of other flows move at size %u, "
	       "%.1f %% when resized to %u\n",
	       n, same, size_a, resized, size_b);
	assert_true(same < 100.0 * 1.5 / n);
}

static void shuffle(struct maglev_backend *b, size_t n, uint64_t seed)
{
	size_t i;

	for (i = n - 1; i > 0; i--) {
		size_t j = hash64_pair(seed, i) % (i + 1);
		struct maglev_backend t = b[i];

		b[i] = b[j];
		b[j] = t;
	}
}

static void test_determinism(void **state)
{
	const size_t n = 64;
	uint32_t size = maglev_ring_size(n);
	size_t i;

	(void)state;
	make_backends(backends, n, 6);
	for (i = 0; i < n; i++)
		backends[i].weight = 1 + i % 5;
	assert_int_equal(maglev_build(backends, n, ring_a, size), 0);
	assert_int_equal(maglev_build(backends, n, ring_b, size), 0);
	assert_memory_equal(ring_a, ring_b, size * sizeof(*ring_a));

	shuffle(backends, n, 7);
	memset(ring_b, 0xab, sizeof(ring_b));
	assert_int_equal(maglev_build(backends, n, ring_b, size), 0);
	assert_memory_equal(ring_a, ring_b, size * sizeof(*ring_a));

	/* Zero-weight entries anywhere change nothing. */
	for (i = n; i < n + 10; i++) {
		backends[i].key = hash64_pair(8, i);
		backends[i].id = 5000 + i;
		backends[i].weight = 0;
	}
	shuffle(backends, n + 10, 9);
	memset(ring_b, 0xcd, sizeof(ring_b));
	assert_int_equal(maglev_build(backends, n + 10, ring_b, size), 0);
	assert_memory_equal(ring_a, ring_b, size * sizeof(*ring_a));
}

/* Folds values, not bytes, so the digest is the same on any host. */
static uint64_t table_digest(const uint32_t *t, uint32_t size)
{
	uint64_t h = size;
	uint32_t i;

	for (i = 0; i < size; i++)
		h = hash64_pair(h, t[i]);
	return h;
}

/*
 * Edges running different builds must agree on rings: pin one. If this
 * changes on purpose, every edge must be upgraded before tables mix.
 */
#define GOLDEN_RING_DIGEST 0x6de7732b2faec6e1ull

static void test_golden_ring(void **state)
{
	uint32_t size = maglev_ring_size(5), head[8];
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		backends[i].key = hash64_pair(1, i);
		backends[i].id = 100 + i;
		backends[i].weight = 1 + i;
	}
	assert_int_equal(maglev_build(backends, 5, ring_a, size), 0);
	for (i = 0; i < 8; i++)
		head[i] = ring_a[i];
	printf("  golden ring size %u head %u %u %u %u %u %u %u %u\n", size,
	       head[0], head[1], head[2], head[3], head[4], head[5], head[6],
	       head[7]);
	assert_int_equal(table_digest(ring_a, size), GOLDEN_RING_DIGEST);
}

static void test_errors(void **state)
{
	const size_t n = 4;
	uint32_t sentinel[8];

	(void)state;
	make_backends(backends, MERIDIAN_MAX_BACKENDS + 1, 10);
	memset(ring_a, 0x5a, sizeof(ring_a));
	memcpy(sentinel, ring_a, sizeof(sentinel));
	assert_int_equal(maglev_build(backends, n, NULL, 401), -EINVAL);
	assert_int_equal(maglev_build(NULL, n, ring_a, 401), -EINVAL);
	assert_int_equal(maglev_build(backends, n, ring_a, 0), -EINVAL);
	assert_int_equal(maglev_build(backends, n, ring_a, 1), -EINVAL);
	assert_int_equal(maglev_build(backends, n, ring_a, 400), -EINVAL);
	assert_int_equal(maglev_build(backends, n, ring_a, 65539), -EINVAL);
	assert_int_equal(maglev_build(backends, 0, ring_a, 401), -ENOENT);
	assert_int_equal(maglev_build(NULL, 0, ring_a, 401), -ENOENT);
	assert_int_equal(maglev_build(backends, MERIDIAN_MAX_BACKENDS + 1,
				      ring_a, MERIDIAN_RING_MAX),
			 -E2BIG);
	backends[0].weight = backends[1].weight = 0;
	backends[2].weight = backends[3].weight = 0;
	assert_int_equal(maglev_build(backends, n, ring_a, 401), -ENOENT);
	assert_memory_equal(ring_a, sentinel, sizeof(sentinel));

	/* Largest size and backend count both work. */
	make_backends(backends, MERIDIAN_MAX_BACKENDS, 11);
	assert_int_equal(maglev_build(backends, MERIDIAN_MAX_BACKENDS, ring_a,
				      MERIDIAN_RING_MAX),
			 0);
	/* A prime smaller than the backend count leaves some out, legally. */
	assert_int_equal(maglev_build(backends, 5, ring_a, 2), 0);
}

static void test_fill_errors(void **state)
{
	struct maglev_entrant e[2] = {
		{ .offset = 0, .skip = 1, .weight = 1, .quota = 3, .value = 1 },
		{ .offset = 2, .skip = 3, .weight = 1, .quota = 4, .value = 2 },
	};
	uint32_t table[8];

	(void)state;
	/* Any size works while each skip is coprime with it. */
	assert_int_equal(maglev_fill(e, 2, table, 7), 0);
	assert_int_equal(maglev_fill(e, 2, table, 8), -EINVAL); /* sum 7 */
	e[0].quota = 4;
	assert_int_equal(maglev_fill(e, 2, table, 8), 0);
	e[1].skip = 2; /* shares a factor with 8: the walk misses slots */
	assert_int_equal(maglev_fill(e, 2, table, 8), -EINVAL);
	e[1].skip = 5;
	e[1].weight = 0;
	assert_int_equal(maglev_fill(e, 2, table, 8), -EINVAL);
	e[1].weight = 1;
	e[1].offset = 8;
	assert_int_equal(maglev_fill(e, 2, table, 8), -EINVAL);
	assert_int_equal(maglev_fill(NULL, 2, table, 8), -EINVAL);
	assert_int_equal(maglev_fill(e, 2, NULL, 8), -EINVAL);
	assert_int_equal(maglev_fill(e, 2, table, 0), -EINVAL);
	assert_int_equal(maglev_skip_from_hash(7, 8) % 2, 1);
	assert_int_equal(maglev_skip_from_hash(7, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_ring_size),
		cmocka_unit_test(test_hash64_stable),
		cmocka_unit_test(test_log2_q24),
		cmocka_unit_test(test_apportion),
		cmocka_unit_test(test_equal_weights),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_removal_stability),
		cmocka_unit_test(test_removal_resized),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_golden_ring),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fill_errors),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("%d passed, %d failed\n", total - failed, failed);
	return failed ? 1 : 0;
}
