// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test-run harness: namespace setup, object loading, XDP runs, sweeps and
 * reporting. See testrun.h for the contract.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkt.h"
#include "testrun.h"

#define ETH_HLEN_MIN 14
#define NOTE_MAX 1024

/* Reporting state: one open case at a time. */
static struct {
	char name[256];
	char note[NOTE_MAX];
	bool open;
	bool skipped;
	unsigned int failures;
} cur;

static unsigned int n_passed, n_failed, n_skipped;
static int default_ifindex;

static int log_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int log_err(int err, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("testrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
	return err;
}

void tr_case_begin(const char *fmt, ...)
{
	va_list ap;

	if (cur.open)
		tr_case_end();
	memset(&cur, 0, sizeof(cur));
	va_start(ap, fmt);
	vsnprintf(cur.name, sizeof(cur.name), fmt, ap);
	va_end(ap);
	cur.open = true;
}

void tr_case_skip(const char *fmt, ...)
{
	va_list ap;

	if (!cur.open)
		tr_case_begin("(unnamed)");
	cur.skipped = true;
	printf("SKIP %s: ", cur.name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

bool tr_case_failed(void)
{
	return cur.open && cur.failures > 0;
}

bool tr_case_end(void)
{
	bool ok;

	if (!cur.open)
		return true;
	ok = cur.failures == 0;
	if (!ok) {
		n_failed++;
		if (cur.failures > TR_MAX_REPORTS)
			printf("     ... %u more failures not shown\n",
			       cur.failures - TR_MAX_REPORTS);
		printf("FAIL %s (%u failed checks)\n", cur.name, cur.failures);
	} else if (cur.skipped) {
		n_skipped++;
	} else {
		n_passed++;
		printf("ok   %s\n", cur.name);
	}
	fflush(stdout);
	cur.open = false;
	return ok;
}

void tr_note(const char *fmt, ...)
{
	size_t used = strlen(cur.note);
	va_list ap;

	if (used + 2 >= sizeof(cur.note))
		return;
	if (used)
		cur.note[used++] = '\n';
	va_start(ap, fmt);
	vsnprintf(cur.note + used, sizeof(cur.note) - used, fmt, ap);
	va_end(ap);
}

/* Open a failure report; false when the case already said enough. */
static bool report_begin(const char *file, int line)
{
	bool implicit = !cur.open;

	if (implicit)
		tr_case_begin("(outside any case)");
	cur.failures++;
	if (cur.failures > TR_MAX_REPORTS)
		return false;
	printf("FAIL %s: %s:%d: ", cur.name, file, line);
	return true;
}

static void report_end(void)
{
	const char *at = cur.note;

	putchar('\n');
	while (*at) {
		const char *nl = strchr(at, '\n');
		int n = nl ? (int)(nl - at) : (int)strlen(at);

		printf("     %.*s\n", n, at);
		at += n + (nl ? 1 : 0);
	}
	fflush(stdout);
}

static void close_implicit_case(void)
{
	if (!strcmp(cur.name, "(outside any case)"))
		tr_case_end();
}

bool tr_check_at(const char *file, int line, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	if (report_begin(file, line)) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		report_end();
	}
	close_implicit_case();
	return false;
}

static void dump_window(const char *label, const uint8_t *b, size_t len,
			size_t from, size_t to)
{
	if (from >= len) {
		printf("     %s: (ends at %zu)\n", label, len);
		return;
	}
	if (to > len)
		to = len;
	printf("     %s [%#zx..%#zx):\n", label, from, to);
	pkt_hexdump(stdout, "       ", b + from, to - from);
}

bool tr_check_bytes_at(const char *file, int line, const void *got,
		       size_t got_len, const void *want, size_t want_len,
		       const char *what)
{
	const uint8_t *g = got, *w = want;
	size_t n = got_len < want_len ? got_len : want_len, diff, from;

	for (diff = 0; diff < n && g[diff] == w[diff]; diff++)
		;
	if (diff == n && got_len == want_len)
		return true;
	if (report_begin(file, line)) {
		printf("%s: %zu bytes, want %zu; first difference at %#zx",
		       what, got_len, want_len, diff);
		report_end();
		from = diff & ~(size_t)15;
		from = from >= 32 ? from - 32 : 0;
		dump_window("got ", g, got_len, from, diff + 48);
		dump_window("want", w, want_len, from, diff + 48);
		fflush(stdout);
	}
	close_implicit_case();
	return false;
}

int tr_summary(void)
{
	if (cur.open)
		tr_case_end();
	printf("%u passed, %u failed, %u skipped\n", n_passed, n_failed,
	       n_skipped);
	fflush(stdout);
	return n_failed ? 1 : 0;
}

const char *tr_xdp_str(uint32_t action)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP",
					     "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT" };
	static char other[32];

	if (action < sizeof(names) / sizeof(names[0]))
		return names[action];
	snprintf(other, sizeof(other), "XDP_?(%u)", action);
	return other;
}

/* The namespace, as `ip -batch` lines. */
static const char *const netns_script[] = {
	"link set lo up",
	"link add " TR_IN_NAME
	" address 02:00:00:00:00:01 type veth peer name " TR_IN_PEER_NAME
	" address 02:00:00:00:00:02",
	"link add " TR_OUT_NAME " address 02:00:00:00:01:01 type veth peer "
	"name " TR_OUT_PEER_NAME " address 02:00:00:00:01:02",
	"link set " TR_IN_NAME " up",
	"link set " TR_IN_PEER_NAME " up",
	"link set " TR_OUT_NAME " up",
	"link set " TR_OUT_PEER_NAME " up",
	"addr add " TR_IN_ADDR4 "/24 dev " TR_IN_NAME,
	"addr add " TR_IN_ADDR6 "/64 dev " TR_IN_NAME " nodad",
	"addr add " TR_OUT_ADDR4 "/24 dev " TR_OUT_NAME,
	"addr add " TR_OUT_ADDR6 "/64 dev " TR_OUT_NAME " nodad",
	"neigh add " TR_IN_GW4 " lladdr 02:00:00:00:00:02 dev " TR_IN_NAME
	" nud permanent",
	"neigh add " TR_IN_GW6 " lladdr 02:00:00:00:00:02 dev " TR_IN_NAME
	" nud permanent",
	"neigh add " TR_OUT_GW4 " lladdr 02:00:00:00:01:02 dev " TR_OUT_NAME
	" nud permanent",
	"neigh add " TR_OUT_GW6 " lladdr 02:00:00:00:01:02 dev " TR_OUT_NAME
	" nud permanent",
	"route add " TR_IN_NET4 " via " TR_IN_GW4 " dev " TR_IN_NAME,
	"route add " TR_IN_NET6 " via " TR_IN_GW6 " dev " TR_IN_NAME,
	"route add " TR_OUT_NET4 " via " TR_OUT_GW4 " dev " TR_OUT_NAME,
	"route add " TR_OUT_NET6 " via " TR_OUT_GW6 " dev " TR_OUT_NAME,
};

static int run_ip_batch(void)
{
	size_t i;
	FILE *ip;
	int status;

	ip = popen("ip -batch -", "w");
	if (!ip)
		return log_err(-errno, "popen ip -batch");
	for (i = 0; i < sizeof(netns_script) / sizeof(netns_script[0]); i++)
		fprintf(ip, "%s\n", netns_script[i]);
	status = pclose(ip);
	if (status == -1)
		return log_err(-errno, "pclose ip -batch");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return log_err(-EIO, "ip -batch failed (status %#x)", status);
	return 0;
}

static int write_sysctl(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return log_err(-errno, "open %s", path);
	if (fputs(value, f) < 0)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		return log_err(err, "write %s to %s", value, path);
	return 0;
}

static int link_fill(struct tr_link *l, const char *name, const char *peer,
		     const uint8_t mac[6], const uint8_t peer_mac[6])
{
	l->ifindex = (int)if_nametoindex(name);
	l->peer_ifindex = (int)if_nametoindex(peer);
	if (!l->ifindex || !l->peer_ifindex)
		return log_err(-ENODEV, "no ifindex for %s/%s", name, peer);
	memcpy(l->mac, mac, 6);
	memcpy(l->peer_mac, peer_mac, 6);
	return 0;
}

int tr_netns_enter(struct tr_env *env)
{
	static const uint8_t in_mac[6] = TR_IN_MAC;
	static const uint8_t in_peer[6] = TR_IN_PEER_MAC;
	static const uint8_t out_mac[6] = TR_OUT_MAC;
	static const uint8_t out_peer[6] = TR_OUT_PEER_MAC;
	int err;

	memset(env, 0, sizeof(*env));
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		if (err != -EPERM)
			return log_err(err, "unshare(CLONE_NEWNET)");
		tr_case_begin("network namespace");
		tr_case_skip("unshare(CLONE_NEWNET) refused: run as root");
		tr_case_end();
		return err;
	}
	err = run_ip_batch();
	if (!err)
		err = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	if (!err)
		err = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding",
				   "1");
	if (!err)
		err = link_fill(&env->in, TR_IN_NAME, TR_IN_PEER_NAME, in_mac,
				in_peer);
	if (!err)
		err = link_fill(&env->out, TR_OUT_NAME, TR_OUT_PEER_NAME,
				out_mac, out_peer);
	if (err)
		return err;
	default_ifindex = env->in.ifindex;
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* path, or the same relative path from the repository root. */
static int resolve_obj_path(const char *path, char *out, size_t out_len)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (access(path, R_OK) == 0 || path[0] == '/') {
		snprintf(out, out_len, "%s", path);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return log_err(-errno, "readlink /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(out, out_len, "%s/../../%s", exe, path) >= out_len)
		return log_err(-ENAMETOOLONG, "path of %s", path);
	return 0;
}

struct bpf_object *tr_obj_load(const char *path)
{
	char real[PATH_MAX];
	struct bpf_object *obj;
	struct bpf_map *map;
	int err;

	libbpf_set_print(libbpf_quiet);
	if (resolve_obj_path(path, real, sizeof(real)))
		return NULL;
	obj = bpf_object__open_file(real, NULL);
	if (!obj) {
		log_err(-errno, "open %s", real);
		return NULL;
	}
	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			log_err(err, "unpin map %s", bpf_map__name(map));
			goto close;
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		log_err(err, "load %s", real);
		goto close;
	}
	return obj;
close:
	bpf_object__close(obj);
	return NULL;
}

void tr_obj_close(struct bpf_object *obj)
{
	bpf_object__close(obj);
}

int tr_prog_fd(struct bpf_object *obj, const char *prog_name)
{
	struct bpf_program *prog;

	if (!obj)
		return log_err(-EINVAL, "program %s: no object", prog_name);
	prog = bpf_object__find_program_by_name(obj, prog_name);
	if (!prog)
		return log_err(-ENOENT, "program %s", prog_name);
	return bpf_program__fd(prog);
}

int tr_map_fd(struct bpf_object *obj, const char *map_name)
{
	struct bpf_map *map;

	if (!obj)
		return log_err(-EINVAL, "map %s: no object", map_name);
	map = bpf_object__find_map_by_name(obj, map_name);
	if (!map)
		return log_err(-ENOENT, "map %s", map_name);
	return bpf_map__fd(map);
}

int tr_percpu_sum(int map_fd, uint32_t key, uint64_t *out, size_t n)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	uint64_t *vals = NULL;
	int ncpu, err, cpu;
	size_t i;

	err = bpf_obj_get_info_by_fd(map_fd, &info, &info_len);
	if (err)
		return log_err(err, "info of map fd %d", map_fd);
	if (info.value_size != n * sizeof(uint64_t))
		return log_err(-EINVAL, "map %s: value_size %u, not %zu u64",
			       info.name, info.value_size, n);
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0)
		return log_err(ncpu, "possible CPUs");
	vals = calloc((size_t)ncpu * n, sizeof(uint64_t));
	if (!vals)
		return log_err(-ENOMEM, "map %s: buffer", info.name);
	err = bpf_map_lookup_elem(map_fd, &key, vals);
	if (err) {
		log_err(err, "map %s: lookup key %u", info.name, key);
		goto out;
	}
	for (i = 0; i < n; i++) {
		out[i] = 0;
		for (cpu = 0; cpu < ncpu; cpu++)
			out[i] += vals[(size_t)cpu * n + i];
	}
out:
	free(vals);
	return err;
}

int tr_run_ifindex(int prog_fd, int ifindex, const void *in, size_t len,
		   struct tr_result *res)
{
	struct xdp_md ctx = {
		.data_end = (__u32)len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = res->data,
		    .data_size_out = sizeof(res->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	res->len = 0;
	res->retval = 0;
	res->duration_ns = 0;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	res->err = err;
	if (err)
		return err;
	res->retval = opts.retval;
	res->duration_ns = opts.duration;
	res->len = opts.data_size_out;
	return 0;
}

int tr_run(int prog_fd, const void *in, size_t len, struct tr_result *res)
{
	int err = tr_run_ifindex(prog_fd, default_ifindex, in, len, res);

	if (err && len >= ETH_HLEN_MIN)
		log_err(err, "test run of prog fd %d, %zu bytes", prog_fd, len);
	return err;
}

bool tr_check_untouched_or_wellformed(const uint8_t *in, size_t in_len,
				      const struct tr_result *res)
{
	char why[160];

	if (res->retval == XDP_DROP)
		return true;
	if (res->retval == XDP_ABORTED)
		return tr_check(false, "len %zu: XDP_ABORTED", in_len);
	if (res->len == in_len && !memcmp(res->data, in, in_len))
		return true;
	if (!pkt_check_frame(res->data, res->len, why, sizeof(why)))
		return true;
	return tr_check(false,
			"len %zu: %s output of %zu bytes neither untouched "
			"nor well-formed: %s",
			in_len, tr_xdp_str(res->retval), res->len, why);
}

/* One run of a sweep or fuzz round; true when nothing went wrong here. */
static bool sweep_one(int prog_fd, const uint8_t *in, size_t len,
		      const char *label, tr_packet_cb cb, void *arg,
		      struct tr_sweep_stats *st, struct tr_result *res)
{
	int err = tr_run_ifindex(prog_fd, default_ifindex, in, len, res);

	if (len < ETH_HLEN_MIN && err == -EINVAL) {
		st->rejected++;
		return true;
	}
	if (!tr_check(!err, "%s: %zu bytes: test run failed: %s", label, len,
		      strerror(-err)))
		return false;
	st->runs++;
	if (res->retval < 5)
		st->by_action[res->retval]++;
	if (res->retval == XDP_ABORTED) {
		st->aborted++;
		tr_check(false, "%s: %zu bytes: XDP_ABORTED", label, len);
		if (cur.failures <= TR_MAX_REPORTS)
			pkt_hexdump(stdout, "       ", in, len);
		return false;
	}
	if (cb)
		cb(arg, in, len, res);
	return true;
}

int tr_sweep_truncations(int prog_fd, const void *pkt, size_t len,
			 tr_packet_cb cb, void *arg, struct tr_sweep_stats *st)
{
	struct tr_sweep_stats local;
	struct tr_result *res;
	int bad = 0;
	size_t cut;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	res = malloc(sizeof(*res));
	if (!res)
		return log_err(-ENOMEM, "sweep result buffer");
	for (cut = 0; cut < len; cut++)
		if (!sweep_one(prog_fd, pkt, cut, "truncation", cb, arg, st,
			       res))
			bad++;
	free(res);
	return bad;
}

/* xorshift64*: small, deterministic, good enough to pick bytes. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static size_t mutate(uint8_t *buf, const uint8_t *pkt, size_t len,
		     uint64_t *rng)
{
	unsigned int flips = 1 + next_rand(rng) % 4, i;

	memcpy(buf, pkt, len);
	for (i = 0; i < flips; i++)
		buf[next_rand(rng) % len] = (uint8_t)next_rand(rng);
	if (len > ETH_HLEN_MIN && next_rand(rng) % 4 == 0)
		len = ETH_HLEN_MIN + next_rand(rng) % (len - ETH_HLEN_MIN);
	return len;
}

int tr_fuzz_mutations(int prog_fd, const void *pkt, size_t len,
		      unsigned int rounds, uint64_t seed, tr_packet_cb cb,
		      void *arg, struct tr_sweep_stats *st)
{
	struct tr_sweep_stats local;
	uint64_t rng = seed ? seed : 1;
	struct tr_result *res;
	char label[64];
	uint8_t *buf;
	unsigned int r;
	size_t cut;
	int bad = 0;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (len < ETH_HLEN_MIN || len > PKT_MAX)
		return log_err(-EINVAL, "fuzz: packet of %zu bytes", len);
	res = malloc(sizeof(*res));
	buf = malloc(len);
	if (!res || !buf) {
		bad = log_err(-ENOMEM, "fuzz buffers");
		goto out;
	}
	for (r = 0; r < rounds; r++) {
		cut = mutate(buf, pkt, len, &rng);
		snprintf(label, sizeof(label), "fuzz seed %#llx round %u",
			 (unsigned long long)seed, r);
		if (!sweep_one(prog_fd, buf, cut, label, cb, arg, st, res))
			bad++;
	}
out:
	free(buf);
	free(res);
	return bad;
}
