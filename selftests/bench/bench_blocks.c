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
 * And the memory floor of a new flow: one read at a random set of a table
 * shaped like the flow cache (its set is random, its line cold), the
 * least an insert writes there, and the same on a table the caches hold,
 * with the same instructions. Userspace steps the frame's source address
 * through a permutation of the sets, so a cold set is read once per run.
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
	B_COLD_LINE,
	B_WARM_LINE,
	B_COLD_CLAIM,
	B_COLD_CAS,
	B_WARM_CAS,
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
	[B_COLD_LINE] = { "blk_cold_line",
			  "one 8-byte read, random set of a flow-cache-shaped "
			  "table",
			  .want = XDP_PASS },
	[B_WARM_LINE] = { "blk_warm_line",
			  "the same read, the same code, 64-set table (warm)",
			  .want = XDP_PASS },
	[B_COLD_CLAIM] = { "blk_cold_claim",
			   "new flow's least: read the tags, write way, stamp, "
			   "tag; cold",
			   .want = XDP_PASS },
	[B_COLD_CAS] = { "blk_cold_claim_cas",
			 "the same, the tag claimed by compare-and-swap; cold",
			 .want = XDP_PASS },
	[B_WARM_CAS] = { "blk_warm_claim_cas",
			 "the same with compare-and-swap, 64-set table (warm)",
			 .want = XDP_PASS },
	[B_EDGE] = { "meridian_edge",
		     "the edge, flow cache hit IPv4 TCP (all of it)",
		     .want = XDP_TX },
};

/*
 * A cold table's walk: through the permutation of its sets, from a cursor;
 * the sets read since the fill, to count any read twice.
 */
struct cold_walk {
	uint32_t next;
	uint32_t calls, revisits;
	uint8_t seen[MERIDIAN_FLOW_SETS];
};

struct bench {
	struct fx fx;
	struct bpf_object *obj, *floor_obj;
	int floor_fd, cpu;
	unsigned int rounds;
	struct pkt frame, new_frame, cold_frame;
	uint32_t next_new;
	uint32_t lru_share; /* the former LRU's share of this CPU */
	uint32_t floor_wrong;
	uint16_t perm[MERIDIAN_FLOW_SETS]; /* the sets in a random order */
	struct cold_walk line, claim, warm;
	uint32_t warm_last, warm_same; /* the warm index must change too */
	uint32_t claims_seen; /* sets whose tags the claims changed */
};

#define WARM_SETS 64 /* blk_warm's entries */

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

/* xorshift32: the fill's and the permutation's numbers, reproducible. */
static uint32_t next_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static void make_perm(struct bench *b)
{
	uint32_t state = 0x2545f491u, i, j;
	uint16_t t;

	for (i = 0; i < MERIDIAN_FLOW_SETS; i++)
		b->perm[i] = (uint16_t)i;
	for (i = MERIDIAN_FLOW_SETS - 1; i > 0; i--) {
		j = next_rand(&state) % (i + 1);
		t = b->perm[i];
		b->perm[i] = b->perm[j];
		b->perm[j] = t;
	}
}

/* A set's tags at the fill: its index, valid, generations that vary. */
static uint64_t fill_tag(uint32_t idx, int way)
{
	uint32_t state = (idx + 1) * 0x9e3779b1u + (uint32_t)way;

	return (uint64_t)(next_rand(&state) & 0xffff)
		       << MERIDIAN_FLOW_TAG_GEN_SHIFT |
	       MERIDIAN_FLOW_TAG_VALID | idx;
}

static void fill_set(struct meridian_flow_set *set, uint32_t idx)
{
	int w;

	memset(set, 0, sizeof(*set));
	for (w = 0; w < MERIDIAN_FLOW_WAYS; w++) {
		set->tag[w] = fill_tag(idx, w);
		set->stamp[w] = idx;
		set->way[w].backend = 1;
	}
}

/* Every set written once, so its pages exist and nothing faults later. */
static int fill_cold(struct bench *b, const char *name, uint32_t sets)
{
	int fd = tr_map_fd(b->obj, name), err = 0;
	struct meridian_flow_set set;
	uint32_t i;

	if (fd < 0)
		return fd;
	for (i = 0; !err && i < sets; i++) {
		fill_set(&set, i);
		err = bpf_map_update_elem(fd, &i, &set, BPF_ANY);
	}
	if (err)
		log_err("filling %s at set %u: %s", name, i - 1,
			strerror(-err));
	return err;
}

/* The sets whose tags differ from the fill: each one a claim landed. */
static int count_claimed(struct bench *b, const char *name, uint32_t *n)
{
	int fd = tr_map_fd(b->obj, name), err = 0, w;
	struct meridian_flow_set set;
	uint32_t i;

	if (fd < 0)
		return fd;
	*n = 0;
	for (i = 0; !err && i < MERIDIAN_FLOW_SETS; i++) {
		err = bpf_map_lookup_elem(fd, &i, &set);
		for (w = 0; !err && w < MERIDIAN_FLOW_WAYS; w++)
			if (set.tag[w] != fill_tag(i, w)) {
				++*n;
				break;
			}
	}
	if (err)
		log_err("reading %s: %s", name, strerror(-err));
	return err;
}

/*
 * The cold frame's source address names the next set of the walk: through
 * the permutation in a cold table, round the few sets of the warm one.
 */
static int cold_step(struct bench *b, struct cold_walk *c, uint32_t mask)
{
	uint32_t idx = c == &b->warm ?
			       c->next++ & mask :
			       b->perm[c->next++ % MERIDIAN_FLOW_SETS] & mask;
	uint32_t src = htonl(NEW_NET | idx);

	c->calls++;
	if (c == &b->warm) {
		b->warm_same += c->calls > 1 && idx == b->warm_last;
		b->warm_last = idx;
	} else {
		c->revisits += c->seen[idx];
		c->seen[idx] = 1;
	}
	memcpy(b->cold_frame.data + FRAME_IP4 + 12, &src, 4);
	pkt_ipv4_fix_csum(b->cold_frame.data + FRAME_IP4);
	return pkt_l4_fix_csum(b->cold_frame.data + FRAME_IP4,
			       b->cold_frame.len - FRAME_IP4);
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
	err = err ?: fx_simple(&b->cold_frame, FX_CLIENT4, VIP4, IPPROTO_TCP,
			       1024, 80, 0);
	make_perm(b);
	return err ?: fill_maps(b) ?:
	       fill_cold(b, "blk_cold", MERIDIAN_FLOW_SETS) ?:
	       fill_cold(b, "blk_cold_claims", MERIDIAN_FLOW_SETS) ?:
	       fill_cold(b, "blk_warm", WARM_SETS);
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
	if (k == &blocks[B_COLD_LINE] || k == &blocks[B_WARM_LINE] ||
	    k == &blocks[B_COLD_CLAIM] || k == &blocks[B_COLD_CAS] ||
	    k == &blocks[B_WARM_CAS]) {
		err = k == &blocks[B_COLD_LINE] ?
			      cold_step(b, &b->line, MERIDIAN_FLOW_SETS - 1) :
		      k == &blocks[B_COLD_CLAIM] || k == &blocks[B_COLD_CAS] ?
			      cold_step(b, &b->claim, MERIDIAN_FLOW_SETS - 1) :
			      cold_step(b, &b->warm, WARM_SETS - 1);
		frame = &b->cold_frame;
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

/* Claims that landed: one per distinct set the walk gave them. */
static bool claims_landed(const struct bench *b)
{
	return b->claims_seen == b->claim.calls - b->claim.revisits;
}

static bool valid(const struct bench *b)
{
	int i;

	for (i = 0; i < B_MAX; i++)
		if (blocks[i].wrong)
			return false;
	return !b->floor_wrong && !b->warm_same && claims_landed(b);
}

static double table_mib(void)
{
	return (double)sizeof(struct meridian_flow_set) * MERIDIAN_FLOW_SETS /
	       (1024.0 * 1024.0);
}

static double mean_of(int i)
{
	struct summary s;

	summarize(blocks[i].ns, blocks[i].n, &s);
	return s.mean;
}

/* The new flow's floor: the harness, a cache hit's work, the cold line. */
static void report_cold(FILE *f, const struct bench *b, double floor,
			double hit)
{
	double base = mean_of(B_BASE), line = mean_of(B_COLD_LINE) - base;
	double warm = mean_of(B_WARM_LINE) - base;
	double claim = mean_of(B_COLD_CAS) - base;

	fprintf(f, "\na new flow's memory: its set is random in the flow "
		   "cache (%u sets x %zu bytes,\n"
		   "  %.1f MiB). One cold line costs %.1f ns, the same read "
		   "on a warm table %.1f ns:\n"
		   "  %.1f ns is the cache miss. The least an insert does "
		   "there (tags read, way,\n"
		   "  stamp and tag written): %.1f ns with a plain store, %.1f "
		   "ns with the\n"
		   "  compare-and-swap (warm: %.1f ns).\n",
		MERIDIAN_FLOW_SETS, sizeof(struct meridian_flow_set),
		table_mib(), line, warm, line - warm,
		mean_of(B_COLD_CLAIM) - base, claim,
		mean_of(B_WARM_CAS) - base);
	fprintf(f, "  A new flow at least: floor %.1f + cache hit's work %.1f "
		   "+ cold line %.1f\n"
		   "  = %.1f ns = %.2fx the floor; with the claim instead of "
		   "the line %.1f ns = %.2fx.\n",
		floor, hit, line, floor + hit + line,
		(floor + hit + line) / floor, floor + hit + claim,
		(floor + hit + claim) / floor);
	fprintf(f, "  walk: %u cold reads, %u cold claims, sets read twice "
		   "%u / %u; claims found\n"
		   "  in the table %u; warm index repeated %u\n",
		b->line.calls, b->claim.calls, b->line.revisits,
		b->claim.revisits, b->claims_seen, b->warm_same);
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
	report_cold(f, b, floor_all.mean, st[B_EDGE].mean - floor_all.mean);
	fprintf(f, "checks:   %s: wrong verdicts:",
		valid(b) ? "ok" : "INVALID");
	for (i = 0; i < B_MAX; i++)
		if (blocks[i].wrong)
			fprintf(f, " %s %u", blocks[i].prog, blocks[i].wrong);
	fprintf(f, " floor %u; claims %s\n", b->floor_wrong,
		claims_landed(b) ? "landed" : "MISSING");
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
	fprintf(f, "data plane: one cold line of a %.1f MiB table (a new "
		   "flow's set)|%.0f ns|-|-\n",
		table_mib(), own_cost(B_COLD_LINE));
	fprintf(f, "data plane: the same line, 64-set warm table|%.0f "
		   "ns|-|-\n",
		own_cost(B_WARM_LINE));
	fprintf(f, "data plane: a new flow's least write to a cold set, store "
		   "/ compare-and-swap|%.0f / %.0f ns|-|-\n",
		own_cost(B_COLD_CLAIM), own_cost(B_COLD_CAS));
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
	err = setup(&b) ?: warm_up(&b) ?: run_rounds(&b) ?:
	      count_claimed(&b, "blk_cold_claims", &b.claims_seen);
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
