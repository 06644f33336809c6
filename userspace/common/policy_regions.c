// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Region weights for a region table: locality tiers with Envoy-style
 * priority spill, region drains, and residency. Integer math only.
 *
 * A tier's health is h = min(1, factor * healthy) where healthy is the
 * VIP-weighted average of its regions' healthy fractions (a drained region
 * counts as unhealthy in proportion to its drain). The preferred tier takes
 * h of the traffic, the next min(1 - taken, h'), and so on; what is left
 * over is spread over the tiers that took something, in proportion. A
 * drain is a deliberate ramp, not a failure, so it does not borrow the
 * overprovisioning headroom: a tier never takes more than its undrained
 * fraction, and a region alone in its tier drained to p keeps p of the
 * traffic while the next tier can take the rest.
 */
#include <string.h>

#include "policy_internal.h"

uint32_t policy_vip_weight(const struct policy_input *in,
			   const struct model_vip *vip, uint32_t r)
{
	uint32_t w = vip->region_weight[r];

	if (in->region_weight_override &&
	    in->region_weight_override[r] != POLICY_WEIGHT_NONE)
		w = in->region_weight_override[r];
	return w < POLICY_WEIGHT_MAX ? w : POLICY_WEIGHT_MAX;
}

uint32_t policy_permille(const uint32_t *permille, uint32_t i)
{
	if (!permille)
		return POLICY_PERMILLE;
	return permille[i] < POLICY_PERMILLE ? permille[i] : POLICY_PERMILLE;
}

uint32_t policy_backend_weight(const struct model_backend *b)
{
	return b->weight < POLICY_WEIGHT_MAX ? b->weight : POLICY_WEIGHT_MAX;
}

/* Decided once per build, so the double never enters the table math. */
static uint32_t factor_milli(double factor)
{
	if (!(factor > 0))
		factor = POLICY_OVERPROVISIONING_DEFAULT;
	if (factor > 1000)
		factor = 1000;
	return (uint32_t)(factor * 1000 + 0.5);
}

static void region_capacity(const struct policy_input *in,
			    struct policy_regions *pr)
{
	const struct model *m = in->model;
	uint64_t configured[MERIDIAN_MAX_REGIONS] = { 0 };
	uint64_t effective[MERIDIAN_MAX_REGIONS] = { 0 };
	uint32_t i, r;

	for (i = 0; i < m->n_backends; i++) {
		const struct model_backend *b = &m->backends[i];
		uint64_t w = policy_backend_weight(b);

		configured[b->region] += w * POLICY_PERMILLE;
		if (in->backend_up[i])
			effective[b->region] +=
				w * policy_permille(in->backend_permille, i);
	}
	for (r = 0; r < pr->n; r++)
		pr->healthy_ppm[r] = configured[r] ? effective[r] * POLICY_PPM /
							     configured[r]
						   : 0;
}

void policy_regions_init(const struct policy_input *in,
			 struct policy_regions *pr)
{
	const struct model *m = in->model;
	uint32_t r;

	memset(pr, 0, sizeof(*pr));
	pr->n = m->n_regions;
	pr->factor_milli = factor_milli(m->edge.overprovisioning);
	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++)
		pr->ring[r] = MERIDIAN_RING_NONE;
	for (r = 0; r < pr->n; r++) {
		pr->tier[r] = m->regions[r].tier;
		pr->permille[r] = policy_permille(in->region_permille, r);
	}
	region_capacity(in, pr);
}

/* Regions of the mask in (tier, index) order. */
static uint32_t sort_by_tier(const struct policy_regions *pr, uint32_t mask,
			     uint32_t *idx)
{
	uint32_t n = 0, r, i;

	for (r = 0; r < pr->n; r++) {
		if (!(mask & (1u << r)))
			continue;
		/* Index order already holds within a tier: insert after. */
		for (i = n; i > 0 && pr->tier[idx[i - 1]] > pr->tier[r]; i--)
			idx[i] = idx[i - 1];
		idx[i] = r;
		n++;
	}
	return n;
}

/* What a region brings to its tier: VIP weight x drain x health. */
static uint64_t region_share(const struct policy_regions *pr,
			     const uint32_t *vw, uint32_t r)
{
	return (uint64_t)vw[r] * pr->permille[r] * pr->healthy_ppm[r];
}

/* h of the tier idx[0..n-1], in ppm. */
static uint64_t tier_health(const struct policy_regions *pr, const uint32_t *vw,
			    const uint32_t *idx, uint32_t n)
{
	uint64_t vip = 0, undrained = 0, healthy = 0, h, cap;
	uint32_t i;

	for (i = 0; i < n; i++) {
		vip += vw[idx[i]];
		undrained += (uint64_t)vw[idx[i]] * pr->permille[idx[i]];
		healthy += region_share(pr, vw, idx[i]);
	}
	if (!vip)
		return 0;
	cap = undrained * (POLICY_PPM / POLICY_PERMILLE) / vip;
	h = healthy / (vip * POLICY_PERMILLE) * pr->factor_milli /
	    POLICY_PERMILLE;
	return h < cap ? h : cap;
}

struct tier_take {
	uint32_t first, count; /* a run of the tier-sorted index */
	uint64_t take; /* ppm of the traffic */
};

/* Walks the tiers in preference order; returns the total taken (ppm). */
static uint64_t take_by_tier(const struct policy_regions *pr,
			     const uint32_t *vw, const uint32_t *idx,
			     uint32_t n, struct tier_take *t, uint32_t *nt)
{
	uint64_t taken = 0, h;
	uint32_t i = 0, j;

	*nt = 0;
	while (i < n && taken < POLICY_PPM) {
		for (j = i + 1; j < n && pr->tier[idx[j]] == pr->tier[idx[i]];
		     j++)
			;
		h = tier_health(pr, vw, idx + i, j - i);
		if (h > POLICY_PPM - taken)
			h = POLICY_PPM - taken;
		t[*nt].first = i;
		t[*nt].count = j - i;
		t[*nt].take = h;
		(*nt)++;
		taken += h;
		i = j;
	}
	return taken;
}

/*
 * Within a tier, split by VIP weight x drain x health; across tiers,
 * normalize by the total taken, so traffic goes where it can.
 */
static void spread(const struct policy_regions *pr, const uint32_t *vw,
		   const uint32_t *idx, const struct tier_take *t, uint32_t nt,
		   uint64_t taken, uint32_t *weight)
{
	uint32_t k, i;

	for (k = 0; k < nt; k++) {
		const uint32_t *tier = idx + t[k].first;
		unsigned __int128 sum = 0;

		for (i = 0; i < t[k].count; i++)
			sum += region_share(pr, vw, tier[i]);
		if (!t[k].take || !sum)
			continue;
		for (i = 0; i < t[k].count; i++)
			weight[tier[i]] =
				(uint32_t)((unsigned __int128)t[k].take *
					   region_share(pr, vw, tier[i]) *
					   POLICY_PPM / (sum * taken));
	}
}

static bool tier_weights(const struct policy_regions *pr, const uint32_t *vw,
			 uint32_t mask, uint32_t *weight)
{
	uint32_t idx[MERIDIAN_MAX_REGIONS], n, nt;
	struct tier_take t[MERIDIAN_MAX_REGIONS];
	uint64_t taken;

	n = sort_by_tier(pr, mask, idx);
	taken = take_by_tier(pr, vw, idx, n, t, &nt);
	if (!taken)
		return false;
	spread(pr, vw, idx, t, nt, taken, weight);
	return true;
}

bool policy_region_weights(const struct policy_regions *pr, const uint32_t *vw,
			   uint32_t allowed, bool strict, uint32_t *weight)
{
	uint32_t all = pr->n >= 32 ? UINT32_MAX : (1u << pr->n) - 1;
	uint32_t used = 0, r;

	memset(weight, 0, pr->n * sizeof(*weight));
	for (r = 0; r < pr->n; r++) {
		if (vw[r])
			used |= 1u << r;
	}
	if (!allowed)
		allowed = all;
	if (tier_weights(pr, vw, used & allowed, weight))
		return true;
	/* Residency: a non-strict class leaves its set only when it must. */
	if (strict)
		return false;
	return tier_weights(pr, vw, used & ~allowed & all, weight);
}
