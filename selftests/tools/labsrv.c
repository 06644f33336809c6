// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * labsrv: the backend server of the selftest lab.
 *
 *   labsrv --name NAME [--http-port 80] [--udp-port 5353]
 *          [--pidfile PATH] [--fail-file PATH] [--idle-ms MS]
 *
 * HTTP/1.1 on the TCP port (IPv4 and IPv6): every GET is answered 200 with
 * the body "NAME\n", except /health, which answers "ok\n" (503 "failing\n"
 * while the --fail-file exists, so a test can fail the health probe
 * without killing the server). Connections are kept alive until the client
 * closes, asks for close, or stays idle for --idle-ms.
 *
 * UDP echo on the UDP port: any datagram is answered "NAME\n". Replies
 * leave from the address the datagram was sent to (IP_PKTINFO), which is
 * the VIP behind the decapsulation, so the client's connected socket
 * accepts them (direct server return).
 *
 * One thread, one poll loop, a bounded number of connections. SIGTERM or
 * SIGINT end it; the pidfile is written once every socket is listening, so
 * its existence means "ready".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 512
#define CONN_BUF 4096
#define NAME_MAX_LEN 64
#define LISTENERS 4 /* tcp4, tcp6, udp4, udp6 */
#define DEFAULT_IDLE_MS 30000
#define POLL_MS 1000

struct opts {
	const char *name;
	uint16_t http_port;
	uint16_t udp_port;
	const char *pidfile;
	const char *fail_file;
	unsigned int idle_ms;
};

struct conn {
	int fd;
	size_t len;
	uint64_t last_ms;
	char buf[CONN_BUF];
};

/* A parsed request head; what the response needs, nothing more. */
struct request {
	bool is_get;
	bool is_health;
	bool keep_alive;
	size_t consumed; /* head plus body bytes */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- request parsing (pure) ---- */

/* Value of header name in head[0..len), or NULL; *vlen gets its length. */
static const char *header_value(const char *head, size_t len,
				const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = memchr(head, '\n', len), *end = head + len, *eol;

	while (p && ++p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' &&
		    !strncasecmp(p, name, nlen)) {
			p += nlen + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			*vlen = (size_t)(eol - p);
			if (*vlen && p[*vlen - 1] == '\r')
				(*vlen)--;
			return p;
		}
		p = eol;
	}
	return NULL;
}

static bool value_is(const char *v, size_t vlen, const char *want)
{
	return v && vlen == strlen(want) && !strncasecmp(v, want, vlen);
}

/*
 * Parses one request at the start of buf. Returns 1 with *req filled,
 * 0 when more bytes are needed, -1 when it cannot be a valid request.
 */
static int parse_request(const char *buf, size_t len, struct request *req)
{
	const char *end = NULL, *v, *sp1, *sp2;
	size_t head_len, vlen, i;
	unsigned long body = 0;
	bool http10;

	for (i = 3; i < len && !end; i++)
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4))
			end = buf + i + 1;
	if (!end)
		return 0;
	head_len = (size_t)(end - buf);
	sp1 = memchr(buf, ' ', head_len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - buf)) :
		    NULL;
	if (!sp1 || !sp2)
		return -1;
	http10 = !strncmp(sp2 + 1, "HTTP/1.0", 8);
	req->is_get = sp1 - buf == 3 && !memcmp(buf, "GET", 3);
	req->is_health = sp2 - sp1 - 1 == 7 && !memcmp(sp1 + 1, "/health", 7);
	v = header_value(buf, head_len, "Connection", &vlen);
	req->keep_alive = http10 ? value_is(v, vlen, "keep-alive") :
				   !value_is(v, vlen, "close");
	v = header_value(buf, head_len, "Content-Length", &vlen);
	if (v) {
		char num[24];

		if (vlen == 0 || vlen >= sizeof(num))
			return -1;
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		body = strtoul(num, NULL, 10);
		if (body > CONN_BUF)
			return -1;
	}
	if (head_len + body > len)
		return 0;
	req->consumed = head_len + body;
	return 1;
}

/* ---- HTTP connections ---- */

static int respond(int fd, const struct opts *o, const struct request *req)
{
	char out[512], body[NAME_MAX_LEN + 2];
	const char *reason = "OK";
	int status = 200, n;

	if (!req->is_get) {
		status = 405;
		reason = "Method Not Allowed";
		snprintf(body, sizeof(body), "GET only\n");
	} else if (req->is_health && o->fail_file &&
		   access(o->fail_file, F_OK) == 0) {
		status = 503;
		reason = "Service Unavailable";
		snprintf(body, sizeof(body), "failing\n");
	} else if (req->is_health) {
		snprintf(body, sizeof(body), "ok\n");
	} else {
		snprintf(body, sizeof(body), "%s\n", o->name);
	}
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\nX-Backend: %s\r\n"
		     "Connection: %s\r\n\r\n%s",
		     status, reason, strlen(body), o->name,
		     req->keep_alive ? "keep-alive" : "close", body);
	/* A response this small fits an empty socket buffer; a client that
	 * pipelines so much that it does not gets disconnected instead. */
	if (send(fd, out, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	return req->keep_alive ? 0 : -1;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Reads what arrived and answers every complete request in it. */
static void conn_readable(struct conn *c, const struct opts *o)
{
	struct request req;
	ssize_t n;
	int rc;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->last_ms = now_ms();
	while ((rc = parse_request(c->buf, c->len, &req)) == 1) {
		if (respond(c->fd, o, &req)) {
			conn_close(c);
			return;
		}
		c->len -= req.consumed;
		memmove(c->buf, c->buf + req.consumed, c->len);
	}
	if (rc < 0 || c->len == sizeof(c->buf))
		conn_close(c);
}

static void accept_all(int lfd, struct conn *conns)
{
	int fd, i, tries;

	for (tries = 0; tries < MAX_CONNS; tries++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < MAX_CONNS && conns[i].fd >= 0; i++)
			;
		if (i == MAX_CONNS) {
			/* Full: an immediate close beats a silent hang. */
			close(fd);
			continue;
		}
		conns[i].fd = fd;
		conns[i].len = 0;
		conns[i].last_ms = now_ms();
	}
}

/* ---- UDP echo ---- */

/* Copies the destination of the datagram into a source cmsg for the reply. */
static void reply_from_destination(struct msghdr *msg)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (void *)CMSG_DATA(cm);

			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo *pi = (void *)CMSG_DATA(cm);

			pi->ipi6_ifindex = 0;
		}
	}
}

static void udp_echo(int fd, const struct opts *o)
{
	char ctrl[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		  CMSG_SPACE(sizeof(struct in_pktinfo))];
	char in[2048], out[NAME_MAX_LEN + 2];
	struct sockaddr_storage peer;
	struct iovec iov;
	struct msghdr msg;
	int i, len;

	len = snprintf(out, sizeof(out), "%s\n", o->name);
	/* Bounded per wakeup, so TCP is not starved by a datagram flood. */
	for (i = 0; i < 64; i++) {
		iov = (struct iovec){ .iov_base = in, .iov_len = sizeof(in) };
		msg = (struct msghdr){ .msg_name = &peer,
				       .msg_namelen = sizeof(peer),
				       .msg_iov = &iov,
				       .msg_iovlen = 1,
				       .msg_control = ctrl,
				       .msg_controllen = sizeof(ctrl) };
		if (recvmsg(fd, &msg, MSG_DONTWAIT) < 0)
			return;
		reply_from_destination(&msg);
		iov = (struct iovec){ .iov_base = out, .iov_len = (size_t)len };
		msg.msg_flags = 0;
		if (sendmsg(fd, &msg, MSG_DONTWAIT) < 0)
			fprintf(stderr, "labsrv %s: udp reply: %s\n", o->name,
				strerror(errno));
	}
}

/* ---- sockets ---- */

static int open_socket(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
		if (type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
				   sizeof(one));
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
		/* One socket per family keeps the PKTINFO handling plain. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				   sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 128))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int open_listeners(const struct opts *o, int *fds)
{
	static const struct {
		int family, type;
		const char *what;
	} specs[LISTENERS] = {
		{ AF_INET, SOCK_STREAM, "tcp4" },
		{ AF_INET6, SOCK_STREAM, "tcp6" },
		{ AF_INET, SOCK_DGRAM, "udp4" },
		{ AF_INET6, SOCK_DGRAM, "udp6" },
	};
	int i;

	for (i = 0; i < LISTENERS; i++) {
		uint16_t port = specs[i].type == SOCK_STREAM ? o->http_port :
							       o->udp_port;

		fds[i] = open_socket(specs[i].family, specs[i].type, port);
		if (fds[i] < 0) {
			fprintf(stderr,
				"labsrv %s: cannot listen on %s/%u: %s\n",
				o->name, specs[i].what, port,
				strerror(-fds[i]));
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	char tmp[4096];
	FILE *f;

	/* Written under a temporary name and renamed: readers see it whole. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- main loop ---- */

static void close_idle(struct conn *conns, unsigned int idle_ms)
{
	uint64_t now = now_ms();
	int i;

	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0 && now - conns[i].last_ms > idle_ms)
			conn_close(&conns[i]);
}

static int serve(const struct opts *o, const int *lfds, struct conn *conns,
		 const sigset_t *waitmask)
{
	struct pollfd pfd[LISTENERS + MAX_CONNS];
	struct timespec tmo = { .tv_sec = POLL_MS / 1000 };
	int slot[MAX_CONNS];
	int i, n, nconn;

	while (!stop) {
		for (i = 0; i < LISTENERS; i++)
			pfd[i] = (struct pollfd){ .fd = lfds[i],
						  .events = POLLIN };
		for (i = 0, nconn = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			pfd[LISTENERS + nconn] =
				(struct pollfd){ .fd = conns[i].fd,
						 .events = POLLIN };
			slot[nconn++] = i;
		}
		n = ppoll(pfd, (nfds_t)(LISTENERS + nconn), &tmo, waitmask);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "labsrv %s: poll: %s\n", o->name,
				strerror(errno));
			return -1;
		}
		for (i = 0; n > 0 && i < nconn; i++)
			if (pfd[LISTENERS + i].revents)
				conn_readable(&conns[slot[i]], o);
		for (i = 0; n > 0 && i < LISTENERS; i++) {
			if (!pfd[i].revents)
				continue;
			if (i < 2)
				accept_all(lfds[i], conns);
			else
				udp_echo(lfds[i], o);
		}
		close_idle(conns, o->idle_ms);
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: labsrv --name NAME [--http-port P] [--udp-port P]\n"
		"              [--pidfile PATH] [--fail-file PATH] "
		"[--idle-ms MS]\n");
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "http-port", required_argument, NULL, 'h' },
		{ "udp-port", required_argument, NULL, 'u' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "fail-file", required_argument, NULL, 'f' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{},
	};
	int opt, bad = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'n')
			o->name = optarg;
		else if (opt == 'h')
			bad |= parse_port(optarg, &o->http_port);
		else if (opt == 'u')
			bad |= parse_port(optarg, &o->udp_port);
		else if (opt == 'p')
			o->pidfile = optarg;
		else if (opt == 'f')
			o->fail_file = optarg;
		else if (opt == 'i')
			o->idle_ms = (unsigned int)strtoul(optarg, NULL, 10);
		else
			bad = 1;
	}
	if (!o->name || strlen(o->name) >= NAME_MAX_LEN || optind != argc ||
	    o->idle_ms == 0)
		bad = 1;
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .http_port = 80,
			  .udp_port = 5353,
			  .idle_ms = DEFAULT_IDLE_MS };
	struct sigaction sa = { .sa_handler = on_signal };
	static struct conn conns[MAX_CONNS];
	sigset_t block, waitmask;
	int lfds[LISTENERS], i, rc;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* Blocked except inside ppoll, so a signal can never be missed. */
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_listeners(&o, lfds))
		return 1;
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	if (o.pidfile && write_pidfile(o.pidfile)) {
		fprintf(stderr, "labsrv %s: cannot write %s: %s\n", o.name,
			o.pidfile, strerror(errno));
		return 1;
	}
	printf("labsrv %s: pid %d, http %u, udp %u\n", o.name, (int)getpid(),
	       o.http_port, o.udp_port);
	fflush(stdout);
	rc = serve(&o, lfds, conns, &waitmask);
	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	for (i = 0; i < LISTENERS; i++)
		close(lfds[i]);
	if (o.pidfile)
		unlink(o.pidfile);
	return rc ? 1 : 0;
}
