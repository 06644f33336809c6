// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach / detach.
 *
 * The program is attached with a bpf_link created by bpf_link_create() with
 * an explicit mode flag, not bpf_program__attach_xdp(): libbpf 1.1's helper
 * passes no flags, and the kernel then silently falls back to generic mode
 * on a driver without native XDP. An explicit XDP_FLAGS_DRV_MODE fails
 * instead, and XDP_FLAGS_SKB_MODE gives generic mode with the same kind of
 * link, so attach, pin and detach work the same in both modes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#include "log.h"
#include "meridianctl.h"

struct attach_args {
	const char *dev;
	const char *obj_path;
	const char *pin_dir;
	bool generic;
};

static const char *default_obj_path(void)
{
	if (access(CTL_OBJ_INSTALLED, R_OK) == 0)
		return CTL_OBJ_INSTALLED;
	return CTL_OBJ_BUILD;
}

static int link_pin_path(char *buf, size_t size, const char *pin_dir,
			 const char *dev)
{
	if (snprintf(buf, size, "%s/" CTL_LINK_PREFIX "%s", pin_dir, dev) <
	    (int)size)
		return 0;
	log_err("pin path for %s under %s is too long", dev, pin_dir);
	return -ENAMETOOLONG;
}

/* mkdir -p, then insist on bpffs: pins anywhere else fail obscurely. */
static int prepare_pin_dir(const char *dir)
{
	char path[PATH_MAX];
	struct statfs fs;
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		log_err("bad pin directory '%s'", dir);
		return -EINVAL;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			log_err("cannot create pin directory %s: %s", path,
				strerror(errno));
			return -errno;
		}
		path[i] = dir[i];
	}
	if (statfs(dir, &fs)) {
		log_err("cannot stat %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		log_err("%s is not on a bpf filesystem; mount one with "
			"'mount -t bpf bpf /sys/fs/bpf'",
			dir);
		return -EINVAL;
	}
	return 0;
}

static const char *xdp_mode_name(__u8 mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "several modes";
	default:
		return "none";
	}
}

static int refuse_if_attached(int ifindex, const char *dev,
			      const char *link_path)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, query);
	int err;

	err = bpf_xdp_query(ifindex, 0, &query);
	if (err) {
		log_err("cannot query XDP state of %s: %s", dev,
			strerror(-err));
		return err;
	}
	if (query.attach_mode != XDP_ATTACHED_NONE) {
		log_err("%s already has an XDP program attached (prog id %u, "
			"%s); detach it first ('meridianctl detach %s' or "
			"'ip link set dev %s xdp off')",
			dev, query.prog_id, xdp_mode_name(query.attach_mode),
			dev, dev);
		return -EBUSY;
	}
	if (access(link_path, F_OK) == 0) {
		log_err("%s exists from an earlier attach to a device of that "
			"name; run 'meridianctl detach %s' first",
			link_path, dev);
		return -EEXIST;
	}
	return 0;
}

/* Opens the object with maps pinned by name under pin_dir, and loads it. */
static struct bpf_object *load_object(const struct attach_args *a,
				      struct bpf_program **prog_out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = a->pin_dir);
	struct bpf_program *prog, *edge = NULL;
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_file(a->obj_path, &opts);
	if (!obj) {
		log_err("cannot open %s: %s", a->obj_path, strerror(errno));
		return NULL;
	}
	/* Only the edge program is needed; others in the file stay out. */
	bpf_object__for_each_program(prog, obj) {
		if (!strcmp(bpf_program__name(prog), CTL_PROG_NAME))
			edge = prog;
		else
			bpf_program__set_autoload(prog, false);
	}
	if (!edge) {
		log_err("%s has no program named %s", a->obj_path,
			CTL_PROG_NAME);
		goto err_close;
	}
	err = bpf_object__load(obj);
	if (err) {
		log_err("cannot load %s: %s (a pinned map under %s that does "
			"not match this object also fails here)",
			a->obj_path, strerror(-err), a->pin_dir);
		goto err_close;
	}
	*prog_out = edge;
	return obj;

err_close:
	bpf_object__close(obj);
	return NULL;
}

static int create_xdp_link(struct bpf_program *prog, int ifindex,
			   const struct attach_args *a)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = a->generic ? XDP_FLAGS_SKB_MODE :
					  XDP_FLAGS_DRV_MODE);
	int fd;

	fd = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &opts);
	if (fd < 0)
		log_err("cannot attach %s to %s in %s mode: %s%s",
			CTL_PROG_NAME, a->dev,
			a->generic ? "generic" : "native", strerror(-fd),
			!a->generic && fd == -EOPNOTSUPP ?
				" (no native XDP here; try --mode generic)" :
				"");
	return fd;
}

static __u32 prog_id(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 0;
	return info.id;
}

static int do_attach(const struct attach_args *a)
{
	struct bpf_program *prog = NULL;
	char link_path[PATH_MAX];
	struct bpf_object *obj;
	int ifindex, link_fd, err;

	ifindex = if_nametoindex(a->dev);
	if (!ifindex) {
		log_err("no device %s: %s", a->dev, strerror(errno));
		return -ENODEV;
	}
	err = link_pin_path(link_path, sizeof(link_path), a->pin_dir, a->dev);
	if (err)
		return err;
	err = prepare_pin_dir(a->pin_dir);
	if (err)
		return err;
	err = refuse_if_attached(ifindex, a->dev, link_path);
	if (err)
		return err;
	obj = load_object(a, &prog);
	if (!obj)
		return -EINVAL;
	link_fd = create_xdp_link(prog, ifindex, a);
	if (link_fd < 0) {
		err = link_fd;
		goto out_obj;
	}
	/* Closing an unpinned link detaches it, so a failed pin undoes all. */
	err = bpf_obj_pin(link_fd, link_path);
	if (err) {
		log_err("cannot pin link at %s: %s", link_path, strerror(-err));
		goto out_link;
	}
	printf("attached %s (prog id %u) to %s in %s mode\n", CTL_PROG_NAME,
	       prog_id(prog), a->dev, a->generic ? "generic" : "native");
	printf("link pinned at %s, maps pinned under %s\n", link_path,
	       a->pin_dir);
out_link:
	close(link_fd);
out_obj:
	bpf_object__close(obj);
	return err;
}

static int parse_mode(const char *mode, bool *generic)
{
	if (!strcmp(mode, "native")) {
		*generic = false;
		return 0;
	}
	if (!strcmp(mode, "generic")) {
		*generic = true;
		return 0;
	}
	fprintf(stderr, "meridianctl: --mode must be native or generic\n");
	return -EINVAL;
}

/* Options of attach and detach; detach accepts only --pin-dir. */
static int parse_dev_args(int argc, char **argv, struct attach_args *a,
			  bool is_attach)
{
	static const struct option options[] = {
		{ "obj", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'p') {
			a->pin_dir = optarg;
		} else if (opt == 'o' && is_attach) {
			a->obj_path = optarg;
		} else if (opt == 'm' && is_attach) {
			if (parse_mode(optarg, &a->generic))
				return -EINVAL;
		} else {
			if (opt == 'o' || opt == 'm')
				fprintf(stderr,
					"meridianctl: detach takes no %s\n",
					opt == 'o' ? "--obj" : "--mode");
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "meridianctl: %s needs exactly one DEV\n",
			argv[0]);
		return -EINVAL;
	}
	a->dev = argv[optind];
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_args a = {
		.obj_path = default_obj_path(),
		.pin_dir = MERIDIAN_PIN_DIR,
	};

	if (parse_dev_args(argc, argv, &a, true)) {
		usage(stderr);
		return CTL_USAGE;
	}
	return do_attach(&a) ? CTL_FAIL : CTL_OK;
}

/* The pinned object must be an XDP link; its prog id is worth reporting. */
static int check_xdp_link(struct bpf_link *link, const char *path,
			  __u32 *prog)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len);
	if (err) {
		log_err("cannot inspect link %s: %s", path, strerror(-err));
		return err;
	}
	if (info.type != BPF_LINK_TYPE_XDP) {
		log_err("%s is a link of type %u, not XDP; left alone", path,
			info.type);
		return -EINVAL;
	}
	*prog = info.prog_id;
	return 0;
}

static int do_detach(const struct attach_args *a)
{
	char link_path[PATH_MAX];
	struct bpf_link *link;
	__u32 prog = 0;
	int err;

	err = link_pin_path(link_path, sizeof(link_path), a->pin_dir, a->dev);
	if (err)
		return err;
	link = bpf_link__open(link_path);
	if (!link) {
		err = -errno;
		log_err("no meridian link for %s at %s: %s%s", a->dev,
			link_path, strerror(errno),
			err == -ENOENT ? " (attached with ip link? detach with "
					 "'ip link set dev DEV xdp off')" :
					 "");
		return err;
	}
	err = check_xdp_link(link, link_path, &prog);
	if (err)
		goto out;
	err = bpf_link__detach(link);
	if (err) {
		log_err("cannot detach link %s: %s", link_path, strerror(-err));
		goto out;
	}
	if (unlink(link_path)) {
		err = -errno;
		log_err("detached, but cannot remove %s: %s", link_path,
			strerror(errno));
		goto out;
	}
	printf("detached %s (prog id %u) from %s\n", CTL_PROG_NAME, prog,
	       a->dev);
	printf("maps stay pinned under %s: counters are kept and reused by "
	       "the next attach\n",
	       a->pin_dir);
out:
	bpf_link__destroy(link);
	return err;
}

int cmd_detach(int argc, char **argv)
{
	struct attach_args a = { .pin_dir = MERIDIAN_PIN_DIR };

	if (parse_dev_args(argc, argv, &a, false)) {
		usage(stderr);
		return CTL_USAGE;
	}
	return do_detach(&a) ? CTL_FAIL : CTL_OK;
}
