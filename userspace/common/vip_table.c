// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "vip_table.h"

#define SLOT_MASK (MERIDIAN_VIP_ADDR_SLOTS - 1)

static uint32_t probe_slot(uint32_t home, uint32_t i)
{
	return (home + i) & SLOT_MASK;
}

int vip_table4_find(const struct meridian_vip_addr_slot4 *slots, __u32 addr)
{
	uint32_t home = meridian_vip_addr_home4(addr), i, s;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		s = probe_slot(home, i);
		if (!slots[s].used)
			break;
		if (slots[s].addr == addr)
			return (int)s;
	}
	return -ENOENT;
}

int vip_table6_find(const struct meridian_vip_addr_slot6 *slots,
		    const __u32 addr[4])
{
	uint32_t home = meridian_vip_addr_home6(addr), i, s;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		s = probe_slot(home, i);
		if (!slots[s].used)
			break;
		if (!memcmp(slots[s].addr, addr, sizeof(slots[s].addr)))
			return (int)s;
	}
	return -ENOENT;
}

int vip_table4_put(struct meridian_vip_addr_slot4 *slots, __u32 addr,
		   const struct meridian_vip_addr *va)
{
	uint32_t home = meridian_vip_addr_home4(addr), i, s;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		s = probe_slot(home, i);
		if (slots[s].used && slots[s].addr != addr)
			continue;
		slots[s].addr = addr;
		slots[s].used = 1;
		slots[s].va = *va;
		return 0;
	}
	return -ENOSPC;
}

int vip_table6_put(struct meridian_vip_addr_slot6 *slots, const __u32 addr[4],
		   const struct meridian_vip_addr *va)
{
	uint32_t home = meridian_vip_addr_home6(addr), i, s;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		s = probe_slot(home, i);
		if (slots[s].used &&
		    memcmp(slots[s].addr, addr, sizeof(slots[s].addr)))
			continue;
		memcpy(slots[s].addr, addr, sizeof(slots[s].addr));
		slots[s].used = 1;
		slots[s].va = *va;
		return 0;
	}
	return -ENOSPC;
}

/*
 * The entries after a freed slot, up to the next empty one, may have
 * probed past it: take each out and put it back, which finds the first
 * free slot of its own run again.
 */
static void rehome4(struct meridian_vip_addr_slot4 *slots, uint32_t freed)
{
	struct meridian_vip_addr_slot4 moved;
	uint32_t i, s;

	for (i = 1; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		s = probe_slot(freed, i);
		if (!slots[s].used)
			return;
		moved = slots[s];
		memset(&slots[s], 0, sizeof(slots[s]));
		/* It fitted before, with this slot or an earlier one free. */
		vip_table4_put(slots, moved.addr, &moved.va);
	}
}

static void rehome6(struct meridian_vip_addr_slot6 *slots, uint32_t freed)
{
	struct meridian_vip_addr_slot6 moved;
	uint32_t i, s;

	for (i = 1; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		s = probe_slot(freed, i);
		if (!slots[s].used)
			return;
		moved = slots[s];
		memset(&slots[s], 0, sizeof(slots[s]));
		vip_table6_put(slots, moved.addr, &moved.va);
	}
}

int vip_table4_remove(struct meridian_vip_addr_slot4 *slots, __u32 addr)
{
	int s = vip_table4_find(slots, addr);

	if (s < 0)
		return s;
	memset(&slots[s], 0, sizeof(slots[s]));
	rehome4(slots, (uint32_t)s);
	return 0;
}

int vip_table6_remove(struct meridian_vip_addr_slot6 *slots,
		      const __u32 addr[4])
{
	int s = vip_table6_find(slots, addr);

	if (s < 0)
		return s;
	memset(&slots[s], 0, sizeof(slots[s]));
	rehome6(slots, (uint32_t)s);
	return 0;
}

int vip_table4_build(struct meridian_vip_addr_slot4 *slots,
		     const struct desired_vip_addr4 *e, uint32_t n)
{
	uint32_t i;
	int err;

	memset(slots, 0, MERIDIAN_VIP_ADDR_SLOTS * sizeof(*slots));
	for (i = 0; i < n; i++) {
		err = vip_table4_put(slots, e[i].key, &e[i].val);
		if (err)
			return err;
	}
	return 0;
}

int vip_table6_build(struct meridian_vip_addr_slot6 *slots,
		     const struct desired_vip_addr6 *e, uint32_t n)
{
	uint32_t i;
	int err;

	memset(slots, 0, MERIDIAN_VIP_ADDR_SLOTS * sizeof(*slots));
	for (i = 0; i < n; i++) {
		err = vip_table6_put(slots, e[i].key.addr, &e[i].val);
		if (err)
			return err;
	}
	return 0;
}
