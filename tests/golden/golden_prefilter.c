// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Golden tests of the VIP-address prefilter as the edge program searches
 * it: a fresh program has an empty table, an address is found anywhere in
 * its probe run (including across the table's end), a search stops at an
 * empty slot or after MERIDIAN_VIP_ADDR_PROBES slots, IPv6 compares all
 * of the address, and a swap replaces a table whole or not at all. A hit
 * is seen through an echo entry: an echo request to the address is
 * answered (XDP_TX), to any other address passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "edge_fixture.h"
#include "vip_table.h"

#define SLOTS MERIDIAN_VIP_ADDR_SLOTS
#define PROBES MERIDIAN_VIP_ADDR_PROBES
#define CLIENT4 FX_CLIENT4
#define CLIENT6 FX_CLIENT6

static struct fx fx;
static struct meridian_vip_addr_slot4 *img4, *got4;
static struct meridian_vip_addr_slot6 *img6, *got6;

static const struct meridian_vip_addr echo_entry = {
	.flags = MERIDIAN_VIP_ADDR_ECHO,
};

/* Whether an echo request to addr (raw bytes) is answered. */
static bool answered(int family, const void *addr)
{
	bool v6 = family == AF_INET6;
	char text[INET6_ADDRSTRLEN];
	struct pkt_ip ip = { .src = v6 ? CLIENT6 : CLIENT4, .dst = text,
			     .ttl = 50 };
	struct pkt_l4 l4 = { .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
			     .type = v6 ? 128 : 8, .echo_id = 9,
			     .echo_seq = 1, .payload = "prefilter",
			     .payload_len = 9 };
	struct tr_result res;
	struct pkt in;

	inet_ntop(family, addr, text, sizeof(text));
	if (!tr_check(fx_frame(&in, &ip, &l4) == 0, "building a frame to %s",
		      text))
		return false;
	if (tr_run(fx.prog, in.data, in.len, &res)) {
		tr_check(false, "test run to %s failed: %d", text, res.err);
		return false;
	}
	tr_check(res.retval == XDP_TX || res.retval == XDP_PASS,
		 "echo to %s: verdict %s", text, tr_xdp_str(res.retval));
	return res.retval == XDP_TX;
}

static const char *outcome(bool echoed)
{
	return echoed ? "answered" : "passed";
}

static void expect4(__u32 addr, bool want)
{
	bool got = answered(AF_INET, &addr);

	tr_check(got == want, "%s, want %s", outcome(got), outcome(want));
}

static void expect6(const __u32 addr[4], bool want)
{
	bool got = answered(AF_INET6, addr);

	tr_check(got == want, "%s, want %s", outcome(got), outcome(want));
}

static __u32 addr4(uint32_t host)
{
	return htonl(host);
}

static void test_fresh(void)
{
	__u32 i, used = 0;

	tr_case_begin("a freshly loaded program has empty tables");
	tr_check(meridian_vip_addrs4_read(&fx.m, got4) == 0, "reading v4");
	tr_check(meridian_vip_addrs6_read(&fx.m, got6) == 0, "reading v6");
	for (i = 0; i < SLOTS; i++)
		used += got4[i].used + got6[i].used;
	tr_check(used == 0, "%u slots used", used);
	expect4(addr4(0xc6123201), false); /* 198.18.50.1 */
	tr_case_end();
}

/*
 * The IPv4 addresses of 198.18.0.0/15 with homes SLOTS-4, SLOTS-3, ...
 * in that order, until `want` of them are found.
 */
static uint32_t v4_near_end(__u32 *out, uint32_t want)
{
	uint32_t n = 0, h, i;

	for (h = SLOTS - 4; n < want && h < SLOTS + 4; h++)
		for (i = 0; n < want && i < (1u << 17); i++)
			if (meridian_vip_addr_home4(addr4(0xc6120000 + i)) ==
			    (h & (SLOTS - 1)))
				out[n++] = addr4(0xc6120000 + i);
	return n;
}

/*
 * A run of 8 used slots across the table's end: SLOTS-4 .. 3. Entries
 * sit up to several slots past their home.
 */
static void test_v4_run(void)
{
	__u32 a[12], i, far = 0;
	int s;

	tr_case_begin("ipv4: a full probe run across the table's end");
	if (!tr_check(v4_near_end(a, 12) == 12, "finding addresses"))
		goto out;
	memset(img4, 0, SLOTS * sizeof(*img4));
	for (i = 0; i < 8; i++)
		tr_check(vip_table4_put(img4, a[i], &echo_entry) == 0,
			 "placing address %u", i);
	for (i = 0; i < 8; i++) {
		s = (int)((SLOTS - 4 + i) & (SLOTS - 1));
		tr_check(img4[s].used, "slot %d used", s);
		s = vip_table4_find(img4, a[i]);
		if (s >= 0 && (((__u32)s - meridian_vip_addr_home4(a[i])) &
			       (SLOTS - 1)) >= 3)
			far++;
	}
	tr_check(far > 0, "some entry is 3 or more slots past its home");
	tr_check(meridian_vip_addrs4_swap(&fx.m, img4) == 0, "swap");
	tr_check(meridian_vip_addrs4_read(&fx.m, got4) == 0 &&
			 !memcmp(img4, got4, SLOTS * sizeof(*img4)),
		 "the table read back is the image");
	for (i = 0; i < 8; i++)
		expect4(a[i], true);
	/* Homes inside the run: the search walks used slots, finds none. */
	for (i = 8; i < 12; i++)
		expect4(a[i], false);
out:
	tr_case_end();

	tr_case_begin("ipv4: delete mends the run, get reads the probe slots");
	tr_check(meridian_vip_addr4_delete(&fx.m, a[1]) == 0, "delete");
	tr_check(meridian_vip_addr4_delete(&fx.m, a[1]) == -ENOENT,
		 "second delete: -ENOENT");
	expect4(a[1], false);
	for (i = 0; i < 8; i++) {
		struct meridian_vip_addr va;
		int err = meridian_vip_addr4_get(&fx.m, a[i], &va);

		if (i == 1) {
			tr_check(err == -ENOENT, "get of the deleted: %d", err);
			continue;
		}
		expect4(a[i], true);
		tr_check(err == 0 && va.flags == MERIDIAN_VIP_ADDR_ECHO,
			 "get of address %u: %d", i, err);
	}
	tr_check(meridian_vip_addr4_put(&fx.m, a[1], &echo_entry) == 0,
		 "put it back");
	expect4(a[1], true);
	tr_case_end();
}

static void test_v4_refused(void)
{
	__u32 i;
	int s = -1;

	tr_case_begin("ipv4: an image with a misplaced entry is refused whole");
	tr_check(meridian_vip_addrs4_read(&fx.m, img4) == 0, "read");
	for (i = 0; i < SLOTS && s < 0; i++)
		if (img4[i].used)
			s = (int)i;
	if (!tr_check(s >= 0, "the table has an entry"))
		goto out;
	/* Past the end of its run: a search would never find it there. */
	img4[(s + PROBES + 8) & (SLOTS - 1)] = img4[s];
	memset(&img4[s], 0, sizeof(img4[s]));
	tr_check(meridian_vip_addrs4_swap(&fx.m, img4) == -EINVAL,
		 "swap: -EINVAL");
	tr_check(meridian_vip_addrs4_read(&fx.m, got4) == 0 &&
			 vip_table4_find(got4, got4[s].addr) == s,
		 "the table in use is unchanged");
	expect4(got4[s].addr, true);
out:
	tr_case_end();
}

/* x with meridian_vip_addr_home4(x) == home, the n-th such from 0. */
static __u32 word_with_home(__u32 home, __u32 n)
{
	__u32 y;

	for (y = 0;; y++)
		if (meridian_vip_addr_home4(__builtin_bswap32(y)) == home &&
		    !n--)
			return __builtin_bswap32(y);
}

/* 2001:db8:60::j:?, the last word chosen so the home is `home`. */
static void v6_with_home(__u32 addr[4], __u32 j, __u32 home)
{
	uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x60 };

	memcpy(addr, b, 16);
	addr[2] = htonl(j);
	addr[3] = word_with_home(home, 0) ^ addr[0] ^ addr[1] ^ addr[2];
}

static void test_v6(void)
{
	__u32 a[9][4], other[4], delta, i, k;
	__u32 home = SLOTS - 2;

	tr_case_begin("ipv6: 8 addresses of one home, across the table's end");
	memset(img6, 0, SLOTS * sizeof(*img6));
	for (i = 0; i < 9; i++)
		v6_with_home(a[i], i, home);
	for (i = 0; i < 8; i++)
		tr_check(vip_table6_put(img6, a[i], &echo_entry) == 0,
			 "placing address %u", i);
	tr_check(vip_table6_put(img6, a[8], &echo_entry) == -ENOSPC,
		 "a ninth finds its run full");
	tr_check(vip_table6_find(img6, a[7]) == (int)((home + 7) % SLOTS),
		 "the eighth sits 7 slots past its home");
	tr_check(meridian_vip_addrs6_swap(&fx.m, img6) == 0, "swap");
	tr_check(meridian_vip_addrs6_read(&fx.m, got6) == 0 &&
			 !memcmp(img6, got6, SLOTS * sizeof(*img6)),
		 "the table read back is the image");
	for (i = 0; i < 8; i++)
		expect6(a[i], true);
	expect6(a[8], false);
	tr_case_end();

	tr_case_begin("ipv6: an address differing in one word only is passed");
	/* Another word of the same home: the XOR of the words is kept. */
	delta = word_with_home(home, 0) ^ word_with_home(home, 1);
	for (k = 1; k < 4; k++) {
		memcpy(other, a[7], sizeof(other));
		other[k] ^= delta;
		tr_check(meridian_vip_addr_home6(other) == home, "same home");
		expect6(other, false);
	}
	tr_case_end();

	tr_case_begin("ipv6: delete mends the run");
	tr_check(meridian_vip_addr6_delete(
			 &fx.m, (const struct meridian_vip_addr6_key *)a[0]) ==
			 0,
		 "delete");
	expect6(a[0], false);
	for (i = 1; i < 8; i++)
		expect6(a[i], true);
	tr_check(meridian_vip_addr6_put(
			 &fx.m, (const struct meridian_vip_addr6_key *)a[8],
			 &echo_entry) == 0,
		 "the ninth fits now");
	expect6(a[8], true);
	tr_case_end();
}

int main(void)
{
	int err;

	img4 = calloc(SLOTS, sizeof(*img4));
	got4 = calloc(SLOTS, sizeof(*got4));
	img6 = calloc(SLOTS, sizeof(*img6));
	got6 = calloc(SLOTS, sizeof(*got6));
	err = img4 && got4 && img6 && got6 ? fx_setup(&fx) : -ENOMEM;
	if (fx_setup_failed(&fx, err))
		goto out;
	test_fresh();
	test_v4_run();
	test_v4_refused();
	test_v6();
	fx_teardown(&fx);
out:
	free(img4);
	free(got4);
	free(img6);
	free(got6);
	return tr_summary();
}
