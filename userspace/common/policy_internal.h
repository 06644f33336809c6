/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the policy builders (policy.c, policy_rings.c,
 * policy_regions.c, policy_tables.c). Not an interface for other code.
 */
#ifndef MERIDIAN_POLICY_INTERNAL_H
#define MERIDIAN_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "desired.h"
#include "policy.h"

/* Fractions are fixed point in parts per million: no floats, so every host
 * computes the same tables. */
#define POLICY_PPM 1000000ull
/* Largest weight the model allows (VIP region weights, backend weights). */
#define POLICY_WEIGHT_MAX 1000u
#define POLICY_OVERPROVISIONING_DEFAULT 1.4

/* What the table builder needs to know about every region. */
struct policy_regions {
	uint32_t n;
	uint32_t factor_milli; /* overprovisioning factor x 1000 */
	uint32_t tier[MERIDIAN_MAX_REGIONS];
	uint32_t permille[MERIDIAN_MAX_REGIONS]; /* region drain, <= 1000 */
	/* Sum of effective / sum of configured backend weights, in ppm. */
	uint64_t healthy_ppm[MERIDIAN_MAX_REGIONS];
	/* Index into desired.rings, RING_NONE without a non-empty ring. */
	uint16_t ring[MERIDIAN_MAX_REGIONS];
};

/* The weight of a VIP in region r after the operator override, <= 1000. */
uint32_t policy_vip_weight(const struct policy_input *in,
			   const struct model_vip *vip, uint32_t r);

/* permille[i] capped at 1000; 1000 when there is no array. */
uint32_t policy_permille(const uint32_t *permille, uint32_t i);
/* A backend's configured weight, capped at POLICY_WEIGHT_MAX. */
uint32_t policy_backend_weight(const struct model_backend *b);

/* Fills pr (except ring[]), from the model, health and drains. */
void policy_regions_init(const struct policy_input *in,
			 struct policy_regions *pr);

/*
 * Region weights for one (VIP, class), scaled to a total of POLICY_PPM
 * (rounded down), from the VIP's weights vw[] after override. false (all
 * weights 0) when no region may take the traffic.
 */
bool policy_region_weights(const struct policy_regions *pr, const uint32_t *vw,
			   uint32_t allowed, bool strict, uint32_t *weight);

int policy_build_rings(const struct policy_input *in, struct policy_regions *pr,
		       struct desired *out);
int policy_build_tables(const struct policy_input *in,
			const struct policy_regions *pr, struct desired *out);

#endif /* MERIDIAN_POLICY_INTERNAL_H */
