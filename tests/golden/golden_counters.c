// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Exact counters: N packets of known sizes, IPv4 and IPv6 clients, spread
 * over regions whose backends take IPv4 or IPv6 outers, run through the
 * real bpf/edge.bpf.o. Afterwards every counter must hold exactly what the
 * sizes say: per region packets, bytes, and egress bytes = bytes +
 * overhead x packets (20 for an IPv4 outer, 40 for IPv6), less 4 bytes per
 * VLAN tag the edge strips; per VIP and per backend packets and bytes;
 * actions and LRU hits and misses.
 *
 * The same counters must then come out exactly the same through the three
 * readers operators use: the Prometheus rendering (metrics_render), and
 * `meridianctl stats -j` and `meridianctl top -j` on the maps pinned to a
 * bpffs directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "config.h"
#include "counter_snapshot.h"
#include "edge_fixture.h"
#include "metrics_render.h"

#define IPV4_OUTER 20
#define IPV6_OUTER 40
#define N_FLOWS 24 /* per client family */
#define PIN_ROOT "/sys/fs/bpf"

static struct fx fx;
static const uint8_t in_mac[6] = TR_IN_MAC;
static const uint8_t in_peer_mac[6] = TR_IN_PEER_MAC;

/* The fixture's backends (edge_fixture.h), by id. */
static const struct {
	const char *addr;
	uint8_t region;
	int outer; /* encapsulation overhead */
} backends[] = {
	{ "198.19.0.10", 0, IPV4_OUTER },
	{ "198.19.0.11", 0, IPV4_OUTER },
	{ "198.19.1.10", 1, IPV4_OUTER },
	{ "198.19.1.11", 1, IPV4_OUTER },
	{ "2001:db8:100::10", 2, IPV6_OUTER },
	{ "2001:db8:100::11", 2, IPV6_OUTER },
	{ TR_IN_NONEIGH4, 3, IPV4_OUTER },
	{ TR_UNROUTED4, 4, IPV4_OUTER },
	{ "2001:db8:101::10", 5, IPV6_OUTER },
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* Regions 0, 1, 2, 3 and 5 share every VIP's table; 4 has no route. */
#define N_REGIONS 6
static const uint16_t region_ring[N_REGIONS] = { 1, 3, 5, 6,
						 MERIDIAN_RING_NONE, 8 };
static const uint32_t region_action[N_REGIONS] = {
	MERIDIAN_ACT_TX,       MERIDIAN_ACT_REDIRECT, MERIDIAN_ACT_TX,
	MERIDIAN_ACT_FALLBACK, MERIDIAN_ACT_DROP,     MERIDIAN_ACT_REDIRECT,
};
static const uint32_t region_xdp[N_REGIONS] = {
	XDP_TX, XDP_REDIRECT, XDP_TX, XDP_PASS, XDP_DROP, XDP_REDIRECT,
};

/* What the data plane should have counted, kept apart from fx_snap. */
struct totals {
	uint64_t packets[N_REGIONS];
	uint64_t bytes[N_REGIONS];
	uint64_t overhead[N_REGIONS]; /* sum of outer header sizes */
	uint64_t tags[N_REGIONS]; /* bytes of VLAN tags the edge stripped */
};

static struct totals totals;

static int backend_of(const char *outer_dst)
{
	uint8_t want[16], got[16];
	size_t i;

	if (pkt_addr(outer_dst, got) < 0)
		return -1;
	for (i = 0; i < N_BACKENDS; i++)
		if (pkt_addr(backends[i].addr, want) > 0 &&
		    !memcmp(want, got, 16))
			return (int)i;
	return -1;
}

static int setup_tables(void)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { 0 };
	uint16_t rings[MERIDIAN_MAX_REGIONS];
	static const uint32_t vips[] = { 1, 2, 4, 5 };
	size_t i;
	int err = 0;

	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		rings[i] = MERIDIAN_RING_NONE;
	for (i = 0; i < N_REGIONS; i++) {
		if (region_ring[i] == MERIDIAN_RING_NONE)
			continue;
		weight[i] = 1;
		rings[i] = region_ring[i];
	}
	for (i = 0; !err && i < sizeof(vips) / sizeof(vips[0]); i++)
		err = fx_table(&fx, vips[i], 0, weight, rings, 0);
	return err;
}

/* A client frame with n_vlan tags and payload_len bytes of payload. */
static int client_frame(struct pkt *frame, const char *src, const char *dst,
			int proto, uint16_t sport, uint16_t dport,
			size_t payload_len, int n_vlan)
{
	static const uint8_t payload[1500];
	struct pkt_eth eth = { .n_vlan = n_vlan,
			       .vlan_tpid = { 0x88a8, 0x8100 },
			       .vlan_tci = { 0x0064, 0x00c8 } };
	struct pkt_ip ip = { .src = src, .dst = dst, .frag = PKT_DF };
	struct pkt_l4 l4 = { .proto = proto, .sport = sport, .dport = dport,
			     .payload = payload, .payload_len = payload_len };

	if (n_vlan < 2)
		eth.vlan_tpid[0] = 0x8100;
	memcpy(eth.dst, in_mac, 6);
	memcpy(eth.src, in_peer_mac, 6);
	return pkt_build(frame, &eth, &ip, &l4);
}

struct send {
	const char *src;
	const char *dst;
	int proto;
	uint16_t sport;
	uint16_t dport;
	uint32_t vip;
	size_t payload;
	int n_vlan;
	size_t padding; /* zero bytes after the IP packet */
	bool lru_hit; /* a later packet of a flow already sent */
};

/*
 * Runs one frame, checks the verdict and the output length against the
 * formula, and adds what it should have counted to want and totals.
 */
static void send_one(const struct send *s, struct fx_snap *want)
{
	size_t tags = PKT_VLAN_HLEN * (size_t)s->n_vlan;
	struct tr_result res;
	struct pkt frame;
	char dst[64];
	int b, r;

	if (!tr_check(client_frame(&frame, s->src, s->dst, s->proto, s->sport,
				   s->dport, s->payload, s->n_vlan) == 0,
		      "building the frame") ||
	    !tr_check(s->padding == 0 || pkt_put(&frame, s->padding),
		      "padding"))
		return;
	if (tr_run(fx.prog, frame.data, frame.len, &res))
		return (void)tr_check(false, "test run failed: %d", res.err);
	b = backend_of(fx_outer_dst(&res, dst, sizeof(dst)));
	if (!tr_check(b >= 0, "output to %s, not a backend (verdict %s)", dst,
		      tr_xdp_str(res.retval)))
		return;
	r = backends[b].region;
	tr_check(res.retval == region_xdp[r], "verdict %s, want %s",
		 tr_xdp_str(res.retval), tr_xdp_str(region_xdp[r]));
	tr_check(res.len == frame.len - s->padding - tags +
				    (size_t)backends[b].outer,
		 "output %zu bytes, want %zu - %zu + %d - %zu", res.len,
		 frame.len, s->padding, backends[b].outer, tags);
	/* Region and backend bytes are counted after padding is cut. */
	fx_want_steered(want, s->vip, (uint32_t)b, (uint8_t)r,
			frame.len - s->padding,
			frame.len - s->padding - tags +
				(size_t)backends[b].outer);
	/* VIP bytes: the frame as it arrived, padding included. */
	want->vip[s->vip].bytes += s->padding;
	want->c.action[region_action[r]]++;
	if (s->lru_hit)
		want->c.lru_hit++;
	else
		want->c.lru_miss++;
	totals.packets[r]++;
	totals.bytes[r] += frame.len - s->padding;
	totals.overhead[r] += (uint64_t)backends[b].outer;
	totals.tags[r] += tags;
}

/* Payload sizes: the smallest, odd ones, and up to a full 1500 MTU. */
static const size_t sizes[] = { 0, 1, 17, 99, 256, 511, 1000, 1400 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static void send_flows(const char *src, const char *vip_addr, uint32_t vip,
		       uint16_t dport, uint16_t first_sport, int n_vlan,
		       struct fx_snap *want)
{
	struct send s = { .src = src, .dst = vip_addr, .proto = IPPROTO_TCP,
			  .dport = dport, .vip = vip, .n_vlan = n_vlan };
	unsigned int i;

	/* Each flow twice: a miss, then a hit on the same backend. */
	for (i = 0; i < 2 * N_FLOWS; i++) {
		s.sport = (uint16_t)(first_sport + i % N_FLOWS);
		s.payload = sizes[(i * 3 + (unsigned int)n_vlan) % N_SIZES];
		s.lru_hit = i >= N_FLOWS;
		send_one(&s, want);
	}
}

static void check_region_formula(void)
{
	struct fx_snap got;
	int r;

	if (!tr_check(fx_snap(&fx, &got) == 0, "reading counters"))
		return;
	for (r = 0; r < N_REGIONS; r++) {
		const struct meridian_region_stats *g = &got.region[r];

		tr_check(g->packets == totals.packets[r] &&
				 g->egress_packets == totals.packets[r],
			 "region %d: %llu packets, %llu egress, want %llu", r,
			 (unsigned long long)g->packets,
			 (unsigned long long)g->egress_packets,
			 (unsigned long long)totals.packets[r]);
		tr_check(g->bytes == totals.bytes[r],
			 "region %d: %llu bytes, want %llu", r,
			 (unsigned long long)g->bytes,
			 (unsigned long long)totals.bytes[r]);
		tr_check(g->egress_bytes ==
				 g->bytes + totals.overhead[r] - totals.tags[r],
			 "region %d: egress %llu, want bytes %llu + overhead "
			 "%llu - VLAN tags %llu",
			 r, (unsigned long long)g->egress_bytes,
			 (unsigned long long)g->bytes,
			 (unsigned long long)totals.overhead[r],
			 (unsigned long long)totals.tags[r]);
	}
}

/* Every region holding a family's outer, from either client family. */
static void check_coverage(void)
{
	bool v4 = false, v6 = false;
	int r;

	for (r = 0; r < N_REGIONS; r++) {
		if (!totals.packets[r])
			continue;
		if (totals.overhead[r] == totals.packets[r] * IPV4_OUTER)
			v4 = true;
		if (totals.overhead[r] == totals.packets[r] * IPV6_OUTER)
			v6 = true;
	}
	tr_check(v4 && v6, "packets reached IPv4 outers %s, IPv6 outers %s",
		 v4 ? "yes" : "no", v6 ? "yes" : "no");
}

static void test_untagged(void)
{
	struct fx_snap want;

	tr_case_begin("N packets of known sizes, v4 and v6 clients, every "
		      "region: exact counters, egress = bytes + overhead x "
		      "packets");
	if (!tr_check(fx_snap(&fx, &want) == 0, "reading counters"))
		return (void)tr_case_end();
	send_flows(FX_CLIENT4, VIP4, 1, 80, 10000, 0, &want);
	send_flows(FX_CLIENT6, VIP6, 4, 443, 20000, 0, &want);
	fx_check_counters(&fx, &want);
	check_region_formula();
	check_coverage();
	tr_case_end();
}

static void test_vlan_and_padding(void)
{
	struct send pad = { .src = FX_CLIENT4, .dst = VIP4,
			    .proto = IPPROTO_TCP, .sport = 31000, .dport = 80,
			    .vip = 1, .payload = 0, .padding = 6 };
	struct fx_snap want;

	tr_case_begin("VLAN tags (one, two) and Ethernet padding: the edge "
		      "strips them, egress = bytes + overhead - tags");
	if (!tr_check(fx_snap(&fx, &want) == 0, "reading counters"))
		return (void)tr_case_end();
	send_flows(FX_CLIENT4, VIP4, 1, 80, 11000, 1, &want);
	send_flows(FX_CLIENT6, VIP6, 4, 443, 21000, 2, &want);
	/* 54 bytes padded to Ethernet's 60: region bytes count 54. */
	send_one(&pad, &want);
	fx_check_counters(&fx, &want);
	check_region_formula();
	tr_case_end();
}

/* --- readers: the Prometheus rendering ---------------------------------- */

/* A config naming the fixture's ids: region rN, backend bN, VIP vN. */
static int write_config(const char *path, const char *pin_dir)
{
	static const double cost[N_REGIONS] = { 0, 0.02, 0.05, 0.5, 1, 0.1 };
	FILE *f = fopen(path, "w");
	unsigned int i;

	if (!f)
		return -errno;
	fprintf(f,
		"edge:\n  interface: %s\n  region: r0\n"
		"  tunnel_source: {ipv4: %s, ipv6: \"%s\"}\n"
		"  pin_dir: %s\nregions:\n",
		TR_IN_NAME, FX_TUNNEL4, FX_TUNNEL6, pin_dir);
	for (i = 0; i < N_REGIONS; i++)
		fprintf(f,
			"  - {name: r%u, tier: %u, egress_cost_per_gb: %g}\n",
			i, i ? 1 : 0, cost[i]);
	fprintf(f, "backends:\n");
	for (i = 0; i < N_BACKENDS; i++)
		fprintf(f,
			"  - {name: b%u, address: \"%s\", port: 80, region: "
			"r%u, probe: {type: none}}\n",
			i, backends[i].addr, backends[i].region);
	fprintf(f, "vips:\n");
	for (i = 0; i < FX_IDS / 2; i++)
		fprintf(f, "  - {name: v%u, address: 198.18.60.%u, ports: "
			   "[tcp/80], weights: {r0: 100}}\n",
			i, i + 1);
	return fclose(f) ? -errno : 0;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	for (; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void check_metric(const char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_metric(const char *text, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tr_check(has_line(text, line), "no line '%s'", line);
}

static void test_prometheus(const struct model *m)
{
	struct counter_snapshot *s = calloc(1, sizeof(*s));
	struct metrics_input in = { .model = m, .counters = s };
	struct fx_snap got;
	char *text = NULL;
	size_t len = 0, i;
	FILE *out;
	int r;

	tr_case_begin("the same counters, exactly, in the Prometheus "
		      "rendering");
	out = open_memstream(&text, &len);
	if (!tr_check(s && out, "out of memory") ||
	    !tr_check(fx_snap(&fx, &got) == 0, "reading counters") ||
	    !tr_check(counter_snapshot_read(&fx.m, m->n_regions, m->n_vips,
					    m->n_backends, s) == 0,
		      "reading the snapshot") ||
	    !tr_check(metrics_render(out, &in) == 0, "rendering"))
		goto out;
	fclose(out);
	out = NULL;
	for (r = 0; r < N_REGIONS; r++) {
		const struct meridian_region_stats *g = &got.region[r];

		check_metric(text,
			     "meridian_region_packets_total{region=\"r%d\"}"
			     " %llu",
			     r, (unsigned long long)totals.packets[r]);
		check_metric(text,
			     "meridian_region_bytes_total{region=\"r%d\"} %llu",
			     r, (unsigned long long)totals.bytes[r]);
		check_metric(text,
			     "meridian_region_egress_packets_total"
			     "{region=\"r%d\"} %llu",
			     r, (unsigned long long)totals.packets[r]);
		check_metric(text,
			     "meridian_region_egress_bytes_total"
			     "{region=\"r%d\"} %llu",
			     r, (unsigned long long)g->egress_bytes);
		check_metric(text,
			     "meridian_region_egress_cost_total{region=\"r%d\"}"
			     " %.15g",
			     r, counter_egress_cost(
					g->egress_bytes,
					m->regions[r].egress_cost_per_gb));
	}
	for (i = 0; i < N_BACKENDS; i++)
		check_metric(text,
			     "meridian_backend_bytes_total{region=\"r%u\","
			     "backend=\"b%zu\"} %llu",
			     backends[i].region, i,
			     (unsigned long long)got.backend[i].bytes);
	check_metric(text, "meridian_vip_packets_total{vip=\"v1\"} %llu",
		     (unsigned long long)got.vip[1].packets);
	check_metric(text, "meridian_vip_bytes_total{vip=\"v4\"} %llu",
		     (unsigned long long)got.vip[4].bytes);
	check_metric(text, "meridian_lru_hits_total %llu",
		     (unsigned long long)got.c.lru_hit);
	check_metric(text, "meridian_lru_misses_total %llu",
		     (unsigned long long)got.c.lru_miss);
	check_metric(text, "meridian_actions_total{action=\"fallback\"} %llu",
		     (unsigned long long)got.c.action[MERIDIAN_ACT_FALLBACK]);
out:
	if (out)
		fclose(out);
	free(text);
	free(s);
	tr_case_end();
}

/* --- readers: meridianctl on pinned maps -------------------------------- */

static int ctl_path(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/../meridianctl", exe) >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) ? -ENOENT : 0;
}

static int pin_maps(const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	if (mkdir(dir, 0700))
		return -errno;
	bpf_object__for_each_map(map, fx.obj) {
		if (strncmp(bpf_map__name(map), "meridian_", 9))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_obj_pin(bpf_map__fd(map), path);
		if (err)
			return err;
	}
	return 0;
}

static void unpin_maps(const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, fx.obj) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		unlink(path);
	}
	rmdir(dir);
}

/* Runs cmd, keeping its stdout in out; returns its exit status or -1. */
static int run_capture(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int status;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_json_rows(const char *json, const struct fx_snap *got)
{
	char want[256];
	int r;

	for (r = 0; r < N_REGIONS; r++) {
		const struct meridian_region_stats *g = &got->region[r];

		snprintf(want, sizeof(want),
			 "{\"id\":%d,\"packets\":%llu,\"bytes\":%llu,"
			 "\"egress_packets\":%llu,\"egress_bytes\":%llu,"
			 "\"name\":\"r%d\",",
			 r, (unsigned long long)totals.packets[r],
			 (unsigned long long)totals.bytes[r],
			 (unsigned long long)totals.packets[r],
			 (unsigned long long)g->egress_bytes, r);
		tr_check(strstr(json, want) != NULL, "no %s", want);
	}
	snprintf(want, sizeof(want),
		 "{\"id\":1,\"packets\":%llu,\"bytes\":%llu,\"name\":\"v1\"",
		 (unsigned long long)got->vip[1].packets,
		 (unsigned long long)got->vip[1].bytes);
	tr_check(strstr(json, want) != NULL, "no %s", want);
	snprintf(want, sizeof(want),
		 "{\"id\":4,\"packets\":%llu,\"bytes\":%llu,\"name\":\"b4\","
		 "\"region\":\"r2\"",
		 (unsigned long long)got->backend[4].packets,
		 (unsigned long long)got->backend[4].bytes);
	tr_check(strstr(json, want) != NULL, "no %s", want);
	snprintf(want, sizeof(want), "\"lru_hit\":%llu",
		 (unsigned long long)got->c.lru_hit);
	tr_check(strstr(json, want) != NULL, "no %s", want);
}

static void test_cli(const char *cfg, const char *dir)
{
	static char json[1 << 16];
	char ctl[PATH_MAX + 32], cmd[4 * PATH_MAX];
	struct fx_snap got;
	int rc;

	tr_case_begin("meridianctl stats -j on the pinned maps: the same "
		      "counters, named from the config");
	if (ctl_path(ctl, sizeof(ctl))) {
		tr_case_skip("build/meridianctl not built");
		return (void)tr_case_end();
	}
	if (!tr_check(fx_snap(&fx, &got) == 0, "reading counters"))
		return (void)tr_case_end();
	snprintf(cmd, sizeof(cmd), "%s stats -j -c %s --pin-dir %s", ctl, cfg,
		 dir);
	rc = run_capture(cmd, json, sizeof(json));
	if (tr_check(rc == 0, "%s: exit %d", cmd, rc)) {
		tr_check(!strncmp(json, "{\"counters\":{\"actions\":{", 24),
			 "JSON starts %.40s", json);
		check_json_rows(json, &got);
	}
	tr_case_end();

	tr_case_begin("meridianctl stats --interval: rates, 0 while idle");
	snprintf(cmd, sizeof(cmd),
		 "%s stats -j -c %s --pin-dir %s --interval 100ms", ctl, cfg,
		 dir);
	rc = run_capture(cmd, json, sizeof(json));
	if (tr_check(rc == 0, "%s: exit %d", cmd, rc)) {
		check_json_rows(json, &got);
		tr_check(strstr(json, "\"interval_seconds\":") &&
				 strstr(json, "\"packets_per_second\":0,"),
			 "no rates in %.200s", json);
	}
	tr_case_end();

	tr_case_begin("meridianctl top -j --count 2: two frames, same "
		      "counters");
	snprintf(cmd, sizeof(cmd),
		 "%s top -j -c %s --pin-dir %s --interval 100ms --count 2 "
		 "</dev/null 2>&1",
		 ctl, cfg, dir);
	rc = run_capture(cmd, json, sizeof(json));
	if (rc == 2 && strstr(json, "unknown command")) {
		tr_case_skip("meridianctl has no top command registered");
	} else if (tr_check(rc == 0, "%s: exit %d: %.200s", cmd, rc, json)) {
		const char *second = strchr(json, '\n');

		tr_check(second && strchr(second + 1, '\n') &&
				 !strchr(strchr(second + 1, '\n') + 1, '{'),
			 "want exactly two lines, got %.300s", json);
		check_json_rows(json, &got);
		if (second)
			check_json_rows(second + 1, &got);
	}
	tr_case_end();
}

static void test_readers(void)
{
	char dir[64], cfg[] = "/tmp/meridian-golden-counters-XXXXXX";
	struct config_error cerr;
	struct model m = { 0 };
	char msg[1024];
	int fd, err;

	snprintf(dir, sizeof(dir), "%s/meridian-golden-%d", PIN_ROOT,
		 (int)getpid());
	fd = mkstemp(cfg);
	if (fd < 0)
		return (void)tr_check(false, "mkstemp: %s", strerror(errno));
	close(fd);
	err = write_config(cfg, dir);
	if (err) {
		tr_case_begin("config for the readers");
		tr_check(false, "writing %s: %s", cfg, strerror(-err));
		tr_case_end();
		goto out;
	}
	if (config_load_file(cfg, &m, &cerr)) {
		config_error_format(&cerr, msg, sizeof(msg));
		tr_case_begin("config for the readers");
		tr_check(false, "%s", msg);
		tr_case_end();
		goto out;
	}
	test_prometheus(&m);
	err = pin_maps(dir);
	if (err) {
		tr_case_begin("meridianctl on pinned maps");
		tr_case_skip("cannot pin under %s: %s", PIN_ROOT,
			     strerror(-err));
		tr_case_end();
	} else {
		test_cli(cfg, dir);
	}
	unpin_maps(dir);
	model_free(&m);
out:
	unlink(cfg);
}

int main(void)
{
	int err = fx_setup(&fx);

	if (!err)
		err = fx_topology(&fx);
	if (!err)
		err = setup_tables();
	if (fx_setup_failed(&fx, err))
		return tr_summary();
	test_untagged();
	test_vlan_and_padding();
	test_readers();
	fx_teardown(&fx);
	return tr_summary();
}
