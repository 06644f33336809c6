// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Prometheus endpoint. libmicrohttpd runs in "external epoll" mode: its
 * epoll fd sits in the daemon's epoll, MHD_run() handles whatever is ready,
 * and the tick calls it again when MHD wants a timeout handled. Requests
 * are answered inside MHD_run(), on the loop's thread, so the handler reads
 * the daemon's state directly.
 */
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "metrics_render.h"
#include "prober.h"

#define METRICS_BACKLOG 16
#define METRICS_CONN_LIMIT 16u
#define METRICS_CONN_TIMEOUT_S 10u
#define METRICS_RETRY_MS 5000
/* MHD_run passes in a row while MHD still has buffered work. */
#define METRICS_RUN_ROUNDS 8

struct metrics {
	struct MHD_Daemon *mhd; /* NULL until the address could be bound */
	int epoll_fd; /* MHD's, in the daemon's epoll; -1 */
	uint64_t next_try_ms;
	bool failed_once; /* the bind failure was logged at error level */
	struct counter_snapshot *snap; /* reused by every scrape */
};

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)arg;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("metrics: %s", msg);
}

/* --- the snapshot behind one scrape ------------------------------------- */

static void backends_of(const struct daemon *d, struct metrics_backend *out)
{
	const struct backend_health *h;
	uint32_t i;

	for (i = 0; i < d->model.n_backends; i++) {
		h = &d->health[i];
		out[i] = (struct metrics_backend){
			.state = h->fsm.state,
			.probed = d->model.backends[i].probe.kind != PROBE_NONE,
			.lag_seconds = h->lag_seconds,
			.transitions = h->transitions,
			.probe_failures = h->probe_failures,
			.failovers = h->failovers,
			.rtt = &h->rtt,
		};
	}
}

static void controller_of(const struct daemon *d, struct metrics_controller *c)
{
	uint64_t now = now_ms();
	struct prober_stats ps = { 0 };

	if (d->prober)
		prober_get_stats(d->prober, &ps);
	*c = (struct metrics_controller){
		.generation = d->generation,
		.reconcile_age_seconds =
			d->last_reconcile_ms ?
				(double)(now - d->last_reconcile_ms) / 1e3 :
				NAN,
		.reconcile_duration_seconds = d->last_reconcile_ns / 1e9,
		.decision_seconds = d->last_decision_ns ?
					    d->last_decision_ns / 1e9 :
					    NAN,
		.tables_stale_seconds =
			d->stale_since_ms ?
				(double)(now - d->stale_since_ms) / 1e3 :
				0,
		.reconcile_failures = d->reconcile_failures,
		.probes_in_flight = ps.in_flight,
		.probe_local_errors = ps.local_errors,
	};
}

static int render(struct daemon *d, FILE *out)
{
	uint32_t n = d->model.n_backends, nr, nv, nb;
	struct metrics_backend *mb = calloc(n ? n : 1, sizeof(*mb));
	struct metrics_controller ctl;
	struct metrics_input in = {
		.model = &d->model,
		.backends = mb,
		.controller = &ctl,
	};
	int err;

	if (!mb) {
		log_err("metrics: out of memory for %u backends", n);
		return -ENOMEM;
	}
	counter_snapshot_counts(&d->model, &nr, &nv, &nb);
	/* The accessor logs a failed read; the scrape still answers. */
	if (!counter_snapshot_read(&d->maps, nr, nv, nb, d->metrics->snap))
		in.counters = d->metrics->snap;
	backends_of(d, mb);
	controller_of(d, &ctl);
	err = metrics_render(out, &in);
	free(mb);
	return err;
}

/* --- HTTP --------------------------------------------------------------- */

static enum MHD_Result reply_text(struct MHD_Connection *conn,
				  unsigned int status, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_metrics(struct daemon *d,
				     struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	out = open_memstream(&buf, &len);
	if (!out) {
		log_err("metrics: open_memstream: %s", strerror(errno));
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	}
	err = render(d, out);
	if (fclose(out) || err) {
		free(buf);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "rendering failed\n");
	}
	resp = MHD_create_response_from_buffer(len, buf,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *arg, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_arg)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_arg;
	/* Answered on the first call: a body, if any, is discarded. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return reply_metrics(arg, conn);
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK,
				  "meridiand: metrics are at /metrics\n");
	return reply_text(conn, MHD_HTTP_NOT_FOUND,
			  "not found: metrics are at /metrics\n");
}

/* --- listening ---------------------------------------------------------- */

/* Our own socket, so a failure names its errno (MHD would not). */
static int listen_socket(const char *text, int *family)
{
	struct sockaddr_storage ss;
	int fd = -1, one = 1, err;
	socklen_t len;

	if (metrics_listen_parse(text, &ss, &len))
		return -EINVAL;
	*family = ss.ss_family;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, len) ||
	    listen(fd, METRICS_BACKLOG)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int start_mhd(struct daemon *d, int fd, int family)
{
	struct metrics *mx = d->metrics;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	mx->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, d,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		METRICS_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		METRICS_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!mx->mhd) {
		close(fd);
		return -EIO;
	}
	info = MHD_get_daemon_info(mx->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || daemon_watch(d, info->epoll_fd, SRC_METRICS)) {
		MHD_stop_daemon(mx->mhd);
		mx->mhd = NULL;
		return -EIO;
	}
	mx->epoll_fd = info->epoll_fd;
	return 0;
}

static void try_start(struct daemon *d, uint64_t now)
{
	const char *addr = d->model.edge.metrics_listen;
	struct metrics *mx = d->metrics;
	int fd, family = AF_UNSPEC, err;

	fd = listen_socket(addr, &family);
	err = fd < 0 ? fd : start_mhd(d, fd, family);
	if (!err) {
		log_info("metrics at http://%s/metrics", addr);
		return;
	}
	mx->next_try_ms = now + METRICS_RETRY_MS;
	if (!mx->failed_once)
		log_err("metrics: cannot serve on %s: %s; retrying every %d s",
			addr, strerror(-err), METRICS_RETRY_MS / 1000);
	else
		log_debug("metrics: %s still unavailable: %s", addr,
			  strerror(-err));
	mx->failed_once = true;
}

int metrics_open(struct daemon *d)
{
	struct metrics *mx = calloc(1, sizeof(*mx));

	if (mx)
		mx->snap = calloc(1, sizeof(*mx->snap));
	if (!mx || !mx->snap) {
		free(mx);
		log_err("metrics: out of memory");
		return -ENOMEM;
	}
	mx->epoll_fd = -1;
	d->metrics = mx;
	try_start(d, now_ms());
	return 0;
}

void metrics_close(struct daemon *d)
{
	struct metrics *mx = d->metrics;

	if (!mx)
		return;
	if (mx->mhd) {
		if (mx->epoll_fd >= 0)
			epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, mx->epoll_fd,
				  NULL);
		MHD_stop_daemon(mx->mhd);
	}
	free(mx->snap);
	free(mx);
	d->metrics = NULL;
}

void metrics_serve(struct daemon *d)
{
	struct metrics *mx = d->metrics;
	MHD_UNSIGNED_LONG_LONG timeout;
	int i;

	if (!mx || !mx->mhd)
		return;
	/* A zero timeout means MHD holds work no fd will announce. */
	for (i = 0; i < METRICS_RUN_ROUNDS; i++) {
		MHD_run(mx->mhd);
		if (MHD_get_timeout(mx->mhd, &timeout) != MHD_YES ||
		    timeout > 0)
			break;
	}
}

void metrics_tick(struct daemon *d, uint64_t now)
{
	struct metrics *mx = d->metrics;
	MHD_UNSIGNED_LONG_LONG timeout;

	if (!mx)
		return;
	if (!mx->mhd) {
		if (now >= mx->next_try_ms)
			try_start(d, now);
		return;
	}
	if (MHD_get_timeout(mx->mhd, &timeout) == MHD_YES &&
	    timeout <= DAEMON_TICK_MS)
		metrics_serve(d);
}

/* --- probe results ------------------------------------------------------ */

static bool region_has_up(const struct daemon *d, uint32_t region)
{
	uint32_t i;

	for (i = 0; i < d->model.n_backends; i++)
		if (d->model.backends[i].region == region && backend_up(d, i))
			return true;
	return false;
}

void metrics_on_probe(struct daemon *d, uint32_t i, bool ok, uint32_t rtt_us,
		      bool was_up, enum health_event ev)
{
	struct backend_health *h = &d->health[i];
	uint32_t region = d->model.backends[i].region;

	if (ok)
		metrics_rtt_observe(&h->rtt, rtt_us);
	else
		h->probe_failures++;
	if (!was_up || ev != HEALTH_EV_DOWN || region_has_up(d, region))
		return;
	h->failovers++;
	log_warn("region %s has no healthy backend left: its traffic fails "
		 "over to other regions",
		 d->model.regions[region].name);
}
