/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The desired contents of the edge maps: what policy builds from the model
 * and health, and what reconcile writes (only where it differs from what
 * is pinned). Plain data, deterministic: two edges with the same model and
 * the same health view build byte-identical desired states.
 */
#ifndef MERIDIAN_DESIRED_H
#define MERIDIAN_DESIRED_H

#include <stdint.h>

#include "meridian_maps.h"

struct desired_vip {
	struct meridian_vip_key key;
	struct meridian_vip val;
};

/* The VIP-address prefilter: derived from vips by vip_addrs_build(). */
struct desired_vip_addr4 {
	__u32 key; /* the IPv4 address, network order */
	struct meridian_vip_addr val;
};

struct desired_vip_addr6 {
	struct meridian_vip_addr6_key key;
	struct meridian_vip_addr val;
};

struct desired_class4 {
	struct meridian_lpm4_key key;
	struct meridian_class val;
};

struct desired_class6 {
	struct meridian_lpm6_key key;
	struct meridian_class val;
};

/*
 * A Maglev ring. Its identity is the region plus the configured backend
 * set (ids and configured weights), not health: VIPs served by the same
 * set share the ring, and a health change rewrites the ring in place.
 */
struct desired_ring {
	uint64_t identity;
	uint32_t size; /* entries in slots; 0: no backend up (no ring) */
	uint32_t *slots; /* backend ids */
};

/*
 * A region table. table.ring[r] holds an index into desired.rings (or
 * MERIDIAN_RING_NONE); reconcile maps indexes to ring ids in the map.
 */
struct desired_table {
	struct meridian_region_key key;
	struct meridian_region_table table;
};

struct desired {
	struct meridian_config config;
	struct desired_vip *vips;
	uint32_t n_vips;
	struct desired_vip_addr4 *vip_addrs4; /* sorted by address */
	uint32_t n_vip_addrs4;
	struct desired_vip_addr6 *vip_addrs6;
	uint32_t n_vip_addrs6;
	struct desired_class4 *classes4;
	uint32_t n_classes4;
	struct desired_class6 *classes6;
	uint32_t n_classes6;
	struct meridian_backend *backends; /* index = backend id */
	uint32_t n_backends;
	struct desired_ring *rings;
	uint32_t n_rings;
	struct desired_table *tables;
	uint32_t n_tables;
	uint32_t generation; /* stamped into every table written */
};

void desired_free(struct desired *d);

#endif /* MERIDIAN_DESIRED_H */
