// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * decap: the backend side. Loads bpf/decap.bpf.o onto a backend's device
 * (its maps pinned by name under the pin directory, its bpf_link pinned at
 * DIR/decap_link_DEV), manages the tunnel addresses it decapsulates for,
 * and prints its counters.
 *
 *   meridianctl decap attach DEV [--addr ADDR]... [--obj PATH]
 *                                [--mode native|generic] [--pin-dir DIR]
 *   meridianctl decap detach DEV [--pin-dir DIR]
 *   meridianctl decap add ADDR... [--pin-dir DIR]
 *   meridianctl decap del ADDR... [--pin-dir DIR]
 *   meridianctl decap stats [-j] [--pin-dir DIR]
 *
 * Addresses given to attach are written before the link exists, so the
 * program never runs without them. Like the edge's, the maps stay pinned
 * after detach, so a re-attach keeps addresses and counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "meridianctl.h"
#include "xdp_link.h"

#define DECAP_OBJ_INSTALLED "/usr/lib/meridian/decap.bpf.o"
#define DECAP_OBJ_BUILD "./bpf/decap.bpf.o"
#define DECAP_PROG_NAME "meridian_decap"
#define DECAP_LINK_PREFIX "decap_link_"

struct decap_args {
	const char *sub;
	struct xdp_target xdp; /* pin_dir for every subcommand */
	bool json;
	char **addrs; /* attach: --addr values; add/del: the operands */
	int n_addrs;
};

static const char *const counter_names[MERIDIAN_DECAP_MAX] = {
	[MERIDIAN_DECAP_IPIP] = "ipip",
	[MERIDIAN_DECAP_IP6IP6] = "ip6ip6",
	[MERIDIAN_DECAP_IP4IP6] = "ip4ip6",
	[MERIDIAN_DECAP_IP6IP4] = "ip6ip4",
	[MERIDIAN_DECAP_NOT_LOCAL] = "not_local",
	[MERIDIAN_DECAP_MALFORMED] = "malformed",
	[MERIDIAN_DECAP_PASS] = "pass",
};

/* ---- addresses ---- */

static int parse_decap_addr(const char *text, struct meridian_decap_key *key)
{
	memset(key, 0, sizeof(*key));
	if (inet_pton(AF_INET, text, &key->addr[0]) == 1) {
		key->family = MERIDIAN_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, key->addr) == 1) {
		key->family = MERIDIAN_AF_INET6;
		return 0;
	}
	log_err("'%s' is not an IPv4 or IPv6 address", text);
	return -EINVAL;
}

static void format_decap_addr(const struct meridian_decap_key *key, char *buf,
			      size_t len)
{
	int af = key->family == MERIDIAN_AF_INET ? AF_INET : AF_INET6;

	if (!inet_ntop(af, key->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static int update_addrs(int fd, char **addrs, int n, bool add)
{
	struct meridian_decap_key key;
	__u32 one = 1;
	int i, err;

	for (i = 0; i < n; i++) {
		err = parse_decap_addr(addrs[i], &key);
		if (err)
			return err;
		if (add)
			err = bpf_map_update_elem(fd, &key, &one, BPF_ANY);
		else
			err = bpf_map_delete_elem(fd, &key);
		if (err) {
			log_err("cannot %s decap address %s: %s",
				add ? "add" : "delete", addrs[i],
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- pins ---- */

static int pin_path(char *buf, size_t size, const char *dir, const char *name)
{
	if (snprintf(buf, size, "%s/%s", dir, name) < (int)size)
		return 0;
	log_err("pin path for %s under %s is too long", name, dir);
	return -ENAMETOOLONG;
}

/* A pinned decap map, checked to be the shape this build expects. */
static int open_decap_map(const char *dir, const char *name, __u32 key_size,
			  __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	err = pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		log_err("cannot open %s: %s (is the decap program attached? "
			"'meridianctl decap attach DEV')",
			path, strerror(errno));
		return -errno;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (!err && (info.key_size != key_size ||
		     info.value_size != value_size))
		err = -EPROTO;
	if (err) {
		log_err("%s: not a %s map of this build (%s)", path, name,
			strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* ---- attach, detach, add, del ---- */

/* Written before the link exists, so the program never runs without them. */
static int store_attach_addrs(const struct decap_args *a,
			      struct bpf_object *obj)
{
	int fd;

	fd = bpf_object__find_map_fd_by_name(obj, MERIDIAN_MAP_DECAP_ADDRS);
	if (fd < 0) {
		log_err("%s has no map %s", a->xdp.obj_path,
			MERIDIAN_MAP_DECAP_ADDRS);
		return fd;
	}
	return update_addrs(fd, a->addrs, a->n_addrs, true);
}

static int do_attach(const struct decap_args *a)
{
	const struct xdp_target *t = &a->xdp;
	struct xdp_attach at;
	int err;

	err = xdp_attach_begin(t, &at);
	if (err)
		goto out;
	err = store_attach_addrs(a, at.obj);
	if (err)
		goto out;
	err = xdp_attach_commit(t, &at);
	if (err)
		goto out;
	printf("attached %s to %s in %s mode; link pinned at %s, "
	       "maps under %s\n",
	       t->prog_name, t->dev, xdp_mode_name(t->generic), at.link_path,
	       t->pin_dir);
out:
	xdp_attach_end(&at);
	return err;
}

static int do_detach(const struct decap_args *a)
{
	const struct xdp_target *t = &a->xdp;
	__u32 prog = 0;
	int err;

	err = xdp_detach_pinned(t, &prog);
	if (err)
		return err;
	printf("detached %s (prog id %u) from %s; maps stay pinned under %s\n",
	       t->prog_name, prog, t->dev, t->pin_dir);
	return 0;
}

static int do_update(const struct decap_args *a, bool add)
{
	int fd, err;

	fd = open_decap_map(a->xdp.pin_dir, MERIDIAN_MAP_DECAP_ADDRS,
			    sizeof(struct meridian_decap_key), sizeof(__u32));
	if (fd < 0)
		return fd;
	err = update_addrs(fd, a->addrs, a->n_addrs, add);
	close(fd);
	return err;
}

/* ---- stats ---- */

static int read_counters(int fd, __u64 *sum)
{
	int ncpus = libbpf_num_possible_cpus(), cpu, err = 0;
	__u64 *values;
	__u32 i;

	if (ncpus <= 0) {
		log_err("cannot count possible CPUs: %s", strerror(-ncpus));
		return ncpus ? ncpus : -EINVAL;
	}
	values = calloc((size_t)ncpus, sizeof(*values));
	if (!values) {
		log_err("out of memory for %d per-CPU counters", ncpus);
		return -ENOMEM;
	}
	for (i = 0; i < MERIDIAN_DECAP_MAX && !err; i++) {
		err = bpf_map_lookup_elem(fd, &i, values);
		if (err) {
			log_err("cannot read decap counter %s: %s",
				counter_names[i], strerror(-err));
			break;
		}
		for (sum[i] = 0, cpu = 0; cpu < ncpus; cpu++)
			sum[i] += values[cpu];
	}
	free(values);
	return err;
}

static void print_addrs(int fd, bool json)
{
	struct meridian_decap_key key, next, *prev = NULL;
	char text[INET6_ADDRSTRLEN];
	int n = 0;

	printf(json ? "{\"addresses\":[" : "addresses:\n");
	/* Bounded by the map size, even if entries come and go meanwhile. */
	while (n < MERIDIAN_DECAP_ADDRS &&
	       !bpf_map_get_next_key(fd, prev, &next)) {
		format_decap_addr(&next, text, sizeof(text));
		if (json)
			printf("%s\"%s\"", n ? "," : "", text);
		else
			printf("  %s\n", text);
		key = next;
		prev = &key;
		n++;
	}
	if (json)
		printf("],");
	else if (!n)
		printf("  (none)\n");
}

static void print_counters(const __u64 *sum, bool json)
{
	int i;

	printf(json ? "\"counters\":{" : "counters:\n");
	for (i = 0; i < MERIDIAN_DECAP_MAX; i++) {
		if (json)
			printf("%s\"%s\":%" PRIu64, i ? "," : "",
			       counter_names[i], (uint64_t)sum[i]);
		else
			printf("  %-12s %20" PRIu64 "\n", counter_names[i],
			       (uint64_t)sum[i]);
	}
	if (json)
		printf("}}\n");
}

static int do_stats(const struct decap_args *a)
{
	__u64 sum[MERIDIAN_DECAP_MAX];
	int addrs, stats, err;

	addrs = open_decap_map(a->xdp.pin_dir, MERIDIAN_MAP_DECAP_ADDRS,
			       sizeof(struct meridian_decap_key),
			       sizeof(__u32));
	if (addrs < 0)
		return addrs;
	stats = open_decap_map(a->xdp.pin_dir, MERIDIAN_MAP_DECAP_STATS,
			       sizeof(__u32), sizeof(__u64));
	if (stats < 0) {
		err = stats;
		goto out_addrs;
	}
	err = read_counters(stats, sum);
	if (!err) {
		print_addrs(addrs, a->json);
		print_counters(sum, a->json);
	}
	close(stats);
out_addrs:
	close(addrs);
	return err;
}

/* ---- options ---- */

/* Which options and how many operands each subcommand takes. */
static int check_sub(const struct decap_args *a, int operands, bool has_addr,
		     bool has_load_opts)
{
	bool is_attach = !strcmp(a->sub, "attach");
	bool is_dev = is_attach || !strcmp(a->sub, "detach");
	bool is_update = !strcmp(a->sub, "add") || !strcmp(a->sub, "del");
	bool is_stats = !strcmp(a->sub, "stats");

	if (!is_dev && !is_update && !is_stats) {
		fprintf(stderr, "meridianctl: unknown decap command '%s'\n",
			a->sub);
		return -EINVAL;
	}
	if ((has_addr || has_load_opts) && !is_attach) {
		fprintf(stderr, "meridianctl: --addr, --obj and --mode are "
				"for decap attach\n");
		return -EINVAL;
	}
	if (a->json && !is_stats) {
		fprintf(stderr, "meridianctl: -j is for decap stats\n");
		return -EINVAL;
	}
	if ((is_dev && operands != 1) || (is_update && operands < 1) ||
	    (is_stats && operands != 0)) {
		fprintf(stderr, "meridianctl: decap %s: wrong number of "
				"arguments\n",
			a->sub);
		return -EINVAL;
	}
	return 0;
}

static int parse_decap_args(int argc, char **argv, struct decap_args *a,
			    char **addr_buf)
{
	static const struct option options[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "obj", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{},
	};
	bool load_opts = false;
	int opt, n_addr = 0;

	a->sub = argv[0];
	while ((opt = getopt_long(argc, argv, "j", options, NULL)) != -1) {
		if (opt == 'a' && n_addr < MERIDIAN_DECAP_ADDRS) {
			addr_buf[n_addr++] = optarg;
		} else if (opt == 'o') {
			a->xdp.obj_path = optarg;
			load_opts = true;
		} else if (opt == 'm') {
			if (xdp_parse_mode(optarg, &a->xdp.generic))
				return -EINVAL;
			load_opts = true;
		} else if (opt == 'p') {
			a->xdp.pin_dir = optarg;
		} else if (opt == 'j') {
			a->json = true;
		} else {
			if (opt == 'a')
				fprintf(stderr, "meridianctl: at most %d "
						"addresses\n",
					MERIDIAN_DECAP_ADDRS);
			return -EINVAL;
		}
	}
	if (check_sub(a, argc - optind, n_addr > 0, load_opts))
		return -EINVAL;
	if (!strcmp(a->sub, "attach") || !strcmp(a->sub, "detach")) {
		a->xdp.dev = argv[optind];
		a->addrs = addr_buf;
		a->n_addrs = n_addr;
	} else {
		a->addrs = argv + optind;
		a->n_addrs = argc - optind;
	}
	return 0;
}

int cmd_decap(int argc, char **argv)
{
	char *addr_buf[MERIDIAN_DECAP_ADDRS];
	struct decap_args a = {
		.xdp = {
			.prog_name = DECAP_PROG_NAME,
			.link_prefix = DECAP_LINK_PREFIX,
			.detach_cmd = "meridianctl decap detach",
			.obj_path = xdp_default_obj(DECAP_OBJ_INSTALLED,
						    DECAP_OBJ_BUILD),
			.pin_dir = MERIDIAN_PIN_DIR,
		},
	};
	int err;

	if (argc < 2) {
		fprintf(stderr, "meridianctl: decap needs a command\n");
		usage(stderr);
		return CTL_USAGE;
	}
	/* The subcommand word is argv[0] of its own option parsing. */
	optind = 0;
	if (parse_decap_args(argc - 1, argv + 1, &a, addr_buf)) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(a.sub, "attach"))
		err = do_attach(&a);
	else if (!strcmp(a.sub, "detach"))
		err = do_detach(&a);
	else if (!strcmp(a.sub, "add") || !strcmp(a.sub, "del"))
		err = do_update(&a, !strcmp(a.sub, "add"));
	else
		err = do_stats(&a);
	return err ? CTL_FAIL : CTL_OK;
}
