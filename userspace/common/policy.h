/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Policy: model + health + operator overrides -> desired map contents.
 * Pure and deterministic: no I/O, no clock (time comes in as an argument),
 * no randomness.
 */
#ifndef MERIDIAN_POLICY_H
#define MERIDIAN_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "desired.h"
#include "model.h"

#define POLICY_WEIGHT_NONE UINT32_MAX /* no override */
#define POLICY_PERMILLE 1000

/* What the daemon knows beyond the model. */
struct policy_input {
	const struct model *model;
	const bool *backend_up; /* n_backends: health verdicts */
	/* Drain ramps, already evaluated at "now": 1000 full, 0 drained. */
	const uint32_t *backend_permille; /* n_backends */
	const uint32_t *region_permille; /* n_regions */
	/* meridianctl weight REGION N: replaces every VIP's weight there. */
	const uint32_t *region_weight_override; /* n_regions, or NONE */
	uint32_t generation;
};

/* Returns 0 or -ENOMEM / -EINVAL; on failure *out is empty. */
int policy_build(const struct policy_input *in, struct desired *out);

/*
 * Backend i's data-plane entry (its id is i): what policy_build() writes
 * for it, for a health flip that goes out ahead of the tables.
 */
void policy_backend_entry(const struct model *m, uint32_t i, bool up,
			  struct meridian_backend *out);

/*
 * A drain ramp evaluated at now_ms: from 1000 at start_ms down to 0 at
 * start_ms + over_ms, in steps (at most one per second and at least ten
 * over the ramp, so the share falls step by step). over_ms 0 is a cut.
 */
uint32_t policy_drain_permille(uint64_t start_ms, uint64_t over_ms,
			       uint64_t now_ms);

#endif /* MERIDIAN_POLICY_H */
