/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reconcile: write a struct desired into the edge maps, touching only what
 * differs from what is there, in an order that never lets a packet see a
 * half-written table, a table naming a missing ring, or a ring naming a
 * backend that is gone.
 *
 * The reconciler keeps what it knows is in the maps: values for the small
 * maps, content hashes for rings and region tables (tables are 4.2 KiB
 * each, rings up to 256 KiB), and which ring id holds which ring identity.
 * reconciler_create() learns all of that from the maps themselves, so a
 * restarted daemon adopts the pinned state: counters and flows are never
 * touched, and a first apply with an unchanged desired state writes
 * nothing. Ring ids of a restarted daemon are found by content (a pinned
 * ring equal to a desired ring keeps its id), then by what the pinned
 * region tables point at, then allocated fresh.
 *
 * Order of writes in one apply:
 *   1. config; backends that are new, came up or went down (an address
 *      change: down, grace period, new address written while down, up);
 *      a down backend's ring slots are skipped by the edge, which takes
 *      the next live backend of the ring, so its flows move at once;
 *   2. rings, new and changed (an existing identity is rewritten in place,
 *      keeping its id, so the tables naming it need no write);
 *   3. region tables, new and changed; class prefixes; VIP-address
 *      prefilter entries (new and changed, wildcards included); VIPs;
 *   4. deletes: VIPs, prefilter entries, class prefixes, tables, then
 *      (after the grace periods of the swaps) the rings nothing names any
 *      more, then backends (down, a grace period, zeroed).
 * Steps 1-2 are planned and written before the tables are even compared,
 * so a health change is in the data plane without waiting for the diff of
 * 2000 tables; reconcile_backend_health() puts a flip there sooner still,
 * before the policy is even rebuilt. A backend whose region lost its last
 * live backend is marked down before the tables stop naming that region's
 * ring (an empty ring is never written): in between its flows drop
 * instead of going to it.
 * Class prefixes go before the tables of their class are deleted: a source
 * whose class is removed falls back to a class that still has tables.
 * A VIP-address prefilter entry is written before the VIP keys it
 * announces and deleted after them, so a packet never meets a new key
 * whose address the prefilter does not know yet; a key the entry names
 * that is not there (yet, or any more) is only a lookup that misses. The
 * prefilter of a family is one open-addressing table: the new and changed
 * entries of an apply go in as one new table (one outer swap), the
 * removed ones as another after the VIP deletes, and either version
 * steers by keys and tables that are in place. The prefilter must be what vip_addrs_build()
 * derives from the VIP keys, or the desired state is refused.
 *
 * Region tables are written with desired.generation, but the generation is
 * not part of the comparison: a table whose content is unchanged is never
 * rewritten just because the generation moved on.
 *
 * Replacing an outer (map-in-map) entry makes the kernel wait a full RCU
 * grace period before the syscall returns (about 10 ms here), although the
 * new inner map is in use at once. So swaps go in batches, one syscall per
 * batch, run in a helper thread; the apply continues as soon as the batch
 * is visible in the map, and the grace period finishes in the background.
 * Steps that need the grace period (deleting a ring that a swapped-out
 * table named) wait for it. reconcile_apply() may therefore return with
 * grace periods still running; reconciler_settle() waits for them.
 *
 * A failed write stops the apply: every prefix of the order above is a
 * safe data plane, and the next apply retries whatever is still missing.
 * An invalid desired state is refused (-EINVAL) before anything is
 * written.
 *
 * Desired tables never name an empty ring (size 0) in a slot's region:
 * policy guarantees it. Should one do so anyway, that region's ring entry
 * is written as MERIDIAN_RING_NONE and a warning logged.
 *
 * The maps are assumed to have one writer, meridiand (meridianctl only
 * reads them): between applies they hold what the reconciler last wrote.
 */
#ifndef MERIDIAN_RECONCILE_H
#define MERIDIAN_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "desired.h"
#include "meridian_access.h"

struct reconciler;

struct reconcile_stats {
	uint32_t writes; /* element updates and swaps */
	uint32_t deletes;
	uint32_t ring_swaps; /* included in writes */
	uint32_t table_swaps; /* included in writes */
	uint64_t duration_ns; /* the whole call */
	/* Until the last write of the apply was in use by the data plane. */
	uint64_t visible_ns;
};

/*
 * Reads the state of the maps (config, backends, VIPs, the VIP-address
 * prefilter, class prefixes, region tables, rings). The maps must stay
 * open while the reconciler lives. Returns 0 or a negative errno (logged).
 */
int reconciler_create(struct reconciler **r, const struct meridian_maps *m);

/*
 * Makes the maps equal d. st may be NULL. Returns 0, -EINVAL for an
 * invalid d (nothing written), -ENOSPC when d needs more ring ids than
 * the map has, or the errno of the write that failed (logged).
 */
int reconcile_apply(struct reconciler *r, const struct desired *d,
		    struct reconcile_stats *st);

/*
 * A health flip, ahead of the next apply: writes only the up word of
 * backend id, and only if the maps hold want with the other up value
 * (same address, family and region). The edge skips a down backend's ring
 * slots (it takes the next live one), so this one element write is the
 * whole failover; the apply that follows rebuilds rings and tables and
 * finds the flag already in place. Returns 1 if written, 0 if the maps
 * hold something else (the next apply decides), or the write's negative
 * errno (logged).
 */
int reconcile_backend_health(struct reconciler *r, uint32_t id,
			     const struct meridian_backend *want);

/* Waits for the grace periods of earlier swaps; destroy does too. */
void reconciler_settle(struct reconciler *r);

void reconciler_destroy(struct reconciler *r);

/* Ring id holding the ring of that identity; -ENOENT if none. */
int reconciler_ring_id(const struct reconciler *r, uint64_t identity);

/* Bytes the reconciler holds between applies (its view of the maps). */
size_t reconciler_memory(const struct reconciler *r);

/* The write log: tests and debug logging see each write once it is done. */
enum reconcile_op_kind {
	RECONCILE_CONFIG_PUT,
	RECONCILE_BACKEND_PUT, /* key.id; backend holds the value written */
	RECONCILE_RING_SWAP, /* key.id: the ring id */
	RECONCILE_TABLE_SWAP, /* key.table */
	RECONCILE_CLASS4_PUT, /* key.class4 */
	RECONCILE_CLASS6_PUT, /* key.class6 */
	RECONCILE_VIP_PUT, /* key.vip */
	RECONCILE_VIP_DELETE,
	RECONCILE_VIP_ADDR4_PUT, /* key.vip_addr4 */
	RECONCILE_VIP_ADDR6_PUT, /* key.vip_addr6 */
	RECONCILE_VIP_ADDR4_DELETE,
	RECONCILE_VIP_ADDR6_DELETE,
	RECONCILE_CLASS4_DELETE,
	RECONCILE_CLASS6_DELETE,
	RECONCILE_TABLE_DELETE,
	RECONCILE_RING_DELETE,
	/* Not writes: waits that order the writes around them. */
	RECONCILE_SETTLE, /* grace periods of earlier swaps are over */
	RECONCILE_GRACE, /* a fresh grace period has passed */
};

struct reconcile_op {
	enum reconcile_op_kind kind;
	uint32_t index; /* into the desired array it comes from, if any */
	union {
		uint32_t id;
		struct meridian_vip_key vip;
		__u32 vip_addr4;
		struct meridian_vip_addr6_key vip_addr6;
		struct meridian_lpm4_key class4;
		struct meridian_lpm6_key class6;
		struct meridian_region_key table;
	} key;
	struct meridian_backend backend;
};

typedef void (*reconcile_log_fn)(void *arg, const struct reconcile_op *op);

/*
 * fn (NULL: none) is called after each write, once it is in the map, and
 * after each wait, in the order they happen.
 */
void reconciler_set_log(struct reconciler *r, reconcile_log_fn fn, void *arg);

/* "ring_swap", ... for messages. */
const char *reconcile_op_name(enum reconcile_op_kind kind);

#endif /* MERIDIAN_RECONCILE_H */
