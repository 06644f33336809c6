// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats: read the pinned counter maps; formatting is in stats_print.c. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "meridianctl.h"

static int read_snapshot(const struct meridian_maps *m,
			 struct stats_snapshot *s)
{
	__u32 i;
	int err;

	err = meridian_counters_read(m, &s->counters);
	for (i = 0; !err && i < MERIDIAN_MAX_REGIONS; i++)
		err = meridian_region_stats_read(m, i, &s->regions[i]);
	for (i = 0; !err && i < MERIDIAN_MAX_VIPS; i++)
		err = meridian_vip_stats_read(m, i, &s->vips[i]);
	for (i = 0; !err && i < MERIDIAN_MAX_BACKENDS; i++)
		err = meridian_backend_stats_read(m, i, &s->backends[i]);
	return err;
}

static int do_stats(const char *pin_dir, bool json)
{
	struct stats_snapshot *s;
	struct meridian_maps m;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		log_err("out of memory for the stats snapshot");
		return -ENOMEM;
	}
	err = meridian_maps_open(&m, pin_dir);
	if (err)
		goto out_free;
	err = read_snapshot(&m, s);
	if (err)
		goto out_close;
	if (json)
		stats_print_json(stdout, s);
	else
		stats_print_text(stdout, s);
out_close:
	meridian_maps_close(&m);
out_free:
	free(s);
	return err;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{},
	};
	const char *pin_dir = MERIDIAN_PIN_DIR;
	bool json = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "j", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "meridianctl: stats takes no argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	return do_stats(pin_dir, json) ? CTL_FAIL : CTL_OK;
}
