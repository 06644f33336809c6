// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Failover latency: a backend dies; how long until meridiand has written
 * the data plane (detection), and from there until the flow's packets
 * reach another backend (data-plane switch).
 *
 * Runs in the backend namespace of selftests/bench/bench-failover.sh,
 * which has attached the edge program (maps pinned) in the edge namespace
 * and started meridiand there with TCP probes at the interval under test.
 * This program owns the rest:
 *
 *   - one TCP listener per backend address (-b), accepting and closing;
 *     "killing" a backend closes its listener, so probes are refused;
 *   - a packet socket on DEV (-d) sending one client flow to the VIP, a
 *     frame every GEN_PERIOD_NS, straight into the veth towards the edge
 *     (a live-frames test run would do too, but each run tears down a
 *     page pool, which waits for an RCU grace period whenever a page is
 *     still on its way: tens of milliseconds per burst);
 *   - bench_sink_fo on DEV, receiving what the edge encapsulates. It reads
 *     the killed backend's `up` word in the pinned meridian_backends, and
 *     stamps with bpf_ktime both the first frame that finds it cleared and
 *     the first frame that reaches another backend.
 *
 * The kill is stamped with CLOCK_MONOTONIC, the clock bpf_ktime reads, so
 * every interval is one clock's difference. A trial kills the backend the
 * flow is on, waits for the switch, restarts the listener and waits until
 * the backend is up again and the tables have settled.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_progs.h"
#include "bench_util.h"
#include "meridian_maps.h"
#include "pkt.h"
#include "testrun.h"

#define MAX_BACKENDS 8
#define MAX_TRIALS 200
#define GEN_BURST 1
#define GEN_PERIOD_NS 20000ull /* a frame every 20 us: 50 kframes/s */
#define POLL_NS 200000ull
#define CLIENT4 "198.18.7.10"
#define VIP4 "198.18.50.1"
#define SETTLE_INTERVALS 5 /* after a restore, before the next kill */
#define FAIL_LIMIT 3 /* trials without a switch before giving up */

struct backend {
	const char *text;
	uint32_t addr; /* network order */
	int lfd;
};

struct trial {
	double detect_ms, switch_ms, total_ms;
	bool early; /* the flow moved before the up flag was cleared */
	uint64_t stale; /* frames to the dead backend after the update */
};

struct bench {
	const char *pin_dir, *dev, *label, *mac_dst;
	uint16_t port;
	unsigned int interval_ms, fall, trials;
	struct backend be[MAX_BACKENDS];
	unsigned int n_be;
	int ifindex, backends_fd, fo_fd, epfd;
	struct bpf_object *sink_obj;
	uint8_t frame[BENCH_FRAME_LEN];
	int gen_fd;
	bool sink_attached;
	pthread_t gen_thread, accept_thread;
	bool gen_started, accept_started;
	atomic_bool stop;
	atomic_ullong gen_calls, gen_errors;
	uint64_t gen_busy_ns, gen_max_ns; /* inside the test runs */
	struct trial t[MAX_TRIALS];
	unsigned int done, timeouts;
	double seconds;
	uint64_t gen_ns;
};

/* --- listeners ---------------------------------------------------------- */

static int listen_on(struct bench *b, struct backend *be)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(b->port),
				   .sin_addr.s_addr = be->addr };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 512)) {
		log_err("listening on %s:%u: %s", be->text, b->port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	ev.data.fd = fd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_err("epoll_ctl: %s", strerror(errno));
		close(fd);
		return -errno;
	}
	be->lfd = fd;
	return 0;
}

/* The backend dies: connections to it are refused from now on. */
static void kill_backend(struct backend *be)
{
	close(be->lfd);
	be->lfd = -1;
}

/* Probes connect and reset; anything accepted is closed at once. */
static void *accept_loop(void *arg)
{
	struct bench *b = arg;
	struct epoll_event ev[MAX_BACKENDS];
	int n, i, c;

	while (!atomic_load(&b->stop)) {
		n = epoll_wait(b->epfd, ev, MAX_BACKENDS, 50);
		for (i = 0; i < n; i++)
			while ((c = accept4(ev[i].data.fd, NULL, NULL,
					    SOCK_CLOEXEC)) >= 0)
				close(c);
	}
	return NULL;
}

/* --- generator ---------------------------------------------------------- */

static int parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int v[6], i;

	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int dev_mac(const char *dev, uint8_t mac[6])
{
	char path[128], text[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", dev);
	f = fopen(path, "r");
	if (!f || !fgets(text, sizeof(text), f)) {
		log_err("reading %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -ENODEV;
	}
	fclose(f);
	return parse_mac(text, mac);
}

/* One flow: client to the VIP, from DEV's address to the edge's. */
static int gen_configure(struct bench *b)
{
	struct pkt_ip ip = { .src = CLIENT4, .dst = VIP4, .frag = PKT_DF };
	struct pkt_l4 l4 = { .proto = IPPROTO_TCP, .sport = 40000,
			     .dport = 80 };
	static const uint8_t payload[BENCH_FRAME_LEN - 54];
	struct pkt_eth eth = { 0 };
	struct pkt frame;
	int err;

	l4.payload = payload;
	l4.payload_len = sizeof(payload);
	err = dev_mac(b->dev, eth.src) ?: parse_mac(b->mac_dst, eth.dst) ?:
	      pkt_build(&frame, &eth, &ip, &l4);
	if (err)
		return err;
	if (frame.len != BENCH_FRAME_LEN)
		return -EINVAL;
	memcpy(b->frame, frame.data, BENCH_FRAME_LEN);
	return 0;
}

/* A raw socket on DEV: frames go straight to the veth, no qdisc. */
static int gen_socket(struct bench *b)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = b->ifindex,
				   .sll_protocol = htons(ETH_P_IP) };
	int one = 1;

	b->gen_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (b->gen_fd < 0 ||
	    setsockopt(b->gen_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) ||
	    bind(b->gen_fd, (struct sockaddr *)&sll, sizeof(sll))) {
		log_err("packet socket on %s: %s", b->dev, strerror(errno));
		return -errno;
	}
	return 0;
}

static int gen_burst(struct bench *b)
{
	int i;

	for (i = 0; i < GEN_BURST; i++)
		if (send(b->gen_fd, b->frame, BENCH_FRAME_LEN, 0) !=
		    BENCH_FRAME_LEN)
			return -errno;
	return 0;
}

/* A burst every GEN_PERIOD_NS on absolute deadlines, until stop. */
static void *gen_loop(void *arg)
{
	struct bench *b = arg;
	uint64_t t0 = bench_now_ns(), s, d;
	struct timespec next;

	/* Wake on time: the default slack (50 us) is the whole period. */
	prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&b->stop)) {
		s = bench_now_ns();
		if (gen_burst(b))
			atomic_fetch_add(&b->gen_errors, 1);
		d = bench_now_ns() - s;
		b->gen_busy_ns += d;
		if (d > b->gen_max_ns)
			b->gen_max_ns = d;
		atomic_fetch_add(&b->gen_calls, 1);
		next.tv_nsec += GEN_PERIOD_NS;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	b->gen_ns = bench_now_ns() - t0;
	return NULL;
}

/* --- sink and maps ------------------------------------------------------ */

static int open_backends(struct bench *b)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", b->pin_dir,
		 MERIDIAN_MAP_BACKENDS);
	b->backends_fd = bpf_obj_get(path);
	if (b->backends_fd < 0) {
		log_err("opening %s: %s", path, strerror(errno));
		return -errno;
	}
	if (bpf_obj_get_info_by_fd(b->backends_fd, &info, &len) ||
	    info.value_size != sizeof(struct meridian_backend)) {
		log_err("%s is not this build's backend map", path);
		return -EINVAL;
	}
	return 0;
}

/* bench_sink_fo reads the edge's own backend map. */
static int load_sink(struct bench *b)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	const char *path = "bpf/bench_sink.bpf.o";
	int err;

	b->sink_obj = bpf_object__open_file(path, NULL);
	if (!b->sink_obj) {
		log_err("opening %s: %s", path, strerror(errno));
		return -errno;
	}
	map = bpf_object__find_map_by_name(b->sink_obj, MERIDIAN_MAP_BACKENDS);
	prog = bpf_object__find_program_by_name(b->sink_obj, "bench_sink_fo");
	if (!map || !prog)
		return -ENOENT;
	err = bpf_map__reuse_fd(map, b->backends_fd) ?:
	      bpf_object__load(b->sink_obj);
	if (err) {
		log_err("loading %s: %s", path, strerror(-err));
		return err;
	}
	b->fo_fd = bpf_map__fd(bpf_object__find_map_by_name(b->sink_obj,
							    "bench_fo"));
	err = bpf_xdp_attach(b->ifindex, bpf_program__fd(prog),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		log_err("attaching bench_sink_fo to %s: %s", b->dev,
			strerror(-err));
		return err;
	}
	b->sink_attached = true;
	return 0;
}

static int fo_get(struct bench *b, uint32_t key, struct bench_fo *v)
{
	return bpf_map_lookup_elem(b->fo_fd, &key, v);
}

static int fo_control(struct bench *b, uint32_t trial, bool armed,
		      uint32_t id, uint32_t addr)
{
	struct bench_fo ctl = { .trial = trial, .armed = armed,
				.watch_id = id, .dead_addr = addr };
	uint32_t key = BENCH_FO_CTL;

	return bpf_map_update_elem(b->fo_fd, &key, &ctl, BPF_ANY);
}

static bool backend_is_up(struct bench *b, uint32_t id)
{
	struct meridian_backend mb;

	return !bpf_map_lookup_elem(b->backends_fd, &id, &mb) && mb.up &&
	       mb.family == MERIDIAN_AF_INET && mb.addr[0] == b->be[id].addr;
}

static bool all_up(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->n_be; i++)
		if (!backend_is_up(b, i))
			return false;
	return true;
}

/* Index of the backend the flow's last frame went to, or -1. */
static int flow_backend(struct bench *b)
{
	struct bench_fo res;
	unsigned int i;

	if (fo_get(b, BENCH_FO_RES, &res) || !res.frames)
		return -1;
	for (i = 0; i < b->n_be; i++)
		if (b->be[i].addr == res.last_dst)
			return (int)i;
	return -1;
}

/* --- trials ------------------------------------------------------------- */

static bool wait_until(struct bench *b, bool (*cond)(struct bench *, int),
		       int arg, uint64_t max_ns)
{
	uint64_t end = bench_now_ns() + max_ns;

	while (bench_now_ns() < end) {
		if (cond(b, arg))
			return true;
		bench_sleep_ns(POLL_NS);
	}
	return cond(b, arg);
}

static bool cond_all_up(struct bench *b, int arg)
{
	(void)arg;
	return all_up(b) && flow_backend(b) >= 0;
}

static bool cond_up(struct bench *b, int id)
{
	return backend_is_up(b, (uint32_t)id);
}

static bool cond_switched(struct bench *b, int trial)
{
	struct bench_fo res;

	return !fo_get(b, BENCH_FO_RES, &res) && res.trial == (uint32_t)trial &&
	       res.switch_ns;
}

static bool cond_trial_seen(struct bench *b, int trial)
{
	struct bench_fo res;

	return !fo_get(b, BENCH_FO_RES, &res) && res.trial == (uint32_t)trial;
}

static uint64_t interval_ns(const struct bench *b, unsigned int n)
{
	return (uint64_t)n * b->interval_ms * 1000000ull;
}

static int one_trial(struct bench *b, unsigned int n)
{
	uint64_t kill_ns, patience = interval_ns(b, 20 * b->fall) + 2000000000;
	struct bench_fo res;
	struct trial *t = &b->t[b->done];
	int dead = flow_backend(b), err;

	if (dead < 0) {
		log_err("trial %u: the flow reaches no known backend", n);
		return -EIO;
	}
	err = fo_control(b, n, true, (uint32_t)dead, b->be[dead].addr);
	if (err)
		return err;
	/* The sink starts the trial afresh on its next frame. */
	if (!wait_until(b, cond_trial_seen, (int)n, 1000000000ull)) {
		log_err("trial %u: no frame reaches the sink", n);
		return -EIO;
	}
	kill_ns = bench_now_ns();
	kill_backend(&b->be[dead]);
	if (!wait_until(b, cond_switched, (int)n, patience)) {
		b->timeouts++;
		log_err("trial %u: no switch within %llu ms", n,
			(unsigned long long)(patience / 1000000));
	} else if (!fo_get(b, BENCH_FO_RES, &res)) {
		t->detect_ms = (double)(res.update_ns - kill_ns) / 1e6;
		t->switch_ms = (double)(res.switch_ns - res.update_ns) / 1e6;
		t->total_ms = (double)(res.switch_ns - kill_ns) / 1e6;
		t->early = res.early_ns != 0;
		t->stale = res.stale;
		b->done++;
	}
	err = fo_control(b, n, false, 0, 0) ?: listen_on(b, &b->be[dead]);
	if (err)
		return err;
	if (!wait_until(b, cond_up, dead, patience)) {
		log_err("trial %u: backend %s did not come back up", n,
			b->be[dead].text);
		return -ETIMEDOUT;
	}
	bench_sleep_ns(interval_ns(b, SETTLE_INTERVALS));
	return 0;
}

static int run_trials(struct bench *b)
{
	uint64_t start = bench_now_ns();
	unsigned int n;
	int err = 0;

	if (!wait_until(b, cond_all_up, 0, interval_ns(b, 50) + 10000000000)) {
		log_err("backends not all up, or no traffic at the sink");
		return -ETIMEDOUT;
	}
	bench_sleep_ns(interval_ns(b, SETTLE_INTERVALS));
	for (n = 1; !err && n <= b->trials; n++) {
		err = one_trial(b, n);
		if (b->timeouts >= FAIL_LIMIT) {
			log_err("%u trials without a switch: stopping",
				b->timeouts);
			break;
		}
	}
	b->seconds = (double)(bench_now_ns() - start) / 1e9;
	return err;
}

/* --- setup -------------------------------------------------------------- */

static int start_threads(struct bench *b)
{
	cpu_set_t set;
	int err;

	err = pthread_create(&b->accept_thread, NULL, accept_loop, b);
	if (err)
		return -err;
	b->accept_started = true;
	err = pthread_create(&b->gen_thread, NULL, gen_loop, b);
	if (err)
		return -err;
	b->gen_started = true;
	/* The generator, and with it the veth NAPI work, on the last CPU. */
	CPU_ZERO(&set);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
	pthread_setaffinity_np(b->gen_thread, sizeof(set), &set);
	return 0;
}

static int setup(struct bench *b)
{
	unsigned int i;
	int err;

	b->ifindex = (int)if_nametoindex(b->dev);
	if (!b->ifindex) {
		log_err("no device %s", b->dev);
		return -ENODEV;
	}
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0)
		return -errno;
	for (i = 0; i < b->n_be; i++) {
		err = listen_on(b, &b->be[i]);
		if (err)
			return err;
	}
	err = open_backends(b) ?: load_sink(b);
	if (err)
		return err;
	return gen_configure(b) ?: gen_socket(b) ?: start_threads(b);
}

static void teardown(struct bench *b)
{
	unsigned int i;

	atomic_store(&b->stop, true);
	if (b->gen_started)
		pthread_join(b->gen_thread, NULL);
	if (b->accept_started)
		pthread_join(b->accept_thread, NULL);
	if (b->sink_attached)
		bpf_xdp_detach(b->ifindex, XDP_FLAGS_DRV_MODE, NULL);
	for (i = 0; i < b->n_be; i++)
		if (b->be[i].lfd >= 0)
			close(b->be[i].lfd);
	if (b->sink_obj)
		bpf_object__close(b->sink_obj);
	if (b->gen_fd >= 0)
		close(b->gen_fd);
	if (b->backends_fd > 0)
		close(b->backends_fd);
	if (b->epfd > 0)
		close(b->epfd);
}

/* --- report ------------------------------------------------------------- */

struct dist {
	double p50, p99, min, max;
};

static void dist_of(const struct bench *b, size_t off, struct dist *d)
{
	double v[MAX_TRIALS];
	unsigned int i;

	for (i = 0; i < b->done; i++)
		memcpy(&v[i], (const char *)&b->t[i] + off, sizeof(double));
	d->min = bench_quantile(v, b->done, 0);
	d->p50 = bench_quantile(v, b->done, 0.5);
	d->p99 = bench_quantile(v, b->done, 0.99);
	d->max = bench_quantile(v, b->done, 1);
}

static double target_ms(const struct bench *b)
{
	if (b->interval_ms == 10)
		return 50;
	if (b->interval_ms == 100)
		return 400;
	return 0;
}

static unsigned int early_count(const struct bench *b)
{
	unsigned int i, n = 0;

	for (i = 0; i < b->done; i++)
		n += b->t[i].early;
	return n;
}

static bool valid(const struct bench *b)
{
	return b->done >= 20 && !b->timeouts && !early_count(b) &&
	       !atomic_load(&b->gen_errors);
}

static const char *verdict(const struct bench *b, const struct dist *total)
{
	if (!valid(b))
		return "INVALID";
	if (!target_ms(b))
		return "-";
	return total->p99 <= target_ms(b) ? "PASS" : "MISS";
}

static void print_dist(FILE *f, const char *name, const struct dist *d,
		       double scale, const char *unit)
{
	fprintf(f, "%-36s %9.3f %9.3f %9.3f %9.3f %s\n", name, d->p50 * scale,
		d->p99 * scale, d->min * scale, d->max * scale, unit);
}

static uint64_t stale_max(const struct bench *b)
{
	uint64_t m = 0;
	unsigned int i;

	for (i = 0; i < b->done; i++)
		if (b->t[i].stale > m)
			m = b->t[i].stale;
	return m;
}

static void print_method(FILE *f, const struct bench *b)
{
	double calls = (double)atomic_load(&b->gen_calls);

	fprintf(f, "setting:  %s: TCP probes every %u ms, fall %u, rise 2, "
		   "jitter 10%%; %u backends\n"
		   "          in one region, one VIP; the flow's backend is "
		   "killed each trial\n",
		b->label, b->interval_ms, b->fall, b->n_be);
	fprintf(f, "method:   kill = close the backend's listener (probes are "
		   "refused), CLOCK_MONOTONIC;\n"
		   "          update = first frame at bench_sink_fo that finds "
		   "the backend's up word\n"
		   "          cleared (meridiand writes it the moment it decides, "
		   "before the rings);\n"
		   "          moved = first frame of the flow at another "
		   "backend. Both are bpf_ktime\n"
		   "          stamps of the same sink, the clock of the kill. "
		   "Resolution: the frame gap,\n"
		   "          one frame every %llu us from a packet socket.\n",
		GEN_PERIOD_NS / 1000);
	fprintf(f, "samples:  %u trials (%u without a switch), %.1f s; "
		   "traffic %.0f frames/s, %llu send errors\n",
		b->done, b->timeouts, b->seconds,
		b->gen_ns ? calls * GEN_BURST * 1e9 / (double)b->gen_ns : 0,
		(unsigned long long)atomic_load(&b->gen_errors));
}

static int report(FILE *f, void *arg)
{
	struct bench *b = arg;
	struct dist det, sw, tot;
	unsigned int i;

	dist_of(b, offsetof(struct trial, detect_ms), &det);
	dist_of(b, offsetof(struct trial, switch_ms), &sw);
	dist_of(b, offsetof(struct trial, total_ms), &tot);
	bench_print_env(f, "bench-failover: backend killed -> traffic moved",
			-1);
	print_method(f, b);
	fprintf(f, "\n%-36s %9s %9s %9s %9s\n", "", "p50", "p99", "min",
		"max");
	print_dist(f, "detection (kill -> map update)", &det, 1, "ms");
	print_dist(f, "data-plane switch (update -> moved)", &sw, 1e3, "us");
	print_dist(f, "failover (kill -> moved)", &tot, 1, "ms");
	fprintf(f, "\nheadline: failover p99 %.1f ms (target <= %.0f ms): %s\n",
		tot.p99, target_ms(b), verdict(b, &tot));
	fprintf(f, "          p99 is the nearest rank of %u trials (the "
		   "largest but %u); a switch of\n"
		   "          0 us: the first frame to see the update already "
		   "went elsewhere\n",
		b->done,
		b->done - 1 - (unsigned int)(0.99 * (b->done - 1) + 0.5));
	fprintf(f, "checks:   %s: %u trials where the flow moved before the "
		   "up word was cleared;\n"
		   "          at most %llu frame(s) reached the dead backend "
		   "after the update was seen\n",
		early_count(b) ? "INVALID" : "ok", early_count(b),
		(unsigned long long)stale_max(b));
	fprintf(f, "trials (detection ms / switch us):");
	for (i = 0; i < b->done; i++)
		fprintf(f, "%s%.1f/%.0f", i % 8 ? "  " : "\n  ",
			b->t[i].detect_ms, b->t[i].switch_ms * 1e3);
	fprintf(f, "\n");
	return 0;
}

static int write_summary(const struct bench *b, const char *path)
{
	struct dist det, sw, tot;
	char target[32] = "-";
	FILE *f;

	if (!path)
		return 0;
	dist_of(b, offsetof(struct trial, detect_ms), &det);
	dist_of(b, offsetof(struct trial, switch_ms), &sw);
	dist_of(b, offsetof(struct trial, total_ms), &tot);
	f = fopen(path, "a");
	if (!f)
		return -errno;
	if (target_ms(b))
		snprintf(target, sizeof(target), "p99 <= %.0f ms",
			 target_ms(b));
	fprintf(f, "failover, %u ms probes: detection p50 / p99|%.1f / %.1f "
		   "ms|-|-\n",
		b->interval_ms, det.p50, det.p99);
	fprintf(f, "failover, %u ms probes: switch p50 / p99|%.0f / %.0f "
		   "us|-|-\n",
		b->interval_ms, sw.p50 * 1e3, sw.p99 * 1e3);
	fprintf(f, "failover, %u ms probes: kill -> moved p50 / p99|%.1f / "
		   "%.1f ms|%s|%s\n",
		b->interval_ms, tot.p50, tot.p99, target, verdict(b, &tot));
	fclose(f);
	return 0;
}

/* --- main --------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -d DEV -m EDGE_MAC -b ADDR [-b ADDR...] -i MS\n"
		"          [-P PORT] [-F FALL] [-n TRIALS] [-p PIN_DIR] "
		"[-l LABEL] [-o FILE] [-s FILE]\n"
		"  -d DEV       the veth towards the edge (this namespace)\n"
		"  -m EDGE_MAC  MAC of the edge's end of it\n"
		"  -b ADDR      a backend, in config order (id 0, 1, ...)\n"
		"  -i MS        the probe interval meridiand runs with\n",
		prog);
}

static int parse_args(int argc, char **argv, struct bench *b,
		      const char **out, const char **sum)
{
	int opt;

	b->pin_dir = MERIDIAN_PIN_DIR;
	b->port = 8080;
	b->fall = 3;
	b->trials = 30;
	b->label = "run";
	while ((opt = getopt(argc, argv, "d:m:b:i:P:F:n:p:l:o:s:h")) != -1) {
		switch (opt) {
		case 'd':
			b->dev = optarg;
			break;
		case 'm':
			b->mac_dst = optarg;
			break;
		case 'b':
			if (b->n_be == MAX_BACKENDS ||
			    inet_pton(AF_INET, optarg,
				      &b->be[b->n_be].addr) != 1) {
				log_err("bad or too many backends: %s", optarg);
				return -EINVAL;
			}
			b->be[b->n_be].text = optarg;
			b->be[b->n_be++].lfd = -1;
			break;
		case 'i':
			b->interval_ms = (unsigned int)atoi(optarg);
			break;
		case 'P':
			b->port = (uint16_t)atoi(optarg);
			break;
		case 'F':
			b->fall = (unsigned int)atoi(optarg);
			break;
		case 'n':
			b->trials = (unsigned int)atoi(optarg);
			break;
		case 'p':
			b->pin_dir = optarg;
			break;
		case 'l':
			b->label = optarg;
			break;
		case 'o':
			*out = optarg;
			break;
		case 's':
			*sum = optarg;
			break;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (!b->dev || !b->mac_dst || b->n_be < 2 || !b->interval_ms ||
	    b->interval_ms > 10000 || !b->trials || b->trials > MAX_TRIALS) {
		usage(argv[0]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b = { .backends_fd = -1, .epfd = -1, .gen_fd = -1 };
	const char *out = NULL, *sum = NULL;
	int err;

	log_init(argv[0]);
	if (parse_args(argc, argv, &b, &out, &sum))
		return 2;
	err = setup(&b) ?: run_trials(&b);
	atomic_store(&b.stop, true);
	if (b.gen_started) {
		pthread_join(b.gen_thread, NULL);
		b.gen_started = false;
	}
	if (!err)
		err = bench_write_report(report, &b, out) ?:
		      write_summary(&b, sum);
	teardown(&b);
	if (err) {
		log_err("benchmark failed: %s", strerror(-err));
		return 1;
	}
	return valid(&b) ? 0 : 1;
}
