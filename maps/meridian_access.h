/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Typed userspace access to the edge program's maps.
 *
 * Every function returns 0 or a negative errno. Failures are logged once,
 * here, with the map and key involved; callers only pass the code on. A
 * lookup that finds nothing returns -ENOENT without logging, because that is
 * an answer, not a failure.
 */
#ifndef MERIDIAN_ACCESS_H
#define MERIDIAN_ACCESS_H

#include <stdbool.h>
#include <linux/types.h>

#include "meridian_maps.h"

struct bpf_object;

/* File descriptors of every edge map; -1 where not open. */
struct meridian_maps {
	int vips;
	int vip_addrs4;
	int vip_addrs6;
	int classes4;
	int classes6;
	int region_tables;
	int rings;
	int backends;
	int flows;
	int config;
	int counters;
	int region_stats;
	int vip_stats;
	int backend_stats;
	int flood;
	int ncpus; /* possible CPUs: per-CPU values come in this many copies */
};

/* Marks every fd as not open, so meridian_maps_close() is always safe. */
void meridian_maps_init(struct meridian_maps *m);

/*
 * Opens the maps pinned under pin_dir (NULL: MERIDIAN_PIN_DIR; iproute2
 * pins under MERIDIAN_PIN_DIR_IPROUTE2). Each map's type, key and value size
 * must match this build's structs, so pins left by an incompatible version
 * are refused rather than misread. On failure nothing stays open.
 */
int meridian_maps_open(struct meridian_maps *m, const char *pin_dir);

/*
 * Takes the maps of a loaded object (tests that load without pins). The fds
 * are duplicated: the caller owns them and closes them with
 * meridian_maps_close(), before or after bpf_object__close(obj).
 */
int meridian_maps_from_object(struct meridian_maps *m, struct bpf_object *obj);

void meridian_maps_close(struct meridian_maps *m);

/* VIPs. */
int meridian_vip_put(const struct meridian_maps *m,
		     const struct meridian_vip_key *key,
		     const struct meridian_vip *vip);
int meridian_vip_get(const struct meridian_maps *m,
		     const struct meridian_vip_key *key,
		     struct meridian_vip *vip);
int meridian_vip_delete(const struct meridian_maps *m,
			const struct meridian_vip_key *key);

/*
 * The VIP-address prefilter (meridian_vip_addrs4/6 in meridian_maps.h): a
 * table of MERIDIAN_VIP_ADDR_SLOTS slots per family, swapped whole.
 *
 * _read fills slots with the table in use now (all zero if there is none).
 * _swap refuses an image with an entry a search would not find or an id
 * out of range; otherwise it fills a fresh inner map with the image's used
 * slots and replaces the table in one outer update, so a packet sees the
 * old table or the new one. It returns once no program still runs on the
 * old table (the kernel waits out an RCU grace period: milliseconds).
 * Image layout and search: userspace/common/vip_table.h.
 */
int meridian_vip_addrs4_read(const struct meridian_maps *m,
			     struct meridian_vip_addr_slot4 *slots);
int meridian_vip_addrs6_read(const struct meridian_maps *m,
			     struct meridian_vip_addr_slot6 *slots);
int meridian_vip_addrs4_swap(const struct meridian_maps *m,
			     const struct meridian_vip_addr_slot4 *slots);
int meridian_vip_addrs6_swap(const struct meridian_maps *m,
			     const struct meridian_vip_addr_slot6 *slots);

/*
 * Single entries, IPv4 keyed by the address in network order. get reads
 * only the address's probe slots; put and delete read the whole table,
 * change it and swap it back, a swap each: for tests and tools, with one
 * writer at a time (two concurrent writers may lose an update). An entry
 * must be in place before the VIP keys it announces, and stay until they
 * are gone. put fails with -ENOSPC when the address's probe run is full;
 * delete returns -ENOENT, unlogged, for an address without an entry.
 */
int meridian_vip_addr4_put(const struct meridian_maps *m, __u32 addr,
			   const struct meridian_vip_addr *va);
int meridian_vip_addr4_get(const struct meridian_maps *m, __u32 addr,
			   struct meridian_vip_addr *va);
int meridian_vip_addr4_delete(const struct meridian_maps *m, __u32 addr);
int meridian_vip_addr6_put(const struct meridian_maps *m,
			   const struct meridian_vip_addr6_key *key,
			   const struct meridian_vip_addr *va);
int meridian_vip_addr6_get(const struct meridian_maps *m,
			   const struct meridian_vip_addr6_key *key,
			   struct meridian_vip_addr *va);
int meridian_vip_addr6_delete(const struct meridian_maps *m,
			      const struct meridian_vip_addr6_key *key);

/*
 * For writers of single VIP keys (tests, lab tools; the controller writes
 * whole derived entries instead): folds the key into its address's entry
 * (read, vip_addr_fold(), write back). Call it before meridian_vip_put()
 * of the same key. A key the prefilter takes no note of writes nothing.
 * Keys are never taken out again: rewrite the entry to remove one. Each
 * merge that changes an entry is a swap; many keys are quicker folded
 * into an image (vip_table.h) and swapped once.
 */
int meridian_vip_addr_merge(const struct meridian_maps *m,
			    const struct meridian_vip_key *key,
			    const struct meridian_vip *vip);

/* Source-prefix classes. Host bits beyond prefixlen must be zero. */
int meridian_class4_put(const struct meridian_maps *m,
			const struct meridian_lpm4_key *key,
			const struct meridian_class *class);
int meridian_class4_delete(const struct meridian_maps *m,
			   const struct meridian_lpm4_key *key);
int meridian_class6_put(const struct meridian_maps *m,
			const struct meridian_lpm6_key *key,
			const struct meridian_class *class);
int meridian_class6_delete(const struct meridian_maps *m,
			   const struct meridian_lpm6_key *key);

/* Backends, by id < MERIDIAN_MAX_BACKENDS. */
int meridian_backend_put(const struct meridian_maps *m, __u32 id,
			 const struct meridian_backend *backend);
int meridian_backend_get(const struct meridian_maps *m, __u32 id,
			 struct meridian_backend *backend);
/*
 * Flips only the up flag. The rest of the value is written back with the
 * bytes it already holds, so a concurrent reader sees either state whole.
 * -ENOENT if the backend was never written (its address is all zero).
 */
int meridian_backend_set_up(const struct meridian_maps *m, __u32 id, bool up);

int meridian_config_put(const struct meridian_maps *m,
			const struct meridian_config *config);
int meridian_config_get(const struct meridian_maps *m,
			struct meridian_config *config);

/*
 * Region tables. A swap fills a fresh inner map completely, then replaces
 * the outer entry in one update, so the data plane sees the old table or
 * the new one, never a mix.
 */
int meridian_region_table_swap(const struct meridian_maps *m,
			       const struct meridian_region_key *key,
			       const struct meridian_region_table *table);
int meridian_region_table_delete(const struct meridian_maps *m,
				 const struct meridian_region_key *key);
int meridian_region_table_get(const struct meridian_maps *m,
			      const struct meridian_region_key *key,
			      struct meridian_region_table *table);

/*
 * Maglev rings, by ring_id < MERIDIAN_MAX_RINGS. size is 1..RING_MAX and
 * every entry a backend id < MERIDIAN_MAX_BACKENDS. Swapped like region
 * tables. meridian_ring_get() stores up to cap entries and the ring's full
 * size in *size; -ENOSPC if cap was too small.
 */
int meridian_ring_swap(const struct meridian_maps *m, __u32 ring_id,
		       const __u32 *ring, __u32 size);
int meridian_ring_delete(const struct meridian_maps *m, __u32 ring_id);
int meridian_ring_get(const struct meridian_maps *m, __u32 ring_id,
		      __u32 *ring, __u32 cap, __u32 *size);

/*
 * The inner maps themselves, for writers that batch their outer updates
 * (each outer update waits out an RCU grace period in the kernel). They
 * return a filled inner map's fd, which the caller closes once the outer
 * map holds it, or -errno. Ring contents are not checked here.
 */
int meridian_ring_inner_new(const __u32 *ring, __u32 size);
int meridian_region_inner_new(const struct meridian_region_table *table);
/* Reads a ring's inner map (fd) the way meridian_ring_get does. */
int meridian_ring_inner_read(int fd, __u32 *ring, __u32 cap, __u32 *size);

/* Counters, summed over all CPUs. */
int meridian_counters_read(const struct meridian_maps *m,
			   struct meridian_counters *out);
int meridian_region_stats_read(const struct meridian_maps *m, __u32 region,
			       struct meridian_region_stats *out);
int meridian_vip_stats_read(const struct meridian_maps *m, __u32 vip_id,
			    struct meridian_traffic_stats *out);
int meridian_backend_stats_read(const struct meridian_maps *m,
				__u32 backend_id,
				struct meridian_traffic_stats *out);

/*
 * The flow cache (set-associative, one table for all CPUs; see struct
 * meridian_flow_set), for tests and tools. Lookup returns -ENOENT when the
 * flow is not held, -EAGAIN if the set kept changing under it. Delete and
 * clear rewrite whole sets without the data plane's claim, so they race
 * with its writes to those sets: on a live edge a flow another CPU stores
 * or re-picks in the same set at that moment may be lost or put back as it
 * was (its next packet picks again from the tables). Use them on an idle
 * edge.
 */
int meridian_flow_lookup(const struct meridian_maps *m,
			 const struct meridian_flow_key *key,
			 struct meridian_flow *flow);
int meridian_flow_delete(const struct meridian_maps *m,
			 const struct meridian_flow_key *key);
int meridian_flows_clear(const struct meridian_maps *m);
/* Flows held; reads every set. */
int meridian_flows_count(const struct meridian_maps *m, __u64 *count);

/* Stable names for counters ("pass_nonvip", "no_region"); NULL if unknown. */
const char *meridian_action_name(unsigned int action);
const char *meridian_drop_name(unsigned int drop);

/* Routes libbpf's messages into the logger: warnings as warn, rest debug. */
void meridian_libbpf_log_setup(void);

#endif /* MERIDIAN_ACCESS_H */
