// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Rise/fall hysteresis; the rules are in health_fsm.h. */
#include <stdint.h>

#include "health_fsm.h"

static uint32_t at_least_one(uint32_t v)
{
	return v ? v : 1;
}

static uint32_t saturating_inc(uint32_t v)
{
	return v == UINT32_MAX ? v : v + 1;
}

void health_fsm_init(struct health_fsm *f, uint32_t rise, uint32_t fall,
		     enum health_state initial)
{
	f->state = initial;
	f->rise = at_least_one(rise);
	f->fall = at_least_one(fall);
	f->successes = 0;
	f->failures = 0;
}

void health_fsm_set_thresholds(struct health_fsm *f, uint32_t rise,
			       uint32_t fall)
{
	f->rise = at_least_one(rise);
	f->fall = at_least_one(fall);
}

static enum health_event on_success(struct health_fsm *f)
{
	f->failures = 0;
	f->successes = saturating_inc(f->successes);
	if (f->state == HEALTH_UP || f->successes < f->rise)
		return HEALTH_EV_NONE;
	f->state = HEALTH_UP;
	return HEALTH_EV_UP;
}

static enum health_event on_failure(struct health_fsm *f)
{
	f->successes = 0;
	f->failures = saturating_inc(f->failures);
	if (f->state == HEALTH_DOWN)
		return HEALTH_EV_NONE;
	if (f->state == HEALTH_UP && f->failures < f->fall)
		return HEALTH_EV_NONE;
	f->state = HEALTH_DOWN;
	return HEALTH_EV_DOWN;
}

enum health_event health_fsm_observe(struct health_fsm *f, bool ok)
{
	return ok ? on_success(f) : on_failure(f);
}

bool health_fsm_is_up(const struct health_fsm *f)
{
	return f->state == HEALTH_UP;
}

const char *health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_UNKNOWN:
		return "unknown";
	case HEALTH_DOWN:
		return "down";
	case HEALTH_UP:
		return "up";
	}
	return "invalid";
}

const char *health_event_name(enum health_event e)
{
	switch (e) {
	case HEALTH_EV_NONE:
		return "none";
	case HEALTH_EV_UP:
		return "up";
	case HEALTH_EV_DOWN:
		return "down";
	}
	return "invalid";
}
