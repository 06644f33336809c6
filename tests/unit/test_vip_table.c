// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the VIP-address table images (userspace/common/vip_table.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "desired.h"
#include "meridian_maps.h"
#include "vip_table.h"

#define NSLOTS MERIDIAN_VIP_ADDR_SLOTS

static struct meridian_vip_addr_slot4 t4[NSLOTS];
static struct meridian_vip_addr_slot6 t6[NSLOTS];

static __u32 addr4(uint32_t host)
{
	return htonl(host);
}

static struct meridian_vip_addr va_id(uint32_t id)
{
	struct meridian_vip_addr va = { .flags = MERIDIAN_VIP_ADDR_WILD_TCP };

	va.wild[MERIDIAN_VIP_ADDR_TCP].id = id;
	return va;
}

/* Addresses whose home is the same slot, found by trying. */
static uint32_t same_home4(uint32_t home, __u32 *out, uint32_t want)
{
	uint32_t host, n = 0;

	for (host = 0xc6120000; n < want && host < 0xc6140000; host++)
		if (meridian_vip_addr_home4(addr4(host)) == home)
			out[n++] = addr4(host);
	return n;
}

static void test_home_in_range(void **state)
{
	__u32 a6[4] = { htonl(0x20010db8), 0, 0, htonl(1) };
	uint32_t host;

	(void)state;
	for (host = 0xc6120000; host < 0xc6120000 + 4096; host++)
		assert_true(meridian_vip_addr_home4(addr4(host)) < NSLOTS);
	assert_true(meridian_vip_addr_home6(a6) < NSLOTS);
}

/* A /20 of consecutive VIPs spreads: few share a home. */
static void test_spread(void **state)
{
	static uint8_t seen[NSLOTS];
	uint32_t host, shared = 0, h;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (host = 0xc6120000; host < 0xc6120000 + 4096; host++) {
		h = meridian_vip_addr_home4(addr4(host));
		shared += seen[h]++ ? 1 : 0;
	}
	assert_true(shared < 4096 / 8);
}

static void test_put_find_update(void **state)
{
	struct meridian_vip_addr va = va_id(7), vb = va_id(9);
	__u32 a = addr4(0xc6120001);
	int s;

	(void)state;
	memset(t4, 0, sizeof(t4));
	assert_int_equal(vip_table4_find(t4, a), -ENOENT);
	assert_int_equal(vip_table4_put(t4, a, &va), 0);
	s = vip_table4_find(t4, a);
	assert_int_equal(s, (int)meridian_vip_addr_home4(a));
	assert_int_equal(t4[s].used, 1);
	assert_int_equal(t4[s].va.wild[0].id, 7);
	assert_int_equal(vip_table4_put(t4, a, &vb), 0);
	assert_int_equal(vip_table4_find(t4, a), s);
	assert_int_equal(t4[s].va.wild[0].id, 9);
}

/* IPv6 addresses in 2001:db8::/32 whose home is the same slot. */
static uint32_t same_home6(uint32_t home, __u32 (*out)[4], uint32_t want)
{
	__u32 a[4] = { htonl(0x20010db8), 0, 0, 0 };
	uint32_t host, n = 0;

	for (host = 1; n < want && host < 64u * NSLOTS; host++) {
		a[3] = htonl(host);
		if (meridian_vip_addr_home6(a) == home)
			memcpy(out[n++], a, sizeof(a));
	}
	return n;
}

/* Colliding addresses take the following slots, up to the probe limit. */
static void test_collisions_and_full_run(void **state)
{
	__u32 a[MERIDIAN_VIP_ADDR_PROBES + 1][4], b[4];
	struct meridian_vip_addr va;
	uint32_t home = 77, i;

	(void)state;
	assert_int_equal(same_home6(home, a, MERIDIAN_VIP_ADDR_PROBES + 1),
			 MERIDIAN_VIP_ADDR_PROBES + 1);
	memset(t6, 0, sizeof(t6));
	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		va = va_id(i + 1);
		assert_int_equal(vip_table6_put(t6, a[i], &va), 0);
		assert_int_equal(vip_table6_find(t6, a[i]), (int)(home + i));
	}
	va = va_id(100);
	assert_int_equal(vip_table6_put(t6, a[i], &va), -ENOSPC);
	assert_int_equal(vip_table6_find(t6, a[i]), -ENOENT);
	/* IPv4 collides the same way. */
	assert_int_equal(same_home4(home, b, 2), 2);
	memset(t4, 0, sizeof(t4));
	assert_int_equal(vip_table4_put(t4, b[0], &va), 0);
	assert_int_equal(vip_table4_put(t4, b[1], &va), 0);
	assert_int_equal(vip_table4_find(t4, b[1]), (int)home + 1);
}

/* Removing from the middle of a run keeps every later entry findable. */
static void test_remove_mends_the_run(void **state)
{
	__u32 a[5][4], b[4];
	struct meridian_vip_addr va;
	uint32_t i;

	(void)state;
	assert_int_equal(same_home6(300, a, 5), 5);
	memset(t6, 0, sizeof(t6));
	for (i = 0; i < 5; i++) {
		va = va_id(i + 1);
		assert_int_equal(vip_table6_put(t6, a[i], &va), 0);
	}
	assert_int_equal(vip_table6_remove(t6, a[1]), 0);
	assert_int_equal(vip_table6_find(t6, a[1]), -ENOENT);
	for (i = 0; i < 5; i++) {
		if (i == 1)
			continue;
		assert_true(vip_table6_find(t6, a[i]) >= 0);
		assert_int_equal(t6[vip_table6_find(t6, a[i])].va.wild[0].id,
				 i + 1);
	}
	/* The run is packed again: no hole before its last entry. */
	assert_int_equal(t6[300 + 4].used, 0);
	assert_int_equal(vip_table6_remove(t6, a[1]), -ENOENT);
	/* And for IPv4. */
	assert_int_equal(same_home4(300, b, 3), 3);
	memset(t4, 0, sizeof(t4));
	for (i = 0; i < 3; i++) {
		va = va_id(i + 1);
		assert_int_equal(vip_table4_put(t4, b[i], &va), 0);
	}
	assert_int_equal(vip_table4_remove(t4, b[0]), 0);
	assert_int_equal(vip_table4_find(t4, b[1]), 300);
	assert_int_equal(vip_table4_find(t4, b[2]), 301);
	assert_int_equal(t4[302].used, 0);
}

/* The run wraps at the end of the table. */
static void test_wraps(void **state)
{
	__u32 a[3];
	struct meridian_vip_addr va = va_id(1);
	uint32_t i;

	(void)state;
	assert_int_equal(same_home4(NSLOTS - 1, a, 3), 3);
	/* (4 addresses of 198.18.0.0/15 share each home) */
	memset(t4, 0, sizeof(t4));
	for (i = 0; i < 3; i++)
		assert_int_equal(vip_table4_put(t4, a[i], &va), 0);
	assert_int_equal(vip_table4_find(t4, a[1]), 0);
	assert_int_equal(vip_table4_find(t4, a[2]), 1);
}

static void test_ipv6(void **state)
{
	__u32 a[4] = { htonl(0x20010db8), 0, 0, 0 };
	struct meridian_vip_addr va;
	uint32_t i;

	(void)state;
	memset(t6, 0, sizeof(t6));
	for (i = 1; i <= 4096; i++) {
		a[3] = htonl(i);
		va = va_id(i);
		assert_int_equal(vip_table6_put(t6, a, &va), 0);
	}
	for (i = 1; i <= 4096; i++) {
		a[3] = htonl(i);
		assert_true(vip_table6_find(t6, a) >= 0);
		assert_int_equal(t6[vip_table6_find(t6, a)].va.wild[0].id, i);
	}
	a[3] = htonl(5000);
	assert_int_equal(vip_table6_find(t6, a), -ENOENT);
	a[3] = htonl(10);
	assert_int_equal(vip_table6_remove(t6, a), 0);
	assert_int_equal(vip_table6_find(t6, a), -ENOENT);
}

/* A whole image from entries, in their order. */
static int build4(struct meridian_vip_addr_slot4 *slots,
		  const struct desired_vip_addr4 *e, uint32_t n)
{
	uint32_t i;
	int err;

	memset(slots, 0, NSLOTS * sizeof(*slots));
	for (i = 0; i < n; i++) {
		err = vip_table4_put(slots, e[i].key, &e[i].val);
		if (err)
			return err;
	}
	return 0;
}

/* The most addresses a family can have fit, in any order, identically. */
static void test_build_full_and_deterministic(void **state)
{
	static struct desired_vip_addr4 e[MERIDIAN_MAX_VIPS];
	static struct meridian_vip_addr_slot4 again[NSLOTS];
	uint32_t i;

	(void)state;
	for (i = 0; i < MERIDIAN_MAX_VIPS; i++) {
		e[i].key = addr4(0xc6120000 + i * 7);
		e[i].val = va_id(i);
	}
	assert_int_equal(build4(t4, e, MERIDIAN_MAX_VIPS), 0);
	assert_int_equal(build4(again, e, MERIDIAN_MAX_VIPS), 0);
	assert_memory_equal(t4, again, sizeof(t4));
	for (i = 0; i < MERIDIAN_MAX_VIPS; i++)
		assert_true(vip_table4_find(t4, e[i].key) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_in_range),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_put_find_update),
		cmocka_unit_test(test_collisions_and_full_run),
		cmocka_unit_test(test_remove_mends_the_run),
		cmocka_unit_test(test_wraps),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_build_full_and_deterministic),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("%d passed, %d failed\n", total - failed, failed);
	return failed ? 1 : 0;
}
