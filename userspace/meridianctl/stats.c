// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stats: read the pinned counter maps, once or twice (--interval, for
 * rates); formatting is in stats_print.c, the live view in top.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "meridianctl.h"
#include "stats.h"

#define INTERVAL_MIN_MS 100
#define INTERVAL_MAX_MS 3600000

static int load_config(struct stats_source *src, const char *path,
		       bool must)
{
	struct config_error cerr;
	char msg[1024];

	if (!config_load_file(path, &src->model, &cerr)) {
		src->have_model = true;
		return 0;
	}
	config_error_format(&cerr, msg, sizeof(msg));
	if (must) {
		log_err("%s", msg);
		return -EINVAL;
	}
	log_warn("%s; showing ids instead of names", msg);
	return 0;
}

int stats_source_open(struct stats_source *src, const struct stats_opts *o)
{
	int err = 0;

	memset(src, 0, sizeof(*src));
	meridian_maps_init(&src->maps);
	if (o->config)
		err = load_config(src, o->config, true);
	else if (!o->pin_dir && access(STATS_DEFAULT_CONFIG, R_OK) == 0)
		err = load_config(src, STATS_DEFAULT_CONFIG, false);
	if (err)
		return err;
	src->pin_dir = o->pin_dir ? o->pin_dir :
		       src->have_model ? src->model.edge.pin_dir :
					 MERIDIAN_PIN_DIR;
	err = meridian_maps_open(&src->maps, src->pin_dir);
	if (err)
		stats_source_close(src);
	return err;
}

void stats_source_close(struct stats_source *src)
{
	meridian_maps_close(&src->maps);
	if (src->have_model)
		model_free(&src->model);
	src->have_model = false;
}

int stats_source_read(const struct stats_source *src,
		      struct counter_snapshot *s)
{
	uint32_t nr = MERIDIAN_MAX_REGIONS, nv = MERIDIAN_MAX_VIPS,
		 nb = MERIDIAN_MAX_BACKENDS;

	/* A config names every id in use: no need to read the others. */
	if (src->have_model)
		counter_snapshot_counts(&src->model, &nr, &nv, &nb);
	return counter_snapshot_read(&src->maps, nr, nv, nb, s);
}

static int parse_interval(const char *s, uint64_t *ms)
{
	char msg[CFG_MSG_LEN];
	uint32_t v;

	if (cfg_parse_duration(s, INTERVAL_MIN_MS, INTERVAL_MAX_MS, &v, msg)) {
		fprintf(stderr, "meridianctl: --interval: %s\n", msg);
		return -EINVAL;
	}
	*ms = v;
	return 0;
}

static int parse_count(const char *s, unsigned long *count)
{
	char *end;

	errno = 0;
	*count = strtoul(s, &end, 10);
	if (errno || end == s || *end || *count == 0 || s[0] == '-') {
		fprintf(stderr, "meridianctl: --count wants a positive "
				"number, got '%s'\n",
			s);
		return -EINVAL;
	}
	return 0;
}

int stats_parse_opts(int argc, char **argv, bool top, struct stats_opts *o)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{},
	};
	int opt;

	memset(o, 0, sizeof(*o));
	if (top)
		o->interval_ms = 1000;
	while ((opt = getopt_long(argc, argv, "jc:i:n:", options, NULL)) !=
	       -1) {
		switch (opt) {
		case 'j':
			o->json = true;
			break;
		case 'p':
			o->pin_dir = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			if (parse_interval(optarg, &o->interval_ms))
				return CTL_USAGE;
			break;
		case 'n':
			if (!top || parse_count(optarg, &o->count)) {
				usage(stderr);
				return CTL_USAGE;
			}
			break;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "meridianctl: %s takes no argument '%s'\n",
			argv[0], argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	return -1;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int do_stats(const struct stats_opts *o)
{
	struct counter_snapshot *s = calloc(2, sizeof(*s));
	struct stats_view v = { 0 };
	struct stats_source src;
	int err;

	if (!s) {
		log_err("out of memory for the stats snapshot");
		return -ENOMEM;
	}
	err = stats_source_open(&src, o);
	if (err)
		goto out_free;
	err = stats_source_read(&src, &s[0]);
	v.cur = &s[0];
	if (!err && o->interval_ms) {
		sleep_ms(o->interval_ms);
		err = stats_source_read(&src, &s[1]);
		v.prev = &s[0];
		v.cur = &s[1];
	}
	if (err)
		goto out_close;
	v.model = src.have_model ? &src.model : NULL;
	if (o->json)
		stats_show_json(stdout, &v);
	else
		stats_show_text(stdout, &v);
out_close:
	stats_source_close(&src);
out_free:
	free(s);
	return err;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_opts o;
	int rc = stats_parse_opts(argc, argv, false, &o);

	if (rc >= 0)
		return rc;
	return do_stats(&o) ? CTL_FAIL : CTL_OK;
}
