/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The contract between the XDP data plane and the controller: limits, map
 * value layouts, enums and pin names. Included by BPF and userspace alike,
 * so it uses only fixed-width kernel types and no functions.
 *
 * Addresses are stored in network byte order. An IPv4 address sits in
 * addr[0] with addr[1..3] zero, so one key layout serves both families.
 */
#ifndef MERIDIAN_MAPS_H
#define MERIDIAN_MAPS_H

#include <linux/types.h>

/* Limits. Memory use per map is stated in README ("Memory"). */
#define MERIDIAN_MAX_VIPS 4096 /* VIP ids (counters are indexed by id) */
#define MERIDIAN_MAX_VIP_KEYS 16384 /* {address, port, proto}; VIP addresses */
#define MERIDIAN_MAX_REGIONS 32
#define MERIDIAN_MAX_CLASSES 256
#define MERIDIAN_MAX_PREFIXES 65536 /* per family, in the class tries */
#define MERIDIAN_MAX_BACKENDS 4096
#define MERIDIAN_MAX_RINGS 16384
#define MERIDIAN_MAX_REGION_TABLES 16384 /* (VIP, class) pairs */
/* Flow cache: sets of ways (see struct meridian_flow_set). */
#define MERIDIAN_FLOW_SETS 32768 /* a power of two: index by mask */
#define MERIDIAN_FLOW_WAYS 4
#define MERIDIAN_FLOW_ENTRIES (MERIDIAN_FLOW_SETS * MERIDIAN_FLOW_WAYS)
#define MERIDIAN_DECAP_ADDRS 64

/* Region table: hash-indexed slots, each holding a region id. */
#define MERIDIAN_REGION_SLOTS 4096 /* a power of two: index by mask */
#define MERIDIAN_REGION_NONE 0xff /* slot with no eligible region */
#define MERIDIAN_RING_NONE 0xffff

/*
 * Maglev ring, packed MERIDIAN_RING_LANES ids to an element so a ring of
 * thousands of slots is written in a few hundred copies, not thousands.
 * Flat position 0 holds the ring size M, positions 1..M the backend ids;
 * position p lives in element p / LANES, lane p % LANES.
 */
#define MERIDIAN_RING_MAX 65537 /* largest ring size the data plane takes */
#define MERIDIAN_RING_LANES 64
#define MERIDIAN_RING_ELEMS(size)                                              \
	(((size) + MERIDIAN_RING_LANES) / MERIDIAN_RING_LANES)

struct meridian_ring_chunk {
	__u32 id[MERIDIAN_RING_LANES];
};

#define MERIDIAN_BACKEND_NONE 0xffffffffu

/* Pin names; libbpf pins each map under its own name. */
#define MERIDIAN_PIN_DIR "/sys/fs/bpf/meridian"
#define MERIDIAN_PIN_DIR_IPROUTE2 "/sys/fs/bpf/tc/globals"

#define MERIDIAN_MAP_VIPS "meridian_vips"
#define MERIDIAN_MAP_VIP_ADDRS4 "meridian_vip_addrs4"
#define MERIDIAN_MAP_VIP_ADDRS6 "meridian_vip_addrs6"
#define MERIDIAN_MAP_CLASSES4 "meridian_classes4"
#define MERIDIAN_MAP_CLASSES6 "meridian_classes6"
#define MERIDIAN_MAP_REGION_TABLES "meridian_region_tables"
#define MERIDIAN_MAP_RINGS "meridian_rings"
#define MERIDIAN_MAP_BACKENDS "meridian_backends"
#define MERIDIAN_MAP_FLOWS "meridian_flows"
#define MERIDIAN_MAP_CONFIG "meridian_config"
#define MERIDIAN_MAP_COUNTERS "meridian_counters"
#define MERIDIAN_MAP_REGION_STATS "meridian_region_stats"
#define MERIDIAN_MAP_VIP_STATS "meridian_vip_stats"
#define MERIDIAN_MAP_BACKEND_STATS "meridian_backend_stats"
#define MERIDIAN_MAP_FLOOD "meridian_flood"
#define MERIDIAN_MAP_DECAP_ADDRS "meridian_decap_addrs"
#define MERIDIAN_MAP_DECAP_STATS "meridian_decap_stats"

#define MERIDIAN_AF_INET 4
#define MERIDIAN_AF_INET6 6

/* meridian_vips: key -> struct meridian_vip. Port 0 is the wildcard. */
struct meridian_vip_key {
	__u32 addr[4];
	__u16 port; /* network order */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, or IPPROTO_ICMP(V6) for echo */
	__u8 family; /* MERIDIAN_AF_* */
};

enum meridian_vip_flags {
	/* Hash on addresses only, so all fragments of a datagram agree. */
	MERIDIAN_VIP_HASH_ADDRS = 1 << 0,
	/* With no region available, pass to the local stack, not drop. */
	MERIDIAN_VIP_NOREGION_PASS = 1 << 1,
	/*
	 * Key with proto ICMP (ICMPv6 for IPv6), port 0: answer echo requests
	 * at the edge. The data plane reads it from the address's prefilter
	 * entry (MERIDIAN_VIP_ADDR_ECHO).
	 */
	MERIDIAN_VIP_ECHO = 1 << 2,
};

struct meridian_vip {
	__u32 id; /* < MERIDIAN_MAX_VIPS */
	__u32 flags; /* enum meridian_vip_flags */
};

/*
 * meridian_vip_addrs4 and meridian_vip_addrs6: the VIP-address prefilter,
 * one entry per address that has VIP keys, derived from those keys alone.
 * Each is an array of maps with one element (index 0) holding an array of
 * MERIDIAN_VIP_ADDR_SLOTS slots (struct meridian_vip_addr_slot4/6): an
 * open-addressing table. An address lives in one of the
 * MERIDIAN_VIP_ADDR_PROBES slots from its home slot
 * (meridian_vip_addr_home4/6), in order, wrapping; a slot with used == 0
 * ends a search. Array lookups are inlined by the verifier, so the
 * prefilter costs no hash-map lookup. The controller builds a whole table
 * and swaps it in with one outer update, so a packet sees the old table or
 * the new one. The data plane looks here first: a miss means the packet
 * is for no VIP. A hit carries the address's first MERIDIAN_VIP_ADDR_INLINE keys
 * with a port and its wildcard (port 0) VIPs themselves, and tells per
 * protocol whether meridian_vips holds more keys with a port (only then is
 * the {address, port, proto} lookup worth making). Keys of other protocols, and ICMP keys
 * without MERIDIAN_VIP_ECHO, leave no trace here.
 *
 * Written before the VIP keys it describes and deleted after them, so a
 * packet never finds a VIP key its address's entry does not announce.
 */
enum meridian_vip_addr_flags {
	/* TCP keys with a port beyond those in port[]: look in meridian_vips. */
	MERIDIAN_VIP_ADDR_PORTS_TCP = 1 << 0,
	MERIDIAN_VIP_ADDR_PORTS_UDP = 1 << 1,
	MERIDIAN_VIP_ADDR_WILD_TCP = 1 << 2, /* wild[TCP] holds a VIP */
	MERIDIAN_VIP_ADDR_WILD_UDP = 1 << 3,
	MERIDIAN_VIP_ADDR_ECHO = 1 << 4, /* echo requests are answered */
};

/* Index of wild[]; a protocol's PORTS and WILD flags are the TCP ones << it. */
enum meridian_vip_addr_proto {
	MERIDIAN_VIP_ADDR_TCP,
	MERIDIAN_VIP_ADDR_UDP,
	MERIDIAN_VIP_ADDR_PROTOS,
};

/*
 * The first keys with a port of an address ride in its prefilter entry, so
 * the usual VIP (a few ports) costs one short-key lookup in all.
 */
#define MERIDIAN_VIP_ADDR_INLINE 4

struct meridian_vip_port {
	__u16 port; /* network order; 0: unused */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 reserved;
	struct meridian_vip vip;
};

struct meridian_vip_addr {
	__u32 flags; /* enum meridian_vip_addr_flags */
	/* The port-0 key's value where its WILD flag is set, else zero. */
	struct meridian_vip wild[MERIDIAN_VIP_ADDR_PROTOS];
	struct meridian_vip_port port[MERIDIAN_VIP_ADDR_INLINE];
};

struct meridian_vip_addr6_key {
	__u32 addr[4];
};

#define MERIDIAN_VIP_ADDR_SLOT_BITS 15
#define MERIDIAN_VIP_ADDR_SLOTS (1u << MERIDIAN_VIP_ADDR_SLOT_BITS)
/*
 * Addresses per family are at most MERIDIAN_MAX_VIPS (one per VIP), so a
 * table is at most 1/8 full and a search rarely passes its home slot.
 */
#define MERIDIAN_VIP_ADDR_PROBES 8

struct meridian_vip_addr_slot4 {
	__u32 addr; /* network order */
	__u32 used; /* 0: empty, ends a search */
	struct meridian_vip_addr va;
};

struct meridian_vip_addr_slot6 {
	__u32 addr[4];
	__u32 used;
	struct meridian_vip_addr va;
};

/* Fibonacci hashing of the address in host order: its low bits vary most. */
static inline __u32 meridian_vip_addr_home4(__u32 addr)
{
	return (__builtin_bswap32(addr) * 0x9e3779b1u) >>
	       (32 - MERIDIAN_VIP_ADDR_SLOT_BITS);
}

static inline __u32 meridian_vip_addr_home6(const __u32 addr[4])
{
	return meridian_vip_addr_home4(addr[0] ^ addr[1] ^ addr[2] ^ addr[3]);
}

/* meridian_classes4/6: LPM trie from source prefix to class. */
struct meridian_lpm4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct meridian_lpm6_key {
	__u32 prefixlen;
	__u32 addr[4];
};

enum meridian_class_flags {
	/* Index the region table by a hash of the client prefix. */
	MERIDIAN_CLASS_PIN_HOME = 1 << 0,
};

struct meridian_class {
	__u32 id; /* < MERIDIAN_MAX_CLASSES; unmatched sources are class 0 */
	__u32 flags; /* enum meridian_class_flags */
	__u32 pin_prefixlen4; /* client prefix that pins, e.g. 24 */
	__u32 pin_prefixlen6; /* e.g. 56 */
};

/*
 * meridian_region_tables: hash of maps, {vip, class} -> inner array with one
 * element, a struct meridian_region_table. Swapped whole by the controller.
 */
struct meridian_region_key {
	__u32 vip_id;
	__u32 class_id;
};

enum meridian_region_table_flags {
	/* Residency is strict: an empty slot drops, whatever the VIP says. */
	MERIDIAN_RT_STRICT = 1 << 0,
};

struct meridian_region_table {
	__u32 generation;
	__u32 flags; /* enum meridian_region_table_flags */
	__u16 ring[MERIDIAN_MAX_REGIONS]; /* ring id per region, or RING_NONE */
	__u8 slot[MERIDIAN_REGION_SLOTS]; /* region id, or REGION_NONE */
};

/* meridian_backends: array indexed by backend id. */
struct meridian_backend {
	__u32 addr[4];
	__u8 family;
	__u8 region;
	__u16 reserved;
	/*
	 * 1 while the backend is up. Only this byte changes on a health flip,
	 * so a reader never sees a mix of two addresses; a new address gets a
	 * new backend id.
	 */
	__u32 up;
};

/* The flow a packet belongs to, as the flow cache and the hash see it. */
struct meridian_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport; /* zero for address-hashed VIPs */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 reserved;
};

struct meridian_flow {
	__u32 backend;
	__u32 hash; /* flow hash, reused for the outer source and flow label */
};

/*
 * meridian_flows: the flow cache, an array of sets indexed by the flow hash
 * (hash & (MERIDIAN_FLOW_SETS - 1)), each set holding MERIDIAN_FLOW_WAYS
 * flows. One table for all CPUs, so a flow is found whichever CPU its
 * packets arrive on, yet no lock: a writer claims a way with one
 * compare-and-swap on its tag (and caches nothing if another CPU holds it),
 * writes it, then publishes it with a new tag; a reader takes a way only if
 * its tag read before and after the key and backend is the same valid tag.
 * A new flow takes an empty way of its set, else the least recently used.
 * Tags and stamps sit together, so a lookup compares the four hashes in one
 * cache line and reads a key only where its hash matches.
 */
struct meridian_flow_way {
	struct meridian_flow_key key;
	__u32 backend;
	__u32 reserved;
};

/* A way's tag: its flow hash, a state and a generation against ABA. */
#define MERIDIAN_FLOW_TAG_VALID (1ull << 32) /* holds a flow */
#define MERIDIAN_FLOW_TAG_BUSY (1ull << 33) /* being written */
#define MERIDIAN_FLOW_TAG_GEN_SHIFT 34 /* + 1 on each write */

struct meridian_flow_set {
	__u64 tag[MERIDIAN_FLOW_WAYS]; /* 0: empty */
	__u32 stamp[MERIDIAN_FLOW_WAYS]; /* low 32 bits of jiffies at use */
	struct meridian_flow_way way[MERIDIAN_FLOW_WAYS];
};

/* meridian_config: array with one element. */
enum meridian_config_flags {
	/* Outer source from entropy prefixes instead of the tunnel source. */
	MERIDIAN_CFG_ENTROPY_SRC4 = 1 << 0,
	MERIDIAN_CFG_ENTROPY_SRC6 = 1 << 1,
};

struct meridian_config {
	__u32 tunnel_src4;
	__u32 tunnel_src6[4];
	__u32 entropy4; /* prefix base; host bits come from the flow hash */
	__u32 entropy6[4];
	__u8 entropy4_len;
	__u8 entropy6_len;
	__u16 mtu; /* largest outer IP packet; 0 means 1500 */
	__u32 flags; /* enum meridian_config_flags */
	/* New flows per CPU per second let into the flow cache; 0: no limit. */
	__u32 flood_limit;
	__u8 ttl; /* outer TTL / hop limit; 0 means 64 */
	__u8 reserved[3];
};

/* Counters. Every one is per CPU; readers sum over CPUs. */
enum meridian_action {
	MERIDIAN_ACT_PASS_NONVIP, /* not for a VIP: untouched */
	MERIDIAN_ACT_TX, /* encapsulated, XDP_TX */
	MERIDIAN_ACT_REDIRECT, /* encapsulated, redirected to another device */
	MERIDIAN_ACT_FALLBACK, /* encapsulated, neighbour unknown: to kernel */
	MERIDIAN_ACT_PASS_NOREGION, /* no region, VIP says pass to the stack */
	MERIDIAN_ACT_ICMP_REPLY, /* too-big or echo reply sent to the client */
	MERIDIAN_ACT_DROP,
	MERIDIAN_ACT_MAX,
};

enum meridian_drop {
	MERIDIAN_DROP_MALFORMED, /* a VIP packet whose headers do not parse */
	MERIDIAN_DROP_NO_REGION, /* every eligible region down */
	MERIDIAN_DROP_RESIDENCY, /* strict class, every allowed region down */
	MERIDIAN_DROP_NO_TABLE, /* VIP without a region table or ring */
	MERIDIAN_DROP_NO_BACKEND, /* ring missing or empty */
	MERIDIAN_DROP_FRAGMENT, /* fragment of a VIP that hashes on ports */
	MERIDIAN_DROP_TOO_BIG, /* over the MTU without DF: cannot fragment */
	MERIDIAN_DROP_ENCAP, /* headroom or tailroom could not be adjusted */
	MERIDIAN_DROP_FIB, /* no route to the backend */
	MERIDIAN_DROP_MAX,
};

struct meridian_counters {
	__u64 action[MERIDIAN_ACT_MAX];
	__u64 drop[MERIDIAN_DROP_MAX];
	__u64 lru_hit;
	__u64 lru_miss;
	__u64 lru_repick; /* hit on a backend that is down: picked again */
	__u64 lru_skip; /* flood guard kept a new flow out of the flow cache */
	__u64 icmp_too_big; /* too-big / frag-needed answers sent */
	__u64 icmp_steered; /* ICMP errors steered by their embedded tuple */
	__u64 echo_reply;
};

struct meridian_region_stats {
	__u64 packets;
	__u64 bytes; /* frame bytes as received */
	__u64 egress_packets;
	__u64 egress_bytes; /* frame bytes after encapsulation */
};

struct meridian_traffic_stats {
	__u64 packets;
	__u64 bytes;
};

/* meridian_flood: per-CPU window for the flood guard. */
struct meridian_flood {
	__u64 window_start_ns;
	__u64 inserts;
};

/* Decapsulation on backends. */
struct meridian_decap_key {
	__u32 addr[4];
	__u32 family;
};

enum meridian_decap_counter {
	MERIDIAN_DECAP_IPIP, /* IPv4 in IPv4 */
	MERIDIAN_DECAP_IP6IP6,
	MERIDIAN_DECAP_IP4IP6, /* IPv4 in IPv6 */
	MERIDIAN_DECAP_IP6IP4, /* IPv6 in IPv4 */
	MERIDIAN_DECAP_NOT_LOCAL, /* tunnel packet for another host: untouched */
	MERIDIAN_DECAP_MALFORMED, /* truncated inner header: dropped */
	MERIDIAN_DECAP_PASS, /* not a tunnel packet: untouched */
	MERIDIAN_DECAP_MAX,
};

#endif /* MERIDIAN_MAPS_H */
