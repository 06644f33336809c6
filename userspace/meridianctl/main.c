// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* meridianctl: attach, detach and inspect the meridian edge program. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "meridianctl.h"
#include "model.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "stats", cmd_stats },
	{ "top", cmd_top },
	{ "status", cmd_status },
	{ "drain", cmd_drain },
	{ "undrain", cmd_undrain },
	{ "weight", cmd_weight },
	{ "decap", cmd_decap },
};

void usage(FILE *out)
{
	fprintf(out,
		"Usage: meridianctl [-v] COMMAND [ARGS]\n"
		"  meridianctl attach DEV [--obj PATH] [--mode native|generic]\n"
		"                         [--pin-dir DIR]\n"
		"  meridianctl detach DEV [--pin-dir DIR]\n"
		"  meridianctl stats [-j] [-c CONFIG] [--pin-dir DIR]\n"
		"                    [--interval DURATION]\n"
		"  meridianctl top [-j] [-c CONFIG] [--pin-dir DIR]\n"
		"                  [--interval DURATION] [--count N]\n"
		"  meridianctl status [-j] [--socket PATH]\n"
		"  meridianctl drain REGION|BACKEND [--over DURATION]\n"
		"  meridianctl undrain REGION|BACKEND\n"
		"  meridianctl weight REGION N|reset\n"
		"  meridianctl decap attach DEV [--addr ADDR]... [--obj PATH]\n"
		"                               [--mode native|generic] "
		"[--pin-dir DIR]\n"
		"  meridianctl decap detach DEV [--pin-dir DIR]\n"
		"  meridianctl decap add|del ADDR... [--pin-dir DIR]\n"
		"  meridianctl decap stats [-j] [--pin-dir DIR]\n"
		"  meridianctl help\n"
		"\n"
		"attach  load the edge program, pin its maps under DIR (maps\n"
		"        already pinned there are reused, counters kept) and\n"
		"        attach it to DEV with a bpf_link pinned at\n"
		"        DIR/" CTL_LINK_PREFIX "DEV. Native mode by default.\n"
		"detach  detach the pinned link from DEV; maps stay pinned\n"
		"stats   the edge counters per region, VIP and backend, -j as\n"
		"        JSON; --interval samples twice and adds rates. Reads\n"
		"        the pinned maps, so it works with meridiand down.\n"
		"        Names come from CONFIG (without --pin-dir, from\n"
		"        /etc/meridian/meridian.yaml if it exists)\n"
		"top     the same, redrawn every DURATION (default 1s) until q,\n"
		"        Ctrl-C or N frames; -j prints a JSON object per frame\n"
		"status  regions, backends, health, table generation and age,\n"
		"        from meridiand (socket default " MODEL_DEFAULT_CONTROL_SOCKET ")\n"
		"drain   ramp a region's or backend's weight to 0 over DURATION\n"
		"        (30s, 500ms, 2m; default: at once); flows stay put\n"
		"undrain back to full weight\n"
		"weight  set a region's weight for every VIP (0..1000, e.g. a\n"
		"        10 %% canary), or reset it to the config's\n"
		"decap   on a backend: load bpf/decap.bpf.o on DEV (link at\n"
		"        DIR/decap_link_DEV), set the tunnel addresses it\n"
		"        strips (add, del) and show them with its counters\n"
		"-v      debug logging, libbpf's included\n"
		"\n"
		"DIR defaults to %s; programs loaded with ip link\n"
		"pin under %s. PATH defaults to\n"
		"%s if it exists, else %s.\n",
		MERIDIAN_PIN_DIR, MERIDIAN_PIN_DIR_IPROUTE2, CTL_OBJ_INSTALLED,
		CTL_OBJ_BUILD);
}

/* Global options stop at the first word, which names the command. */
static int parse_global(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	return -1;
}

static int run_command(int argc, char **argv)
{
	size_t i;

	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return CTL_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[0], commands[i].name)) {
			/* Subcommands parse their own options from scratch. */
			optind = 0;
			return commands[i].run(argc, argv);
		}
	}
	fprintf(stderr, "meridianctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return CTL_USAGE;
}

int main(int argc, char **argv)
{
	int rc;

	log_init(argv[0]);
	meridian_libbpf_log_setup();
	rc = parse_global(argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	return run_command(argc - optind, argv + optind);
}
