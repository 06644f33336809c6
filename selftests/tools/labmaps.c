// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * labmaps: programs the edge's pinned maps directly, with no controller,
 * so the lab's data plane can be tested on its own. One command per run:
 *
 *   labmaps [--pin-dir DIR] config TUNNEL4 TUNNEL6 [mtu N] [ttl N]
 *                                  [flood N]
 *   labmaps [--pin-dir DIR] backend ID ADDR REGION [down]
 *   labmaps [--pin-dir DIR] up ID | down ID
 *   labmaps [--pin-dir DIR] ring RING BACKEND[:WEIGHT]...
 *   labmaps [--pin-dir DIR] table VIP CLASS REGION:RING:WEIGHT... [strict]
 *   labmaps [--pin-dir DIR] vip ADDR tcp|udp|icmp PORT VIP
 *                               [hash-addrs] [noregion-pass] [echo]
 *   labmaps [--pin-dir DIR] class PREFIX/LEN CLASS [pin4 LEN] [pin6 LEN]
 *   labmaps [--pin-dir DIR] flows-clear
 *
 * Rings are weighted Maglev rings over the given backend ids (weight 1 by
 * default), sized for their backend count; region tables fill their slots
 * by region weight. Both are swapped in whole, as the controller does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "hash64.h"
#include "log.h"
#include "maglev.h"
#include "meridian_access.h"
#include "weighted_slots.h"

#define USAGE_EXIT 2

struct cmd {
	const char *name;
	int min_args; /* after the command word */
	int (*run)(const struct meridian_maps *m, int argc, char **argv);
};

/* ---- argument parsing (pure) ---- */

static int parse_u32(const char *s, __u32 max, __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v > max) {
		log_err("bad number '%s' (0..%u)", s, max);
		return -EINVAL;
	}
	*out = (__u32)v;
	return 0;
}

/* Address into the maps' layout: IPv4 in addr[0]. */
static int parse_addr(const char *s, __u32 addr[4], __u8 *family)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = MERIDIAN_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = MERIDIAN_AF_INET6;
		return 0;
	}
	log_err("bad address '%s'", s);
	return -EINVAL;
}

static int parse_proto(const char *s, __u8 family, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else if (!strcmp(s, "icmp"))
		*proto = family == MERIDIAN_AF_INET ? IPPROTO_ICMP :
						      IPPROTO_ICMPV6;
	else {
		log_err("bad protocol '%s' (tcp, udp, icmp)", s);
		return -EINVAL;
	}
	return 0;
}

/* "NAME VALUE" pairs after the fixed arguments. */
static int option_value(int argc, char **argv, const char *name, __u32 max,
			__u32 *out)
{
	int i;

	for (i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return parse_u32(argv[i + 1], max, out);
	return 0;
}

static int has_word(int argc, char **argv, const char *word)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], word))
			return 1;
	return 0;
}

/* ---- commands ---- */

static int cmd_config(const struct meridian_maps *m, int argc, char **argv)
{
	struct meridian_config c = {};
	__u32 mtu = 0, ttl = 0, flood = 0;
	__u32 addr[4];
	__u8 family;
	int err;

	err = parse_addr(argv[0], addr, &family);
	if (!err && family != MERIDIAN_AF_INET)
		err = -EINVAL;
	if (err)
		return err;
	c.tunnel_src4 = addr[0];
	err = parse_addr(argv[1], c.tunnel_src6, &family);
	if (!err && family != MERIDIAN_AF_INET6)
		err = -EINVAL;
	if (!err)
		err = option_value(argc, argv, "mtu", 65535, &mtu);
	if (!err)
		err = option_value(argc, argv, "ttl", 255, &ttl);
	if (!err)
		err = option_value(argc, argv, "flood", UINT32_MAX, &flood);
	if (err)
		return err;
	c.mtu = (__u16)mtu;
	c.ttl = (__u8)ttl;
	c.flood_limit = flood;
	return meridian_config_put(m, &c);
}

static int cmd_backend(const struct meridian_maps *m, int argc, char **argv)
{
	struct meridian_backend b = {};
	__u32 id, region;
	int err;

	err = parse_u32(argv[0], MERIDIAN_MAX_BACKENDS - 1, &id);
	if (!err)
		err = parse_addr(argv[1], b.addr, &b.family);
	if (!err)
		err = parse_u32(argv[2], MERIDIAN_MAX_REGIONS - 1, &region);
	if (err)
		return err;
	b.region = (__u8)region;
	b.up = !has_word(argc - 3, argv + 3, "down");
	return meridian_backend_put(m, id, &b);
}

static int set_up(const struct meridian_maps *m, char *arg, bool up)
{
	__u32 id;
	int err;

	err = parse_u32(arg, MERIDIAN_MAX_BACKENDS - 1, &id);
	return err ? err : meridian_backend_set_up(m, id, up);
}

static int cmd_up(const struct meridian_maps *m, int argc, char **argv)
{
	(void)argc;
	return set_up(m, argv[0], true);
}

static int cmd_down(const struct meridian_maps *m, int argc, char **argv)
{
	(void)argc;
	return set_up(m, argv[0], false);
}

/* "ID" or "ID:WEIGHT" */
static int parse_member(const char *s, struct maglev_backend *b)
{
	char id[16], *colon;
	__u32 v;
	int err;

	if (strlen(s) >= sizeof(id)) {
		log_err("bad ring member '%s'", s);
		return -EINVAL;
	}
	strcpy(id, s);
	b->weight = 1;
	colon = strchr(id, ':');
	if (colon) {
		*colon = '\0';
		err = parse_u32(colon + 1, 1000, &b->weight);
		if (err)
			return err;
	}
	err = parse_u32(id, MERIDIAN_MAX_BACKENDS - 1, &v);
	if (err)
		return err;
	b->id = v;
	b->key = hash64_mix(v + 1);
	return 0;
}

static int cmd_ring(const struct meridian_maps *m, int argc, char **argv)
{
	struct maglev_backend *b;
	__u32 ring_id, size, *ring = NULL;
	int i, n = argc - 1, err;

	err = parse_u32(argv[0], MERIDIAN_MAX_RINGS - 1, &ring_id);
	if (err)
		return err;
	b = calloc((size_t)n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		err = parse_member(argv[i + 1], &b[i]);
	if (err)
		goto out;
	size = maglev_ring_size((size_t)n);
	ring = calloc(size, sizeof(*ring));
	err = ring ? maglev_build(b, (size_t)n, ring, size) : -ENOMEM;
	if (err) {
		log_err("ring %u: cannot build: %s", ring_id, strerror(-err));
		goto out;
	}
	err = meridian_ring_swap(m, ring_id, ring, size);
out:
	free(ring);
	free(b);
	return err;
}

/* "REGION:RING:WEIGHT" */
static int parse_region_spec(const char *s, __u32 *region, __u32 *ring,
			     __u32 *weight)
{
	char buf[48], *p1, *p2;
	int err;

	if (strlen(s) >= sizeof(buf) || !(p1 = strchr(s, ':')) ||
	    !(p2 = strchr(p1 + 1, ':'))) {
		log_err("bad region spec '%s' (REGION:RING:WEIGHT)", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	buf[p1 - s] = '\0';
	buf[p2 - s] = '\0';
	err = parse_u32(buf, MERIDIAN_MAX_REGIONS - 1, region);
	if (!err)
		err = parse_u32(buf + (p1 - s) + 1, MERIDIAN_RING_NONE, ring);
	if (!err)
		err = parse_u32(buf + (p2 - s) + 1, 1000, weight);
	return err;
}

static int cmd_table(const struct meridian_maps *m, int argc, char **argv)
{
	struct meridian_region_key key;
	__u32 weight[MERIDIAN_MAX_REGIONS] = {}, region, ring, w;
	struct meridian_region_table *t;
	int i, err;

	err = parse_u32(argv[0], MERIDIAN_MAX_VIPS - 1, &key.vip_id);
	if (!err)
		err = parse_u32(argv[1], MERIDIAN_MAX_CLASSES - 1,
				&key.class_id);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		t->ring[i] = MERIDIAN_RING_NONE;
	for (i = 2; i < argc && !err; i++) {
		if (!strcmp(argv[i], "strict")) {
			t->flags |= MERIDIAN_RT_STRICT;
			continue;
		}
		err = parse_region_spec(argv[i], &region, &ring, &w);
		if (err)
			break;
		t->ring[region] = (__u16)ring;
		weight[region] = w;
	}
	t->generation = (__u32)time(NULL);
	if (!err)
		err = weighted_slots_fill(weight, MERIDIAN_MAX_REGIONS, t->slot,
					  MERIDIAN_REGION_SLOTS);
	if (!err)
		err = meridian_region_table_swap(m, &key, t);
	free(t);
	return err;
}

static int cmd_vip(const struct meridian_maps *m, int argc, char **argv)
{
	struct meridian_vip_key key = {};
	struct meridian_vip vip = {};
	__u32 port;
	int err;

	err = parse_addr(argv[0], key.addr, &key.family);
	if (!err)
		err = parse_proto(argv[1], key.family, &key.proto);
	if (!err)
		err = parse_u32(argv[2], 65535, &port);
	if (!err)
		err = parse_u32(argv[3], MERIDIAN_MAX_VIPS - 1, &vip.id);
	if (err)
		return err;
	key.port = htons((__u16)port);
	if (has_word(argc - 4, argv + 4, "hash-addrs"))
		vip.flags |= MERIDIAN_VIP_HASH_ADDRS;
	if (has_word(argc - 4, argv + 4, "noregion-pass"))
		vip.flags |= MERIDIAN_VIP_NOREGION_PASS;
	if (has_word(argc - 4, argv + 4, "echo"))
		vip.flags |= MERIDIAN_VIP_ECHO;
	/* The address's prefilter entry announces the key: it goes first. */
	err = meridian_vip_addr_merge(m, &key, &vip);
	return err ? err : meridian_vip_put(m, &key, &vip);
}

static int cmd_class(const struct meridian_maps *m, int argc, char **argv)
{
	struct meridian_class c = { .pin_prefixlen4 = 24,
				    .pin_prefixlen6 = 56 };
	char addr_text[INET6_ADDRSTRLEN], *slash;
	__u32 addr[4], len;
	__u8 family;
	int err;

	slash = strchr(argv[0], '/');
	if (!slash || (size_t)(slash - argv[0]) >= sizeof(addr_text)) {
		log_err("bad prefix '%s' (ADDR/LEN)", argv[0]);
		return -EINVAL;
	}
	memcpy(addr_text, argv[0], (size_t)(slash - argv[0]));
	addr_text[slash - argv[0]] = '\0';
	err = parse_addr(addr_text, addr, &family);
	if (!err)
		err = parse_u32(slash + 1,
				family == MERIDIAN_AF_INET ? 32 : 128, &len);
	if (!err)
		err = parse_u32(argv[1], MERIDIAN_MAX_CLASSES - 1, &c.id);
	if (!err)
		err = option_value(argc, argv, "pin4", 32, &c.pin_prefixlen4);
	if (!err)
		err = option_value(argc, argv, "pin6", 128, &c.pin_prefixlen6);
	if (err)
		return err;
	if (has_word(argc, argv, "pin4") || has_word(argc, argv, "pin6"))
		c.flags |= MERIDIAN_CLASS_PIN_HOME;
	if (family == MERIDIAN_AF_INET) {
		struct meridian_lpm4_key k = { .prefixlen = len,
					       .addr = addr[0] };

		return meridian_class4_put(m, &k, &c);
	} else {
		struct meridian_lpm6_key k = { .prefixlen = len };

		memcpy(k.addr, addr, sizeof(k.addr));
		return meridian_class6_put(m, &k, &c);
	}
}

/* Empties the flow cache. */
static int cmd_flows_clear(const struct meridian_maps *m, int argc,
			   char **argv)
{
	__u64 held = 0;
	int err;

	(void)argc;
	(void)argv;
	err = meridian_flows_count(m, &held) ?: meridian_flows_clear(m);
	if (err)
		return err;
	printf("cleared %llu flows\n", (unsigned long long)held);
	return 0;
}

static const struct cmd cmds[] = {
	{ "config", 2, cmd_config },	  { "backend", 3, cmd_backend },
	{ "up", 1, cmd_up },		  { "down", 1, cmd_down },
	{ "ring", 2, cmd_ring },	  { "table", 3, cmd_table },
	{ "vip", 4, cmd_vip },		  { "class", 2, cmd_class },
	{ "flows-clear", 0, cmd_flows_clear },
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: labmaps [--pin-dir DIR] COMMAND ARGS\n"
		"  config TUNNEL4 TUNNEL6 [mtu N] [ttl N] [flood N]\n"
		"  backend ID ADDR REGION [down]\n"
		"  up ID | down ID\n"
		"  ring RING BACKEND[:WEIGHT]...\n"
		"  table VIP CLASS REGION:RING:WEIGHT... [strict]\n"
		"  vip ADDR tcp|udp|icmp PORT VIP [hash-addrs] "
		"[noregion-pass] [echo]\n"
		"  class PREFIX/LEN CLASS [pin4 LEN] [pin6 LEN]\n"
		"  flows-clear\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{},
	};
	const char *pin_dir = MERIDIAN_PIN_DIR;
	struct meridian_maps m;
	const struct cmd *cmd = NULL;
	size_t i;
	int opt, err;

	log_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (opt != 'p') {
			usage();
			return USAGE_EXIT;
		}
		pin_dir = optarg;
	}
	for (i = 0; optind < argc && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd || argc - optind - 1 < cmd->min_args) {
		usage();
		return USAGE_EXIT;
	}
	err = meridian_maps_open(&m, pin_dir);
	if (err)
		return 1;
	err = cmd->run(&m, argc - optind - 1, argv + optind + 1);
	meridian_maps_close(&m);
	if (err)
		log_err("%s failed: %s", cmd->name, strerror(-err));
	return err ? 1 : 0;
}
