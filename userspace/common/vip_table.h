/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Images of the VIP-address prefilter tables (meridian_vip_addrs4/6), laid
 * out exactly as the data plane searches them: open addressing, an address
 * in one of MERIDIAN_VIP_ADDR_PROBES slots from its home slot. Pure: the
 * reconciler builds whole tables here (puts in address order, so equal
 * contents give byte-identical images) and swaps them in; the map
 * accessors use the same search. An image holds MERIDIAN_VIP_ADDR_SLOTS slots.
 */
#ifndef MERIDIAN_VIP_TABLE_H
#define MERIDIAN_VIP_TABLE_H

#include <stdint.h>

#include "meridian_maps.h"

/* The slot holding addr, or -ENOENT. */
int vip_table4_find(const struct meridian_vip_addr_slot4 *slots, __u32 addr);
int vip_table6_find(const struct meridian_vip_addr_slot6 *slots,
		    const __u32 addr[4]);

/*
 * Writes va as addr's entry: in its slot if it has one, else in the first
 * free slot of its probe run. 0, or -ENOSPC when the run is full.
 */
int vip_table4_put(struct meridian_vip_addr_slot4 *slots, __u32 addr,
		   const struct meridian_vip_addr *va);
int vip_table6_put(struct meridian_vip_addr_slot6 *slots, const __u32 addr[4],
		   const struct meridian_vip_addr *va);

/*
 * Takes addr's entry out. Later entries of the same run may depend on its
 * slot being used, so the run is put back together: 0 or -ENOENT.
 */
int vip_table4_remove(struct meridian_vip_addr_slot4 *slots, __u32 addr);
int vip_table6_remove(struct meridian_vip_addr_slot6 *slots,
		      const __u32 addr[4]);

#endif /* MERIDIAN_VIP_TABLE_H */
