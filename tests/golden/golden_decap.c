// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden-packet tests of bpf/decap.bpf.o: every tunnel family, VLANs,
 * outer options, packets that are not ours, malformed inner packets, and
 * every truncation and a few thousand mutations of each valid packet.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "meridian_maps.h"
#include "pkt.h"
#include "testrun.h"

/* Decap addresses of this backend, and addresses that are not. */
#define LOCAL4 TR_IN_ADDR4
#define LOCAL4_B "198.18.2.1"
#define LOCAL6 TR_IN_ADDR6
#define OTHER4 "198.18.0.77"
#define OTHER6 "2001:db8::77"
#define EDGE4 "198.18.0.9" /* tunnel source */
#define EDGE6 "2001:db8::9"
#define CLIENT4 TR_IN_REMOTE4
#define CLIENT6 TR_IN_REMOTE6
#define VIP4 "198.18.5.5"
#define VIP6 "2001:db8:5::5"

#define FUZZ_ROUNDS 400
#define FUZZ_SEED 0x6d6572696469616eull

#define EMB4_LEN 48 /* embedded IPv4 + UDP + 20 bytes */
#define EMB6_LEN 68 /* embedded IPv6 + UDP + 20 bytes */
#define BIG_LEN 1400

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd

static const char payload[] = "meridian golden payload";
static uint8_t big[BIG_LEN];
static struct pkt emb4, emb6;

/* 4 NOPs; a 40-byte record-route option, the most options IPv4 allows. */
static const uint8_t opts_nop4[] = { 1, 1, 1, 1 };
static const uint8_t opts_rr40[40] = { 7, 39, 4 };
static const uint8_t opts_ts8[] = { 68, 8, 5, 0, 0, 0, 0, 0 };

enum expect {
	DECAP, /* XDP_PASS, Ethernet (ethertype fixed) + inner packet */
	UNTOUCHED, /* XDP_PASS, byte-identical */
	DROP,
};

struct decap_case {
	const char *name;
	struct pkt_ip inner;
	struct pkt_l4 l4;
	struct pkt_ip outer; /* .src NULL: no tunnel header */
	int n_vlan; /* 1: 802.1Q; 2: 802.1ad + 802.1Q */
	size_t pad; /* bytes after the packet, as Ethernet padding */
	void (*mutate)(struct pkt *frame);
	enum expect expect;
	int counter; /* enum meridian_decap_counter */
};

#define IN4 { .src = CLIENT4, .dst = VIP4, .id = 7, .frag = PKT_DF }
#define IN6 { .src = CLIENT6, .dst = VIP6, .flow_label = 0x12345 }
#define UDP { .proto = IPPROTO_UDP, .sport = 40000, .dport = 53, \
	      .payload = payload, .payload_len = sizeof(payload) - 1 }
#define TCP { .proto = IPPROTO_TCP, .sport = 40001, .dport = 443, \
	      .seq = 1000, .tcp_flags = PKT_TCP_SYN, .payload = payload, \
	      .payload_len = sizeof(payload) - 1 }
#define OUT4 { .src = EDGE4, .dst = LOCAL4, .ttl = 63, .frag = PKT_DF }
#define OUT6 { .src = EDGE6, .dst = LOCAL6, .ttl = 63 }

static size_t frame_l3(const struct pkt *f, struct pkt_info *pi)
{
	char why[128];

	if (pkt_parse_frame(f->data, f->len, pi, why, sizeof(why))) {
		fprintf(stderr, "golden_decap: fixture does not parse: %s\n",
			why);
		abort();
	}
	return pi->l3;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Outer length field += by; the frame keeps its bytes. */
static void outer_len_add(struct pkt *f, int by)
{
	struct pkt_info pi;
	uint8_t *ip = f->data + frame_l3(f, &pi);

	if (pi.family == 4) {
		put16(ip + 2, (uint16_t)(get16(ip + 2) + by));
		pkt_ipv4_fix_csum(ip);
	} else {
		put16(ip + 4, (uint16_t)(get16(ip + 4) + by));
	}
}

static uint8_t *inner_ip(struct pkt *f)
{
	struct pkt_info pi;

	frame_l3(f, &pi);
	return f->data + pi.l4;
}

/* Inner length field += by. */
static void inner_len_add(struct pkt *f, int by)
{
	uint8_t *ip = inner_ip(f);

	if (ip[0] >> 4 == 4) {
		put16(ip + 2, (uint16_t)(get16(ip + 2) + by));
		pkt_ipv4_fix_csum(ip);
	} else {
		put16(ip + 4, (uint16_t)(get16(ip + 4) + by));
	}
}

/* Keep only keep bytes of the inner packet, outer length to match. */
static void cut_inner(struct pkt *f, size_t keep)
{
	struct pkt_info pi;

	frame_l3(f, &pi);
	outer_len_add(f, -(int)(pi.l4_len - keep));
	f->len = pi.l4 + keep;
}

static void m_outer_long(struct pkt *f)
{
	outer_len_add(f, 8);
}

static void m_inner_long(struct pkt *f)
{
	inner_len_add(f, 1);
}

static void m_inner_cut10(struct pkt *f)
{
	cut_inner(f, 10);
}

static void m_inner_cut19(struct pkt *f)
{
	cut_inner(f, 19);
}

static void m_inner_cut39(struct pkt *f)
{
	cut_inner(f, 39);
}

static void m_inner_empty(struct pkt *f)
{
	cut_inner(f, 0);
}

static void m_inner_ihl4(struct pkt *f)
{
	uint8_t *ip = inner_ip(f);

	ip[0] = 0x44;
	pkt_ipv4_fix_csum(ip);
}

static void m_outer_bad_csum(struct pkt *f)
{
	struct pkt_info pi;

	f->data[frame_l3(f, &pi) + 10] ^= 0x01;
}

static void m_outer_ihl4(struct pkt *f)
{
	struct pkt_info pi;
	uint8_t *ip = f->data + frame_l3(f, &pi);

	ip[0] = 0x44;
	pkt_ipv4_fix_csum(ip);
}

/* Ethertype says IPv6, the header is IPv4. */
static void m_ethertype_v6(struct pkt *f)
{
	struct pkt_info pi;

	put16(f->data + frame_l3(f, &pi) - 2, ETH_P_IPV6);
}

static const struct decap_case cases[] = {
	/* The four families, byte-exact. */
	{ "ipip udp", IN4, UDP, OUT4, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IPIP },
	{ "ip6ip4 tcp", IN6, TCP, OUT4, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IP6IP4 },
	{ "ip4ip6 tcp", IN4, TCP, OUT6, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IP4IP6 },
	{ "ip6ip6 udp", IN6, UDP, OUT6, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IP6IP6 },
	{ "ipip to second decap address", IN4, UDP,
	  { .src = EDGE4, .dst = LOCAL4_B }, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IPIP },
	/* VLAN tags stay, the innermost ethertype changes. */
	{ "ipip 802.1Q", IN4, UDP, OUT4, .n_vlan = 1, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IPIP },
	{ "ip6ip4 802.1ad+802.1Q", IN6, UDP, OUT4, .n_vlan = 2,
	  .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP4 },
	{ "ip4ip6 802.1Q", IN4, UDP, OUT6, .n_vlan = 1, .expect = DECAP,
	  .counter = MERIDIAN_DECAP_IP4IP6 },
	{ "ip6ip6 802.1ad+802.1Q", IN6, TCP, OUT6, .n_vlan = 2,
	  .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP6 },
	/* Outer IPv4 options: ihl 6, 15 and 7 under VLANs. */
	{ "ipip outer options 4 bytes", IN4, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .opts = opts_nop4,
	    .opts_len = sizeof(opts_nop4) },
	  .expect = DECAP, .counter = MERIDIAN_DECAP_IPIP },
	{ "ipip outer options 40 bytes", IN4, TCP,
	  { .src = EDGE4, .dst = LOCAL4, .opts = opts_rr40,
	    .opts_len = sizeof(opts_rr40) },
	  .expect = DECAP, .counter = MERIDIAN_DECAP_IPIP },
	{ "ip6ip4 outer options 8 bytes, QinQ", IN6, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .opts = opts_ts8,
	    .opts_len = sizeof(opts_ts8) },
	  .n_vlan = 2, .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP4 },
	/* Inner contents are none of decap's business: carried as they are. */
	{ "ipip inner icmp frag-needed", IN4,
	  { .proto = IPPROTO_ICMP, .type = 3, .code = 4, .mtu = 1400,
	    .payload = emb4.data, .payload_len = EMB4_LEN },
	  OUT4, .expect = DECAP, .counter = MERIDIAN_DECAP_IPIP },
	{ "ip6ip6 inner icmpv6 packet-too-big", IN6,
	  { .proto = IPPROTO_ICMPV6, .type = 2, .mtu = 1280,
	    .payload = emb6.data, .payload_len = EMB6_LEN },
	  OUT6, .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP6 },
	{ "ip6ip6 inner extension headers",
	  { .src = CLIENT6, .dst = VIP6, .n_ext = 3,
	    .ext = { { .type = IPPROTO_HOPOPTS },
		     { .type = IPPROTO_DSTOPTS, .len8 = 1 },
		     { .type = IPPROTO_FRAGMENT, .frag = PKT_FRAG6(0, 1),
		       .ident = 77 } } },
	  UDP, OUT6, .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP6 },
	{ "ip4ip6 inner ipv4 options and fragment",
	  { .src = CLIENT4, .dst = VIP4, .frag = PKT_MF, .opts = opts_nop4,
	    .opts_len = sizeof(opts_nop4) },
	  UDP, OUT6, .expect = DECAP, .counter = MERIDIAN_DECAP_IP4IP6 },
	{ "ip6ip6 1400-byte payload", IN6,
	  { .proto = IPPROTO_UDP, .sport = 1, .dport = 2, .payload = big,
	    .payload_len = BIG_LEN },
	  OUT6, .expect = DECAP, .counter = MERIDIAN_DECAP_IP6IP6 },
	{ "ipip with Ethernet padding", IN4,
	  { .proto = IPPROTO_UDP, .sport = 1, .dport = 2 }, OUT4, .pad = 6,
	  .expect = DECAP, .counter = MERIDIAN_DECAP_IPIP },

	/* Tunnel packets for another host: untouched. */
	{ "ipip not local", IN4, UDP, { .src = EDGE4, .dst = OTHER4 },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_NOT_LOCAL },
	{ "ip6ip4 not local, 802.1Q", IN6, UDP,
	  { .src = EDGE4, .dst = OTHER4 }, .n_vlan = 1,
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_NOT_LOCAL },
	{ "ip6ip6 not local", IN6, UDP, { .src = EDGE6, .dst = OTHER6 },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_NOT_LOCAL },
	{ "ip4ip6 to an IPv4 decap address's family twin", IN4, UDP,
	  { .src = EDGE6, .dst = "::ffff:198.18.0.1" },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_NOT_LOCAL },

	/* Not tunnel packets: untouched. */
	{ "udp to local ipv4", { .src = CLIENT4, .dst = LOCAL4 }, UDP,
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "tcp to local ipv6, 802.1Q", { .src = CLIENT6, .dst = LOCAL6 }, TCP,
	  .n_vlan = 1, .expect = UNTOUCHED,
	  .counter = MERIDIAN_DECAP_PASS },
	{ "icmpv6 echo to local", { .src = CLIENT6, .dst = LOCAL6 },
	  { .proto = IPPROTO_ICMPV6, .type = 128, .echo_id = 1,
	    .echo_seq = 2 },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "gre to local ipv4", { .src = EDGE4, .dst = LOCAL4 },
	  { .proto = 47, .raw = true, .payload = payload,
	    .payload_len = sizeof(payload) - 1 },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ipip outer fragment MF", IN4, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .frag = PKT_MF },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ipip outer fragment offset", IN4, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .frag = PKT_FRAG_OFF(8) },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ip6ip6 outer fragment header", IN6, UDP,
	  { .src = EDGE6, .dst = LOCAL6, .n_ext = 1,
	    .ext = { { .type = IPPROTO_FRAGMENT, .frag = PKT_FRAG6(0, 1) } } },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ip4ip6 outer hop-by-hop", IN4, UDP,
	  { .src = EDGE6, .dst = LOCAL6, .n_ext = 1,
	    .ext = { { .type = IPPROTO_HOPOPTS } } },
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ipip outer header checksum wrong", IN4, UDP, OUT4,
	  .mutate = m_outer_bad_csum, .expect = UNTOUCHED,
	  .counter = MERIDIAN_DECAP_PASS },
	{ "ipip outer ihl 4", IN4, UDP, OUT4, .mutate = m_outer_ihl4,
	  .expect = UNTOUCHED, .counter = MERIDIAN_DECAP_PASS },
	{ "ipv4 header under the ipv6 ethertype", IN4, UDP, OUT4,
	  .mutate = m_ethertype_v6, .expect = UNTOUCHED,
	  .counter = MERIDIAN_DECAP_PASS },

	/* Tunnel packets for us that cannot be decapsulated: dropped. */
	{ "protocol 4 carrying ipv6", IN6, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .proto = PKT_PROTO(IPPROTO_IPIP) },
	  .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "protocol 41 carrying ipv4", IN4, UDP,
	  { .src = EDGE4, .dst = LOCAL4, .proto = PKT_PROTO(IPPROTO_IPV6) },
	  .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "next header 4 carrying ipv6", IN6, UDP,
	  { .src = EDGE6, .dst = LOCAL6, .proto = PKT_PROTO(IPPROTO_IPIP) },
	  .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "next header 41 carrying ipv4, 802.1Q", IN4, UDP,
	  { .src = EDGE6, .dst = LOCAL6, .proto = PKT_PROTO(IPPROTO_IPV6) },
	  .n_vlan = 1, .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ipip inner cut to 10 bytes", IN4, UDP, OUT4,
	  .mutate = m_inner_cut10, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ip4ip6 inner cut to 19 bytes", IN4, UDP, OUT6,
	  .mutate = m_inner_cut19, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ip6ip4 inner cut to 39 bytes", IN6, UDP, OUT4,
	  .mutate = m_inner_cut39, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ip6ip6 inner empty", IN6, UDP, OUT6, .mutate = m_inner_empty,
	  .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ipip inner tot_len beyond outer", IN4, UDP, OUT4,
	  .mutate = m_inner_long, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ip6ip6 inner payload_len beyond outer", IN6, UDP, OUT6,
	  .mutate = m_inner_long, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ipip inner ihl 4", IN4, UDP, OUT4, .mutate = m_inner_ihl4,
	  .expect = DROP, .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ipip outer tot_len beyond frame", IN4, UDP, OUT4,
	  .mutate = m_outer_long, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
	{ "ip4ip6 outer payload_len beyond frame", IN4, UDP, OUT6,
	  .mutate = m_outer_long, .expect = DROP,
	  .counter = MERIDIAN_DECAP_MALFORMED },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static const char *const counter_names[MERIDIAN_DECAP_MAX] = {
	"IPIP", "IP6IP6", "IP4IP6", "IP6IP4", "NOT_LOCAL", "MALFORMED", "PASS",
};

struct ctx {
	int prog;
	int stats;
	int addrs;
	uint64_t last[MERIDIAN_DECAP_MAX];
	bool need_wellformed; /* truncations of valid packets: also check */
	struct tr_result res;
};

static struct ctx g;

static int eth_spec(int n_vlan, struct pkt_eth *eth)
{
	static const uint8_t mac[6] = TR_IN_MAC;
	static const uint8_t peer[6] = TR_IN_PEER_MAC;

	memset(eth, 0, sizeof(*eth));
	memcpy(eth->dst, mac, 6);
	memcpy(eth->src, peer, 6);
	eth->n_vlan = n_vlan;
	eth->vlan_tpid[0] = n_vlan == 2 ? 0x88a8 : 0x8100;
	eth->vlan_tci[0] = 100;
	eth->vlan_tpid[1] = 0x8100;
	eth->vlan_tci[1] = 0x2000 | 200; /* PCP 1 */
	return 0;
}

static int add_pad(struct pkt *p, size_t n)
{
	uint8_t *at = pkt_put(p, n);
	size_t i;

	if (!at)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		at[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static int build_case(const struct decap_case *c, struct pkt *in,
		      struct pkt *want)
{
	struct pkt_eth eth;
	struct pkt inner;
	int err;

	eth_spec(c->n_vlan, &eth);
	err = pkt_build_ip(&inner, &c->inner, &c->l4);
	if (err)
		return err;
	*in = inner;
	if (c->outer.src)
		err = pkt_encap(in, &c->outer);
	if (!err)
		err = pkt_eth(in, &eth);
	if (!err)
		err = add_pad(in, c->pad);
	if (err)
		return err;
	if (c->mutate)
		c->mutate(in);
	if (c->expect != DECAP) {
		*want = *in;
		return 0;
	}
	*want = inner;
	err = pkt_eth(want, &eth);
	return err ? err : add_pad(want, c->pad);
}

static int read_counters(uint64_t out[MERIDIAN_DECAP_MAX])
{
	uint64_t one;
	uint32_t i;
	int err;

	for (i = 0; i < MERIDIAN_DECAP_MAX; i++) {
		err = tr_percpu_sum(g.stats, i, &one, 1);
		if (err)
			return err;
		out[i] = one;
	}
	return 0;
}

/* Which counter moved since the last call: one exactly, or -1. */
static int counter_moved(void)
{
	uint64_t now[MERIDIAN_DECAP_MAX];
	int i, moved = -1, n = 0;

	if (read_counters(now))
		return -1;
	for (i = 0; i < MERIDIAN_DECAP_MAX; i++) {
		if (now[i] != g.last[i]) {
			n += (int)(now[i] - g.last[i]);
			moved = i;
		}
	}
	memcpy(g.last, now, sizeof(now));
	return n == 1 ? moved : -1;
}

static bool is_decap_counter(int c)
{
	return c == MERIDIAN_DECAP_IPIP || c == MERIDIAN_DECAP_IP6IP6 ||
	       c == MERIDIAN_DECAP_IP4IP6 || c == MERIDIAN_DECAP_IP6IP4;
}

static int decap_counter_of(int outer_family, int inner_version)
{
	if (outer_family == 4)
		return inner_version == 4 ? MERIDIAN_DECAP_IPIP :
					    MERIDIAN_DECAP_IP6IP4;
	return inner_version == 4 ? MERIDIAN_DECAP_IP4IP6 :
				    MERIDIAN_DECAP_IP6IP6;
}

/*
 * What decap must output for a frame it decided to decapsulate: the
 * link-layer header with the innermost ethertype set for the inner
 * version, then everything after the outer IP header.
 */
static int reference_decap(const uint8_t *in, size_t len, struct pkt *out,
			   int *counter, char *why, size_t why_len)
{
	struct pkt_info pi;
	size_t inner;
	int err, ver;

	err = pkt_parse_frame(in, len, &pi, why, why_len);
	if (err)
		return err;
	inner = pi.l3 + pi.l3_hlen;
	if (!pi.family || inner >= len) {
		snprintf(why, why_len, "no inner packet");
		return -EBADMSG;
	}
	ver = in[inner] >> 4;
	*counter = decap_counter_of(pi.family, ver);
	pkt_reset(out);
	if (pkt_append(out, in, pi.l3) ||
	    pkt_append(out, in + inner, len - inner))
		return -ENOSPC;
	put16(out->data + pi.l3 - 2, ver == 4 ? ETH_P_IPV4 : ETH_P_IPV6);
	return 0;
}

static void check_decapsulated(const uint8_t *in, size_t len,
			       const struct tr_result *res, int moved)
{
	static struct pkt want;
	int counter = MERIDIAN_DECAP_MALFORMED;
	char why[160];

	if (!tr_check(!reference_decap(in, len, &want, &counter, why,
				       sizeof(why)),
		      "len %zu: decapsulated, but the input does not parse: %s",
		      len, why))
		return;
	tr_check(moved == counter, "len %zu: counted %s, want %s", len,
		 counter_names[moved], counter_names[counter]);
	tr_check_bytes(res->data, res->len, want.data, want.len,
		       "decapsulated output");
	if (g.need_wellformed)
		tr_check(!pkt_check_frame(res->data, res->len, why,
					  sizeof(why)),
			 "len %zu: decapsulated output malformed: %s", len,
			 why);
}

/* Invariants of every run: one counter, and an output that fits it. */
static void check_any(void *arg, const uint8_t *in, size_t len,
		      const struct tr_result *res)
{
	int moved = counter_moved();
	bool untouched;

	(void)arg;
	if (!tr_check(moved >= 0, "len %zu: not exactly one counter moved",
		      len))
		return;
	if (res->retval == XDP_DROP) {
		tr_check(moved == MERIDIAN_DECAP_MALFORMED,
			 "len %zu: dropped but counted %s", len,
			 counter_names[moved]);
		return;
	}
	if (!tr_check(res->retval == XDP_PASS, "len %zu: %s", len,
		      tr_xdp_str(res->retval)))
		return;
	if (is_decap_counter(moved)) {
		check_decapsulated(in, len, res, moved);
		return;
	}
	untouched = res->len == len && !memcmp(res->data, in, len);
	tr_check(untouched, "len %zu: passed as %s but modified", len,
		 counter_names[moved]);
}

static void run_case(const struct decap_case *c)
{
	static struct pkt in, want;
	uint64_t before[MERIDIAN_DECAP_MAX], after[MERIDIAN_DECAP_MAX];
	int i, err;

	tr_case_begin("%s", c->name);
	err = build_case(c, &in, &want);
	if (!tr_check(!err, "building the packets: %d", err))
		goto out;
	if (!tr_check(!read_counters(before), "reading counters"))
		goto out;
	if (!tr_check(!tr_run(g.prog, in.data, in.len, &g.res),
		      "test run: %d", g.res.err))
		goto out;
	tr_check(g.res.retval == (c->expect == DROP ? XDP_DROP : XDP_PASS),
		 "verdict %s", tr_xdp_str(g.res.retval));
	if (c->expect != DROP)
		tr_check_bytes(g.res.data, g.res.len, want.data, want.len,
			       "output");
	if (!tr_check(!read_counters(after), "reading counters"))
		goto out;
	for (i = 0; i < MERIDIAN_DECAP_MAX; i++)
		tr_check(after[i] - before[i] == (i == c->counter),
			 "counter %s moved by %llu", counter_names[i],
			 (unsigned long long)(after[i] - before[i]));
	if (c->expect == DECAP)
		tr_check(!pkt_check_frame(g.res.data, g.res.len, NULL, 0),
			 "output is not a well-formed frame");
out:
	tr_case_end();
}

static void print_stats(const struct tr_sweep_stats *st)
{
	printf("     %u runs: %u passed, %u dropped; kernel refused %u\n",
	       st->runs, st->by_action[XDP_PASS], st->by_action[XDP_DROP],
	       st->rejected);
}

static void sweep_case(const struct decap_case *c)
{
	static struct pkt in, want;
	struct tr_sweep_stats st;
	int err;

	tr_case_begin("%s: every truncation", c->name);
	err = build_case(c, &in, &want);
	if (!tr_check(!err, "building the packets: %d", err) ||
	    !tr_check(!read_counters(g.last), "reading counters"))
		goto out;
	g.need_wellformed = true;
	tr_sweep_truncations(g.prog, in.data, in.len, check_any, NULL, &st);
	tr_check(st.runs + st.rejected == in.len, "%u runs + %u rejected",
		 st.runs, st.rejected);
	tr_check(st.rejected == 14, "%u lengths rejected, want 0..13",
		 st.rejected);
	print_stats(&st);
out:
	tr_case_end();
}

static void fuzz_case(const struct decap_case *c, unsigned int idx)
{
	static struct pkt in, want;
	struct tr_sweep_stats st;
	int err;

	tr_case_begin("%s: %d mutations", c->name, FUZZ_ROUNDS);
	err = build_case(c, &in, &want);
	if (!tr_check(!err, "building the packets: %d", err) ||
	    !tr_check(!read_counters(g.last), "reading counters"))
		goto out;
	/* Mutated inner packets decapsulate faithfully, not well-formed. */
	g.need_wellformed = false;
	tr_fuzz_mutations(g.prog, in.data, in.len, FUZZ_ROUNDS,
			  FUZZ_SEED + idx, check_any, NULL, &st);
	tr_check(st.runs == FUZZ_ROUNDS, "%u of %d rounds ran", st.runs,
		 FUZZ_ROUNDS);
	print_stats(&st);
out:
	tr_case_end();
}

/* Frames the table cannot express. */
static void run_untouched(const char *name, const struct pkt *in)
{
	uint64_t before[MERIDIAN_DECAP_MAX];

	tr_case_begin("%s", name);
	if (!tr_check(!read_counters(before), "reading counters"))
		goto out;
	memcpy(g.last, before, sizeof(before));
	if (!tr_check(!tr_run(g.prog, in->data, in->len, &g.res),
		      "test run: %d", g.res.err))
		goto out;
	tr_check(g.res.retval == XDP_PASS, "verdict %s",
		 tr_xdp_str(g.res.retval));
	tr_check_bytes(g.res.data, g.res.len, in->data, in->len, "output");
	tr_check(counter_moved() == MERIDIAN_DECAP_PASS,
		 "not counted PASS alone");
out:
	tr_case_end();
}

static void special_frames(void)
{
	static const struct decap_case ipip = { "", IN4, UDP, OUT4,
						.n_vlan = 0 };
	static struct pkt p;
	struct pkt_eth eth;
	uint8_t *tag;

	/* Three tags: deeper than decap looks, so not a tunnel to it. */
	pkt_build_ip(&p, &ipip.inner, &ipip.l4);
	pkt_encap(&p, &ipip.outer);
	tag = pkt_push(&p, 4);
	put16(tag, 300);
	put16(tag + 2, ETH_P_IPV4);
	eth_spec(2, &eth);
	eth.ethertype = PKT_PROTO(0x8100);
	pkt_eth(&p, &eth);
	run_untouched("ipip under three VLAN tags", &p);

	eth_spec(0, &eth);
	eth.ethertype = PKT_PROTO(0x0806);
	pkt_reset(&p);
	pkt_append(&p, payload, 28);
	pkt_eth(&p, &eth);
	run_untouched("arp", &p);

	eth.ethertype = PKT_PROTO(ETH_P_IPV4);
	pkt_reset(&p);
	pkt_eth(&p, &eth);
	run_untouched("ethernet header alone, ipv4 ethertype", &p);

	eth_spec(1, &eth);
	eth.ethertype = PKT_PROTO(0x8100);
	pkt_reset(&p);
	pkt_append(&p, "\x00\x64", 2);
	pkt_eth(&p, &eth);
	run_untouched("second vlan tag cut short", &p);
}

/* The harness checks itself first: every verdict below rests on it. */
static void harness_selftest(void)
{
	static const uint8_t vector[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};
	static const struct pkt_ip ip = IN4;
	static const struct pkt_l4 udp = UDP;
	struct pkt_l4 bad = udp;
	static struct pkt p;
	struct pkt_eth eth;
	uint8_t hdr[20];

	tr_case_begin("harness: checksums and checkers");
	memcpy(hdr, vector, sizeof(hdr));
	tr_check(pkt_ipv4_csum_ok(hdr, sizeof(hdr)), "known header rejected");
	hdr[10] = hdr[11] = 0;
	pkt_ipv4_fix_csum(hdr);
	tr_check_bytes(hdr, sizeof(hdr), vector, sizeof(vector), "header");
	eth_spec(0, &eth);
	tr_check(!pkt_build(&p, &eth, &ip, &udp), "build");
	tr_check(!pkt_check_frame(p.data, p.len, NULL, 0), "good frame");
	p.data[PKT_ETH_HLEN + 3]++;
	pkt_ipv4_fix_csum(p.data + PKT_ETH_HLEN);
	tr_check(pkt_check_frame(p.data, p.len, NULL, 0), "tot_len + 1");
	bad.bad_csum = true;
	tr_check(!pkt_build(&p, &eth, &ip, &bad), "build");
	tr_check(!pkt_l4_csum_ok(p.data + PKT_ETH_HLEN, p.len - PKT_ETH_HLEN),
		 "bad UDP checksum accepted");
	tr_check(pkt_check_frame(p.data, p.len, NULL, 0),
		 "frame with a bad UDP checksum accepted");
	tr_case_end();
}

static int add_decap_addr(const char *text)
{
	struct meridian_decap_key key = { 0 };
	__u32 one = 1;
	int fam = pkt_addr(text, (uint8_t *)key.addr);

	if (fam < 0)
		return fam;
	key.family = fam == 4 ? MERIDIAN_AF_INET : MERIDIAN_AF_INET6;
	return bpf_map_update_elem(g.addrs, &key, &one, BPF_ANY);
}

static int setup(struct tr_env *env, struct bpf_object **obj)
{
	static const char *const locals[] = { LOCAL4, LOCAL4_B, LOCAL6 };
	size_t i;
	int err;

	err = tr_netns_enter(env);
	if (err)
		return err;
	tr_case_begin("load bpf/decap.bpf.o");
	*obj = tr_obj_load("bpf/decap.bpf.o");
	if (!tr_check(*obj, "load failed"))
		return tr_case_end(), -ENOENT;
	g.prog = tr_prog_fd(*obj, "meridian_decap");
	g.stats = tr_map_fd(*obj, MERIDIAN_MAP_DECAP_STATS);
	g.addrs = tr_map_fd(*obj, MERIDIAN_MAP_DECAP_ADDRS);
	if (!tr_check(g.prog >= 0 && g.stats >= 0 && g.addrs >= 0,
		      "program or maps missing"))
		return tr_case_end(), -ENOENT;
	for (i = 0; i < sizeof(locals) / sizeof(locals[0]); i++)
		tr_check(!add_decap_addr(locals[i]), "adding %s", locals[i]);
	return tr_case_end() ? 0 : -EIO;
}

static int build_embedded(void)
{
	static const struct pkt_ip ip4 = { .src = VIP4, .dst = CLIENT4 };
	static const struct pkt_ip ip6 = { .src = VIP6, .dst = CLIENT6 };
	static const struct pkt_l4 udp = { .proto = IPPROTO_UDP,
					   .sport = 53, .dport = 40000,
					   .payload = payload,
					   .payload_len = 20 };
	size_t i;

	for (i = 0; i < BIG_LEN; i++)
		big[i] = (uint8_t)(i * 7);
	if (pkt_build_ip(&emb4, &ip4, &udp) || emb4.len != EMB4_LEN ||
	    pkt_build_ip(&emb6, &ip6, &udp) || emb6.len != EMB6_LEN) {
		fprintf(stderr, "golden_decap: embedded packets: %zu/%zu\n",
			emb4.len, emb6.len);
		return -EINVAL;
	}
	return 0;
}

int main(void)
{
	struct bpf_object *obj = NULL;
	struct tr_env env;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	harness_selftest();
	if (build_embedded() || setup(&env, &obj))
		goto out;
	for (i = 0; i < N_CASES; i++)
		run_case(&cases[i]);
	special_frames();
	for (i = 0; i < N_CASES; i++) {
		if (cases[i].expect != DECAP)
			continue;
		sweep_case(&cases[i]);
		fuzz_case(&cases[i], (unsigned int)i);
	}
out:
	if (obj)
		tr_obj_close(obj);
	return tr_summary();
}
