/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching one program of a BPF object to a device through a pinned
 * bpf_link, and detaching it again: shared by the edge (attach.c) and the
 * decap program (decap.c). The object's maps are pinned by name under the
 * pin directory; the link is pinned at PIN_DIR/<link_prefix><dev>.
 *
 * Those returning int give 0 or a negative errno, the failure logged once.
 */
#ifndef MERIDIANCTL_XDP_LINK_H
#define MERIDIANCTL_XDP_LINK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

struct bpf_object;
struct bpf_program;

struct xdp_target {
	/* Fixed per program. */
	const char *prog_name; /* loaded; the object's others are not */
	const char *link_prefix;
	const char *detach_cmd; /* named in messages: "meridianctl detach" */
	/* From the command line. */
	const char *dev;
	const char *obj_path;
	const char *pin_dir;
	bool generic;
};

/* The installed object when readable, else the build tree's. */
const char *xdp_default_obj(const char *installed, const char *build);
/* "native" or "generic"; prints a usage message otherwise. */
int xdp_parse_mode(const char *mode, bool *generic);
const char *xdp_mode_name(bool generic);

/* An attach under way: checked and loaded, not linked yet. */
struct xdp_attach {
	int ifindex;
	char link_path[PATH_MAX];
	struct bpf_object *obj;
	struct bpf_program *prog;
};

/*
 * Everything short of the link: the device exists, the pin directory exists
 * on bpffs, neither the device nor the link pin is taken, and the object is
 * loaded with only the named program. Its maps can be filled before commit.
 */
int xdp_attach_begin(const struct xdp_target *t, struct xdp_attach *at);
/* Attaches in the target's mode and pins the link, or leaves nothing. */
int xdp_attach_commit(const struct xdp_target *t,
		      const struct xdp_attach *at);
/* Closes the object, after begin failed too; a pinned link stays. */
void xdp_attach_end(struct xdp_attach *at);

/* Detaches the pinned link and removes its pin; *prog_id: what ran. */
int xdp_detach_pinned(const struct xdp_target *t, __u32 *prog_id);

#endif /* MERIDIANCTL_XDP_LINK_H */
