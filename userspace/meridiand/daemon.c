// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The event loop: everything runs on one thread, driven by epoll. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "prober.h"
#include "reconcile.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

int daemon_watch(struct daemon *d, int fd, enum loop_source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		log_err("epoll_ctl add fd %d: %s", fd, strerror(errno));
		return -errno;
	}
	return 0;
}

static int open_signals(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -errno;
	}
	return daemon_watch(d, d->signal_fd, SRC_SIGNAL);
}

static int open_tick(struct daemon *d)
{
	struct itimerspec its = {
		.it_interval = { 0, DAEMON_TICK_MS * 1000000 },
		.it_value = { 0, DAEMON_TICK_MS * 1000000 },
	};

	d->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (d->tick_fd < 0 || timerfd_settime(d->tick_fd, 0, &its, NULL)) {
		log_err("timerfd: %s", strerror(errno));
		return -errno;
	}
	return daemon_watch(d, d->tick_fd, SRC_TICK);
}

static int open_maps(struct daemon *d)
{
	int err;

	meridian_maps_init(&d->maps);
	err = meridian_maps_open(&d->maps, d->model.edge.pin_dir);
	if (err) {
		log_err("no edge maps pinned under %s: attach the program first "
			"(meridianctl attach %s)",
			d->model.edge.pin_dir, d->model.edge.interface);
		return err;
	}
	return reconciler_create(&d->reconciler, &d->maps);
}

int daemon_init(struct daemon *d, const char *config_path)
{
	struct config_error cerr;
	char msg[1024];
	int err;

	memset(d, 0, sizeof(*d));
	d->epoll_fd = d->signal_fd = d->tick_fd = d->control_fd = -1;
	meridian_maps_init(&d->maps);
	d->config_path = config_path;
	err = config_load_file(config_path, &d->model, &cerr);
	if (err) {
		config_error_format(&cerr, msg, sizeof(msg));
		log_err("%s", msg);
		return err;
	}
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epoll_fd < 0) {
		log_err("epoll_create1: %s", strerror(errno));
		return -errno;
	}
	err = open_maps(d);
	if (!err)
		err = state_alloc(d, &d->model);
	if (!err)
		err = probes_start(d);
	if (!err)
		err = open_signals(d);
	if (!err)
		err = open_tick(d);
	if (!err)
		err = control_open(d);
	if (!err)
		err = daemon_watch(d, d->control_fd, SRC_CONTROL);
	if (!err)
		err = metrics_open(d);
	if (!err && sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;
	return err;
}

void daemon_fini(struct daemon *d)
{
	metrics_close(d);
	control_close(d);
	if (d->prober)
		prober_destroy(d->prober);
	if (d->reconciler)
		reconciler_destroy(d->reconciler);
	meridian_maps_close(&d->maps);
	state_free(d);
	model_free(&d->model);
	if (d->tick_fd >= 0)
		close(d->tick_fd);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
}

/* SIGHUP: a config that fails validation changes nothing at all. */
static void reload(struct daemon *d)
{
	struct config_error cerr;
	struct model next = { 0 };
	char msg[1024];

	log_info("SIGHUP: reloading %s", d->config_path);
	if (config_load_file(d->config_path, &next, &cerr)) {
		config_error_format(&cerr, msg, sizeof(msg));
		log_err("reload rejected, running state kept: %s", msg);
		return;
	}
	if (state_reload(d, &next)) {
		log_err("reload failed, running state kept");
		model_free(&next);
		return;
	}
	d->dirty = true;
	log_info("reloaded: %u regions, %u backends, %u VIPs",
		 d->model.n_regions, d->model.n_backends, d->model.n_vips);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		reload(d);
		return;
	}
	/* The data plane keeps serving: detaching is the operator's call. */
	log_info("signal %u: stopping; the data plane keeps its tables",
		 si.ssi_signo);
	d->stop = true;
}

static void on_tick(struct daemon *d)
{
	uint64_t expirations, now = now_ms();

	if (read(d->tick_fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (drains_changed(d, now))
		d->dirty = true;
	metrics_tick(d, now);
	if (d->watchdog_usec &&
	    now - d->last_watchdog_ms >= d->watchdog_usec / 2000) {
		sd_notify(0, "WATCHDOG=1");
		d->last_watchdog_ms = now;
	}
}

int daemon_reconcile(struct daemon *d)
{
	struct reconcile_stats st = { 0 };
	struct desired des = { 0 };
	uint64_t start = now_ns();
	int err;

	err = state_build_desired(d, &des);
	if (!err)
		err = reconcile_apply(d->reconciler, &des, &st);
	desired_free(&des);
	if (err) {
		log_err("reconcile failed: %s; will retry", strerror(-err));
		if (!d->stale_since_ms)
			d->stale_since_ms = now_ms();
		d->reconcile_failures++;
		return err;
	}
	d->stale_since_ms = 0;
	d->dirty = false;
	if (st.writes + st.deletes)
		d->generation++;
	d->last_reconcile_ms = now_ms();
	d->last_reconcile_ns = now_ns() - start;
	if (d->decided_ns) {
		d->last_decision_ns = now_ns() - d->decided_ns;
		d->decided_ns = 0;
	}
	d->last_writes = st.writes + st.deletes;
	if (st.writes + st.deletes)
		log_info("reconciled: %u writes, %u deletes in %llu us",
			 st.writes, st.deletes,
			 (unsigned long long)(d->last_reconcile_ns / 1000));
	return 0;
}

static void dispatch(struct daemon *d, enum loop_source src)
{
	switch (src) {
	case SRC_SIGNAL:
		on_signal(d);
		break;
	case SRC_TICK:
		on_tick(d);
		break;
	case SRC_PROBER:
		prober_dispatch(d->prober);
		break;
	case SRC_CONTROL:
		control_serve(d);
		break;
	case SRC_METRICS:
		metrics_serve(d);
		break;
	}
}

int daemon_run(struct daemon *d)
{
	struct epoll_event events[8];
	int n, i;

	if (daemon_reconcile(d))
		return -EIO;
	sd_notify(0, "READY=1");
	log_info("ready: %u VIPs, %u backends; control socket %s",
		 d->model.n_vips, d->model.n_backends,
		 d->model.edge.control_socket);
	while (!d->stop) {
		n = epoll_wait(d->epoll_fd, events, 8, DAEMON_TICK_MS);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++)
			dispatch(d, events[i].data.u32);
		/* Health decided in this pass goes out before we sleep. */
		if (d->dirty)
			daemon_reconcile(d);
	}
	sd_notify(0, "STOPPING=1");
	return 0;
}
