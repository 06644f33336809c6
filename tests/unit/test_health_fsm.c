// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the rise/fall machine (userspace/common/health_fsm.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "health_fsm.h"

/*
 * Feeds a result string ('+' success, '-' failure) and returns the
 * events as a string ('U' up, 'D' down, '.' none), one per result.
 */
static const char *feed(struct health_fsm *f, const char *results)
{
	static char events[128];
	size_t i;

	for (i = 0; results[i] && i < sizeof(events) - 1; i++) {
		switch (health_fsm_observe(f, results[i] == '+')) {
		case HEALTH_EV_UP:
			events[i] = 'U';
			break;
		case HEALTH_EV_DOWN:
			events[i] = 'D';
			break;
		default:
			events[i] = '.';
		}
	}
	events[i] = '\0';
	return events;
}

static void test_unknown_rises(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 3, HEALTH_UNKNOWN);
	assert_false(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "+"), ".");
	assert_int_equal(f.state, HEALTH_UNKNOWN);
	assert_false(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "+"), "U");
	assert_true(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "++++"), "....");
}

static void test_unknown_first_failure_is_down(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 3, HEALTH_UNKNOWN);
	assert_string_equal(feed(&f, "-"), "D");
	assert_int_equal(f.state, HEALTH_DOWN);
	assert_false(health_fsm_is_up(&f));
	/* A success streak interrupted before rise restarts from zero. */
	health_fsm_init(&f, 3, 3, HEALTH_UNKNOWN);
	assert_string_equal(feed(&f, "++-+++"), "..D..U");
}

static void test_up_falls_after_fall(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 3, HEALTH_UP);
	assert_true(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "--"), "..");
	assert_true(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "-"), "D");
	assert_false(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "---"), "...");
}

static void test_down_rises_after_rise(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 3, HEALTH_DOWN);
	assert_false(health_fsm_is_up(&f));
	assert_string_equal(feed(&f, "+-+-+-"), "......");
	assert_string_equal(feed(&f, "++"), ".U");
}

static void test_hysteresis(void **state)
{
	struct health_fsm f;

	(void)state;
	/* Alternating results never move a settled backend either way. */
	health_fsm_init(&f, 2, 3, HEALTH_UP);
	assert_string_equal(feed(&f, "--+--+--+-+-+"), ".............");
	assert_true(health_fsm_is_up(&f));
	health_fsm_init(&f, 2, 3, HEALTH_DOWN);
	assert_string_equal(feed(&f, "+-+-+-+-+-+-"), "............");
	assert_false(health_fsm_is_up(&f));
	/* A full cycle: down after 3, up after 2, down after 3 again. */
	health_fsm_init(&f, 2, 3, HEALTH_UP);
	assert_string_equal(feed(&f, "+---++---"), "...D.U..D");
}

static void test_counters(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 3, HEALTH_UP);
	feed(&f, "++-");
	assert_int_equal(f.successes, 0);
	assert_int_equal(f.failures, 1);
	feed(&f, "+");
	assert_int_equal(f.successes, 1);
	assert_int_equal(f.failures, 0);
	f.successes = UINT32_MAX;
	feed(&f, "+");
	assert_int_equal(f.successes, UINT32_MAX);
}

static void test_zero_thresholds_mean_one(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 0, 0, HEALTH_UP);
	assert_int_equal(f.rise, 1);
	assert_int_equal(f.fall, 1);
	assert_string_equal(feed(&f, "-+-+"), "DUDU");
}

static void test_rise_fall_one(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 1, 1, HEALTH_UNKNOWN);
	assert_string_equal(feed(&f, "+"), "U");
	health_fsm_init(&f, 1, 1, HEALTH_UNKNOWN);
	assert_string_equal(feed(&f, "-+"), "DU");
}

static void test_set_thresholds_keeps_state(void **state)
{
	struct health_fsm f;

	(void)state;
	health_fsm_init(&f, 2, 5, HEALTH_UP);
	assert_string_equal(feed(&f, "---"), "...");
	/* Lowered fall: the streak of 3 already meets it; acts on the next. */
	health_fsm_set_thresholds(&f, 2, 2);
	assert_int_equal(f.state, HEALTH_UP);
	assert_int_equal(f.failures, 3);
	assert_string_equal(feed(&f, "-"), "D");
	/* Raised rise: the streak continues towards the new threshold. */
	assert_string_equal(feed(&f, "+"), ".");
	health_fsm_set_thresholds(&f, 4, 2);
	assert_string_equal(feed(&f, "++"), "..");
	assert_string_equal(feed(&f, "+"), "U");
	health_fsm_set_thresholds(&f, 0, 0);
	assert_int_equal(f.rise, 1);
	assert_int_equal(f.fall, 1);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(health_state_name(HEALTH_UNKNOWN), "unknown");
	assert_string_equal(health_state_name(HEALTH_DOWN), "down");
	assert_string_equal(health_state_name(HEALTH_UP), "up");
	assert_string_equal(health_state_name((enum health_state)99),
			    "invalid");
	assert_string_equal(health_event_name(HEALTH_EV_NONE), "none");
	assert_string_equal(health_event_name(HEALTH_EV_UP), "up");
	assert_string_equal(health_event_name(HEALTH_EV_DOWN), "down");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_rises),
		cmocka_unit_test(test_unknown_first_failure_is_down),
		cmocka_unit_test(test_up_falls_after_fall),
		cmocka_unit_test(test_down_rises_after_rise),
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_zero_thresholds_mean_one),
		cmocka_unit_test(test_rise_fall_one),
		cmocka_unit_test(test_set_thresholds_keeps_state),
		cmocka_unit_test(test_names),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("%d passed, %d failed\n", total - failed, failed);
	return failed ? 1 : 0;
}
