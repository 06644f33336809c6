// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The program is attached with a bpf_link created by bpf_link_create() with
 * an explicit mode flag, not bpf_program__attach_xdp(): libbpf 1.1's helper
 * passes no flags, and the kernel then silently falls back to generic mode
 * on a driver without native XDP. An explicit XDP_FLAGS_DRV_MODE fails
 * instead, and XDP_FLAGS_SKB_MODE gives generic mode with the same kind of
 * link, so attach, pin and detach work the same in both modes.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
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
#include "xdp_link.h"

const char *xdp_default_obj(const char *installed, const char *build)
{
	if (access(installed, R_OK) == 0)
		return installed;
	return build;
}

int xdp_parse_mode(const char *mode, bool *generic)
{
	if (strcmp(mode, "native") && strcmp(mode, "generic")) {
		fprintf(stderr,
			"meridianctl: --mode must be native or generic\n");
		return -EINVAL;
	}
	*generic = !strcmp(mode, "generic");
	return 0;
}

const char *xdp_mode_name(bool generic)
{
	return generic ? "generic" : "native";
}

static int format_link_path(const struct xdp_target *t, char *buf,
			    size_t size)
{
	if (snprintf(buf, size, "%s/%s%s", t->pin_dir, t->link_prefix,
		     t->dev) < (int)size)
		return 0;
	log_err("link pin path for %s under %s is too long", t->dev,
		t->pin_dir);
	return -ENAMETOOLONG;
}

/* ---- before loading ---- */

static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	size_t i, len = strlen(dir);
	int err;

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
			err = -errno;
			log_err("cannot create pin directory %s: %s", path,
				strerror(-err));
			return err;
		}
		path[i] = dir[i];
	}
	return 0;
}

/* Pins anywhere but on bpffs fail obscurely; say so up front. */
static int require_bpffs(const char *dir)
{
	struct statfs fs;
	int err;

	if (statfs(dir, &fs)) {
		err = -errno;
		log_err("cannot stat %s: %s", dir, strerror(-err));
		return err;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		log_err("%s is not on a bpf filesystem; mount one with "
			"'mount -t bpf bpf /sys/fs/bpf'",
			dir);
		return -EINVAL;
	}
	return 0;
}

static const char *attached_mode_name(__u8 mode)
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

static int refuse_if_attached(const struct xdp_target *t, int ifindex,
			      const char *link_path)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, query);
	int err;

	err = bpf_xdp_query(ifindex, 0, &query);
	if (err) {
		log_err("cannot query XDP state of %s: %s", t->dev,
			strerror(-err));
		return err;
	}
	if (query.attach_mode != XDP_ATTACHED_NONE) {
		log_err("%s already has an XDP program attached (prog id %u, "
			"%s); detach it first ('%s %s' or "
			"'ip link set dev %s xdp off')",
			t->dev, query.prog_id,
			attached_mode_name(query.attach_mode), t->detach_cmd,
			t->dev, t->dev);
		return -EBUSY;
	}
	if (access(link_path, F_OK) == 0) {
		log_err("%s exists from an earlier attach to a device of that "
			"name; run '%s %s' first",
			link_path, t->detach_cmd, t->dev);
		return -EEXIST;
	}
	return 0;
}

static int prepare_attach(const struct xdp_target *t, struct xdp_attach *at)
{
	int err;

	at->ifindex = (int)if_nametoindex(t->dev);
	if (!at->ifindex) {
		log_err("no device %s: %s", t->dev, strerror(errno));
		return -ENODEV;
	}
	err = format_link_path(t, at->link_path, sizeof(at->link_path));
	if (err)
		return err;
	err = make_dirs(t->pin_dir);
	if (err)
		return err;
	err = require_bpffs(t->pin_dir);
	if (err)
		return err;
	return refuse_if_attached(t, at->ifindex, at->link_path);
}

/* ---- loading and attaching ---- */

/* Only the named program is needed; others in the file stay out. */
static int select_program(const struct xdp_target *t, struct bpf_object *obj,
			  struct bpf_program **found)
{
	struct bpf_program *prog;

	*found = NULL;
	bpf_object__for_each_program(prog, obj) {
		if (!strcmp(bpf_program__name(prog), t->prog_name))
			*found = prog;
		else
			bpf_program__set_autoload(prog, false);
	}
	if (*found)
		return 0;
	log_err("%s has no program named %s", t->obj_path, t->prog_name);
	return -ENOENT;
}

static int load_program(const struct xdp_target *t, struct bpf_object **objp,
			struct bpf_program **progp)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = t->pin_dir);
	struct bpf_program *prog;
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_file(t->obj_path, &opts);
	if (!obj) {
		err = -errno;
		log_err("cannot open %s: %s", t->obj_path, strerror(-err));
		return err;
	}
	err = select_program(t, obj, &prog);
	if (err)
		goto err_close;
	err = bpf_object__load(obj);
	if (err) {
		log_err("cannot load %s: %s (a pinned map under %s that does "
			"not match this object also fails here)",
			t->obj_path, strerror(-err), t->pin_dir);
		goto err_close;
	}
	*objp = obj;
	*progp = prog;
	return 0;

err_close:
	bpf_object__close(obj);
	return err;
}

int xdp_attach_begin(const struct xdp_target *t, struct xdp_attach *at)
{
	int err;

	at->obj = NULL;
	err = prepare_attach(t, at);
	if (err)
		return err;
	return load_program(t, &at->obj, &at->prog);
}

int xdp_attach_commit(const struct xdp_target *t,
		      const struct xdp_attach *at)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = t->generic ? XDP_FLAGS_SKB_MODE :
					  XDP_FLAGS_DRV_MODE);
	int fd, err;

	fd = bpf_link_create(bpf_program__fd(at->prog), at->ifindex, BPF_XDP,
			     &opts);
	if (fd < 0) {
		log_err("cannot attach %s to %s in %s mode: %s%s",
			t->prog_name, t->dev, xdp_mode_name(t->generic),
			strerror(-fd),
			!t->generic && fd == -EOPNOTSUPP ?
				" (no native XDP here; try --mode generic)" :
				"");
		return fd;
	}
	/* Closing an unpinned link detaches it, so a failed pin undoes all. */
	err = bpf_obj_pin(fd, at->link_path);
	if (err)
		log_err("cannot pin link at %s: %s", at->link_path,
			strerror(-err));
	close(fd);
	return err;
}

void xdp_attach_end(struct xdp_attach *at)
{
	bpf_object__close(at->obj);
	at->obj = NULL;
}

/* ---- detaching ---- */

static int open_pinned_link(const struct xdp_target *t, const char *path,
			    struct bpf_link **link)
{
	int err;

	*link = bpf_link__open(path);
	if (*link)
		return 0;
	err = -errno;
	log_err("no %s link for %s at %s: %s%s", t->prog_name, t->dev, path,
		strerror(-err),
		err == -ENOENT ? " (attached with ip link? detach with "
				 "'ip link set dev DEV xdp off')" :
				 "");
	return err;
}

/* The pinned object must be an XDP link; its prog id is worth reporting. */
static int check_xdp_link(struct bpf_link *link, const char *path,
			  __u32 *prog_id)
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
	*prog_id = info.prog_id;
	return 0;
}

int xdp_detach_pinned(const struct xdp_target *t, __u32 *prog_id)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int err;

	err = format_link_path(t, path, sizeof(path));
	if (err)
		return err;
	err = open_pinned_link(t, path, &link);
	if (err)
		return err;
	err = check_xdp_link(link, path, prog_id);
	if (err)
		goto out;
	err = bpf_link__detach(link);
	if (err) {
		log_err("cannot detach link %s: %s", path, strerror(-err));
		goto out;
	}
	if (unlink(path)) {
		err = -errno;
		log_err("detached, but cannot remove %s: %s", path,
			strerror(-err));
	}
out:
	bpf_link__destroy(link);
	return err;
}
