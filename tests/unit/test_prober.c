// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tests for the probe engine (userspace/common/prober.c): the pure HTTP
 * verdict, then real probes against servers this test forks on loopback
 * (127.0.0.1 / ::1, ephemeral ports). Every wait is bounded in results and
 * in time; no assertion depends on how fast this machine is.
 *
 * `test_prober --bench [tcp|http] [seconds] [backends] [interval_ms]`
 * measures the CPU that probing costs instead (defaults: tcp, 10 s, 1000
 * backends, 100 ms) against listeners on 127.0.0.1-4: getrusage() of this
 * process; the listeners are children and not counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "health_fsm.h"
#include "prober.h"

#define MAX_RECORDS 1024
#define WAIT_MS 5000 /* safety bound on every wait; never asserted */
#define SERVER_LIFETIME_S 120 /* children die on their own after this */

static int n_skipped;

#define SKIP_TEST(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "skipped: " __VA_ARGS__);                      \
		fprintf(stderr, "\n");                                         \
		n_skipped++;                                                   \
		skip();                                                        \
	} while (0)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- Pure HTTP verdict ---- */

static struct probe_spec http_spec(const char *body, const char *lag)
{
	struct probe_spec s = { .kind = PROBE_HTTP, .http_status = 200 };

	snprintf(s.http_body, sizeof(s.http_body), "%s", body);
	snprintf(s.lag_header, sizeof(s.lag_header), "%s", lag);
	return s;
}

static struct http_verdict check(const char *resp, bool complete,
				 const struct probe_spec *s)
{
	struct http_verdict v;

	prober_http_check(resp, strlen(resp), complete, s, &v);
	return v;
}

static void test_http_status(void **state)
{
	struct probe_spec s = http_spec("", "");
	struct http_verdict v;

	(void)state;
	v = check("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	assert_int_equal(v.status, 200);
	assert_true(isnan(v.lag_seconds));
	v = check("HTTP/1.1 500 Oops\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_int_equal(v.status, 500);
	assert_string_equal(v.why, "status 500, want 200");
	/* No reason phrase, HTTP/1.0, bare LF line ends. */
	v = check("HTTP/1.0 200\n\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	s.http_status = 204;
	v = check("HTTP/1.1 204 No Content\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	v = check("HTTP/1.1 200 OK\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	/* 0 means the default, 200. */
	s.http_status = 0;
	v = check("HTTP/1.1 200 OK\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
}

static void test_http_incomplete(void **state)
{
	struct probe_spec s = http_spec("", "");
	struct http_verdict v;

	(void)state;
	v = check("", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_PENDING);
	v = check("", true, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_string_equal(v.why, "no response");
	v = check("HTTP/1.1 200 O", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_PENDING);
	v = check("HTTP/1.1 200 O", true, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_string_equal(v.why, "truncated status line");
	/* Status line in, headers not: wait for them (the lag may be there). */
	v = check("HTTP/1.1 200 OK\r\nServer: x\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_PENDING);
	v = check("HTTP/1.1 200 OK\r\nServer: x\r\n", true, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_string_equal(v.why, "truncated headers");
	v = check("HTTP/1.1 503 Busy\r\nServer: x\r\n", true, &s);
	assert_string_equal(v.why, "status 503, want 200");
	v = check("SSH-2.0-OpenSSH\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_string_equal(v.why, "malformed status line");
	v = check("HTTP/1.1 2x0 OK\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	v = check("HTTP/1.1 2000 OK\r\n\r\n", false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
}

static void test_http_body(void **state)
{
	struct probe_spec s = http_spec("alive", "");
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
	char buf[256];
	struct http_verdict v;

	(void)state;
	snprintf(buf, sizeof(buf), "%sI am alive!!", head);
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	/* Match seen early: no need to wait for the rest. */
	snprintf(buf, sizeof(buf), "%sI am alive", head);
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	/* Not yet seen, body not over: pending; over: fail. */
	snprintf(buf, sizeof(buf), "%sI am al", head);
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_PENDING);
	snprintf(buf, sizeof(buf), "%sI am dead!!!", head);
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_string_equal(v.why, "body lacks \"alive\"");
	/* Bytes past Content-Length are not body. */
	snprintf(buf, sizeof(buf),
		 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcalive");
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	/* No length: the body ends when the peer closes. */
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n\r\nnope");
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_PENDING);
	assert_int_equal(check(buf, true, &s).check, HTTP_CHECK_FAIL);
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n\r\nstill alive");
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_OK);
	/* Right body, wrong status: fail. */
	snprintf(buf, sizeof(buf), "HTTP/1.1 500 OK\r\n\r\nalive");
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_FAIL);
}

static void test_http_chunked(void **state)
{
	struct probe_spec s = http_spec("lo wo", "");
	struct http_verdict v;
	const char *head = "HTTP/1.1 200 OK\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n";
	char buf[256];

	(void)state;
	/* The needle spans two chunks: only the decoded body matches. */
	snprintf(buf, sizeof(buf), "%s3\r\nhel\r\n8\r\nlo world\r\n0\r\n\r\n",
		 head);
	v = check(buf, false, &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	snprintf(buf, sizeof(buf), "%s3\r\nhel\r\n3;ext=1\r\nlo \r\n", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_PENDING);
	snprintf(buf, sizeof(buf), "%s3\r\nhel\r\n3\r\nlo \r\n0\r\n\r\n", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_FAIL);
	/* Partial chunk data counts as soon as it is there. */
	snprintf(buf, sizeof(buf), "%sA\r\nhello wo", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_OK);
	/* Hex sizes, either case. */
	snprintf(buf, sizeof(buf), "%sa\r\nxxxxxlo wo\r\n0\r\n\r\n", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_OK);
	snprintf(buf, sizeof(buf), "%sA\r\nxxxxxlo wo\r\n0\r\n\r\n", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_OK);
	/* Garbage where a size should be: decided, not left pending. */
	snprintf(buf, sizeof(buf), "%szz\r\nlo wo\r\n", head);
	assert_int_equal(check(buf, false, &s).check, HTTP_CHECK_FAIL);
}

static void test_http_lag(void **state)
{
	struct probe_spec s = http_spec("", "X-Replication-Lag");
	struct http_verdict v;

	(void)state;
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lag: 1.5\r\n\r\n", false,
		  &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	assert_true(v.lag_seconds == 1.5);
	/* Names are case-insensitive; blanks around the value are not it. */
	v = check("HTTP/1.1 200 OK\r\nx-replication-lag: \t 2.25 \r\n\r\n",
		  false, &s);
	assert_true(v.lag_seconds == 2.25);
	/* Reported on a failing probe too. */
	v = check("HTTP/1.1 503 OK\r\nX-Replication-Lag: 30\r\n\r\n", false,
		  &s);
	assert_int_equal(v.check, HTTP_CHECK_FAIL);
	assert_true(v.lag_seconds == 30.0);
	/* Invalid values are no lag, not a failure. */
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lag: soon\r\n\r\n", false,
		  &s);
	assert_int_equal(v.check, HTTP_CHECK_OK);
	assert_true(isnan(v.lag_seconds));
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lag: -1\r\n\r\n", false,
		  &s);
	assert_true(isnan(v.lag_seconds));
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lag: inf\r\n\r\n", false,
		  &s);
	assert_true(isnan(v.lag_seconds));
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lagging: 3\r\n\r\n", false,
		  &s);
	assert_true(isnan(v.lag_seconds));
	/* No lag_header configured: never parsed. */
	s.lag_header[0] = '\0';
	v = check("HTTP/1.1 200 OK\r\nX-Replication-Lag: 1.5\r\n\r\n", false,
		  &s);
	assert_true(isnan(v.lag_seconds));
}

/* ---- Forked servers on loopback ---- */

enum server_kind {
	SRV_ACCEPT, /* accept and close: a TCP service */
	SRV_HTTP, /* read the request, write a canned response, close */
	SRV_SILENT, /* accept, read, never answer */
};

struct server {
	pid_t pid;
	int family; /* AF_INET or AF_INET6 */
	uint16_t port;
};

static bool read_request(int fd)
{
	char buf[4096];
	size_t len = 0;
	ssize_t got;

	while (len < sizeof(buf) - 1) {
		got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got <= 0)
			return false;
		len += got;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return true;
	}
	return false;
}

static void drain_until_closed(int fd)
{
	char buf[512];
	int i;

	for (i = 0; i < 1000 && read(fd, buf, sizeof(buf)) > 0; i++)
		;
}

static void write_all(int fd, const char *s, size_t len)
{
	ssize_t put;

	while (len) {
		put = write(fd, s, len);
		if (put <= 0)
			return;
		s += put;
		len -= put;
	}
}

static void serve_one(int fd, enum server_kind kind, const char *response)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	switch (kind) {
	case SRV_ACCEPT:
		break;
	case SRV_HTTP:
		if (read_request(fd))
			write_all(fd, response, strlen(response));
		break;
	case SRV_SILENT:
		drain_until_closed(fd);
		break;
	}
	close(fd);
}

static void server_main(int lfd, enum server_kind kind, const char *response)
{
	long served;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(SERVER_LIFETIME_S);
	signal(SIGPIPE, SIG_IGN);
	for (served = 0; served < 1000000; served++) {
		fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			serve_one(fd, kind, response);
	}
	_exit(0);
}

static int listen_loopback(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ss.ss_family = family;
	if (family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return -errno;
	}
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

/* Returns 0, or -errno if the family cannot listen on loopback here. */
static int server_start(struct server *srv, int family, enum server_kind kind,
			const char *response)
{
	int lfd = listen_loopback(family, &srv->port);

	if (lfd < 0)
		return lfd;
	srv->family = family;
	fflush(NULL);
	srv->pid = fork();
	if (srv->pid < 0) {
		close(lfd);
		return -errno;
	}
	if (srv->pid == 0)
		server_main(lfd, kind, response);
	/* Only the child holds the listener: killing it closes the port. */
	close(lfd);
	return 0;
}

static void server_stop(struct server *srv)
{
	if (srv->pid <= 0)
		return;
	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, NULL, 0);
	srv->pid = 0;
}

/* A port nothing listens on: bound, never listened, closed. */
static uint16_t closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* ---- Driving the prober ---- */

struct record {
	uint32_t backend;
	bool ok;
	uint32_t rtt_us;
	double lag;
	uint64_t at_ns; /* when the callback ran */
	char why[64];
	enum health_event event; /* of fsm[backend], if fsms are used */
};

struct results {
	struct prober *p;
	struct record rec[MAX_RECORDS];
	uint32_t n;
	uint32_t per_backend[8];
	uint32_t max_in_flight; /* seen from the callback */
	struct health_fsm *fsm; /* optional, one per backend */
	bool saw_down;
};

static void on_result(void *arg, uint32_t backend, bool ok, uint32_t rtt_us,
		      const char *why, double lag)
{
	struct results *r = arg;
	struct prober_stats st;
	struct record *rec;

	assert_non_null(why);
	if (backend < 8)
		r->per_backend[backend]++;
	prober_get_stats(r->p, &st);
	if (st.in_flight > r->max_in_flight)
		r->max_in_flight = st.in_flight;
	if (r->n >= MAX_RECORDS)
		return;
	rec = &r->rec[r->n++];
	rec->backend = backend;
	rec->ok = ok;
	rec->rtt_us = rtt_us;
	rec->lag = lag;
	rec->at_ns = mono_ns();
	snprintf(rec->why, sizeof(rec->why), "%s", why);
	rec->event = HEALTH_EV_NONE;
	if (r->fsm) {
		rec->event = health_fsm_observe(&r->fsm[backend], ok);
		if (rec->event == HEALTH_EV_DOWN)
			r->saw_down = true;
	}
}

/* Dispatches until `want` results (or a DOWN event); bounded by WAIT_MS. */
static void run_until(struct results *r, uint32_t want, bool until_down)
{
	uint64_t deadline = mono_ns() + WAIT_MS * 1000000ull;
	struct pollfd pfd = { .fd = prober_fd(r->p), .events = POLLIN };

	while (r->n < want && mono_ns() < deadline) {
		if (until_down && r->saw_down)
			return;
		poll(&pfd, 1, 20);
		assert_true(prober_dispatch(r->p) >= 0);
	}
	/*
	 * One dispatch may report several targets that came due together;
	 * the checks look at exactly the first `want` results.
	 */
	if (!until_down && r->n > want)
		r->n = want;
}

static struct probe_target target(int family, uint16_t port,
				  enum probe_kind kind, uint32_t interval_ms)
{
	struct probe_target t = { .port = port };

	if (family == AF_INET) {
		t.addr.family = MERIDIAN_AF_INET;
		t.addr.bytes[0] = 127;
		t.addr.bytes[3] = 1;
	} else {
		t.addr.family = MERIDIAN_AF_INET6;
		t.addr.bytes[15] = 1;
	}
	t.spec.kind = kind;
	t.spec.interval_ms = interval_ms;
	t.spec.timeout_ms = interval_ms;
	t.spec.rise = 2;
	t.spec.fall = 3;
	t.spec.jitter_pct = 10;
	return t;
}

static struct results *results_new(const struct probe_target *t, uint32_t n)
{
	struct results *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(prober_create(&r->p, t, n, on_result, r), 0);
	return r;
}

static void results_free(struct results *r)
{
	prober_destroy(r->p);
	free(r);
}

static uint32_t count_ok(const struct results *r, uint32_t from, bool ok)
{
	uint32_t i, c = 0;

	for (i = from; i < r->n; i++)
		c += r->rec[i].ok == ok;
	return c;
}

static const char *http_ok_response =
	"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n"
	"X-Replication-Lag: 1.5\r\nConnection: close\r\n\r\nstatus: ALIVE\n";

/* ---- Probes against real servers ---- */

static void test_tcp_up(void **state)
{
	struct prober_stats st;
	struct server srv;
	struct probe_target t;
	struct results *r;
	uint32_t i;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_ACCEPT, NULL), 0);
	t = target(AF_INET, srv.port, PROBE_TCP, 20);
	r = results_new(&t, 1);
	run_until(r, 5, false);
	server_stop(&srv);
	assert_int_equal(r->n, 5);
	for (i = 0; i < r->n; i++) {
		assert_true(r->rec[i].ok);
		assert_int_equal(r->rec[i].backend, 0);
		assert_string_equal(r->rec[i].why, "ok");
		assert_true(isnan(r->rec[i].lag));
	}
	/* Every probe connected the same socket again. */
	prober_get_stats(r->p, &st);
	assert_int_equal(st.sockets_opened, 1);
	results_free(r);
}

static void test_tcp_refused(void **state)
{
	struct probe_target t = target(AF_INET, closed_port(), PROBE_TCP, 20);
	struct results *r = results_new(&t, 1);
	struct prober_stats st;
	uint32_t i;

	(void)state;
	run_until(r, 4, false);
	assert_int_equal(r->n, 4);
	for (i = 0; i < r->n; i++) {
		assert_false(r->rec[i].ok);
		assert_string_equal(r->rec[i].why,
				    "connect: Connection refused");
	}
	prober_get_stats(r->p, &st);
	assert_true(st.failed >= 4);
	assert_int_equal(st.succeeded, 0);
	assert_int_equal(st.sockets_opened, 1);
	results_free(r);
}

/* A loopback port bound to a socket that does not listen (yet): refused. */
static int bound_socket(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ss.ss_family = family;
	if (family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

/* An accepting server on a socket that already listens. */
static void server_start_on(struct server *srv, int lfd, int family)
{
	srv->family = family;
	fflush(NULL);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0)
		server_main(lfd, SRV_ACCEPT, NULL);
}

/*
 * Results from `from` on: at most one failure first (the probe that was in
 * flight when the backend changed), then only successes.
 */
static void assert_recovered(const struct results *r, uint32_t from)
{
	uint32_t i = from;

	if (i < r->n && !r->rec[i].ok)
		i++;
	for (; i < r->n; i++)
		assert_true(r->rec[i].ok);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/*
 * A refused connect leaves the kept socket usable: the backend starts
 * listening on the refusing port and the same socket connects.
 */
static void test_tcp_reuse_after_refused(void **state)
{
	struct prober_stats st;
	struct probe_target t;
	struct server srv;
	struct results *r;
	uint32_t i, mark;
	uint16_t port;
	int lfd;

	(void)state;
	lfd = bound_socket(AF_INET, &port);
	t = target(AF_INET, port, PROBE_TCP, 20);
	r = results_new(&t, 1);
	run_until(r, 3, false);
	assert_int_equal(r->n, 3);
	for (i = 0; i < r->n; i++)
		assert_string_equal(r->rec[i].why,
				    "connect: Connection refused");
	assert_int_equal(listen(lfd, 128), 0);
	server_start_on(&srv, lfd, AF_INET);
	close(lfd);
	mark = r->n;
	run_until(r, mark + 5, false);
	server_stop(&srv);
	assert_int_equal(r->n, mark + 5);
	assert_recovered(r, mark);
	prober_get_stats(r->p, &st);
	assert_int_equal(st.sockets_opened, 1);
	results_free(r);
}

/*
 * A connect that timed out (SYNs dropped: the listener's accept queue is
 * full) is disconnected in SYN_SENT and the socket connects again once the
 * backend accepts.
 */
static void test_tcp_reuse_after_timeout(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct prober_stats st;
	struct probe_target t;
	struct server srv;
	struct results *r;
	uint32_t i, mark;
	uint16_t port;
	int lfd, filler;

	(void)state;
	lfd = bound_socket(AF_INET, &port);
	/* Backlog 0 holds one connection; ours fills it, SYNs then drop. */
	assert_int_equal(listen(lfd, 0), 0);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_int_equal(
		connect(filler, (struct sockaddr *)&sin, sizeof(sin)), 0);
	t = target(AF_INET, port, PROBE_TCP, 30);
	r = results_new(&t, 1);
	run_until(r, 3, false);
	assert_int_equal(r->n, 3);
	for (i = 0; i < r->n; i++)
		assert_string_equal(r->rec[i].why, "timeout connecting");
	server_start_on(&srv, lfd, AF_INET);
	close(lfd);
	mark = r->n;
	run_until(r, mark + 5, false);
	server_stop(&srv);
	close(filler);
	assert_int_equal(r->n, mark + 5);
	assert_recovered(r, mark);
	prober_get_stats(r->p, &st);
	assert_true(st.timeouts >= 3);
	assert_int_equal(st.sockets_opened, 1);
	results_free(r);
}

/*
 * An update that moves a target to the other address family closes its
 * socket and opens one of the new family; destroy closes every socket.
 */
static void test_tcp_reuse_family_change(void **state)
{
	struct server srv4, srv6;
	struct prober_stats st;
	struct probe_target t;
	struct results *r;
	uint32_t mark;
	int err, fds_before, fds_probing;

	(void)state;
	err = server_start(&srv6, AF_INET6, SRV_ACCEPT, NULL);
	if (err)
		SKIP_TEST("no IPv6 loopback here (%s)", strerror(-err));
	assert_int_equal(server_start(&srv4, AF_INET, SRV_ACCEPT, NULL), 0);
	fds_before = count_fds();
	t = target(AF_INET, srv4.port, PROBE_TCP, 20);
	r = results_new(&t, 1);
	run_until(r, 3, false);
	assert_int_equal(r->n, 3);
	assert_recovered(r, 0);
	assert_int_equal(r->rec[0].ok, true);
	fds_probing = count_fds();
	t = target(AF_INET6, srv6.port, PROBE_TCP, 20);
	assert_int_equal(prober_update(r->p, &t, 1), 0);
	mark = r->n;
	run_until(r, mark + 3, false);
	assert_int_equal(r->n, mark + 3);
	assert_true(r->rec[mark].ok);
	assert_recovered(r, mark);
	prober_get_stats(r->p, &st);
	assert_int_equal(st.sockets_opened, 2);
	/* The IPv4 socket went when the IPv6 one came. */
	assert_int_equal(count_fds(), fds_probing);
	results_free(r);
	assert_int_equal(count_fds(), fds_before);
	server_stop(&srv4);
	server_stop(&srv6);
}

/*
 * Kept sockets need room for every target under the in-flight cap; below
 * that each probe opens its own, and raising the cap brings reuse back.
 */
static void test_tcp_reuse_needs_room(void **state)
{
	struct prober_stats st;
	struct probe_target t[2];
	struct server srv;
	struct results *r;
	uint64_t opened;
	uint32_t mark;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_ACCEPT, NULL), 0);
	t[0] = target(AF_INET, srv.port, PROBE_TCP, 20);
	t[1] = t[0];
	r = results_new(t, 2);
	prober_set_max_inflight(r->p, 1);
	run_until(r, 6, false);
	assert_int_equal(r->n, 6);
	prober_get_stats(r->p, &st);
	assert_true(st.sockets_opened >= 6);
	assert_true(st.in_flight <= 1);
	prober_set_max_inflight(r->p, 0);
	prober_get_stats(r->p, &st);
	opened = st.sockets_opened;
	mark = r->n;
	run_until(r, mark + 6, false);
	server_stop(&srv);
	assert_int_equal(r->n, mark + 6);
	assert_recovered(r, mark);
	prober_get_stats(r->p, &st);
	/* At most one new socket per target, whatever was in flight. */
	assert_true(st.sockets_opened - opened <= 2);
	results_free(r);
}

/* One HTTP probe target against a server answering `response`. */
static struct results *http_run(struct server *srv, enum server_kind kind,
				const char *response, const char *body,
				const char *lag, uint32_t want)
{
	struct probe_target t;
	struct results *r;

	assert_int_equal(server_start(srv, AF_INET, kind, response), 0);
	t = target(AF_INET, srv->port, PROBE_HTTP, 30);
	snprintf(t.spec.http_path, sizeof(t.spec.http_path), "/healthz");
	snprintf(t.spec.http_body, sizeof(t.spec.http_body), "%s", body);
	snprintf(t.spec.lag_header, sizeof(t.spec.lag_header), "%s", lag);
	r = results_new(&t, 1);
	run_until(r, want, false);
	server_stop(srv);
	return r;
}

static void test_http_200_body_match(void **state)
{
	struct server srv;
	struct results *r;
	uint32_t i;

	(void)state;
	r = http_run(&srv, SRV_HTTP, http_ok_response, "ALIVE", "", 4);
	assert_int_equal(r->n, 4);
	for (i = 0; i < r->n; i++) {
		assert_true(r->rec[i].ok);
		assert_true(isnan(r->rec[i].lag));
	}
	results_free(r);
}

static void test_http_500_fails(void **state)
{
	struct server srv;
	struct results *r;
	uint32_t i;

	(void)state;
	r = http_run(&srv, SRV_HTTP,
		     "HTTP/1.1 500 Internal Server Error\r\n"
		     "Content-Length: 0\r\n\r\n",
		     "", "", 4);
	assert_int_equal(r->n, 4);
	for (i = 0; i < r->n; i++) {
		assert_false(r->rec[i].ok);
		assert_string_equal(r->rec[i].why, "status 500, want 200");
	}
	results_free(r);
}

static void test_http_body_mismatch_fails(void **state)
{
	struct server srv;
	struct results *r;
	uint32_t i;

	(void)state;
	r = http_run(&srv, SRV_HTTP, http_ok_response, "READY", "", 4);
	assert_int_equal(r->n, 4);
	for (i = 0; i < r->n; i++) {
		assert_false(r->rec[i].ok);
		assert_string_equal(r->rec[i].why, "body lacks \"READY\"");
	}
	results_free(r);
}

static void test_http_silent_times_out(void **state)
{
	struct server srv;
	struct results *r;
	struct prober_stats st;
	uint32_t i;

	(void)state;
	r = http_run(&srv, SRV_SILENT, NULL, "", "", 3);
	assert_int_equal(r->n, 3);
	for (i = 0; i < r->n; i++) {
		assert_false(r->rec[i].ok);
		assert_string_equal(r->rec[i].why, "timeout awaiting response");
		/* Never reported before the timeout (30 ms). */
		assert_true(r->rec[i].rtt_us >= 30000);
	}
	prober_get_stats(r->p, &st);
	assert_true(st.timeouts >= 3);
	results_free(r);
}

static void test_http_lag_header(void **state)
{
	struct server srv;
	struct results *r;
	uint32_t i;

	(void)state;
	r = http_run(&srv, SRV_HTTP, http_ok_response, "ALIVE",
		     "X-Replication-Lag", 3);
	assert_int_equal(r->n, 3);
	for (i = 0; i < r->n; i++) {
		assert_true(r->rec[i].ok);
		assert_true(r->rec[i].lag == 1.5);
	}
	results_free(r);
}

static void test_ipv6(void **state)
{
	struct server srv;
	struct probe_target t[2];
	struct results *r;
	uint32_t i;
	int err;

	(void)state;
	err = server_start(&srv, AF_INET6, SRV_HTTP, http_ok_response);
	if (err)
		SKIP_TEST("no IPv6 loopback here (%s)", strerror(-err));
	t[0] = target(AF_INET6, srv.port, PROBE_TCP, 20);
	t[1] = target(AF_INET6, srv.port, PROBE_HTTP, 20);
	snprintf(t[1].spec.http_body, sizeof(t[1].spec.http_body), "ALIVE");
	r = results_new(t, 2);
	run_until(r, 8, false);
	server_stop(&srv);
	assert_int_equal(r->n, 8);
	for (i = 0; i < r->n; i++)
		assert_true(r->rec[i].ok);
	assert_true(r->per_backend[0] > 0 && r->per_backend[1] > 0);
	results_free(r);
}

/*
 * Kill the server of a healthy backend: it must go down within fall + 1
 * results of the kill (one probe may have been in flight, answered just
 * before). Counted in results, so the bound does not depend on timing.
 */
static void test_kill_goes_down(void **state)
{
	struct health_fsm fsm;
	struct probe_target t;
	struct server srv;
	struct results *r;
	uint32_t at_kill, i;

	(void)state;
	assert_int_equal(
		server_start(&srv, AF_INET, SRV_HTTP, http_ok_response), 0);
	t = target(AF_INET, srv.port, PROBE_HTTP, 20);
	health_fsm_init(&fsm, t.spec.rise, t.spec.fall, HEALTH_UNKNOWN);
	r = results_new(&t, 1);
	r->fsm = &fsm;
	run_until(r, 6, false);
	assert_int_equal(r->n, 6);
	assert_true(health_fsm_is_up(&fsm));
	at_kill = r->n;
	server_stop(&srv);
	run_until(r, at_kill + 50, true);
	assert_true(r->saw_down);
	for (i = at_kill; i < r->n; i++)
		if (r->rec[i].event == HEALTH_EV_DOWN)
			break;
	assert_true(i < r->n);
	assert_true(i + 1 - at_kill <= t.spec.fall + 1);
	assert_false(health_fsm_is_up(&fsm));
	assert_false(r->rec[i].ok);
	results_free(r);
}

/*
 * 10 ms intervals: results keep coming, and consecutive probe starts
 * (callback time - rtt) are never closer than the jittered interval allows
 * (the scheduler never fires early), summed over the run.
 */
static void test_interval_10ms(void **state)
{
	struct probe_target t;
	struct server srv;
	struct results *r;
	uint64_t first, last, min_span;
	uint32_t i;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_ACCEPT, NULL), 0);
	t = target(AF_INET, srv.port, PROBE_TCP, 10);
	r = results_new(&t, 1);
	run_until(r, 40, false);
	server_stop(&srv);
	assert_int_equal(r->n, 40);
	for (i = 0; i < r->n; i++)
		assert_true(r->rec[i].ok);
	first = r->rec[0].at_ns - r->rec[0].rtt_us * 1000ull;
	last = r->rec[r->n - 1].at_ns - r->rec[r->n - 1].rtt_us * 1000ull;
	min_span = (r->n - 1) * 9000000ull; /* 10 ms - 10 % */
	assert_true(last - first + 1000000 >= min_span);
	results_free(r);
}

/*
 * A probe in flight when its next one is due does not pile up: with
 * jitter 50 % the next start often comes before the 20 ms timeout, yet
 * only one probe per target is ever in flight and starts stay at least a
 * timeout apart.
 */
static void test_no_pile_up(void **state)
{
	struct probe_target t;
	struct server srv;
	struct results *r;
	uint64_t first, last;
	uint32_t i;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_SILENT, NULL), 0);
	t = target(AF_INET, srv.port, PROBE_HTTP, 20);
	t.spec.jitter_pct = 50;
	r = results_new(&t, 1);
	run_until(r, 10, false);
	server_stop(&srv);
	assert_int_equal(r->n, 10);
	assert_int_equal(r->max_in_flight, 0); /* closed before the callback */
	for (i = 0; i < r->n; i++) {
		assert_false(r->rec[i].ok);
		assert_true(r->rec[i].rtt_us >= 20000);
	}
	first = r->rec[0].at_ns - r->rec[0].rtt_us * 1000ull;
	last = r->rec[r->n - 1].at_ns - r->rec[r->n - 1].rtt_us * 1000ull;
	assert_true(last - first + 1000000 >= (r->n - 1) * 20000000ull);
	results_free(r);
}

/* The in-flight cap defers probes in FIFO order; every target still runs. */
static void test_inflight_cap(void **state)
{
	struct probe_target t[4];
	struct prober_stats st;
	struct server srv;
	struct results *r;
	uint32_t i;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_SILENT, NULL), 0);
	for (i = 0; i < 4; i++)
		t[i] = target(AF_INET, srv.port, PROBE_HTTP, 10);
	r = results_new(t, 4);
	prober_set_max_inflight(r->p, 1);
	run_until(r, 16, false);
	server_stop(&srv);
	prober_get_stats(r->p, &st);
	assert_int_equal(r->n, 16);
	assert_int_equal(st.max_inflight, 1);
	assert_true(st.in_flight <= 1);
	/* Four 10 ms probes every 10 ms through one socket must queue. */
	assert_true(st.deferred > 0);
	for (i = 0; i < 4; i++)
		assert_true(r->per_backend[i] >= 2);
	prober_set_max_inflight(r->p, 0);
	prober_get_stats(r->p, &st);
	assert_true(st.max_inflight >= 16);
	results_free(r);
}

static void test_update(void **state)
{
	struct probe_target t[2], bad;
	struct prober_stats st;
	struct server srv;
	struct results *r;
	uint32_t i, mark;

	(void)state;
	assert_int_equal(server_start(&srv, AF_INET, SRV_ACCEPT, NULL), 0);
	t[0] = target(AF_INET, closed_port(), PROBE_TCP, 20);
	t[1] = target(AF_INET, srv.port, PROBE_TCP, 20);
	r = results_new(t, 2);
	run_until(r, 8, false);
	assert_int_equal(r->n, 8);
	for (i = 0; i < r->n; i++)
		assert_int_equal(r->rec[i].ok, r->rec[i].backend == 1);

	/* A rejected update changes nothing. */
	bad = t[0];
	bad.addr.family = 0;
	assert_int_equal(prober_update(r->p, &bad, 1), -EINVAL);
	prober_get_stats(r->p, &st);
	assert_int_equal(st.targets, 2);

	/* Target 0 now points at the server: no stale refusal may follow. */
	t[0].port = srv.port;
	assert_int_equal(prober_update(r->p, t, 2), 0);
	mark = r->n;
	run_until(r, mark + 8, false);
	assert_int_equal(r->n, mark + 8);
	assert_int_equal(count_ok(r, mark, false), 0);

	/* Shrink to one target: index 1 is gone. */
	assert_int_equal(prober_update(r->p, t, 1), 0);
	mark = r->n;
	run_until(r, mark + 4, false);
	for (i = mark; i < r->n; i++)
		assert_int_equal(r->rec[i].backend, 0);
	server_stop(&srv);
	results_free(r);
}

static void test_create_errors(void **state)
{
	struct probe_target t = target(AF_INET, 80, PROBE_HTTP, 100);
	struct prober *p;

	(void)state;
	t.port = 0;
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), -EINVAL);
	assert_null(p);
	t = target(AF_INET, 80, PROBE_HTTP, 100);
	snprintf(t.spec.http_path, sizeof(t.spec.http_path), "/a b");
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), -EINVAL);
	snprintf(t.spec.http_path, sizeof(t.spec.http_path), "/x\r\nEvil: 1");
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), -EINVAL);
	snprintf(t.spec.http_path, sizeof(t.spec.http_path), "nopath");
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), -EINVAL);
	t = target(AF_INET, 80, PROBE_TCP, 100);
	assert_int_equal(prober_create(&p, &t, 1, NULL, NULL), -EINVAL);
	t.spec.kind = (enum probe_kind)42;
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), -EINVAL);
	/* PROBE_NONE needs no address and never reports. */
	memset(&t, 0, sizeof(t));
	t.spec.kind = PROBE_NONE;
	assert_int_equal(prober_create(&p, &t, 1, on_result, NULL), 0);
	assert_int_equal(prober_dispatch(p), 0);
	prober_destroy(p);
	/* No targets at all is fine. */
	assert_int_equal(prober_create(&p, NULL, 0, on_result, NULL), 0);
	assert_true(prober_fd(p) >= 0);
	assert_int_equal(prober_dispatch(p), 0);
	prober_destroy(p);
	prober_destroy(NULL);
}

/* ---- Benchmark (not a test) ---- */

#define BENCH_LISTENERS 4

static void bench_listener(int lfd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[2048];
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
	long i;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(SERVER_LIFETIME_S);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 100000000; i++) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		/* TCP probes RST right away; HTTP ones send a request. */
		if (read(fd, buf, sizeof(buf)) > 0)
			write_all(fd, resp, strlen(resp));
		close(fd);
	}
	_exit(0);
}

static int bench_listen(uint8_t last_octet, uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(0x7f000000 | last_octet);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, len) ||
	    listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		perror("bench listener");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void bench_count(void *arg, uint32_t backend, bool ok, uint32_t rtt_us,
			const char *why, double lag)
{
	uint64_t *counts = arg;

	(void)backend;
	(void)rtt_us;
	(void)lag;
	counts[ok ? 0 : 1]++;
	if (!ok && counts[1] <= 3)
		fprintf(stderr, "bench: failure: %s\n", why);
}

static double tv_s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Returns the number of wakeups. */
static uint64_t bench_loop(struct prober *p, double seconds)
{
	uint64_t end = mono_ns() + seconds * 1e9, wakeups = 0;
	struct pollfd pfd = { .fd = prober_fd(p), .events = POLLIN };

	while (mono_ns() < end) {
		poll(&pfd, 1, 100);
		wakeups++;
		if (prober_dispatch(p) < 0)
			exit(2);
	}
	return wakeups;
}

static int run_bench(int argc, char **argv)
{
	const char *kind = argc > 2 ? argv[2] : "tcp";
	double seconds = argc > 3 ? atof(argv[3]) : 10;
	uint32_t n = argc > 4 ? atoi(argv[4]) : 1000, i;
	uint32_t interval_ms = argc > 5 ? atoi(argv[5]) : 100;
	uint64_t counts[2] = { 0 };
	struct server srv[BENCH_LISTENERS];
	struct probe_target *t = calloc(n, sizeof(*t));
	struct rusage r0, r1;
	struct prober_stats st;
	struct prober *p;
	uint64_t t0, t1, wakeups;
	double cpu, wall;
	int lfd;

	if (!t || seconds <= 0 || seconds > 100 || !n || n > 4096 ||
	    interval_ms < 10) {
		fprintf(stderr, "bench: bad arguments\n");
		return 2;
	}
	for (i = 0; i < BENCH_LISTENERS; i++) {
		lfd = bench_listen(i + 1, &srv[i].port);
		srv[i].pid = fork();
		if (srv[i].pid == 0)
			bench_listener(lfd);
		close(lfd);
	}
	for (i = 0; i < n; i++) {
		t[i] = target(AF_INET, srv[i % BENCH_LISTENERS].port,
			      strcmp(kind, "http") ? PROBE_TCP : PROBE_HTTP,
			      interval_ms);
		t[i].addr.bytes[3] = 1 + i % BENCH_LISTENERS;
	}
	if (prober_create(&p, t, n, bench_count, counts))
		return 2;
	bench_loop(p, 1.0); /* every backend past its first probe */
	counts[0] = counts[1] = 0;
	getrusage(RUSAGE_SELF, &r0);
	t0 = mono_ns();
	wakeups = bench_loop(p, seconds);
	t1 = mono_ns();
	getrusage(RUSAGE_SELF, &r1);
	prober_get_stats(p, &st);
	wall = (t1 - t0) / 1e9;
	cpu = tv_s(r1.ru_utime) - tv_s(r0.ru_utime) + tv_s(r1.ru_stime) -
	      tv_s(r0.ru_stime);
	printf("bench %s: %u backends every %u ms for %.1f s: %llu ok, %llu "
	       "failed (%.0f probes/s); "
	       "CPU user %.3f s + sys %.3f s = %.1f %% of one core; "
	       "%.0f wakeups/s; local errors %llu, deferred %llu\n",
	       kind, n, interval_ms, wall, (unsigned long long)counts[0],
	       (unsigned long long)counts[1], (counts[0] + counts[1]) / wall,
	       tv_s(r1.ru_utime) - tv_s(r0.ru_utime),
	       tv_s(r1.ru_stime) - tv_s(r0.ru_stime), 100 * cpu / wall,
	       wakeups / wall, (unsigned long long)st.local_errors,
	       (unsigned long long)st.deferred);
	prober_destroy(p);
	for (i = 0; i < BENCH_LISTENERS; i++)
		server_stop(&srv[i]);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_http_incomplete),
		cmocka_unit_test(test_http_body),
		cmocka_unit_test(test_http_chunked),
		cmocka_unit_test(test_http_lag),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_tcp_up),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_http_200_body_match),
		cmocka_unit_test(test_http_500_fails),
		cmocka_unit_test(test_http_body_mismatch_fails),
		cmocka_unit_test(test_http_silent_times_out),
		cmocka_unit_test(test_http_lag_header),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_kill_goes_down),
		cmocka_unit_test(test_interval_10ms),
		cmocka_unit_test(test_no_pile_up),
		cmocka_unit_test(test_inflight_cap),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_tcp_reuse_after_refused),
		cmocka_unit_test(test_tcp_reuse_after_timeout),
		cmocka_unit_test(test_tcp_reuse_family_change),
		cmocka_unit_test(test_tcp_reuse_needs_room),
	};
	int total = sizeof(tests) / sizeof(tests[0]);
	int failed;

	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return run_bench(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	printf("%d passed, %d failed, %d skipped\n", total - failed - n_skipped,
	       failed, n_skipped);
	return failed ? 1 : 0;
}
