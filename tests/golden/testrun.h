/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BPF_PROG_TEST_RUN harness for the golden-packet tests: a private network
 * namespace with fixed devices, addresses and neighbours; object loading
 * without pins; one-shot XDP runs; truncation sweeps and random mutations;
 * and case/check reporting that ends in "N passed, N failed, N skipped".
 *
 * A golden test reads like this:
 *
 *	struct tr_env env;
 *	struct bpf_object *obj;
 *	int prog;
 *
 *	if (tr_netns_enter(&env))
 *		return tr_summary();	(skips everything when not root)
 *	obj = tr_obj_load("bpf/edge.bpf.o");
 *	prog = tr_prog_fd(obj, "meridian_edge");
 *	tr_case_begin("ipv4 udp to vip");
 *	tr_run(prog, frame.data, frame.len, &res);
 *	tr_check(res.retval == XDP_TX, "retval %s", tr_xdp_str(res.retval));
 *	tr_check_bytes(res.data, res.len, want.data, want.len, "output");
 *	tr_case_end();
 *	...
 *	return tr_summary();
 *
 * Every function that can fail logs the failure once to stderr and returns
 * a negative errno (or NULL); the tr_check family records failures in the
 * current case.
 */
#ifndef MERIDIAN_TEST_TESTRUN_H
#define MERIDIAN_TEST_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>
#include <bpf/libbpf.h>

/*
 * The namespace. Two veth pairs, both ends up, addresses only on the first
 * device of each pair (an address on the peer would be local and make
 * bpf_fib_lookup answer NOT_FWDED). Forwarding is on for IPv4 and IPv6, as
 * bpf_fib_lookup requires. The literals can go straight into static test
 * tables (struct pkt_ip takes address strings).
 *
 * "in": test-run packets arrive here (ingress_ifindex).
 */
#define TR_IN_NAME "mer-in"
#define TR_IN_PEER_NAME "mer-in-p"
#define TR_IN_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }
#define TR_IN_PEER_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 }
#define TR_IN_ADDR4 "198.18.0.1" /* /24 on mer-in */
#define TR_IN_ADDR6 "2001:db8::1" /* /64 on mer-in */
/* On-link, PERMANENT neighbour with lladdr TR_IN_PEER_MAC. */
#define TR_IN_GW4 "198.18.0.2"
#define TR_IN_GW6 "2001:db8::2"
/* Routed via TR_IN_GW4/6: fib gives ifindex "in", dmac TR_IN_PEER_MAC. */
#define TR_IN_NET4 "198.19.0.0/24"
#define TR_IN_NET6 "2001:db8:100::/64"
#define TR_IN_REMOTE4 "198.19.0.10" /* an address in TR_IN_NET4 */
#define TR_IN_REMOTE6 "2001:db8:100::10"
/* On-link without a neighbour entry: fib answers NO_NEIGH. */
#define TR_IN_NONEIGH4 "198.18.0.3"
#define TR_IN_NONEIGH6 "2001:db8::3"

/* "out": a second device, for lookups that must leave elsewhere. */
#define TR_OUT_NAME "mer-out"
#define TR_OUT_PEER_NAME "mer-out-p"
#define TR_OUT_MAC { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 }
#define TR_OUT_PEER_MAC { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 }
#define TR_OUT_ADDR4 "198.18.1.1"
#define TR_OUT_ADDR6 "2001:db8:1::1"
#define TR_OUT_GW4 "198.18.1.2"
#define TR_OUT_GW6 "2001:db8:1::2"
#define TR_OUT_NET4 "198.19.1.0/24"
#define TR_OUT_NET6 "2001:db8:101::/64"
#define TR_OUT_REMOTE4 "198.19.1.10"
#define TR_OUT_REMOTE6 "2001:db8:101::10"
#define TR_OUT_NONEIGH4 "198.18.1.3"
#define TR_OUT_NONEIGH6 "2001:db8:1::3"

/* No route covers these: fib answers NOT_FWDED. */
#define TR_UNROUTED4 "198.18.200.1"
#define TR_UNROUTED6 "2001:db8:ffff::1"

#define TR_MTU 1500 /* of every device */

struct tr_link {
	int ifindex;
	int peer_ifindex;
	uint8_t mac[6];
	uint8_t peer_mac[6];
};

struct tr_env {
	struct tr_link in;
	struct tr_link out;
};

/*
 * unshare(CLONE_NEWNET) the calling process and build the namespace above
 * (with `ip -batch`). Nothing needs cleaning up: the namespace dies with
 * the process. Also the default ingress ifindex of tr_run.
 * Returns 0; -EPERM when not privileged, after marking the run skipped
 * (tr_summary then says so); another negative errno on failure.
 */
int tr_netns_enter(struct tr_env *env);

/*
 * Open and load a BPF object with every map unpinned (pin path NULL), so a
 * test never touches /sys/fs/bpf and always starts from empty maps. A
 * relative path that does not exist from the working directory is also
 * tried from the repository root, found as ../../ of the executable (the
 * binaries live in build/tests/). NULL on failure (libbpf's warnings, and
 * the verifier log, go to stderr).
 */
struct bpf_object *tr_obj_load(const char *path);
void tr_obj_close(struct bpf_object *obj);
int tr_prog_fd(struct bpf_object *obj, const char *prog_name);
int tr_map_fd(struct bpf_object *obj, const char *map_name);

/*
 * Sum a per-CPU value made of n 64-bit counters over all possible CPUs:
 * out[i] = sum over CPUs of field i. The map's value_size must be n * 8.
 */
int tr_percpu_sum(int map_fd, uint32_t key, uint64_t *out, size_t n);

/* Room for the largest input (~3.5 KiB) plus any encapsulation. */
#define TR_DATA_MAX 8192

struct tr_result {
	int err; /* 0, or the negative errno of the test-run syscall */
	uint32_t retval; /* XDP action */
	uint32_t duration_ns; /* kernel's measure of the one run */
	size_t len; /* bytes in data */
	uint8_t data[TR_DATA_MAX]; /* the packet as the program left it */
};

/*
 * One BPF_PROG_TEST_RUN of an XDP program (repeat = 1, so the program sees
 * the input, never its own previous output), with an xdp_md ctx carrying
 * ingress_ifindex (rx_queue_index 0). The kernel rejects, with -EINVAL,
 * inputs shorter than ETH_HLEN (14) and longer than a page less headroom
 * and skb_shared_info (about 3.5 KiB) unless the program is xdp.frags.
 * Returns res->err; the syscall failing is logged, not recorded as a
 * check failure.
 */
int tr_run(int prog_fd, const void *in, size_t len, struct tr_result *res);
int tr_run_ifindex(int prog_fd, int ifindex, const void *in, size_t len,
		   struct tr_result *res);

/* "XDP_PASS", ..., or "XDP_?(n)" (in a static buffer). */
const char *tr_xdp_str(uint32_t action);

/*
 * Reporting. A case groups checks; it passes when none of its checks
 * failed. Failures print at once with the case name, file:line and the
 * message (at most TR_MAX_REPORTS per case; the rest are counted).
 * A check outside a case counts as a failed case of its own.
 */
#define TR_MAX_REPORTS 10

void tr_case_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Mark the open case skipped (the reason is printed); checks still count. */
void tr_case_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Close the case; true when it passed or was skipped without failures. */
bool tr_case_end(void);
/* Extra context under the current case's next failure report. */
void tr_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool tr_check_at(const char *file, int line, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define tr_check(cond, ...) tr_check_at(__FILE__, __LINE__, (cond), __VA_ARGS__)

/* Byte-exact comparison; on mismatch prints lengths, first difference and
 * hex dumps of both around it. */
bool tr_check_bytes_at(const char *file, int line, const void *got,
		       size_t got_len, const void *want, size_t want_len,
		       const char *what);
#define tr_check_bytes(got, got_len, want, want_len, what)                  \
	tr_check_bytes_at(__FILE__, __LINE__, (got), (got_len), (want),     \
			  (want_len), (what))

/* Failed, when some check of the open case failed so far. */
bool tr_case_failed(void);

/*
 * Close any open case, print "N passed, N failed, N skipped" as the last
 * line and return the exit code: 0 when nothing failed, else 1.
 */
int tr_summary(void);

/*
 * Callback for sweeps: sees each input given to the program and what came
 * back, for runs the kernel accepted and that did not return XDP_ABORTED
 * (the sweep already failed those). It reports problems with tr_check.
 */
typedef void (*tr_packet_cb)(void *arg, const uint8_t *in, size_t in_len,
			     const struct tr_result *res);

struct tr_sweep_stats {
	unsigned int runs; /* accepted by the kernel */
	unsigned int rejected; /* refused by the kernel: len < 14 */
	unsigned int aborted; /* XDP_ABORTED: each also a check failure */
	unsigned int by_action[5]; /* index XDP_ABORTED..XDP_REDIRECT */
};

/*
 * Run the program on every prefix of pkt, lengths 0 .. len - 1. Lengths
 * under ETH_HLEN (14) must be refused by the kernel with -EINVAL (XDP
 * test-run needs a whole Ethernet header); that is checked and counted in
 * rejected, the program never sees them. Every accepted run is checked
 * not to be XDP_ABORTED (a failure, with a hex dump of the input) and
 * otherwise handed to cb (may be NULL). st may be NULL. Returns the
 * number of runs that failed a check in here (ABORTED, unexpected
 * errors), not counting cb's checks.
 */
int tr_sweep_truncations(int prog_fd, const void *pkt, size_t len,
			 tr_packet_cb cb, void *arg,
			 struct tr_sweep_stats *st);

/*
 * Run the program on `rounds` mutations of pkt: each flips 1 to 4 random
 * bytes to random values, and one in four also cuts the packet at a random
 * length (>= 14). Deterministic for a given seed. Same checks and callback
 * as the sweep.
 */
int tr_fuzz_mutations(int prog_fd, const void *pkt, size_t len,
		      unsigned int rounds, uint64_t seed, tr_packet_cb cb,
		      void *arg, struct tr_sweep_stats *st);

/*
 * Generic output invariant for callbacks: on XDP_DROP anything goes;
 * otherwise the output must be byte-identical to the input or a
 * well-formed frame (pkt_check_frame). Records a check; returns its
 * outcome.
 */
bool tr_check_untouched_or_wellformed(const uint8_t *in, size_t in_len,
				      const struct tr_result *res);

#endif /* MERIDIAN_TEST_TESTRUN_H */
