// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Flood: new flows, ten times as many as the flow cache holds, arrive
 * while established flows keep sending, and halfway through a backend is
 * added to the ring (the ring is rebuilt for 9 backends instead of 8).
 * What share of the established flows keeps its backend throughout?
 *
 * The real bpf/edge.bpf.o through BPF_PROG_TEST_RUN (repeat = 1, a fresh
 * frame per run), on one pinned CPU: the flow cache is one table for all
 * CPUs, so its whole capacity (MERIDIAN_FLOW_ENTRIES) is what the flood
 * competes for. A round is a block of flood SYNs (new flows, never
 * repeated) followed by one packet (an ACK) of every established flow; so
 * between two packets of an established flow come `gap` packets of other
 * flows. An established flow that is evicted is picked again from the
 * current tables: before the ring change it lands where it was, after it
 * it may move. Every packet's outer destination is checked against the
 * backend its flow started on.
 *
 * Scenarios: gap half the cache's capacity (flows that send at least
 * that often) and twice it (flows quieter than the cache's turnover), each
 * without and with the flood guard (flood_limit new entries per CPU per
 * second). Target: >= 99 % of the established flows keep their backend.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bench_util.h"
#include "edge_fixture.h"
#include "hash64.h"
#include "maglev.h"

#define EST_FLOWS 10000
#define EST_NET 0xc6134000u /* 198.19.64.0/18: established clients */
#define FLOOD_NET 0xc6128000u /* 198.18.128.0/17: flood sources */
#define FLOOD_HOST_BITS 15
#define FLOOD_FACTOR 10 /* new flows = 10 x MERIDIAN_FLOW_ENTRIES */
#define RING_ID 9
#define FIRST_ID 9 /* backends 9..17: 198.19.0.20 .. .28, region 0 */
#define RING_BEFORE 8
#define RING_AFTER 9
#define FLOOD_LIMIT 20000 /* per CPU per second, when the guard is on */
#define TARGET 0.99
#define FRAME_IP4 PKT_ETH_HLEN
#define FRAME_SRC (FRAME_IP4 + 12)
#define FRAME_SPORT (FRAME_IP4 + 20)
#define OUTER_DST (PKT_ETH_HLEN + 16)

struct scenario {
	const char *name;
	double gap_cap; /* gap in units of the flow cache's capacity */
	bool guard;
	/* results */
	uint32_t gap, rounds;
	uint64_t flood_sent, est_sent;
	uint64_t evictions; /* established packets that missed the cache */
	uint32_t evicted_flows, moved_flows, lost_flows;
	uint32_t would_move; /* flows the new ring alone sends elsewhere */
	uint32_t would_move_kept_size; /* same, had the ring kept its size */
	uint64_t skipped; /* flood inserts the guard refused */
	double seconds;
};

static struct scenario scen[] = {
	{ .name = "active, no guard", .gap_cap = 0.5 },
	{ .name = "active, guard", .gap_cap = 0.5, .guard = true },
	{ .name = "quiet, no guard", .gap_cap = 2.0 },
	{ .name = "quiet, guard", .gap_cap = 2.0, .guard = true },
};

#define N_SCEN (sizeof(scen) / sizeof(scen[0]))

struct bench {
	struct fx fx;
	int cpu;
	uint32_t capacity; /* flows the cache holds */
	struct pkt est_frame, flood_frame;
	uint32_t origin[EST_FLOWS]; /* outer destination of the first packet */
	uint8_t evicted[EST_FLOWS], moved[EST_FLOWS];
	uint32_t next_flood;
	unsigned int bad_runs; /* not XDP_TX, or no tunnel output */
};

static struct tr_result res;

/* --- frames ------------------------------------------------------------ */

static int patch(struct pkt *frame, uint32_t src, uint16_t sport)
{
	src = htonl(src);
	sport = htons(sport);
	memcpy(frame->data + FRAME_SRC, &src, 4);
	memcpy(frame->data + FRAME_SPORT, &sport, 2);
	pkt_ipv4_fix_csum(frame->data + FRAME_IP4);
	return pkt_l4_fix_csum(frame->data + FRAME_IP4,
			       frame->len - FRAME_IP4);
}

static int est_patch(struct bench *b, uint32_t i)
{
	return patch(&b->est_frame, EST_NET + i, 40000);
}

static int flood_patch(struct bench *b)
{
	uint32_t i = b->next_flood++;

	return patch(&b->flood_frame,
		     FLOOD_NET | (i & ((1u << FLOOD_HOST_BITS) - 1)),
		     (uint16_t)(1024 + (i >> FLOOD_HOST_BITS)));
}

static int build_frames(struct bench *b)
{
	struct pkt_ip ip = { .src = "198.19.64.0", .dst = VIP4,
			     .frag = PKT_DF };
	struct pkt_l4 ack = { .proto = IPPROTO_TCP, .sport = 40000,
			      .dport = 80 };
	struct pkt_l4 syn = { .proto = IPPROTO_TCP, .sport = 1024,
			      .dport = 80, .tcp_flags = PKT_TCP_SYN };

	return fx_frame(&b->est_frame, &ip, &ack) ?:
	       fx_frame(&b->flood_frame, &ip, &syn);
}

/* --- the edge ---------------------------------------------------------- */

static int ring_of(struct bench *b, uint32_t n)
{
	uint32_t ids[RING_AFTER], i;

	for (i = 0; i < n; i++)
		ids[i] = FIRST_ID + i;
	return fx_ring(&b->fx, RING_ID, ids, n);
}

/* The 9-backend ring at the 8-backend ring's size, for comparison. */
static int ring_same_size(struct bench *b)
{
	uint32_t size = maglev_ring_size(RING_BEFORE), *ring, i;
	struct maglev_backend mb[RING_AFTER];
	int err;

	for (i = 0; i < RING_AFTER; i++) {
		mb[i].key = hash64_mix(FIRST_ID + i);
		mb[i].id = FIRST_ID + i;
		mb[i].weight = 1;
	}
	ring = calloc(size, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	err = maglev_build(mb, RING_AFTER, ring, size) ?:
	      meridian_ring_swap(&b->fx.m, RING_ID, ring, size);
	free(ring);
	return err;
}

/* The fixture plus backends 9..17 and VIP 1 over ring 9 in region 0. */
static int edge_up(struct bench *b)
{
	char addr[32];
	uint32_t i;
	int err;

	err = fx_setup(&b->fx) ?: fx_topology(&b->fx);
	for (i = 0; !err && i < RING_AFTER; i++) {
		snprintf(addr, sizeof(addr), "198.19.0.%u", 20 + i);
		err = fx_backend(&b->fx, FIRST_ID + i, addr, 0, true);
	}
	if (!err)
		err = ring_of(b, RING_BEFORE) ?:
		      fx_table_one(&b->fx, 1, 0, 0, RING_ID);
	if (err)
		log_err("edge set-up: error %d", err);
	return err < 0 ? err : (err ? -EINVAL : 0);
}

/* One run; the outer destination, or 0 when the edge did not encap. */
static uint32_t run(struct bench *b, const struct pkt *frame)
{
	uint32_t dst;

	if (tr_run(b->fx.prog, frame->data, frame->len, &res) ||
	    res.retval != XDP_TX || res.len < OUTER_DST + 4) {
		b->bad_runs++;
		return 0;
	}
	memcpy(&dst, res.data + OUTER_DST, 4);
	return dst;
}

static int lru_misses(struct bench *b, uint64_t *v)
{
	struct meridian_counters c;
	int err = meridian_counters_read(&b->fx.m, &c);

	*v = c.lru_miss + c.lru_repick;
	return err;
}

/* --- a scenario -------------------------------------------------------- */

/* Every established flow opens (SYN), then sends once (ACK, a cache hit). */
static int warm_up(struct bench *b)
{
	uint32_t i;
	int err = 0;

	for (i = 0; !err && i < EST_FLOWS; i++) {
		err = est_patch(b, i);
		b->est_frame.data[FRAME_IP4 + 20 + 13] = PKT_TCP_SYN;
		if (!err) {
			err = pkt_l4_fix_csum(b->est_frame.data + FRAME_IP4,
					      b->est_frame.len - FRAME_IP4);
			b->origin[i] = run(b, &b->est_frame);
		}
		b->est_frame.data[FRAME_IP4 + 20 + 13] = PKT_TCP_ACK;
	}
	for (i = 0; !err && i < EST_FLOWS; i++)
		err = est_patch(b, i) ?: (run(b, &b->est_frame), 0);
	memset(b->evicted, 0, sizeof(b->evicted));
	memset(b->moved, 0, sizeof(b->moved));
	return err;
}

static int est_block(struct bench *b, struct scenario *s)
{
	uint64_t m0 = 0, m1 = 0;
	uint32_t i, dst;
	int err;

	err = lru_misses(b, &m0);
	for (i = 0; !err && i < EST_FLOWS; i++) {
		uint64_t before = 0, after = 0;

		/* Two counter reads per flow, until it is seen evicted. */
		err = est_patch(b, i);
		if (err)
			break;
		if (!b->evicted[i])
			err = lru_misses(b, &before);
		dst = run(b, &b->est_frame);
		if (!b->evicted[i] && !err) {
			err = lru_misses(b, &after);
			b->evicted[i] = after != before;
		}
		if (dst != b->origin[i])
			b->moved[i] = 1;
	}
	s->est_sent += EST_FLOWS;
	if (!err)
		err = lru_misses(b, &m1);
	s->evictions += m1 - m0;
	return err;
}

static int flood_block(struct bench *b, struct scenario *s, uint32_t n)
{
	uint32_t i;
	int err = 0;

	for (i = 0; !err && i < n; i++) {
		err = flood_patch(b);
		if (!err)
			run(b, &b->flood_frame);
	}
	s->flood_sent += n;
	return err;
}

/* Where each flow would go now with no cache entry: a SYN ignores it. */
static int count_would_move(struct bench *b, uint32_t *moved)
{
	uint32_t i;
	int err = 0;

	*moved = 0;
	b->est_frame.data[FRAME_IP4 + 20 + 13] = PKT_TCP_SYN;
	for (i = 0; !err && i < EST_FLOWS; i++) {
		err = est_patch(b, i);
		if (!err && run(b, &b->est_frame) != b->origin[i])
			(*moved)++;
	}
	b->est_frame.data[FRAME_IP4 + 20 + 13] = PKT_TCP_ACK;
	return err;
}

static void tally(struct bench *b, struct scenario *s)
{
	uint32_t i;

	for (i = 0; i < EST_FLOWS; i++) {
		s->evicted_flows += b->evicted[i];
		s->moved_flows += b->moved[i];
		s->lost_flows += !b->origin[i];
	}
}

static int run_scenario(struct bench *b, struct scenario *s)
{
	uint64_t total = (uint64_t)FLOOD_FACTOR * MERIDIAN_FLOW_ENTRIES;
	uint64_t start = bench_now_ns();
	struct meridian_counters c0, c1;
	uint32_t per_round, r;
	int err;

	b->next_flood = 0;
	err = edge_up(b) ?: warm_up(b);
	if (!err && s->guard)
		err = fx_config(&b->fx, 0, FLOOD_LIMIT);
	s->gap = (uint32_t)(s->gap_cap * b->capacity);
	per_round = s->gap > EST_FLOWS ? s->gap - EST_FLOWS : 1;
	s->rounds = (uint32_t)((total + per_round - 1) / per_round);
	if (!err)
		err = meridian_counters_read(&b->fx.m, &c0);
	for (r = 0; !err && r < s->rounds; r++) {
		if (r == s->rounds / 2)
			err = ring_of(b, RING_AFTER);
		err = err ?: flood_block(b, s, per_round) ?: est_block(b, s);
	}
	if (!err)
		err = meridian_counters_read(&b->fx.m, &c1) ?:
		      count_would_move(b, &s->would_move) ?:
		      ring_same_size(b) ?:
		      count_would_move(b, &s->would_move_kept_size);
	s->skipped = c1.lru_skip - c0.lru_skip;
	s->seconds = (double)(bench_now_ns() - start) / 1e9;
	tally(b, s);
	fx_teardown(&b->fx);
	return err;
}

/* --- report ------------------------------------------------------------ */

static double kept(const struct scenario *s)
{
	return 1.0 - (double)(s->moved_flows + s->lost_flows) / EST_FLOWS;
}

static const char *verdict(const struct bench *b, const struct scenario *s)
{
	if (b->bad_runs || s->lost_flows)
		return "INVALID";
	return kept(s) >= TARGET ? "PASS" : "MISS";
}

static int report(FILE *f, void *arg)
{
	struct bench *b = arg;
	unsigned int i;

	bench_print_env(f, "bench-flood: established flows during a flood",
			b->cpu);
	fprintf(f, "method:   bpf/edge.bpf.o by test-run (repeat=1); %d "
		   "established TCP flows to one VIP;\n"
		   "          a flood of %d x %d = %llu new flows (SYNs, each "
		   "once); rounds of flood SYNs\n"
		   "          then one ACK per established flow; at half the "
		   "rounds the ring grows from\n"
		   "          %d to %d backends (rebuilt, as when a backend is "
		   "added). The flow cache:\n"
		   "          %u entries (%d sets x %d ways, one table for "
		   "all CPUs). Guard: flood_limit %d/s.\n",
		EST_FLOWS, FLOOD_FACTOR, MERIDIAN_FLOW_ENTRIES,
		(unsigned long long)FLOOD_FACTOR * MERIDIAN_FLOW_ENTRIES,
		RING_BEFORE, RING_AFTER, b->capacity, MERIDIAN_FLOW_SETS,
		MERIDIAN_FLOW_WAYS, FLOOD_LIMIT);
	fprintf(f, "          gap = packets of other flows between two "
		   "packets of one established flow\n\n");
	fprintf(f, "%-18s %7s %6s %8s %8s %8s %9s %8s  %s\n", "scenario", "gap",
		"rounds", "evicted", "moved", "kept", "skipped", "seconds",
		"target >= 99 %");
	for (i = 0; i < N_SCEN; i++) {
		const struct scenario *s = &scen[i];

		fprintf(f, "%-18s %7u %6u %8u %8u %7.2f%% %9llu %8.1f  %s\n",
			s->name, s->gap, s->rounds, s->evicted_flows,
			s->moved_flows, 100 * kept(s),
			(unsigned long long)s->skipped, s->seconds,
			verdict(b, s));
	}
	fprintf(f, "\nevicted: established flows that missed the cache at "
		   "least once; moved: flows with\na packet at another backend "
		   "than their first; skipped: flood inserts the guard\n"
		   "refused.\n");
	fprintf(f, "ring change alone: %u of %d flows (%.1f %%) map to "
		   "another backend with 9 backends\nthan with 8, so an "
		   "evicted flow moves with about that chance. The ring is "
		   "sized by\nits backend count (%u slots, then %u): a new "
		   "size moves nearly every slot.\nHad it kept %u slots, "
		   "%u flows (%.1f %%) would map elsewhere.\n",
		scen[0].would_move, EST_FLOWS,
		100.0 * scen[0].would_move / EST_FLOWS,
		maglev_ring_size(RING_BEFORE), maglev_ring_size(RING_AFTER),
		maglev_ring_size(RING_BEFORE), scen[0].would_move_kept_size,
		100.0 * scen[0].would_move_kept_size / EST_FLOWS);
	fprintf(f, "checks:   %s: %u runs without an encapsulated XDP_TX "
		   "output\n",
		b->bad_runs ? "INVALID" : "ok", b->bad_runs);
	return 0;
}

static int write_summary(const struct bench *b, const char *path)
{
	unsigned int i;
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f)
		return -errno;
	for (i = 0; i < N_SCEN; i++)
		fprintf(f, "flood 10x flow cache + new backend: %s, gap "
			   "%.1fx capacity|%.2f %% kept|>= 99 %%|%s\n",
			scen[i].name, scen[i].gap_cap, 100 * kept(&scen[i]),
			verdict(b, &scen[i]));
	fprintf(f, "flows a new backend remaps (ring resized / size "
		   "kept)|%.1f %% / %.1f %%|-|-\n",
		100.0 * scen[0].would_move / EST_FLOWS,
		100.0 * scen[0].would_move_kept_size / EST_FLOWS);
	fclose(f);
	return 0;
}

/* --- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static struct bench b;
	const char *out = NULL, *sum = NULL;
	unsigned int i;
	int opt, err = 0, ncpus;

	log_init(argv[0]);
	b.cpu = -1;
	while ((opt = getopt(argc, argv, "o:s:c:h")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 's':
			sum = optarg;
			break;
		case 'c':
			b.cpu = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-o FILE] [-s FILE] [-c CPU]\n",
				argv[0]);
			return 2;
		}
	}
	b.cpu = bench_pin_cpu(b.cpu);
	ncpus = libbpf_num_possible_cpus();
	if (b.cpu < 0 || ncpus < 1)
		return 1;
	b.capacity = MERIDIAN_FLOW_ENTRIES;
	err = build_frames(&b);
	for (i = 0; !err && i < N_SCEN; i++)
		err = run_scenario(&b, &scen[i]);
	if (err == -EPERM) {
		printf("bench-flood: skipped: needs root\n");
		return 0;
	}
	if (!err)
		err = bench_write_report(report, &b, out) ?:
		      write_summary(&b, sum);
	if (err) {
		log_err("benchmark failed: %s", strerror(-err));
		return 1;
	}
	return b.bad_runs ? 1 : 0;
}
