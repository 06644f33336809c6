// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden-packet tests of the edge program's ICMP handling: packets too big
 * once encapsulated are answered with fragmentation-needed or packet-too-big,
 * ICMP errors about a VIP flow follow that flow to its backend, and echo
 * requests to a VIP are answered at the edge. Topology: edge_fixture.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "edge_fixture.h"

#define ROUTER4 "198.18.9.1"
#define ROUTER6 "2001:db8:9::1"
#define ICMP4_FRAG_NEEDED 3, 4
#define ICMP6_TOO_BIG 2, 0

static struct fx fx;
static const uint8_t in_mac[6] = TR_IN_MAC;
static const uint8_t in_peer_mac[6] = TR_IN_PEER_MAC;
static uint8_t zeros[2048];

static void snap(struct fx_snap *s)
{
	tr_check(fx_snap(&fx, s) == 0, "reading counters");
}

/* A client frame of exactly ip_len IP bytes, optionally in a VLAN. */
static int client_frame(struct pkt *f, const char *src, const char *dst,
			size_t ip_len, bool df, int vlan, uint16_t sport)
{
	struct pkt_ip ip = { .src = src, .dst = dst, .tos = 0x28,
			     .frag = df ? PKT_DF : 0 };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = sport,
			     .dport = strchr(dst, ':') ? 443 : 80,
			     .payload = zeros };
	struct pkt_eth eth = { .n_vlan = vlan, .vlan_tci = { 42 } };
	size_t hdrs = (strchr(dst, ':') ? 40 : 20) + 20;

	l4.payload_len = ip_len - hdrs;
	memcpy(eth.dst, in_mac, 6);
	memcpy(eth.src, in_peer_mac, 6);
	return pkt_build(f, &eth, &ip, &l4);
}

/* The answer the edge must send: from the VIP back to the client. */
static int icmp_answer(struct pkt *want, const struct pkt *in, int vlan,
		       const char *vip, const char *client, uint8_t type,
		       uint8_t code, uint32_t mtu, size_t quote_len)
{
	size_t l3 = PKT_ETH_HLEN + vlan * PKT_VLAN_HLEN;
	struct pkt_ip ip = { .src = vip, .dst = client };
	struct pkt_l4 l4 = { .proto = strchr(vip, ':') ? IPPROTO_ICMPV6 :
							 IPPROTO_ICMP,
			     .type = type, .code = code, .mtu = mtu,
			     .payload = in->data + l3,
			     .payload_len = quote_len };
	struct pkt_eth eth = { .n_vlan = vlan, .vlan_tci = { 42 } };

	memcpy(eth.dst, in_peer_mac, 6);
	memcpy(eth.src, in_mac, 6);
	return pkt_build(want, &eth, &ip, &l4);
}

struct too_big_case {
	const char *name;
	const char *client, *vip;
	uint32_t vip_id;
	uint8_t region;
	uint16_t ring;
	uint16_t cfg_mtu;
	size_t ip_len;
	bool df;
	int vlan;
	uint32_t action; /* XDP_TX answer, XDP_DROP, or XDP_TX encap */
	uint32_t mtu; /* in the answer */
	size_t quote; /* bytes of the original packet quoted */
};

static const struct too_big_case too_big_cases[] = {
	{ "ipv4 df over 1500 once encapsulated: frag needed", FX_CLIENT4,
	  VIP4, 1, 0, 0, 0, 1481, true, 0, XDP_TX, 1480, 28 },
	{ "ipv4 df in a vlan: answer keeps the tag", FX_CLIENT4, VIP4, 1, 0, 0,
	  0, 1481, true, 1, XDP_TX, 1480, 28 },
	{ "ipv4 df, configured mtu 1400", FX_CLIENT4, VIP4, 1, 0, 0, 1400, 1381,
	  true, 0, XDP_TX, 1380, 28 },
	{ "ipv4 df to an ipv6 backend: 40 bytes of overhead", FX_CLIENT4, VIP4,
	  1, 2, 4, 0, 1461, true, 0, XDP_TX, 1460, 28 },
	{ "ipv6 over 1500 once encapsulated: packet too big", FX_CLIENT6, VIP6,
	  4, 2, 4, 0, 1461, true, 0, XDP_TX, 1460, 504 },
	{ "ipv4 without df: cannot fragment, dropped", FX_CLIENT4, VIP4, 1, 0,
	  0, 0, 1481, false, 0, XDP_DROP, 0, 0 },
};

/* Each case is a new flow, so no LRU entry of another case steers it. */
static void run_too_big(const struct too_big_case *c, uint16_t sport)
{
	struct fx_snap want;
	struct tr_result res;
	struct pkt in, expect;
	char why[128];

	if (!tr_check(fx_config(&fx, c->cfg_mtu, 0) == 0 &&
			      fx_table_one(&fx, c->vip_id, 0, c->region,
					   c->ring) == 0 &&
			      client_frame(&in, c->client, c->vip, c->ip_len,
					   c->df, c->vlan, sport) == 0,
		      "setup"))
		return;
	snap(&want);
	if (!fx_run_expect(&fx, &in, c->action, &res))
		return;
	want.vip[c->vip_id].packets++;
	want.vip[c->vip_id].bytes += in.len;
	want.c.lru_miss++;
	if (c->action == XDP_DROP) {
		want.c.action[MERIDIAN_ACT_DROP]++;
		want.c.drop[MERIDIAN_DROP_TOO_BIG]++;
		fx_check_counters(&fx, &want);
		return;
	}
	want.c.action[MERIDIAN_ACT_ICMP_REPLY]++;
	want.c.icmp_too_big++;
	fx_check_counters(&fx, &want);
	if (!tr_check(icmp_answer(&expect, &in, c->vlan, c->vip, c->client,
				  !strcmp(c->client, FX_CLIENT4) ? 3 : 2,
				  !strcmp(c->client, FX_CLIENT4) ? 4 : 0, c->mtu,
				  c->quote) == 0,
		      "building the expected answer"))
		return;
	tr_check_bytes(res.data, res.len, expect.data, expect.len, "answer");
	tr_check(pkt_check_frame(res.data, res.len, why, sizeof(why)) == 0,
		 "answer malformed: %s", why);
}

static void test_too_big(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(too_big_cases) / sizeof(too_big_cases[0]);
	     i++) {
		tr_case_begin("%s", too_big_cases[i].name);
		run_too_big(&too_big_cases[i], 1234 + i);
		tr_case_end();
	}

	tr_case_begin("ipv4 df exactly at the mtu once encapsulated: sent");
	{
		struct tr_result res;
		struct pkt in, expect;

		fx_config(&fx, 0, 0);
		fx_table_one(&fx, 1, 0, 0, 0);
		client_frame(&in, FX_CLIENT4, VIP4, 1480, true, 0, 1300);
		if (fx_run_expect(&fx, &in, XDP_TX, &res) &&
		    !fx_expect_encap(&expect, &in, PKT_ETH_HLEN, FX_TUNNEL4,
				     "198.19.0.10", &fx.env.in, &res))
			tr_check_bytes(res.data, res.len, expect.data,
				       expect.len, "output");
	}
	tr_case_end();
	fx_config(&fx, 0, 0);
}

/* --- ICMP errors about a VIP flow ------------------------------------------ */

/*
 * An ICMP error from a router on the way back to the client, quoting the
 * packet the backend sent from the VIP (direct server return).
 */
static int icmp_error_frame(struct pkt *f, const char *router,
			    const char *vip, const char *client, int proto,
			    uint16_t vip_port, uint16_t client_port)
{
	bool v6 = strchr(vip, ':') != NULL;
	struct pkt_ip qip = { .src = vip, .dst = client, .frag = PKT_DF };
	struct pkt_l4 ql4 = { .proto = proto, .sport = vip_port,
			      .dport = client_port, .payload = zeros,
			      .payload_len = 200 };
	struct pkt_ip ip = { .src = router, .dst = vip };
	struct pkt_l4 l4 = { .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
			     .type = v6 ? 2 : 3, .code = v6 ? 0 : 4,
			     .mtu = 1400 };
	struct pkt quoted;

	if (pkt_build_ip(&quoted, &qip, &ql4))
		return -EINVAL;
	l4.payload = quoted.data;
	/* RFC 792 quotes header + 8 bytes; ICMPv6 quotes as much as fits. */
	l4.payload_len = v6 ? quoted.len : 28;
	return fx_frame(f, &ip, &l4);
}

static struct meridian_flow_key flow_key(const char *client, const char *vip,
					 int proto, uint16_t cport,
					 uint16_t vport)
{
	struct meridian_flow_key k = { .proto = proto };
	int fam = pkt_addr(client, (uint8_t *)k.src);

	pkt_addr(vip, (uint8_t *)k.dst);
	k.family = fam == 4 ? MERIDIAN_AF_INET : MERIDIAN_AF_INET6;
	k.sport = htons(cport);
	k.dport = htons(vport);
	return k;
}

struct steer_case {
	const char *name;
	const char *client, *vip, *router;
	int proto;
	uint16_t vport;
	uint32_t vip_id;
	uint8_t region;
	uint16_t ring;
	const char *outer_src;
};

static const struct steer_case steer_cases[] = {
	{ "ipv4 frag-needed about a tcp flow", FX_CLIENT4, VIP4, ROUTER4,
	  IPPROTO_TCP, 80, 1, 0, 1, FX_TUNNEL4 },
	{ "ipv4 frag-needed about a udp flow", FX_CLIENT4, VIP4, ROUTER4,
	  IPPROTO_UDP, 53, 2, 0, 1, FX_TUNNEL4 },
	{ "ipv6 packet-too-big about a tcp flow", FX_CLIENT6, VIP6, ROUTER6,
	  IPPROTO_TCP, 443, 4, 2, 5, FX_TUNNEL6 },
};

/* Sends the flow's own packet; returns the backend address it went to. */
static bool establish(const struct steer_case *c, uint16_t cport, char *dst,
		      size_t len)
{
	struct tr_result res;
	struct pkt f;

	if (fx_simple(&f, c->client, c->vip, c->proto, cport, c->vport, 10))
		return tr_check(false, "build");
	if (!fx_run_expect(&fx, &f, XDP_TX, &res))
		return false;
	fx_outer_dst(&res, dst, len);
	return true;
}

static void expect_steered(const struct steer_case *c, const struct pkt *err,
			   const char *backend, bool lru_hit)
{
	struct fx_snap want;
	struct tr_result res;
	struct pkt expect;
	uint32_t bid;

	snap(&want);
	if (!fx_run_expect(&fx, err, XDP_TX, &res))
		return;
	if (fx_expect_encap(&expect, err, PKT_ETH_HLEN, c->outer_src, backend,
			    &fx.env.in, &res))
		return (void)tr_check(false, "building the expected frame");
	tr_check_bytes(res.data, res.len, expect.data, expect.len, "output");
	bid = !strcmp(backend, "198.19.0.10") ? 0 :
	      !strcmp(backend, "198.19.0.11") ? 1 :
	      !strcmp(backend, "2001:db8:100::10") ? 4 : 5;
	want.c.icmp_steered++;
	want.c.action[MERIDIAN_ACT_TX]++;
	if (lru_hit)
		want.c.lru_hit++;
	else
		want.c.lru_miss++;
	want.vip[c->vip_id].packets++;
	want.vip[c->vip_id].bytes += err->len;
	want.backend[bid].packets++;
	want.backend[bid].bytes += err->len;
	want.region[c->region].packets++;
	want.region[c->region].bytes += err->len;
	want.region[c->region].egress_packets++;
	want.region[c->region].egress_bytes += expect.len;
	fx_check_counters(&fx, &want);
}

static void run_steer(const struct steer_case *c)
{
	struct meridian_flow_key key;
	struct meridian_flow flow;
	char backend[64];
	struct pkt err;
	uint16_t cport;

	fx_table_one(&fx, c->vip_id, 0, c->region, c->ring);
	/* Try client ports until the flow lands on the ring's second half. */
	for (cport = 20000; cport < 20064; cport++) {
		if (!establish(c, cport, backend, sizeof(backend)))
			return;
		if (strstr(backend, "11"))
			break;
	}
	tr_note("flow %s:%u -> %s", c->client, cport, backend);
	if (icmp_error_frame(&err, c->router, c->vip, c->client, c->proto,
			     c->vport, cport))
		return (void)tr_check(false, "build");
	expect_steered(c, &err, backend, true);

	/* Without the LRU entry the hash still agrees, and adds no entry. */
	key = flow_key(c->client, c->vip, c->proto, cport, c->vport);
	tr_check(meridian_flow_delete(&fx.m, &key) == 0, "flow delete");
	expect_steered(c, &err, backend, false);
	tr_check(meridian_flow_lookup(&fx.m, &key, &flow) == -ENOENT,
		 "an ICMP error created a flow entry");
}

static void test_icmp_errors(void)
{
	struct pkt err;
	unsigned int i;

	for (i = 0; i < sizeof(steer_cases) / sizeof(steer_cases[0]); i++) {
		tr_case_begin("%s: steered to the flow's backend",
			      steer_cases[i].name);
		run_steer(&steer_cases[i]);
		tr_case_end();
	}

	tr_case_begin("icmp error about a flow of no vip: untouched");
	if (!icmp_error_frame(&err, ROUTER4, VIP4, FX_CLIENT4, IPPROTO_TCP,
			      8080, 5555)) {
		struct fx_snap want;
		struct tr_result res;

		snap(&want);
		if (fx_run_expect(&fx, &err, XDP_PASS, &res))
			tr_check_bytes(res.data, res.len, err.data, err.len,
				       "output");
		want.c.action[MERIDIAN_ACT_PASS_NONVIP]++;
		fx_check_counters(&fx, &want);
	}
	tr_case_end();
}

/* --- echo ---------------------------------------------------------------- */

static void run_echo(const char *client, const char *vip, bool answered)
{
	bool v6 = strchr(vip, ':') != NULL;
	struct pkt_ip ip = { .src = client, .dst = vip, .ttl = 50 };
	struct pkt_l4 l4 = { .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
			     .type = v6 ? 128 : 8, .echo_id = 77,
			     .echo_seq = 3, .payload = "meridian echo test!",
			     .payload_len = 20 };
	struct pkt_eth eth = { 0 };
	struct fx_snap want;
	struct tr_result res;
	struct pkt in, expect;

	fx_frame(&in, &ip, &l4);
	snap(&want);
	if (!fx_run_expect(&fx, &in, answered ? XDP_TX : XDP_PASS, &res))
		return;
	if (!answered) {
		tr_check_bytes(res.data, res.len, in.data, in.len, "output");
		want.c.action[MERIDIAN_ACT_PASS_NONVIP]++;
		fx_check_counters(&fx, &want);
		return;
	}
	ip.src = vip;
	ip.dst = client;
	ip.ttl = 64;
	l4.type = v6 ? 129 : 0;
	memcpy(eth.dst, in_peer_mac, 6);
	memcpy(eth.src, in_mac, 6);
	if (!tr_check(pkt_build(&expect, &eth, &ip, &l4) == 0, "build"))
		return;
	tr_check_bytes(res.data, res.len, expect.data, expect.len, "reply");
	want.c.action[MERIDIAN_ACT_ICMP_REPLY]++;
	want.c.echo_reply++;
	fx_check_counters(&fx, &want);
}

static void test_echo(void)
{
	tr_case_begin("ipv4 echo to a vip: answered at the edge");
	run_echo(FX_CLIENT4, VIP4, true);
	tr_case_end();
	tr_case_begin("ipv6 echo to a vip: answered at the edge");
	run_echo(FX_CLIENT6, VIP6, true);
	tr_case_end();
	tr_case_begin("echo to a vip without an echo entry: untouched");
	run_echo(FX_CLIENT4, VIP4_WILD, false);
	tr_case_end();
	tr_case_begin("echo to another address: untouched");
	run_echo(FX_CLIENT6, "2001:db8:99::1", false);
	tr_case_end();
}

int main(void)
{
	int err = fx_setup(&fx);

	if (!err)
		err = fx_topology(&fx);
	if (fx_setup_failed(&fx, err))
		return tr_summary();
	test_too_big();
	test_icmp_errors();
	test_echo();
	fx_teardown(&fx);
	return tr_summary();
}
