// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Commands that go to the running meridiand over its control socket:
 * status, drain, undrain, weight. The daemon answers "ok" or "error: ..."
 * on the first line, then the body, which is printed as it is.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "meridianctl.h"
#include "model.h"

#define CTL_REPLY_TIMEOUT_S 5

static const char *socket_path = MODEL_DEFAULT_CONTROL_SOCKET;

static int connect_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_REPLY_TIMEOUT_S, 0 };
	int fd;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		log_err("socket path too long: %s", socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		log_err("cannot reach meridiand at %s: %s", socket_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ECONNREFUSED;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends one command line; prints the body; CTL_OK when the daemon agreed. */
static int transact(const char *line)
{
	char reply[65536];
	size_t got = 0;
	ssize_t n;
	char *body;
	int fd;

	fd = connect_daemon();
	if (fd < 0)
		return CTL_FAIL;
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
		log_err("writing to %s: %s", socket_path, strerror(errno));
		close(fd);
		return CTL_FAIL;
	}
	while (got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += n;
	close(fd);
	reply[got] = '\0';
	body = strchr(reply, '\n');
	body = body ? body + 1 : reply + got;
	if (strncmp(reply, "ok\n", 3)) {
		fprintf(stderr, "meridianctl: %.*s\n",
			(int)strcspn(reply, "\n"), got ? reply : "no answer");
		return CTL_FAIL;
	}
	fputs(body, stdout);
	return CTL_OK;
}

/* "30s", "500ms", "2m", "1.5s" or plain milliseconds. */
static int parse_duration_ms(const char *s, unsigned long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "ms") || !*end)
		*ms = v;
	else if (!strcmp(end, "s"))
		*ms = v * 1000;
	else if (!strcmp(end, "m"))
		*ms = v * 60000;
	else
		return -EINVAL;
	return 0;
}

/* Common options: -j and --socket PATH; returns optind or -1. */
static int parse_options(int argc, char **argv, bool *json,
			 unsigned long *over_ms)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "over", required_argument, NULL, 'o' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "js:o:", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			*json = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'o':
			if (!over_ms || parse_duration_ms(optarg, over_ms)) {
				fprintf(stderr, "meridianctl: bad duration %s\n",
					optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	return optind;
}

int cmd_status(int argc, char **argv)
{
	bool json = false;
	int i = parse_options(argc, argv, &json, NULL);

	if (i < 0 || i != argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	return transact(json ? "status json" : "status");
}

int cmd_drain(int argc, char **argv)
{
	unsigned long over = 0;
	bool json = false;
	char line[256];
	int i = parse_options(argc, argv, &json, &over);

	if (i < 0 || i != argc - 1) {
		usage(stderr);
		return CTL_USAGE;
	}
	snprintf(line, sizeof(line), "drain %s %lu", argv[i], over);
	return transact(line);
}

int cmd_undrain(int argc, char **argv)
{
	bool json = false;
	char line[256];
	int i = parse_options(argc, argv, &json, NULL);

	if (i < 0 || i != argc - 1) {
		usage(stderr);
		return CTL_USAGE;
	}
	snprintf(line, sizeof(line), "undrain %s", argv[i]);
	return transact(line);
}

int cmd_weight(int argc, char **argv)
{
	bool json = false;
	char line[256];
	int i = parse_options(argc, argv, &json, NULL);

	if (i < 0 || i != argc - 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	snprintf(line, sizeof(line), "weight %s %s", argv[i], argv[i + 1]);
	return transact(line);
}
