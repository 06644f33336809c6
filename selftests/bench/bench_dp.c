// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Data-plane cost of bpf/edge.bpf.o per packet, against the cheapest XDP
 * program there is (bpf/xdp_pass.bpf.o) measured in the same run.
 *
 * Every call is a BPF_PROG_TEST_RUN with repeat = 1: the kernel copies the
 * frame afresh each time (with repeat > 1 it reuses the buffer, and an
 * encapsulating program would see its own output), and reports the
 * duration of that one run. The thread is pinned to one CPU. Floor and
 * edge alternate call by call on the same frame, and the paths take turns
 * in rounds, so drift and noise hit all of them alike.
 *
 * Benchmarks do not assert: a missed target prints MISS and the exit code
 * stays 0. A row whose runs did not take the path it names (a wrong
 * verdict, or counters that disagree) measured something else: it says
 * INVALID and the exit code is 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "edge_fixture.h"

#define ROUNDS_DEFAULT 2000
#define BATCH 64 /* floor/edge pairs per path per round */
#define TIME_LIMIT_NS (40ull * 1000000000ull) /* stop early past this */
#define BENCH_MTU 1400 /* config mtu; the too-big frame exceeds it */
#define TOO_BIG_PAYLOAD 1360 /* TCP payload: a 1400-byte IP packet */
#define NON_VIP "198.18.60.1"
/*
 * New flows come from 198.18.128.0/17 (32768 sources) times source ports
 * from 1024 up: distinct for two billion flows, so no run ever repeats one.
 * Before measuring, new flows go in until every set of the flow cache is
 * full (four times its ways fill all but about 1e-4 of the sets, then more
 * until the count says full), so every measured insert evicts, as on a
 * busy edge.
 */
#define NEW_FLOW_NET 0xc6128000u /* 198.18.128.0 */
#define NEW_FLOW_HOST_BITS 15
#define NEW_FLOW_PREFILL (4 * MERIDIAN_FLOW_ENTRIES)
#define NEW_FLOW_PREFILL_MAX (16 * MERIDIAN_FLOW_ENTRIES)
#define FRAME_IP4 PKT_ETH_HLEN
#define FRAME_IP4_SRC (FRAME_IP4 + 12)
#define FRAME_L4 (FRAME_IP4 + 20)

struct series {
	uint32_t *ns;
	size_t n;
};

struct stats {
	double p10, p50, p90;
	double mean; /* of the samples up to p99 */
};

struct path {
	const char *name;
	double target; /* largest edge/floor median ratio; 0: none */
	uint32_t verdict; /* what every edge run must return */
	size_t counter; /* offset of the counter each edge run bumps once */
	const char *counter_name;
	bool new_flows; /* a distinct flow on every run */
	struct pkt frame;
	struct series floor, edge;
	uint64_t counted;
	unsigned int wrong_verdicts;
};

enum path_id {
	P_NON_VIP,
	P_LRU4,
	P_LRU6,
	P_NEW4,
	P_TOO_BIG,
	P_MAX,
};

static struct path paths[P_MAX] = {
	[P_NON_VIP] = { .name = "non-VIP IPv4 TCP", .target = 1.5,
			.verdict = XDP_PASS,
			.counter = offsetof(struct meridian_counters,
					    action[MERIDIAN_ACT_PASS_NONVIP]),
			.counter_name = "action.pass_nonvip" },
	[P_LRU4] = { .name = "LRU hit IPv4 TCP", .target = 2.5,
		     .verdict = XDP_TX,
		     .counter = offsetof(struct meridian_counters, lru_hit),
		     .counter_name = "lru_hit" },
	[P_LRU6] = { .name = "LRU hit IPv6 TCP", .target = 2.5,
		     .verdict = XDP_TX,
		     .counter = offsetof(struct meridian_counters, lru_hit),
		     .counter_name = "lru_hit" },
	[P_NEW4] = { .name = "new flow IPv4 TCP", .target = 4.0,
		     .verdict = XDP_TX, .new_flows = true,
		     .counter = offsetof(struct meridian_counters, lru_miss),
		     .counter_name = "lru_miss" },
	[P_TOO_BIG] = { .name = "ICMP too-big IPv4", .verdict = XDP_TX,
			.counter = offsetof(struct meridian_counters,
					    icmp_too_big),
			.counter_name = "icmp_too_big" },
};

struct bench {
	struct fx fx;
	struct bpf_object *floor_obj;
	int floor_prog;
	int cpu;
	unsigned int rounds;
	unsigned int rounds_done;
	uint32_t next_flow;
	uint32_t prefilled; /* new flows sent before measuring */
	unsigned int floor_wrong;
	double seconds;
};

static struct tr_result run_res;

/* Flow i of the new-flow sequence, written into the template frame. */
static int new_flow_frame(struct pkt *frame, uint32_t i)
{
	uint32_t src = htonl(NEW_FLOW_NET |
			     (i & ((1u << NEW_FLOW_HOST_BITS) - 1)));
	uint16_t sport = htons(1024 + (i >> NEW_FLOW_HOST_BITS));

	memcpy(frame->data + FRAME_IP4_SRC, &src, sizeof(src));
	memcpy(frame->data + FRAME_L4, &sport, sizeof(sport));
	pkt_ipv4_fix_csum(frame->data + FRAME_IP4);
	return pkt_l4_fix_csum(frame->data + FRAME_IP4,
			       frame->len - FRAME_IP4);
}

static int run_prog(int prog, const struct pkt *frame, uint32_t *ns,
		    uint32_t *verdict)
{
	int err = tr_run(prog, frame->data, frame->len, &run_res);

	if (err)
		return err;
	*ns = run_res.duration_ns;
	*verdict = run_res.retval;
	return 0;
}

/* One floor run and one edge run on the same frame, in the given order. */
static int run_pair(struct bench *b, struct path *p, bool edge_first)
{
	uint32_t floor_ns, edge_ns, floor_v, edge_v;
	int err;

	if (edge_first) {
		err = run_prog(b->fx.prog, &p->frame, &edge_ns, &edge_v) ?:
		      run_prog(b->floor_prog, &p->frame, &floor_ns, &floor_v);
	} else {
		err = run_prog(b->floor_prog, &p->frame, &floor_ns, &floor_v) ?:
		      run_prog(b->fx.prog, &p->frame, &edge_ns, &edge_v);
	}
	if (err)
		return err;
	if (edge_v != p->verdict)
		p->wrong_verdicts++;
	if (floor_v != XDP_PASS)
		b->floor_wrong++;
	p->floor.ns[p->floor.n++] = floor_ns;
	p->edge.ns[p->edge.n++] = edge_ns;
	return 0;
}

static uint64_t counter_at(const struct meridian_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static int run_batch(struct bench *b, struct path *p)
{
	struct meridian_counters before, after;
	unsigned int i;
	int err;

	err = meridian_counters_read(&b->fx.m, &before);
	for (i = 0; !err && i < BATCH; i++) {
		if (p->new_flows)
			err = new_flow_frame(&p->frame, b->next_flow++);
		if (!err)
			err = run_pair(b, p, i & 1);
	}
	if (!err)
		err = meridian_counters_read(&b->fx.m, &after);
	if (err)
		return err;
	p->counted += counter_at(&after, p->counter) -
		      counter_at(&before, p->counter);
	return 0;
}

static int run_rounds(struct bench *b)
{
	uint64_t start = bench_now_ns();
	unsigned int r;
	int err = 0, i;

	for (r = 0; !err && r < b->rounds; r++) {
		for (i = 0; !err && i < P_MAX; i++)
			err = run_batch(b, &paths[i]);
		if (bench_now_ns() - start > TIME_LIMIT_NS) {
			fprintf(stderr, "bench_dp: time limit, stopping after "
				"%u of %u rounds\n", r + 1, b->rounds);
			r++;
			break;
		}
	}
	b->rounds_done = r;
	b->seconds = (double)(bench_now_ns() - start) / 1e9;
	return err;
}

static int series_alloc(struct series *s, size_t n)
{
	s->n = 0;
	s->ns = calloc(n, sizeof(*s->ns));
	if (!s->ns) {
		log_err("no memory for %zu samples", n);
		return -ENOMEM;
	}
	return 0;
}

/* A connection's first packet: SYN, as a new flow arrives in practice. */
static int build_frames(void)
{
	struct pkt_ip syn_ip = { .src = FX_CLIENT4, .dst = VIP4,
				 .frag = PKT_DF };
	struct pkt_l4 syn = { .proto = IPPROTO_TCP, .sport = 1024,
			      .dport = 80, .tcp_flags = PKT_TCP_SYN };
	int err;

	err = fx_simple(&paths[P_NON_VIP].frame, FX_CLIENT4, NON_VIP,
			IPPROTO_TCP, 40000, 80, 0) ?:
	      fx_simple(&paths[P_LRU4].frame, FX_CLIENT4, VIP4, IPPROTO_TCP,
			40000, 80, 0) ?:
	      fx_simple(&paths[P_LRU6].frame, FX_CLIENT6, VIP6, IPPROTO_TCP,
			40000, 443, 0) ?:
	      fx_simple(&paths[P_TOO_BIG].frame, FX_CLIENT4, VIP4,
			IPPROTO_TCP, 40001, 80, TOO_BIG_PAYLOAD) ?:
	      fx_frame(&paths[P_NEW4].frame, &syn_ip, &syn);
	if (err)
		log_err("building frames: %s", strerror(-err));
	return err;
}

/*
 * The fixture's topology; VIP 1 (IPv4, tcp/80) in region 0 over ring 1,
 * VIP 4 (IPv6, tcp/443) in region 2 over ring 5: both leave by XDP_TX.
 */
static int setup(struct bench *b)
{
	size_t n;
	int err, i;

	err = fx_setup(&b->fx);
	if (err)
		return err;
	err = fx_topology(&b->fx) ?: fx_table_one(&b->fx, 1, 0, 0, 1) ?:
	      fx_table_one(&b->fx, 4, 0, 2, 5) ?:
	      fx_config(&b->fx, BENCH_MTU, 0);
	if (err) {
		/* fx_topology may say only that it failed, not why. */
		log_err("edge topology and tables: error %d", err);
		return err < 0 ? err : -EINVAL;
	}
	b->floor_obj = tr_obj_load("bpf/xdp_pass.bpf.o");
	if (!b->floor_obj)
		return -ENOENT;
	b->floor_prog = tr_prog_fd(b->floor_obj, "xdp_pass");
	if (b->floor_prog < 0)
		return b->floor_prog;
	n = (size_t)b->rounds * BATCH;
	for (i = 0; !err && i < P_MAX; i++)
		err = series_alloc(&paths[i].floor, n) ?:
		      series_alloc(&paths[i].edge, n);
	return err ?: build_frames();
}

static int prefill(struct bench *b, uint32_t until)
{
	uint32_t ns, v;
	int err = 0;

	for (; !err && b->next_flow < until; b->next_flow++)
		err = new_flow_frame(&paths[P_NEW4].frame, b->next_flow) ?:
		      run_prog(b->fx.prog, &paths[P_NEW4].frame, &ns, &v);
	return err;
}

/*
 * Unrecorded: fill every set of the flow cache with new flows, then put
 * the fixed flows in (after the flood, which would have evicted them).
 */
static int warm_up(struct bench *b)
{
	__u64 held = 0;
	int err, i;

	err = prefill(b, NEW_FLOW_PREFILL);
	while (!err && b->next_flow < NEW_FLOW_PREFILL_MAX) {
		err = meridian_flows_count(&b->fx.m, &held);
		if (err || held >= MERIDIAN_FLOW_ENTRIES)
			break;
		err = prefill(b, b->next_flow + MERIDIAN_FLOW_ENTRIES / 4);
	}
	if (!err && held < MERIDIAN_FLOW_ENTRIES) {
		fprintf(stderr, "bench_dp: flow cache holds %llu of %u after "
				"%u new flows; not full\n",
			(unsigned long long)held, MERIDIAN_FLOW_ENTRIES,
			b->next_flow);
		return -EAGAIN;
	}
	b->prefilled = b->next_flow;
	for (i = 0; !err && i < P_MAX; i++) {
		err = run_batch(b, &paths[i]);
		paths[i].floor.n = paths[i].edge.n = 0;
		paths[i].counted = paths[i].wrong_verdicts = 0;
	}
	b->floor_wrong = 0;
	return err;
}

/* --- report ------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank on sorted samples. */
static double rank(const uint32_t *sorted, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return sorted[i];
}

static void stats_of(struct series *s, struct stats *st)
{
	size_t i, top;
	double sum = 0;

	memset(st, 0, sizeof(*st));
	if (!s->n)
		return;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u32);
	st->p10 = rank(s->ns, s->n, 0.10);
	st->p50 = rank(s->ns, s->n, 0.50);
	st->p90 = rank(s->ns, s->n, 0.90);
	top = (size_t)(0.99 * (double)s->n);
	if (!top)
		top = 1;
	for (i = 0; i < top; i++)
		sum += s->ns[i];
	st->mean = sum / (double)top;
}

/* All floor samples together, for the floor's own row. */
static int floor_pool(struct series *pool)
{
	size_t n = 0;
	int i;

	for (i = 0; i < P_MAX; i++)
		n += paths[i].floor.n;
	if (series_alloc(pool, n ? n : 1))
		return -ENOMEM;
	for (i = 0; i < P_MAX; i++) {
		memcpy(pool->ns + pool->n, paths[i].floor.ns,
		       paths[i].floor.n * sizeof(uint32_t));
		pool->n += paths[i].floor.n;
	}
	return 0;
}

/* Share of the samples within 1 ns of a multiple of step. */
static double on_step(const struct series *s, uint32_t step)
{
	size_t i, hits = 0;
	uint32_t r;

	for (i = 0; i < s->n; i++) {
		r = s->ns[i] % step;
		if (r <= 1 || r == step - 1)
			hits++;
	}
	return s->n ? (double)hits / (double)s->n : 0;
}

/*
 * The kernel's clock may advance in steps (a TSC that ticks coarsely under
 * virtualisation, for one). The floor's durations show it best: short, and
 * spread over a few values. The largest step that nearly all of them sit
 * on, and that their spread spans, says how coarse one duration is.
 */
static void print_timer_step(FILE *f, const struct series *pool,
			     const struct stats *st)
{
	uint32_t step;

	for (step = 50; step > 2; step--)
		if (st->p90 - st->p10 >= step && on_step(pool, step) >= 0.95)
			break;
	if (step > 2)
		fprintf(f, "timer:    durations come in steps of %u ns (%.0f%% "
			   "of the floor's sit on one):\n"
			   "          medians and ratios carry +-1 step; the "
			   "means below resolve finer\n",
			step, 100 * on_step(pool, step));
	else
		fprintf(f, "timer:    no coarse step seen in the floor's "
			   "durations\n");
}

static void print_header(FILE *f, const struct bench *b)
{
	bench_print_env(f, "bench-dp: edge XDP cost per packet", b->cpu);
	fprintf(f, "method:   BPF_PROG_TEST_RUN, repeat=1, a fresh frame per "
		   "call, kernel-reported duration;\n"
		   "          floor bpf/xdp_pass.bpf.o alternated call by "
		   "call with bpf/edge.bpf.o on the same frames\n");
	fprintf(f, "samples:  %zu per path and program (%u rounds x %d), "
		   "%.2f s\n", paths[0].edge.n, b->rounds_done, BATCH,
		b->seconds);
}

static bool path_valid(const struct path *p)
{
	return !p->wrong_verdicts && p->counted == p->edge.n;
}

static void print_row(FILE *f, const struct path *p,
		      const struct stats *floor, const struct stats *ed)
{
	double ratio = floor->p50 ? ed->p50 / floor->p50 : 0;
	const char *result = "";
	char target[16] = "-";

	if (p->target) {
		snprintf(target, sizeof(target), "%.1fx", p->target);
		result = ratio <= p->target ? "PASS" : "MISS";
	}
	if (!path_valid(p))
		result = "INVALID";
	fprintf(f, "%-18s %-9s %6.0f %6.0f %6.0f %7.0f %6.2fx %6s  %s\n",
		p->name, tr_xdp_str(p->verdict), ed->p10, ed->p50, ed->p90,
		ed->p50 - floor->p50, ratio, target, result);
}

/* Ratios are to the floor's median over all its runs. */
static void print_headline(FILE *f, const struct stats *floor,
			   const struct stats *ed)
{
	int i;

	fprintf(f, "\nheadline: kernel duration per packet in ns; ratio = "
		   "median / the floor's median\n");
	fprintf(f, "%-18s %-9s %6s %6s %6s %7s %7s %6s  %s\n", "path",
		"verdict", "p10", "p50", "p90", "p50-fl", "ratio", "target",
		"result");
	fprintf(f, "%-18s %-9s %6.0f %6.0f %6.0f %7s %6.2fx %6s\n",
		"floor (xdp_pass)", "XDP_PASS", floor->p10, floor->p50,
		floor->p90, "-", 1.0, "-");
	for (i = 0; i < P_MAX; i++)
		print_row(f, &paths[i], floor, &ed[i]);
}

/*
 * The last columns are the floor runs made right beside each path's: they
 * show how much the edge's work on that path slows the harness itself.
 */
static void print_means(FILE *f, const struct stats *floor,
			const struct stats *beside, const struct stats *ed)
{
	int i;

	fprintf(f, "\nsecond method, not the headline: mean of the samples "
		   "up to p99, in ns. The timer's\nphase varies from call to "
		   "call, so a mean resolves below its step. No target.\n");
	fprintf(f, "%-18s %8s %8s %7s   %s\n", "path", "mean", "mean-fl",
		"ratio", "floor beside it: p50, mean");
	fprintf(f, "%-18s %8.1f %8s %6.2fx\n", "floor (xdp_pass)",
		floor->mean, "-", 1.0);
	for (i = 0; i < P_MAX; i++)
		fprintf(f, "%-18s %8.1f %8.1f %6.2fx   %6.0f %6.1f\n",
			paths[i].name, ed[i].mean, ed[i].mean - floor->mean,
			floor->mean ? ed[i].mean / floor->mean : 0,
			beside[i].p50, beside[i].mean);
}

static void print_checks(FILE *f, const struct bench *b)
{
	int i;

	fprintf(f, "\nchecks:   each edge run's verdict, and a counter "
		   "that each run must bump once\n");
	for (i = 0; i < P_MAX; i++) {
		const struct path *p = &paths[i];

		fprintf(f, "  %-18s %-7s %u wrong verdicts, %s %llu of %zu "
			   "runs\n", p->name, path_valid(p) ? "ok" : "INVALID",
			p->wrong_verdicts, p->counter_name,
			(unsigned long long)p->counted, p->edge.n);
	}
	if (b->floor_wrong)
		fprintf(f, "  floor: %u runs did not return XDP_PASS\n",
			b->floor_wrong);
	fprintf(f, "notes:    no source classes are configured (the class "
		   "tries are empty); new flows are\n"
		   "          TCP SYNs, each a flow cache miss that inserts: "
		   "%u new flows went in first,\n"
		   "          until every set of the cache (%u sets x %u "
		   "ways) was full, so every insert\n"
		   "          evicts;\n"
		   "          too-big: config mtu %d, a %d-byte DF IPv4 packet "
		   "on an existing flow\n",
		b->prefilled, MERIDIAN_FLOW_SETS, MERIDIAN_FLOW_WAYS,
		BENCH_MTU, TOO_BIG_PAYLOAD + 40);
}

static int report(FILE *f, void *arg)
{
	const struct bench *b = arg;
	struct stats fl[P_MAX], ed[P_MAX], pool_st;
	struct series pool;
	int i;

	if (floor_pool(&pool))
		return -ENOMEM;
	stats_of(&pool, &pool_st);
	for (i = 0; i < P_MAX; i++) {
		stats_of(&paths[i].floor, &fl[i]);
		stats_of(&paths[i].edge, &ed[i]);
	}
	print_header(f, b);
	print_timer_step(f, &pool, &pool_st);
	print_headline(f, &pool_st, ed);
	print_means(f, &pool_st, fl, ed);
	print_checks(f, b);
	free(pool.ns);
	return 0;
}

/* One row per path with a target: name|value|target|result. */
static int write_summary(const char *path)
{
	struct stats pool_st, ed;
	struct series pool;
	char target[16];
	double ratio;
	FILE *f;
	int i;

	if (!path)
		return 0;
	if (floor_pool(&pool))
		return -ENOMEM;
	stats_of(&pool, &pool_st);
	free(pool.ns);
	f = fopen(path, "a");
	if (!f) {
		log_err("opening %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "data plane: floor (xdp_pass) p50|%.0f ns|-|-\n",
		pool_st.p50);
	for (i = 0; i < P_MAX; i++) {
		struct path *p = &paths[i];

		if (!p->target)
			continue;
		stats_of(&p->edge, &ed);
		ratio = pool_st.p50 ? ed.p50 / pool_st.p50 : 0;
		snprintf(target, sizeof(target), "<= %.1fx", p->target);
		fprintf(f, "data plane: %s / floor, p50|%.2fx (%.0f "
			   "ns)|%s|%s\n",
			p->name, ratio, ed.p50, target,
			!path_valid(p)	       ? "INVALID" :
			ratio <= p->target ? "PASS" :
					       "MISS");
	}
	fclose(f);
	return 0;
}

static void teardown(struct bench *b)
{
	int i;

	for (i = 0; i < P_MAX; i++) {
		free(paths[i].floor.ns);
		free(paths[i].edge.ns);
	}
	if (b->floor_obj)
		tr_obj_close(b->floor_obj);
	fx_teardown(&b->fx);
}

static bool all_valid(const struct bench *b)
{
	int i;

	for (i = 0; i < P_MAX; i++)
		if (!path_valid(&paths[i]))
			return false;
	return !b->floor_wrong;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-o FILE] [-s FILE] [-r ROUNDS] [-c CPU]\n"
		"  -o FILE    also write the report to FILE\n"
		"  -s FILE    append summary rows (name|value|target|result)\n"
		"  -r ROUNDS  rounds of %d floor/edge pairs per path "
		"(default %d)\n"
		"  -c CPU     CPU to pin to (default: the highest allowed)\n",
		prog, BATCH, ROUNDS_DEFAULT);
}

static int parse_args(int argc, char **argv, struct bench *b,
		      const char **out_path, const char **summary_path)
{
	int opt;

	b->rounds = ROUNDS_DEFAULT;
	b->cpu = -1;
	while ((opt = getopt(argc, argv, "o:s:r:c:h")) != -1) {
		if (!bench_common_opt(opt, optarg, out_path, summary_path,
				      &b->rounds, &b->cpu)) {
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (!b->rounds || b->rounds > 100000) {
		log_err("rounds must be 1..100000");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	const char *out_path = NULL, *summary_path = NULL;
	int err;

	log_init(argv[0]);
	if (parse_args(argc, argv, &b, &out_path, &summary_path))
		return 2;
	b.cpu = bench_pin_cpu(b.cpu);
	if (b.cpu < 0)
		return 1;
	err = setup(&b);
	if (!err)
		err = warm_up(&b) ?: run_rounds(&b) ?:
		      bench_write_report(report, &b, out_path) ?:
		      write_summary(summary_path);
	teardown(&b);
	return bench_exit_code(err, "bench-dp: skipped: needs root (network "
				    "namespace, BPF test runs)",
			       all_valid(&b));
}
