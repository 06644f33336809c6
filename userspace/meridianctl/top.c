// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * top: a live view of the edge counters, redrawn every interval from the
 * pinned maps: totals, then regions, VIPs and backends by traffic. q or
 * Ctrl-C quits; --count N stops after N frames (for scripts), -j prints
 * one JSON object per frame instead.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "meridianctl.h"
#include "stats.h"

#define TOP_MIN_ROWS 5 /* per table, whatever the terminal's height */
#define TOP_FIXED_LINES 12 /* header, totals, table titles and gaps */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

struct top {
	struct stats_source src;
	struct stats_opts opts;
	struct counter_snapshot *snap; /* two, used in turn */
	bool tty_out; /* draw in place */
	bool tty_in; /* keys: q quits */
	bool raw; /* orig holds the terminal's mode to restore */
	struct termios orig;
};

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	/* No SA_RESTART: poll() returns at once with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void terminal_raw(struct top *t)
{
	struct termios raw;

	if (!t->tty_in || tcgetattr(STDIN_FILENO, &t->orig))
		return;
	raw = t->orig;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		t->raw = true;
}

static void terminal_restore(struct top *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->orig);
	if (t->tty_out && !t->opts.json)
		fputs("\033[?25h", stdout); /* cursor back on */
	fflush(stdout);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps until the next frame; false when the user or a signal quit. */
static bool wait_frame(struct top *t, uint64_t until_ms)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t now;
	char c;

	while (!stop_signal && (now = mono_ms()) < until_ms) {
		if (poll(&pfd, t->tty_in ? 1 : 0, (int)(until_ms - now)) <= 0)
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1)
			t->tty_in = false; /* hung up: stop listening */
		else if (c == 'q' || c == 'Q')
			return false;
	}
	return !stop_signal;
}

static int terminal_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_row == 0)
		return 0;
	return ws.ws_row;
}

static int by_bytes_rate(const void *a, const void *b)
{
	const struct counter_row *x = a, *y = b;
	double dx = isnan(x->bytes_rate) ? 0 : x->bytes_rate;
	double dy = isnan(y->bytes_rate) ? 0 : y->bytes_rate;

	if (dx != dy)
		return dx < dy ? 1 : -1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void totals(FILE *out, const struct stats_view *v)
{
	const struct meridian_counters *c = &v->cur->counters;
	const struct meridian_counters *p = &v->prev->counters;
	double secs = counter_interval(v->prev, v->cur);
	double in_p = 0, in_b = 0, out_p = 0, out_b = 0, drops = 0;
	uint64_t hits = c->lru_hit - p->lru_hit;
	uint64_t looks = hits + (c->lru_miss - p->lru_miss);
	char a[16], b[16], cc[16], d[16], e[16];
	uint32_t i;

	for (i = 0; i < v->cur->n_regions; i++) {
		const struct meridian_region_stats *r = &v->cur->regions[i];
		const struct meridian_region_stats *q = &v->prev->regions[i];

		in_p += counter_rate(q->packets, r->packets, secs);
		in_b += counter_rate(q->bytes, r->bytes, secs);
		out_p += counter_rate(q->egress_packets, r->egress_packets,
				      secs);
		out_b += counter_rate(q->egress_bytes, r->egress_bytes, secs);
	}
	for (i = 0; i < MERIDIAN_DROP_MAX; i++)
		drops += counter_rate(p->drop[i], c->drop[i], secs);
	fprintf(out,
		"to VIPs %s pkt/s %s bit/s   encapsulated %s pkt/s %s bit/s   "
		"drops %s/s   ",
		stats_si(in_p, a, sizeof(a)), stats_si(in_b * 8, b, sizeof(b)),
		stats_si(out_p, cc, sizeof(cc)),
		stats_si(out_b * 8, d, sizeof(d)),
		stats_si(drops, e, sizeof(e)));
	if (looks && hits <= looks)
		fprintf(out, "lru hits %.1f%%\n", 100.0 * hits / looks);
	else
		fprintf(out, "lru hits -\n");
}

static void table(FILE *out, const struct stats_view *v, enum counter_table t,
		  int limit)
{
	static const char *const title[] = { "REGION", "VIP", "BACKEND" };
	size_t cap = counter_table_size(t), n, i;
	struct counter_row *rows = calloc(cap, sizeof(*rows));
	char id[16], a[16], b[16], c[16];
	const char *name;

	if (!rows)
		return;
	n = counter_rows(v->cur, v->prev, v->model, t, rows, cap);
	qsort(rows, n, sizeof(*rows), by_bytes_rate);
	fprintf(out, "\n%-24s %-12s %9s %10s %10s %14s %16s\n", title[t],
		t == COUNTER_BACKENDS ? "REGION" : "", "PKT/S",
		t == COUNTER_REGIONS ? "IN BIT/S" : "BIT/S",
		t == COUNTER_REGIONS ? "OUT BIT/S" : "", "PACKETS", "BYTES");
	for (i = 0; i < n && (limit <= 0 || (int)i < limit); i++) {
		const struct counter_row *r = &rows[i];

		snprintf(id, sizeof(id), "%u", r->id);
		name = r->name ? r->name : id;
		fprintf(out, "%-24s %-12.12s %9s %10s %10s %14llu %16llu\n",
			name, r->region ? r->region : "",
			stats_si(r->packets_rate, a, sizeof(a)),
			stats_si(r->bytes_rate * 8, b, sizeof(b)),
			t == COUNTER_REGIONS ?
				stats_si(r->egress_bytes_rate * 8, c,
					 sizeof(c)) :
				"",
			(unsigned long long)r->packets,
			(unsigned long long)r->bytes);
	}
	if (n > i)
		fprintf(out, "... %zu more\n", n - i);
	free(rows);
}

static void draw(struct top *t, const struct stats_view *v)
{
	int rows = t->tty_out ? terminal_rows() : 0, limit = 0;
	char when[32];
	time_t now = time(NULL);

	if (rows)
		limit = (rows - TOP_FIXED_LINES - (int)v->cur->n_regions) / 2;
	if (rows && limit < TOP_MIN_ROWS)
		limit = TOP_MIN_ROWS;
	strftime(when, sizeof(when), "%F %T", localtime(&now));
	if (t->tty_out)
		fputs("\033[?25l\033[H\033[2J", stdout);
	printf("meridian top  %s  every %.1f s  %s%s\n", when,
	       t->opts.interval_ms / 1000.0, t->src.pin_dir,
	       t->tty_in ? "  (q quits)" : "");
	totals(stdout, v);
	table(stdout, v, COUNTER_REGIONS, 0);
	table(stdout, v, COUNTER_VIPS, limit);
	table(stdout, v, COUNTER_BACKENDS, limit);
	if (!t->tty_out)
		printf("\n");
}

static int run(struct top *t)
{
	struct stats_view v = { .model = t->src.have_model ? &t->src.model :
							     NULL };
	unsigned long frame;
	uint64_t next = mono_ms();
	int cur = 0, err;

	err = stats_source_read(&t->src, &t->snap[cur]);
	for (frame = 0; !err && (!t->opts.count || frame < t->opts.count);
	     frame++) {
		next += t->opts.interval_ms;
		if (!wait_frame(t, next))
			break;
		cur ^= 1;
		err = stats_source_read(&t->src, &t->snap[cur]);
		if (err)
			break;
		v.prev = &t->snap[cur ^ 1];
		v.cur = &t->snap[cur];
		if (t->opts.json)
			stats_show_json(stdout, &v);
		else
			draw(t, &v);
		fflush(stdout);
	}
	return err;
}

int cmd_top(int argc, char **argv)
{
	struct top t = { 0 };
	int rc = stats_parse_opts(argc, argv, true, &t.opts), err;

	if (rc >= 0)
		return rc;
	t.snap = calloc(2, sizeof(*t.snap));
	if (!t.snap) {
		log_err("out of memory for the counter snapshots");
		return CTL_FAIL;
	}
	err = stats_source_open(&t.src, &t.opts);
	if (err) {
		free(t.snap);
		return CTL_FAIL;
	}
	t.tty_out = isatty(STDOUT_FILENO);
	t.tty_in = isatty(STDIN_FILENO) && !t.opts.json;
	stop_signal = 0;
	install_signals();
	terminal_raw(&t);
	err = run(&t);
	terminal_restore(&t);
	stats_source_close(&t.src);
	free(t.snap);
	return err ? CTL_FAIL : CTL_OK;
}
