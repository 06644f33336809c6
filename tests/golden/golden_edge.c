// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden-packet tests of bpf/edge.bpf.o through BPF_PROG_TEST_RUN: exact
 * output bytes, return codes and every counter, table-driven where the
 * cases share a shape. The topology is in edge_fixture.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "edge_fixture.h"
#include "../../bpf/hashing.h"

enum { LINK_IN, LINK_OUT, LINK_KEPT };

static struct fx fx;
static const uint8_t in_mac[6] = TR_IN_MAC;
static const uint8_t in_peer_mac[6] = TR_IN_PEER_MAC;

/* Valid frames from the cases, swept for truncation and mutation later. */
#define MAX_SWEEP 48
static struct pkt sweep_frames[MAX_SWEEP];
static int n_sweep;

static void keep_for_sweep(const struct pkt *p)
{
	if (n_sweep < MAX_SWEEP)
		sweep_frames[n_sweep++] = *p;
}

/* --- counters ----------------------------------------------------------- */

static void snap(struct fx_snap *s)
{
	tr_check(fx_snap(&fx, s) == 0, "reading counters");
}

/* --- encapsulation ------------------------------------------------------ */

struct encap_case {
	const char *name;
	const char *src;
	const char *dst;
	int proto;
	uint16_t sport, dport;
	uint32_t vip;
	uint8_t region;
	uint16_t ring;
	uint32_t backend;
	const char *backend_addr;
	const char *outer_src;
	int link;
	uint32_t action;
};

static const struct encap_case encap_cases[] = {
	{ "ipv4 tcp vip: ipip, tx", FX_CLIENT4, VIP4, IPPROTO_TCP, 1000, 80, 1,
	  0, 0, 0, "198.19.0.10", FX_TUNNEL4, LINK_IN, XDP_TX },
	{ "ipv4 udp vip: ipip, tx", FX_CLIENT4, VIP4, IPPROTO_UDP, 1001, 53, 2,
	  0, 0, 0, "198.19.0.10", FX_TUNNEL4, LINK_IN, XDP_TX },
	{ "ipv4 wildcard port", FX_CLIENT4, VIP4_WILD, IPPROTO_TCP, 1002, 8443,
	  3, 0, 0, 0, "198.19.0.10", FX_TUNNEL4, LINK_IN, XDP_TX },
	{ "ipv6 tcp vip: ip6ip6", FX_CLIENT6, VIP6, IPPROTO_TCP, 1003, 443, 4,
	  2, 4, 4, "2001:db8:100::10", FX_TUNNEL6, LINK_IN, XDP_TX },
	{ "ipv6 udp vip: ip6ip6", FX_CLIENT6, VIP6, IPPROTO_UDP, 1004, 443, 5,
	  2, 4, 4, "2001:db8:100::10", FX_TUNNEL6, LINK_IN, XDP_TX },
	{ "ipv4 in ipv6", FX_CLIENT4, VIP4, IPPROTO_TCP, 1005, 80, 1, 2, 4, 4,
	  "2001:db8:100::10", FX_TUNNEL6, LINK_IN, XDP_TX },
	{ "ipv6 in ipv4", FX_CLIENT6, VIP6, IPPROTO_TCP, 1006, 443, 4, 0, 0, 0,
	  "198.19.0.10", FX_TUNNEL4, LINK_IN, XDP_TX },
	{ "ipv4 redirect to other device", FX_CLIENT4, VIP4, IPPROTO_TCP, 1007,
	  80, 1, 1, 2, 2, "198.19.1.10", FX_TUNNEL4, LINK_OUT, XDP_REDIRECT },
	{ "ipv6 redirect to other device", FX_CLIENT6, VIP6, IPPROTO_UDP, 1008,
	  443, 5, 5, 8, 8, "2001:db8:101::10", FX_TUNNEL6, LINK_OUT,
	  XDP_REDIRECT },
	{ "neighbour unknown: kernel fallback", FX_CLIENT4, VIP4, IPPROTO_TCP,
	  1009, 80, 1, 3, 6, 6, TR_IN_NONEIGH4, FX_TUNNEL4, LINK_KEPT,
	  XDP_PASS },
};

static const struct tr_link *link_of(int which, struct tr_link *kept)
{
	if (which == LINK_IN)
		return &fx.env.in;
	if (which == LINK_OUT)
		return &fx.env.out;
	/* Handed to the kernel: still addressed as it arrived. */
	memcpy(kept->peer_mac, in_mac, 6);
	memcpy(kept->mac, in_peer_mac, 6);
	return kept;
}

static enum meridian_action action_of(uint32_t xdp)
{
	if (xdp == XDP_TX)
		return MERIDIAN_ACT_TX;
	if (xdp == XDP_REDIRECT)
		return MERIDIAN_ACT_REDIRECT;
	return MERIDIAN_ACT_FALLBACK;
}

/* What the flow table makes of a packet. */
enum lru_want { LRU_MISS, LRU_HIT, LRU_REPICK };

/* Runs frame, expects it encapsulated to backend; checks every counter. */
static void expect_encap(const struct pkt *frame, size_t l3_off,
			 const struct encap_case *c, enum lru_want lru)
{
	struct tr_result res;
	struct tr_link kept;
	struct fx_snap want;
	struct pkt expect;
	char why[128];

	snap(&want);
	if (!fx_run_expect(&fx, frame, c->action, &res))
		return;
	if (!tr_check(fx_expect_encap(&expect, frame, l3_off, c->outer_src,
				      c->backend_addr,
				      link_of(c->link, &kept), &res) == 0,
		      "building the expected frame"))
		return;
	tr_check_bytes(res.data, res.len, expect.data, expect.len, "output");
	tr_check(pkt_check_frame(res.data, res.len, why, sizeof(why)) == 0,
		 "output malformed: %s", why);
	fx_want_steered(&want, c->vip, c->backend, c->region, frame->len,
		     expect.len);
	want.c.action[action_of(c->action)]++;
	if (lru == LRU_HIT)
		want.c.lru_hit++;
	else if (lru == LRU_REPICK)
		want.c.lru_repick++;
	else
		want.c.lru_miss++;
	fx_check_counters(&fx, &want);
}

static void test_encap_table(void)
{
	unsigned int i;
	struct pkt frame;

	for (i = 0; i < sizeof(encap_cases) / sizeof(encap_cases[0]); i++) {
		const struct encap_case *c = &encap_cases[i];

		tr_case_begin("%s", c->name);
		if (fx_table_one(&fx, c->vip, 0, c->region, c->ring) ||
		    fx_simple(&frame, c->src, c->dst, c->proto, c->sport,
			      c->dport, 64)) {
			tr_check(false, "setup");
			tr_case_end();
			continue;
		}
		expect_encap(&frame, PKT_ETH_HLEN, c, LRU_MISS);
		keep_for_sweep(&frame);
		tr_case_end();

		tr_case_begin("%s, second packet: lru hit", c->name);
		expect_encap(&frame, PKT_ETH_HLEN, c, LRU_HIT);
		tr_case_end();
	}
}

/* --- packets that are not ours ------------------------------------------ */

static void expect_untouched(const struct pkt *frame)
{
	struct fx_snap want;
	struct tr_result res;

	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_PASS, &res))
		return;
	tr_check_bytes(res.data, res.len, frame->data, frame->len, "output");
	want.c.action[MERIDIAN_ACT_PASS_NONVIP]++;
	fx_check_counters(&fx, &want);
}

static void test_not_vip(void)
{
	static const struct {
		const char *name, *src, *dst;
		int proto;
		uint16_t dport;
	} cases[] = {
		{ "ipv4 tcp to another address", FX_CLIENT4, "198.18.99.1",
		  IPPROTO_TCP, 80 },
		{ "ipv4 tcp to the vip, other port", FX_CLIENT4, VIP4,
		  IPPROTO_TCP, 81 },
		{ "ipv4 udp to the vip, other port", FX_CLIENT4, VIP4,
		  IPPROTO_UDP, 54 },
		{ "ipv6 tcp to another address", FX_CLIENT6, "2001:db8:99::1",
		  IPPROTO_TCP, 443 },
		{ "ipv6 udp to the vip, other port", FX_CLIENT6, VIP6,
		  IPPROTO_UDP, 444 },
	};
	struct pkt_eth eth = { .ethertype = PKT_PROTO(0x0806) };
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	struct pkt frame;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tr_case_begin("not for a vip: %s", cases[i].name);
		if (!fx_simple(&frame, cases[i].src, cases[i].dst,
			       cases[i].proto, 2000, cases[i].dport, 10))
			expect_untouched(&frame);
		tr_case_end();
	}
	tr_case_begin("not for a vip: arp");
	pkt_reset(&frame);
	memcpy(eth.dst, in_mac, 6);
	memcpy(eth.src, in_peer_mac, 6);
	if (tr_check(!pkt_append(&frame, arp, sizeof(arp)) &&
			     !pkt_eth(&frame, &eth),
		     "build"))
		expect_untouched(&frame);
	keep_for_sweep(&frame);
	tr_case_end();
}

/* --- drops and edge verdicts --------------------------------------------- */

static void expect_drop(const struct pkt *frame, uint32_t vip,
			enum meridian_drop reason, bool lru_miss)
{
	struct fx_snap want;
	struct tr_result res;

	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_DROP, &res))
		return;
	want.c.action[MERIDIAN_ACT_DROP]++;
	want.c.drop[reason]++;
	if (lru_miss)
		want.c.lru_miss++;
	want.vip[vip].packets++;
	want.vip[vip].bytes += frame->len;
	fx_check_counters(&fx, &want);
}

static void test_fib_failure(void)
{
	struct pkt frame;

	tr_case_begin("no route to the backend: dropped, counted");
	if (!fx_table_one(&fx, 1, 0, 4, 7) &&
	    !fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 1100, 80, 0))
		expect_drop(&frame, 1, MERIDIAN_DROP_FIB, true);
	tr_case_end();
}

static void test_malformed(void)
{
	struct pkt frame;

	tr_case_begin("ip length beyond the frame: dropped, malformed");
	if (!fx_table_one(&fx, 1, 0, 0, 0) &&
	    !fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 1101, 80, 20)) {
		frame.len -= 4; /* the IPv4 total length now overstates */
		expect_drop(&frame, 1, MERIDIAN_DROP_MALFORMED, false);
	}
	tr_case_end();

	tr_case_begin("tcp header cut short, wildcard vip: malformed");
	if (!fx_simple(&frame, FX_CLIENT4, VIP4_WILD, IPPROTO_TCP, 1, 2, 0)) {
		struct fx_snap want;
		struct tr_result res;

		frame.len -= 10;
		snap(&want);
		if (fx_run_expect(&fx, &frame, XDP_DROP, &res)) {
			want.c.action[MERIDIAN_ACT_DROP]++;
			want.c.drop[MERIDIAN_DROP_MALFORMED]++;
			fx_check_counters(&fx, &want);
		}
	}
	tr_case_end();

	tr_case_begin("ethernet padding is not tunnelled");
	if (!fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 1102, 80, 0)) {
		static const struct encap_case c = {
			.vip = 1, .backend_addr = "198.19.0.10",
			.outer_src = FX_TUNNEL4, .link = LINK_IN,
			.action = XDP_TX
		};
		struct pkt padded = frame, unpadded = frame;
		struct tr_result res;
		struct pkt expect;

		memset(padded.data + padded.len, 0, 60 - padded.len);
		padded.len = 60;
		if (fx_run_expect(&fx, &padded, XDP_TX, &res) &&
		    !fx_expect_encap(&expect, &unpadded, PKT_ETH_HLEN,
				     c.outer_src, c.backend_addr, &fx.env.in,
				     &res))
			tr_check_bytes(res.data, res.len, expect.data,
				       expect.len, "output");
	}
	tr_case_end();
}

/* --- flow affinity -------------------------------------------------------- */

static bool run_flow(const char *src, uint16_t sport, uint32_t action,
		     char *dst, size_t len)
{
	struct tr_result res;
	struct pkt frame;

	if (fx_simple(&frame, src, VIP4, IPPROTO_TCP, sport, 80, 0))
		return tr_check(false, "build");
	if (!fx_run_expect(&fx, &frame, action, &res))
		return false;
	fx_outer_dst(&res, dst, len);
	return true;
}

/* Runs one flow whatever the verdict; the outer destination goes to dst. */
static uint32_t run_any(const char *src, uint16_t sport, char *dst,
			size_t len)
{
	struct tr_result res;
	struct pkt frame;

	snprintf(dst, len, "(none)");
	if (fx_simple(&frame, src, VIP4, IPPROTO_TCP, sport, 80, 0) ||
	    tr_run(fx.prog, frame.data, frame.len, &res))
		return (uint32_t)-1;
	fx_outer_dst(&res, dst, len);
	return res.retval;
}

static void test_lru(void)
{
	const uint32_t b0 = 0, b1 = 1;
	char first[64], again[64], other[64];
	struct fx_snap before, after;
	uint16_t sport;

	tr_case_begin("lru hit keeps its backend after the ring changes");
	fx_table_one(&fx, 1, 0, 0, 1);
	for (sport = 3000; sport < 3100; sport++) {
		if (!run_flow(FX_CLIENT4, sport, XDP_TX, first, sizeof(first)))
			break;
		if (!strcmp(first, "198.19.0.10"))
			break;
	}
	tr_check(!strcmp(first, "198.19.0.10"), "no flow hashed to 0");
	/* The ring now holds backend 1 only; the flow must stay on 0. */
	tr_check(fx_ring(&fx, 1, &b1, 1) == 0, "ring swap");
	snap(&before);
	run_flow(FX_CLIENT4, sport, XDP_TX, again, sizeof(again));
	snap(&after);
	tr_check(!strcmp(again, first), "flow moved to %s", again);
	tr_check(after.c.lru_hit == before.c.lru_hit + 1, "no lru hit");
	run_flow(FX_CLIENT4, sport + 1000, XDP_TX, other, sizeof(other));
	tr_check(!strcmp(other, "198.19.0.11"), "new flow went to %s", other);
	tr_case_end();

	tr_case_begin("a dead backend's flow re-picks at once");
	tr_check(meridian_backend_set_up(&fx.m, b0, false) == 0, "set down");
	snap(&before);
	run_flow(FX_CLIENT4, sport, XDP_TX, again, sizeof(again));
	snap(&after);
	tr_check(!strcmp(again, "198.19.0.11"), "flow went to %s", again);
	tr_check(after.c.lru_repick == before.c.lru_repick + 1, "no re-pick");
	tr_check(after.backend[b0].packets == before.backend[b0].packets,
		 "packet counted for the dead backend");
	/* The re-pick is remembered: the next packet is a plain hit. */
	run_flow(FX_CLIENT4, sport, XDP_TX, again, sizeof(again));
	snap(&before);
	tr_check(before.c.lru_hit == after.c.lru_hit + 1, "re-pick not kept");
	tr_check(meridian_backend_set_up(&fx.m, b0, true) == 0, "set up");
	tr_check(fx_ring(&fx, 1, (const uint32_t[]){ b0, b1 }, 2) == 0,
		 "ring restore");
	tr_case_end();
}

static void test_flood_guard(void)
{
	struct fx_snap before, after;
	struct meridian_flow_key k = { .proto = IPPROTO_TCP,
				       .family = MERIDIAN_AF_INET };
	struct meridian_flow flow;
	char dst[64];
	int i, remembered = 0;

	tr_case_begin("flood guard: new flows over the limit stay out of lru");
	fx_config(&fx, 0, 3);
	fx_table_one(&fx, 1, 0, 0, 1);
	snap(&before);
	for (i = 0; i < 6; i++)
		run_flow("198.18.8.1", 4000 + i, XDP_TX, dst, sizeof(dst));
	snap(&after);
	tr_check(after.c.lru_skip - before.c.lru_skip == 3, "skipped %llu",
		 (unsigned long long)(after.c.lru_skip - before.c.lru_skip));
	tr_check(after.c.action[MERIDIAN_ACT_TX] -
				 before.c.action[MERIDIAN_ACT_TX] == 6,
		 "every flow still steered");
	pkt_addr("198.18.8.1", (uint8_t *)k.src);
	pkt_addr(VIP4, (uint8_t *)k.dst);
	k.dport = htons(80);
	for (i = 0; i < 6; i++) {
		k.sport = htons(4000 + i);
		remembered += meridian_flow_lookup(&fx.m, &k, &flow) == 0;
	}
	tr_check(remembered == 3, "%d flows in the lru, want 3", remembered);
	fx_config(&fx, 0, 0);
	tr_case_end();
}

/* --- ring fallback: a down backend's slots go to the next up one ------ */

static const struct encap_case to_b1 = {
	.vip = 1, .region = 0, .backend = 1, .backend_addr = "198.19.0.11",
	.outer_src = FX_TUNNEL4, .link = LINK_IN, .action = XDP_TX
};

static void flow_key_of(struct meridian_flow_key *k, const char *src,
			uint16_t sport)
{
	memset(k, 0, sizeof(*k));
	pkt_addr(src, (uint8_t *)k->src);
	pkt_addr(VIP4, (uint8_t *)k->dst);
	k->sport = htons(sport);
	k->dport = htons(80);
	k->proto = IPPROTO_TCP;
	k->family = MERIDIAN_AF_INET;
}

/* First source port from `from` whose new flow lands on addr. */
static uint16_t sport_to(const char *src, uint16_t from, const char *addr)
{
	char dst[64];
	uint16_t sport;

	for (sport = from; sport < from + 200; sport++)
		if (run_flow(src, sport, XDP_TX, dst, sizeof(dst)) &&
		    !strcmp(dst, addr))
			return sport;
	tr_check(false, "no flow from %s reached %s", src, addr);
	return 0;
}

static void set_up(uint32_t id, bool up)
{
	tr_check(meridian_backend_set_up(&fx.m, id, up) == 0, "backend %u %s",
		 id, up ? "up" : "down");
}

static void test_ring_fallback_exact(void)
{
	struct meridian_flow_key k;
	uint16_t sport;
	struct pkt frame;

	tr_case_begin("ring slot of a down backend: next up backend, new flow");
	fx_table_one(&fx, 1, 0, 0, 1);
	sport = sport_to(FX_CLIENT4, 3200, "198.19.0.10");
	/* Forgotten, so the ring (unchanged, still naming 0) decides. */
	flow_key_of(&k, FX_CLIENT4, sport);
	tr_check(meridian_flow_delete(&fx.m, &k) == 0, "flow delete");
	set_up(0, false);
	if (sport && !fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, sport,
				80, 0)) {
		expect_encap(&frame, PKT_ETH_HLEN, &to_b1, LRU_MISS);
		tr_case_end();
		tr_case_begin("ring slot of a down backend: the pick is kept");
		expect_encap(&frame, PKT_ETH_HLEN, &to_b1, LRU_HIT);
	}
	set_up(0, true);
	tr_case_end();

	tr_case_begin("remembered on a backend now down: re-picks, ring as is");
	sport = sport_to(FX_CLIENT4, 3400, "198.19.0.10");
	set_up(0, false);
	if (sport && !fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, sport,
				80, 0)) {
		expect_encap(&frame, PKT_ETH_HLEN, &to_b1, LRU_REPICK);
		/* Up again, the flow stays where it went. */
		set_up(0, true);
		expect_encap(&frame, PKT_ETH_HLEN, &to_b1, LRU_HIT);
	}
	set_up(0, true);
	tr_case_end();
}

static void test_ring_all_down(void)
{
	struct fx_snap want;
	struct tr_result res;
	uint16_t sport;
	struct pkt frame;

	tr_case_begin("every backend of the ring down: dropped, no_backend");
	fx_table_one(&fx, 1, 0, 0, 1);
	sport = sport_to(FX_CLIENT4, 3600, "198.19.0.11");
	set_up(0, false);
	set_up(1, false);
	if (!fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 3599, 80, 0))
		expect_drop(&frame, 1, MERIDIAN_DROP_NO_BACKEND, true);
	/* A remembered flow re-picks and finds nobody either. */
	if (sport && !fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, sport,
				80, 0)) {
		snap(&want);
		if (fx_run_expect(&fx, &frame, XDP_DROP, &res)) {
			want.c.action[MERIDIAN_ACT_DROP]++;
			want.c.drop[MERIDIAN_DROP_NO_BACKEND]++;
			want.c.lru_repick++;
			want.vip[1].packets++;
			want.vip[1].bytes += frame.len;
			fx_check_counters(&fx, &want);
		}
	}
	set_up(0, true);
	set_up(1, true);
	tr_case_end();
}

/*
 * Five backends, flows remembered, then one goes down with the ring as it
 * is: its flows spread over the other four, and no other flow moves.
 */
#define SPREAD_FLOWS 3000
#define SPREAD_RING 9
#define SPREAD_N 5
#define SPREAD_DEAD 2 /* index into spread_ids */

static const uint32_t spread_ids[SPREAD_N] = { 0, 1, 9, 10, 11 };

static int spread_index(const char *dst)
{
	static const char *const addr[SPREAD_N] = {
		"198.19.0.10", "198.19.0.11", "198.19.0.12", "198.19.0.13",
		"198.19.0.14"
	};
	int i;

	for (i = 0; i < SPREAD_N; i++)
		if (!strcmp(dst, addr[i]))
			return i;
	return -1;
}

static void spread_src(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "198.18.%u.%u", 30 + i / 250, 1 + i % 250);
}

static void test_ring_spread(void)
{
	static signed char first[SPREAD_FLOWS];
	unsigned int i, moved = 0, strays = 0, got[SPREAD_N] = { 0 };
	struct fx_snap before, after;
	char src[32], dst[64];
	int b;

	tr_case_begin("one of %d backends down: its flows spread, none to it",
		      SPREAD_N);
	if (fx_backend(&fx, 9, "198.19.0.12", 0, true) ||
	    fx_backend(&fx, 10, "198.19.0.13", 0, true) ||
	    fx_backend(&fx, 11, "198.19.0.14", 0, true) ||
	    fx_ring(&fx, SPREAD_RING, spread_ids, SPREAD_N) ||
	    fx_table_one(&fx, 1, 0, 0, SPREAD_RING)) {
		tr_check(false, "setup");
		tr_case_end();
		return;
	}
	for (i = 0; i < SPREAD_FLOWS; i++) {
		spread_src(i, src, sizeof(src));
		run_any(src, 9000, dst, sizeof(dst));
		first[i] = spread_index(dst);
	}
	set_up(spread_ids[SPREAD_DEAD], false);
	snap(&before);
	for (i = 0; i < SPREAD_FLOWS; i++) {
		spread_src(i, src, sizeof(src));
		if (run_any(src, 9000, dst, sizeof(dst)) != XDP_TX)
			continue;
		b = spread_index(dst);
		if (first[i] != SPREAD_DEAD) {
			strays += b != first[i];
			continue;
		}
		moved++;
		if (b >= 0)
			got[b]++;
	}
	snap(&after);
	printf("    %u flows left backend %u: %u %u %u %u on the others\n",
	       moved, spread_ids[SPREAD_DEAD], got[0], got[1], got[3], got[4]);
	tr_check(moved > SPREAD_FLOWS / SPREAD_N / 2, "only %u flows on it",
		 moved);
	tr_check(after.c.lru_repick - before.c.lru_repick == moved,
		 "%llu re-picks for %u moved flows",
		 (unsigned long long)(after.c.lru_repick - before.c.lru_repick),
		 moved);
	tr_check(after.c.action[MERIDIAN_ACT_TX] -
				 before.c.action[MERIDIAN_ACT_TX] ==
			 SPREAD_FLOWS,
		 "not every flow steered");
	tr_check(got[SPREAD_DEAD] == 0, "%u flows to the down backend",
		 got[SPREAD_DEAD]);
	tr_check(strays == 0, "%u flows of up backends moved", strays);
	for (b = 0; b < SPREAD_N; b++)
		if (b != SPREAD_DEAD)
			tr_check(got[b] > moved / (SPREAD_N - 1) / 2,
				 "backend %u took %u of %u", spread_ids[b],
				 got[b], moved);
	set_up(spread_ids[SPREAD_DEAD], true);
	fx_table_one(&fx, 1, 0, 0, 1);
	tr_case_end();
}

/* --- the flow cache ------------------------------------------------------ */

#define SET_FLOWS 5

struct set_flow {
	char src[32];
	uint16_t sport;
	struct meridian_flow_key key;
};

/* SET_FLOWS flows of VIP4 tcp/80 whose hashes pick one cache set. */
static int same_set_flows(struct set_flow *f, uint32_t *set_idx)
{
	unsigned int host, n = 0;
	uint32_t sport;

	for (host = 1; host < 250 && n < SET_FLOWS; host++) {
		for (sport = 1024; sport < 65536 && n < SET_FLOWS; sport++) {
			struct set_flow *c = &f[n];
			uint32_t idx;

			snprintf(c->src, sizeof(c->src), "198.18.40.%u", host);
			c->sport = (uint16_t)sport;
			flow_key_of(&c->key, c->src, c->sport);
			idx = flow_set_index(hash_flow(&c->key, 1));
			if (n == 0)
				*set_idx = idx;
			if (idx == *set_idx)
				n++;
		}
	}
	return n == SET_FLOWS ? 0 : -ENOENT;
}

static bool cached(const struct set_flow *f)
{
	struct meridian_flow flow;

	return meridian_flow_lookup(&fx.m, &f->key, &flow) == 0;
}

static void send_set_flow(const struct set_flow *f)
{
	char dst[64];

	run_flow(f->src, f->sport, XDP_TX, dst, sizeof(dst));
}

/* Ages the ways of set idx by the given jiffies (0: as they are). */
static int age_set(uint32_t idx, const uint32_t *age)
{
	struct meridian_flow_set set;
	int w, err;

	err = bpf_map_lookup_elem(fx.m.flows, &idx, &set);
	for (w = 0; !err && w < MERIDIAN_FLOW_WAYS; w++)
		set.stamp[w] -= age[w];
	return err ?: bpf_map_update_elem(fx.m.flows, &idx, &set, BPF_ANY);
}

/* The way of set idx holding f, or -1. */
static int way_of(uint32_t idx, const struct set_flow *f)
{
	struct meridian_flow_set set;
	int w;

	if (bpf_map_lookup_elem(fx.m.flows, &idx, &set))
		return -1;
	for (w = 0; w < MERIDIAN_FLOW_WAYS; w++)
		if ((set.tag[w] & MERIDIAN_FLOW_TAG_VALID) &&
		    !memcmp(&set.way[w].key, &f->key, sizeof(f->key)))
			return w;
	return -1;
}

static void test_cache_eviction(void)
{
	struct set_flow f[SET_FLOWS];
	uint32_t idx, age[MERIDIAN_FLOW_WAYS] = { 0 };
	int i;

	tr_case_begin("full set: a new flow evicts one never found again");
	fx_table_one(&fx, 1, 0, 0, 1);
	if (!tr_check(same_set_flows(f, &idx) == 0, "no flows share a set") ||
	    !tr_check(meridian_flows_clear(&fx.m) == 0, "clearing the cache")) {
		tr_case_end();
		return;
	}
	for (i = 0; i < 4; i++)
		send_set_flow(&f[i]);
	/* Flows 0-2 send a second packet; flow 3, the latest, does not. */
	for (i = 0; i < 3; i++)
		send_set_flow(&f[i]);
	send_set_flow(&f[4]);
	tr_check(!cached(&f[3]), "the flow never found again was kept");
	for (i = 0; i < 3; i++)
		tr_check(cached(&f[i]), "established flow %d evicted", i);
	tr_check(cached(&f[4]), "the new flow was not stored");
	tr_case_end();

	tr_case_begin("full set of established flows: the least recent goes");
	send_set_flow(&f[4]); /* now found again, like the others */
	/* Way ages: flow 1 the oldest use, then 0, 2, 4. */
	age[way_of(idx, &f[0]) & 3] = 200;
	age[way_of(idx, &f[1]) & 3] = 300;
	age[way_of(idx, &f[2]) & 3] = 100;
	tr_check(age_set(idx, age) == 0, "ageing the set");
	send_set_flow(&f[3]);
	tr_check(!cached(&f[1]), "the least recently used flow was kept");
	tr_check(cached(&f[0]) && cached(&f[2]) && cached(&f[4]) &&
			 cached(&f[3]),
		 "another flow was evicted");
	tr_case_end();
}

static void test_cache_syn(void)
{
	const uint32_t b1 = 1;
	struct meridian_flow_key k;
	struct meridian_flow flow;
	struct fx_snap before, after;
	struct tr_result res;
	struct pkt_ip ip = { .src = FX_CLIENT4, .dst = VIP4, .frag = PKT_DF };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .dport = 80,
			     .tcp_flags = PKT_TCP_SYN };
	uint32_t idx;
	uint16_t sport;
	struct pkt frame;
	char dst[64];
	int ways = 0, w;

	tr_case_begin("a SYN on a known tuple follows the tables, in place");
	fx_table_one(&fx, 1, 0, 0, 1);
	sport = sport_to(FX_CLIENT4, 3800, "198.19.0.10");
	tr_check(fx_ring(&fx, 1, &b1, 1) == 0, "ring swap");
	l4.sport = sport;
	snap(&before);
	if (sport && !fx_frame(&frame, &ip, &l4) &&
	    fx_run_expect(&fx, &frame, XDP_TX, &res))
		tr_check(!strcmp(fx_outer_dst(&res, dst, sizeof(dst)),
				 "198.19.0.11"),
			 "the SYN went to %s", dst);
	snap(&after);
	tr_check(after.c.lru_miss == before.c.lru_miss + 1, "not a miss");
	flow_key_of(&k, FX_CLIENT4, sport);
	idx = flow_set_index(hash_flow(&k, 1));
	for (w = 0; w < MERIDIAN_FLOW_WAYS; w++) {
		struct meridian_flow_set set;

		if (!bpf_map_lookup_elem(fx.m.flows, &idx, &set) &&
		    (set.tag[w] & MERIDIAN_FLOW_TAG_VALID) &&
		    !memcmp(&set.way[w].key, &k, sizeof(k)))
			ways++;
	}
	tr_check(ways == 1, "the tuple holds %d ways", ways);
	tr_check(meridian_flow_lookup(&fx.m, &k, &flow) == 0 &&
			 flow.backend == 1,
		 "the cache still names backend %u", flow.backend);
	if (run_flow(FX_CLIENT4, sport, XDP_TX, dst, sizeof(dst)))
		tr_check(!strcmp(dst, "198.19.0.11"), "the ACK went to %s",
			 dst);
	tr_check(fx_ring(&fx, 1, (const uint32_t[]){ 0, 1 }, 2) == 0,
		 "ring restore");
	tr_case_end();
}

/* --- regions ---------------------------------------------------------------- */

static void test_class_regions(void)
{
	char dst[64];

	tr_case_begin("region chosen by source class (ipv4)");
	fx_class(&fx, "198.18.60.0", 24, 1, 0, 0, 0);
	fx_table_one(&fx, 1, 0, 0, 0);
	fx_table_one(&fx, 1, 1, 1, 2);
	if (run_flow("198.18.60.5", 5000, XDP_REDIRECT, dst, sizeof(dst)))
		tr_check(!strcmp(dst, "198.19.1.10"), "class 1 went to %s",
			 dst);
	if (run_flow("198.18.61.5", 5000, XDP_TX, dst, sizeof(dst)))
		tr_check(!strcmp(dst, "198.19.0.10"), "class 0 went to %s",
			 dst);
	tr_case_end();

	tr_case_begin("region chosen by source class (ipv6)");
	fx_class(&fx, "2001:db8:60::", 48, 1, 0, 0, 0);
	fx_table_one(&fx, 4, 0, 2, 4);
	fx_table_one(&fx, 4, 1, 5, 8);
	{
		struct tr_result res;
		struct pkt frame;

		fx_simple(&frame, "2001:db8:60::5", VIP6, IPPROTO_TCP, 5000,
			  443, 0);
		if (fx_run_expect(&fx, &frame, XDP_REDIRECT, &res))
			tr_check(!strcmp(fx_outer_dst(&res, dst, sizeof(dst)),
					 "2001:db8:101::10"),
				 "class 1 went to %s", dst);
		fx_simple(&frame, "2001:db8:61::5", VIP6, IPPROTO_TCP, 5000,
			  443, 0);
		if (fx_run_expect(&fx, &frame, XDP_TX, &res))
			tr_check(!strcmp(fx_outer_dst(&res, dst, sizeof(dst)),
					 "2001:db8:100::10"),
				 "class 0 went to %s", dst);
	}
	tr_case_end();
}

static int empty_table(uint32_t vip, uint32_t cls, uint32_t flags)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { 0 };
	uint16_t ring[MERIDIAN_MAX_REGIONS];
	int i;

	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		ring[i] = MERIDIAN_RING_NONE;
	return fx_table(&fx, vip, cls, weight, ring, flags);
}

static void test_residency(void)
{
	struct fx_snap want;
	struct tr_result res;
	struct pkt frame;

	tr_case_begin("strict residency, every allowed region down: dropped");
	fx_class(&fx, "198.18.62.0", 24, 2, 0, 0, 0);
	empty_table(1, 2, MERIDIAN_RT_STRICT);
	fx_simple(&frame, "198.18.62.9", VIP4, IPPROTO_TCP, 6000, 80, 0);
	expect_drop(&frame, 1, MERIDIAN_DROP_RESIDENCY, true);
	tr_case_end();

	tr_case_begin("no region at all, vip drops: no_region");
	fx_class(&fx, "198.18.63.0", 24, 3, 0, 0, 0);
	empty_table(1, 3, 0);
	fx_simple(&frame, "198.18.63.9", VIP4, IPPROTO_TCP, 6001, 80, 0);
	expect_drop(&frame, 1, MERIDIAN_DROP_NO_REGION, true);
	tr_case_end();

	tr_case_begin("no region at all, vip passes to the local stack");
	fx_vip(&fx, 3, VIP4_WILD, IPPROTO_TCP, 0, MERIDIAN_VIP_NOREGION_PASS);
	empty_table(3, 3, 0);
	fx_simple(&frame, "198.18.63.9", VIP4_WILD, IPPROTO_TCP, 6002, 22, 0);
	snap(&want);
	if (fx_run_expect(&fx, &frame, XDP_PASS, &res)) {
		tr_check_bytes(res.data, res.len, frame.data, frame.len,
			       "output");
		want.c.action[MERIDIAN_ACT_PASS_NOREGION]++;
		want.c.lru_miss++;
		want.vip[3].packets++;
		want.vip[3].bytes += frame.len;
		fx_check_counters(&fx, &want);
	}
	fx_vip(&fx, 3, VIP4_WILD, IPPROTO_TCP, 0, 0);
	tr_case_end();

	tr_case_begin("vip without a region table: dropped, no_table");
	fx_simple(&frame, FX_CLIENT4, VIP4_ADDRS, IPPROTO_UDP, 6003, 9, 0);
	expect_drop(&frame, 6, MERIDIAN_DROP_NO_TABLE, true);
	tr_case_end();
}

static void test_weights(void)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { [0] = 90, [1] = 10 };
	uint16_t ring[MERIDIAN_MAX_REGIONS];
	struct fx_snap before, after;
	unsigned int n = 4000, i, r1 = 0;
	char src[32], dst[64];
	double share;

	tr_case_begin("weights 90/10 honoured over %u flows", n);
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		ring[i] = MERIDIAN_RING_NONE;
	ring[0] = 1;
	ring[1] = 3;
	fx_table(&fx, 1, 0, weight, ring, 0);
	snap(&before);
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "198.18.%u.%u", 10 + i / 250,
			 1 + i % 250);
		if (run_any(src, 7000, dst, sizeof(dst)) == XDP_REDIRECT &&
		    !strncmp(dst, "198.19.1.", 9))
			r1++;
	}
	snap(&after);
	share = (double)r1 / n;
	printf("    region 1 took %u of %u flows (%.2f %%, weight 10 %%)\n",
	       r1, n, 100 * share);
	tr_check(share > 0.08 && share < 0.12, "share %.3f", share);
	tr_check(after.region[1].packets - before.region[1].packets == r1,
		 "region 1 counter disagrees");
	tr_check(after.region[0].packets - before.region[0].packets == n - r1,
		 "region 0 counter disagrees");
	tr_case_end();
}

static void test_home_pinning(void)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { [0] = 1, [1] = 1 };
	uint16_t ring[MERIDIAN_MAX_REGIONS];
	unsigned int client, flow, used[2] = { 0 }, split = 0;
	char src[32], dst[64];

	tr_case_begin("home pinning: every flow of a client prefix, one region");
	for (client = 0; client < MERIDIAN_MAX_REGIONS; client++)
		ring[client] = MERIDIAN_RING_NONE;
	ring[0] = 1;
	ring[1] = 3;
	fx_class(&fx, "198.18.128.0", 18, 4, MERIDIAN_CLASS_PIN_HOME, 24, 56);
	fx_table(&fx, 1, 4, weight, ring, 0);
	for (client = 0; client < 32; client++) {
		int region = -1;

		for (flow = 0; flow < 16; flow++) {
			int r;

			snprintf(src, sizeof(src), "198.18.%u.%u",
				 128 + client, 1 + flow * 7);
			run_any(src, 8000 + flow * 13, dst, sizeof(dst));
			r = !strncmp(dst, "198.19.1.", 9);
			if (region >= 0 && r != region)
				split++;
			region = r;
		}
		used[region]++;
	}
	tr_check(split == 0, "%u flows left their client's home region",
		 split);
	{
		/* Stored under the class-free tuple hash userspace computes. */
		struct meridian_flow_key k;
		struct meridian_flow flow;

		flow_key_of(&k, "198.18.128.1", 8000);
		tr_check(meridian_flow_lookup(&fx.m, &k, &flow) == 0,
			 "a pinned flow is not under its tuple hash");
	}
	tr_check(used[0] && used[1], "homes: %u in region 0, %u in region 1",
		 used[0], used[1]);
	tr_case_end();
}

int main(void)
{
	int err = fx_setup(&fx);

	if (!err)
		err = fx_topology(&fx);
	if (fx_setup_failed(&fx, err))
		return tr_summary();
	test_encap_table();
	test_not_vip();
	test_fib_failure();
	test_malformed();
	test_lru();
	test_flood_guard();
	test_ring_fallback_exact();
	test_ring_all_down();
	test_ring_spread();
	test_cache_eviction();
	test_cache_syn();
	test_class_regions();
	test_residency();
	test_weights();
	test_home_pinning();
	fx_teardown(&fx);
	return tr_summary();
}
