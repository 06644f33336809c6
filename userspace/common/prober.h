/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The probe engine of meridiand: TCP connect and HTTP GET health checks
 * for every backend, all on one epoll loop of non-blocking sockets, no
 * threads. The daemon adds prober_fd() to its own epoll and calls
 * prober_dispatch() whenever it is readable; results come back through
 * a callback and go into a health_fsm (health_fsm.h) per backend.
 *
 * Scheduling: each target is probed every interval_ms, spread by
 * +-jitter_pct from a PRNG seeded per target (deterministic), the first
 * probe at a random point of the first interval so that many backends
 * do not probe in step. One probe per target at a time: a probe that is
 * still in flight when its next one is due runs on to its timeout (it
 * fails there) and the next one starts right after, so probes never pile
 * up. timeout_ms is clamped to the interval. Timers are coalesced to a
 * grain of 5 % of the shortest interval, within 1..5 ms: a probe may
 * start or time out up to one grain late, never early.
 *
 * Probes end with an RST so that thousands of probes per second leave no
 * TIME_WAIT behind on either side. A TCP probe's socket is kept for the
 * target's next probe: after the verdict, connect(AF_UNSPEC) disconnects
 * it (the kernel sends the RST that close() with SO_LINGER 0 would), so
 * the wire sees the same SYN, handshake and RST, and a probe costs two
 * connect() calls instead of socket, setsockopt, connect, epoll_ctl and
 * close. HTTP probes open a socket each and close it with SO_LINGER 0.
 *
 * In-flight probes are capped (default: 3/4 of RLIMIT_NOFILE's soft limit
 * less a reserve, at most PROBER_MAX_INFLIGHT); due probes beyond the cap
 * wait in FIFO order for a free socket. TCP sockets are kept between
 * probes only while every probed target fits under the cap (one socket
 * each), else each probe opens its own. Raise LimitNOFILE for many
 * backends with short intervals.
 *
 * Local trouble (out of fds, ports or memory) is not the backend's fault:
 * such a probe reports nothing, is logged (rate limited), counted in
 * prober_stats.local_errors, and retried at the next interval. Health then
 * stays where it was rather than pulling every backend at once.
 */
#ifndef MERIDIAN_PROBER_H
#define MERIDIAN_PROBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define PROBER_RX_MAX 16384 /* HTTP response bytes read at most */
#define PROBER_MAX_INFLIGHT 4096
#define PROBER_TIMER_GRAIN_MIN_NS 1000000ull
#define PROBER_TIMER_GRAIN_MAX_NS 5000000ull
#define PROBER_MIN_INTERVAL_MS 10
#define PROBER_DEFAULT_INTERVAL_MS 100
#define PROBER_MAX_JITTER_PCT 50

struct prober;

struct probe_target {
	struct model_addr addr;
	uint16_t port; /* the backend's port; spec.port, if set, wins */
	struct probe_spec spec;
};

/*
 * One finished probe of target index `backend` (its position in the array
 * given to prober_create/prober_update). rtt_us: probe start to verdict,
 * CLOCK_MONOTONIC. why: "ok" on success, else the reason ("connect:
 * Connection refused", "timeout connecting", "status 500, want 200", ...);
 * valid during the call only. lag_seconds: the spec's lag_header value
 * when the response carried a valid one (also on failures), NAN otherwise.
 * The callback must not call prober_update() or prober_destroy().
 */
typedef void (*probe_result_cb)(void *arg, uint32_t backend, bool ok,
				uint32_t rtt_us, const char *why,
				double lag_seconds);

/*
 * Targets are copied. Spec fields at 0 take the defaults of model.h
 * (interval 100 ms, timeout = interval, status 200, path "/", Host the
 * address and port); intervals below 10 ms become 10 ms. PROBE_NONE
 * targets are never probed and never reported: the caller holds them up.
 * -EINVAL for a bad address family, no port, or a path/host that would
 * not make a valid request line.
 */
int prober_create(struct prober **p, const struct probe_target *t, uint32_t n,
		  probe_result_cb cb, void *arg);

/* An epoll fd: readable when prober_dispatch() has work. */
int prober_fd(const struct prober *p);

/*
 * Handles socket readiness, then starts due probes and fails timed-out
 * ones, then re-arms the timer. Never blocks. Returns the number of
 * results reported, or a negative errno if the loop itself broke.
 */
int prober_dispatch(struct prober *p);

/*
 * Replaces the target set (config reload). Index i that keeps an
 * identical target (address, port and spec) keeps its schedule and its
 * in-flight probe; any other index is cancelled without a result and
 * starts afresh within one interval. On error nothing changes.
 */
int prober_update(struct prober *p, const struct probe_target *t, uint32_t n);

void prober_destroy(struct prober *p);

/*
 * Every TCP target keeps a socket between probes (and meridiand's batched
 * table swaps hold descriptors too): the soft open-file limit goes up to
 * the hard one. A failure is logged and left at that.
 */
void prober_raise_fd_limit(void);

/*
 * 0 restores the default (recomputed from RLIMIT_NOFILE now, so call it
 * after raising the limit). Lowering it cancels nothing in flight.
 */
void prober_set_max_inflight(struct prober *p, uint32_t max);

struct prober_stats {
	uint64_t started;
	uint64_t succeeded;
	uint64_t failed;
	uint64_t timeouts; /* also counted in failed */
	uint64_t local_errors; /* probes that reported nothing */
	uint64_t deferred; /* waited for the in-flight cap */
	uint64_t sockets_opened; /* TCP: about one per target, when kept */
	uint32_t in_flight; /* probes; kept idle sockets are not counted */
	uint32_t max_inflight;
	uint32_t targets;
};

void prober_get_stats(const struct prober *p, struct prober_stats *st);

/*
 * The HTTP verdict, pure (exposed for tests): judges the response bytes
 * buf[0..len) against spec. complete means no more bytes will come (peer
 * closed, or the buffer is full). Decides as early as it can: on the
 * status once the headers are in, on the body once the match is seen or
 * the body is over (Content-Length, chunked end, or complete).
 */
enum http_check {
	HTTP_CHECK_PENDING, /* need more bytes */
	HTTP_CHECK_OK,
	HTTP_CHECK_FAIL,
};

struct http_verdict {
	enum http_check check;
	int status; /* -1 until parsed */
	double lag_seconds; /* NAN unless lag_header is set and valid */
	char why[96]; /* on HTTP_CHECK_FAIL */
};

void prober_http_check(const char *buf, size_t len, bool complete,
		       const struct probe_spec *spec, struct http_verdict *v);

#endif /* MERIDIAN_PROBER_H */
