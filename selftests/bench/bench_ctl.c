// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control-plane costs, on the real code paths:
 *
 *   maglev    maglev_build() for several backend counts and ring sizes:
 *             the product's size (a prime above 100 x N) and the largest
 *             (65537);
 *   reconcile a configuration of 1000 VIPs x 8 regions x 64 backends (and
 *             one residency class, so 2000 region tables) parsed from YAML,
 *             turned into the desired state by policy_build() and written
 *             by reconcile_apply() into the empty maps of a freshly loaded
 *             bpf/edge.bpf.o; then the same state again, then one backend
 *             down. Every repetition starts from new, empty maps;
 *   probes    the prober (userspace/common/prober.c) checking 1000 backends
 *             every 100 ms with TCP connects, twice. First with the
 *             backends in a second namespace behind a veth pair, the
 *             prober and the listener pinned to different CPUs and RPS
 *             keeping each side's receive work on its own CPU: the
 *             prober's getrusage (target: at most 10 % of one core), and
 *             its CPU's busy time in /proc/stat less an idle baseline.
 *             Then with every backend local on lo, where the server side
 *             of each handshake is charged to the prober too. In both,
 *             the kernel floor: the same connects without the prober,
 *             one at a time (poll() on the one socket), paced at the
 *             prober's rate and unpaced, with a fresh socket each time
 *             or one kept (-P: only this section);
 *
 * Helpers for bench-daemon.sh, which runs meridiand itself at that scale:
 *   -C FILE   write the same configuration as YAML (-I, -p, -S set the
 *             interface, pin directory and control socket)
 *   -L PORT   accept and close TCP connections on PORT for -T seconds
 *
 * Times are medians over repetitions; nothing is asserted except that the
 * work was done (a failed step is an error, exit 1; a probe run that did
 * not probe at the nominal rate is INVALID, exit 1). Targets: a full
 * reconcile (policy + apply into empty maps) of at most 100 ms; probing at
 * most 10 % of one core.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench_util.h"
#include "config.h"
#include "hash64.h"
#include "maglev.h"
#include "meridian_access.h"
#include "policy.h"
#include "prober.h"
#include "reconcile.h"
#include "testrun.h"

#define S_VIPS 1000
#define S_REGIONS 8
#define S_PER_REGION 64
#define S_BACKENDS (S_REGIONS * S_PER_REGION)
#define S_PORT 8080
/*
 * Backends live in 198.19.128.0/17, which bench-daemon.sh and the probe
 * measurement put on lo (the veth setup routes it to another namespace);
 * the harness namespace routes 198.19.0.0/24 and 198.19.1.0/24 elsewhere,
 * and a more specific route would win.
 */
#define BACKEND_NET 128
#define BACKEND_LO "198.19.128.1/17"
#define RECONCILE_REPS 9
#define RECONCILE_TARGET_MS 100.0
#define MAGLEV_MIN_REPS 15
#define MAGLEV_MIN_NS 50000000ull /* keep building a cell at least this long */
#define PROBE_BACKENDS 1000
#define PROBE_INTERVAL_MS 100
#define PROBE_SECONDS 10.0
#define PROBE_WARM_SECONDS 1.0
#define PROBE_TARGET_PCT 10.0
#define PROBE_MIN_OK 0.9 /* of the nominal rate, or the run is INVALID */
#define PROBE_MAX_BAD 0.01 /* failed or local errors, likewise */
/* The kernel floor: bare connects at the prober's nominal rate. */
#define FLOOR_RATE (PROBE_BACKENDS * 1000 / PROBE_INTERVAL_MS)
#define FLOOR_BATCH 100 /* connects per sleep */
#define FLOOR_LATE 2 /* a paced run stops after this many windows */
#define FLOOR_BURST 20000 /* the unpaced run's connects */
#define FLOOR_BURST_MAX_S 30
/* The veth pair of the probe measurement, and the backends behind it. */
#define VETH_CLIENT_ADDR "198.18.250.1"
#define VETH_SERVER_ADDR "198.18.250.2"
#define BACKEND_ROUTE "198.19.128.0/17"
#define SETUP_WAIT_MS 10000
#define LISTEN_MAX_S 3600
#define MAX_REPS 64

struct opts {
	const char *out, *sum;
	const char *config_out, *iface, *pin_dir, *socket;
	int listen_port;
	unsigned int listen_s;
	double probe_s;
	bool probes_only;
};

/* --- the scale configuration -------------------------------------------- */

static void backend_addr(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "198.19.%u.%u", BACKEND_NET + i / S_PER_REGION,
		 1 + i % S_PER_REGION);
}

/* Region tiers 0,0,1,1,2,2,3,3; weights in six patterns across VIPs. */
static void yaml_regions_backends(FILE *f)
{
	char addr[32];
	unsigned int r, i;

	fprintf(f, "regions:\n");
	for (r = 0; r < S_REGIONS; r++)
		fprintf(f, "  - name: r%u\n    tier: %u\n", r, r / 2);
	fprintf(f, "backends:\n");
	for (i = 0; i < S_BACKENDS; i++) {
		backend_addr(i, addr, sizeof(addr));
		fprintf(f, "  - name: r%u-b%u\n    address: %s\n    port: %d\n"
			   "    region: r%u\n",
			i / S_PER_REGION, i % S_PER_REGION, addr, S_PORT,
			i / S_PER_REGION);
	}
}

static void yaml_vips(FILE *f)
{
	unsigned int v, r;

	fprintf(f, "classes:\n  - name: eu\n    prefixes: [198.18.64.0/19]\n"
		   "    allowed_regions: [r0, r1, r2, r3]\n    strict: true\n");
	fprintf(f, "vips:\n");
	for (v = 0; v < S_VIPS; v++) {
		fprintf(f, "  - name: vip%u\n    address: 198.18.%u.%u\n"
			   "    ports: [tcp/80, tcp/443]\n    weights: {",
			v, 100 + v / 250, 1 + v % 250);
		for (r = 0; r < S_REGIONS; r++)
			fprintf(f, "%sr%u: %u", r ? ", " : "", r,
				50 + 10 * ((v + r) % 6));
		fprintf(f, "}\n");
	}
}

static void yaml_write(FILE *f, const struct opts *o)
{
	fprintf(f, "# meridian bench: %d VIPs x %d regions x %d backends "
		   "(generated by bench_ctl)\nversion: 1\n",
		S_VIPS, S_REGIONS, S_PER_REGION);
	fprintf(f, "edge:\n  interface: %s\n  region: r0\n"
		   "  tunnel_source: {ipv4: 198.18.0.1}\n  pin_dir: %s\n"
		   "  control_socket: %s\n  metrics_listen: 127.0.0.1:9470\n",
		o->iface, o->pin_dir, o->socket);
	fprintf(f, "probe:\n  type: tcp\n  interval: %dms\n  rise: 2\n"
		   "  fall: 3\n",
		PROBE_INTERVAL_MS);
	yaml_regions_backends(f);
	yaml_vips(f);
}

/* The whole file in memory (free it), or NULL. */
static char *yaml_text(const struct opts *o, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	yaml_write(f, o);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static int write_config(const struct opts *o)
{
	FILE *f = fopen(o->config_out, "w");

	if (!f) {
		log_err("writing %s: %s", o->config_out, strerror(errno));
		return -errno;
	}
	yaml_write(f, o);
	if (fclose(f)) {
		log_err("writing %s: %s", o->config_out, strerror(errno));
		return -errno;
	}
	return 0;
}

/* --- maglev ------------------------------------------------------------- */

struct maglev_cell {
	uint32_t n, size;
	double p50_us, min_us;
	unsigned int reps;
};

#define MAGLEV_CELLS 10
static struct maglev_cell cells[MAGLEV_CELLS];
static unsigned int n_cells;

static int maglev_cell_run(struct maglev_cell *c)
{
	struct maglev_backend *mb = calloc(c->n, sizeof(*mb));
	uint32_t *ring = calloc(c->size, sizeof(*ring)), i;
	double us[MAX_REPS];
	uint64_t start = bench_now_ns(), t0;
	int err = 0;

	if (!mb || !ring) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		mb[i].key = hash64_mix(i + 1);
		mb[i].id = i;
		mb[i].weight = 100;
	}
	for (c->reps = 0; !err && c->reps < MAX_REPS; c->reps++) {
		if (c->reps >= MAGLEV_MIN_REPS &&
		    bench_now_ns() - start > MAGLEV_MIN_NS)
			break;
		t0 = bench_now_ns();
		err = maglev_build(mb, c->n, ring, c->size);
		us[c->reps] = (double)(bench_now_ns() - t0) / 1e3;
	}
	if (err)
		log_err("maglev_build(%u backends, size %u): %s", c->n, c->size,
			strerror(-err));
	c->min_us = bench_quantile(us, c->reps, 0);
	c->p50_us = bench_quantile(us, c->reps, 0.5);
out:
	free(mb);
	free(ring);
	return err;
}

static int maglev_run(void)
{
	static const uint32_t counts[] = { 2, 8, 64, 256, 655 };
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < sizeof(counts) / sizeof(counts[0]); i++) {
		cells[n_cells] = (struct maglev_cell){
			.n = counts[i], .size = maglev_ring_size(counts[i]) };
		err = maglev_cell_run(&cells[n_cells++]);
		if (err || cells[n_cells - 1].size == MERIDIAN_RING_MAX)
			continue;
		cells[n_cells] = (struct maglev_cell){
			.n = counts[i], .size = MERIDIAN_RING_MAX };
		err = maglev_cell_run(&cells[n_cells++]);
	}
	return err;
}

/* --- reconcile at scale ------------------------------------------------- */

struct reconcile_run {
	double parse_ms, create_ms, policy_ms, apply_ms, visible_ms, full_ms;
	double again_ms, flip_ms, flip_visible_ms;
	uint32_t writes, ring_swaps, table_swaps, again_writes, flip_writes;
};

static struct reconcile_run runs[RECONCILE_REPS];
static size_t yaml_len;

static double ms_since(uint64_t t0)
{
	return (double)(bench_now_ns() - t0) / 1e6;
}

static int build_desired(const struct model *m, const bool *up,
			 struct desired *d)
{
	uint32_t permille[S_BACKENDS], region_permille[MERIDIAN_MAX_REGIONS];
	uint32_t override[MERIDIAN_MAX_REGIONS];
	struct policy_input in = {
		.model = m,
		.backend_up = up,
		.backend_permille = permille,
		.region_permille = region_permille,
		.region_weight_override = override,
		.generation = 1,
	};
	unsigned int i;

	for (i = 0; i < S_BACKENDS; i++)
		permille[i] = POLICY_PERMILLE;
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++) {
		region_permille[i] = POLICY_PERMILLE;
		override[i] = POLICY_WEIGHT_NONE;
	}
	memset(d, 0, sizeof(*d));
	return policy_build(&in, d);
}

static int parse_scale(const char *text, struct model *m, double *ms)
{
	struct config_error cerr;
	char msg[512];
	uint64_t t0 = bench_now_ns();
	int err;

	memset(m, 0, sizeof(*m));
	err = config_load_string(text, "bench-scale.yaml", m, &cerr);
	*ms = ms_since(t0);
	if (err) {
		config_error_format(&cerr, msg, sizeof(msg));
		log_err("%s", msg);
	}
	return err;
}

/* Policy and apply of one desired state; the apply's own figures in st. */
static int policy_apply(struct reconciler *r, const struct model *m,
			const bool *up, double *policy_ms,
			struct reconcile_stats *st)
{
	struct desired d;
	uint64_t t0 = bench_now_ns();
	int err;

	err = build_desired(m, up, &d);
	*policy_ms = ms_since(t0);
	if (!err)
		err = reconcile_apply(r, &d, st);
	desired_free(&d);
	return err;
}

static int reconcile_once(const char *text, struct reconcile_run *run)
{
	struct reconcile_stats st = { 0 }, again = { 0 }, flip = { 0 };
	static bool up[S_BACKENDS];
	struct reconciler *r = NULL;
	struct meridian_maps maps;
	struct bpf_object *obj;
	double policy_ms, flip_policy_ms;
	struct model m;
	uint64_t t0;
	int err, i;

	meridian_maps_init(&maps);
	err = parse_scale(text, &m, &run->parse_ms);
	if (err)
		return err;
	obj = tr_obj_load("bpf/edge.bpf.o");
	err = obj ? meridian_maps_from_object(&maps, obj) : -ENOENT;
	t0 = bench_now_ns();
	if (!err)
		err = reconciler_create(&r, &maps);
	run->create_ms = ms_since(t0);
	for (i = 0; i < S_BACKENDS; i++)
		up[i] = true;
	if (!err)
		err = policy_apply(r, &m, up, &policy_ms, &st);
	run->policy_ms = policy_ms;
	run->apply_ms = (double)st.duration_ns / 1e6;
	run->visible_ms = (double)st.visible_ns / 1e6;
	run->full_ms = run->policy_ms + run->apply_ms;
	run->writes = st.writes;
	run->ring_swaps = st.ring_swaps;
	run->table_swaps = st.table_swaps;
	if (!err)
		err = policy_apply(r, &m, up, &policy_ms, &again);
	run->again_ms = policy_ms + (double)again.duration_ns / 1e6;
	run->again_writes = again.writes + again.deletes;
	up[5] = false;
	if (!err)
		err = policy_apply(r, &m, up, &flip_policy_ms, &flip);
	run->flip_ms = flip_policy_ms + (double)flip.duration_ns / 1e6;
	run->flip_visible_ms = flip_policy_ms + (double)flip.visible_ns / 1e6;
	run->flip_writes = flip.writes + flip.deletes;
	if (r)
		reconciler_destroy(r);
	meridian_maps_close(&maps);
	if (obj)
		tr_obj_close(obj);
	model_free(&m);
	if (err)
		log_err("reconcile at scale: %s", strerror(-err));
	return err;
}

static int reconcile_run_all(void)
{
	struct opts o = { .iface = "eth0", .pin_dir = MERIDIAN_PIN_DIR,
			  .socket = "/run/meridian/ctl" };
	char *text = yaml_text(&o, &yaml_len);
	int err = 0, i;

	if (!text)
		return -ENOMEM;
	for (i = 0; !err && i < RECONCILE_REPS; i++)
		err = reconcile_once(text, &runs[i]);
	free(text);
	return err;
}

static double runs_median(size_t off)
{
	double v[RECONCILE_REPS];
	int i;

	for (i = 0; i < RECONCILE_REPS; i++)
		memcpy(&v[i], (const char *)&runs[i] + off, sizeof(double));
	return bench_quantile(v, RECONCILE_REPS, 0.5);
}

static double runs_max(size_t off)
{
	double v[RECONCILE_REPS];
	int i;

	for (i = 0; i < RECONCILE_REPS; i++)
		memcpy(&v[i], (const char *)&runs[i] + off, sizeof(double));
	return bench_quantile(v, RECONCILE_REPS, 1);
}

#define RUNS_MEDIAN(field) runs_median(offsetof(struct reconcile_run, field))
#define RUNS_MAX(field) runs_max(offsetof(struct reconcile_run, field))

/* --- probes ------------------------------------------------------------- */

/*
 * Two setups. veth: the backends live in a second namespace behind a veth
 * pair, as remote backends do; the prober is pinned to one CPU and the
 * listener to the other, and RPS on each end of the pair runs that side's
 * receive softirq on its own CPU. So the backend side of every handshake
 * (SYN, child socket, accept queue, the RST) is done on the listener's CPU
 * and the prober's CPU does the client side. It also pays for handing each
 * packet across: an IPI unless the other CPU's backlog is already
 * scheduled, where a real host would write to its NIC and take its
 * interrupts. lo: every backend is local on lo in this namespace, and the
 * server side runs inline in the prober's own syscalls and is charged to
 * it; kept for comparison.
 */
struct probe_result {
	double seconds, cpu_user, cpu_sys, probes_per_s;
	uint64_t ok, failed, local_errors, sockets_opened;
	int cpu[2]; /* the prober's and the listener's (veth only) */
	double busy[2]; /* their busy fraction while probing, /proc/stat */
	double irq[2]; /* the part of it in hard and soft irqs */
	double idle_busy[2]; /* the same just before, nothing probing */
	double idle_irq[2];
	double awake[2], idle_awake[2]; /* not idle, exactly: see below */
	double ipis[2]; /* function-call IPIs they took per second, or -1 */
};

static struct probe_result probe_lo, probe_veth;
static const char *veth_skipped; /* why the veth setup did not run */

/* Accepts and closes; ends after max_s, or with its parent. */
static void listen_loop(int lfd, unsigned int max_s)
{
	uint64_t end = bench_now_ns() + (uint64_t)max_s * 1000000000ull;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int c;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	while (bench_now_ns() < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(c);
	}
}

static int listen_socket(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	int fd, err, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, 4096)) {
		err = -errno;
		log_err("listening on port %d: %s", port, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

static void on_probe(void *arg, uint32_t backend, bool ok, uint32_t rtt_us,
		     const char *why, double lag)
{
	uint64_t *counts = arg;

	(void)backend;
	(void)rtt_us;
	(void)why;
	(void)lag;
	counts[ok ? 0 : 1]++;
}

static void probe_loop(struct prober *p, double seconds)
{
	uint64_t end = bench_now_ns() + (uint64_t)(seconds * 1e9);
	struct pollfd pfd = { .fd = prober_fd(p), .events = POLLIN };

	while (bench_now_ns() < end) {
		poll(&pfd, 1, 100);
		prober_dispatch(p);
	}
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The probed backends: the prober's targets and the floor's addresses. */
static void probe_addr(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "198.19.%u.%u", BACKEND_NET + i / 250, 1 + i % 250);
}

static void probe_targets(struct probe_target *t)
{
	char addr[32];
	unsigned int i;

	for (i = 0; i < PROBE_BACKENDS; i++) {
		probe_addr(i, addr, sizeof(addr));
		model_addr_parse(addr, &t[i].addr);
		t[i].port = S_PORT;
		t[i].spec.kind = PROBE_TCP;
		t[i].spec.interval_ms = PROBE_INTERVAL_MS;
		t[i].spec.timeout_ms = PROBE_INTERVAL_MS;
		t[i].spec.rise = 2;
		t[i].spec.fall = 3;
		t[i].spec.jitter_pct = 10;
	}
}

struct cpu_ticks {
	unsigned long long busy, irq, total; /* irq: hard and soft */
};

/*
 * One CPU's line of /proc/stat: user nice system idle iowait irq softirq
 * steal (guest time is inside user). Busy is everything but idle and
 * iowait.
 */
static int cpu_ticks_read(int cpu, struct cpu_ticks *t)
{
	unsigned long long v[8];
	char line[512], name[16];
	int len, err = -ENOENT;
	FILE *f;

	len = snprintf(name, sizeof(name), "cpu%d ", cpu);
	f = fopen("/proc/stat", "r");
	if (!f) {
		err = -errno;
		log_err("/proc/stat: %s", strerror(-err));
		return err;
	}
	while (err && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, len))
			continue;
		if (sscanf(line + len,
			   "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) != 8)
			break;
		t->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		t->irq = v[5] + v[6];
		t->total = t->busy + v[3] + v[4];
		err = 0;
	}
	fclose(f);
	if (err)
		log_err("/proc/stat: no usable line for cpu %d", cpu);
	return err;
}

static int cpu_ticks_pair(const int cpu[2], struct cpu_ticks t[2])
{
	return cpu_ticks_read(cpu[0], &t[0]) ?: cpu_ticks_read(cpu[1], &t[1]);
}

/* Busy and irq shares of each CPU between a and b. */
static void busy_between(const struct cpu_ticks a[2],
			 const struct cpu_ticks b[2], double busy[2],
			 double irq[2])
{
	unsigned long long total;
	int i;

	for (i = 0; i < 2; i++) {
		total = b[i].total - a[i].total;
		busy[i] = irq[i] = 0;
		if (!total)
			continue;
		busy[i] = (double)(b[i].busy - a[i].busy) / total;
		irq[i] = (double)(b[i].irq - a[i].irq) / total;
	}
}

/*
 * The share of the wall time cpu[] was not idle. Busy above is sampled at
 * the tick, which a load that wakes on timers can dodge; with NO_HZ the
 * idle time is accounted exactly, so wall less idle is the time the CPU
 * was awake: tasks, and irqs that came while it was idle too.
 */
static void awake_between(const struct cpu_ticks a[2],
			  const struct cpu_ticks b[2], double seconds,
			  double awake[2])
{
	double hz = (double)sysconf(_SC_CLK_TCK), idle;
	int i;

	for (i = 0; i < 2; i++) {
		idle = (double)((b[i].total - b[i].busy) -
				(a[i].total - a[i].busy));
		awake[i] = seconds > 0 ? 1 - idle / hz / seconds : 0;
	}
}

/*
 * Function-call IPIs taken so far by cpu[0] and cpu[1], -1 if unknown: the
 * CAL line of /proc/interrupts (x86). RPS hands a packet to another CPU
 * with one unless that CPU's backlog is already scheduled.
 */
static void ipis_read(const int cpu[2], long long out[2])
{
	char line[4096], *tok, *save;
	int col[2] = { -1, -1 }, c, i;
	FILE *f = fopen("/proc/interrupts", "r");

	out[0] = out[1] = -1;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		for (c = 0, tok = strtok_r(line, " \t\n", &save); tok;
		     c++, tok = strtok_r(NULL, " \t\n", &save))
			for (i = 0; i < 2; i++)
				if (!strncmp(tok, "CPU", 3) &&
				    atoi(tok + 3) == cpu[i])
					col[i] = c;
	while (fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\n", &save);
		if (!tok || strcmp(tok, "CAL:"))
			continue;
		for (c = 0; (tok = strtok_r(NULL, " \t\n", &save)); c++)
			for (i = 0; i < 2; i++)
				if (c == col[i])
					out[i] = atoll(tok);
		break;
	}
	fclose(f);
}

static void ipis_between(const long long a[2], const long long b[2],
			 double seconds, double out[2])
{
	int i;

	for (i = 0; i < 2; i++)
		out[i] = a[i] < 0 || b[i] < 0 ? -1 : (b[i] - a[i]) / seconds;
}

/* per_cpu: also the busy fraction of res->cpu[] over the same window. */
static int probe_measure(double seconds, struct probe_result *res, bool per_cpu)
{
	static struct probe_target t[PROBE_BACKENDS];
	struct cpu_ticks c0[2], c1[2];
	long long ipi0[2], ipi1[2];
	uint64_t counts[2] = { 0 }, t0;
	struct prober_stats st0, st;
	struct rusage r0, r1;
	struct prober *p;
	int err;

	probe_targets(t);
	err = prober_create(&p, t, PROBE_BACKENDS, on_probe, counts);
	if (err)
		return err;
	probe_loop(p, PROBE_WARM_SECONDS);
	counts[0] = counts[1] = 0;
	prober_get_stats(p, &st0);
	if (per_cpu) {
		ipis_read(res->cpu, ipi0);
		err = cpu_ticks_pair(res->cpu, c0);
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = bench_now_ns();
	if (!err)
		probe_loop(p, seconds);
	res->seconds = (double)(bench_now_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &r1);
	if (per_cpu && !err) {
		err = cpu_ticks_pair(res->cpu, c1);
		ipis_read(res->cpu, ipi1);
	}
	prober_get_stats(p, &st);
	prober_destroy(p);
	if (err)
		return err;
	if (per_cpu) {
		busy_between(c0, c1, res->busy, res->irq);
		awake_between(c0, c1, res->seconds, res->awake);
		ipis_between(ipi0, ipi1, res->seconds, res->ipis);
	}
	res->cpu_user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	res->cpu_sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	res->ok = counts[0];
	res->failed = counts[1];
	res->local_errors = st.local_errors - st0.local_errors;
	res->sockets_opened = st.sockets_opened - st0.sockets_opened;
	res->probes_per_s = (double)(counts[0] + counts[1]) / res->seconds;
	return 0;
}

/* The same CPUs for the same time, nothing probing: their noise floor. */
static int idle_baseline(double seconds, struct probe_result *res)
{
	struct cpu_ticks a[2], b[2];
	uint64_t t0;
	int err;

	err = cpu_ticks_pair(res->cpu, a);
	if (err)
		return err;
	t0 = bench_now_ns();
	bench_sleep_ns((uint64_t)(seconds * 1e9));
	err = cpu_ticks_pair(res->cpu, b);
	if (err)
		return err;
	busy_between(a, b, res->idle_busy, res->idle_irq);
	awake_between(a, b, (double)(bench_now_ns() - t0) / 1e9,
		      res->idle_awake);
	return 0;
}

/*
 * The kernel floor: the cheapest full TCP connect probe there is, so that
 * the prober's figure can be read against what the kernel alone costs
 * here. No prober, no epoll, no timers: the same addresses in turn, a
 * nonblocking connect, poll() on that one fd, SO_ERROR, then the same RST
 * the prober sends. Fresh: a socket per connect, closed with SO_LINGER 0.
 * Kept: one socket for every connect, disconnected by connect(AF_UNSPEC)
 * (the prober keeps one per backend; one, always cache-hot, is the
 * cheapest case).
 * Paced: the prober's rate for the prober's window; unpaced: as fast as
 * it goes, for FLOOR_BURST connects.
 */
enum floor_kind { FLOOR_FRESH, FLOOR_KEPT, FLOOR_KINDS };

struct floor_result {
	double seconds, cpu_user, cpu_sys;
	uint64_t connects, ok, failed, local_errors;
	double awake[2], ipis[2]; /* paced behind the veth pair, as a probe's */
};

struct floor_set {
	struct floor_result paced[FLOOR_KINDS], burst[FLOOR_KINDS];
	bool done;
};

static struct floor_set floor_lo, floor_veth;

static const char *const floor_kind_name[FLOOR_KINDS] = {
	[FLOOR_FRESH] = "fresh socket, SO_LINGER 0, close",
	[FLOOR_KEPT] = "kept socket, connect(AF_UNSPEC)",
};

struct floor_sock {
	enum floor_kind kind;
	int fd; /* -1 between connects when fresh, or after a local error */
};

static int floor_addrs(struct sockaddr_in *sin)
{
	char addr[32];
	unsigned int i;

	for (i = 0; i < PROBE_BACKENDS; i++) {
		probe_addr(i, addr, sizeof(addr));
		sin[i] = (struct sockaddr_in){ .sin_family = AF_INET,
					       .sin_port = htons(S_PORT) };
		if (inet_pton(AF_INET, addr, &sin[i].sin_addr) != 1) {
			log_err("floor: bad backend address %s", addr);
			return -EINVAL;
		}
	}
	return 0;
}

/* As the prober's: SO_LINGER 0, so that any close() is an RST. */
static int floor_socket(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* 1: the handshake completed; 0: refused or timed out; < 0: local error. */
static int floor_handshake(int fd, const struct sockaddr_in *sin)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) &&
	    errno != EINPROGRESS)
		return errno == ECONNREFUSED ? 0 : -errno;
	if (poll(&pfd, 1, PROBE_INTERVAL_MS) != 1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return !soerr;
}

/* The RST, and a socket ready for the next connect when kept. */
static int floor_disconnect(struct floor_sock *s)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	int err = 0;

	if (s->kind == FLOOR_KEPT && !connect(s->fd, &sa, sizeof(sa)))
		return 0;
	if (s->kind == FLOOR_KEPT)
		err = -errno;
	close(s->fd);
	s->fd = -1;
	return err;
}

static void floor_probe(struct floor_sock *s, const struct sockaddr_in *sin,
			struct floor_result *r)
{
	int ret;

	if (s->fd < 0)
		s->fd = floor_socket();
	ret = s->fd < 0 ? s->fd : floor_handshake(s->fd, sin);
	if (s->fd >= 0 && floor_disconnect(s) && ret >= 0)
		ret = -EIO;
	r->connects++;
	if (ret > 0)
		r->ok++;
	else if (!ret)
		r->failed++;
	else
		r->local_errors++;
}

/* On the monotonic clock, bench_now_ns()'s. */
static void sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
			       .tv_nsec = (long)(t_ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/*
 * n connects, over the addresses in turn. Paced: batch b of FLOOR_BATCH
 * starts no earlier than b batch periods after the first, so a loop that
 * falls behind runs flat out and shows as a low rate. Bounded by max_s.
 */
static void floor_loop(struct floor_sock *s, const struct sockaddr_in *sin,
		       uint64_t n, bool paced, double max_s,
		       struct floor_result *r)
{
	uint64_t batch_ns = FLOOR_BATCH * 1000000000ull / FLOOR_RATE;
	uint64_t t0 = bench_now_ns(), end = t0 + (uint64_t)(max_s * 1e9);
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (i % FLOOR_BATCH == 0) {
			if (bench_now_ns() >= end)
				break;
			if (paced)
				sleep_until_ns(t0 + i / FLOOR_BATCH * batch_ns);
		}
		floor_probe(s, &sin[i % PROBE_BACKENDS], r);
	}
}

/* cpu: the prober's and the listener's, for their awake time; or NULL. */
static int floor_measure(enum floor_kind kind, bool paced, double seconds,
			 const int *cpu, struct floor_result *r)
{
	static struct sockaddr_in sin[PROBE_BACKENDS];
	struct floor_sock s = { .kind = kind, .fd = -1 };
	uint64_t n = paced ? (uint64_t)(seconds * FLOOR_RATE) : FLOOR_BURST;
	double max_s = paced ? seconds * FLOOR_LATE : FLOOR_BURST_MAX_S;
	struct cpu_ticks c0[2], c1[2];
	struct floor_result warm = { 0 };
	long long ipi0[2], ipi1[2];
	struct rusage r0, r1;
	uint64_t t0;
	int err;

	err = floor_addrs(sin);
	if (err)
		return err;
	floor_loop(&s, sin, PROBE_BACKENDS, false, FLOOR_BURST_MAX_S, &warm);
	*r = (struct floor_result){ 0 };
	if (cpu) {
		ipis_read(cpu, ipi0);
		err = cpu_ticks_pair(cpu, c0);
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = bench_now_ns();
	if (!err)
		floor_loop(&s, sin, n, paced, max_s, r);
	r->seconds = (double)(bench_now_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &r1);
	if (cpu && !err) {
		err = cpu_ticks_pair(cpu, c1);
		ipis_read(cpu, ipi1);
	}
	if (s.fd >= 0)
		close(s.fd);
	if (err)
		return err;
	if (cpu) {
		awake_between(c0, c1, r->seconds, r->awake);
		ipis_between(ipi0, ipi1, r->seconds, r->ipis);
	}
	r->cpu_user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	r->cpu_sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	return 0;
}

/* Both kinds, paced then unpaced; cpu as for floor_measure(). */
static int floor_run(double seconds, const int *cpu, struct floor_set *set)
{
	int k, err = 0;

	for (k = 0; !err && k < FLOOR_KINDS; k++)
		err = floor_measure(k, true, seconds, cpu, &set->paced[k]);
	for (k = 0; !err && k < FLOOR_KINDS; k++)
		err = floor_measure(k, false, seconds, NULL, &set->burst[k]);
	set->done = !err;
	return err;
}

static int run_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		log_err("command failed (status %#x): %s", status, cmd);
		return -EIO;
	}
	return 0;
}

/*
 * A bound only (the listener goes with us): an idle baseline, the prober
 * with its warm-up, and the floor's runs with theirs, each at its bound.
 */
static unsigned int listener_max_s(double seconds)
{
	return (unsigned int)((2 + 2 * FLOOR_LATE) * (seconds + 1)) +
	       2 * FLOOR_KINDS * FLOOR_BURST_MAX_S + 30;
}

/* Every backend address local on lo: one listener answers them all. */
static int probe_run_lo(double seconds)
{
	int lfd, status, err;
	pid_t child;

	if (run_cmd("ip addr add " BACKEND_LO " dev lo"))
		return -EIO;
	lfd = listen_socket(S_PORT);
	err = lfd < 0 ? lfd : 0;
	if (err)
		goto out;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		err = -errno;
		log_err("fork: %s", strerror(-err));
		close(lfd);
		goto out;
	}
	if (child == 0) {
		listen_loop(lfd, listener_max_s(seconds));
		_exit(0);
	}
	close(lfd);
	err = probe_measure(seconds, &probe_lo, false) ?:
	      floor_run(seconds, NULL, &floor_lo);
	kill(child, SIGTERM);
	waitpid(child, &status, 0);
out:
	/* The veth setup routes this net elsewhere. */
	if (run_cmd("ip addr del " BACKEND_LO " dev lo") && !err)
		err = -EIO;
	return err;
}

/*
 * The prober's CPU (the highest we may use) and the listener's (the next
 * one down). Below 32, so that one hex word is the RPS mask.
 */
static int pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int c, found = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (c = 31; c >= 0 && found < 2; c--)
		if (CPU_ISSET(c, &set))
			cpu[found++] = c;
	return found == 2 ? 0 : -ENODEV;
}

/*
 * RPS: the receive softirq of dev runs on cpu. rps_cpus shows through a
 * sysfs mounted in this network namespace, so mount one in a mount
 * namespace of its own (what `ip netns exec` does); nothing else sees it.
 */
static int set_rps(const char *dev, int cpu)
{
	return run_cmd("unshare -m sh -c 'umount -l /sys 2>/dev/null; "
		       "mount -t sysfs sysfs /sys && echo %x > "
		       "/sys/class/net/%s/queues/rx-0/rps_cpus'",
		       1u << cpu, dev);
}

struct veth_setup {
	char client[IFNAMSIZ], server[IFNAMSIZ];
	int ready[2]; /* backend namespace -> us */
	int go[2]; /* us -> backend namespace */
	pid_t child;
};

static int send_byte(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -EIO;
}

/* Bounded: SETUP_WAIT_MS, or the other side's end closing. */
static int wait_byte(int fd, char want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&pfd, 1, SETUP_WAIT_MS) != 1 || read(fd, &c, 1) != 1 ||
	    c != want) {
		log_err("probe setup: no '%c' from the other namespace", want);
		return -ETIMEDOUT;
	}
	return 0;
}

/*
 * The backends' side, in a child: a namespace of its own (it dies with
 * the child, and the veth pair with it), lo holding the whole backend net,
 * its end of the pair, and the listener, pinned to cpu.
 */
static void backend_ns_main(const struct veth_setup *v, int cpu,
			    unsigned int max_s, pid_t parent)
{
	int lfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(v->ready[0]);
	close(v->go[1]);
	if (getppid() != parent)
		_exit(1);
	if (unshare(CLONE_NEWNET)) {
		log_err("unshare(CLONE_NEWNET): %s", strerror(errno));
		_exit(1);
	}
	if (bench_pin_cpu(cpu) < 0 || send_byte(v->ready[1], 'n') ||
	    wait_byte(v->go[0], 'g'))
		_exit(1);
	if (run_cmd("ip link set lo up && ip addr add " BACKEND_LO
		    " dev lo && ip addr add " VETH_SERVER_ADDR
		    "/30 dev %s && ip link set %s up",
		    v->server, v->server) ||
	    set_rps(v->server, cpu))
		_exit(1);
	lfd = listen_socket(S_PORT);
	if (lfd < 0 || send_byte(v->ready[1], 'l'))
		_exit(1);
	listen_loop(lfd, max_s);
	_exit(0);
}

/* Our end: the pair, the route to the backends, RPS to the prober's CPU. */
static int veth_connect(const struct veth_setup *v, int cpu)
{
	return wait_byte(v->ready[0], 'n') ?:
	       run_cmd("ip link add %s type veth peer name %s netns %d",
		       v->client, v->server, (int)v->child) ?:
	       run_cmd("ip addr add " VETH_CLIENT_ADDR "/30 dev %s && "
		       "ip link set %s up && ip route add " BACKEND_ROUTE
		       " via " VETH_SERVER_ADDR,
		       v->client, v->client) ?:
	       set_rps(v->client, cpu) ?:
	       send_byte(v->go[1], 'g') ?:
	       wait_byte(v->ready[0], 'l');
}

static void veth_teardown(struct veth_setup *v)
{
	int i;

	if (v->child > 0) {
		/* One end goes, the pair goes; the child's namespace too. */
		run_cmd("ip link del dev %s 2>/dev/null || true", v->client);
		kill(v->child, SIGKILL);
		waitpid(v->child, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		if (v->ready[i] >= 0)
			close(v->ready[i]);
		if (v->go[i] >= 0)
			close(v->go[i]);
	}
}

static int probe_run_veth(double seconds)
{
	struct veth_setup v = { .ready = { -1, -1 }, .go = { -1, -1 } };
	struct probe_result *res = &probe_veth;
	pid_t self = getpid();
	cpu_set_t saved;
	int err = 0;

	if (pick_cpus(res->cpu)) {
		veth_skipped = "needs two CPUs";
		return 0;
	}
	snprintf(v.client, sizeof(v.client), "mpc%d", (int)self);
	snprintf(v.server, sizeof(v.server), "mps%d", (int)self);
	if (sched_getaffinity(0, sizeof(saved), &saved) ||
	    pipe2(v.ready, O_CLOEXEC) || pipe2(v.go, O_CLOEXEC)) {
		err = -errno;
		log_err("probe setup: %s", strerror(-err));
		goto out;
	}
	fflush(NULL);
	v.child = fork();
	if (v.child < 0) {
		err = -errno;
		log_err("fork: %s", strerror(-err));
		goto out;
	}
	if (v.child == 0)
		backend_ns_main(&v, res->cpu[1], listener_max_s(seconds), self);
	close(v.ready[1]);
	close(v.go[0]);
	v.ready[1] = v.go[0] = -1;
	err = veth_connect(&v, res->cpu[0]);
	if (!err && bench_pin_cpu(res->cpu[0]) < 0)
		err = -EIO;
	if (!err)
		err = idle_baseline(seconds, res);
	if (!err)
		err = probe_measure(seconds, res, true);
	if (!err)
		err = floor_run(seconds, res->cpu, &floor_veth);
	sched_setaffinity(0, sizeof(saved), &saved);
out:
	veth_teardown(&v);
	return err;
}

static int probe_run(double seconds)
{
	prober_raise_fd_limit();
	return probe_run_lo(seconds) ?: probe_run_veth(seconds);
}

/* --- report ------------------------------------------------------------- */

static void print_maglev(FILE *f)
{
	unsigned int i;

	fprintf(f, "\nmaglev_build(), equal weights; median of repeated "
		   "builds\n");
	fprintf(f, "%9s %10s %12s %12s %6s\n", "backends", "ring size",
		"p50 us", "min us", "reps");
	for (i = 0; i < n_cells; i++)
		fprintf(f, "%9u %10u %12.1f %12.1f %6u%s\n", cells[i].n,
			cells[i].size, cells[i].p50_us, cells[i].min_us,
			cells[i].reps,
			cells[i].size == maglev_ring_size(cells[i].n) ?
				"   (the product's size)" :
				"");
}

static const char *reconcile_verdict(void)
{
	return RUNS_MEDIAN(full_ms) <= RECONCILE_TARGET_MS ? "PASS" : "MISS";
}

static void print_reconcile(FILE *f)
{
	const struct reconcile_run *r = &runs[0];

	fprintf(f, "\nreconcile: %d VIPs x %d regions x %d backends, one "
		   "strict class; YAML %zu KiB;\n"
		   "%u writes: %u ring swaps, %u region-table swaps, the rest "
		   "VIP keys, prefilter,\nbackends, class prefixes, config. "
		   "Median (max) of %d runs, ms:\n",
		S_VIPS, S_REGIONS, S_PER_REGION, yaml_len / 1024, r->writes,
		r->ring_swaps, r->table_swaps, RECONCILE_REPS);
	fprintf(f, "  %-46s %8.1f (%.1f)\n", "parse + validate the YAML",
		RUNS_MEDIAN(parse_ms), RUNS_MAX(parse_ms));
	fprintf(f, "  %-46s %8.1f (%.1f)\n",
		"reconciler_create (read the maps)", RUNS_MEDIAN(create_ms),
		RUNS_MAX(create_ms));
	fprintf(f, "  %-46s %8.1f (%.1f)\n", "policy_build (desired state)",
		RUNS_MEDIAN(policy_ms), RUNS_MAX(policy_ms));
	fprintf(f, "  %-46s %8.1f (%.1f)\n", "reconcile_apply into empty maps",
		RUNS_MEDIAN(apply_ms), RUNS_MAX(apply_ms));
	fprintf(f, "  %-46s %8.1f (%.1f)\n",
		"  of which until the last write was in use",
		RUNS_MEDIAN(visible_ms), RUNS_MAX(visible_ms));
	fprintf(f, "  %-46s %8.1f (%.1f)   target <= %.0f: %s\n",
		"full reconcile = policy + apply", RUNS_MEDIAN(full_ms),
		RUNS_MAX(full_ms), RECONCILE_TARGET_MS, reconcile_verdict());
	fprintf(f, "  %-46s %8.1f (%.1f)   %u writes\n",
		"the same state again (policy + diff)", RUNS_MEDIAN(again_ms),
		RUNS_MAX(again_ms), r->again_writes);
	fprintf(f, "  %-46s %8.1f (%.1f)   %u writes\n",
		"one backend down (policy + apply)", RUNS_MEDIAN(flip_ms),
		RUNS_MAX(flip_ms), r->flip_writes);
	fprintf(f, "  %-46s %8.1f (%.1f)\n",
		"  of which until its writes were in use",
		RUNS_MEDIAN(flip_visible_ms), RUNS_MAX(flip_visible_ms));
}

static double rusage_pct(const struct probe_result *p)
{
	return 100 * (p->cpu_user + p->cpu_sys) / p->seconds;
}

/* The CPU's busy share while probing, less its idle baseline. */
static double net_busy_pct(const struct probe_result *p, int i)
{
	return 100 * (p->busy[i] - p->idle_busy[i]);
}

/* A CPU's awake share in a run behind the veth pair, less its baseline. */
static double net_awake_pct(const struct probe_result *p,
			    const double awake[2], int i)
{
	return 100 * (awake[i] - p->idle_awake[i]);
}

/*
 * The verdict's figure is the prober's own CPU time, receive softirqs that
 * interrupted it included. Its CPU's busy time less the baseline would
 * also hold those that ran while it slept, but it holds whatever else ran
 * there too: a baseline just before does not keep another tenant of a
 * shared machine out of the window, so it is reported, not judged.
 */
static double probe_cost_pct(void)
{
	return rusage_pct(&probe_veth);
}

/* Only a run that did the probing it claims measures anything. */
static bool probe_valid(const struct probe_result *p)
{
	double want = p->seconds * PROBE_BACKENDS * 1000.0 / PROBE_INTERVAL_MS;

	return (double)p->ok >= PROBE_MIN_OK * want &&
	       (double)(p->failed + p->local_errors) <= PROBE_MAX_BAD * want;
}

static const char *probe_verdict(void)
{
	if (!probe_valid(&probe_veth))
		return "INVALID";
	return probe_cost_pct() <= PROBE_TARGET_PCT ? "PASS" : "MISS";
}

static void print_probe_run(FILE *f, const struct probe_result *p)
{
	fprintf(f, "  %.0f probes/s (%llu ok, %llu failed, %llu local "
		   "errors), %llu sockets opened\n"
		   "  prober CPU (getrusage): user %.2f s + sys %.2f s = "
		   "%.1f %% of one core\n",
		p->probes_per_s, (unsigned long long)p->ok,
		(unsigned long long)p->failed,
		(unsigned long long)p->local_errors,
		(unsigned long long)p->sockets_opened, p->cpu_user, p->cpu_sys,
		rusage_pct(p));
}

static void print_probe_veth(FILE *f)
{
	const struct probe_result *p = &probe_veth;

	if (veth_skipped) {
		fprintf(f, "\nbackends behind a veth pair: skipped, %s\n",
			veth_skipped);
		return;
	}
	fprintf(f, "\nbackends in a second namespace behind a veth pair "
		   "(198.19.128.0/17 routed\nover it); the prober pinned to "
		   "cpu %d, the listener to cpu %d, RPS on each end\nto its "
		   "side's CPU:\n",
		p->cpu[0], p->cpu[1]);
	print_probe_run(f, p);
	fprintf(f, "  cpu %d busy (/proc/stat; anything that ran there): %.1f "
		   "%% while probing\n    - %.1f %% idle baseline (%.0f s just "
		   "before) = %.1f %%; in irqs %.1f %% - %.1f %%\n",
		p->cpu[0], 100 * p->busy[0], 100 * p->idle_busy[0], p->seconds,
		net_busy_pct(p, 0), 100 * p->irq[0], 100 * p->idle_irq[0]);
	fprintf(f, "  cpu %d busy, the listener and the backend side: %.1f %% "
		   "- %.1f %% = %.1f %%\n",
		p->cpu[1], 100 * p->busy[1], 100 * p->idle_busy[1],
		net_busy_pct(p, 1));
	fprintf(f, "  not idle (wall less the idle time NO_HZ accounts "
		   "exactly): cpu %d %.1f %%\n    - %.1f %% = %.1f %%, cpu %d "
		   "%.1f %% - %.1f %% = %.1f %%\n",
		p->cpu[0], 100 * p->awake[0], 100 * p->idle_awake[0],
		net_awake_pct(p, p->awake, 0), p->cpu[1], 100 * p->awake[1],
		100 * p->idle_awake[1], net_awake_pct(p, p->awake, 1));
	if (p->ipis[0] >= 0 && p->ipis[1] >= 0)
		fprintf(f, "  function-call IPIs taken (RPS hand-offs; a VM exit "
			   "each on a KVM guest):\n    cpu %d %.0f/s, cpu %d "
			   "%.0f/s; %.2f per probe in all\n",
			p->cpu[0], p->ipis[0], p->cpu[1], p->ipis[1],
			(p->ipis[0] + p->ipis[1]) / p->probes_per_s);
	fprintf(f, "  probe CPU (the prober's getrusage): %.1f %% of one core   "
		   "target <= %.0f %%: %s\n",
		probe_cost_pct(), PROBE_TARGET_PCT, probe_verdict());
}

static double floor_cpu_s(const struct floor_result *r)
{
	return r->cpu_user + r->cpu_sys;
}

static double floor_pct(const struct floor_result *r)
{
	return r->seconds > 0 ? 100 * floor_cpu_s(r) / r->seconds : 0;
}

static double floor_us(const struct floor_result *r)
{
	return r->connects ? 1e6 * floor_cpu_s(r) / (double)r->connects : 0;
}

static double floor_rate(const struct floor_result *r)
{
	return r->seconds > 0 ? (double)r->connects / r->seconds : 0;
}

/* As for the prober: the connects done, at the rate, nearly all answered. */
static bool floor_result_valid(const struct floor_result *r, bool paced)
{
	double n = (double)r->connects;

	if (paced ? floor_rate(r) < PROBE_MIN_OK * FLOOR_RATE :
		    r->connects < FLOOR_BURST)
		return false;
	return (double)r->ok >= PROBE_MIN_OK * n &&
	       (double)(r->failed + r->local_errors) <= PROBE_MAX_BAD * n;
}

static bool floor_valid(const struct floor_set *set)
{
	int k;

	if (!set->done)
		return false;
	for (k = 0; k < FLOOR_KINDS; k++)
		if (!floor_result_valid(&set->paced[k], true) ||
		    !floor_result_valid(&set->burst[k], false))
			return false;
	return true;
}

/* The floor: the cheaper of the two ways, paced. */
static double floor_min_pct(const struct floor_set *set)
{
	double a = floor_pct(&set->paced[FLOOR_FRESH]);
	double b = floor_pct(&set->paced[FLOOR_KEPT]);

	return a < b ? a : b;
}

static double probe_us(const struct probe_result *p)
{
	double n = (double)(p->ok + p->failed);

	return n ? 1e6 * (p->cpu_user + p->cpu_sys) / n : 0;
}

static void print_floor_rows(FILE *f, const struct floor_set *set,
			     const struct probe_result *p)
{
	const struct floor_result *a, *b;
	uint64_t bad = 0;
	int k;

	fprintf(f, "    %-34s %-27s %s\n    %-34s %10s %8s %7s %9s %10s\n",
		"", "---------- paced ----------", "----- unpaced -----", "",
		"connects/s", "% core", "us/conn", "us/conn", "connects/s");
	for (k = 0; k < FLOOR_KINDS; k++) {
		a = &set->paced[k];
		b = &set->burst[k];
		fprintf(f, "    %-34s %10.0f %8.1f %7.1f %9.1f %10.0f\n",
			floor_kind_name[k], floor_rate(a), floor_pct(a),
			floor_us(a), floor_us(b), floor_rate(b));
		bad += a->failed + a->local_errors + b->failed +
		       b->local_errors;
	}
	fprintf(f, "    %-34s %10.0f %8.1f %7.1f\n",
		"the prober (above), for comparison", p->probes_per_s,
		rusage_pct(p), probe_us(p));
	fprintf(f, "    %llu connects failed or hit a local error in all%s\n",
		(unsigned long long)bad,
		floor_valid(set) ? "" : "; INVALID: not done at the rate, or "
					"too many failed");
}

static void print_floor_veth(FILE *f)
{
	const struct probe_result *p = &probe_veth;
	const struct floor_result *fr = &floor_veth.paced[FLOOR_FRESH],
				  *kp = &floor_veth.paced[FLOOR_KEPT];
	int i;

	fprintf(f, "  behind the veth pair, pinned as the prober was (cpu %d, "
		   "the listener cpu %d):\n",
		p->cpu[0], p->cpu[1]);
	print_floor_rows(f, &floor_veth, p);
	fprintf(f, "    paced, not idle less the baseline (fresh, kept; the "
		   "prober):\n");
	for (i = 0; i < 2; i++)
		fprintf(f, "      cpu %d%s: %.1f %%, %.1f %%; %.1f %%\n",
			p->cpu[i], i ? " (listener)" : "",
			net_awake_pct(p, fr->awake, i),
			net_awake_pct(p, kp->awake, i),
			net_awake_pct(p, p->awake, i));
	if (fr->ipis[0] >= 0 && fr->ipis[1] >= 0 && kp->ipis[0] >= 0 &&
	    kp->ipis[1] >= 0)
		fprintf(f, "      function-call IPIs per connect, both CPUs: "
			   "%.2f, %.2f; %.2f\n",
			(fr->ipis[0] + fr->ipis[1]) / floor_rate(fr),
			(kp->ipis[0] + kp->ipis[1]) / floor_rate(kp),
			(p->ipis[0] + p->ipis[1]) / p->probes_per_s);
}

static void print_floor(FILE *f)
{
	fprintf(f, "\nkernel floor: the cheapest full TCP connect probe, "
		   "without the prober. The same\n%d addresses in turn, one "
		   "at a time: a nonblocking connect, poll() on that\nfd, "
		   "SO_ERROR, then the RST. Paced at %d connects/s (the "
		   "prober's rate), %d a\nbatch, for the prober's window; "
		   "unpaced for %d connects. CPU is this\nprocess's "
		   "getrusage, user + sys, as for the prober:\n",
		PROBE_BACKENDS, FLOOR_RATE, FLOOR_BATCH, FLOOR_BURST);
	if (floor_veth.done)
		print_floor_veth(f);
	fprintf(f, "  on loopback, the server side included, not pinned:\n");
	print_floor_rows(f, &floor_lo, &probe_lo);
	fprintf(f, "  %.0f %% of one core at %d probes/s is %.1f us of CPU per "
		   "probe.\n",
		PROBE_TARGET_PCT, FLOOR_RATE,
		PROBE_TARGET_PCT / 100 * 1e6 / FLOOR_RATE);
}

static void print_probes(FILE *f)
{
	fprintf(f, "\nprobes: %d backends, TCP connect every %d ms (jitter "
		   "10%%); each setup measured\nfor %.1f s after %.0f s of "
		   "warm-up\n",
		PROBE_BACKENDS, PROBE_INTERVAL_MS, probe_lo.seconds,
		PROBE_WARM_SECONDS);
	print_probe_veth(f);
	fprintf(f, "\nincluding the server side on loopback: every backend "
		   "local on lo, one\nlistener in this namespace, not "
		   "pinned:\n");
	print_probe_run(f, &probe_lo);
	print_floor(f);
}

static int report(FILE *f, void *arg)
{
	const struct opts *o = arg;

	bench_print_env(f, "bench-ctl: control-plane costs", -1);
	if (!o->probes_only) {
		print_maglev(f);
		print_reconcile(f);
	}
	print_probes(f);
	return 0;
}

static void write_summary_ctl(FILE *f)
{
	unsigned int i;

	for (i = 0; i < n_cells; i++)
		if (cells[i].size == maglev_ring_size(cells[i].n) &&
		    (cells[i].n == 64 || cells[i].n == 655))
			fprintf(f, "maglev build, %u backends, ring "
				   "%u|%.0f us|-|-\n",
				cells[i].n, cells[i].size, cells[i].p50_us);
	fprintf(f, "full reconcile, 1000 VIPs x 8 regions x 64 backends|%.1f "
		   "ms|<= %.0f ms|%s\n",
		RUNS_MEDIAN(full_ms), RECONCILE_TARGET_MS, reconcile_verdict());
	fprintf(f, "one backend down at that scale (policy + apply)|%.1f "
		   "ms|-|-\n",
		RUNS_MEDIAN(flip_ms));
}

static void write_summary_floor(FILE *f, const char *setup,
				const struct floor_set *set)
{
	fprintf(f, "probe CPU floor: bare TCP connect+disconnect, %dk/s, "
		   "%s|%.1f %% of a core|-|%s\n",
		FLOOR_RATE / 1000, setup, floor_min_pct(set),
		floor_valid(set) ? "-" : "INVALID");
}

static void write_summary_probes(FILE *f)
{
	if (veth_skipped)
		fprintf(f, "probe CPU, %d backends every %d ms|skipped: %s|"
			   "<= %.0f %%|-\n",
			PROBE_BACKENDS, PROBE_INTERVAL_MS, veth_skipped,
			PROBE_TARGET_PCT);
	else
		fprintf(f, "probe CPU, %d backends every %d ms|%.1f %% of a "
			   "core|<= %.0f %%|%s\n",
			PROBE_BACKENDS, PROBE_INTERVAL_MS, probe_cost_pct(),
			PROBE_TARGET_PCT, probe_verdict());
	fprintf(f, "probe CPU, %d backends, incl. server side on "
		   "loopback|%.1f %% of a core|-|-\n",
		PROBE_BACKENDS, rusage_pct(&probe_lo));
	if (floor_veth.done)
		write_summary_floor(f, "veth", &floor_veth);
	write_summary_floor(f, "lo", &floor_lo);
}

static int write_summary(const struct opts *o)
{
	FILE *f;

	if (!o->sum)
		return 0;
	f = fopen(o->sum, "a");
	if (!f)
		return -errno;
	if (!o->probes_only)
		write_summary_ctl(f);
	write_summary_probes(f);
	fclose(f);
	return 0;
}

/* --- main --------------------------------------------------------------- */

static bool probes_valid(void)
{
	if (!floor_valid(&floor_lo))
		return false;
	return veth_skipped ||
	       (probe_valid(&probe_veth) && floor_valid(&floor_veth));
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-o FILE] [-s FILE] [-t PROBE_SECONDS] [-P]\n"
		"       %s -C FILE [-I IFACE] [-p PIN_DIR] [-S SOCKET]\n"
		"       %s -L PORT -T SECONDS\n",
		prog, prog, prog);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int opt;

	o->iface = "eth0";
	o->pin_dir = MERIDIAN_PIN_DIR;
	o->socket = "/run/meridian/ctl";
	o->probe_s = PROBE_SECONDS;
	while ((opt = getopt(argc, argv, "o:s:t:PC:I:p:S:L:T:h")) != -1) {
		switch (opt) {
		case 'o':
			o->out = optarg;
			break;
		case 's':
			o->sum = optarg;
			break;
		case 't':
			o->probe_s = atof(optarg);
			break;
		case 'P':
			o->probes_only = true;
			break;
		case 'C':
			o->config_out = optarg;
			break;
		case 'I':
			o->iface = optarg;
			break;
		case 'p':
			o->pin_dir = optarg;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'L':
			o->listen_port = atoi(optarg);
			break;
		case 'T':
			o->listen_s = (unsigned int)atoi(optarg);
			break;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (o->probe_s < 1 || o->probe_s > 100 ||
	    (o->listen_port && (o->listen_port > 65535 || !o->listen_s ||
				o->listen_s > LISTEN_MAX_S))) {
		usage(argv[0]);
		return -EINVAL;
	}
	return 0;
}

static int run_listener(const struct opts *o)
{
	int lfd = listen_socket(o->listen_port);

	if (lfd < 0)
		return 1;
	listen_loop(lfd, o->listen_s);
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	struct tr_env env;
	struct opts o = { 0 };
	int err;

	log_init(argv[0]);
	if (parse_args(argc, argv, &o))
		return 2;
	if (o.config_out)
		return write_config(&o) ? 1 : 0;
	if (o.listen_port)
		return run_listener(&o);
	err = tr_netns_enter(&env);
	if (!err && !o.probes_only)
		err = maglev_run() ?: reconcile_run_all();
	if (!err)
		err = probe_run(o.probe_s);
	if (!err)
		err = bench_write_report(report, &o, o.out) ?:
		      write_summary(&o);
	/* An INVALID probe or floor run is written out, and fails it. */
	return bench_exit_code(err, "bench-ctl: skipped: needs root",
			       probes_valid());
}
