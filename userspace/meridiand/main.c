// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* meridiand: the meridian controller daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "prober.h"

#define DEFAULT_CONFIG "/etc/meridian/meridian.yaml"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: meridiand [-c CONFIG] [--check] [-l LEVEL] [-v]\n"
		"  -c, --config CONFIG  configuration file (default %s)\n"
		"      --check          validate CONFIG and exit; touches nothing\n"
		"  -l, --log-level L    debug, info, warn or err (default info)\n"
		"  -v                   same as --log-level debug\n"
		"\n"
		"The edge program must be attached with its maps pinned\n"
		"(meridianctl attach DEV). SIGHUP re-reads CONFIG; SIGTERM\n"
		"stops the daemon and leaves the data plane serving.\n",
		DEFAULT_CONFIG);
}

static int check_config(const char *path)
{
	struct config_error err;
	struct model m = { 0 };
	char msg[1024];

	if (config_load_file(path, &m, &err)) {
		config_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	printf("%s: ok: %u regions, %u backends, %u classes, %u VIPs\n", path,
	       m.n_regions, m.n_backends, m.n_classes, m.n_vips);
	model_free(&m);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *config = DEFAULT_CONFIG;
	enum log_level level;
	struct daemon d;
	bool check = false;
	int opt, err;

	log_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "c:l:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'l':
			if (log_level_parse(optarg, &level)) {
				fprintf(stderr, "meridiand: bad level %s\n",
					optarg);
				return 2;
			}
			log_set_level(level);
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_config(config);
	prober_raise_fd_limit();
	err = daemon_init(&d, config);
	if (!err)
		err = daemon_run(&d);
	daemon_fini(&d);
	return err ? 1 : 0;
}
