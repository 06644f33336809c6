/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Rise/fall hysteresis for one backend: probe results in, up/down
 * transitions out. Pure: no clock, no I/O, no allocation.
 *
 * Initial state is the caller's choice:
 *   HEALTH_UNKNOWN  a fresh daemon. Not up (no traffic to an unverified
 *                   backend). `rise` consecutive successes make it UP; the
 *                   first failure makes it DOWN at once, because nothing
 *                   is being served that hysteresis could protect, and a
 *                   definite verdict helps the operator.
 *   HEALTH_UP       a restarted daemon adopting pinned maps in which the
 *                   backend serves: it takes the full `fall` failures to
 *                   go down, so a restart never flaps healthy backends.
 *   HEALTH_DOWN     adopted as not serving: needs `rise` successes.
 * Counters start at zero in every case.
 *
 * A success clears the failure streak and a failure clears the success
 * streak, so only consecutive results count. rise and fall of 0 mean 1.
 */
#ifndef MERIDIAN_HEALTH_FSM_H
#define MERIDIAN_HEALTH_FSM_H

#include <stdbool.h>
#include <stdint.h>

enum health_state {
	HEALTH_UNKNOWN,
	HEALTH_DOWN,
	HEALTH_UP,
};

enum health_event {
	HEALTH_EV_NONE, /* state unchanged */
	HEALTH_EV_UP, /* became UP (from DOWN or UNKNOWN) */
	HEALTH_EV_DOWN, /* became DOWN (from UP or UNKNOWN) */
};

struct health_fsm {
	enum health_state state;
	uint32_t rise;
	uint32_t fall;
	uint32_t successes; /* consecutive, saturating */
	uint32_t failures; /* consecutive, saturating */
};

void health_fsm_init(struct health_fsm *f, uint32_t rise, uint32_t fall,
		     enum health_state initial);

/*
 * New thresholds (config reload) keep the state and the streaks; a streak
 * that already meets a lowered threshold acts on the next result.
 */
void health_fsm_set_thresholds(struct health_fsm *f, uint32_t rise,
			       uint32_t fall);

/* Feeds one probe result; returns the transition it caused, if any. */
enum health_event health_fsm_observe(struct health_fsm *f, bool ok);

/* Only UP carries traffic; UNKNOWN counts as not up. */
bool health_fsm_is_up(const struct health_fsm *f);

const char *health_state_name(enum health_state s);
const char *health_event_name(enum health_event e);

#endif /* MERIDIAN_HEALTH_FSM_H */
