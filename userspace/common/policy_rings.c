// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maglev rings, one per region that some VIP uses. Every VIP uses every
 * backend of a region (the model has no per-VIP backend list), so a ring's
 * identity, the region plus its configured backends and weights, is the
 * same for all of them and they share the ring.
 *
 * The ring size follows the configured backend count, not the live one: a
 * backend going down then frees only its own slots instead of resizing the
 * ring and moving most flows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash64.h"
#include "maglev.h"
#include "policy_internal.h"

/* Part of the table contract: changing them moves every flow. */
#define RING_SEED_BACKEND 0x6d2d626b656e6400ull /* "m-bkend" */
#define RING_SEED_IDENTITY 0x6d2d72696e670000ull /* "m-ring" */

static bool region_used(const struct policy_input *in, uint32_t r)
{
	const struct model *m = in->model;
	uint32_t v;

	for (v = 0; v < m->n_vips; v++) {
		if (policy_vip_weight(in, &m->vips[v], r))
			return true;
	}
	return false;
}

/* Where a flow lands depends only on the address, not the id or order. */
static uint64_t backend_key(const struct model_backend *b)
{
	return hash64_bytes(b->addr.bytes, sizeof(b->addr.bytes),
			    RING_SEED_BACKEND ^ b->addr.family);
}

/*
 * The configured backends of region r, ascending by id, with their
 * effective weights (configured x drain, 0 when down). Returns the count;
 * *identity and *live (sum of effective weights) describe the set.
 */
static uint32_t collect_backends(const struct policy_input *in, uint32_t r,
				 struct maglev_backend *mb, uint64_t *identity,
				 uint64_t *live)
{
	const struct model *m = in->model;
	uint32_t i, n = 0, w;

	*identity = hash64_pair(RING_SEED_IDENTITY, r);
	*live = 0;
	for (i = 0; i < m->n_backends; i++) {
		if (m->backends[i].region != r)
			continue;
		w = policy_backend_weight(&m->backends[i]);
		if (!w)
			continue;
		*identity = hash64_pair(hash64_pair(*identity, i), w);
		mb[n].key = backend_key(&m->backends[i]);
		mb[n].id = i;
		mb[n].weight = 0;
		/* Scaled by 1000, not divided: a drained weight 1 stays > 0. */
		if (in->backend_up[i])
			mb[n].weight =
				w * policy_permille(in->backend_permille, i);
		*live += mb[n].weight;
		n++;
	}
	return n;
}

static int build_ring(const struct policy_input *in, uint32_t r,
		      struct maglev_backend *mb, struct desired_ring *ring)
{
	uint64_t live;
	uint32_t n;

	n = collect_backends(in, r, mb, &ring->identity, &live);
	if (!n)
		return -ENOENT;
	if (!live)
		return 0; /* no healthy capacity: an empty ring */
	ring->size = maglev_ring_size(n);
	ring->slots = malloc((size_t)ring->size * sizeof(*ring->slots));
	if (!ring->slots)
		return -ENOMEM;
	return maglev_build(mb, n, ring->slots, ring->size);
}

int policy_build_rings(const struct policy_input *in, struct policy_regions *pr,
		       struct desired *out)
{
	struct maglev_backend *mb;
	uint32_t r;
	int err = 0;

	out->rings = calloc(pr->n ? pr->n : 1, sizeof(*out->rings));
	mb = calloc(in->model->n_backends ? in->model->n_backends : 1,
		    sizeof(*mb));
	if (!out->rings || !mb) {
		err = -ENOMEM;
		goto out;
	}
	for (r = 0; r < pr->n; r++) {
		struct desired_ring *ring = &out->rings[out->n_rings];

		if (!region_used(in, r))
			continue;
		err = build_ring(in, r, mb, ring);
		if (err == -ENOENT) {
			err = 0; /* no backends configured there: no ring */
			memset(ring, 0, sizeof(*ring));
			continue;
		}
		out->n_rings++;
		if (err)
			goto out;
		if (ring->size)
			pr->ring[r] = out->n_rings - 1;
	}
out:
	free(mb);
	return err;
}
