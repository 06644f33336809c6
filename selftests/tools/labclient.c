// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * labclient: traffic for the selftest lab, run in a client namespace.
 *
 *   labclient flows     --vip A --port P --src S --count N
 *                       [--parallel K] [--per-flow]
 *   labclient udp       --vip A --port P --src S --count N [--per-flow]
 *   labclient longlived --vip A --port P --src S --conns K
 *                       --interval-ms I --duration-ms D
 *   labclient until-ok  --vip A --port P --src S --backends B1,B2,...
 *                       --max-ms M [--start-ms T [--clock realtime|monotonic]]
 *                       [--interval-ms I] [--udp] [--sport P]
 *   common: [--timeout-ms T] [--sport-base P] [--path /x]
 *
 * Every flow gets a source port of its own (--sport-base, base + 1, ...;
 * random base by default; a port in use is skipped), so each is a new
 * flow to the edge. TCP connections are closed with a reset after the
 * response, leaving no TIME_WAIT, so a port can be used again at once.
 * Answers are tallied by the backend name in the body. The client connects
 * to the VIP, so an answer from any other source address would not
 * complete the handshake (or, for UDP, would not reach the connected
 * socket): every counted answer came back with the VIP as its source.
 *
 * Output, one item per line, for scripts:
 *   backend NAME COUNT     answers per backend (longlived: connections)
 *   failed N               requests without a valid answer
 *   error REASON N         failures by reason (timeout, refused, ...)
 *   flow SPORT NAME|-      with --per-flow
 *   longlived adds: requests N, moved N, broken N and one line per
 *   connection: conn I sport P backend NAME requests N failed N moved N
 *   until-ok: elapsed_ms N, backend NAME, attempts N (exit 1 on timeout)
 *
 * flows, udp and longlived exit 0 even with failures: the test decides.
 * Everything is bounded: counts, connections, durations and timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN 64
#define MAX_NAMES 64
#define MAX_COUNT 100000
#define MAX_CONNS 1024
#define MAX_MS (10 * 60 * 1000)
#define RX_MAX 2048
#define PORT_MIN 1024
#define BIND_TRIES 64

enum mode { M_FLOWS, M_UDP, M_LONGLIVED, M_UNTIL_OK };

enum fail {
	F_NONE,
	F_TIMEOUT,
	F_REFUSED,
	F_RESET,
	F_UNREACH,
	F_BADREPLY,
	F_BIND,
	F_OTHER,
	F_MAX,
};

static const char *const fail_names[F_MAX] = {
	"none",	       "timeout",  "refused", "reset",
	"unreachable", "badreply", "bind",    "other",
};

struct opts {
	enum mode mode;
	struct sockaddr_storage vip, src;
	socklen_t addr_len;
	char vip_text[INET6_ADDRSTRLEN];
	uint16_t port;
	unsigned int count, conns, parallel;
	unsigned int interval_ms, duration_ms, timeout_ms, max_ms;
	unsigned int sport_base; /* 0: random */
	unsigned int sport_fixed; /* until-ok: 0, or every attempt's port */
	bool per_flow, udp, has_start;
	uint64_t start_ms;
	clockid_t start_clock;
	char backends[512]; /* until-ok: ",a,b," for substring matching */
	const char *path;
};

struct tally {
	char name[MAX_NAMES][NAME_LEN];
	unsigned int count[MAX_NAMES];
	unsigned int n_names;
	unsigned int fails[F_MAX];
	unsigned int failed;
};

/* ---- time ---- */

static uint64_t clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ---- pure helpers: tallies and HTTP responses ---- */

static void tally_ok(struct tally *t, const char *name)
{
	unsigned int i;

	for (i = 0; i < t->n_names; i++) {
		if (!strcmp(t->name[i], name)) {
			t->count[i]++;
			return;
		}
	}
	if (t->n_names == MAX_NAMES) {
		t->fails[F_BADREPLY]++;
		t->failed++;
		return;
	}
	snprintf(t->name[t->n_names], NAME_LEN, "%s", name);
	t->count[t->n_names++] = 1;
}

static void tally_fail(struct tally *t, enum fail f)
{
	t->fails[f]++;
	t->failed++;
}

static void tally_print(const struct tally *t)
{
	unsigned int i;

	for (i = 0; i < t->n_names; i++)
		printf("backend %s %u\n", t->name[i], t->count[i]);
	printf("failed %u\n", t->failed);
	for (i = 1; i < F_MAX; i++)
		if (t->fails[i])
			printf("error %s %u\n", fail_names[i], t->fails[i]);
}

/* A backend name is one printable word; the body is "NAME\n". */
static int body_to_name(const char *body, size_t len, char *name)
{
	size_t i;

	if (len && body[len - 1] == '\n')
		len--;
	if (len == 0 || len >= NAME_LEN)
		return -1;
	for (i = 0; i < len; i++)
		if (body[i] <= ' ' || body[i] > '~')
			return -1;
	memcpy(name, body, len);
	name[len] = '\0';
	return 0;
}

/* Our server always sends Content-Length; 0 when it is missing. */
static unsigned long content_length(const char *head, size_t len)
{
	const char *p = head, *end = head + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) && ++p < end)
		if ((size_t)(end - p) > 15 &&
		    !strncasecmp(p, "Content-Length:", 15))
			return strtoul(p + 15, NULL, 10);
	return 0;
}

/*
 * One response at the start of buf: 1 when whole (name filled from a 200
 * answer, or *status tells what else came), 0 when more is needed, -1 when
 * it cannot be a response. *used gets the response's length.
 */
static int parse_response(const char *buf, size_t len, int *status,
			  char *name, size_t *used)
{
	const char *head_end = NULL;
	unsigned long body;
	size_t i, head;

	for (i = 3; i < len && !head_end; i++)
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4))
			head_end = buf + i + 1;
	if (!head_end)
		return len >= RX_MAX ? -1 : 0;
	head = (size_t)(head_end - buf);
	if (head < 12 || strncmp(buf, "HTTP/1.", 7))
		return -1;
	*status = atoi(buf + 9);
	body = content_length(buf, head);
	if (body > RX_MAX)
		return -1;
	if (head + body > len)
		return 0;
	*used = head + body;
	if (*status != 200)
		return 1;
	return body_to_name(head_end, body, name) ? -1 : 1;
}

static enum fail errno_fail(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return F_TIMEOUT;
	case ECONNREFUSED:
		return F_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return F_RESET;
	case ENETUNREACH:
	case EHOSTUNREACH:
		return F_UNREACH;
	default:
		return F_OTHER;
	}
}

/* ---- sockets ---- */

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Next source port to try, wrapping within [PORT_MIN, 65535]. */
static unsigned int next_port(unsigned int *cursor)
{
	unsigned int port = *cursor;

	*cursor = port >= 65535 ? PORT_MIN : port + 1;
	return port;
}

/*
 * A socket bound to the source address and a port of its own, connecting
 * (TCP: non-blocking, in progress) to the VIP. Ports in use are skipped,
 * unless fixed. *sport gets the port; returns the fd or -1 (*f says why).
 */
static int open_flow(const struct opts *o, int type, unsigned int *cursor,
		     bool fixed, uint16_t *sport, enum fail *f)
{
	struct sockaddr_storage src = o->src, dst = o->vip;
	int fd, tries;

	set_port(&dst, o->port);
	for (tries = 0; tries < BIND_TRIES; tries++) {
		fd = socket(o->vip.ss_family, type | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			*f = F_OTHER;
			return -1;
		}
		*sport = (uint16_t)(fixed ? *cursor : next_port(cursor));
		set_port(&src, *sport);
		if (bind(fd, (struct sockaddr *)&src, o->addr_len) == 0) {
			if (connect(fd, (struct sockaddr *)&dst, o->addr_len) &&
			    errno != EINPROGRESS) {
				*f = errno_fail(errno);
				close(fd);
				return -1;
			}
			return fd;
		}
		close(fd);
		if (errno != EADDRINUSE || fixed)
			break;
	}
	*f = F_BIND;
	return -1;
}

/* Reset instead of FIN: no TIME_WAIT, the port is free again at once. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---- the TCP engine: many non-blocking connections, one poll loop ---- */

enum cstate { C_FREE, C_CONNECTING, C_WAITING, C_IDLE };

struct tconn {
	int fd;
	enum cstate st;
	uint16_t sport;
	uint64_t deadline; /* of the step in progress */
	uint64_t next_send; /* C_IDLE: when the next request goes */
	size_t rx_len;
	char rx[RX_MAX];
	/* longlived bookkeeping */
	char backend[NAME_LEN];
	unsigned int requests, failed, moved;
	bool broken;
};

struct engine {
	const struct opts *o;
	struct tconn *c;
	unsigned int n;
	bool keep_alive;
	unsigned int port_cursor;
	bool port_fixed;
	void (*done)(struct engine *e, struct tconn *c, const char *name,
		     enum fail f);
	void *ctx;
};

static void tconn_fail(struct engine *e, struct tconn *c, enum fail f)
{
	close_reset(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	e->done(e, c, NULL, f);
}

static void tconn_send(struct engine *e, struct tconn *c)
{
	char req[512];
	int n;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n",
		     e->o->path, e->o->vip_text,
		     e->keep_alive ? "keep-alive" : "close");
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		tconn_fail(e, c, errno ? errno_fail(errno) : F_OTHER);
		return;
	}
	c->st = C_WAITING;
	c->rx_len = 0;
	c->deadline = now_ms() + e->o->timeout_ms;
}

static int tconn_start(struct engine *e, struct tconn *c)
{
	enum fail f = F_OTHER;

	memset(c, 0, sizeof(*c));
	c->fd = open_flow(e->o, SOCK_STREAM, &e->port_cursor, e->port_fixed,
			  &c->sport, &f);
	if (c->fd < 0) {
		c->st = C_FREE;
		e->done(e, c, NULL, f);
		return -1;
	}
	c->st = C_CONNECTING;
	c->deadline = now_ms() + e->o->timeout_ms;
	return 0;
}

static void tconn_connected(struct engine *e, struct tconn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		tconn_fail(e, c, errno_fail(err));
		return;
	}
	tconn_send(e, c);
}

static void tconn_readable(struct engine *e, struct tconn *c)
{
	char name[NAME_LEN];
	size_t used = 0;
	int status = 0, rc;
	ssize_t n;

	if (c->st == C_IDLE) {
		/* Nothing is due while idle: the server closed or reset. */
		tconn_fail(e, c, F_RESET);
		return;
	}
	n = recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tconn_fail(e, c, n == 0 ? F_RESET : errno_fail(errno));
		return;
	}
	c->rx_len += (size_t)n;
	rc = parse_response(c->rx, c->rx_len, &status, name, &used);
	if (rc == 0)
		return;
	if (rc < 0 || status != 200) {
		tconn_fail(e, c, F_BADREPLY);
		return;
	}
	if (!e->keep_alive) {
		close_reset(c->fd);
		c->fd = -1;
		c->st = C_FREE;
	} else {
		c->st = C_IDLE;
		c->next_send = now_ms() + e->o->interval_ms;
	}
	e->done(e, c, name, F_NONE);
}

static void engine_timers(struct engine *e, bool may_send)
{
	uint64_t now = now_ms();
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		struct tconn *c = &e->c[i];

		if ((c->st == C_CONNECTING || c->st == C_WAITING) &&
		    now >= c->deadline)
			tconn_fail(e, c, F_TIMEOUT);
		else if (c->st == C_IDLE && may_send && now >= c->next_send)
			tconn_send(e, c);
	}
}

static int engine_wait_ms(const struct engine *e, bool may_send,
			  uint64_t limit)
{
	uint64_t now = now_ms(), next = limit;
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		const struct tconn *c = &e->c[i];

		if ((c->st == C_CONNECTING || c->st == C_WAITING) &&
		    c->deadline < next)
			next = c->deadline;
		else if (c->st == C_IDLE && may_send && c->next_send < next)
			next = c->next_send;
	}
	return next > now ? (int)(next - now) : 0;
}

/* One round: wait for events (at most until limit), handle them. */
static int engine_poll(struct engine *e, bool may_send, uint64_t limit)
{
	struct pollfd pfd[MAX_CONNS];
	unsigned int idx[MAX_CONNS], i, n = 0;
	int rc;

	for (i = 0; i < e->n; i++) {
		if (e->c[i].st == C_FREE)
			continue;
		pfd[n] = (struct pollfd){
			.fd = e->c[i].fd,
			.events = e->c[i].st == C_CONNECTING ? POLLOUT : POLLIN,
		};
		idx[n++] = i;
	}
	rc = poll(pfd, n, engine_wait_ms(e, may_send, limit));
	if (rc < 0 && errno != EINTR) {
		perror("labclient: poll");
		return -1;
	}
	for (i = 0; rc > 0 && i < n; i++) {
		struct tconn *c = &e->c[idx[i]];

		if (!pfd[i].revents)
			continue;
		if (c->st == C_CONNECTING)
			tconn_connected(e, c);
		else
			tconn_readable(e, c);
	}
	engine_timers(e, may_send);
	return 0;
}

static unsigned int engine_active(const struct engine *e)
{
	unsigned int i, n = 0;

	for (i = 0; i < e->n; i++)
		n += e->c[i].st != C_FREE;
	return n;
}

static struct tconn *engine_alloc(unsigned int n)
{
	struct tconn *c = calloc(n, sizeof(*c));
	unsigned int i;

	if (!c) {
		fprintf(stderr, "labclient: out of memory for %u connections\n",
			n);
		return NULL;
	}
	for (i = 0; i < n; i++)
		c[i].fd = -1;
	return c;
}

/* ---- modes ---- */

struct flows_ctx {
	struct tally t;
	bool per_flow;
};

static void flow_done(struct engine *e, struct tconn *c, const char *name,
		      enum fail f)
{
	struct flows_ctx *x = e->ctx;

	if (name)
		tally_ok(&x->t, name);
	else
		tally_fail(&x->t, f);
	if (x->per_flow)
		printf("flow %u %s\n", c->sport, name ? name : "-");
}

/* Runs count one-request flows, parallel at a time, into x. */
static int run_tcp_flows(const struct opts *o, unsigned int count,
			 unsigned int parallel, unsigned int *cursor,
			 bool fixed, struct flows_ctx *x)
{
	struct engine e = { .o = o, .n = parallel, .port_cursor = *cursor,
			    .port_fixed = fixed, .done = flow_done, .ctx = x };
	unsigned int started = 0, i;
	int rc = 0;

	e.c = engine_alloc(parallel);
	if (!e.c)
		return -1;
	/* Each flow ends within two timeouts, so this loop is bounded. */
	while (rc == 0 && (started < count || engine_active(&e))) {
		for (i = 0; i < e.n && started < count; i++) {
			if (e.c[i].st != C_FREE)
				continue;
			started++;
			tconn_start(&e, &e.c[i]);
		}
		if (engine_active(&e))
			rc = engine_poll(&e, false, now_ms() + o->timeout_ms);
	}
	*cursor = e.port_cursor;
	free(e.c);
	return rc;
}

/* One datagram from its own port; name filled on an answer. */
static enum fail udp_once(const struct opts *o, unsigned int *cursor,
			  bool fixed, uint16_t *sport, char *name)
{
	struct pollfd pfd;
	enum fail f = F_OTHER;
	char buf[RX_MAX];
	ssize_t n;
	int fd;

	fd = open_flow(o, SOCK_DGRAM, cursor, fixed, sport, &f);
	if (fd < 0)
		return f;
	if (send(fd, "ping\n", 5, 0) != 5) {
		f = errno_fail(errno);
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, (int)o->timeout_ms) <= 0) {
		f = F_TIMEOUT;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		f = errno_fail(errno);
	else
		f = body_to_name(buf, (size_t)n, name) ? F_BADREPLY : F_NONE;
out:
	close(fd);
	return f;
}

static int mode_flows(const struct opts *o)
{
	struct flows_ctx *x = calloc(1, sizeof(*x));
	unsigned int cursor = o->sport_base;
	int rc;

	if (!x)
		return 1;
	x->per_flow = o->per_flow;
	rc = run_tcp_flows(o, o->count, o->parallel, &cursor, false, x);
	tally_print(&x->t);
	free(x);
	return rc ? 1 : 0;
}

static int mode_udp(const struct opts *o)
{
	struct tally *t = calloc(1, sizeof(*t));
	unsigned int cursor = o->sport_base, i;
	char name[NAME_LEN];
	uint16_t sport = 0;
	enum fail f;

	if (!t)
		return 1;
	for (i = 0; i < o->count; i++) {
		f = udp_once(o, &cursor, false, &sport, name);
		if (f == F_NONE)
			tally_ok(t, name);
		else
			tally_fail(t, f);
		if (o->per_flow)
			printf("flow %u %s\n", sport, f == F_NONE ? name : "-");
	}
	tally_print(t);
	free(t);
	return 0;
}

static void ll_done(struct engine *e, struct tconn *c, const char *name,
		    enum fail f)
{
	(void)e;
	(void)f;
	if (!name) {
		/* A long-lived connection that breaks stays broken. */
		c->failed++;
		c->broken = true;
		return;
	}
	c->requests++;
	if (c->backend[0] && strcmp(c->backend, name))
		c->moved++;
	snprintf(c->backend, sizeof(c->backend), "%s", name);
}

static void ll_report(const struct engine *e, const char (*first)[NAME_LEN])
{
	unsigned int i, requests = 0, failed = 0, moved = 0, broken = 0;
	struct tally t = {};

	for (i = 0; i < e->n; i++) {
		const struct tconn *c = &e->c[i];

		printf("conn %u sport %u backend %s requests %u failed %u "
		       "moved %u\n",
		       i, c->sport, first[i][0] ? first[i] : "-", c->requests,
		       c->failed, c->moved);
		requests += c->requests;
		failed += c->failed;
		moved += c->moved;
		broken += c->broken;
		if (first[i][0])
			tally_ok(&t, first[i]);
	}
	for (i = 0; i < t.n_names; i++)
		printf("backend %s %u\n", t.name[i], t.count[i]);
	printf("requests %u\nfailed %u\nmoved %u\nbroken %u\n", requests,
	       failed, moved, broken);
}

/*
 * K keep-alive connections, a request on each every interval. tconn_start
 * zeroes a connection, so the per-connection results live in the tconn
 * and only the first backend is kept aside.
 */
static int mode_longlived(const struct opts *o)
{
	struct engine e = { .o = o, .n = o->conns, .keep_alive = true,
			    .port_cursor = o->sport_base, .done = ll_done };
	char (*first)[NAME_LEN] = calloc(o->conns, NAME_LEN);
	uint64_t end = now_ms() + o->duration_ms, hard_end;
	unsigned int i;
	int rc = 0;

	e.c = engine_alloc(o->conns);
	if (!e.c || !first) {
		free(first);
		free(e.c);
		return 1;
	}
	for (i = 0; i < e.n; i++)
		if (tconn_start(&e, &e.c[i]))
			e.c[i].broken = true;
	while (rc == 0 && now_ms() < end) {
		rc = engine_poll(&e, true, end);
		for (i = 0; i < e.n; i++)
			if (!first[i][0] && e.c[i].backend[0])
				memcpy(first[i], e.c[i].backend, NAME_LEN);
	}
	/* Requests in flight get their timeout, no new ones go out. */
	hard_end = now_ms() + o->timeout_ms + 10;
	while (rc == 0 && now_ms() < hard_end) {
		for (i = 0; i < e.n; i++)
			if (e.c[i].st == C_CONNECTING || e.c[i].st == C_WAITING)
				break;
		if (i == e.n)
			break;
		rc = engine_poll(&e, false, hard_end);
	}
	for (i = 0; i < e.n; i++)
		if (e.c[i].st != C_FREE)
			close_reset(e.c[i].fd);
	ll_report(&e, (const char(*)[NAME_LEN])first);
	free(first);
	free(e.c);
	return rc ? 1 : 0;
}

static bool wanted(const struct opts *o, const char *name)
{
	char key[NAME_LEN + 2];

	snprintf(key, sizeof(key), ",%s,", name);
	return strstr(o->backends, key) != NULL;
}

/* One attempt: the backend that answered, or "" after a failure. */
static void until_attempt(const struct opts *o, unsigned int *cursor,
			  char *name)
{
	struct flows_ctx *x;
	uint16_t sport;
	bool fixed = o->sport_fixed != 0;

	name[0] = '\0';
	if (o->udp) {
		if (udp_once(o, cursor, fixed, &sport, name) != F_NONE)
			name[0] = '\0';
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return;
	if (run_tcp_flows(o, 1, 1, cursor, fixed, x) == 0 && x->t.n_names)
		snprintf(name, NAME_LEN, "%s", x->t.name[0]);
	free(x);
}

static int mode_until_ok(const struct opts *o)
{
	unsigned int cursor = o->sport_fixed ? o->sport_fixed : o->sport_base;
	uint64_t began = now_ms(), t0, elapsed;
	unsigned int attempts = 0, failed = 0;
	char name[NAME_LEN];

	t0 = o->has_start ? o->start_ms : clock_ms(o->start_clock);
	while (now_ms() - began <= o->max_ms) {
		attempts++;
		until_attempt(o, &cursor, name);
		if (name[0] && wanted(o, name)) {
			elapsed = clock_ms(o->start_clock) - t0;
			printf("elapsed_ms %llu\nbackend %s\nattempts %u\n"
			       "failed %u\n",
			       (unsigned long long)elapsed, name, attempts,
			       failed);
			return 0;
		}
		failed += !name[0];
		usleep(o->interval_ms * 1000);
	}
	printf("timeout after %u ms\nattempts %u\nfailed %u\n", o->max_ms,
	       attempts, failed);
	return 1;
}

/* ---- options ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage:\n"
		"  labclient flows     --vip A --port P --src S --count N\n"
		"                      [--parallel K] [--per-flow]\n"
		"  labclient udp       --vip A --port P --src S --count N "
		"[--per-flow]\n"
		"  labclient longlived --vip A --port P --src S --conns K\n"
		"                      --interval-ms I --duration-ms D\n"
		"  labclient until-ok  --vip A --port P --src S --backends "
		"B1,B2\n"
		"                      --max-ms M [--start-ms T] "
		"[--clock realtime|monotonic]\n"
		"                      [--interval-ms I] [--udp] [--sport P]\n"
		"  common: [--timeout-ms T] [--sport-base P] [--path /x]\n");
}

static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || *v > max) {
		fprintf(stderr, "labclient: bad number '%s' (max %llu)\n", s,
			max);
		return -1;
	}
	return 0;
}

static int parse_addr(const char *text, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (void *)ss;
	struct sockaddr_in *sin = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return 0;
	}
	fprintf(stderr, "labclient: bad address '%s'\n", text);
	return -1;
}

static int parse_mode(const char *s, enum mode *m)
{
	static const char *const names[] = { "flows", "udp", "longlived",
					     "until-ok" };
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*m = (enum mode)i;
			return 0;
		}
	}
	fprintf(stderr, "labclient: unknown mode '%s'\n", s);
	return -1;
}

enum opt_id {
	O_VIP = 256,
	O_PORT,
	O_SRC,
	O_COUNT,
	O_CONNS,
	O_PARALLEL,
	O_INTERVAL,
	O_DURATION,
	O_TIMEOUT,
	O_MAX,
	O_SPORT_BASE,
	O_SPORT,
	O_START,
	O_CLOCK,
	O_BACKENDS,
	O_PER_FLOW,
	O_UDP,
	O_PATH,
};

static unsigned int *number_field(struct opts *o, int id)
{
	switch (id) {
	case O_COUNT:
		return &o->count;
	case O_CONNS:
		return &o->conns;
	case O_PARALLEL:
		return &o->parallel;
	case O_INTERVAL:
		return &o->interval_ms;
	case O_DURATION:
		return &o->duration_ms;
	case O_TIMEOUT:
		return &o->timeout_ms;
	case O_MAX:
		return &o->max_ms;
	case O_SPORT_BASE:
		return &o->sport_base;
	default:
		return &o->sport_fixed;
	}
}

static int set_number(struct opts *o, int id, const char *arg)
{
	unsigned long long v;

	if (id == O_START) {
		if (parse_uint(arg, UINT64_MAX, &v))
			return -1;
		o->start_ms = v;
		o->has_start = true;
		return 0;
	}
	if (parse_uint(arg, id == O_PORT || id == O_SPORT_BASE ||
				id == O_SPORT ? 65535 : MAX_MS, &v))
		return -1;
	if (id == O_PORT)
		o->port = (uint16_t)v;
	else
		*number_field(o, id) = (unsigned int)v;
	return 0;
}

static int set_option(struct opts *o, int id, const char *arg,
		      const char **vip, const char **src)
{
	switch (id) {
	case O_VIP:
		*vip = arg;
		return 0;
	case O_SRC:
		*src = arg;
		return 0;
	case O_CLOCK:
		if (!strcmp(arg, "realtime"))
			o->start_clock = CLOCK_REALTIME;
		else if (!strcmp(arg, "monotonic"))
			o->start_clock = CLOCK_MONOTONIC;
		else
			return -1;
		return 0;
	case O_BACKENDS:
		if (strlen(arg) + 3 > sizeof(o->backends))
			return -1;
		snprintf(o->backends, sizeof(o->backends), ",%s,", arg);
		return 0;
	case O_PER_FLOW:
		o->per_flow = true;
		return 0;
	case O_UDP:
		o->udp = true;
		return 0;
	case O_PATH:
		if (arg[0] != '/' || strlen(arg) > 256 || strpbrk(arg, " \r\n"))
			return -1;
		o->path = arg;
		return 0;
	default:
		return set_number(o, id, arg);
	}
}

/* What each mode needs, within the bounds. */
static int check_opts(const struct opts *o)
{
	switch (o->mode) {
	case M_FLOWS:
		return o->count && o->count <= MAX_COUNT && o->parallel &&
			       o->parallel <= MAX_CONNS ? 0 : -1;
	case M_UDP:
		return o->count && o->count <= MAX_COUNT ? 0 : -1;
	case M_LONGLIVED:
		return o->conns && o->conns <= MAX_CONNS && o->interval_ms &&
			       o->duration_ms ? 0 : -1;
	case M_UNTIL_OK:
		return o->backends[0] && o->max_ms ? 0 : -1;
	}
	return -1;
}

static int resolve_addrs(struct opts *o, const char *vip, const char *src)
{
	socklen_t src_len;

	if (!vip || !src || !o->port) {
		fprintf(stderr, "labclient: --vip, --port and --src are "
				"required\n");
		return -1;
	}
	if (parse_addr(vip, &o->vip, &o->addr_len) ||
	    parse_addr(src, &o->src, &src_len))
		return -1;
	if (o->vip.ss_family != o->src.ss_family) {
		fprintf(stderr, "labclient: --vip and --src differ in "
				"family\n");
		return -1;
	}
	snprintf(o->vip_text, sizeof(o->vip_text), "%s", vip);
	if (!o->sport_base)
		o->sport_base = 20000 + (unsigned int)((getpid() * 7919u +
							now_ms()) % 30000);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{ "vip", required_argument, NULL, O_VIP },
		{ "port", required_argument, NULL, O_PORT },
		{ "src", required_argument, NULL, O_SRC },
		{ "count", required_argument, NULL, O_COUNT },
		{ "conns", required_argument, NULL, O_CONNS },
		{ "parallel", required_argument, NULL, O_PARALLEL },
		{ "interval-ms", required_argument, NULL, O_INTERVAL },
		{ "duration-ms", required_argument, NULL, O_DURATION },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "max-ms", required_argument, NULL, O_MAX },
		{ "sport-base", required_argument, NULL, O_SPORT_BASE },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "start-ms", required_argument, NULL, O_START },
		{ "clock", required_argument, NULL, O_CLOCK },
		{ "backends", required_argument, NULL, O_BACKENDS },
		{ "per-flow", no_argument, NULL, O_PER_FLOW },
		{ "udp", no_argument, NULL, O_UDP },
		{ "path", required_argument, NULL, O_PATH },
		{},
	};
	const char *vip = NULL, *src = NULL;
	int opt;

	if (argc < 2 || parse_mode(argv[1], &o->mode))
		return -1;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == '?' || set_option(o, opt, optarg, &vip, &src)) {
			if (opt != '?')
				fprintf(stderr, "labclient: bad value for "
						"option %d: '%s'\n",
					opt, optarg ? optarg : "");
			return -1;
		}
	}
	if (optind != argc || resolve_addrs(o, vip, src))
		return -1;
	if (check_opts(o)) {
		fprintf(stderr, "labclient: missing or out-of-range "
				"options for this mode\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.parallel = 1,
		.interval_ms = 20,
		.timeout_ms = 1000,
		.start_clock = CLOCK_REALTIME,
		.path = "/",
	};

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch (o.mode) {
	case M_FLOWS:
		return mode_flows(&o);
	case M_UDP:
		return mode_udp(&o);
	case M_LONGLIVED:
		return mode_longlived(&o);
	case M_UNTIL_OK:
		return mode_until_ok(&o);
	}
	return 2;
}
