/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef MERIDIANCTL_H
#define MERIDIANCTL_H

#include <stdio.h>

#include "meridian_access.h"

/* Exit codes: usage errors are told apart from failures. */
enum ctl_exit {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
};

/* Installed object first, then the build tree's. */
#define CTL_OBJ_INSTALLED "/usr/lib/meridian/edge.bpf.o"
#define CTL_OBJ_BUILD "./bpf/edge.bpf.o"
#define CTL_PROG_NAME "meridian_edge"
#define CTL_LINK_PREFIX "link_"

/* Subcommands: argv[0] is the subcommand's own name. */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_stats(int argc, char **argv);
/* top.c: the same counters, live. */
int cmd_top(int argc, char **argv);
/* control.c: commands for the running daemon. */
int cmd_status(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_undrain(int argc, char **argv);
int cmd_weight(int argc, char **argv);
/* decap.c: the backends' decapsulation program. */
int cmd_decap(int argc, char **argv);

void usage(FILE *out);

#endif /* MERIDIANCTL_H */
