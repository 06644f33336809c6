/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * meridianctl stats and top: the edge counters read from the pinned maps
 * (so they work with meridiand down), named from the configuration when
 * one is at hand, with rates from two samples.
 */
#ifndef MERIDIANCTL_STATS_H
#define MERIDIANCTL_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "counter_snapshot.h"
#include "meridian_access.h"
#include "model.h"

#define STATS_DEFAULT_CONFIG "/etc/meridian/meridian.yaml"

/* Where the counters come from, and the names that go with them. */
struct stats_source {
	struct meridian_maps maps;
	struct model model;
	bool have_model;
	const char *pin_dir;
};

/* Options shared by stats and top. */
struct stats_opts {
	const char *pin_dir; /* NULL: the config's, else MERIDIAN_PIN_DIR */
	const char *config; /* NULL: the default one, if no pin_dir given */
	bool json;
	uint64_t interval_ms; /* 0: one sample, no rates (stats only) */
	unsigned long count; /* top: frames, 0 until q or a signal */
};

/*
 * Names come from opts->config (must load), else from the default config
 * when it exists and no --pin-dir was given (it describes this edge).
 * Without a config, rows are ids. Returns 0 or a negative errno (logged).
 */
int stats_source_open(struct stats_source *src, const struct stats_opts *o);
void stats_source_close(struct stats_source *src);
int stats_source_read(const struct stats_source *src,
		      struct counter_snapshot *s);

/*
 * Parses the options of stats (top false) or top into o. Returns -1 to go
 * on, else the exit code (usage errors print usage).
 */
int stats_parse_opts(int argc, char **argv, bool top, struct stats_opts *o);

/* What one print shows: cur, and rates against prev when it is set. */
struct stats_view {
	const struct model *model; /* NULL: ids, no cost */
	const struct counter_snapshot *cur;
	const struct counter_snapshot *prev; /* NULL: totals only */
};

/* stats_print.c: pure formatting. */
void stats_show_text(FILE *out, const struct stats_view *v);
/* One JSON object on one line. */
void stats_show_json(FILE *out, const struct stats_view *v);
/* "12.3k", "4.56M": SI prefixes, 3 significant digits. */
const char *stats_si(double v, char *buf, size_t len);

/* top.c */
int cmd_top(int argc, char **argv);

#endif /* MERIDIANCTL_STATS_H */
