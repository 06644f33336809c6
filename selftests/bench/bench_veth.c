// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * veth throughput of bpf/edge.bpf.o, against a minimal reference encap
 * program measured in the same run.
 *
 * The path, all on one CPU (the thread is pinned, and veth runs its NAPI
 * where the frames were sent from):
 *
 *   bench_gen  --XDP_TX-->  mer-in-p ==veth==> mer-in   (edge or reference,
 *   (test-run,                                           native XDP)
 *    live frames)                                          | XDP_TX
 *                           mer-in-p <==veth== mer-in  <---+
 *                           (bench_sink: counts, drops)
 *
 * The generator is the test-run program, not the edge: live frames reuse
 * pages without restoring their content, so bench_gen writes a fresh
 * client frame into every page, and the edge receives it from a veth
 * exactly as it would from a NIC and really transmits with XDP_TX.
 *
 * Mpps is what bench_sink counted over its own first-to-last timestamps.
 * Programs take turns round by round in rotating order, so drift hits them
 * alike; the headline is the median over rounds and the ratio of medians.
 * A round whose receiver count differs from what was sent, an edge run
 * that did not take the XDP_TX/LRU-hit path, or a veth XDP error or drop
 * counter that moved makes the run INVALID (exit 1). A missed target is
 * reported as MISS and is not an error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_progs.h"
#include "bench_util.h"
#include "edge_fixture.h"

#define ROUNDS_DEFAULT 15
#define FRAMES_DEFAULT (1u << 20)
#define FLOWS_DEFAULT 1024
#define WARM_FRAMES 65536
#define BATCH 64 /* frames per live-frames batch, the kernel's default */
#define PAYLOAD 10 /* bytes: 64-byte frames */
#define SETTLE_POLL_NS 1000000ull
#define SETTLE_MAX_NS 2000000000ull
#define TARGET_RATIO 0.85
#define MAX_ROUNDS 101

enum row_id { R_EDGE, R_ENCAP, R_TX, R_MAX };

struct row {
	const char *name;
	const char *what;
	int prog;
	double mpps[MAX_ROUNDS];
	double gen_mpps[MAX_ROUNDS]; /* frames sent / syscall wall time */
	unsigned int n;
	uint64_t sent, received, plain, off_cpu;
	unsigned int short_rounds; /* receiver count != sent */
};

static struct row rows[R_MAX] = {
	[R_EDGE] = { .name = "edge", .what = "bpf/edge.bpf.o, LRU hit, IPIP" },
	[R_ENCAP] = { .name = "reference encap",
		      .what = "bpf/bench_encap.bpf.o: IPIP, fixed backend" },
	[R_TX] = { .name = "tx only", .what = "bench_tx: MAC swap, XDP_TX" },
};

/* The veth counters that must not move, on both ends. */
static const char *const error_stats[] = {
	"rx_queue_0_drops",
	"rx_queue_0_xdp_tx_errors",
	"tx_queue_0_xdp_xmit_errors",
};

#define N_ERROR_STATS (sizeof(error_stats) / sizeof(error_stats[0]))

struct veth_stats {
	uint64_t err[N_ERROR_STATS];
	uint64_t xdp_drops; /* rx_queue_0_xdp_drops */
	uint64_t xdp_packets; /* rx_queue_0_xdp_packets */
	bool ok;
};

struct bench {
	struct fx fx;
	struct bpf_object *gen_obj, *sink_obj, *encap_obj;
	int gen_prog, sink_prog, sink_stats;
	int cpu, ncpus;
	unsigned int rounds, flows;
	uint32_t frames;
	struct veth_stats in0, in1, peer0, peer1;
	struct meridian_counters edge0, edge1;
	uint64_t edge_frames;
	double seconds;
};

/* --- setup ------------------------------------------------------------- */

static int map_put(struct bpf_object *obj, const char *name, const void *val)
{
	uint32_t zero = 0;
	int fd = tr_map_fd(obj, name), err;

	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, &zero, val, BPF_ANY);
	if (err)
		log_err("writing %s: %s", name, strerror(-err));
	return err;
}

static int gen_configure(struct bench *b)
{
	struct bench_gen_cfg cfg = { .flows = b->flows };
	struct pkt frame;
	int err;

	err = fx_simple(&frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 40000, 80,
			PAYLOAD);
	if (err)
		return err;
	if (frame.len != BENCH_FRAME_LEN) {
		log_err("generator frame is %zu bytes, want %d", frame.len,
			BENCH_FRAME_LEN);
		return -EINVAL;
	}
	memcpy(cfg.frame, frame.data, BENCH_FRAME_LEN);
	cfg.sport_off = PKT_ETH_HLEN + 20;
	cfg.csum_off = PKT_ETH_HLEN + 20 + 16;
	return map_put(b->gen_obj, "bench_gen_cfg", &cfg);
}

static int encap_configure(struct bench *b)
{
	struct bench_encap_cfg cfg = { 0 };
	uint8_t addr[16];

	memcpy(cfg.smac, b->fx.env.in.mac, 6);
	memcpy(cfg.dmac, b->fx.env.in.peer_mac, 6);
	if (pkt_addr(FX_TUNNEL4, addr) != 4)
		return -EINVAL;
	memcpy(&cfg.saddr, addr, 4);
	if (pkt_addr(TR_IN_REMOTE4, addr) != 4)
		return -EINVAL;
	memcpy(&cfg.daddr, addr, 4);
	return map_put(b->encap_obj, "bench_encap_cfg", &cfg);
}

static int load_objects(struct bench *b)
{
	b->gen_obj = tr_obj_load("bpf/bench_gen.bpf.o");
	b->sink_obj = tr_obj_load("bpf/bench_sink.bpf.o");
	b->encap_obj = tr_obj_load("bpf/bench_encap.bpf.o");
	if (!b->gen_obj || !b->sink_obj || !b->encap_obj)
		return -ENOENT;
	b->gen_prog = tr_prog_fd(b->gen_obj, "bench_gen");
	b->sink_prog = tr_prog_fd(b->sink_obj, "bench_sink");
	b->sink_stats = tr_map_fd(b->sink_obj, "bench_sink_stats");
	rows[R_EDGE].prog = b->fx.prog;
	rows[R_ENCAP].prog = tr_prog_fd(b->encap_obj, "bench_encap");
	rows[R_TX].prog = tr_prog_fd(b->encap_obj, "bench_tx");
	if (b->gen_prog < 0 || b->sink_prog < 0 || b->sink_stats < 0 ||
	    rows[R_ENCAP].prog < 0 || rows[R_TX].prog < 0)
		return -ENOENT;
	return 0;
}

/* Native mode only: a silent fallback to generic would measure skbs. */
static int attach(int ifindex, int prog)
{
	int err = bpf_xdp_attach(ifindex, prog, XDP_FLAGS_DRV_MODE, NULL);

	if (err)
		log_err("native XDP attach to ifindex %d: %s", ifindex,
			strerror(-err));
	return err;
}

/*
 * A veth's NAPI runs on the CPU that scheduled it, and keeps running
 * there while its ring has frames. One frame the kernel sends by itself
 * (IPv6 neighbour discovery or MLD, from a timer on another CPU) would
 * carry the receive side of the whole round off our CPU. Everything here
 * is IPv4 with permanent neighbours, so IPv6 goes.
 */
static int quiet_links(void)
{
	static const char *const devs[] = { "all", "default", TR_IN_NAME,
					    TR_IN_PEER_NAME, TR_OUT_NAME,
					    TR_OUT_PEER_NAME };
	char path[128];
	unsigned int i;
	FILE *f;

	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv6/conf/%s/disable_ipv6", devs[i]);
		f = fopen(path, "w");
		if (!f || fputs("1", f) < 0 || fclose(f)) {
			log_err("writing %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * The fixture's topology: VIP 1 (198.18.50.1 tcp/80) in region 0 over
 * ring 1, backends 198.19.0.10/.11 routed out of mer-in: XDP_TX.
 */
static int setup(struct bench *b)
{
	int err;

	err = fx_setup(&b->fx) ?: quiet_links();
	if (err)
		return err;
	err = fx_topology(&b->fx) ?: fx_table_one(&b->fx, 1, 0, 0, 1) ?:
	      fx_config(&b->fx, 0, 0);
	if (err) {
		log_err("edge topology and tables: error %d", err);
		return err < 0 ? err : -EINVAL;
	}
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus < 1 || b->ncpus > 1024)
		return -EINVAL;
	return load_objects(b) ?: gen_configure(b) ?: encap_configure(b) ?:
	       attach(b->fx.env.in.peer_ifindex, b->sink_prog);
}

/* --- one round --------------------------------------------------------- */

static int sink_reset(struct bench *b)
{
	struct bench_sink_stats *v = calloc(b->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int err;

	if (!v)
		return -ENOMEM;
	err = bpf_map_update_elem(b->sink_stats, &zero, v, BPF_ANY);
	free(v);
	return err;
}

/* Totals over CPUs; *off_cpu counts frames seen on another CPU than ours. */
static int sink_read(struct bench *b, struct bench_sink_stats *sum,
		     uint64_t *off_cpu)
{
	struct bench_sink_stats *v = calloc(b->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int err, i;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	*off_cpu = 0;
	err = bpf_map_lookup_elem(b->sink_stats, &zero, v);
	for (i = 0; !err && i < b->ncpus; i++) {
		sum->encap += v[i].encap;
		sum->plain += v[i].plain;
		if (v[i].first_ns &&
		    (!sum->first_ns || v[i].first_ns < sum->first_ns))
			sum->first_ns = v[i].first_ns;
		if (v[i].last_ns > sum->last_ns)
			sum->last_ns = v[i].last_ns;
		if (i != b->cpu)
			*off_cpu += v[i].encap + v[i].plain;
	}
	free(v);
	return err;
}

static int generate(struct bench *b, uint32_t frames, uint64_t *wall_ns)
{
	struct xdp_md ctx = { .data_end = BENCH_FRAME_LEN,
			      .ingress_ifindex = b->fx.env.in.peer_ifindex };
	struct bench_gen_cfg cfg;
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = cfg.frame,
		    .data_size_in = BENCH_FRAME_LEN, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .repeat = frames,
		    .batch_size = BATCH);
	uint64_t t0;
	int err;

	err = bpf_map_lookup_elem(tr_map_fd(b->gen_obj, "bench_gen_cfg"),
				  &zero, &cfg);
	if (err)
		return err;
	t0 = bench_now_ns();
	err = bpf_prog_test_run_opts(b->gen_prog, &opts);
	*wall_ns = bench_now_ns() - t0;
	if (err)
		log_err("live-frames test run: %s", strerror(-err));
	return err;
}

/* Frames may still sit in a veth ring when the test run returns. */
static int settle(struct bench *b, uint64_t want, struct bench_sink_stats *s,
		  uint64_t *off_cpu)
{
	uint64_t start = bench_now_ns(), last = UINT64_MAX;
	int err;

	for (;;) {
		err = sink_read(b, s, off_cpu);
		if (err || s->encap + s->plain >= want ||
		    s->encap + s->plain == last ||
		    bench_now_ns() - start > SETTLE_MAX_NS)
			return err;
		last = s->encap + s->plain;
		bench_sleep_ns(SETTLE_POLL_NS);
	}
}

static int run_round(struct bench *b, struct row *r, bool record)
{
	uint32_t frames = record ? b->frames : WARM_FRAMES;
	struct bench_sink_stats s;
	uint64_t wall, got, off_cpu;
	int err;

	err = attach(b->fx.env.in.ifindex, r->prog) ?: sink_reset(b) ?:
	      generate(b, frames, &wall) ?: settle(b, frames, &s, &off_cpu);
	if (err || !record)
		return err;
	got = r == &rows[R_TX] ? s.plain : s.encap;
	r->sent += frames;
	r->received += got;
	r->plain += r == &rows[R_TX] ? s.encap : s.plain;
	r->off_cpu += off_cpu;
	if (got != frames)
		r->short_rounds++;
	if (s.last_ns > s.first_ns)
		r->mpps[r->n] = (double)(got - 1) * 1e3 /
				(double)(s.last_ns - s.first_ns);
	r->gen_mpps[r->n] = wall ? (double)frames * 1e3 / (double)wall : 0;
	r->n++;
	return 0;
}

/* --- veth counters ----------------------------------------------------- */

static int veth_read(const char *dev, struct veth_stats *vs)
{
	char cmd[96], line[256], name[128];
	unsigned long long v;
	unsigned int i;
	FILE *p;

	memset(vs, 0, sizeof(*vs));
	snprintf(cmd, sizeof(cmd), "ethtool -S %s 2>/dev/null", dev);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, " %127[^:]: %llu", name, &v) != 2)
			continue;
		vs->ok = true;
		for (i = 0; i < N_ERROR_STATS; i++)
			if (!strcmp(name, error_stats[i]))
				vs->err[i] = v;
		if (!strcmp(name, "rx_queue_0_xdp_drops"))
			vs->xdp_drops = v;
		if (!strcmp(name, "rx_queue_0_xdp_packets"))
			vs->xdp_packets = v;
	}
	pclose(p);
	if (!vs->ok)
		log_err("no ethtool -S statistics for %s", dev);
	return vs->ok ? 0 : -ENODEV;
}

static uint64_t veth_errors(const struct veth_stats *a,
			    const struct veth_stats *b)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < N_ERROR_STATS; i++)
		sum += b->err[i] - a->err[i];
	return sum;
}

/* --- the run ----------------------------------------------------------- */

static int run_all(struct bench *b)
{
	uint64_t start;
	unsigned int r, k;
	int err = 0;

	for (k = 0; !err && k < R_MAX; k++)
		err = run_round(b, &rows[k], false);
	err = err ?: veth_read(TR_IN_NAME, &b->in0) ?:
	      veth_read(TR_IN_PEER_NAME, &b->peer0) ?:
	      meridian_counters_read(&b->fx.m, &b->edge0);
	start = bench_now_ns();
	for (r = 0; !err && r < b->rounds; r++)
		for (k = 0; !err && k < R_MAX; k++)
			err = run_round(b, &rows[(r + k) % R_MAX], true);
	b->seconds = (double)(bench_now_ns() - start) / 1e9;
	b->edge_frames = rows[R_EDGE].sent;
	return err ?: veth_read(TR_IN_NAME, &b->in1) ?:
	       veth_read(TR_IN_PEER_NAME, &b->peer1) ?:
	       meridian_counters_read(&b->fx.m, &b->edge1);
}

/* --- report ------------------------------------------------------------ */

static double median_of(const double *v, unsigned int n)
{
	double tmp[MAX_ROUNDS];

	memcpy(tmp, v, n * sizeof(*v));
	return bench_quantile(tmp, n, 0.5);
}

static double min_of(const double *v, unsigned int n)
{
	double m = n ? v[0] : 0;
	unsigned int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static double max_of(const double *v, unsigned int n)
{
	double m = n ? v[0] : 0;
	unsigned int i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* Edge over reference, round by round (they ran next to each other). */
static double ratio_median(void)
{
	double v[MAX_ROUNDS];
	unsigned int i, n = rows[R_EDGE].n;

	if (rows[R_ENCAP].n < n)
		n = rows[R_ENCAP].n;
	for (i = 0; i < n; i++)
		v[i] = rows[R_ENCAP].mpps[i] ?
			       rows[R_EDGE].mpps[i] / rows[R_ENCAP].mpps[i] :
			       0;
	return bench_quantile(v, n, 0.5);
}

static uint64_t edge_delta(const struct bench *b, size_t off)
{
	uint64_t x, y;

	memcpy(&x, (const char *)&b->edge0 + off, 8);
	memcpy(&y, (const char *)&b->edge1 + off, 8);
	return y - x;
}

#define EDGE_DELTA(b, field)                                                   \
	edge_delta(b, offsetof(struct meridian_counters, field))

static bool edge_path_ok(const struct bench *b)
{
	return EDGE_DELTA(b, action[MERIDIAN_ACT_TX]) == b->edge_frames &&
	       EDGE_DELTA(b, lru_hit) == b->edge_frames;
}

static bool veth_ok(const struct bench *b)
{
	return !veth_errors(&b->in0, &b->in1) &&
	       !veth_errors(&b->peer0, &b->peer1) &&
	       b->in1.xdp_drops == b->in0.xdp_drops;
}

static bool rows_ok(void)
{
	int k;

	for (k = 0; k < R_MAX; k++)
		if (rows[k].short_rounds || rows[k].off_cpu || !rows[k].n)
			return false;
	return true;
}

static bool bench_valid(const struct bench *b)
{
	return rows_ok() && edge_path_ok(b) && veth_ok(b);
}

static void print_rows(FILE *f, double ratio)
{
	double ref = median_of(rows[R_ENCAP].mpps, rows[R_ENCAP].n);
	int k;

	fprintf(f, "\n%-16s %7s %7s %7s %7s %8s %8s\n", "program", "Mpps",
		"min", "max", "ns/pkt", "vs ref", "sender");
	for (k = 0; k < R_MAX; k++) {
		const struct row *r = &rows[k];
		double med = median_of(r->mpps, r->n);

		fprintf(f, "%-16s %7.3f %7.3f %7.3f %7.1f %7.1f%% %8.3f\n",
			r->name, med, min_of(r->mpps, r->n),
			max_of(r->mpps, r->n), med ? 1e3 / med : 0,
			ref ? 100 * med / ref : 0,
			median_of(r->gen_mpps, r->n));
	}
	fprintf(f, "\nheadline: edge / reference encap, median of the "
		   "per-round ratios: %.1f%% (target >= %.0f%%): %s\n",
		100 * ratio, 100 * TARGET_RATIO,
		ratio >= TARGET_RATIO ? "PASS" : "MISS");
}

static void print_veth(FILE *f, const char *dev, const struct veth_stats *a,
		       const struct veth_stats *b)
{
	unsigned int i;

	fprintf(f, "  %-9s", dev);
	for (i = 0; i < N_ERROR_STATS; i++)
		fprintf(f, " %s +%llu", error_stats[i] + 11,
			(unsigned long long)(b->err[i] - a->err[i]));
	fprintf(f, " xdp_drops +%llu xdp_packets +%llu\n",
		(unsigned long long)(b->xdp_drops - a->xdp_drops),
		(unsigned long long)(b->xdp_packets - a->xdp_packets));
}

static void print_checks(FILE *f, const struct bench *b)
{
	int k;

	fprintf(f, "\nchecks:\n");
	for (k = 0; k < R_MAX; k++)
		fprintf(f, "  %-16s %s: sent %llu, received %llu (%u short "
			   "rounds), other frames %llu, on other CPUs %llu\n",
			rows[k].name,
			rows[k].short_rounds || rows[k].off_cpu ? "INVALID" :
								  "ok",
			(unsigned long long)rows[k].sent,
			(unsigned long long)rows[k].received,
			rows[k].short_rounds,
			(unsigned long long)rows[k].plain,
			(unsigned long long)rows[k].off_cpu);
	fprintf(f, "  edge counters    %s: action.tx +%llu, lru_hit +%llu "
		   "for %llu frames\n",
		edge_path_ok(b) ? "ok" : "INVALID",
		(unsigned long long)EDGE_DELTA(b, action[MERIDIAN_ACT_TX]),
		(unsigned long long)EDGE_DELTA(b, lru_hit),
		(unsigned long long)b->edge_frames);
	fprintf(f, "  veth counters    %s (ethtool -S, over all rounds; "
		   "xdp_drops on %s are the sink's own):\n",
		veth_ok(b) ? "ok" : "INVALID", TR_IN_PEER_NAME);
	print_veth(f, TR_IN_NAME, &b->in0, &b->in1);
	print_veth(f, TR_IN_PEER_NAME, &b->peer0, &b->peer1);
}

static int report(FILE *f, void *arg)
{
	struct bench *b = arg;
	double ratio = ratio_median();
	int k;

	bench_print_env(f, "bench-veth: XDP throughput over veth, one core",
			b->cpu);
	fprintf(f, "method:   bench_gen (live frames, %d-byte IPv4 TCP frames, "
		   "%u flows) -> veth -> program\n"
		   "          under test (native XDP, XDP_TX) -> veth -> "
		   "bench_sink; Mpps counted by the\n"
		   "          sink over its own bpf_ktime span; programs "
		   "alternate round by round\n",
		BENCH_FRAME_LEN, b->flows);
	fprintf(f, "samples:  %u rounds x %u frames per program, %.1f s\n",
		rows[R_EDGE].n, b->frames, b->seconds);
	for (k = 0; k < R_MAX; k++)
		fprintf(f, "          %-16s %s\n", rows[k].name, rows[k].what);
	print_rows(f, ratio);
	fprintf(f, "          (ratio of the medians: %.1f%%; \"sender\" is "
		   "frames sent / test-run wall time)\n",
		100 * median_of(rows[R_EDGE].mpps, rows[R_EDGE].n) /
			median_of(rows[R_ENCAP].mpps, rows[R_ENCAP].n));
	print_checks(f, b);
	return 0;
}

static int write_summary(const struct bench *b, const char *path)
{
	double ratio = ratio_median();
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f) {
		log_err("opening %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "veth Mpps, edge (LRU hit)|%.2f Mpps|-|-\n",
		median_of(rows[R_EDGE].mpps, rows[R_EDGE].n));
	fprintf(f, "veth Mpps, reference encap|%.2f Mpps|-|-\n",
		median_of(rows[R_ENCAP].mpps, rows[R_ENCAP].n));
	fprintf(f, "veth edge / reference encap|%.1f %%|>= %.0f %%|%s\n",
		100 * ratio, 100 * TARGET_RATIO,
		!bench_valid(b)		 ? "INVALID" :
		ratio >= TARGET_RATIO ? "PASS" :
					  "MISS");
	fprintf(f, "veth XDP error/drop counters|%s|0|%s\n",
		veth_ok(b) ? "0" : "non-zero", veth_ok(b) ? "PASS" : "INVALID");
	fclose(f);
	return 0;
}

/* --- main -------------------------------------------------------------- */

static void teardown(struct bench *b)
{
	if (b->gen_obj)
		tr_obj_close(b->gen_obj);
	if (b->sink_obj)
		tr_obj_close(b->sink_obj);
	if (b->encap_obj)
		tr_obj_close(b->encap_obj);
	fx_teardown(&b->fx);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-o FILE] [-s FILE] [-r ROUNDS] [-n FRAMES] "
		"[-f FLOWS] [-c CPU]\n"
		"  -o FILE    also write the report to FILE\n"
		"  -s FILE    append summary rows (name|value|target|result)\n"
		"  -r ROUNDS  rounds per program (default %d)\n"
		"  -n FRAMES  frames per round (default %u)\n"
		"  -f FLOWS   flows, a power of two (default %d)\n"
		"  -c CPU     CPU to pin to (default: the highest allowed)\n",
		prog, ROUNDS_DEFAULT, FRAMES_DEFAULT, FLOWS_DEFAULT);
}

static int parse_args(int argc, char **argv, struct bench *b,
		      const char **out, const char **sum)
{
	int opt;

	b->rounds = ROUNDS_DEFAULT;
	b->frames = FRAMES_DEFAULT;
	b->flows = FLOWS_DEFAULT;
	b->cpu = -1;
	while ((opt = getopt(argc, argv, "o:s:r:n:f:c:h")) != -1) {
		if (bench_common_opt(opt, optarg, out, sum, &b->rounds,
				     &b->cpu))
			continue;
		switch (opt) {
		case 'n':
			b->frames = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			b->flows = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (!b->rounds || b->rounds >= MAX_ROUNDS || b->frames < 1000 ||
	    b->frames > (1u << 26) || !b->flows || b->flows > 65536 ||
	    (b->flows & (b->flows - 1))) {
		log_err("rounds 1..%d, frames 1000..%u, flows a power of two "
			"up to 65536",
			MAX_ROUNDS - 1, 1u << 26);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	const char *out = NULL, *sum = NULL;
	int err;

	log_init(argv[0]);
	if (parse_args(argc, argv, &b, &out, &sum))
		return 2;
	b.cpu = bench_pin_cpu(b.cpu);
	if (b.cpu < 0)
		return 1;
	err = setup(&b) ?: run_all(&b);
	if (!err)
		err = bench_write_report(report, &b, out) ?:
		      write_summary(&b, sum);
	teardown(&b);
	return bench_exit_code(err, "bench-veth: skipped: needs root",
			       bench_valid(&b));
}
