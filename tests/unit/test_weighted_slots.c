// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the region slot fill (userspace/common/weighted_slots.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hash64.h"
#include "maglev.h"
#include "meridian_maps.h"
#include "weighted_slots.h"

#define NSLOTS MERIDIAN_REGION_SLOTS
#define NREGIONS MERIDIAN_MAX_REGIONS

/*
 * Slots of the other regions that may move when one region is removed or
 * reweighted. They move only where the exact shares trim the rendezvous
 * assignment differently, which is of the order of its statistical noise
 * (a few slots per region). Measured: worst 81 slots (2.0 %) over 6400
 * random removals with up to 32 regions, 56 with equal weights; so 2.5 %:
 * a client pinned to a healthy region stays there with >= 97.5 %.
 */
#define MOVE_BOUND (NSLOTS / 40)

static uint8_t slot_a[NSLOTS], slot_b[NSLOTS];

static void count_regions(const uint8_t *slot, unsigned int nslots,
			  unsigned int nregions, uint32_t *count)
{
	unsigned int s;

	memset(count, 0, NREGIONS * sizeof(*count));
	for (s = 0; s < nslots; s++) {
		assert_in_range(slot[s], 0, nregions - 1);
		count[slot[s]]++;
	}
}

/*
 * Exact largest-remainder shares: within one slot, so within the +-1 %
 * required whenever there are 100 slots or more.
 */
static void assert_shares(const uint32_t *w, unsigned int nregions,
			  const uint8_t *slot, unsigned int nslots)
{
	uint32_t count[NREGIONS];
	double sum = 0;
	unsigned int r;

	for (r = 0; r < nregions; r++)
		sum += w[r];
	count_regions(slot, nslots, nregions, count);
	for (r = 0; r < nregions; r++) {
		double share = (double)nslots * w[r] / sum;
		double off = count[r] - share;

		if (off <= -1 || off >= 1)
			fail_msg("region %u: %u slots, share %.2f", r, count[r],
				 share);
		if (w[r] == 0)
			assert_int_equal(count[r], 0);
	}
}

static void fill_checked(const uint32_t *w, unsigned int nregions,
			 uint8_t *slot, unsigned int nslots)
{
	assert_int_equal(weighted_slots_fill(w, nregions, slot, nslots), 0);
	assert_shares(w, nregions, slot, nslots);
}

static void test_shares(void **state)
{
	static const uint32_t one[] = { 7 };
	static const uint32_t two[] = { 1, 1 };
	static const uint32_t w1234[] = { 1, 2, 3, 4 };
	static const uint32_t gaps[] = { 5, 0, 7, 0, 1 };
	static const uint32_t skewed[] = { 0xffffffffu, 1, 0xffffffffu };
	uint32_t random[NREGIONS];
	unsigned int r;

	(void)state;
	fill_checked(one, 1, slot_a, NSLOTS);
	fill_checked(two, 2, slot_a, NSLOTS);
	fill_checked(w1234, 4, slot_a, NSLOTS);
	fill_checked(gaps, 5, slot_a, NSLOTS);
	fill_checked(skewed, 3, slot_a, NSLOTS);
	for (r = 0; r < NREGIONS; r++)
		random[r] = 1 + hash64_pair(1, r) % 1000;
	fill_checked(random, NREGIONS, slot_a, NSLOTS);
	/* Not only the data plane's size: any count of slots works. */
	fill_checked(w1234, 4, slot_a, 1);
	fill_checked(w1234, 4, slot_a, 1000);
	fill_checked(random, NREGIONS, slot_a, 4095);
}

static void test_canary(void **state)
{
	static const uint32_t canary[] = { 90, 10 };
	uint32_t three[] = { 45, 45, 10 }, count[NREGIONS], w;
	unsigned int s, worst = 0;

	(void)state;
	fill_checked(canary, 2, slot_a, NSLOTS);
	count_regions(slot_a, NSLOTS, 2, count);
	assert_int_equal(count[0], 3686);
	assert_int_equal(count[1], 410); /* 409.6 */

	fill_checked(three, 3, slot_a, NSLOTS);
	count_regions(slot_a, NSLOTS, 3, count);
	assert_int_equal(count[2], 410);
	/* Ramping the canary moves slots between it and the others only. */
	for (w = 0; w <= 100; w += 5) {
		unsigned int moved = 0;

		three[2] = w;
		fill_checked(three, 3, slot_b, NSLOTS);
		for (s = 0; s < NSLOTS; s++)
			moved += slot_a[s] != 2 && slot_b[s] != 2 &&
				 slot_a[s] != slot_b[s];
		if (moved > worst)
			worst = moved;
	}
	printf("  canary ramp 0..100 %% of 45/45: at most %u slots move "
	       "between the two others\n",
	       worst);
	assert_true(worst <= NSLOTS / 256);
}

static void test_zero_weights(void **state)
{
	static const uint32_t zero[NREGIONS];
	static const uint32_t lone[] = { 0, 0, 3, 0 };
	unsigned int s;

	(void)state;
	memset(slot_a, 0, sizeof(slot_a));
	assert_int_equal(weighted_slots_fill(zero, NREGIONS, slot_a, NSLOTS),
			 0);
	for (s = 0; s < NSLOTS; s++)
		assert_int_equal(slot_a[s], MERIDIAN_REGION_NONE);
	memset(slot_a, 0, sizeof(slot_a));
	assert_int_equal(weighted_slots_fill(zero, 0, slot_a, NSLOTS), 0);
	for (s = 0; s < NSLOTS; s++)
		assert_int_equal(slot_a[s], MERIDIAN_REGION_NONE);
	fill_checked(lone, 4, slot_a, NSLOTS);
	for (s = 0; s < NSLOTS; s++)
		assert_int_equal(slot_a[s], 2);
}

static unsigned int others_moved(unsigned int region)
{
	unsigned int s, moved = 0;

	for (s = 0; s < NSLOTS; s++)
		moved += slot_a[s] != region && slot_b[s] != region &&
			 slot_a[s] != slot_b[s];
	return moved;
}

struct move_stats {
	unsigned int removal_max, change_max;
	double removal_sum, change_sum;
	unsigned int runs;
};

/* Remove each region in turn, then double it, against the table for w. */
static void measure_moves(uint32_t *w, unsigned int n, struct move_stats *st)
{
	unsigned int r, s, moved;

	fill_checked(w, n, slot_a, NSLOTS);
	for (r = 0; r < n; r++) {
		uint32_t keep = w[r];

		w[r] = 0;
		fill_checked(w, n, slot_b, NSLOTS);
		for (s = 0; s < NSLOTS; s++)
			assert_true(slot_b[s] != r);
		moved = others_moved(r);
		assert_true(moved <= MOVE_BOUND);
		st->removal_sum += moved;
		if (moved > st->removal_max)
			st->removal_max = moved;

		w[r] = keep * 2;
		fill_checked(w, n, slot_b, NSLOTS);
		moved = others_moved(r);
		assert_true(moved <= MOVE_BOUND);
		st->change_sum += moved;
		if (moved > st->change_max)
			st->change_max = moved;
		w[r] = keep;
		st->runs++;
	}
}

static void print_moves(const char *what, unsigned int n,
			const struct move_stats *st)
{
	printf("  %s n=%2u: others' slots moved on removal avg %.1f max %u; "
	       "on doubling avg %.1f max %u (bound %u of %u)\n",
	       what, n, st->removal_sum / st->runs, st->removal_max,
	       st->change_sum / st->runs, st->change_max, MOVE_BOUND, NSLOTS);
}

static void test_removal_equal(void **state)
{
	static const unsigned int ns[] = { 2, 3, 4, 8, 16, 32 };
	uint32_t w[NREGIONS];
	unsigned int t, r;

	(void)state;
	for (t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
		struct move_stats st = { 0 };

		for (r = 0; r < ns[t]; r++)
			w[r] = 1;
		measure_moves(w, ns[t], &st);
		print_moves("equal ", ns[t], &st);
		if (ns[t] == 2)
			assert_int_equal(st.removal_max, 0);
	}
}

static void test_removal_random(void **state)
{
	static const unsigned int ns[] = { 4, 8, 16, 32 };
	uint32_t w[NREGIONS];
	unsigned int t, trial, r;

	(void)state;
	for (t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
		struct move_stats st = { 0 };

		for (trial = 0; trial < 25; trial++) {
			for (r = 0; r < ns[t]; r++)
				w[r] = 1 + hash64_pair(trial, r) % 100;
			measure_moves(w, ns[t], &st);
		}
		print_moves("random", ns[t], &st);
	}
}

/* A region at weight 0 and a region left out are the same thing. */
static void test_zero_is_absent(void **state)
{
	uint32_t w[] = { 3, 5, 2, 0 };

	(void)state;
	fill_checked(w, 4, slot_a, NSLOTS);
	fill_checked(w, 3, slot_b, NSLOTS);
	assert_memory_equal(slot_a, slot_b, NSLOTS);
}

static uint64_t slots_digest(const uint8_t *slot, unsigned int nslots)
{
	uint64_t h = nslots;
	unsigned int s;

	for (s = 0; s < nslots; s++)
		h = hash64_pair(h, slot[s]);
	return h;
}

/*
 * Edges on different builds must agree on region tables: pin one. If this
 * changes on purpose, every edge must be upgraded before tables mix.
 */
#define GOLDEN_SLOTS_DIGEST 0xd74df1da4eb931b2ull

static void test_determinism(void **state)
{
	static const uint32_t w[] = { 50, 30, 0, 15, 5 };

	(void)state;
	fill_checked(w, 5, slot_a, NSLOTS);
	memset(slot_b, 0x77, sizeof(slot_b));
	fill_checked(w, 5, slot_b, NSLOTS);
	assert_memory_equal(slot_a, slot_b, NSLOTS);
	printf("  golden slots head %u %u %u %u %u %u %u %u\n", slot_a[0],
	       slot_a[1], slot_a[2], slot_a[3], slot_a[4], slot_a[5],
	       slot_a[6], slot_a[7]);
	assert_int_equal(slots_digest(slot_a, NSLOTS), GOLDEN_SLOTS_DIGEST);
}

static void test_errors(void **state)
{
	static const uint32_t w[NREGIONS + 1] = { 1, 1 };
	uint8_t before[NSLOTS];

	(void)state;
	memset(slot_a, 0x42, sizeof(slot_a));
	memcpy(before, slot_a, sizeof(before));
	assert_int_equal(weighted_slots_fill(NULL, 2, slot_a, NSLOTS), -EINVAL);
	assert_int_equal(weighted_slots_fill(w, 2, NULL, NSLOTS), -EINVAL);
	assert_int_equal(weighted_slots_fill(w, NREGIONS + 1, slot_a, NSLOTS),
			 -EINVAL);
	assert_int_equal(weighted_slots_fill(w, 2, slot_a, 0), -EINVAL);
	assert_int_equal(weighted_slots_fill(w, 2, slot_a, MAGLEV_FILL_MAX + 1),
			 -EINVAL);
	assert_memory_equal(slot_a, before, NSLOTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_canary),
		cmocka_unit_test(test_zero_weights),
		cmocka_unit_test(test_removal_equal),
		cmocka_unit_test(test_removal_random),
		cmocka_unit_test(test_zero_is_absent),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_errors),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("%d passed, %d failed\n", total - failed, failed);
	return failed ? 1 : 0;
}
