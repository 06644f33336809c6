/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Map definitions of the edge program. Every map is pinned by name, so the
 * controller finds them whether iproute2 or meridianctl loaded the program.
 */
#ifndef MERIDIAN_BPF_MAPS_H
#define MERIDIAN_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "meridian_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MERIDIAN_MAX_VIP_KEYS);
	__type(key, struct meridian_vip_key);
	__type(value, struct meridian_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_vips SEC(".maps");

/*
 * The VIP-address prefilter; meridian_maps.h says how it works. The
 * templates give the outer maps their inner shape and, as element 0 of a
 * freshly created outer map, an empty table: a new edge passes everything
 * until the controller swaps a table in. A pinned outer map that is
 * reused keeps the table it holds.
 */
struct meridian_vip_addr_inner4 {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_VIP_ADDR_SLOTS);
	__type(key, __u32);
	__type(value, struct meridian_vip_addr_slot4);
} meridian_vas4 SEC(".maps");

struct meridian_vip_addr_inner6 {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_VIP_ADDR_SLOTS);
	__type(key, __u32);
	__type(value, struct meridian_vip_addr_slot6);
} meridian_vas6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct meridian_vip_addr_inner4);
} meridian_vip_addrs4 SEC(".maps") = {
	.values = { [0] = &meridian_vas4 },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct meridian_vip_addr_inner6);
} meridian_vip_addrs6 SEC(".maps") = {
	.values = { [0] = &meridian_vas6 },
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MERIDIAN_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct meridian_lpm4_key);
	__type(value, struct meridian_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_classes4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MERIDIAN_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct meridian_lpm6_key);
	__type(value, struct meridian_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_classes6 SEC(".maps");

/* Inner map layouts; the controller creates inner maps of the same shape. */
struct meridian_region_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	/* A size, not a type: clang emits only a forward declaration here. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct meridian_region_table));
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, MERIDIAN_MAX_REGION_TABLES);
	__type(key, struct meridian_region_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct meridian_region_inner);
} meridian_region_tables SEC(".maps");

/* Rings differ in size, hence BPF_F_INNER_MAP. */
struct meridian_ring_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct meridian_ring_chunk));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MERIDIAN_MAX_RINGS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct meridian_ring_inner);
} meridian_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct meridian_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_backends SEC(".maps");

/* The flow cache; struct meridian_flow_set says how it works. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MERIDIAN_FLOW_SETS);
	__type(key, __u32);
	__type(value, struct meridian_flow_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meridian_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meridian_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_REGIONS);
	__type(key, __u32);
	__type(value, struct meridian_region_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_region_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct meridian_traffic_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MERIDIAN_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct meridian_traffic_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meridian_flood);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meridian_flood SEC(".maps");

#endif /* MERIDIAN_BPF_MAPS_H */
