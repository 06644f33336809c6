/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * meridiand's Prometheus endpoint (GET /metrics on edge.metrics_listen),
 * served by libmicrohttpd on the daemon's own epoll loop: MHD's epoll fd is
 * a loop source (SRC_METRICS), no thread is started. What is exported is in
 * userspace/common/metrics_render.h.
 */
#ifndef MERIDIAND_METRICS_H
#define MERIDIAND_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "health_fsm.h"

struct daemon;

/*
 * Starts serving. A listen address that cannot be bound now (in use, not
 * yet configured) is logged and retried from the tick, because the
 * controller's job comes first. Fails only for lack of memory.
 */
int metrics_open(struct daemon *d);
void metrics_close(struct daemon *d);

/* SRC_METRICS is readable. */
void metrics_serve(struct daemon *d);

/* Every tick: MHD's connection timeouts, and bind retries. */
void metrics_tick(struct daemon *d, uint64_t now_ms);

/*
 * One probe result of backend i, after its health FSM saw it: was_up is
 * the state before, ev what the result changed. Records the RTT of
 * successes, failures, and failovers (the last healthy backend of a region
 * going down).
 */
void metrics_on_probe(struct daemon *d, uint32_t i, bool ok, uint32_t rtt_us,
		      bool was_up, enum health_event ev);

#endif /* MERIDIAND_METRICS_H */
