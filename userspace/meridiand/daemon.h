/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * meridiand: config + health -> policy -> reconcile into the pinned maps,
 * on one event loop (epoll): signals, probes, the control socket and a
 * tick for drain ramps and the systemd watchdog.
 */
#ifndef MERIDIAND_DAEMON_H
#define MERIDIAND_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "desired.h"
#include "health_fsm.h"
#include "meridian_access.h"
#include "metrics_render.h"
#include "model.h"

struct metrics;
struct prober;
struct reconciler;

#define DAEMON_TICK_MS 100

/* A drain ramp on a region or a backend; over_ms 0 is a hard cut. */
struct drain {
	bool active;
	uint64_t start_ms;
	uint64_t over_ms;
	uint32_t permille; /* as last evaluated; 1000 when not draining */
};

enum loop_source {
	SRC_SIGNAL,
	SRC_TICK,
	SRC_PROBER,
	SRC_CONTROL,
	SRC_METRICS,
};

struct backend_health {
	struct health_fsm fsm;
	uint32_t last_rtt_us;
	double lag_seconds; /* NAN when the probe gives none */
	uint64_t transitions;
	char why[96]; /* last failure reason */
	struct metrics_rtt_hist rtt; /* successful probes */
	uint64_t probe_failures;
	uint64_t failovers; /* its going down emptied its region */
};

struct daemon {
	const char *config_path;
	struct model model;
	struct meridian_maps maps;
	struct reconciler *reconciler;
	struct prober *prober;
	struct backend_health *health; /* model.n_backends */
	struct drain region_drain[MERIDIAN_MAX_REGIONS];
	struct drain *backend_drain; /* model.n_backends */
	uint32_t region_weight[MERIDIAN_MAX_REGIONS]; /* or WEIGHT_NONE */
	uint32_t generation;
	uint64_t last_reconcile_ms; /* CLOCK_MONOTONIC */
	uint64_t last_reconcile_ns; /* its duration */
	uint64_t decided_ns; /* when health last changed (monotonic) */
	uint64_t last_decision_ns; /* health decided -> maps written */
	/* Health decided -> its up flag in the data plane (the failover). */
	uint64_t last_flip_ns;
	uint32_t last_writes;
	uint64_t stale_since_ms; /* first failed reconcile since a good one */
	uint64_t reconcile_failures;
	struct metrics *metrics; /* the Prometheus endpoint */
	bool dirty; /* desired state must be rebuilt */
	bool ready; /* READY=1 sent */
	bool stop;
	int epoll_fd;
	int signal_fd;
	int tick_fd;
	int control_fd;
	uint64_t watchdog_usec;
	uint64_t last_watchdog_ms;
};

uint64_t now_ms(void);
uint64_t now_ns(void);

/* daemon.c */
int daemon_watch(struct daemon *d, int fd, enum loop_source src);
int daemon_init(struct daemon *d, const char *config_path);
int daemon_run(struct daemon *d);
void daemon_fini(struct daemon *d);
/* Rebuilds the desired state and writes what changed. */
int daemon_reconcile(struct daemon *d);

/* state.c: per-backend health and drains follow a config reload. */
int state_alloc(struct daemon *d, const struct model *m);
void state_free(struct daemon *d);
/* Takes next over on success; on failure nothing changed. */
int state_reload(struct daemon *d, struct model *next);
bool backend_up(const struct daemon *d, uint32_t i);
int probes_start(struct daemon *d);
/* Re-evaluates drain ramps; true when a weight changed. */
bool drains_changed(struct daemon *d, uint64_t now);
int state_build_desired(struct daemon *d, struct desired *out);

/* control.c: the unix socket of meridianctl. */
int control_open(struct daemon *d);
void control_close(struct daemon *d);
void control_serve(struct daemon *d);
/* Executes one command line, writing the answer to out. */
int control_execute(struct daemon *d, char *line, FILE *out);

/* status.c */
void status_print(const struct daemon *d, FILE *out, bool json);

#endif /* MERIDIAND_DAEMON_H */
