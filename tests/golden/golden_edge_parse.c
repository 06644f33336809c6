// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden-packet tests of bpf/edge.bpf.o for parsing and robustness: VLAN
 * tags, IPv4 options, IPv6 extension-header chains and fragments, with
 * exact output bytes, verdicts and every counter; then truncation at every
 * offset, random mutations and random frames against the invariants
 * "never XDP_ABORTED" and "the output is the input untouched, exactly its
 * encapsulation, or a well-formed reply". The topology is in
 * edge_fixture.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edge_fixture.h"

static struct fx fx;
static const uint8_t in_mac[6] = TR_IN_MAC;
static const uint8_t in_peer_mac[6] = TR_IN_PEER_MAC;
static uint8_t payload[2048];
static uint16_t next_sport = 20000;

#define L3_OFF(tags) (PKT_ETH_HLEN + PKT_VLAN_HLEN * (tags))

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Every exact case is a new flow: an LRU miss, whatever ran before. */
static uint16_t fresh_port(void)
{
	return next_sport++;
}

/* The open case's name, which the frames it keeps for sweeps carry. */
static char case_name[128];
static int kept_in_case;

static void begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	kept_in_case = 0;
	tr_case_begin("%s", case_name);
}

/* Frames of the exact cases, truncated at every offset later. */
struct named_frame {
	char name[192];
	struct pkt p;
};

#define MAX_SWEEP 96
static struct named_frame sweep_frames[MAX_SWEEP];
static int n_sweep;

static bool kept_already(const struct pkt *p)
{
	int i;

	for (i = 0; i < n_sweep; i++)
		if (sweep_frames[i].p.len == p->len &&
		    !memcmp(sweep_frames[i].p.data, p->data, p->len))
			return true;
	return false;
}

static void keep_for_sweep(const struct pkt *p, const char *what)
{
	struct named_frame *f = &sweep_frames[n_sweep];

	if (n_sweep == MAX_SWEEP || kept_already(p))
		return;
	n_sweep++;
	kept_in_case++;
	f->p = *p;
	if (what)
		snprintf(f->name, sizeof(f->name), "%s: %s", case_name, what);
	else if (kept_in_case > 1)
		snprintf(f->name, sizeof(f->name), "%s [%d]", case_name,
			 kept_in_case);
	else
		snprintf(f->name, sizeof(f->name), "%s", case_name);
}

static void snap(struct fx_snap *s)
{
	tr_check(fx_snap(&fx, s) == 0, "reading counters");
}

/* --- tables and expectations ---------------------------------------------- */

/* Where a VIP's packets go with the tables of set_default_tables. */
struct steer_want {
	uint32_t vip;
	uint32_t backend;
	uint8_t region;
	const char *backend_addr;
	const char *outer_src;
};

#define TO_B0(vip_id) { vip_id, 0, 0, "198.19.0.10", FX_TUNNEL4 }
#define TO_B4(vip_id) { vip_id, 4, 2, "2001:db8:100::10", FX_TUNNEL6 }

/* One backend per port-hashed VIP, so every output is known exactly. */
static int set_default_tables(void)
{
	static const struct {
		uint32_t vip;
		uint8_t region;
		uint16_t ring;
	} t[] = { { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 }, { 4, 2, 4 },
		  { 5, 2, 4 }, { 6, 0, 1 }, { 7, 2, 5 } };
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < sizeof(t) / sizeof(t[0]); i++)
		err = fx_table_one(&fx, t[i].vip, 0, t[i].region, t[i].ring);
	return err;
}

/* A client frame from the "in" peer with n_vlan tags, outermost first. */
static int client_frame(struct pkt *frame, const struct pkt_ip *ip,
			const struct pkt_l4 *l4, int n_vlan,
			uint16_t outer_tpid)
{
	struct pkt_eth eth = { .n_vlan = n_vlan,
			       .vlan_tpid = { outer_tpid, 0x8100 },
			       .vlan_tci = { 0x2064, 0x00c8 } };

	memcpy(eth.dst, in_mac, 6);
	memcpy(eth.src, in_peer_mac, 6);
	return pkt_build(frame, &eth, ip, l4);
}

static bool built(int err)
{
	return tr_check(err == 0, "building the frame: %d", err);
}

/* Runs frame, expects it encapsulated (XDP_TX) exactly; every counter. */
static void expect_steer(const struct pkt *frame, size_t l3_off,
			 const struct steer_want *w, bool lru_hit)
{
	struct tr_result res;
	struct fx_snap want;
	struct pkt expect;
	char why[160];

	keep_for_sweep(frame, NULL);
	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_TX, &res))
		return;
	if (!tr_check(fx_expect_encap(&expect, frame, l3_off, w->outer_src,
				      w->backend_addr, &fx.env.in, &res) == 0,
		      "building the expected frame"))
		return;
	tr_check_bytes(res.data, res.len, expect.data, expect.len, "output");
	tr_check(pkt_check_frame(res.data, res.len, why, sizeof(why)) == 0,
		 "output malformed: %s", why);
	fx_want_steered(&want, w->vip, w->backend, w->region, frame->len,
		     expect.len);
	want.c.action[MERIDIAN_ACT_TX]++;
	if (lru_hit)
		want.c.lru_hit++;
	else
		want.c.lru_miss++;
	fx_check_counters(&fx, &want);
}

static void expect_untouched(const struct pkt *frame)
{
	struct fx_snap want;
	struct tr_result res;

	keep_for_sweep(frame, NULL);
	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_PASS, &res))
		return;
	tr_check_bytes(res.data, res.len, frame->data, frame->len, "output");
	want.c.action[MERIDIAN_ACT_PASS_NONVIP]++;
	fx_check_counters(&fx, &want);
}

/* Dropped; vip counted unless the program stopped before the VIP stage. */
static void expect_drop(const struct pkt *frame, uint32_t vip,
			enum meridian_drop reason, bool vip_counted)
{
	struct fx_snap want;
	struct tr_result res;

	keep_for_sweep(frame, NULL);
	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_DROP, &res))
		return;
	want.c.action[MERIDIAN_ACT_DROP]++;
	want.c.drop[reason]++;
	if (vip_counted) {
		want.vip[vip].packets++;
		want.vip[vip].bytes += frame->len;
	}
	fx_check_counters(&fx, &want);
}

/* --- VLAN ----------------------------------------------------------------- */

static void test_vlan_steered(void)
{
	static const struct steer_want b0 = TO_B0(1), b4 = TO_B4(5);
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .frag = PKT_DF,
			      .tos = 0xb8, .id = 0x1234 };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6, .tos = 0x28,
			      .flow_label = 0xabcde };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .dport = 80,
			     .payload = payload, .payload_len = 48 };
	struct pkt frame;

	begin("vlan 802.1q, ipv4 tcp to the vip: encapsulated, tag gone");
	l4.sport = fresh_port();
	if (built(client_frame(&frame, &ip4, &l4, 1, 0)))
		expect_steer(&frame, L3_OFF(1), &b0, false);
	tr_case_end();

	begin("vlan 802.1q, second packet of the flow: lru hit");
	expect_steer(&frame, L3_OFF(1), &b0, true);
	tr_case_end();

	begin("vlan 802.1ad + 802.1q, ipv6 udp to the vip: "
	      "encapsulated, tags gone");
	l4.proto = IPPROTO_UDP;
	l4.sport = fresh_port();
	l4.dport = 443;
	if (built(client_frame(&frame, &ip6, &l4, 2, 0x88a8)))
		expect_steer(&frame, L3_OFF(2), &b4, false);
	tr_case_end();

	begin("vlan 802.1q + 802.1q, ipv4 tcp to the vip");
	l4.proto = IPPROTO_TCP;
	l4.sport = fresh_port();
	l4.dport = 80;
	if (built(client_frame(&frame, &ip4, &l4, 2, 0x8100)))
		expect_steer(&frame, L3_OFF(2), &b0, false);
	tr_case_end();
}

/* A third tag, in front of the IP ethertype: more than the parser walks. */
static int add_third_tag(struct pkt *frame)
{
	uint8_t *h = pkt_push(frame, PKT_VLAN_HLEN);

	if (!h)
		return -ENOSPC;
	memmove(h, h + PKT_VLAN_HLEN, 12);
	h[12] = 0x88;
	h[13] = 0xa8;
	h[14] = 0x00;
	h[15] = 0x0a;
	return 0;
}

static void test_vlan_untouched(void)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = "198.18.99.1" };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = 2000, .dport = 80,
			     .payload = payload, .payload_len = 20 };
	struct pkt_ip vip4 = { .src = FX_CLIENT4, .dst = VIP4 };
	struct pkt frame;

	begin("vlan 802.1q, ipv4 not for a vip: untouched");
	if (built(client_frame(&frame, &ip4, &l4, 1, 0)))
		expect_untouched(&frame);
	tr_case_end();

	begin("vlan 802.1ad + 802.1q, ipv6 udp to another port of "
	      "the vip: untouched");
	l4.proto = IPPROTO_UDP;
	l4.dport = 444;
	if (built(client_frame(&frame, &ip6, &l4, 2, 0x88a8)))
		expect_untouched(&frame);
	tr_case_end();

	begin("three vlan tags (more than walked), tcp to the vip: untouched");
	l4.proto = IPPROTO_TCP;
	l4.dport = 80;
	if (built(client_frame(&frame, &vip4, &l4, 2, 0x88a8)) &&
	    built(add_third_tag(&frame)))
		expect_untouched(&frame);
	tr_case_end();
}

/* --- IPv4 header ---------------------------------------------------------- */

/* NOP, then record route with room for one address. */
static const uint8_t opts_rr[8] = { 1, 7, 7, 4, 0, 0, 0, 0 };
/* Four NOPs, then a timestamp option with room for eight timestamps. */
static const uint8_t opts_ts[40] = { 1, 1, 1, 1, 68, 36, 5, 0 };

static void test_ipv4_options(void)
{
	static const struct steer_want tcp80 = TO_B0(1), udp53 = TO_B0(2);
	struct pkt_ip ip = { .src = FX_CLIENT4, .dst = VIP4, .frag = PKT_DF,
			     .opts = opts_rr, .opts_len = sizeof(opts_rr) };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .dport = 80,
			     .payload = payload, .payload_len = 30 };
	struct pkt frame;

	begin("ipv4 options, 8 bytes (nop, record route): "
	      "encapsulated, options kept");
	l4.sport = fresh_port();
	if (built(fx_frame(&frame, &ip, &l4)))
		expect_steer(&frame, PKT_ETH_HLEN, &tcp80, false);
	tr_case_end();

	begin("ipv4 options, 40 bytes (nops, timestamp), udp: "
	      "encapsulated, options kept");
	ip.opts = opts_ts;
	ip.opts_len = sizeof(opts_ts);
	l4.proto = IPPROTO_UDP;
	l4.sport = fresh_port();
	l4.dport = 53;
	if (built(fx_frame(&frame, &ip, &l4)))
		expect_steer(&frame, PKT_ETH_HLEN, &udp53, false);
	tr_case_end();

	begin("ipv4 options, 40 bytes, vlan tag: encapsulated");
	l4.sport = fresh_port();
	if (built(client_frame(&frame, &ip, &l4, 1, 0)))
		expect_steer(&frame, L3_OFF(1), &udp53, false);
	tr_case_end();
}

static void test_ipv4_bad_header(void)
{
	struct pkt_ip ip = { .src = FX_CLIENT4, .dst = VIP4 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = 2001, .dport = 80,
			     .payload = payload, .payload_len = 24 };
	struct pkt frame;

	begin("ipv4 ihl 4 (< 5) to the vip: untouched");
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[PKT_ETH_HLEN] = 0x44;
		pkt_ipv4_fix_csum(frame.data + PKT_ETH_HLEN);
		expect_untouched(&frame);
	}
	tr_case_end();

	begin("ipv4 ihl 0 to the vip: untouched");
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[PKT_ETH_HLEN] = 0x40;
		expect_untouched(&frame);
	}
	tr_case_end();

	/* 60 header bytes claimed, 20 + 20 in the frame. */
	begin("ipv4 ihl 15, beyond the frame, wildcard vip: untouched");
	ip.dst = VIP4_WILD;
	l4.payload_len = 0;
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[PKT_ETH_HLEN] = 0x4f;
		expect_untouched(&frame);
	}
	tr_case_end();

	begin("ipv4 ihl 6, the option cut by the frame end: untouched");
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[PKT_ETH_HLEN] = 0x46;
		frame.len = L3_OFF(0) + 22;
		expect_untouched(&frame);
	}
	tr_case_end();

	begin("ipv4 version 6 under ethertype 0x0800: untouched");
	l4.payload_len = 10;
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[PKT_ETH_HLEN] = 0x65;
		expect_untouched(&frame);
	}
	tr_case_end();
}

/*
 * For packets the edge must neither steer nor answer, where either
 * verdict is sound: passed on untouched (not ours to judge), or dropped
 * and counted as malformed (the VIP's traffic counter may or may not have
 * seen it, depending on where the program stops).
 */
static void expect_refused(const struct pkt *frame, uint32_t vip)
{
	struct fx_snap want, got;
	struct tr_result res;
	char dst[64];

	keep_for_sweep(frame, NULL);
	snap(&want);
	if (tr_run(fx.prog, frame->data, frame->len, &res)) {
		tr_check(false, "test run failed: %d", res.err);
		return;
	}
	if (res.retval == XDP_PASS) {
		tr_check_bytes(res.data, res.len, frame->data, frame->len,
			       "output");
		want.c.action[MERIDIAN_ACT_PASS_NONVIP]++;
	} else if (res.retval == XDP_DROP) {
		want.c.action[MERIDIAN_ACT_DROP]++;
		want.c.drop[MERIDIAN_DROP_MALFORMED]++;
		snap(&got);
		if (got.vip[vip].packets == want.vip[vip].packets + 1) {
			want.vip[vip].packets++;
			want.vip[vip].bytes += frame->len;
		}
	} else {
		tr_check(false, "%s, want XDP_PASS untouched or XDP_DROP; "
			 "outer destination %s",
			 tr_xdp_str(res.retval),
			 fx_outer_dst(&res, dst, sizeof(dst)));
		pkt_hexdump(stdout, "       in:  ", frame->data, frame->len);
		pkt_hexdump(stdout, "       out: ", res.data, res.len);
		return;
	}
	fx_check_counters(&fx, &want);
}

/*
 * The IP length ends before the L4 header; the ports sit in bytes after
 * the packet (Ethernet padding, for a short frame). They are not part of
 * it: steering by them tunnels a packet without its L4 header.
 */
static void test_l4_past_ip_length(void)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .frag = PKT_DF };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .dport = 80 };
	struct pkt frame;

	begin("ipv4 length 20, tcp header after it in the padding: not "
	      "steered");
	l4.sport = fresh_port();
	if (built(fx_frame(&frame, &ip4, &l4))) {
		frame.data[PKT_ETH_HLEN + 2] = 0;
		frame.data[PKT_ETH_HLEN + 3] = 20;
		pkt_ipv4_fix_csum(frame.data + PKT_ETH_HLEN);
		memset(frame.data + frame.len, 0, 60 - frame.len);
		frame.len = 60;
		expect_refused(&frame, 1);
	}
	tr_case_end();

	begin("ipv6 payload length 0, udp header after it: not steered");
	l4.proto = IPPROTO_UDP;
	l4.sport = fresh_port();
	l4.dport = 443;
	if (built(fx_frame(&frame, &ip6, &l4))) {
		frame.data[PKT_ETH_HLEN + 4] = 0;
		frame.data[PKT_ETH_HLEN + 5] = 0;
		expect_refused(&frame, 5);
	}
	tr_case_end();
}

/* --- IPv6 extension headers ----------------------------------------------- */

static void test_ipv6_ext(void)
{
	static const struct steer_want tcp443 = TO_B4(4), udp443 = TO_B4(5);
	struct pkt_ip ip = {
		.src = FX_CLIENT6, .dst = VIP6, .n_ext = 3,
		.ext = { { .type = IPPROTO_HOPOPTS },
			 { .type = IPPROTO_DSTOPTS, .len8 = 1 },
			 { .type = IPPROTO_ROUTING, .len8 = 2, .rt_type = 4 } },
	};
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .dport = 443,
			     .payload = payload, .payload_len = 40 };
	struct pkt frame;
	int i;

	begin("ipv6 hop-by-hop, destination options, routing "
	      "(segleft 0), tcp: encapsulated, chain kept");
	l4.sport = fresh_port();
	if (built(fx_frame(&frame, &ip, &l4)))
		expect_steer(&frame, PKT_ETH_HLEN, &tcp443, false);
	tr_case_end();

	begin("ipv6 six extension headers (as many as walked) with "
	      "ah, udp: encapsulated");
	ip.n_ext = 6;
	ip.ext[3] = (struct pkt_ext6){ .type = IPPROTO_AH, .len8 = 1 };
	ip.ext[4] = (struct pkt_ext6){ .type = IPPROTO_DSTOPTS };
	ip.ext[5] = (struct pkt_ext6){ .type = IPPROTO_DSTOPTS, .len8 = 2 };
	l4.proto = IPPROTO_UDP;
	l4.sport = fresh_port();
	if (built(client_frame(&frame, &ip, &l4, 1, 0)))
		expect_steer(&frame, L3_OFF(1), &udp443, false);
	tr_case_end();

	begin("ipv6 seven extension headers (more than walked): untouched");
	ip.n_ext = 7;
	for (i = 1; i < 7; i++)
		ip.ext[i] = (struct pkt_ext6){ .type = IPPROTO_DSTOPTS };
	l4.proto = IPPROTO_TCP;
	if (built(fx_frame(&frame, &ip, &l4)))
		expect_untouched(&frame);
	tr_case_end();

	begin("ipv6 seven extension headers, udp to the wildcard "
	      "vip: untouched");
	ip.dst = VIP6_ADDRS;
	l4.proto = IPPROTO_UDP;
	if (built(fx_frame(&frame, &ip, &l4)))
		expect_untouched(&frame);
	tr_case_end();
}

/* An options header whose length runs past the end of the frame. */
static void test_ipv6_ext_overrun(void)
{
	struct pkt_ip ip = { .src = FX_CLIENT6, .dst = VIP6, .n_ext = 2,
			     .ext = { { .type = IPPROTO_HOPOPTS },
				      { .type = IPPROTO_DSTOPTS } } };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = 2002,
			     .dport = 443, .payload = payload,
			     .payload_len = 8 };
	const size_t dst_len = PKT_ETH_HLEN + 40 + 8 + 1;
	struct pkt frame;

	begin("ipv6 destination options longer than the frame, "
	      "tcp vip: untouched");
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[dst_len] = 30;
		expect_untouched(&frame);
	}
	tr_case_end();

	begin("ipv6 destination options longer than the frame, "
	      "udp wildcard vip: dropped, malformed");
	ip.dst = VIP6_ADDRS;
	l4.proto = IPPROTO_UDP;
	if (built(fx_frame(&frame, &ip, &l4))) {
		frame.data[dst_len] = 30;
		expect_drop(&frame, 7, MERIDIAN_DROP_MALFORMED, false);
	}
	tr_case_end();
}

/* --- fragments ------------------------------------------------------------ */

/* An address-hashed VIP pointed at a ring of two backends. */
struct frag_vip {
	const char *name;
	const char *vip;
	uint32_t vip_id;
	uint8_t region;
	uint16_t ring;
	uint32_t backend[2];
	const char *backend_addr[2];
	const char *outer_src;
	const char *client_fmt;
	bool v6;
};

static const struct frag_vip frag_vip4 = {
	"ipv4", VIP4_ADDRS, 6, 0, 1, { 0, 1 },
	{ "198.19.0.10", "198.19.0.11" }, FX_TUNNEL4, "198.18.9.%u", false
};
static const struct frag_vip frag_vip6 = {
	"ipv6", VIP6_ADDRS, 7, 2, 5, { 4, 5 },
	{ "2001:db8:100::10", "2001:db8:100::11" }, FX_TUNNEL6,
	"2001:db8:9::%x", true
};

enum { FRAG_FIRST, FRAG_LATER, FRAG_WHOLE, FRAG_KINDS };
static const char *const frag_kind[] = { "first fragment", "later fragment",
					 "whole datagram" };

#define FRAG_CLIENTS 16
#define FRAG_UDP_LEN 56 /* header and 48 bytes, cut after 24 */
#define FRAG_SPLIT 24

static void set_frag(struct pkt_ip *ip, bool v6, unsigned int off8,
		     bool more, uint32_t ident)
{
	if (!v6) {
		ip->frag = PKT_FRAG_OFF(off8) | (more ? PKT_MF : 0);
		return;
	}
	ip->n_ext = 1;
	ip->ext[0] = (struct pkt_ext6){ .type = IPPROTO_FRAGMENT,
					.frag = PKT_FRAG6(off8, more),
					.ident = ident };
}

/* One UDP datagram whole, and cut in two fragments. */
static int frag_frames(struct pkt set[FRAG_KINDS], const char *client,
		       const char *vip, bool v6, uint16_t sport,
		       uint32_t ident)
{
	struct pkt_ip ip = { .src = client, .dst = vip, .id = ident };
	struct pkt_l4 udp = { .proto = IPPROTO_UDP, .sport = sport,
			      .dport = 4433, .payload = payload,
			      .payload_len = FRAG_UDP_LEN - 8 };
	struct pkt_l4 raw = { .proto = IPPROTO_UDP, .raw = true };
	const uint8_t *l4;
	int err;

	err = fx_frame(&set[FRAG_WHOLE], &ip, &udp);
	if (err)
		return err;
	l4 = set[FRAG_WHOLE].data + PKT_ETH_HLEN + (v6 ? 40 : 20);
	raw.payload = l4;
	raw.payload_len = FRAG_SPLIT;
	set_frag(&ip, v6, 0, true, ident);
	err = fx_frame(&set[FRAG_FIRST], &ip, &raw);
	if (err)
		return err;
	raw.payload = l4 + FRAG_SPLIT;
	raw.payload_len = FRAG_UDP_LEN - FRAG_SPLIT;
	set_frag(&ip, v6, FRAG_SPLIT / 8, false, ident);
	return fx_frame(&set[FRAG_LATER], &ip, &raw);
}

struct frag_seen {
	int backend; /* index into frag_vip.backend, or -1 */
	uint32_t hash; /* the flow hash remembered in the LRU */
	uint32_t label; /* IPv6 outer flow label */
};

static void frag_flow_key(const struct frag_vip *fv, const char *client,
			  struct meridian_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	pkt_addr(client, (uint8_t *)k->src);
	pkt_addr(fv->vip, (uint8_t *)k->dst);
	k->proto = IPPROTO_UDP;
	k->family = fv->v6 ? MERIDIAN_AF_INET6 : MERIDIAN_AF_INET;
}

static int backend_index(const struct frag_vip *fv, const char *dst)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!strcmp(dst, fv->backend_addr[i]))
			return i;
	return -1;
}

/*
 * Runs one frame of a client, as a new flow unless lru_hit: exact output
 * for the backend it went to, and every counter.
 */
static void frag_run(const struct frag_vip *fv, const struct pkt *frame,
		     const char *client, bool lru_hit, struct frag_seen *seen)
{
	struct meridian_flow_key key;
	struct meridian_flow flow;
	struct tr_result res;
	struct fx_snap want;
	struct pkt expect;
	char dst[64];
	int b;

	memset(seen, 0, sizeof(*seen));
	seen->backend = -1;
	frag_flow_key(fv, client, &key);
	if (!lru_hit)
		meridian_flow_delete(&fx.m, &key);
	snap(&want);
	if (!fx_run_expect(&fx, frame, XDP_TX, &res))
		return;
	b = backend_index(fv, fx_outer_dst(&res, dst, sizeof(dst)));
	if (!tr_check(b >= 0, "client %s: went to %s", client, dst))
		return;
	seen->backend = b;
	seen->label = get16(res.data + PKT_ETH_HLEN + 2) |
		      (res.data[PKT_ETH_HLEN + 1] & 0x0f) << 16;
	if (tr_check(fx_expect_encap(&expect, frame, PKT_ETH_HLEN,
				     fv->outer_src, fv->backend_addr[b],
				     &fx.env.in, &res) == 0,
		     "building the expected frame"))
		tr_check_bytes(res.data, res.len, expect.data, expect.len,
			       "output");
	if (tr_check(meridian_flow_lookup(&fx.m, &key, &flow) == 0,
		     "client %s: no lru entry", client))
		seen->hash = flow.hash;
	fx_want_steered(&want, fv->vip_id, fv->backend[b], fv->region,
		     frame->len, expect.len);
	want.c.action[MERIDIAN_ACT_TX]++;
	if (lru_hit)
		want.c.lru_hit++;
	else
		want.c.lru_miss++;
	fx_check_counters(&fx, &want);
}

/* Each kind, as the first packet of the flow, lands on one backend. */
static int frag_client(const struct frag_vip *fv, unsigned int client)
{
	struct frag_seen seen[FRAG_KINDS], again;
	struct pkt set[FRAG_KINDS];
	char src[64];
	int k;

	snprintf(src, sizeof(src), fv->client_fmt, client + 1);
	if (!built(frag_frames(set, src, fv->vip, fv->v6, 6000 + client,
			       0x100 + client)))
		return -1;
	for (k = 0; k < FRAG_KINDS; k++) {
		frag_run(fv, &set[k], src, false, &seen[k]);
		if (client == 0)
			keep_for_sweep(&set[k], frag_kind[k]);
	}
	for (k = 1; k < FRAG_KINDS; k++) {
		tr_check(seen[k].backend == seen[0].backend,
			 "client %s: %s to backend #%d, %s to #%d", src,
			 frag_kind[k], seen[k].backend, frag_kind[0],
			 seen[0].backend);
		tr_check(seen[k].hash == seen[0].hash,
			 "client %s: %s hashed %#x, %s %#x", src,
			 frag_kind[k], seen[k].hash, frag_kind[0],
			 seen[0].hash);
	}
	for (k = 0; fv->v6 && k < FRAG_KINDS; k++)
		tr_check(seen[k].label == (seen[k].hash & 0xfffff),
			 "client %s: %s flow label %#x, hash %#x", src,
			 frag_kind[k], seen[k].label, seen[k].hash);
	/* And remembered: the next fragment is an LRU hit. */
	frag_run(fv, &set[FRAG_LATER], src, true, &again);
	tr_check(again.backend == seen[0].backend,
		 "client %s: lru hit to backend #%d, first to #%d", src,
		 again.backend, seen[0].backend);
	return seen[0].backend;
}

static void test_fragments_agree(const struct frag_vip *fv)
{
	unsigned int used[2] = { 0 }, client;
	int b;

	begin("fragments, %s: first, later and whole datagram of %d "
	      "clients reach one backend",
	      fv->name, FRAG_CLIENTS);
	if (!tr_check(fx_table_one(&fx, fv->vip_id, 0, fv->region,
				   fv->ring) == 0,
		      "region table")) {
		tr_case_end();
		return;
	}
	for (client = 0; client < FRAG_CLIENTS; client++) {
		b = frag_client(fv, client);
		if (b >= 0)
			used[b]++;
	}
	printf("    %s: %u clients on %s, %u on %s\n", fv->name, used[0],
	       fv->backend_addr[0], used[1], fv->backend_addr[1]);
	tr_check(used[0] && used[1], "one backend took every client");
	tr_case_end();
}

/* TCP: header and 20 bytes (40, a multiple of 8), then 16 more bytes. */
static int tcp_frag_frames(struct pkt *first, struct pkt *later,
			   const char *src, const char *dst, uint16_t dport)
{
	struct pkt_ip ip = { .src = src, .dst = dst, .id = 77 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = fresh_port(),
			     .dport = dport, .payload = payload,
			     .payload_len = 20 };
	struct pkt_l4 raw = { .proto = IPPROTO_TCP, .raw = true,
			      .payload = payload, .payload_len = 16 };
	bool v6 = strchr(src, ':') != NULL;
	int err;

	set_frag(&ip, v6, 0, true, 77);
	err = fx_frame(first, &ip, &l4);
	if (err)
		return err;
	set_frag(&ip, v6, 5, false, 77);
	return fx_frame(later, &ip, &raw);
}

static void test_fragments_port_vips(void)
{
	struct pkt first, later;

	begin("fragments to a port-hashed wildcard vip (3): dropped, "
	      "counted as fragment");
	if (built(tcp_frag_frames(&first, &later, FX_CLIENT4, VIP4_WILD,
				  8080))) {
		expect_drop(&first, 3, MERIDIAN_DROP_FRAGMENT, true);
		expect_drop(&later, 3, MERIDIAN_DROP_FRAGMENT, true);
	}
	tr_case_end();

	begin("fragments to vip4 tcp/80 (no wildcard entry): untouched");
	if (built(tcp_frag_frames(&first, &later, FX_CLIENT4, VIP4, 80))) {
		expect_untouched(&first);
		expect_untouched(&later);
	}
	tr_case_end();

	begin("fragments to vip6 tcp/443 (no wildcard entry): untouched");
	if (built(tcp_frag_frames(&first, &later, FX_CLIENT6, VIP6, 443))) {
		expect_untouched(&first);
		expect_untouched(&later);
	}
	tr_case_end();
}

static void check_totals(const struct fx_snap *before,
			 const struct tr_sweep_stats *st);

/* First fragment: fragment, destination options, UDP; then 16 more bytes. */
static int dstopts_frag_frames(struct pkt *first, struct pkt *later,
			       const char *src)
{
	struct pkt_ip ip = {
		.src = src, .dst = VIP6_ADDRS, .n_ext = 2,
		.ext = { { .type = IPPROTO_FRAGMENT, .frag = PKT_FRAG6(0, 1),
			   .ident = 55 },
			 { .type = IPPROTO_DSTOPTS } },
	};
	struct pkt_l4 udp = { .proto = IPPROTO_UDP, .sport = 5300,
			      .dport = 53, .payload = payload,
			      .payload_len = 8 };
	struct pkt_l4 raw = { .proto = IPPROTO_DSTOPTS, .raw = true,
			      .payload = payload + 8, .payload_len = 16 };
	int err;

	err = fx_frame(first, &ip, &udp);
	if (err)
		return err;
	ip.n_ext = 1;
	ip.ext[0].frag = PKT_FRAG6(3, 0);
	return fx_frame(later, &ip, &raw);
}

static void same_treatment(const char *src, const struct tr_result *a,
			   const struct tr_result *b)
{
	char dst_a[64], dst_b[64];

	if (!tr_check(a->retval == b->retval,
		      "client %s: first fragment %s, later fragment %s", src,
		      tr_xdp_str(a->retval), tr_xdp_str(b->retval)))
		return;
	if (a->retval != XDP_TX)
		return;
	fx_outer_dst(a, dst_a, sizeof(dst_a));
	fx_outer_dst(b, dst_b, sizeof(dst_b));
	tr_check(!strcmp(dst_a, dst_b),
		 "client %s: first fragment to %s, later fragment to %s", src,
		 dst_a, dst_b);
}

/*
 * Destination options may follow the fragment header (RFC 8200, 4.1). In
 * a later fragment what follows it is fragment data, not a header. Where
 * the datagram goes is the program's choice, but all of it must go there.
 */
static void test_fragments_dstopts(void)
{
	static struct tr_result res[2];
	struct tr_sweep_stats st = { 0 };
	struct pkt first, later;
	struct fx_snap before;
	unsigned int client;
	char src[64];

	begin("ipv6 fragments with destination options after the fragment "
	      "header: every fragment treated alike");
	snap(&before);
	for (client = 0; client < 4; client++) {
		snprintf(src, sizeof(src), "2001:db8:9::1%x", client);
		if (!built(dstopts_frag_frames(&first, &later, src)))
			break;
		if (client == 0) {
			keep_for_sweep(&first, "first fragment");
			keep_for_sweep(&later, "later fragment");
		}
		if (tr_run(fx.prog, first.data, first.len, &res[0]) ||
		    tr_run(fx.prog, later.data, later.len, &res[1])) {
			tr_check(false, "test run failed");
			break;
		}
		st.runs += 2;
		st.by_action[res[0].retval % 5]++;
		st.by_action[res[1].retval % 5]++;
		same_treatment(src, &res[0], &res[1]);
	}
	check_totals(&before, &st);
	tr_case_end();
}

/* --- echo requests to a VIP ----------------------------------------------- */

/* The answer the edge builds: same L2 path back, VIP as the source. */
static int echo_reply_frame(struct pkt *want, const struct pkt_ip *req,
			    const struct pkt_l4 *l4, int n_vlan,
			    uint16_t outer_tpid)
{
	struct pkt_ip ip = *req;
	struct pkt_l4 icmp = *l4;
	struct pkt_eth eth = { .n_vlan = n_vlan,
			       .vlan_tpid = { outer_tpid, 0x8100 },
			       .vlan_tci = { 0x2064, 0x00c8 } };

	ip.src = req->dst;
	ip.dst = req->src;
	ip.ttl = 64;
	icmp.type = l4->proto == IPPROTO_ICMP ? 0 : 129;
	memcpy(eth.dst, in_peer_mac, 6);
	memcpy(eth.src, in_mac, 6);
	return pkt_build(want, &eth, &ip, &icmp);
}

static void expect_echo_reply(const struct pkt *frame, const struct pkt *want)
{
	struct fx_snap counters;
	struct tr_result res;

	keep_for_sweep(frame, NULL);
	snap(&counters);
	if (!fx_run_expect(&fx, frame, XDP_TX, &res))
		return;
	tr_check_bytes(res.data, res.len, want->data, want->len, "output");
	counters.c.action[MERIDIAN_ACT_ICMP_REPLY]++;
	counters.c.echo_reply++;
	fx_check_counters(&fx, &counters);
}

static void test_echo_vlan(void)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .id = 98,
			      .ttl = 57, .opts = opts_rr,
			      .opts_len = sizeof(opts_rr) };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6, .ttl = 50 };
	struct pkt_l4 l4 = { .proto = IPPROTO_ICMP, .type = 8, .echo_id = 7,
			     .echo_seq = 1, .payload = payload,
			     .payload_len = 32 };
	struct pkt frame, want;

	begin("echo request in an 802.1q tag, ipv4 options: answered, tag "
	      "kept");
	if (built(client_frame(&frame, &ip4, &l4, 1, 0)) &&
	    built(echo_reply_frame(&want, &ip4, &l4, 1, 0)))
		expect_echo_reply(&frame, &want);
	tr_case_end();

	begin("echo request in 802.1ad + 802.1q tags, ipv6: answered, tags "
	      "kept");
	l4.proto = IPPROTO_ICMPV6;
	l4.type = 128;
	if (built(client_frame(&frame, &ip6, &l4, 2, 0x88a8)) &&
	    built(echo_reply_frame(&want, &ip6, &l4, 2, 0x88a8)))
		expect_echo_reply(&frame, &want);
	tr_case_end();
}

/*
 * A ping larger than the MTU arrives in fragments. Answering the first
 * one alone sends back a fragment of a reply whose other fragments never
 * follow, while the later fragments wait for reassembly in the kernel.
 */
static void test_echo_fragmented(void)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .id = 99,
			      .frag = PKT_MF };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6 };
	struct pkt_l4 l4 = { .proto = IPPROTO_ICMP, .type = 8, .echo_id = 7,
			     .echo_seq = 2, .payload = payload,
			     .payload_len = 32 };
	struct pkt frame;

	begin("first fragment of an echo request to an echo vip (ipv4): "
	      "not answered");
	if (built(fx_frame(&frame, &ip4, &l4)))
		expect_refused(&frame, 1);
	tr_case_end();

	begin("first fragment of an echo request to an echo vip (ipv6): "
	      "not answered");
	set_frag(&ip6, true, 0, true, 99);
	l4.proto = IPPROTO_ICMPV6;
	l4.type = 128;
	if (built(fx_frame(&frame, &ip6, &l4)))
		expect_refused(&frame, 4);
	tr_case_end();
}

/* An answer would claim the same length, and carry less: malformed. */
static void test_echo_truncated(void)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .id = 97 };
	struct pkt_ip ip6 = { .src = FX_CLIENT6, .dst = VIP6 };
	struct pkt_l4 l4 = { .proto = IPPROTO_ICMP, .type = 8, .echo_id = 7,
			     .echo_seq = 3, .payload = payload,
			     .payload_len = 56 };
	struct pkt frame;

	begin("echo request whose ip length runs past the frame (ipv4): "
	      "not answered");
	if (built(fx_frame(&frame, &ip4, &l4))) {
		frame.len -= 20;
		expect_refused(&frame, 1);
	}
	tr_case_end();

	begin("echo request whose ip length runs past the frame (ipv6): "
	      "not answered");
	l4.proto = IPPROTO_ICMPV6;
	l4.type = 128;
	if (built(fx_frame(&frame, &ip6, &l4))) {
		frame.len -= 20;
		expect_refused(&frame, 4);
	}
	tr_case_end();
}

/* --- output invariants for sweeps, mutations and random frames ------------ */

static const char *const backend_addrs[] = {
	"198.19.0.10",	    "198.19.0.11",	"198.19.1.10",
	"198.19.1.11",	    "2001:db8:100::10", "2001:db8:100::11",
	TR_IN_NONEIGH4,	    TR_UNROUTED4,	"2001:db8:101::10",
};

static bool known_backend(const char *addr)
{
	unsigned int i;

	for (i = 0; i < sizeof(backend_addrs) / sizeof(backend_addrs[0]); i++)
		if (!strcmp(addr, backend_addrs[i]))
			return true;
	return false;
}

/* Where the edge program finds the IP header: up to two VLAN tags. */
static size_t frame_l3_off(const uint8_t *f, size_t len)
{
	size_t off = 12;
	int tags;

	for (tags = 0; tags < 2 && off + 2 <= len; tags++) {
		uint16_t type = get16(f + off);

		if (type != 0x8100 && type != 0x88a8)
			break;
		off += PKT_VLAN_HLEN;
	}
	return off + 2;
}

static bool is_encapsulation(const struct tr_result *res)
{
	const uint8_t *ip = res->data + PKT_ETH_HLEN;
	uint16_t type;

	if (res->len < PKT_ETH_HLEN + 40)
		return false;
	type = get16(res->data + 12);
	if (type == 0x0800 && ip[0] >> 4 == 4)
		return ip[9] == IPPROTO_IPIP || ip[9] == IPPROTO_IPV6;
	if (type == 0x86dd && ip[0] >> 4 == 6)
		return ip[6] == IPPROTO_IPIP || ip[6] == IPPROTO_IPV6;
	return false;
}

static const struct tr_link *out_link(uint32_t action, const uint8_t *in,
				      struct tr_link *kept)
{
	if (action == XDP_TX)
		return &fx.env.in;
	if (action == XDP_REDIRECT)
		return &fx.env.out;
	/* Handed to the kernel: still addressed as it arrived. */
	memcpy(kept->peer_mac, in, 6);
	memcpy(kept->mac, in + 6, 6);
	return kept;
}

/*
 * An encapsulated output must be exactly the input's IP packet (cut to
 * its own length) under the outer header to a known backend.
 */
static void check_encap_exact(const uint8_t *in, size_t in_len,
			      const struct tr_result *res)
{
	size_t l3 = frame_l3_off(in, in_len), ip_len;
	static struct pkt inner, want;
	struct tr_link kept;
	const char *src;
	char dst[64];
	bool v6;

	if (!tr_check(l3 + 6 <= in_len, "len %zu: encapsulated without an "
		      "IP header", in_len))
		return;
	v6 = in[l3] >> 4 == 6;
	ip_len = v6 ? 40 + (size_t)get16(in + l3 + 4) : get16(in + l3 + 2);
	if (!tr_check(ip_len <= in_len - l3, "len %zu: encapsulated an IP "
		      "length of %zu beyond the frame", in_len, ip_len))
		return;
	fx_outer_dst(res, dst, sizeof(dst));
	if (!tr_check(known_backend(dst), "len %zu: encapsulated to %s",
		      in_len, dst))
		return;
	pkt_reset(&inner);
	pkt_append(&inner, in, l3 + ip_len);
	src = strchr(dst, ':') ? FX_TUNNEL6 : FX_TUNNEL4;
	if (!tr_check(fx_expect_encap(&want, &inner, l3, src, dst,
				      out_link(res->retval, in, &kept),
				      res) == 0,
		      "building the expected frame"))
		return;
	tr_check_bytes(res->data, res->len, want.data, want.len,
		       "encapsulated output");
}

/* Input and output of the first failure of a case. */
static void dump_in_out(const uint8_t *in, size_t in_len,
			const struct tr_result *res)
{
	pkt_hexdump(stdout, "       in:  ", in, in_len);
	pkt_hexdump(stdout, "       out: ", res->data, res->len);
}

static bool is_vip_addr(const uint8_t *ip, bool v6)
{
	static const char *const vips[] = { VIP4, VIP4_WILD, VIP4_ADDRS, VIP6,
					    VIP6_ADDRS };
	uint8_t a[16];
	unsigned int i;

	for (i = 0; i < sizeof(vips) / sizeof(vips[0]); i++)
		if (pkt_addr(vips[i], a) == (v6 ? 6 : 4) &&
		    !memcmp(a, ip, v6 ? 16 : 4))
			return true;
	return false;
}

/*
 * Anything else the edge sends is an answer from a VIP: an echo reply or
 * a too-big error, sent back the way the packet came, with headers whose
 * lengths hold (its content is the client's, checked only when the input
 * was well-formed).
 */
static void check_reply(const uint8_t *in, size_t in_len,
			const struct tr_result *res)
{
	bool first = !tr_case_failed();
	struct pkt_info pi;
	char why[160];

	if (!tr_check(res->retval == XDP_TX, "len %zu: %s, output changed "
		      "and not an encapsulation", in_len,
		      tr_xdp_str(res->retval)))
		return;
	if (!tr_check(pkt_parse_frame(res->data, res->len, &pi, why,
				      sizeof(why)) == 0,
		      "len %zu: reply malformed: %s", in_len, why)) {
		if (first)
			dump_in_out(in, in_len, res);
		return;
	}
	tr_check(pi.family && (pi.proto == IPPROTO_ICMP ||
			       pi.proto == IPPROTO_ICMPV6),
		 "len %zu: reply of protocol %d", in_len, pi.proto);
	tr_check(pi.family &&
		 is_vip_addr(res->data + pi.l3 + (pi.family == 6 ? 8 : 12),
			     pi.family == 6),
		 "len %zu: reply not from a vip", in_len);
	tr_check(!memcmp(res->data, in + 6, 6) && !memcmp(res->data + 6, in, 6),
		 "len %zu: reply not sent back to the sender", in_len);
}

/* What the outputs were, for the printed statistics. */
struct out_tally {
	unsigned int untouched, encapsulated, replies, dropped;
};

/*
 * The sweep callback. A well-formed input must give an untouched or a
 * well-formed output (the harness's invariant). Any input, well-formed or
 * not, must come back untouched and passed, dropped, exactly
 * encapsulated, or answered: the edge does not judge the client's L4
 * checksums, so a broken input may leave broken inside a tunnel.
 */
static void check_output(void *arg, const uint8_t *in, size_t in_len,
			 const struct tr_result *res)
{
	struct out_tally *t = arg;

	if (!pkt_check_frame(in, in_len, NULL, 0) &&
	    !tr_check_untouched_or_wellformed(in, in_len, res))
		return;
	if (res->retval == XDP_ABORTED)
		return; /* already a failure */
	if (res->retval == XDP_DROP) {
		t->dropped++;
	} else if (res->len == in_len && !memcmp(res->data, in, in_len)) {
		t->untouched++;
		tr_check(res->retval == XDP_PASS,
			 "len %zu: unchanged frame sent with %s", in_len,
			 tr_xdp_str(res->retval));
	} else if (is_encapsulation(res)) {
		t->encapsulated++;
		check_encap_exact(in, in_len, res);
	} else {
		t->replies++;
		check_reply(in, in_len, res);
	}
}

static void stats_add(struct tr_sweep_stats *sum,
		      const struct tr_sweep_stats *st)
{
	int i;

	sum->runs += st->runs;
	sum->rejected += st->rejected;
	sum->aborted += st->aborted;
	for (i = 0; i < 5; i++)
		sum->by_action[i] += st->by_action[i];
}

static void stats_print(const char *what, const struct tr_sweep_stats *st,
			const struct out_tally *t)
{
	printf("    %s: %u runs (+%u refused, < 14 bytes): aborted %u, "
	       "drop %u, pass %u, tx %u, redirect %u\n",
	       what, st->runs, st->rejected, st->aborted,
	       st->by_action[XDP_DROP], st->by_action[XDP_PASS],
	       st->by_action[XDP_TX], st->by_action[XDP_REDIRECT]);
	printf("    %s: outputs untouched %u, encapsulated %u, replies %u, "
	       "dropped %u\n",
	       what, t->untouched, t->encapsulated, t->replies, t->dropped);
}

#define D(field) ((uint64_t)(after.field - before->field))

/*
 * Every run counts exactly one action, the one its verdict says, every
 * drop one reason, and every encapsulation one region and one backend.
 */
static void check_totals(const struct fx_snap *before,
			 const struct tr_sweep_stats *st)
{
	uint64_t acts = 0, drops = 0, regions = 0, egress = 0, backends = 0;
	struct fx_snap after;
	uint64_t encaps;
	int i;

	if (!tr_check(fx_snap(&fx, &after) == 0, "reading counters"))
		return;
	for (i = 0; i < MERIDIAN_ACT_MAX; i++)
		acts += D(c.action[i]);
	for (i = 0; i < MERIDIAN_DROP_MAX; i++)
		drops += D(c.drop[i]);
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++) {
		regions += D(region[i].packets);
		egress += D(region[i].egress_packets);
	}
	for (i = 0; i < FX_IDS; i++)
		backends += D(backend[i].packets);
	encaps = D(c.action[MERIDIAN_ACT_TX]) +
		 D(c.action[MERIDIAN_ACT_REDIRECT]) +
		 D(c.action[MERIDIAN_ACT_FALLBACK]);
	tr_check(acts == st->runs, "%llu actions counted for %u runs",
		 (unsigned long long)acts, st->runs);
	tr_check(D(c.action[MERIDIAN_ACT_DROP]) == st->by_action[XDP_DROP] &&
			 drops == st->by_action[XDP_DROP],
		 "drops: %llu actions, %llu reasons, %u verdicts",
		 (unsigned long long)D(c.action[MERIDIAN_ACT_DROP]),
		 (unsigned long long)drops, st->by_action[XDP_DROP]);
	tr_check(D(c.action[MERIDIAN_ACT_PASS_NONVIP]) +
				 D(c.action[MERIDIAN_ACT_PASS_NOREGION]) +
				 D(c.action[MERIDIAN_ACT_FALLBACK]) ==
			 st->by_action[XDP_PASS],
		 "pass actions disagree with %u XDP_PASS",
		 st->by_action[XDP_PASS]);
	tr_check(D(c.action[MERIDIAN_ACT_TX]) +
				 D(c.action[MERIDIAN_ACT_ICMP_REPLY]) ==
			 st->by_action[XDP_TX],
		 "tx actions disagree with %u XDP_TX", st->by_action[XDP_TX]);
	tr_check(D(c.action[MERIDIAN_ACT_REDIRECT]) ==
			 st->by_action[XDP_REDIRECT],
		 "redirect actions disagree with %u XDP_REDIRECT",
		 st->by_action[XDP_REDIRECT]);
	tr_check(D(c.icmp_too_big) + D(c.echo_reply) ==
			 D(c.action[MERIDIAN_ACT_ICMP_REPLY]),
		 "icmp replies disagree");
	tr_check(regions == encaps && egress == encaps && backends == encaps,
		 "%llu encapsulations: %llu region, %llu egress, %llu "
		 "backend counts",
		 (unsigned long long)encaps, (unsigned long long)regions,
		 (unsigned long long)egress, (unsigned long long)backends);
}

#undef D

/* --- sweeps and fuzzing --------------------------------------------------- */

/* The quote of a packet the VIP sent to the client, for ICMP errors. */
static int icmp4_error_frame(struct pkt *frame)
{
	struct pkt_ip qip = { .src = VIP4, .dst = FX_CLIENT4, .frag = PKT_DF };
	struct pkt_l4 qtcp = { .proto = IPPROTO_TCP, .sport = 80,
			       .dport = 3333, .payload = payload,
			       .payload_len = 100 };
	struct pkt_ip ip = { .src = TR_IN_GW4, .dst = VIP4 };
	struct pkt_l4 icmp = { .proto = IPPROTO_ICMP, .type = 3, .code = 4,
			       .mtu = 1400 };
	struct pkt quote;
	int err;

	err = pkt_build_ip(&quote, &qip, &qtcp);
	if (err)
		return err;
	icmp.payload = quote.data;
	icmp.payload_len = 28;
	return fx_frame(frame, &ip, &icmp);
}

static struct named_frame *named(struct named_frame *f, const char *name)
{
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

#define FUZZ_FRAMES 9
#define FUZZ_ROUNDS 2000

/* Mutated, and truncated too: every path of the program, once each. */
static int fuzz_frames(struct named_frame *f)
{
	struct pkt_ip ip4 = { .src = FX_CLIENT4, .dst = VIP4, .frag = PKT_DF,
			      .opts = opts_ts, .opts_len = sizeof(opts_ts) };
	struct pkt_ip ip6 = {
		.src = FX_CLIENT6, .dst = VIP6, .n_ext = 3,
		.ext = { { .type = IPPROTO_HOPOPTS },
			 { .type = IPPROTO_ROUTING, .len8 = 2, .rt_type = 4 },
			 { .type = IPPROTO_DSTOPTS, .len8 = 1 } },
	};
	struct pkt_ip plain4 = { .src = FX_CLIENT4, .dst = VIP4_WILD };
	struct pkt_ip echo6 = { .src = FX_CLIENT6, .dst = VIP6 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = 4100, .dport = 80,
			     .payload = payload, .payload_len = 64 };
	struct pkt_l4 ping = { .proto = IPPROTO_ICMPV6, .type = 128,
			       .echo_id = 5, .echo_seq = 9,
			       .payload = payload, .payload_len = 56 };
	struct pkt set[FRAG_KINDS];
	int err;

	err = client_frame(&named(&f[0], "vlan, ipv4 options, tcp")->p, &ip4,
			   &l4, 1, 0);
	l4.proto = IPPROTO_UDP;
	l4.dport = 443;
	err = err ?: client_frame(&named(&f[1], "two vlan tags, ipv6 "
					  "extension headers, udp")->p,
				  &ip6, &l4, 2, 0x88a8);
	l4.proto = IPPROTO_TCP;
	err = err ?: fx_frame(&named(&f[2], "ipv6 extension headers, tcp")->p,
			      &ip6, &l4);
	err = err ?: frag_frames(set, "198.18.9.200", VIP4_ADDRS, false, 4102,
				 0x4242);
	named(&f[3], "ipv4 first fragment")->p = set[FRAG_FIRST];
	err = err ?: frag_frames(set, "2001:db8:9::200", VIP6_ADDRS, true,
				 4103, 0x4343);
	named(&f[4], "ipv6 later fragment")->p = set[FRAG_LATER];
	err = err ?: fx_frame(&named(&f[5], "ipv6 echo request")->p, &echo6,
			      &ping);
	err = err ?: icmp4_error_frame(
			      &named(&f[6], "ipv4 frag-needed error")->p);
	l4.dport = 80;
	l4.payload_len = 1600;
	ip4.opts_len = 0;
	err = err ?: fx_frame(&named(&f[7], "ipv4 over the mtu with df")->p,
			      &ip4, &l4);
	l4.payload_len = 64;
	err = err ?: fx_frame(&named(&f[8], "ipv4 tcp, wildcard vip")->p,
			      &plain4, &l4);
	return err;
}

/* Plain TCP and UDP to each family's VIPs, as the default tables steer. */
static int plain_frames(struct named_frame *f)
{
	static const struct {
		const char *name, *src, *dst;
		int proto;
		uint16_t dport;
	} c[] = {
		{ "ipv4 tcp to vip 1", FX_CLIENT4, VIP4, IPPROTO_TCP, 80 },
		{ "ipv4 udp to vip 2", FX_CLIENT4, VIP4, IPPROTO_UDP, 53 },
		{ "ipv4 udp to vip 6", FX_CLIENT4, VIP4_ADDRS, IPPROTO_UDP, 9 },
		{ "ipv6 tcp to vip 4", FX_CLIENT6, VIP6, IPPROTO_TCP, 443 },
		{ "ipv6 udp to vip 5", FX_CLIENT6, VIP6, IPPROTO_UDP, 443 },
		{ "ipv6 udp to vip 7", FX_CLIENT6, VIP6_ADDRS, IPPROTO_UDP, 9 },
	};
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < sizeof(c) / sizeof(c[0]); i++)
		err = fx_simple(&named(&f[i], c[i].name)->p, c[i].src,
				c[i].dst, c[i].proto, 4200 + i, c[i].dport,
				40);
	/* Cut anywhere in the padding, it is still a packet to steer. */
	if (!err)
		err = fx_simple(&named(&f[i], "ipv4 tcp to vip 1, padded to "
				       "60 bytes")->p,
				FX_CLIENT4, VIP4, IPPROTO_TCP, 4210, 80, 0);
	if (!err) {
		memset(f[i].p.data + f[i].p.len, 0xee, 60 - f[i].p.len);
		f[i].p.len = 60;
		i++;
	}
	return err ? err : (int)i;
}

/* Sweep results of one phase, printed at its end. */
struct phase {
	const char *name;
	struct tr_sweep_stats sum;
	struct out_tally tally;
};

/* One case: every truncation of one frame. */
static void truncate_frame(const struct named_frame *f, struct phase *ph)
{
	struct tr_sweep_stats st;
	struct fx_snap before;

	begin("truncations of: %s", f->name);
	snap(&before);
	tr_sweep_truncations(fx.prog, f->p.data, f->p.len, check_output,
			     &ph->tally, &st);
	check_totals(&before, &st);
	stats_add(&ph->sum, &st);
	tr_case_end();
}

static void mutate_frame(const struct named_frame *f, uint64_t seed,
			 struct phase *ph)
{
	struct tr_sweep_stats st;
	struct fx_snap before;

	begin("%d mutations of: %s", FUZZ_ROUNDS, f->name);
	snap(&before);
	tr_fuzz_mutations(fx.prog, f->p.data, f->p.len, FUZZ_ROUNDS, seed,
			  check_output, &ph->tally, &st);
	check_totals(&before, &st);
	stats_add(&ph->sum, &st);
	tr_case_end();
}

static void test_sweeps(void)
{
	static struct named_frame rep[FUZZ_FRAMES + 8];
	struct phase trunc = { .name = "truncations" };
	struct phase fuzz = { .name = "mutations" };
	int i, n_plain, err;

	n_plain = plain_frames(rep + FUZZ_FRAMES);
	err = fuzz_frames(rep);
	if (err || n_plain < 0) {
		begin("representative frames");
		built(err ? err : n_plain);
		tr_case_end();
		return;
	}
	for (i = 0; i < n_sweep; i++)
		truncate_frame(&sweep_frames[i], &trunc);
	for (i = 0; i < FUZZ_FRAMES + n_plain; i++)
		truncate_frame(&rep[i], &trunc);
	stats_print(trunc.name, &trunc.sum, &trunc.tally);
	for (i = 0; i < FUZZ_FRAMES; i++)
		mutate_frame(&rep[i], 0x6d657200ull + i, &fuzz);
	stats_print(fuzz.name, &fuzz.sum, &fuzz.tally);
}

/* xorshift64*, fixed seed: the same frames on every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull) >> 16;
}

static uint8_t pick(uint64_t *s, const uint8_t *v, size_t n)
{
	return v[rnd(s) % n];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Ports that hit VIP entries, most of the time. */
static void plausible_l4(uint8_t *l4, size_t len, uint8_t proto,
			 uint64_t *s)
{
	static const uint16_t ports[] = { 80, 53, 443, 4433 };
	static const uint8_t icmp_types[] = { 3, 8, 11, 2, 128, 1 };

	if (len < 8)
		return;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		if (rnd(s) % 4)
			put16(l4 + 2, ports[rnd(s) % 4]);
		if (proto == IPPROTO_UDP && rnd(s) % 4)
			put16(l4 + 4, (uint16_t)len);
		if (proto == IPPROTO_TCP && rnd(s) % 4)
			l4[12] = 5 << 4;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		l4[0] = pick(s, icmp_types, sizeof(icmp_types));
	}
}

static void plausible_ipv4(uint8_t *ip, size_t len, uint64_t *s)
{
	static const uint8_t protos[] = { 6, 17, 1, 6, 17, 4, 47 };
	static const char *const dsts[] = { VIP4, VIP4_WILD, VIP4_ADDRS };
	uint8_t dst[16];
	size_t hlen;

	if (len < 20)
		return;
	ip[0] = rnd(s) % 8 ? 0x45 : 0x40 | (rnd(s) & 0xf);
	if (rnd(s) % 8)
		put16(ip + 2, (uint16_t)len);
	if (rnd(s) % 4)
		put16(ip + 6, rnd(s) % 2 ? 0x4000 : 0);
	ip[9] = pick(s, protos, sizeof(protos));
	ip[12] = 198;
	ip[13] = 18 + rnd(s) % 2;
	pkt_addr(dsts[rnd(s) % 3], dst);
	memcpy(ip + 16, dst, 4);
	hlen = (ip[0] & 0xf) * 4;
	if (hlen >= 20 && hlen <= len) {
		plausible_l4(ip + hlen, len - hlen, ip[9], s);
		pkt_ipv4_fix_csum(ip);
	}
}

static void plausible_ipv6(uint8_t *ip, size_t len, uint64_t *s)
{
	static const uint8_t nhs[] = { 6, 17, 58, 6, 17, 0, 43, 44, 51, 60 };
	static const char *const dsts[] = { VIP6, VIP6_ADDRS };
	uint8_t src[16], dst[16];

	if (len < 40)
		return;
	ip[0] = 0x60 | (ip[0] & 0xf);
	if (rnd(s) % 8)
		put16(ip + 4, (uint16_t)(len - 40));
	ip[6] = pick(s, nhs, sizeof(nhs));
	pkt_addr(FX_CLIENT6, src);
	memcpy(ip + 8, src, 8);
	pkt_addr(dsts[rnd(s) % 2], dst);
	memcpy(ip + 24, dst, 16);
	plausible_l4(ip + 40, len - 40, ip[6], s);
}

/*
 * Random bytes; half the time under a plausible header from a client in
 * 198.18.0.0/15 or 2001:db8:7::/64 to a VIP.
 */
static size_t random_frame(uint8_t *f, uint64_t *s)
{
	size_t len = 14 + rnd(s) % 287, i, l3;
	int tags, t;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)rnd(s);
	if (rnd(s) % 2)
		return len;
	memcpy(f, in_mac, 6);
	memcpy(f + 6, in_peer_mac, 6);
	tags = rnd(s) % 4 ? 0 : 1 + rnd(s) % 2;
	for (t = 0; t < tags && (size_t)(18 + 4 * t) <= len; t++)
		put16(f + 12 + 4 * t, t == 0 && tags == 2 ? 0x88a8 : 0x8100);
	l3 = L3_OFF(t);
	if (rnd(s) % 2) {
		put16(f + l3 - 2, 0x0800);
		plausible_ipv4(f + l3, len - l3, s);
	} else {
		put16(f + l3 - 2, 0x86dd);
		plausible_ipv6(f + l3, len - l3, s);
	}
	/* Now and then a valid L4 checksum, so the frame gets further. */
	if (rnd(s) % 2)
		pkt_l4_fix_csum(f + l3, len - l3);
	return len;
}

#define RANDOM_FRAMES 5000

static void test_random_frames(void)
{
	static struct tr_result res;
	struct tr_sweep_stats st = { 0 };
	struct out_tally tally = { 0 };
	uint64_t seed = 0x6d6572696469616eull;
	struct fx_snap before;
	uint8_t f[320];
	size_t len;
	int i;

	begin("%d random frames (half of them plausible, to vips): "
	      "never aborted, untouched or well-formed",
	      RANDOM_FRAMES);
	snap(&before);
	for (i = 0; i < RANDOM_FRAMES; i++) {
		len = random_frame(f, &seed);
		if (tr_run(fx.prog, f, len, &res)) {
			tr_check(false, "frame %d: test run failed", i);
			continue;
		}
		st.runs++;
		if (res.retval < 5)
			st.by_action[res.retval]++;
		if (res.retval == XDP_ABORTED) {
			st.aborted++;
			tr_check(false, "frame %d: XDP_ABORTED", i);
			pkt_hexdump(stdout, "       ", f, len);
		}
		check_output(&tally, f, len, &res);
	}
	stats_print("random frames", &st, &tally);
	check_totals(&before, &st);
	tr_case_end();
}

static int setup(void)
{
	size_t i;
	int err;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	err = fx_setup(&fx);
	if (!err)
		err = fx_topology(&fx);
	if (!err)
		err = set_default_tables();
	return err;
}

int main(void)
{
	if (fx_setup_failed(&fx, setup()))
		return tr_summary();
	test_vlan_steered();
	test_vlan_untouched();
	test_ipv4_options();
	test_ipv4_bad_header();
	test_l4_past_ip_length();
	test_ipv6_ext();
	test_ipv6_ext_overrun();
	test_fragments_agree(&frag_vip4);
	test_fragments_agree(&frag_vip6);
	test_fragments_port_vips();
	test_fragments_dstopts();
	test_echo_vlan();
	test_echo_fragmented();
	test_echo_truncated();
	test_sweeps();
	test_random_frames();
	fx_teardown(&fx);
	return tr_summary();
}
