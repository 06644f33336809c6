// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The probe engine; the rules are in prober.h. Layout: the pure HTTP
 * verdict first, then target preparation, the timer heap, the probe life
 * cycle (start, I/O, finish, timeout) and the public entry points.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "hash64.h"
#include "log.h"
#include "prober.h"

#define REQ_MAX 512
#define EPOLL_BATCH 64
#define EPOLL_ROUNDS 8
#define NEVER UINT64_MAX
#define TIMER_TOKEN UINT64_MAX
#define NS_PER_MS 1000000ull
#define LOCAL_ERR_LOG_NS (10000 * NS_PER_MS)
#define NOFILE_RESERVE 64
#define MIN_INFLIGHT 16

/* ---- The HTTP verdict (pure) ---- */

struct http_head {
	const char *body; /* first body byte */
	long long content_length; /* -1 unknown */
	bool chunked;
};

static bool parse_status_line(const char *line, const char *eol, int *status)
{
	const char *c = line;
	int i;

	if (eol - c < 5 || memcmp(c, "HTTP/", 5))
		return false;
	while (c < eol && *c != ' ')
		c++;
	while (c < eol && *c == ' ')
		c++;
	if (eol - c < 3)
		return false;
	*status = 0;
	for (i = 0; i < 3; i++) {
		if (c[i] < '0' || c[i] > '9')
			return false;
		*status = *status * 10 + (c[i] - '0');
	}
	c += 3;
	return c == eol || *c == ' ' || *c == '\r';
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && !strncasecmp(name, want, len);
}

static double parse_lag(const char *val, size_t len)
{
	char buf[64], *end;
	double v;

	if (!len || len >= sizeof(buf))
		return NAN;
	memcpy(buf, val, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return NAN;
	return v;
}

static long long parse_length(const char *val, size_t len)
{
	long long v = 0;
	size_t i;

	if (!len || len > 15)
		return -1;
	for (i = 0; i < len; i++) {
		if (val[i] < '0' || val[i] > '9')
			return -1;
		v = v * 10 + (val[i] - '0');
	}
	return v;
}

static bool ends_with_chunked(const char *val, size_t len)
{
	return len >= 7 && !strncasecmp(val + len - 7, "chunked", 7);
}

static void parse_header(const char *line, size_t len,
			 const struct probe_spec *spec, struct http_head *h,
			 struct http_verdict *v)
{
	const char *colon = memchr(line, ':', len);
	const char *val, *end = line + len;
	size_t name_len;

	if (!colon)
		return;
	name_len = colon - line;
	val = colon + 1;
	while (val < end && (*val == ' ' || *val == '\t'))
		val++;
	while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (name_is(line, name_len, "Content-Length"))
		h->content_length = parse_length(val, end - val);
	else if (name_is(line, name_len, "Transfer-Encoding"))
		h->chunked = ends_with_chunked(val, end - val);
	else if (spec->lag_header[0] &&
		 name_is(line, name_len, spec->lag_header))
		v->lag_seconds = parse_lag(val, end - val);
}

/* Walks the header block; false while the blank line has not arrived. */
static bool parse_headers(const char *start, const char *end,
			  const struct probe_spec *spec, struct http_head *h,
			  struct http_verdict *v)
{
	const char *eol;
	size_t len;

	while (start < end) {
		eol = memchr(start, '\n', end - start);
		if (!eol)
			return false;
		len = eol - start;
		if (len && start[len - 1] == '\r')
			len--;
		if (!len) {
			h->body = eol + 1;
			return true;
		}
		parse_header(start, len, spec, h, v);
		start = eol + 1;
	}
	return false;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decodes a chunked body as far as it has arrived into out (at most cap
 * bytes kept). *done once the last chunk, or something undecodable, is
 * seen: either way no more body is coming that we could judge.
 */
static size_t dechunk(const char *in, size_t len, char *out, size_t cap,
		      bool *done)
{
	size_t pos = 0, o = 0, size, take, i;
	const char *eol;
	int digit;

	*done = false;
	while (pos < len) {
		eol = memchr(in + pos, '\n', len - pos);
		if (!eol)
			break;
		size = 0;
		for (i = pos; i < (size_t)(eol - in); i++) {
			digit = hex_digit(in[i]);
			if (digit < 0)
				break;
			if (size > (1u << 28)) {
				*done = true;
				return o;
			}
			size = size * 16 + digit;
		}
		if (i == pos) { /* no hex digits: not chunked after all */
			*done = true;
			return o;
		}
		pos = eol - in + 1;
		if (!size) {
			*done = true;
			return o;
		}
		take = size < len - pos ? size : len - pos;
		if (take > cap - o)
			take = cap - o;
		memcpy(out + o, in + pos, take);
		o += take;
		if (len - pos < size)
			return o;
		pos += size;
		if (pos < len && in[pos] == '\r')
			pos++;
		if (pos < len && in[pos] == '\n')
			pos++;
	}
	return o;
}

static void verdict(struct http_verdict *v, enum http_check check,
		    const char *why)
{
	v->check = check;
	snprintf(v->why, sizeof(v->why), "%s", why);
}

static void check_body(const char *body, size_t avail, bool complete,
		       const struct probe_spec *spec, const struct http_head *h,
		       struct http_verdict *v)
{
	char scratch[PROBER_RX_MAX];
	const char *b = body;
	size_t blen = avail;
	bool over = complete, done;

	if (h->chunked) {
		blen = dechunk(body, avail, scratch, sizeof(scratch), &done);
		b = scratch;
		over = over || done;
	} else if (h->content_length >= 0) {
		if ((long long)avail >= h->content_length) {
			blen = h->content_length;
			over = true;
		}
	}
	if (memmem(b, blen, spec->http_body, strlen(spec->http_body))) {
		verdict(v, HTTP_CHECK_OK, "ok");
		return;
	}
	if (!over) {
		v->check = HTTP_CHECK_PENDING;
		return;
	}
	v->check = HTTP_CHECK_FAIL;
	snprintf(v->why, sizeof(v->why), "body lacks \"%.40s\"",
		 spec->http_body);
}

void prober_http_check(const char *buf, size_t len, bool complete,
		       const struct probe_spec *spec, struct http_verdict *v)
{
	struct http_head h = { .content_length = -1 };
	const char *end = buf + len, *eol;
	uint16_t want = spec->http_status ? spec->http_status : 200;

	v->check = HTTP_CHECK_PENDING;
	v->status = -1;
	v->lag_seconds = NAN;
	v->why[0] = '\0';
	eol = memchr(buf, '\n', len);
	if (!eol) {
		if (complete)
			verdict(v, HTTP_CHECK_FAIL,
				len ? "truncated status line" : "no response");
		return;
	}
	if (!parse_status_line(buf, eol, &v->status)) {
		v->status = -1;
		verdict(v, HTTP_CHECK_FAIL, "malformed status line");
		return;
	}
	if (!parse_headers(eol + 1, end, spec, &h, v) && !complete)
		return;
	if (v->status != want) {
		v->check = HTTP_CHECK_FAIL;
		snprintf(v->why, sizeof(v->why), "status %d, want %u",
			 v->status, want);
		return;
	}
	if (!h.body) {
		verdict(v, HTTP_CHECK_FAIL, "truncated headers");
		return;
	}
	if (!spec->http_body[0]) {
		verdict(v, HTTP_CHECK_OK, "ok");
		return;
	}
	check_body(h.body, end - h.body, complete, spec, &h, v);
}

/* ---- Targets ---- */

enum phase {
	PHASE_OFF, /* PROBE_NONE: never probed */
	PHASE_IDLE,
	PHASE_WAITING, /* due, but the in-flight cap is reached */
	PHASE_CONNECTING,
	PHASE_SENDING,
	PHASE_RECEIVING,
};

struct slot {
	struct probe_target t; /* normalized */
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa;
	socklen_t salen;
	uint16_t req_len;
	uint16_t req_sent;
	char req[REQ_MAX];
	char *rx; /* PROBER_RX_MAX, allocated at the first HTTP probe */
	uint32_t rx_len;
	int fd; /* in flight, or a TCP probe's kept between probes */
	uint32_t seq; /* tells a stale epoll token from the live socket */
	enum phase phase;
	uint32_t heap_pos;
	uint64_t due_ns; /* next start, or deadline while in flight */
	uint64_t start_ns;
	uint64_t next_start_ns;
	uint64_t rng;
};

struct prober {
	int epfd;
	int timerfd;
	uint64_t armed_ns; /* 0: disarmed or fired */
	uint64_t grain_ns; /* timer coalescing */
	struct slot *slots;
	uint32_t n;
	uint32_t *heap; /* slot indexes, min-heap on due_ns */
	uint32_t *waitq; /* FIFO ring of PHASE_WAITING slots */
	uint32_t wq_head;
	uint32_t wq_len;
	uint32_t max_inflight;
	bool reuse; /* TCP probes keep their socket: see update_reuse() */
	probe_result_cb cb;
	void *arg;
	struct prober_stats st;
	int delivered;
	uint64_t local_err_log_ns;
	uint64_t local_err_quiet;
	char why[128];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool printable_token(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

static void copy_str(char *dst, const char *src, size_t size)
{
	size_t len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void normalize_timing(struct probe_spec *s, const struct probe_spec *in)
{
	s->interval_ms =
		in->interval_ms ? in->interval_ms : PROBER_DEFAULT_INTERVAL_MS;
	if (s->interval_ms < PROBER_MIN_INTERVAL_MS)
		s->interval_ms = PROBER_MIN_INTERVAL_MS;
	s->timeout_ms = in->timeout_ms;
	if (!s->timeout_ms || s->timeout_ms > s->interval_ms)
		s->timeout_ms = s->interval_ms;
	s->jitter_pct = in->jitter_pct > PROBER_MAX_JITTER_PCT
				? PROBER_MAX_JITTER_PCT
				: in->jitter_pct;
	s->rise = in->rise;
	s->fall = in->fall;
}

static int default_host(char *host, size_t size, const struct model_addr *a,
			uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];
	int af = a->family == MERIDIAN_AF_INET ? AF_INET : AF_INET6;

	if (!inet_ntop(af, a->bytes, ip, sizeof(ip)))
		return -EINVAL;
	snprintf(host, size, af == AF_INET6 ? "[%s]" : "%s", ip);
	if (port != 80)
		snprintf(host + strlen(host), size - strlen(host), ":%u", port);
	return 0;
}

static int normalize_http(struct probe_spec *s, const struct probe_spec *in,
			  const struct model_addr *a, uint16_t port, uint32_t i)
{
	copy_str(s->http_path, in->http_path[0] ? in->http_path : "/",
		 sizeof(s->http_path));
	copy_str(s->http_host, in->http_host, sizeof(s->http_host));
	if (!s->http_host[0] &&
	    default_host(s->http_host, sizeof(s->http_host), a, port))
		return -EINVAL;
	s->http_status = in->http_status ? in->http_status : 200;
	copy_str(s->http_body, in->http_body, sizeof(s->http_body));
	copy_str(s->lag_header, in->lag_header, sizeof(s->lag_header));
	if (s->http_path[0] != '/' || !printable_token(s->http_path) ||
	    !printable_token(s->http_host) || s->http_status > 999 ||
	    !printable_token(s->lag_header)) {
		log_err("probe target %u: invalid HTTP path, host, status or lag header",
			i);
		return -EINVAL;
	}
	return 0;
}

/* Fills in defaults and rejects what cannot make a probe. */
static int normalize_target(struct probe_target *out,
			    const struct probe_target *in, uint32_t i)
{
	const struct probe_spec *is = &in->spec;

	memset(out, 0, sizeof(*out));
	out->spec.kind = is->kind;
	if (is->kind == PROBE_NONE)
		return 0;
	if (is->kind != PROBE_TCP && is->kind != PROBE_HTTP) {
		log_err("probe target %u: unknown probe kind %d", i, is->kind);
		return -EINVAL;
	}
	if (in->addr.family != MERIDIAN_AF_INET &&
	    in->addr.family != MERIDIAN_AF_INET6) {
		log_err("probe target %u: address family %u is neither 4 nor 6",
			i, in->addr.family);
		return -EINVAL;
	}
	out->addr = in->addr;
	out->port = is->port ? is->port : in->port;
	out->spec.port = is->port;
	if (!out->port) {
		log_err("probe target %u: no port to probe", i);
		return -EINVAL;
	}
	normalize_timing(&out->spec, is);
	if (is->kind == PROBE_HTTP)
		return normalize_http(&out->spec, is, &out->addr, out->port, i);
	return 0;
}

static bool same_spec(const struct probe_spec *a, const struct probe_spec *b)
{
	return a->kind == b->kind && a->port == b->port &&
	       a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms &&
	       a->jitter_pct == b->jitter_pct &&
	       a->http_status == b->http_status &&
	       !strcmp(a->http_path, b->http_path) &&
	       !strcmp(a->http_host, b->http_host) &&
	       !strcmp(a->http_body, b->http_body) &&
	       !strcmp(a->lag_header, b->lag_header);
}

static bool same_target(const struct probe_target *a,
			const struct probe_target *b)
{
	return a->addr.family == b->addr.family && a->port == b->port &&
	       !memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes)) &&
	       same_spec(&a->spec, &b->spec);
}

static void build_sockaddr(struct slot *s)
{
	memset(&s->sa, 0, sizeof(s->sa));
	if (s->t.addr.family == MERIDIAN_AF_INET) {
		s->sa.v4.sin_family = AF_INET;
		s->sa.v4.sin_port = htons(s->t.port);
		memcpy(&s->sa.v4.sin_addr, s->t.addr.bytes, 4);
		s->salen = sizeof(s->sa.v4);
	} else {
		s->sa.v6.sin6_family = AF_INET6;
		s->sa.v6.sin6_port = htons(s->t.port);
		memcpy(&s->sa.v6.sin6_addr, s->t.addr.bytes, 16);
		s->salen = sizeof(s->sa.v6);
	}
}

static void build_request(struct slot *s)
{
	size_t len = snprintf(s->req, sizeof(s->req),
			      "GET %s HTTP/1.1\r\nHost: %s\r\n"
			      "User-Agent: meridiand-probe\r\nAccept: */*\r\n"
			      "Connection: close\r\n\r\n",
			      s->t.spec.http_path, s->t.spec.http_host);

	/* path and host are bounded so the request always fits */
	s->req_len = len < sizeof(s->req) ? len : sizeof(s->req) - 1;
}

static int slot_prepare(struct slot *s, const struct probe_target *in,
			uint32_t i)
{
	int err = normalize_target(&s->t, in, i);

	if (err)
		return err;
	s->fd = -1;
	if (s->t.spec.kind == PROBE_NONE)
		return 0;
	build_sockaddr(s);
	if (s->t.spec.kind == PROBE_HTTP)
		build_request(s);
	return 0;
}

/* ---- Jitter ---- */

/* splitmix64: tiny, deterministic per seed, good enough for jitter. */
static double rand_unit(struct slot *s)
{
	s->rng += 0x9e3779b97f4a7c15ull;
	return (hash64_mix(s->rng) >> 11) * 0x1.0p-53;
}

static uint64_t jittered_interval_ns(struct slot *s)
{
	double base = s->t.spec.interval_ms * (double)NS_PER_MS;
	double spread = s->t.spec.jitter_pct / 100.0;

	return base * (1.0 + spread * (2.0 * rand_unit(s) - 1.0));
}

static uint64_t target_seed(const struct probe_target *t, uint32_t i)
{
	return hash64_pair(hash64_bytes(&t->addr, sizeof(t->addr), t->port), i);
}

/* ---- Timer heap ---- */

static bool heap_less(const struct prober *p, uint32_t a, uint32_t b)
{
	return p->slots[p->heap[a]].due_ns < p->slots[p->heap[b]].due_ns;
}

static void heap_swap(struct prober *p, uint32_t a, uint32_t b)
{
	uint32_t t = p->heap[a];

	p->heap[a] = p->heap[b];
	p->heap[b] = t;
	p->slots[p->heap[a]].heap_pos = a;
	p->slots[p->heap[b]].heap_pos = b;
}

static void sift_up(struct prober *p, uint32_t pos)
{
	while (pos && heap_less(p, pos, (pos - 1) / 2)) {
		heap_swap(p, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
}

static void sift_down(struct prober *p, uint32_t pos)
{
	uint32_t least, child;

	for (;;) {
		least = pos;
		child = 2 * pos + 1;
		if (child < p->n && heap_less(p, child, least))
			least = child;
		if (child + 1 < p->n && heap_less(p, child + 1, least))
			least = child + 1;
		if (least == pos)
			return;
		heap_swap(p, pos, least);
		pos = least;
	}
}

static void set_due(struct prober *p, struct slot *s, uint64_t due)
{
	s->due_ns = due;
	sift_up(p, s->heap_pos);
	sift_down(p, s->heap_pos);
}

static void heap_build(struct prober *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++) {
		p->heap[i] = i;
		p->slots[i].heap_pos = i;
	}
	for (i = p->n / 2; i-- > 0;)
		sift_down(p, i);
}

static uint64_t round_up(uint64_t ns, uint64_t grain)
{
	return (ns + grain - 1) / grain * grain;
}

/* Coarser timers mean fewer wakeups; 5 % of the shortest interval. */
static uint64_t timer_grain_ns(const struct slot *slots, uint32_t n)
{
	uint64_t grain = PROBER_TIMER_GRAIN_MAX_NS;
	uint64_t g;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (slots[i].t.spec.kind == PROBE_NONE)
			continue;
		g = slots[i].t.spec.interval_ms * NS_PER_MS / 20;
		if (g < grain)
			grain = g;
	}
	return grain < PROBER_TIMER_GRAIN_MIN_NS ? PROBER_TIMER_GRAIN_MIN_NS
						 : grain;
}

static int arm_timer(struct prober *p)
{
	struct itimerspec its = { 0 };
	uint64_t want = 0;
	int err;

	if (p->wq_len && p->st.in_flight < p->max_inflight)
		want = now_ns();
	else if (p->n && p->slots[p->heap[0]].due_ns != NEVER)
		want = round_up(p->slots[p->heap[0]].due_ns, p->grain_ns);
	if (want == p->armed_ns)
		return 0;
	its.it_value.tv_sec = want / 1000000000ull;
	its.it_value.tv_nsec = want % 1000000000ull;
	if (timerfd_settime(p->timerfd, TFD_TIMER_ABSTIME, &its, NULL)) {
		err = -errno;
		log_err("prober: timerfd_settime: %s", strerror(-err));
		p->armed_ns = 0;
		return err;
	}
	p->armed_ns = want;
	return 0;
}

static void drain_timer(struct prober *p)
{
	uint64_t expirations;

	if (read(p->timerfd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_warn("prober: timerfd read: %s", strerror(errno));
	p->armed_ns = 0;
}

/* ---- Probe life cycle ---- */

static bool in_flight(const struct slot *s)
{
	return s->phase >= PHASE_CONNECTING;
}

static void close_socket(struct slot *s)
{
	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	s->seq++;
}

/*
 * connect(AF_UNSPEC) on TCP is tcp_disconnect(): an RST if the connection
 * got anywhere (what close() with SO_LINGER 0 sends), the local port given
 * back, the socket in CLOSE and ready for another connect(), which also
 * clears the error that the disconnect leaves pending.
 */
static int disconnect(int fd)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	return connect(fd, &sa, sizeof(sa)) ? -errno : 0;
}

/* The probe is over; a TCP probe's socket stays for the next one. */
static void end_probe(struct prober *p, struct slot *s, bool keep)
{
	if (in_flight(s))
		p->st.in_flight--;
	s->phase = PHASE_IDLE;
	if (s->fd >= 0 && keep && p->reuse && s->t.spec.kind == PROBE_TCP &&
	    !disconnect(s->fd))
		return;
	close_socket(s);
}

/*
 * Sockets stay open between probes only while every probed target could
 * hold one under the in-flight cap, so a held socket never keeps another
 * target waiting. Otherwise each probe opens and closes its own.
 */
static void update_reuse(struct prober *p)
{
	uint32_t i, probed = 0;

	for (i = 0; i < p->n; i++)
		probed += p->slots[i].phase != PHASE_OFF;
	p->reuse = probed <= p->max_inflight;
	if (p->reuse)
		return;
	for (i = 0; i < p->n; i++)
		if (!in_flight(&p->slots[i]))
			close_socket(&p->slots[i]);
}

static void probe_finish(struct prober *p, uint32_t i, bool ok, const char *why,
			 double lag)
{
	struct slot *s = &p->slots[i];
	uint64_t rtt_us = (now_ns() - s->start_ns) / 1000;

	end_probe(p, s, true);
	set_due(p, s, s->next_start_ns);
	if (ok)
		p->st.succeeded++;
	else
		p->st.failed++;
	p->delivered++;
	p->cb(p->arg, i, ok, rtt_us > UINT32_MAX ? UINT32_MAX : rtt_us, why,
	      lag);
}

static void probe_fail_errno(struct prober *p, uint32_t i, const char *what,
			     int err)
{
	snprintf(p->why, sizeof(p->why), "%s: %s", what, strerror(err));
	probe_finish(p, i, false, p->why, NAN);
}

/* Our own shortage, not the backend's: no verdict, retry next interval. */
static void local_error(struct prober *p, uint32_t i, const char *what, int err)
{
	struct slot *s = &p->slots[i];
	uint64_t now = now_ns();

	end_probe(p, s, false);
	set_due(p, s, s->next_start_ns);
	p->st.local_errors++;
	if (p->local_err_log_ns &&
	    now - p->local_err_log_ns < LOCAL_ERR_LOG_NS) {
		p->local_err_quiet++;
		return;
	}
	log_warn("probe %u: %s: %s; no verdict, retrying (%llu similar errors not logged)",
		 i, what, strerror(err),
		 (unsigned long long)p->local_err_quiet);
	p->local_err_log_ns = now;
	p->local_err_quiet = 0;
}

/* EISCONN, EALREADY: a kept socket in a state we did not expect. */
static bool is_local_errno(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM || err == EADDRNOTAVAIL || err == EAGAIN ||
	       err == EISCONN || err == EALREADY;
}

/*
 * Registered before connect(): epoll reports the state at epoll_wait()
 * time, so an edge from the fresh socket is no event for the probe, and a
 * connect that finishes at once still reports EPOLLOUT. The registration
 * lives as long as the socket; for a kept socket, every connect() gives a
 * new edge.
 */
static int watch_socket(struct prober *p, uint32_t i)
{
	struct slot *s = &p->slots[i];
	struct epoll_event ev = {
		.events = EPOLLOUT | EPOLLET,
		.data.u64 = (uint64_t)s->seq << 32 | i,
	};

	if (s->t.spec.kind == PROBE_HTTP)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	return epoll_ctl(p->epfd, EPOLL_CTL_ADD, s->fd, &ev) ? -errno : 0;
}

static int open_socket(struct prober *p, uint32_t i, const char **what)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct slot *s = &p->slots[i];
	int fd, err;

	*what = "socket";
	fd = socket(s->sa.sa.sa_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		err = -errno;
		close(fd);
		return err;
	}
	s->fd = fd;
	s->seq++;
	p->st.sockets_opened++;
	*what = "epoll_ctl";
	err = watch_socket(p, i);
	if (err)
		close_socket(s);
	return err;
}

static void probe_start(struct prober *p, uint32_t i)
{
	struct slot *s = &p->slots[i];
	const char *what;
	int err;

	s->phase = PHASE_IDLE;
	s->start_ns = now_ns();
	s->next_start_ns = s->start_ns + jittered_interval_ns(s);
	s->rx_len = 0;
	s->req_sent = 0;
	if (s->fd < 0) {
		err = open_socket(p, i, &what);
		if (err) {
			local_error(p, i, what, -err);
			return;
		}
	}
	p->st.started++;
	p->st.in_flight++;
	s->phase = PHASE_CONNECTING;
	set_due(p, s, s->start_ns + s->t.spec.timeout_ms * NS_PER_MS);
	if (connect(s->fd, &s->sa.sa, s->salen) && errno != EINPROGRESS) {
		err = errno;
		if (is_local_errno(err))
			local_error(p, i, "connect", err);
		else
			probe_fail_errno(p, i, "connect", err);
	}
}

static void probe_timeout(struct prober *p, uint32_t i)
{
	struct slot *s = &p->slots[i];
	const char *why = "timeout connecting";

	if (s->phase == PHASE_SENDING)
		why = "timeout sending request";
	else if (s->phase == PHASE_RECEIVING)
		why = s->rx_len ? "timeout reading response"
				: "timeout awaiting response";
	p->st.timeouts++;
	probe_finish(p, i, false, why, NAN);
}

static void receive(struct prober *p, uint32_t i)
{
	struct slot *s = &p->slots[i];
	struct http_verdict v;
	bool complete;
	ssize_t got;

	if (!s->rx && !(s->rx = malloc(PROBER_RX_MAX))) {
		local_error(p, i, "response buffer", ENOMEM);
		return;
	}
	/* Every pass adds a byte or ends the loop, so it is bounded. */
	for (;;) {
		got = recv(s->fd, s->rx + s->rx_len, PROBER_RX_MAX - s->rx_len,
			   0);
		if (got < 0 && errno == EAGAIN)
			return;
		if (got < 0 && !s->rx_len) {
			probe_fail_errno(p, i, "recv", errno);
			return;
		}
		if (got > 0)
			s->rx_len += got;
		complete = got <= 0 || s->rx_len == PROBER_RX_MAX;
		prober_http_check(s->rx, s->rx_len, complete, &s->t.spec, &v);
		if (v.check != HTTP_CHECK_PENDING) {
			snprintf(p->why, sizeof(p->why), "%s", v.why);
			probe_finish(p, i, v.check == HTTP_CHECK_OK, p->why,
				     v.lag_seconds);
			return;
		}
	}
}

static void send_request(struct prober *p, uint32_t i, uint32_t events)
{
	struct slot *s = &p->slots[i];
	ssize_t sent;

	sent = send(s->fd, s->req + s->req_sent, s->req_len - s->req_sent,
		    MSG_NOSIGNAL);
	if (sent < 0) {
		if (errno != EAGAIN)
			probe_fail_errno(p, i, "send", errno);
		return;
	}
	s->req_sent += sent;
	if (s->req_sent < s->req_len)
		return;
	s->phase = PHASE_RECEIVING;
	/* Edge-triggered: data that came with this event gives no new one. */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		receive(p, i);
}

static int socket_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

static void on_connect(struct prober *p, uint32_t i, uint32_t events)
{
	struct slot *s = &p->slots[i];
	int err;

	if (events & (EPOLLERR | EPOLLHUP)) {
		err = socket_error(s->fd);
		probe_fail_errno(p, i, "connect", err ? err : ECONNRESET);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	if (s->t.spec.kind == PROBE_TCP) {
		probe_finish(p, i, true, "ok", NAN);
		return;
	}
	s->phase = PHASE_SENDING;
	send_request(p, i, events);
}

static void on_socket_event(struct prober *p, uint64_t token, uint32_t events)
{
	uint32_t i = (uint32_t)token;
	struct slot *s;

	if (i >= p->n)
		return;
	s = &p->slots[i];
	if (s->fd < 0 || s->seq != (uint32_t)(token >> 32))
		return;
	switch (s->phase) {
	case PHASE_CONNECTING:
		on_connect(p, i, events);
		break;
	case PHASE_SENDING:
		send_request(p, i, events);
		break;
	case PHASE_RECEIVING:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			receive(p, i);
		break;
	default:
		break;
	}
}

static void defer(struct prober *p, uint32_t i)
{
	struct slot *s = &p->slots[i];

	s->phase = PHASE_WAITING;
	set_due(p, s, NEVER);
	p->waitq[(p->wq_head + p->wq_len) % p->n] = i;
	p->wq_len++;
	p->st.deferred++;
}

static void start_waiting(struct prober *p)
{
	uint32_t i;

	while (p->wq_len && p->st.in_flight < p->max_inflight) {
		i = p->waitq[p->wq_head];
		p->wq_head = (p->wq_head + 1) % p->n;
		p->wq_len--;
		probe_start(p, i);
	}
}

static void run_due(struct prober *p)
{
	uint64_t now = now_ns();
	uint64_t budget = 3ull * p->n;
	uint32_t i;

	start_waiting(p);
	while (p->n && budget--) {
		i = p->heap[0];
		if (p->slots[i].due_ns > now)
			break;
		if (in_flight(&p->slots[i])) {
			probe_timeout(p, i);
			/* The freed socket goes to the longest waiter. */
			start_waiting(p);
		} else if (p->wq_len || p->st.in_flight >= p->max_inflight) {
			defer(p, i);
		} else {
			probe_start(p, i);
		}
	}
}

/* ---- Public entry points ---- */

int prober_dispatch(struct prober *p)
{
	struct epoll_event ev[EPOLL_BATCH];
	int n, i, round, err = 0;

	p->delivered = 0;
	for (round = 0; round < EPOLL_ROUNDS; round++) {
		n = epoll_wait(p->epfd, ev, EPOLL_BATCH, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			log_err("prober: epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 == TIMER_TOKEN)
				drain_timer(p);
			else
				on_socket_event(p, ev[i].data.u64,
						ev[i].events);
		}
		if (n < EPOLL_BATCH)
			break;
	}
	run_due(p);
	if (!err)
		err = arm_timer(p);
	else
		arm_timer(p);
	return err ? err : p->delivered;
}

static uint32_t default_max_inflight(void)
{
	struct rlimit rl;
	uint64_t cap = PROBER_MAX_INFLIGHT;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		cap = rl.rlim_cur > NOFILE_RESERVE
			      ? (rl.rlim_cur - NOFILE_RESERVE) * 3 / 4
			      : 0;
	if (cap < MIN_INFLIGHT)
		cap = MIN_INFLIGHT;
	return cap > PROBER_MAX_INFLIGHT ? PROBER_MAX_INFLIGHT : cap;
}

static void schedule_fresh(struct slot *s, uint32_t i, uint64_t now)
{
	s->rng = target_seed(&s->t, i);
	s->fd = -1;
	if (s->t.spec.kind == PROBE_NONE) {
		s->phase = PHASE_OFF;
		s->due_ns = NEVER;
		return;
	}
	s->phase = PHASE_IDLE;
	s->due_ns = now + rand_unit(s) * s->t.spec.interval_ms * NS_PER_MS;
	s->next_start_ns = s->due_ns;
}

/* Moves the run-time state of an unchanged target to its new slot. */
static void adopt(struct slot *to, struct slot *from)
{
	to->rx = from->rx;
	to->rx_len = from->rx_len;
	to->req_sent = from->req_sent;
	to->fd = from->fd;
	to->seq = from->seq;
	to->phase = from->phase;
	to->due_ns = from->due_ns;
	to->start_ns = from->start_ns;
	to->next_start_ns = from->next_start_ns;
	to->rng = from->rng;
	from->rx = NULL;
	from->fd = -1;
}

static void release_slots(struct prober *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++) {
		close_socket(&p->slots[i]);
		free(p->slots[i].rx);
	}
	free(p->slots);
	free(p->heap);
	free(p->waitq);
	p->slots = NULL;
	p->heap = p->waitq = NULL;
	p->n = 0;
}

static void install_slots(struct prober *p, struct slot *slots, uint32_t *heap,
			  uint32_t *waitq, uint32_t n)
{
	uint64_t now = now_ns();
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (i < p->n && same_target(&slots[i].t, &p->slots[i].t)) {
			adopt(&slots[i], &p->slots[i]);
			continue;
		}
		schedule_fresh(&slots[i], i, now);
		/* A new probe at a reused index must not match old tokens. */
		if (i < p->n)
			slots[i].seq = p->slots[i].seq + 2;
	}
	release_slots(p);
	p->slots = slots;
	p->heap = heap;
	p->waitq = waitq;
	p->n = n;
	p->grain_ns = timer_grain_ns(slots, n);
	p->wq_head = p->wq_len = 0;
	p->st.in_flight = 0;
	for (i = 0; i < n; i++) {
		if (in_flight(&slots[i]))
			p->st.in_flight++;
		if (slots[i].phase == PHASE_WAITING)
			waitq[p->wq_len++] = i;
	}
	heap_build(p);
	update_reuse(p);
}

int prober_update(struct prober *p, const struct probe_target *t, uint32_t n)
{
	uint32_t *heap = NULL, *waitq = NULL, i;
	struct slot *slots = NULL;
	int err = -ENOMEM;

	if (n > MERIDIAN_MAX_BACKENDS) {
		log_err("prober: %u targets, at most %u", n,
			MERIDIAN_MAX_BACKENDS);
		return -E2BIG;
	}
	if (n) {
		slots = calloc(n, sizeof(*slots));
		heap = calloc(n, sizeof(*heap));
		waitq = calloc(n, sizeof(*waitq));
		if (!slots || !heap || !waitq) {
			log_err("prober: no memory for %u targets", n);
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		err = slot_prepare(&slots[i], &t[i], i);
		if (err)
			goto fail;
	}
	install_slots(p, slots, heap, waitq, n);
	return arm_timer(p);
fail:
	free(slots);
	free(heap);
	free(waitq);
	return err;
}

int prober_create(struct prober **out, const struct probe_target *t, uint32_t n,
		  probe_result_cb cb, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_TOKEN };
	struct prober *p;
	int err;

	*out = NULL;
	if (!cb)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_err("prober: out of memory");
		return -ENOMEM;
	}
	p->cb = cb;
	p->arg = arg;
	p->max_inflight = default_max_inflight();
	p->timerfd = -1;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		goto fail_errno;
	p->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->timerfd < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->timerfd, &ev))
		goto fail_errno;
	err = prober_update(p, t, n);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail_errno:
	err = -errno;
	log_err("prober: epoll/timerfd setup: %s", strerror(errno));
fail:
	prober_destroy(p);
	return err;
}

int prober_fd(const struct prober *p)
{
	return p->epfd;
}

void prober_destroy(struct prober *p)
{
	if (!p)
		return;
	release_slots(p);
	if (p->timerfd >= 0)
		close(p->timerfd);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p);
}

void prober_set_max_inflight(struct prober *p, uint32_t max)
{
	if (!max)
		max = default_max_inflight();
	p->max_inflight = max > PROBER_MAX_INFLIGHT ? PROBER_MAX_INFLIGHT : max;
	update_reuse(p);
	arm_timer(p);
}

void prober_get_stats(const struct prober *p, struct prober_stats *st)
{
	*st = p->st;
	st->max_inflight = p->max_inflight;
	st->targets = p->n;
}

void prober_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the open file limit: %s",
			 strerror(errno));
}
