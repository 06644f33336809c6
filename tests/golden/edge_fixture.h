/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixture for the edge program's golden tests: the real bpf/edge.bpf.o in
 * the harness namespace, its maps written through the same typed accessors
 * the controller uses, and helpers to build client frames and the frames
 * the edge must send in return.
 */
#ifndef MERIDIAN_TEST_EDGE_FIXTURE_H
#define MERIDIAN_TEST_EDGE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "meridian_access.h"
#include "pkt.h"
#include "testrun.h"

/* Addresses of the fixture: VIPs, clients and tunnel sources. */
#define FX_TUNNEL4 TR_IN_ADDR4
#define FX_TUNNEL6 TR_IN_ADDR6
#define FX_CLIENT4 "198.18.7.10"
#define FX_CLIENT6 "2001:db8:7::10"

/*
 * The topology every edge golden test starts from (fx_topology), by id:
 *
 *   backend  address             region  leaves by
 *   0        198.19.0.10         0       in  (XDP_TX)
 *   1        198.19.0.11         0       in
 *   2        198.19.1.10         1       out (redirect)
 *   3        198.19.1.11         1       out
 *   4        2001:db8:100::10    2       in
 *   5        2001:db8:100::11    2       in
 *   6        198.18.0.3          3       in, no neighbour (fallback)
 *   7        198.18.200.1        4       no route
 *   8        2001:db8:101::10    5       out
 *
 *   rings: 0 [0]  1 [0 1]  2 [2]  3 [2 3]  4 [4]  5 [4 5]  6 [6]  7 [7]
 *          8 [8]
 *   VIPs:  1 198.18.50.1 tcp/80 (+echo)   2 198.18.50.1 udp/53
 *          3 198.18.50.2 tcp/any          4 2001:db8:50::1 tcp/443 (+echo)
 *          5 2001:db8:50::1 udp/443       6 198.18.50.3 udp/any by address
 *          7 2001:db8:50::3 udp/any by address
 */
#define VIP4 "198.18.50.1"
#define VIP4_WILD "198.18.50.2"
#define VIP4_ADDRS "198.18.50.3"
#define VIP6 "2001:db8:50::1"
#define VIP6_ADDRS "2001:db8:50::3"

struct fx {
	struct tr_env env;
	struct bpf_object *obj;
	int prog;
	struct meridian_maps m;
};

/* Everything the data plane counts, summed over CPUs, for deltas. */
#define FX_IDS 16 /* VIP and backend ids the tests use stay below this */

struct fx_snap {
	struct meridian_counters c;
	struct meridian_region_stats region[MERIDIAN_MAX_REGIONS];
	struct meridian_traffic_stats vip[FX_IDS];
	struct meridian_traffic_stats backend[FX_IDS];
};

/* Namespace, object and a default config. Non-zero: skip or fail all. */
int fx_setup(struct fx *f);
void fx_teardown(struct fx *f);
/*
 * For main(): with err from the setup steps, records a failed setup case
 * (not-root was already recorded as skipped by the harness), tears down and
 * returns true: the caller then returns tr_summary().
 */
bool fx_setup_failed(struct fx *f, int err);

/* Backends, rings and VIPs of the table above. */
int fx_topology(struct fx *f);
int fx_config(struct fx *f, uint16_t mtu, uint32_t flood_limit);
int fx_backend(struct fx *f, uint32_t id, const char *addr, uint8_t region,
	       bool up);
/* A Maglev ring over backend ids, equal weights. */
int fx_ring(struct fx *f, uint32_t ring_id, const uint32_t *ids, size_t n);
/*
 * A VIP key, folded into its address's prefilter entry first. Rewriting a
 * key replaces a wildcard's value there; bits once set stay.
 */
int fx_vip(struct fx *f, uint32_t id, const char *addr, int proto,
	   uint16_t port, uint32_t flags);
/* Region table for (vip, class) from per-region weights and rings. */
int fx_table(struct fx *f, uint32_t vip, uint32_t cls,
	     const uint32_t *weight, const uint16_t *ring, uint32_t flags);
/* Same, one region takes every slot. */
int fx_table_one(struct fx *f, uint32_t vip, uint32_t cls, uint8_t region,
		 uint16_t ring);
int fx_class(struct fx *f, const char *prefix, uint32_t prefixlen,
	     uint32_t cls, uint32_t flags, uint32_t pin4, uint32_t pin6);

int fx_snap(struct fx *f, struct fx_snap *s);
/*
 * Every counter must equal want (a snapshot taken before the run plus the
 * deltas the case expects), so a stray increment anywhere fails the case.
 */
void fx_check_counters(struct fx *f, const struct fx_snap *want);
/* The deltas of one packet steered to a backend and sent on. */
void fx_want_steered(struct fx_snap *s, uint32_t vip, uint32_t backend,
		     uint8_t region, size_t in_len, size_t out_len);

/* A client frame arriving on the "in" device. */
int fx_frame(struct pkt *frame, const struct pkt_ip *ip,
	     const struct pkt_l4 *l4);
/* Simple TCP/UDP frame with payload_len zero bytes of payload. */
int fx_simple(struct pkt *frame, const char *src, const char *dst, int proto,
	      uint16_t sport, uint16_t dport, size_t payload_len);

/*
 * The frame the edge must emit: the inner IP packet of `in` (from l3_off)
 * under an outer header from outer_src to backend, leaving through link.
 * DF: set unless the inner is IPv4 without DF. The IPv6 flow label is the
 * flow hash, unknown to the test: it is taken from `got` (may be NULL).
 */
int fx_expect_encap(struct pkt *want, const struct pkt *in, size_t l3_off,
		    const char *outer_src, const char *backend,
		    const struct tr_link *link, const struct tr_result *got);

/* Outer destination of an encapsulated output frame, as text. */
const char *fx_outer_dst(const struct tr_result *res, char *buf, size_t len);

/* Run, and check the action. */
bool fx_run_expect(struct fx *f, const struct pkt *in, uint32_t action,
		   struct tr_result *res);

#endif /* MERIDIAN_TEST_EDGE_FIXTURE_H */
