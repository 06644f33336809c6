// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the edge's time per packet goes: the building blocks of its work
 * (bpf/bench_blocks.bpf.o: one map lookup of each kind the edge does, the
 * per-CPU counting, the encapsulation, the clocks, a flow cache insert
 * that evicts, and the kernel LRU hash the cache replaced, for comparison),
 * each measured exactly as bench-dp measures the whole program:
 * BPF_PROG_TEST_RUN with repeat = 1 on a fresh frame, the kernel's duration,
 * alternated call by call with the floor (bpf/xdp_pass.bpf.o), and the
 * edge's own flow cache hit measured in the same rounds for comparison.
 *
 * The test-run clock may tick in steps (10 ns here), so a block's own cost
 * is taken from means (of the samples up to p99), which resolve below the
 * step: mean(block) - mean(blk_base), where blk_base is the parsing and
 * flow-key work every block starts with. No targets: this explains them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"
#include "edge_fixture.h"
#include "../../bpf/hashing.h"

#define ROUNDS_DEFAULT 400
#define BATCH 32
#define NEW_NET 0xc6128000u /* 198.18.128.0/17: insert flows */
#define NEW_HOST_BITS 15
#define FRAME_IP4 PKT_ETH_HLEN

enum blk_id {
	B_BASE,
	B_TABLE,
	B_ADDR,
	B_VIP,
	B_FLOW,
	B_COUNT,
	B_ENCAP,
	B_JIFFIES,
	B_KTIME,
	B_INSERT,
	B_LRU,
	B_LRU_INSERT,
	B_EDGE,
	B_MAX,
};

struct block {
	const char *prog;
	const char *what;
	int fd;
	double *ns, *floor_ns;
	size_t n;
	uint32_t wrong;
	uint32_t want; /* verdict */
};

static struct block blocks[B_MAX] = {
	[B_BASE] = { "blk_base",
		     "parse Eth/IPv4/TCP, fill the 40-byte flow key",
		     .want = XDP_PASS },
	[B_TABLE] = { "blk_addr_table",
		      "prefilter: array of maps, slot at home, hit",
		      .want = XDP_PASS },
	[B_ADDR] = { "blk_addr_lookup",
		     "former prefilter: hash lookup, 4-byte key, hit",
		     .want = XDP_PASS },
	[B_VIP] = { "blk_vip_lookup",
		    "hash lookup, 24-byte key (VIP, past 4 port keys)",
		    .want = XDP_PASS },
	[B_FLOW] = { "blk_cache_lookup",
		     "flow cache hit: flow hash, set, tags, 40-byte key",
		     .want = XDP_PASS },
	[B_COUNT] = { "blk_count",
		      "4 per-CPU counter slots (counters, VIP, backend, "
		      "region)",
		      .want = XDP_PASS },
	[B_ENCAP] = { "blk_encap", "adjust_head, outer IPv4 header + checksum",
		      .want = XDP_TX },
	[B_JIFFIES] = { "blk_jiffies", "bpf_jiffies64 (next-hop cache age)",
			.want = XDP_PASS },
	[B_KTIME] = { "blk_ktime", "bpf_ktime_get_ns (flood guard, new flows)",
		      .want = XDP_PASS },
	[B_INSERT] = { "blk_cache_insert",
		       "flow cache insert of a new flow, set full: evicts",
		       .want = XDP_PASS },
	[B_LRU] = { "blk_flow_lookup",
		    "former: LRU hash lookup, 40-byte key, hit",
		    .want = XDP_PASS },
	[B_LRU_INSERT] = { "blk_flow_insert",
			   "former: LRU insert, this CPU's share full: evicts",
			   .want = XDP_PASS },
	[B_EDGE] = { "meridian_edge",
		     "the edge, flow cache hit IPv4 TCP (all of it)",
		     .want = XDP_TX },
};

struct bench {
	struct fx fx;
	struct bpf_object *obj, *floor_obj;
	int floor_fd, cpu;
	unsigned int rounds;
	struct pkt frame, new_frame;
	uint32_t next_new;
	uint32_t lru_share; /* the former LRU's share of this CPU */
	uint32_t floor_wrong;
};

static struct tr_result res;

static int new_flow(struct bench *b)
{
	uint32_t i = b->next_new++;
	uint32_t src = htonl(NEW_NET | (i & ((1u << NEW_HOST_BITS) - 1)));
	uint16_t sport = htons(1024 + (i >> NEW_HOST_BITS));

	memcpy(b->new_frame.data + FRAME_IP4 + 12, &src, 4);
	memcpy(b->new_frame.data + FRAME_IP4 + 20, &sport, 2);
	pkt_ipv4_fix_csum(b->new_frame.data + FRAME_IP4);
	return pkt_l4_fix_csum(b->new_frame.data + FRAME_IP4,
			       b->new_frame.len - FRAME_IP4);
}

static int map_put(struct bench *b, const char *name, const void *k,
		   const void *v)
{
	int fd = tr_map_fd(b->obj, name), err;

	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, k, v, BPF_ANY);
	if (err)
		log_err("writing %s: %s", name, strerror(-err));
	return err;
}

/* The flow into blk_cache, in way 0 of its set, as the edge writes it. */
static int cache_put(struct bench *b, const struct meridian_flow_key *k)
{
	struct meridian_flow_set set;
	__u32 hash = hash_flow(k, hash_words(k)), idx = flow_set_index(hash);

	memset(&set, 0, sizeof(set));
	set.tag[0] = MERIDIAN_FLOW_TAG_VALID | hash;
	set.way[0].key = *k;
	set.way[0].backend = 1;
	return map_put(b, "blk_cache", &idx, &set);
}

/* The frame's destination in its home slot of blk_vat (outer[0]). */
static int table_put(struct bench *b, __u32 dst)
{
	struct meridian_vip_addr_slot4 slot = { .addr = dst, .used = 1 };
	__u32 home = meridian_vip_addr_home4(dst);

	return map_put(b, "blk_vat", &home, &slot);
}

/* The entries the lookups hit, for the frame every block runs on. */
static int fill_maps(struct bench *b)
{
	const uint8_t *ip = b->frame.data + FRAME_IP4;
	struct meridian_vip_key vk = { .proto = IPPROTO_TCP,
				       .family = MERIDIAN_AF_INET };
	struct meridian_flow_key fk = { .proto = IPPROTO_TCP,
					.family = MERIDIAN_AF_INET };
	struct meridian_flow fv = { .backend = 1 };
	struct meridian_vip vv = { .id = 1 };
	uint64_t one = 1;
	uint32_t dst;

	memcpy(&dst, ip + 16, 4);
	vk.addr[0] = dst;
	memcpy(&vk.port, ip + 22, 2);
	memcpy(&fk.src[0], ip + 12, 4);
	fk.dst[0] = dst;
	memcpy(&fk.sport, ip + 20, 2);
	memcpy(&fk.dport, ip + 22, 2);
	return table_put(b, dst) ?: map_put(b, "blk_addrs", &dst, &one) ?:
	       map_put(b, "blk_vips", &vk, &vv) ?:
	       map_put(b, "blk_flows", &fk, &fv) ?: cache_put(b, &fk);
}

static int setup(struct bench *b)
{
	size_t n = (size_t)b->rounds * BATCH;
	int err, i;

	err = fx_setup(&b->fx) ?: fx_topology(&b->fx) ?:
	      fx_table_one(&b->fx, 1, 0, 0, 1) ?: fx_config(&b->fx, 0, 0);
	if (err)
		return err < 0 ? err : -EINVAL;
	b->obj = tr_obj_load("bpf/bench_blocks.bpf.o");
	b->floor_obj = tr_obj_load("bpf/xdp_pass.bpf.o");
	if (!b->obj || !b->floor_obj)
		return -ENOENT;
	b->floor_fd = tr_prog_fd(b->floor_obj, "xdp_pass");
	for (i = 0; i < B_MAX; i++) {
		blocks[i].fd = i == B_EDGE ? b->fx.prog :
					     tr_prog_fd(b->obj, blocks[i].prog);
		blocks[i].ns = calloc(n, sizeof(double));
		blocks[i].floor_ns = calloc(n, sizeof(double));
		if (blocks[i].fd < 0 || !blocks[i].ns || !blocks[i].floor_ns)
			return -ENOMEM;
	}
	if (b->floor_fd < 0)
		return b->floor_fd;
	err = fx_simple(&b->frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 40000, 80,
			0) ?:
	      fx_simple(&b->new_frame, FX_CLIENT4, VIP4, IPPROTO_TCP, 1024, 80,
			0);
	return err ?: fill_maps(b);
}

static int run_one(int fd, const struct pkt *frame, double *ns,
		   uint32_t *verdict)
{
	int err = tr_run(fd, frame->data, frame->len, &res);

	*ns = res.duration_ns;
	*verdict = res.retval;
	return err;
}

/*
 * The edge's flow into its cache; the insert tables full: every set of the
 * cache (four times its ways fill all but about 1e-4 of the sets), this
 * CPU's share of the LRU.
 */
static int warm_up(struct bench *b)
{
	double ns;
	uint32_t v, i;
	int err = run_one(b->fx.prog, &b->frame, &ns, &v);

	for (i = 0; !err && i < 4 * MERIDIAN_FLOW_ENTRIES; i++)
		err = new_flow(b) ?:
		      run_one(blocks[B_INSERT].fd, &b->new_frame, &ns, &v);
	for (i = 0; !err && i < b->lru_share + b->lru_share / 8; i++)
		err = new_flow(b) ?:
		      run_one(blocks[B_LRU_INSERT].fd, &b->new_frame, &ns,
			      &v);
	return err;
}

static int run_pair(struct bench *b, struct block *k, bool block_first)
{
	const struct pkt *frame = &b->frame;
	uint32_t vb, vf;
	double nb, nf;
	int err;

	if (k == &blocks[B_INSERT] || k == &blocks[B_LRU_INSERT]) {
		err = new_flow(b);
		frame = &b->new_frame;
		if (err)
			return err;
	}
	if (block_first)
		err = run_one(k->fd, frame, &nb, &vb) ?:
		      run_one(b->floor_fd, frame, &nf, &vf);
	else
		err = run_one(b->floor_fd, frame, &nf, &vf) ?:
		      run_one(k->fd, frame, &nb, &vb);
	if (err)
		return err;
	k->wrong += vb != k->want;
	b->floor_wrong += vf != XDP_PASS;
	k->ns[k->n] = nb;
	k->floor_ns[k->n++] = nf;
	return 0;
}

static int run_rounds(struct bench *b)
{
	unsigned int r, j;
	int err = 0, i;

	for (r = 0; !err && r < b->rounds; r++)
		for (i = 0; !err && i < B_MAX; i++)
			for (j = 0; !err && j < BATCH; j++)
				err = run_pair(b, &blocks[i], j & 1);
	return err;
}

/* --- report ------------------------------------------------------------ */

struct summary {
	double p50, mean;
};

static void summarize(double *v, size_t n, struct summary *s)
{
	size_t i, top;
	double sum = 0;

	s->p50 = bench_quantile(v, n, 0.5);
	top = (size_t)(0.99 * (double)n);
	if (!top)
		top = 1;
	for (i = 0; i < top; i++)
		sum += v[i];
	s->mean = sum / (double)top;
}

static bool valid(const struct bench *b)
{
	int i;

	for (i = 0; i < B_MAX; i++)
		if (blocks[i].wrong)
			return false;
	return !b->floor_wrong;
}

static int report(FILE *f, void *arg)
{
	struct summary st[B_MAX], fl[B_MAX], floor_all = { 0 };
	struct bench *b = arg;
	double parts = 0;
	int i;

	for (i = 0; i < B_MAX; i++) {
		summarize(blocks[i].ns, blocks[i].n, &st[i]);
		summarize(blocks[i].floor_ns, blocks[i].n, &fl[i]);
		floor_all.mean += fl[i].mean / B_MAX;
	}
	bench_print_env(f, "bench-blocks: what the edge's per-packet work "
			   "costs, piece by piece",
			b->cpu);
	fprintf(f, "method:   as bench-dp: test-run, repeat=1, fresh frame, "
		   "kernel duration, each block\n"
		   "          alternated with the floor (xdp_pass); %u rounds x "
		   "%d per block.\n"
		   "          own = mean(block) - mean(blk_base); means of the "
		   "samples up to p99,\n"
		   "          because the clock ticks in steps (medians carry "
		   "+-1 step)\n\n",
		b->rounds, BATCH);
	fprintf(f, "%-17s %6s %7s %7s  %s\n", "block", "p50", "mean", "own",
		"what");
	fprintf(f, "%-17s %6.0f %7.1f %7s  %s\n", "floor (xdp_pass)",
		fl[B_BASE].p50, floor_all.mean, "-", "the harness itself");
	for (i = 0; i < B_MAX; i++) {
		double own = st[i].mean - (i == B_BASE ? floor_all.mean :
							  st[B_BASE].mean);

		fprintf(f, "%-17s %6.0f %7.1f %7.1f  %s\n", blocks[i].prog,
			st[i].p50, st[i].mean, own, blocks[i].what);
		if (i >= B_TABLE && i <= B_JIFFIES && i != B_ADDR &&
		    i != B_VIP)
			parts += own;
	}
	parts += st[B_BASE].mean - floor_all.mean;
	fprintf(f, "\nthe blocks a flow cache hit uses (base, prefilter, flow "
		   "cache, counting, encap,\n"
		   "jiffies; the VIP lookup only for an address with more than "
		   "four port keys) add up to\n"
		   "  %.1f ns; the edge's cache hit costs %.1f ns over the "
		   "floor. The difference: what\n"
		   "  the list leaves out (config, backend and next-hop array "
		   "lookups, branches, the\n"
		   "  MAC rewrite), and cache misses that a block alone pays "
		   "and the whole overlaps.\n"
		   "  Its prefilter and flow cache lookups alone: %.1f ns.\n",
		parts, st[B_EDGE].mean - floor_all.mean,
		st[B_TABLE].mean + st[B_FLOW].mean - 2 * st[B_BASE].mean);
	fprintf(f, "checks:   %s: wrong verdicts:",
		valid(b) ? "ok" : "INVALID");
	for (i = 0; i < B_MAX; i++)
		if (blocks[i].wrong)
			fprintf(f, " %s %u", blocks[i].prog, blocks[i].wrong);
	fprintf(f, " floor %u\n", b->floor_wrong);
	return 0;
}

static double own_cost(int i)
{
	struct summary st, base;

	summarize(blocks[i].ns, blocks[i].n, &st);
	summarize(blocks[B_BASE].ns, blocks[B_BASE].n, &base);
	return st.mean - base.mean;
}

static int write_summary(const char *path)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f)
		return -errno;
	fprintf(f, "data plane: VIP-address prefilter hit, slot table / "
		   "former hash|%.0f / %.0f ns|-|-\n",
		own_cost(B_TABLE), own_cost(B_ADDR));
	fprintf(f, "data plane: one hash lookup, 24-byte key (VIP)|%.0f "
		   "ns|-|-\n",
		own_cost(B_VIP));
	fprintf(f, "data plane: flow found, flow cache / former LRU "
		   "hash|%.0f / %.0f ns|-|-\n",
		own_cost(B_FLOW), own_cost(B_LRU));
	fprintf(f, "data plane: new flow stored, evicting: flow cache / "
		   "former LRU|%.0f / %.0f ns|-|-\n",
		own_cost(B_INSERT), own_cost(B_LRU_INSERT));
	fclose(f);
	return 0;
}

static void teardown(struct bench *b)
{
	int i;

	for (i = 0; i < B_MAX; i++) {
		free(blocks[i].ns);
		free(blocks[i].floor_ns);
	}
	if (b->obj)
		tr_obj_close(b->obj);
	if (b->floor_obj)
		tr_obj_close(b->floor_obj);
	fx_teardown(&b->fx);
}

int main(int argc, char **argv)
{
	static struct bench b;
	const char *out = NULL, *sum = NULL;
	int opt, err;

	log_init(argv[0]);
	b.rounds = ROUNDS_DEFAULT;
	b.cpu = -1;
	while ((opt = getopt(argc, argv, "o:s:r:c:h")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 's':
			sum = optarg;
			break;
		case 'r':
			b.rounds = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			b.cpu = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-o FILE] [-s FILE] "
					"[-r ROUNDS] [-c CPU]\n", argv[0]);
			return 2;
		}
	}
	if (!b.rounds || b.rounds > 10000)
		return 2;
	b.cpu = bench_pin_cpu(b.cpu);
	if (b.cpu < 0 || libbpf_num_possible_cpus() < 1)
		return 1;
	b.lru_share = MERIDIAN_FLOW_ENTRIES /
		      (uint32_t)libbpf_num_possible_cpus();
	err = setup(&b) ?: warm_up(&b) ?: run_rounds(&b);
	if (!err)
		err = bench_write_report(report, &b, out) ?: write_summary(sum);
	teardown(&b);
	if (err == -EPERM) {
		printf("bench-blocks: skipped: needs root\n");
		return 0;
	}
	if (err) {
		log_err("benchmark failed: %s", strerror(-err));
		return 1;
	}
	return valid(&b) ? 0 : 1;
}
