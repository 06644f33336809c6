// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control socket: a unix stream socket, mode 0600, one command line
 * per connection, answered with "ok" or "error: ..." and then the body.
 *
 *   status [json]
 *   drain NAME OVER_MS      region or backend; the weight ramps to 0
 *   undrain NAME
 *   weight REGION N|reset   N in 0..1000, for every VIP (a canary)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "policy.h"

#define CONTROL_LINE_MAX 512
#define CONTROL_READ_TIMEOUT_MS 200

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("control socket directory %s: %s", dir,
			strerror(errno));
		return -errno;
	}
	return 0;
}

int control_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->model.edge.control_socket;
	mode_t old_mask;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	err = make_parent_dir(path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(path);
	/* Created 0600 from the start: no window where others may connect. */
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (err || listen(fd, 16))
		goto fail;
	d->control_fd = fd;
	return 0;
fail:
	err = -errno;
	log_err("control socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	d->control_fd = -1;
	return err;
}

void control_close(struct daemon *d)
{
	if (d->control_fd < 0)
		return;
	close(d->control_fd);
	unlink(d->model.edge.control_socket);
	d->control_fd = -1;
}

static int read_line(int fd, char *buf, size_t len)
{
	struct timeval tv = { 0, CONTROL_READ_TIMEOUT_MS * 1000 };
	size_t got = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return got ? 0 : -EIO;
}

void control_serve(struct daemon *d)
{
	char line[CONTROL_LINE_MAX];
	FILE *out;
	int fd;

	fd = accept4(d->control_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* The socket is non-blocking for accept only; answers block. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (read_line(fd, line, sizeof(line))) {
		close(fd);
		return;
	}
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		return;
	}
	control_execute(d, line, out);
	fclose(out);
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int find_region(const struct model *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->n_regions; i++)
		if (!strcmp(m->regions[i].name, name))
			return i;
	return -1;
}

static int find_backend(const struct model *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->n_backends; i++)
		if (!strcmp(m->backends[i].name, name))
			return i;
	return -1;
}

/* The drain of a region or backend by that name, regions first. */
static struct drain *drain_of(struct daemon *d, const char *name)
{
	int i = find_region(&d->model, name);

	if (i >= 0)
		return &d->region_drain[i];
	i = find_backend(&d->model, name);
	return i >= 0 ? &d->backend_drain[i] : NULL;
}

static int cmd_drain(struct daemon *d, char **argv, int argc, FILE *out)
{
	struct drain *dr;
	uint32_t over;

	if (argc != 3 || parse_u32(argv[2], UINT_MAX, &over))
		return fprintf(out, "error: usage: drain NAME OVER_MS\n"), -1;
	dr = drain_of(d, argv[1]);
	if (!dr)
		return fprintf(out, "error: no region or backend %s\n",
			       argv[1]), -1;
	dr->active = true;
	dr->start_ms = now_ms();
	dr->over_ms = over;
	d->dirty = true;
	log_info("drain %s over %u ms", argv[1], over);
	fprintf(out, "ok\ndraining %s over %u ms\n", argv[1], over);
	return 0;
}

static int cmd_undrain(struct daemon *d, char **argv, int argc, FILE *out)
{
	struct drain *dr;

	if (argc != 2)
		return fprintf(out, "error: usage: undrain NAME\n"), -1;
	dr = drain_of(d, argv[1]);
	if (!dr)
		return fprintf(out, "error: no region or backend %s\n",
			       argv[1]), -1;
	memset(dr, 0, sizeof(*dr));
	d->dirty = true;
	log_info("undrain %s", argv[1]);
	fprintf(out, "ok\n%s back at full weight\n", argv[1]);
	return 0;
}

static int cmd_weight(struct daemon *d, char **argv, int argc, FILE *out)
{
	uint32_t w = POLICY_WEIGHT_NONE;
	int r;

	if (argc != 3)
		return fprintf(out, "error: usage: weight REGION N|reset\n"),
		       -1;
	r = find_region(&d->model, argv[1]);
	if (r < 0)
		return fprintf(out, "error: no region %s\n", argv[1]), -1;
	if (strcmp(argv[2], "reset") && parse_u32(argv[2], 1000, &w))
		return fprintf(out, "error: weight must be 0..1000\n"), -1;
	d->region_weight[r] = w;
	d->dirty = true;
	log_info("weight %s %s", argv[1], argv[2]);
	fprintf(out, "ok\nweight of %s: %s\n", argv[1], argv[2]);
	return 0;
}

int control_execute(struct daemon *d, char *line, FILE *out)
{
	char *argv[8], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t", &save); tok && argc < 8;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	if (!argc)
		return fprintf(out, "error: empty command\n"), -1;
	if (!strcmp(argv[0], "status")) {
		fprintf(out, "ok\n");
		status_print(d, out, argc > 1 && !strcmp(argv[1], "json"));
		return 0;
	}
	if (!strcmp(argv[0], "drain"))
		return cmd_drain(d, argv, argc, out);
	if (!strcmp(argv[0], "undrain"))
		return cmd_undrain(d, argv, argc, out);
	if (!strcmp(argv[0], "weight"))
		return cmd_weight(d, argv, argc, out);
	fprintf(out, "error: unknown command %s\n", argv[0]);
	return -1;
}
