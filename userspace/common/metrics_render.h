/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus metrics of meridiand, rendered from a snapshot: pure, so tests
 * render without HTTP and without maps. The text follows the exposition
 * format 0.0.4; the metric reference is deploy/prometheus/README.md.
 *
 * Labels come from the configuration only (region, vip and backend names,
 * drop reasons, actions, health states), so the number of series is bounded
 * by the config: per region 10, per VIP 2, per backend 26 (17 of them the
 * RTT histogram), plus 32 fixed.
 */
#ifndef MERIDIAN_METRICS_RENDER_H
#define MERIDIAN_METRICS_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "counter_snapshot.h"
#include "health_fsm.h"
#include "model.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Probe RTT histogram: upper bounds from 100 us to 2.5 s, then +Inf. */
#define METRICS_RTT_BOUNDS 14
extern const uint32_t metrics_rtt_bounds_us[METRICS_RTT_BOUNDS];

struct metrics_rtt_hist {
	/* Per bucket, not cumulative; the last one is above every bound. */
	uint64_t bucket[METRICS_RTT_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_us;
};

void metrics_rtt_observe(struct metrics_rtt_hist *h, uint32_t rtt_us);

/* What the controller knows about one backend (model order). */
struct metrics_backend {
	enum health_state state;
	bool probed; /* false for probe type none: no RTT, no lag */
	double lag_seconds; /* NAN: the last probe carried none */
	uint64_t transitions; /* health changes, up or down */
	uint64_t probe_failures;
	/* Times its going down left its region without a healthy backend. */
	uint64_t failovers;
	const struct metrics_rtt_hist *rtt; /* successful probes; may be NULL */
};

struct metrics_controller {
	uint32_t generation; /* bumped by every reconcile that wrote */
	double reconcile_age_seconds; /* since the last good one; NAN: none */
	double reconcile_duration_seconds; /* of the last good one */
	/* Health decided -> maps written, the last time; NAN: never. */
	double decision_seconds;
	/* How long the maps have lagged the desired state; 0 when current. */
	double tables_stale_seconds;
	uint64_t reconcile_failures;
	uint32_t probes_in_flight;
	uint64_t probe_local_errors;
};

struct metrics_input {
	const struct model *model; /* required */
	/* NULL when the maps could not be read: data plane series left out. */
	const struct counter_snapshot *counters;
	/* model->n_backends entries; NULL leaves out health series. */
	const struct metrics_backend *backends;
	const struct metrics_controller *controller; /* NULL: left out */
};

/*
 * Writes every metric family of in to out. Returns 0, or -EIO if out
 * reports an error (e.g. a memory stream that could not grow).
 */
int metrics_render(FILE *out, const struct metrics_input *in);

/*
 * "127.0.0.1:9470" or "[::1]:9470" (the edge.metrics_listen syntax) to a
 * socket address. -EINVAL for anything else: host names, a bare IPv6
 * address, a port outside 1..65535.
 */
int metrics_listen_parse(const char *text, struct sockaddr_storage *sa,
			 socklen_t *len);

#endif /* MERIDIAN_METRICS_RENDER_H */
