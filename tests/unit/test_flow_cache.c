// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the flow cache's set operations (bpf/flow_cache.h), on
 * hand-built sets: the same code the edge runs, compiled here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wunused-variable"
#include "../../bpf/flow_cache.h"
#pragma GCC diagnostic pop

static struct meridian_flow_set set;

static struct meridian_flow_key key_of(uint16_t sport)
{
	struct meridian_flow_key k = { .sport = sport, .dport = 80,
				       .proto = 6, .family = 4 };

	k.src[0] = 0x0a12c6u;
	k.dst[0] = 0x0132c6u;
	return k;
}

/* Fills way w with a published flow. */
static void put(int w, uint16_t sport, uint32_t hash, uint32_t stamp)
{
	struct meridian_flow_key k = key_of(sport);

	assert_int_equal(flow_write(&set, w, set.tag[w], &k, hash, 100 + w,
				    stamp & ~FLOW_STAMP_HIT, 0),
			 0);
	set.stamp[w] = stamp;
}

static void test_age_clamps_a_stamp_ahead(void **state)
{
	(void)state;
	assert_int_equal(flow_age(1002, 1003), 0);
	assert_int_equal(flow_age(1003, 1005), 0);
	assert_int_equal(flow_age(1100, 1000), 100);
	/* The low 32 bits of jiffies wrap: still the right age. */
	assert_int_equal(flow_age(10, 0xfffffff0u), 26);
}

/* The freshest way, stamped a jiffy past our now, is not the victim. */
static void test_victim_is_least_recent(void **state)
{
	__u64 tag;

	(void)state;
	memset(&set, 0, sizeof(set));
	put(0, 1, 11, 900 | FLOW_STAMP_HIT);
	put(1, 2, 12, 950 | FLOW_STAMP_HIT);
	put(2, 3, 13, 1000 | FLOW_STAMP_HIT);
	put(3, 4, 14, 1003 | FLOW_STAMP_HIT);
	assert_int_equal(flow_victim(&set, 1001, &tag), 0);
	assert_int_equal(tag, set.tag[0]);
}

/* Never-hit flows go first, oldest first; an empty way before all. */
static void test_victim_order(void **state)
{
	__u64 tag;

	(void)state;
	memset(&set, 0, sizeof(set));
	put(0, 1, 11, 500 | FLOW_STAMP_HIT);
	put(1, 2, 12, 800);
	put(2, 3, 13, 700);
	assert_int_equal(flow_victim(&set, 1000, &tag), 3);
	put(3, 4, 14, 600 | FLOW_STAMP_HIT);
	assert_int_equal(flow_victim(&set, 1000, &tag), 2);
}

static void test_find_and_busy(void **state)
{
	struct meridian_flow_key k = key_of(2), other = key_of(9);
	__u32 backend = 0;
	__u64 tag = 0;

	(void)state;
	memset(&set, 0, sizeof(set));
	put(0, 1, 11, 100);
	put(1, 2, 12, 100);
	assert_int_equal(flow_find(&set, &k, 12, &tag, &backend), 1);
	assert_int_equal(backend, 101);
	assert_int_equal(tag, set.tag[1]);
	assert_int_equal(flow_find(&set, &other, 12, &tag, &backend), -1);
	/* A way being written is neither found nor chosen. */
	set.tag[1] |= MERIDIAN_FLOW_TAG_BUSY;
	assert_int_equal(flow_find(&set, &k, 12, &tag, &backend), -1);
	set.tag[2] = set.tag[3] = MERIDIAN_FLOW_TAG_BUSY;
	assert_int_equal(flow_victim(&set, 200, &tag), 0);
}

/* A write with a stale tag loses; a publish moves the generation on. */
static void test_write_claims(void **state)
{
	struct meridian_flow_key k = key_of(7);
	__u64 before;

	(void)state;
	memset(&set, 0, sizeof(set));
	put(0, 1, 11, 100);
	before = set.tag[0];
	assert_int_equal(flow_write(&set, 0, 0, &k, 21, 5, 100, 0), -1);
	assert_int_equal(set.tag[0], before);
	assert_int_equal(flow_write(&set, 0, before, &k, 21, 5, 100, 0), 0);
	assert_true(set.tag[0] >> MERIDIAN_FLOW_TAG_GEN_SHIFT >
		    before >> MERIDIAN_FLOW_TAG_GEN_SHIFT);
}

/* A touch marks the way hit only while it still holds the flow found. */
static void test_touch_needs_same_tag(void **state)
{
	__u64 found;

	(void)state;
	memset(&set, 0, sizeof(set));
	put(0, 1, 11, 100);
	found = set.tag[0];
	put(0, 2, 12, 100); /* another CPU replaced it */
	flow_touch(&set, 0, found, 102);
	assert_int_equal(set.stamp[0] & FLOW_STAMP_HIT, 0);
	flow_touch(&set, 0, set.tag[0], 102);
	assert_int_equal(set.stamp[0], 102 | FLOW_STAMP_HIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age_clamps_a_stamp_ahead),
		cmocka_unit_test(test_victim_is_least_recent),
		cmocka_unit_test(test_victim_order),
		cmocka_unit_test(test_find_and_busy),
		cmocka_unit_test(test_write_claims),
		cmocka_unit_test(test_touch_needs_same_tag),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("%d passed, %d failed\n", total - failed, failed);
	return failed ? 1 : 0;
}
