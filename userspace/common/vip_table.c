// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "vip_table.h"

#define SLOT_MASK (MERIDIAN_VIP_ADDR_SLOTS - 1)

/*
 * Both slot layouts are the address, then used, then the entry: one
 * implementation serves both families through this description.
 */
struct family {
	size_t slot_size;
	size_t addr_size;
	size_t used_off;
	size_t va_off;
	uint32_t (*home)(const void *addr);
};

static uint32_t home4(const void *addr)
{
	__u32 a;

	memcpy(&a, addr, sizeof(a));
	return meridian_vip_addr_home4(a);
}

static uint32_t home6(const void *addr)
{
	__u32 a[4];

	memcpy(a, addr, sizeof(a));
	return meridian_vip_addr_home6(a);
}

static const struct family fam4 = {
	.slot_size = sizeof(struct meridian_vip_addr_slot4),
	.addr_size = sizeof(__u32),
	.used_off = offsetof(struct meridian_vip_addr_slot4, used),
	.va_off = offsetof(struct meridian_vip_addr_slot4, va),
	.home = home4,
};

static const struct family fam6 = {
	.slot_size = sizeof(struct meridian_vip_addr_slot6),
	.addr_size = sizeof(__u32[4]),
	.used_off = offsetof(struct meridian_vip_addr_slot6, used),
	.va_off = offsetof(struct meridian_vip_addr_slot6, va),
	.home = home6,
};

static uint8_t *slot_at(const struct family *f, const void *slots, uint32_t i)
{
	return (uint8_t *)slots + (size_t)(i & SLOT_MASK) * f->slot_size;
}

static bool slot_used(const struct family *f, const uint8_t *slot)
{
	__u32 used;

	memcpy(&used, slot + f->used_off, sizeof(used));
	return used != 0;
}

static bool slot_holds(const struct family *f, const uint8_t *slot,
		       const void *addr)
{
	return slot_used(f, slot) && !memcmp(slot, addr, f->addr_size);
}

static int find(const struct family *f, const void *slots, const void *addr)
{
	uint32_t home = f->home(addr), i;
	const uint8_t *slot;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		slot = slot_at(f, slots, home + i);
		if (!slot_used(f, slot))
			break;
		if (slot_holds(f, slot, addr))
			return (int)((home + i) & SLOT_MASK);
	}
	return -ENOENT;
}

static int put(const struct family *f, void *slots, const void *addr,
	       const struct meridian_vip_addr *va)
{
	uint32_t home = f->home(addr), i, one = 1;
	uint8_t *slot;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		slot = slot_at(f, slots, home + i);
		if (slot_used(f, slot) && !slot_holds(f, slot, addr))
			continue;
		memcpy(slot, addr, f->addr_size);
		memcpy(slot + f->used_off, &one, sizeof(one));
		memcpy(slot + f->va_off, va, sizeof(*va));
		return 0;
	}
	return -ENOSPC;
}

/*
 * The entries after a freed slot, up to the next empty one, may have
 * probed past it: take each out and put it back, which finds the first
 * free slot of its own run again (it fitted before, so it fits now).
 */
static void rehome(const struct family *f, void *slots, uint32_t freed)
{
	uint8_t moved[sizeof(struct meridian_vip_addr_slot6)], *slot;
	struct meridian_vip_addr va;
	uint32_t i;

	for (i = 1; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		slot = slot_at(f, slots, freed + i);
		if (!slot_used(f, slot))
			return;
		memcpy(moved, slot, f->slot_size);
		memset(slot, 0, f->slot_size);
		memcpy(&va, moved + f->va_off, sizeof(va));
		put(f, slots, moved, &va);
	}
}

static int remove_addr(const struct family *f, void *slots, const void *addr)
{
	int s = find(f, slots, addr);

	if (s < 0)
		return s;
	memset(slot_at(f, slots, (uint32_t)s), 0, f->slot_size);
	rehome(f, slots, (uint32_t)s);
	return 0;
}

int vip_table4_find(const struct meridian_vip_addr_slot4 *slots, __u32 addr)
{
	return find(&fam4, slots, &addr);
}

int vip_table6_find(const struct meridian_vip_addr_slot6 *slots,
		    const __u32 addr[4])
{
	return find(&fam6, slots, addr);
}

int vip_table4_put(struct meridian_vip_addr_slot4 *slots, __u32 addr,
		   const struct meridian_vip_addr *va)
{
	return put(&fam4, slots, &addr, va);
}

int vip_table6_put(struct meridian_vip_addr_slot6 *slots, const __u32 addr[4],
		   const struct meridian_vip_addr *va)
{
	return put(&fam6, slots, addr, va);
}

int vip_table4_remove(struct meridian_vip_addr_slot4 *slots, __u32 addr)
{
	return remove_addr(&fam4, slots, &addr);
}

int vip_table6_remove(struct meridian_vip_addr_slot6 *slots,
		      const __u32 addr[4])
{
	return remove_addr(&fam6, slots, addr);
}
