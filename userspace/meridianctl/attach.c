// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach / detach of the edge program: its maps pinned by name under the
 * pin directory, its bpf_link pinned at DIR/link_DEV (see xdp_link.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "meridianctl.h"
#include "xdp_link.h"

/* The edge program; device, object, pin directory and mode from options. */
static struct xdp_target edge_target(void)
{
	return (struct xdp_target){
		.prog_name = CTL_PROG_NAME,
		.link_prefix = CTL_LINK_PREFIX,
		.detach_cmd = "meridianctl detach",
		.obj_path = xdp_default_obj(CTL_OBJ_INSTALLED, CTL_OBJ_BUILD),
		.pin_dir = MERIDIAN_PIN_DIR,
	};
}

static __u32 prog_id(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 0;
	return info.id;
}

static int do_attach(const struct xdp_target *t)
{
	struct xdp_attach at;
	int err;

	err = xdp_attach_begin(t, &at);
	if (err)
		goto out;
	err = xdp_attach_commit(t, &at);
	if (err)
		goto out;
	printf("attached %s (prog id %u) to %s in %s mode\n", t->prog_name,
	       prog_id(at.prog), t->dev, xdp_mode_name(t->generic));
	printf("link pinned at %s, maps pinned under %s\n", at.link_path,
	       t->pin_dir);
out:
	xdp_attach_end(&at);
	return err;
}

/* Options of attach and detach; detach accepts only --pin-dir. */
static int parse_dev_args(int argc, char **argv, struct xdp_target *t,
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
			t->pin_dir = optarg;
		} else if (opt == 'o' && is_attach) {
			t->obj_path = optarg;
		} else if (opt == 'm' && is_attach) {
			if (xdp_parse_mode(optarg, &t->generic))
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
	t->dev = argv[optind];
	return 0;
}

static int do_detach(const struct xdp_target *t)
{
	__u32 prog = 0;
	int err;

	err = xdp_detach_pinned(t, &prog);
	if (err)
		return err;
	printf("detached %s (prog id %u) from %s\n", t->prog_name, prog,
	       t->dev);
	printf("maps stay pinned under %s: counters are kept and reused by "
	       "the next attach\n",
	       t->pin_dir);
	return 0;
}

/* attach and detach differ only in their options and their action. */
static int run_dev_cmd(int argc, char **argv, bool is_attach)
{
	struct xdp_target t = edge_target();
	int err;

	if (parse_dev_args(argc, argv, &t, is_attach)) {
		usage(stderr);
		return CTL_USAGE;
	}
	err = is_attach ? do_attach(&t) : do_detach(&t);
	return err ? CTL_FAIL : CTL_OK;
}

int cmd_attach(int argc, char **argv)
{
	return run_dev_cmd(argc, argv, true);
}

int cmd_detach(int argc, char **argv)
{
	return run_dev_cmd(argc, argv, false);
}
