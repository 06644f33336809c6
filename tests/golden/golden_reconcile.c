// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reconcile against the real edge maps (bpf/edge.bpf.o, unpinned, in the
 * harness namespace): every map read back after a first write, nothing
 * written twice, the order of writes on health flips, removals and address
 * changes, adoption of the maps by a restarted reconciler, and packets
 * still steered right after each step. Then a synthetic state of 1000 VIPs
 * x 8 regions x 64 backends per ring for timings and memory (printed, not
 * asserted).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "edge_fixture.h"
#include "hash64.h"
#include "maglev.h"
#include "reconcile.h"
#include "vip_addrs.h"
#include "weighted_slots.h"

static struct fx fx;

/* --- write log ---------------------------------------------------------- */

#define LOG_MAX 16384
static struct reconcile_op wlog[LOG_MAX];
static uint64_t wlog_ns[LOG_MAX];
static uint32_t n_wlog;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void log_op(void *arg, const struct reconcile_op *op)
{
	(void)arg;
	if (n_wlog < LOG_MAX) {
		wlog[n_wlog] = *op;
		wlog_ns[n_wlog] = now_ns();
	}
	n_wlog++;
}

static void print_log(void)
{
	uint32_t i;

	for (i = 0; i < n_wlog && i < LOG_MAX; i++)
		tr_note("  write %u: %s id %u", i,
			reconcile_op_name(wlog[i].kind), wlog[i].key.id);
}

/* Index of the first/last logged op of a kind (and id, unless ~0), or -1. */
static int log_find(enum reconcile_op_kind kind, uint32_t id, bool last)
{
	int i, found = -1;

	for (i = 0; i < (int)n_wlog && i < LOG_MAX; i++) {
		if (wlog[i].kind != kind || (id != ~0u && wlog[i].key.id != id))
			continue;
		found = i;
		if (!last)
			break;
	}
	return found;
}

/* Every op of kind a comes before every op of kind b. */
static bool log_before(enum reconcile_op_kind a, enum reconcile_op_kind b)
{
	int last_a = log_find(a, ~0u, true), first_b = log_find(b, ~0u, false);

	return last_a < 0 || first_b < 0 || last_a < first_b;
}

static void check_order(enum reconcile_op_kind a, enum reconcile_op_kind b)
{
	if (!tr_check(log_before(a, b), "%s must come before %s",
		      reconcile_op_name(a), reconcile_op_name(b)))
		print_log();
}

static bool log_is(const struct reconcile_op *op, enum reconcile_op_kind kind,
		   uint32_t id)
{
	return op->kind == kind && op->key.id == id;
}

/* --- the small topology ------------------------------------------------- */

/*
 *   backend  address             region  leaves by
 *   0        198.19.0.10         0       in  (XDP_TX)
 *   1        198.19.0.11         0       in
 *   2        198.19.1.10         1       out (redirect)
 *   3        198.19.1.11         1       out
 *   4        2001:db8:100::10    2       in
 *   5        2001:db8:100::11    2       in
 *
 * One ring per region over its backends. Class 1: 198.18.8.0/24 and
 * 2001:db8:8::/48. Tables: (1,0) region 0, (1,1) region 1, (2,0) regions 0
 * and 1, (3,0) region 2, (3,1) region 0. VIP keys: 1 VIP4 tcp/80, 2 VIP4
 * udp/53, 3 VIP6 tcp/443; the prefilter derived from them.
 */
#define NB 6
#define NREG 3
#define CLASS_CLIENT4 "198.18.8.10"
#define CLASS_CLIENT6 "2001:db8:8::10"

struct topo {
	bool up[NB];
	bool no_vip2; /* VIP key 2 and table (2,0) removed */
	bool wild2; /* VIP key 2 is udp/any instead of udp/53 */
	const char *vip3_addr; /* VIP 3's address, NULL: VIP6 */
	bool no_class1; /* class prefixes and tables (*,1) removed */
	bool removed[NB]; /* backends removed from the config */
	const char *addr4; /* backend 4's address, NULL: default */
	const char *tunnel4; /* config tunnel source, NULL: default */
};

static const char *const small_addr[NB] = {
	"198.19.0.10", "198.19.0.11",	   "198.19.1.10",
	"198.19.1.11", "2001:db8:100::10", "2001:db8:100::11",
};
static const uint8_t small_region[NB] = { 0, 0, 1, 1, 2, 2 };

static int addr_words(const char *text, __u32 addr[4], __u8 *family)
{
	int fam = pkt_addr(text, (uint8_t *)addr);

	if (fam < 0)
		return fam;
	*family = fam == 4 ? MERIDIAN_AF_INET : MERIDIAN_AF_INET6;
	return 0;
}

static void topo_all_up(struct topo *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < NB; i++)
		t->up[i] = true;
}

static bool in_config(const struct topo *t, uint32_t id)
{
	return !t->removed[id];
}

static int small_config(struct desired *d, const struct topo *t)
{
	__u32 v4[4];
	__u8 fam;

	if (addr_words(t->tunnel4 ? t->tunnel4 : FX_TUNNEL4, v4, &fam) ||
	    addr_words(FX_TUNNEL6, d->config.tunnel_src6, &fam))
		return -EINVAL;
	d->config.tunnel_src4 = v4[0];
	return 0;
}

static int small_backends(struct desired *d, const struct topo *t)
{
	struct meridian_backend *b;
	uint32_t i;

	d->n_backends = NB;
	d->backends = calloc(NB, sizeof(*d->backends));
	if (!d->backends)
		return -ENOMEM;
	for (i = 0; i < NB; i++) {
		if (!in_config(t, i))
			continue;
		b = &d->backends[i];
		if (addr_words(i == 4 && t->addr4 ? t->addr4 : small_addr[i],
			       b->addr, &b->family))
			return -EINVAL;
		b->region = small_region[i];
		b->up = t->up[i];
	}
	return 0;
}

/* A Maglev ring over the region's configured backends; down: weight 0. */
static int build_ring(struct desired_ring *ring, const uint32_t *ids,
		      const bool *up, size_t n, uint64_t seed)
{
	struct maglev_backend mb[128];
	size_t i, live = 0;

	ring->identity = seed;
	for (i = 0; i < n; i++) {
		mb[i].key = hash64_mix(ids[i]);
		mb[i].id = ids[i];
		mb[i].weight = up[i];
		live += up[i];
		ring->identity = hash64_pair(ring->identity, ids[i]);
	}
	ring->size = 0;
	free(ring->slots);
	ring->slots = NULL;
	if (!live)
		return 0;
	ring->size = maglev_ring_size(n);
	ring->slots = calloc(ring->size, sizeof(*ring->slots));
	if (!ring->slots)
		return -ENOMEM;
	return maglev_build(mb, n, ring->slots, ring->size);
}

static int small_rings(struct desired *d, const struct topo *t)
{
	uint32_t ids[NB], r, i, n;
	bool up[NB];
	int err = 0;

	d->n_rings = NREG;
	d->rings = calloc(NREG, sizeof(*d->rings));
	if (!d->rings)
		return -ENOMEM;
	for (r = 0; !err && r < NREG; r++) {
		for (i = 0, n = 0; i < NB; i++) {
			if (small_region[i] != r || !in_config(t, i))
				continue;
			ids[n] = i;
			up[n++] = t->up[i];
		}
		err = build_ring(&d->rings[r], ids, up, n, r);
	}
	return err;
}

/* Region weights (regions with an empty ring drop out), slots, rings. */
static int fill_table(struct desired *d, uint32_t vip, uint32_t cls,
		      uint32_t regions_mask, uint32_t flags)
{
	uint32_t weight[MERIDIAN_MAX_REGIONS] = { 0 };
	struct desired_table *t = &d->tables[d->n_tables++];
	uint32_t r;

	t->key.vip_id = vip;
	t->key.class_id = cls;
	t->table.flags = flags;
	t->table.generation = d->generation;
	for (r = 0; r < MERIDIAN_MAX_REGIONS; r++) {
		t->table.ring[r] = MERIDIAN_RING_NONE;
		if (r < d->n_rings && (regions_mask & (1u << r)) &&
		    d->rings[r].size) {
			weight[r] = 1;
			t->table.ring[r] = r;
		}
	}
	return weighted_slots_fill(weight, MERIDIAN_MAX_REGIONS, t->table.slot,
				   MERIDIAN_REGION_SLOTS);
}

static int small_tables(struct desired *d, const struct topo *t)
{
	int err;

	d->tables = calloc(5, sizeof(*d->tables));
	if (!d->tables)
		return -ENOMEM;
	err = fill_table(d, 1, 0, 1u << 0, 0);
	if (!err && !t->no_class1)
		err = fill_table(d, 1, 1, 1u << 1, 0);
	if (!err && !t->no_vip2)
		err = fill_table(d, 2, 0, 1u << 0 | 1u << 1, 0);
	if (!err)
		err = fill_table(d, 3, 0, 1u << 2, 0);
	if (!err && !t->no_class1)
		err = fill_table(d, 3, 1, 1u << 0, 0);
	return err;
}

static int small_vip(struct desired *d, uint32_t id, const char *addr,
		     int proto, uint16_t port)
{
	struct desired_vip *v = &d->vips[d->n_vips++];

	v->key.proto = proto;
	v->key.port = htons(port);
	v->val.id = id;
	return addr_words(addr, v->key.addr, &v->key.family);
}

static int small_classes(struct desired *d, const struct topo *t)
{
	struct meridian_class cls = { .id = 1 };
	__u32 addr[4];
	__u8 fam;

	if (t->no_class1)
		return 0;
	d->classes4 = calloc(1, sizeof(*d->classes4));
	d->classes6 = calloc(1, sizeof(*d->classes6));
	if (!d->classes4 || !d->classes6)
		return -ENOMEM;
	if (addr_words("198.18.8.0", addr, &fam))
		return -EINVAL;
	d->classes4[0].key = (struct meridian_lpm4_key){ 24, addr[0] };
	d->classes4[0].val = cls;
	d->n_classes4 = 1;
	if (addr_words("2001:db8:8::", d->classes6[0].key.addr, &fam))
		return -EINVAL;
	d->classes6[0].key.prefixlen = 48;
	d->classes6[0].val = cls;
	d->n_classes6 = 1;
	return 0;
}

static int build_small(struct desired *d, const struct topo *t)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->generation = 1;
	d->vips = calloc(3, sizeof(*d->vips));
	err = d->vips ? small_config(d, t) : -ENOMEM;
	if (!err)
		err = small_backends(d, t);
	if (!err)
		err = small_rings(d, t);
	if (!err)
		err = small_tables(d, t);
	if (!err)
		err = small_classes(d, t);
	if (!err)
		err = small_vip(d, 1, VIP4, IPPROTO_TCP, 80);
	if (!err && !t->no_vip2)
		err = small_vip(d, 2, VIP4, IPPROTO_UDP, t->wild2 ? 0 : 53);
	if (!err)
		err = small_vip(d, 3, t->vip3_addr ? t->vip3_addr : VIP6,
				IPPROTO_TCP, 443);
	if (!err)
		err = vip_addrs_build(d);
	if (err)
		desired_free(d);
	return err;
}

/* --- reading the maps back ---------------------------------------------- */

static uint32_t count_keys(int fd, size_t key_size, uint32_t max)
{
	uint8_t key[64], next[64];
	uint32_t n = 0;
	void *prev = NULL;

	while (n <= max && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static uint32_t count_rings(void)
{
	uint32_t id, inner, n = 0;

	for (id = 0; id < MERIDIAN_MAX_RINGS; id++)
		if (!bpf_map_lookup_elem(fx.m.rings, &id, &inner))
			n++;
	return n;
}

static void check_config_backends(const struct desired *d)
{
	struct meridian_backend got, want;
	struct meridian_config cfg;
	uint32_t id;

	tr_check(!meridian_config_get(&fx.m, &cfg) &&
			 !memcmp(&cfg, &d->config, sizeof(cfg)),
		 "config differs");
	for (id = 0; id < MERIDIAN_MAX_BACKENDS; id++) {
		memset(&want, 0, sizeof(want));
		if (id < d->n_backends && d->backends[id].family)
			want = d->backends[id];
		if (meridian_backend_get(&fx.m, id, &got) ||
		    memcmp(&got, &want, sizeof(got)))
			tr_check(false, "backend %u differs (up %u, want %u)",
				 id, got.up, want.up);
	}
}

static void check_vips_classes(const struct desired *d)
{
	struct meridian_class cls;
	struct meridian_vip vip;
	uint32_t i;

	tr_check(count_keys(fx.m.vips, sizeof(struct meridian_vip_key), 64) ==
			 d->n_vips,
		 "VIP keys in the map differ in number from %u", d->n_vips);
	for (i = 0; i < d->n_vips; i++)
		tr_check(!meridian_vip_get(&fx.m, &d->vips[i].key, &vip) &&
				 !memcmp(&vip, &d->vips[i].val, sizeof(vip)),
			 "VIP key %u differs", i);
	tr_check(count_keys(fx.m.classes4, sizeof(struct meridian_lpm4_key),
			    64) == d->n_classes4,
		 "IPv4 class prefixes differ in number");
	tr_check(count_keys(fx.m.classes6, sizeof(struct meridian_lpm6_key),
			    64) == d->n_classes6,
		 "IPv6 class prefixes differ in number");
	for (i = 0; i < d->n_classes4; i++)
		tr_check(!bpf_map_lookup_elem(fx.m.classes4,
					      &d->classes4[i].key, &cls) &&
				 !memcmp(&cls, &d->classes4[i].val,
					 sizeof(cls)),
			 "IPv4 class prefix %u differs", i);
	for (i = 0; i < d->n_classes6; i++)
		tr_check(!bpf_map_lookup_elem(fx.m.classes6,
					      &d->classes6[i].key, &cls) &&
				 !memcmp(&cls, &d->classes6[i].val,
					 sizeof(cls)),
			 "IPv6 class prefix %u differs", i);
}

/* Used slots of the VIP-address tables in use now, per family. */
static void count_vip_addrs(uint32_t *n4, uint32_t *n6)
{
	static struct meridian_vip_addr_slot4 s4[MERIDIAN_VIP_ADDR_SLOTS];
	static struct meridian_vip_addr_slot6 s6[MERIDIAN_VIP_ADDR_SLOTS];
	uint32_t i;

	*n4 = *n6 = 0;
	if (!tr_check(!meridian_vip_addrs4_read(&fx.m, s4) &&
			      !meridian_vip_addrs6_read(&fx.m, s6),
		      "reading the VIP-address tables"))
		return;
	for (i = 0; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		*n4 += !!s4[i].used;
		*n6 += !!s6[i].used;
	}
}

static void check_vip_addrs(const struct desired *d)
{
	struct meridian_vip_addr va;
	uint32_t i, n4, n6;

	count_vip_addrs(&n4, &n6);
	tr_check(n4 == d->n_vip_addrs4,
		 "IPv4 VIP addresses in the map: %u, want %u", n4,
		 d->n_vip_addrs4);
	tr_check(n6 == d->n_vip_addrs6,
		 "IPv6 VIP addresses in the map: %u, want %u", n6,
		 d->n_vip_addrs6);
	for (i = 0; i < d->n_vip_addrs4; i++)
		tr_check(!meridian_vip_addr4_get(&fx.m, d->vip_addrs4[i].key,
						 &va) &&
				 !memcmp(&va, &d->vip_addrs4[i].val,
					 sizeof(va)),
			 "IPv4 VIP address %u differs", i);
	for (i = 0; i < d->n_vip_addrs6; i++)
		tr_check(!meridian_vip_addr6_get(&fx.m, &d->vip_addrs6[i].key,
						 &va) &&
				 !memcmp(&va, &d->vip_addrs6[i].val,
					 sizeof(va)),
			 "IPv6 VIP address %u differs", i);
}

static uint32_t want_ring_id(struct reconciler *r, const struct desired *d,
			     uint32_t idx)
{
	int id;

	if (idx == MERIDIAN_RING_NONE || !d->rings[idx].size)
		return MERIDIAN_RING_NONE;
	id = reconciler_ring_id(r, d->rings[idx].identity);
	return id < 0 ? 0xfffe : (uint32_t)id;
}

static void check_rings(struct reconciler *r, const struct desired *d)
{
	static uint32_t got[MERIDIAN_RING_MAX];
	uint32_t i, n = 0, size;
	int id;

	for (i = 0; i < d->n_rings; i++) {
		if (!d->rings[i].size)
			continue;
		n++;
		id = reconciler_ring_id(r, d->rings[i].identity);
		if (!tr_check(id >= 0, "ring %u has no id", i))
			continue;
		tr_check(!meridian_ring_get(&fx.m, id, got, MERIDIAN_RING_MAX,
					    &size) &&
				 size == d->rings[i].size &&
				 !memcmp(got, d->rings[i].slots,
					 size * sizeof(*got)),
			 "ring %u (id %d) differs", i, id);
	}
	tr_check(count_rings() == n, "%u rings in the map, want %u",
		 count_rings(), n);
}

static void check_tables(struct reconciler *r, const struct desired *d,
			 bool check_generation)
{
	static struct meridian_region_table got;
	const struct desired_table *t;
	uint32_t i, reg;

	tr_check(count_keys(fx.m.region_tables,
			    sizeof(struct meridian_region_key),
			    64) == d->n_tables,
		 "region tables differ in number from %u", d->n_tables);
	for (i = 0; i < d->n_tables; i++) {
		t = &d->tables[i];
		if (!tr_check(!meridian_region_table_get(&fx.m, &t->key, &got),
			      "table (%u, %u) missing", t->key.vip_id,
			      t->key.class_id))
			continue;
		tr_check(got.flags == t->table.flags &&
				 !memcmp(got.slot, t->table.slot,
					 sizeof(got.slot)),
			 "table (%u, %u) slots differ", t->key.vip_id,
			 t->key.class_id);
		tr_check(!check_generation || got.generation == d->generation,
			 "table (%u, %u) generation %u, want %u", t->key.vip_id,
			 t->key.class_id, got.generation, d->generation);
		for (reg = 0; reg < MERIDIAN_MAX_REGIONS; reg++)
			tr_check(got.ring[reg] ==
					 want_ring_id(r, d, t->table.ring[reg]),
				 "table (%u, %u) region %u names ring %u",
				 t->key.vip_id, t->key.class_id, reg,
				 got.ring[reg]);
	}
}

static void check_maps(struct reconciler *r, const struct desired *d,
		       bool check_generation)
{
	check_config_backends(d);
	check_vips_classes(d);
	check_vip_addrs(d);
	check_rings(r, d);
	check_tables(r, d, check_generation);
}

/* --- applying ----------------------------------------------------------- */

static struct reconcile_stats apply(struct reconciler *r,
				    const struct desired *d)
{
	struct reconcile_stats st;

	n_wlog = 0;
	tr_check(reconcile_apply(r, d, &st) == 0, "reconcile_apply failed");
	return st;
}

static void check_no_writes(const struct reconcile_stats *st)
{
	if (!tr_check(st->writes == 0 && st->deletes == 0 && n_wlog == 0,
		      "%u writes, %u deletes, want none", st->writes,
		      st->deletes))
		print_log();
}

static int rebuild(struct desired *d, const struct topo *t)
{
	desired_free(d);
	return build_small(d, t);
}

/* --- packets ------------------------------------------------------------ */

/* One frame through the program; the outer destination when it left. */
static uint32_t send_frame(const char *src, const char *dst, int proto,
			   uint16_t sport, uint16_t dport, char *outer,
			   size_t len)
{
	static struct tr_result res;
	static struct pkt frame;

	outer[0] = 0;
	if (!tr_check(!fx_simple(&frame, src, dst, proto, sport, dport, 16),
		      "building a frame"))
		return XDP_ABORTED;
	if (!tr_check(!tr_run(fx.prog, frame.data, frame.len, &res),
		      "test run failed"))
		return XDP_ABORTED;
	if (res.retval == XDP_TX || res.retval == XDP_REDIRECT)
		fx_outer_dst(&res, outer, len);
	return res.retval;
}

static bool one_of(const char *s, const char *a, const char *b)
{
	return !strcmp(s, a) || (b && !strcmp(s, b));
}

/* n flows from src: all leave with `action` towards a or b. */
static void check_flows(const char *src, const char *dst, int proto,
			uint16_t dport, uint32_t action, const char *a,
			const char *b, uint16_t sport0, int n)
{
	char outer[64];
	uint32_t ret;
	int i;

	for (i = 0; i < n; i++) {
		ret = send_frame(src, dst, proto, sport0 + i, dport, outer,
				 sizeof(outer));
		if (!tr_check(ret == action && (!a || one_of(outer, a, b)),
			      "flow %s:%d -> %s: %s to \"%s\"", src, sport0 + i,
			      dst, tr_xdp_str(ret), outer))
			break;
	}
}

/* First source port from 1000 whose flow lands on backend addr. */
static uint16_t port_to(const char *src, const char *dst, int proto,
			uint16_t dport, const char *addr)
{
	char outer[64];
	uint16_t sport;

	for (sport = 1000; sport < 1200; sport++) {
		send_frame(src, dst, proto, sport, dport, outer, sizeof(outer));
		if (!strcmp(outer, addr))
			return sport;
	}
	tr_check(false, "no flow to %s reaches %s", dst, addr);
	return 0;
}

/* --- cases -------------------------------------------------------------- */

static struct reconciler *rc;
static struct desired cur;
static struct topo topo;
static uint16_t sport_b0; /* a VIP4 tcp/80 flow that sits on backend 0 */

static void case_first_apply(void)
{
	struct reconcile_stats st;

	tr_case_begin("first apply writes every entry, in dependency order");
	st = apply(rc, &cur);
	/* Config equals what the fixture wrote: not rewritten. */
	tr_check(st.ring_swaps == 3 && st.table_swaps == 5 &&
			 st.writes == NB + 3 + 5 + 2 + 2 + 3 &&
			 st.deletes == 0,
		 "writes %u (ring swaps %u, table swaps %u), deletes %u",
		 st.writes, st.ring_swaps, st.table_swaps, st.deletes);
	check_order(RECONCILE_BACKEND_PUT, RECONCILE_RING_SWAP);
	check_order(RECONCILE_RING_SWAP, RECONCILE_TABLE_SWAP);
	check_order(RECONCILE_TABLE_SWAP, RECONCILE_CLASS4_PUT);
	check_order(RECONCILE_TABLE_SWAP, RECONCILE_CLASS6_PUT);
	check_order(RECONCILE_CLASS4_PUT, RECONCILE_VIP_PUT);
	check_order(RECONCILE_CLASS6_PUT, RECONCILE_VIP_PUT);
	check_order(RECONCILE_TABLE_SWAP, RECONCILE_VIP_ADDR4_PUT);
	check_order(RECONCILE_TABLE_SWAP, RECONCILE_VIP_ADDR6_PUT);
	check_order(RECONCILE_VIP_ADDR4_PUT, RECONCILE_VIP_PUT);
	check_order(RECONCILE_VIP_ADDR6_PUT, RECONCILE_VIP_PUT);
	tr_check(log_find(RECONCILE_VIP_ADDR4_PUT, ~0u, false) >= 0 &&
			 log_find(RECONCILE_VIP_ADDR6_PUT, ~0u, false) >= 0,
		 "both prefilter maps written");
	check_maps(rc, &cur, true);
	tr_case_end();
}

static void case_reapply(void)
{
	struct reconcile_stats st;

	tr_case_begin("applying the same state again writes nothing");
	st = apply(rc, &cur);
	check_no_writes(&st);
	tr_case_end();

	tr_case_begin("a new generation alone writes nothing");
	cur.generation++;
	st = apply(rc, &cur);
	check_no_writes(&st);
	check_maps(rc, &cur, false);
	tr_case_end();
}

static void case_config_change(void)
{
	struct reconcile_stats st;

	tr_case_begin("a config change writes the config only");
	topo.tunnel4 = "198.18.0.9";
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	tr_check(st.writes == 1 && n_wlog == 1 &&
			 wlog[0].kind == RECONCILE_CONFIG_PUT,
		 "%u writes", st.writes);
	topo.tunnel4 = NULL;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	tr_check(st.writes == 1, "%u writes restoring it", st.writes);
	check_maps(rc, &cur, true);
	tr_case_end();
}

static void case_steering(void)
{
	tr_case_begin("packets steer by the written tables");
	check_flows(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX, small_addr[0],
		    small_addr[1], 2000, 16);
	check_flows(CLASS_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_REDIRECT,
		    small_addr[2], small_addr[3], 2000, 16);
	check_flows(FX_CLIENT6, VIP6, IPPROTO_TCP, 443, XDP_TX, small_addr[4],
		    small_addr[5], 2000, 16);
	check_flows(CLASS_CLIENT6, VIP6, IPPROTO_TCP, 443, XDP_TX,
		    small_addr[0], small_addr[1], 2000, 16);
	sport_b0 = port_to(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, small_addr[0]);
	tr_case_end();
}

/* Backend id's entry in cur, with the up flag given. */
static struct meridian_backend entry_with_up(uint32_t id, __u32 up)
{
	struct meridian_backend b = cur.backends[id];

	b.up = up;
	return b;
}

static void case_backend_down(void)
{
	int ring0 = reconciler_ring_id(rc, cur.rings[0].identity);
	struct meridian_counters before, after;
	struct meridian_backend want, moved;
	struct reconcile_stats st;
	char outer[64];
	int ret;

	tr_case_begin("backend down, ahead of the apply: one flag write, "
		      "its flows move at once");
	want = entry_with_up(0, 0);
	moved = want;
	moved.region = 1;
	n_wlog = 0;
	ret = reconcile_backend_health(rc, 0, &moved);
	tr_check(ret == 0 && n_wlog == 0,
		 "a region change is left to the apply (%d, %u writes)", ret,
		 n_wlog);
	ret = reconcile_backend_health(rc, 0, &want);
	if (!tr_check(ret == 1 && n_wlog == 1 &&
			      log_is(&wlog[0], RECONCILE_BACKEND_PUT, 0) &&
			      wlog[0].backend.up == 0,
		      "want backend 0's flag written (%d)", ret))
		print_log();
	n_wlog = 0;
	ret = reconcile_backend_health(rc, 0, &want);
	tr_check(ret == 0 && n_wlog == 0, "the same flip again writes nothing");
	meridian_counters_read(&fx.m, &before);
	send_frame(FX_CLIENT4, VIP4, IPPROTO_TCP, sport_b0, 80, outer,
		   sizeof(outer));
	meridian_counters_read(&fx.m, &after);
	tr_check(!strcmp(outer, small_addr[1]),
		 "the flow on backend 0 went to \"%s\"", outer);
	tr_check(after.lru_repick == before.lru_repick + 1,
		 "the flow re-picked (lru_repick %llu -> %llu)",
		 (unsigned long long)before.lru_repick,
		 (unsigned long long)after.lru_repick);
	/* The ring still names backend 0: its slots fall to backend 1. */
	check_flows(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX, small_addr[1],
		    NULL, 2500, 32);
	tr_case_end();

	tr_case_begin("then the apply: only the ring, the flag is in place");
	topo.up[0] = false;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(n_wlog == 1 && st.writes == 1 && st.ring_swaps == 1 &&
			      log_is(&wlog[0], RECONCILE_RING_SWAP, ring0),
		      "want only ring %d swapped", ring0))
		print_log();
	tr_check(reconciler_ring_id(rc, cur.rings[0].identity) == ring0,
		 "the ring kept its id");
	check_maps(rc, &cur, true);
	check_flows(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX, small_addr[1],
		    NULL, 3000, 32);
	tr_case_end();

	tr_case_begin("backend down by the apply alone: its flag, then its ring");
	topo.up[2] = false;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(n_wlog == 2 && st.writes == 2 && st.ring_swaps == 1 &&
			      log_is(&wlog[0], RECONCILE_BACKEND_PUT, 2) &&
			      wlog[0].backend.up == 0 &&
			      wlog[1].kind == RECONCILE_RING_SWAP,
		      "want backend 2 down, then its ring swapped"))
		print_log();
	check_maps(rc, &cur, true);
	topo.up[2] = true;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	tr_check(n_wlog == 2 && log_is(&wlog[0], RECONCILE_BACKEND_PUT, 2) &&
			 wlog[0].backend.up == 1,
		 "backend 2 up again, flag first");
	check_maps(rc, &cur, true);
	tr_case_end();

	tr_case_begin("backend up: its up flag, then its ring");
	topo.up[0] = true;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(n_wlog == 2 && st.writes == 2 &&
			      log_is(&wlog[0], RECONCILE_BACKEND_PUT, 0) &&
			      wlog[0].backend.up == 1 &&
			      log_is(&wlog[1], RECONCILE_RING_SWAP, ring0),
		      "want backend 0 up, then ring %d swapped", ring0))
		print_log();
	check_maps(rc, &cur, true);
	tr_case_end();
}

static void ring_ids(struct reconciler *r, const struct desired *d, int *ids)
{
	uint32_t i;

	for (i = 0; i < d->n_rings; i++)
		ids[i] = reconciler_ring_id(r, d->rings[i].identity);
}

static void case_restart(void)
{
	struct meridian_traffic_stats vs_before, vs_after;
	struct meridian_flow flow_before, flow_after;
	struct meridian_flow_key fk = { .sport = htons(1000),
					.dport = htons(80),
					.proto = IPPROTO_TCP,
					.family = MERIDIAN_AF_INET };
	int ids[NREG], ids2[NREG];
	struct reconciler *r2 = NULL;
	struct reconcile_stats st;
	uint8_t fam;
	char outer[64];

	tr_case_begin("a restarted reconciler adopts the maps, writes nothing");
	send_frame(FX_CLIENT4, VIP4, IPPROTO_TCP, 1000, 80, outer,
		   sizeof(outer));
	addr_words(FX_CLIENT4, fk.src, &fam);
	addr_words(VIP4, fk.dst, &fam);
	tr_check(!meridian_flow_lookup(&fx.m, &fk, &flow_before),
		 "the flow is in the LRU");
	meridian_vip_stats_read(&fx.m, 1, &vs_before);
	ring_ids(rc, &cur, ids);
	if (tr_check(!reconciler_create(&r2, &fx.m), "create")) {
		reconciler_set_log(r2, log_op, NULL);
		st = apply(r2, &cur);
		check_no_writes(&st);
		ring_ids(r2, &cur, ids2);
		tr_check(!memcmp(ids, ids2, sizeof(ids)),
			 "ring ids %d %d %d, were %d %d %d", ids2[0], ids2[1],
			 ids2[2], ids[0], ids[1], ids[2]);
		st = apply(r2, &cur);
		check_no_writes(&st);
	}
	reconciler_destroy(r2);
	tr_check(!meridian_flow_lookup(&fx.m, &fk, &flow_after) &&
			 !memcmp(&flow_before, &flow_after, sizeof(flow_after)),
		 "the flow's entry is unchanged");
	meridian_vip_stats_read(&fx.m, 1, &vs_after);
	tr_check(!memcmp(&vs_before, &vs_after, sizeof(vs_after)),
		 "VIP counters unchanged");
	tr_case_end();
}

static void case_restart_changed(void)
{
	int ring0 = reconciler_ring_id(rc, cur.rings[0].identity);
	struct reconciler *r3 = NULL;
	struct reconcile_stats st;

	tr_case_begin("restart after a health change: ring rewritten in place");
	topo.up[1] = false;
	tr_check(!rebuild(&cur, &topo), "building");
	if (tr_check(!reconciler_create(&r3, &fx.m), "create")) {
		reconciler_set_log(r3, log_op, NULL);
		st = apply(r3, &cur);
		if (!tr_check(n_wlog == 2 && st.table_swaps == 0 &&
				      log_is(&wlog[0], RECONCILE_BACKEND_PUT,
					     1) &&
				      log_is(&wlog[1], RECONCILE_RING_SWAP,
					     ring0),
			      "want backend 1 down, then ring %d in place",
			      ring0))
			print_log();
		check_maps(r3, &cur, true);
		check_flows(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX,
			    small_addr[0], NULL, 4000, 16);
		/* Back as rc knows it, so rc's view stays true. */
		topo.up[1] = true;
		tr_check(!rebuild(&cur, &topo), "building");
		st = apply(r3, &cur);
		tr_check(st.writes == 2, "%u writes restoring", st.writes);
	}
	reconciler_destroy(r3);
	st = apply(rc, &cur);
	check_no_writes(&st);
	tr_case_end();
}

static void case_region_empty(void)
{
	int ring1 = reconciler_ring_id(rc, cur.rings[1].identity);
	struct reconcile_stats st;
	int del, down;
	char outer[64];

	tr_case_begin("region loses every backend: flags, tables, its ring");
	topo.up[2] = topo.up[3] = false;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	/* The emptied ring is not rewritten: down first, then the tables. */
	del = log_find(RECONCILE_RING_DELETE, ring1, false);
	down = log_find(RECONCILE_BACKEND_PUT, 3, false);
	if (!tr_check(st.table_swaps == 2 && st.ring_swaps == 0 &&
			      st.writes == 4 && st.deletes == 1 && del >= 0 &&
			      down >= 0 &&
			      log_before(RECONCILE_BACKEND_PUT,
					 RECONCILE_TABLE_SWAP) &&
			      log_before(RECONCILE_TABLE_SWAP,
					 RECONCILE_SETTLE) &&
			      log_before(RECONCILE_SETTLE,
					 RECONCILE_RING_DELETE),
		      "want backends 2 and 3 down, 2 table swaps, ring %d "
		      "deleted after a settle",
		      ring1))
		print_log();
	check_maps(rc, &cur, true);
	tr_check(send_frame(CLASS_CLIENT4, VIP4, IPPROTO_TCP, 5000, 80, outer,
			    sizeof(outer)) == XDP_DROP,
		 "class 1 has no region left: dropped");
	check_flows(FX_CLIENT4, VIP4, IPPROTO_UDP, 53, XDP_TX, small_addr[0],
		    small_addr[1], 5000, 16);
	tr_case_end();

	tr_case_begin("region back: flags, then ring, then tables");
	topo.up[2] = topo.up[3] = true;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(st.table_swaps == 2 && st.ring_swaps == 1 &&
			      st.writes == 5 &&
			      log_before(RECONCILE_BACKEND_PUT,
					 RECONCILE_RING_SWAP) &&
			      log_before(RECONCILE_RING_SWAP,
					 RECONCILE_TABLE_SWAP),
		      "want 2 backends up, a ring, 2 tables"))
		print_log();
	check_maps(rc, &cur, true);
	check_flows(CLASS_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_REDIRECT,
		    small_addr[2], small_addr[3], 5000, 16);
	tr_case_end();
}

/* n flows to dst:dport each leave encapsulated (TX or redirect). */
static void check_steered(const char *dst, int proto, uint16_t dport,
			  uint16_t sport0, int n)
{
	char outer[64];
	uint32_t ret;
	int i;

	for (i = 0; i < n; i++) {
		ret = send_frame(FX_CLIENT4, dst, proto, sport0 + i, dport,
				 outer, sizeof(outer));
		if (!tr_check(ret == XDP_TX || ret == XDP_REDIRECT,
			      "flow to %s:%u: %s", dst, dport,
			      tr_xdp_str(ret)))
			break;
	}
}

/* Writes of the last apply, in order, are exactly kinds[0..n). */
static bool log_kinds(const enum reconcile_op_kind *kinds, uint32_t n)
{
	uint32_t i;

	if (n_wlog != n)
		return false;
	for (i = 0; i < n; i++)
		if (wlog[i].kind != kinds[i])
			return false;
	return true;
}

static void case_wildcard(void)
{
	static const enum reconcile_op_kind change[] = {
		RECONCILE_VIP_ADDR4_PUT,
		RECONCILE_VIP_PUT,
		RECONCILE_VIP_DELETE,
	};
	struct meridian_vip_addr va;
	struct reconcile_stats st;
	char outer[64];

	tr_case_begin("a key turns wildcard: prefilter entry, key, old key");
	topo.wild2 = true;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(log_kinds(change, 3) && st.writes == 2 &&
			      st.deletes == 1,
		      "want the prefilter entry, the new key, then the old "
		      "key deleted"))
		print_log();
	check_maps(rc, &cur, true);
	tr_check(!meridian_vip_addr4_get(&fx.m, cur.vip_addrs4[0].key, &va) &&
			 (va.flags & MERIDIAN_VIP_ADDR_WILD_UDP) &&
			 !(va.flags & MERIDIAN_VIP_ADDR_PORTS_UDP) &&
			 va.wild[MERIDIAN_VIP_ADDR_UDP].id == 2,
		 "the entry carries the UDP wildcard (flags %#x)", va.flags);
	check_steered(VIP4, IPPROTO_UDP, 9999, 9000, 16);
	tr_case_end();

	tr_case_begin("and back to a port: the same order");
	topo.wild2 = false;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(log_kinds(change, 3) && st.writes == 2 &&
			      st.deletes == 1,
		      "want the prefilter entry, the new key, then the old "
		      "key deleted"))
		print_log();
	check_maps(rc, &cur, true);
	tr_check(send_frame(FX_CLIENT4, VIP4, IPPROTO_UDP, 9100, 9999, outer,
			    sizeof(outer)) == XDP_PASS,
		 "another UDP port is passed again");
	check_steered(VIP4, IPPROTO_UDP, 53, 9100, 16);
	tr_case_end();
}

/* VIP 3 to 2001:db8:50::9 and back: new address first, old one last. */
static void case_vip_moves(void)
{
	static const enum reconcile_op_kind move[] = {
		RECONCILE_VIP_ADDR6_PUT,
		RECONCILE_VIP_PUT,
		RECONCILE_VIP_DELETE,
		RECONCILE_VIP_ADDR6_DELETE,
	};
	const char *moved = "2001:db8:50::9";
	struct reconcile_stats st;
	char outer[64];

	tr_case_begin("a VIP moves: new prefilter entry, key, old key, old "
		      "entry");
	topo.vip3_addr = moved;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(log_kinds(move, 4) && st.writes == 2 &&
			      st.deletes == 2,
		      "want the new entry, the key, then the old key and the "
		      "old entry deleted"))
		print_log();
	check_maps(rc, &cur, true);
	check_flows(FX_CLIENT6, moved, IPPROTO_TCP, 443, XDP_TX,
		    small_addr[4], small_addr[5], 9200, 16);
	tr_check(send_frame(FX_CLIENT6, VIP6, IPPROTO_TCP, 9300, 443, outer,
			    sizeof(outer)) == XDP_PASS,
		 "the old address is passed");
	tr_case_end();

	tr_case_begin("and back");
	topo.vip3_addr = NULL;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(log_kinds(move, 4) && st.writes == 2 &&
			      st.deletes == 2,
		      "want the same order"))
		print_log();
	check_maps(rc, &cur, true);
	check_flows(FX_CLIENT6, VIP6, IPPROTO_TCP, 443, XDP_TX, small_addr[4],
		    small_addr[5], 9400, 16);
	tr_case_end();
}

static void case_removals(void)
{
	int ring2 = reconciler_ring_id(rc, cur.rings[2].identity);
	struct meridian_backend b;
	struct reconcile_stats st;
	int zero, down;
	char outer[64];

	tr_case_begin("removing a VIP, a class and a backend deletes them");
	topo.no_vip2 = topo.no_class1 = topo.removed[5] = true;
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	/* VIP key, 2 prefixes, 3 tables, backend 5's old ring. */
	tr_check(st.deletes == 7, "%u deletes, want 7", st.deletes);
	/* VIP4 keeps tcp/80: its prefilter entry changes, before the delete. */
	tr_check(log_find(RECONCILE_VIP_ADDR4_PUT, ~0u, false) >= 0 &&
			 log_find(RECONCILE_VIP_ADDR4_PUT, ~0u, false) <
				 log_find(RECONCILE_VIP_DELETE, ~0u, false),
		 "VIP4's prefilter entry rewritten, then the key deleted");
	tr_check(log_find(RECONCILE_RING_DELETE, ring2, false) >= 0,
		 "ring %d (old set of region 2) deleted", ring2);
	check_order(RECONCILE_RING_SWAP, RECONCILE_TABLE_SWAP);
	check_order(RECONCILE_TABLE_SWAP, RECONCILE_VIP_DELETE);
	check_order(RECONCILE_VIP_DELETE, RECONCILE_TABLE_DELETE);
	check_order(RECONCILE_CLASS4_DELETE, RECONCILE_TABLE_DELETE);
	check_order(RECONCILE_CLASS6_DELETE, RECONCILE_TABLE_DELETE);
	check_order(RECONCILE_TABLE_DELETE, RECONCILE_RING_DELETE);
	down = log_find(RECONCILE_BACKEND_PUT, 5, false);
	zero = log_find(RECONCILE_BACKEND_PUT, 5, true);
	if (!tr_check(down >= 0 && zero > down && wlog[down].backend.up == 0 &&
			      wlog[down].backend.family &&
			      !wlog[zero].backend.family &&
			      log_find(RECONCILE_RING_DELETE, ~0u, true) <
				      down &&
			      log_find(RECONCILE_GRACE, ~0u, false) > down &&
			      log_find(RECONCILE_GRACE, ~0u, false) < zero,
		      "backend 5: down, grace, zeroed, after the ring delete"))
		print_log();
	check_maps(rc, &cur, true);
	tr_check(!meridian_backend_get(&fx.m, 5, &b) && !b.family,
		 "backend 5 zeroed");
	tr_check(send_frame(FX_CLIENT4, VIP4, IPPROTO_UDP, 6000, 53, outer,
			    sizeof(outer)) == XDP_PASS,
		 "the removed VIP key is passed untouched");
	check_flows(CLASS_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX, small_addr[0],
		    small_addr[1], 6000, 16);
	check_flows(FX_CLIENT6, VIP6, IPPROTO_TCP, 443, XDP_TX, small_addr[4],
		    NULL, 6000, 16);
	st = apply(rc, &cur);
	check_no_writes(&st);
	tr_case_end();
}

static void case_address_change(void)
{
	struct reconcile_stats st;

	tr_case_begin("address change: down, grace, rewrite, up");
	topo.addr4 = "2001:db8:100::12";
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	if (!tr_check(n_wlog == 4 && st.writes == 3 && st.ring_swaps == 0 &&
			      log_is(&wlog[0], RECONCILE_BACKEND_PUT, 4) &&
			      wlog[0].backend.up == 0 &&
			      wlog[1].kind == RECONCILE_GRACE &&
			      log_is(&wlog[2], RECONCILE_BACKEND_PUT, 4) &&
			      wlog[2].backend.up == 0 &&
			      log_is(&wlog[3], RECONCILE_BACKEND_PUT, 4) &&
			      wlog[3].backend.up == 1,
		      "want backend 4 down, grace, new address, up"))
		print_log();
	check_maps(rc, &cur, true);
	check_flows(FX_CLIENT6, VIP6, IPPROTO_TCP, 443, XDP_TX,
		    "2001:db8:100::12", NULL, 7000, 16);
	tr_case_end();
}

/* rc is replaced: two reconcilers must not write the same maps in turn. */
static void case_restart_new_identity(void)
{
	int ring0 = reconciler_ring_id(rc, cur.rings[0].identity);
	struct reconciler *r4 = NULL;
	struct reconcile_stats st;
	int down, grace, zero;

	tr_case_begin("restart after a config change: new ring takes old id");
	topo.removed[1] = true;
	tr_check(!rebuild(&cur, &topo), "building");
	if (!tr_check(!reconciler_create(&r4, &fx.m), "create")) {
		tr_case_end();
		return;
	}
	reconciler_set_log(r4, log_op, NULL);
	st = apply(r4, &cur);
	down = log_find(RECONCILE_BACKEND_PUT, 1, false);
	grace = log_find(RECONCILE_GRACE, ~0u, false);
	zero = log_find(RECONCILE_BACKEND_PUT, 1, true);
	if (!tr_check(log_is(&wlog[0], RECONCILE_RING_SWAP, ring0) &&
			      st.ring_swaps == 1 && st.table_swaps == 0 &&
			      st.deletes == 0 && st.writes == 3 && down > 0 &&
			      grace > down && zero > grace,
		      "want ring %d rewritten in place, backend 1 removed",
		      ring0))
		print_log();
	tr_check(reconciler_ring_id(r4, cur.rings[0].identity) == ring0,
		 "the new identity holds id %d", ring0);
	reconciler_destroy(rc);
	rc = r4;
	check_maps(rc, &cur, true);
	check_flows(FX_CLIENT4, VIP4, IPPROTO_TCP, 80, XDP_TX, small_addr[0],
		    NULL, 8000, 16);
	tr_case_end();
}

static void case_invalid(void)
{
	struct reconcile_stats st;
	struct desired_vip vip;

	tr_case_begin("an invalid desired state writes nothing");
	cur.backends[0].up = 0; /* a change that must not get written */
	cur.tables[0].table.ring[5] = 99;
	n_wlog = 0;
	tr_check(reconcile_apply(rc, &cur, &st) == -EINVAL,
		 "a table naming ring index 99 is refused");
	tr_check(st.writes == 0 && n_wlog == 0, "%u writes", st.writes);
	cur.tables[0].table.ring[5] = MERIDIAN_RING_NONE;
	vip = cur.vips[0];
	cur.vips[1].key = vip.key;
	tr_check(!vip_addrs_build(&cur), "deriving the prefilter");
	tr_check(reconcile_apply(rc, &cur, &st) == -EINVAL,
		 "a VIP key listed twice is refused");
	tr_check(st.writes == 0 && n_wlog == 0, "%u writes", st.writes);
	tr_check(!rebuild(&cur, &topo), "building");
	cur.backends[0].up = 0;
	cur.vip_addrs4[0].val.flags |= MERIDIAN_VIP_ADDR_ECHO;
	tr_check(reconcile_apply(rc, &cur, &st) == -EINVAL,
		 "a prefilter entry the keys do not make is refused");
	tr_check(st.writes == 0 && n_wlog == 0, "%u writes", st.writes);
	cur.vip_addrs4[0].val.flags &= ~MERIDIAN_VIP_ADDR_ECHO;
	cur.n_vip_addrs6 = 0;
	tr_check(reconcile_apply(rc, &cur, &st) == -EINVAL,
		 "a VIP key without its prefilter entry is refused");
	tr_check(st.writes == 0 && n_wlog == 0, "%u writes", st.writes);
	tr_check(!rebuild(&cur, &topo), "building");
	st = apply(rc, &cur);
	check_no_writes(&st);
	tr_case_end();
}

static void small_cases(void)
{
	topo_all_up(&topo);
	if (!tr_check(!build_small(&cur, &topo), "building the topology") ||
	    !tr_check(!reconciler_create(&rc, &fx.m), "reconciler_create"))
		return;
	reconciler_set_log(rc, log_op, NULL);
	case_first_apply();
	case_reapply();
	case_config_change();
	case_steering();
	case_backend_down();
	case_restart();
	case_restart_changed();
	case_region_empty();
	case_wildcard();
	case_vip_moves();
	case_removals();
	case_address_change();
	case_restart_new_identity();
	case_invalid();
	reconciler_destroy(rc);
	desired_free(&cur);
}

/* --- scale -------------------------------------------------------------- */

/*
 * 1000 VIPs (two keys each) x 2 classes = 2000 region tables over 8
 * regions. Each region has 128 backends and 16 pools of 64 of them; a VIP
 * uses pool vip % 16 in every region, so 128 rings of 64 backends.
 */
#define S_VIPS 1000
#define S_REGIONS 8
#define S_PER_REGION 128
#define S_POOLS 16
#define S_POOL_SIZE 64
#define S_BACKENDS (S_REGIONS * S_PER_REGION)
#define S_PREFIXES 64

static uint32_t pool_member(uint32_t region, uint32_t pool, uint32_t k)
{
	return region * S_PER_REGION + (pool * 8 + k) % S_PER_REGION;
}

static int scale_ring(struct desired *d, uint32_t region, uint32_t pool)
{
	uint32_t ids[S_POOL_SIZE], k;
	bool up[S_POOL_SIZE];

	for (k = 0; k < S_POOL_SIZE; k++) {
		ids[k] = pool_member(region, pool, k);
		up[k] = d->backends[ids[k]].up;
	}
	return build_ring(&d->rings[region * S_POOLS + pool], ids, up,
			  S_POOL_SIZE, 1000 + region);
}

static int scale_backends_rings(struct desired *d)
{
	char addr[32];
	uint32_t i;
	int err = 0;

	d->n_backends = S_BACKENDS;
	d->backends = calloc(S_BACKENDS, sizeof(*d->backends));
	d->n_rings = S_REGIONS * S_POOLS;
	d->rings = calloc(d->n_rings, sizeof(*d->rings));
	if (!d->backends || !d->rings)
		return -ENOMEM;
	for (i = 0; !err && i < S_BACKENDS; i++) {
		snprintf(addr, sizeof(addr), "198.19.%u.%u",
			 100 + i / S_PER_REGION, 1 + i % S_PER_REGION);
		err = addr_words(addr, d->backends[i].addr,
				 &d->backends[i].family);
		d->backends[i].region = i / S_PER_REGION;
		d->backends[i].up = 1;
	}
	for (i = 0; !err && i < d->n_rings; i++)
		err = scale_ring(d, i / S_POOLS, i % S_POOLS);
	return err;
}

/* Class 0: local region (vip % 8) weighted 10 to 1; class 1: regions 0-3. */
static int scale_slots(uint8_t slots[S_REGIONS + 1][MERIDIAN_REGION_SLOTS])
{
	uint32_t w[MERIDIAN_MAX_REGIONS], p, r;
	int err = 0;

	for (p = 0; !err && p <= S_REGIONS; p++) {
		memset(w, 0, sizeof(w));
		for (r = 0; r < S_REGIONS; r++)
			w[r] = p == S_REGIONS ? (r < 4) : (r == p ? 10 : 1);
		err = weighted_slots_fill(w, MERIDIAN_MAX_REGIONS, slots[p],
					  MERIDIAN_REGION_SLOTS);
	}
	return err;
}

static int scale_tables(struct desired *d)
{
	static uint8_t slots[S_REGIONS + 1][MERIDIAN_REGION_SLOTS];
	struct desired_table *t;
	uint32_t v, c, r;
	int err;

	err = scale_slots(slots);
	d->tables = calloc(S_VIPS * 2, sizeof(*d->tables));
	if (err || !d->tables)
		return err ? err : -ENOMEM;
	for (v = 0; v < S_VIPS; v++) {
		for (c = 0; c < 2; c++) {
			t = &d->tables[d->n_tables++];
			t->key = (struct meridian_region_key){ v, c };
			t->table.flags = c ? MERIDIAN_RT_STRICT : 0;
			t->table.generation = d->generation;
			memcpy(t->table.slot, slots[c ? S_REGIONS : v % 8],
			       MERIDIAN_REGION_SLOTS);
			for (r = 0; r < MERIDIAN_MAX_REGIONS; r++)
				t->table.ring[r] =
					r < S_REGIONS && (!c || r < 4) ?
						r * S_POOLS + v % S_POOLS :
						MERIDIAN_RING_NONE;
		}
	}
	return 0;
}

static int scale_vips_classes(struct desired *d)
{
	char addr[64];
	uint32_t v, i;
	int err = 0;

	d->vips = calloc(S_VIPS * 2, sizeof(*d->vips));
	d->classes4 = calloc(S_PREFIXES, sizeof(*d->classes4));
	d->classes6 = calloc(S_PREFIXES, sizeof(*d->classes6));
	if (!d->vips || !d->classes4 || !d->classes6)
		return -ENOMEM;
	for (v = 0; !err && v < S_VIPS; v++) {
		if (v % 2)
			snprintf(addr, sizeof(addr), "2001:db8:5::%x", v);
		else
			snprintf(addr, sizeof(addr), "198.18.%u.%u",
				 200 + v / 250, v % 250);
		err = small_vip(d, v, addr, IPPROTO_TCP, 443);
		if (!err)
			err = small_vip(d, v, addr, IPPROTO_UDP, 443);
	}
	if (!err)
		err = vip_addrs_build(d);
	for (i = 0; !err && i < S_PREFIXES; i++) {
		__u32 a[4];
		__u8 fam;

		snprintf(addr, sizeof(addr), "198.18.%u.0", 64 + i);
		err = addr_words(addr, a, &fam);
		d->classes4[i].key = (struct meridian_lpm4_key){ 24, a[0] };
		d->classes4[i].val.id = 1;
		snprintf(addr, sizeof(addr), "2001:db8:1:%x::", i);
		err = err ?: addr_words(addr, d->classes6[i].key.addr, &fam);
		d->classes6[i].key.prefixlen = 64;
		d->classes6[i].val.id = 1;
	}
	d->n_classes4 = d->n_classes6 = S_PREFIXES;
	return err;
}

static int build_scale(struct desired *d)
{
	struct topo t;
	int err;

	topo_all_up(&t);
	memset(d, 0, sizeof(*d));
	d->generation = 1;
	err = small_config(d, &t);
	if (!err)
		err = scale_backends_rings(d);
	if (!err)
		err = scale_tables(d);
	if (!err)
		err = scale_vips_classes(d);
	if (err)
		desired_free(d);
	return err;
}

/* Rebuilds the rings of every pool backend id is in; returns how many. */
static uint32_t scale_flip(struct desired *d, uint32_t id, bool up)
{
	uint32_t region = id / S_PER_REGION, pool, k, n = 0;

	d->backends[id].up = up;
	for (pool = 0; pool < S_POOLS; pool++) {
		for (k = 0; k < S_POOL_SIZE; k++)
			if (pool_member(region, pool, k) == id)
				break;
		if (k == S_POOL_SIZE)
			continue;
		tr_check(!scale_ring(d, region, pool), "building a ring");
		n++;
	}
	return n;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void print_stats(const char *what, const struct reconcile_stats *st)
{
	printf("perf: %-34s %6.2f ms (visible after %6.2f ms): %u writes, "
	       "%u ring swaps, %u table swaps, %u deletes\n",
	       what, ms(st->duration_ns), ms(st->visible_ns), st->writes,
	       st->ring_swaps, st->table_swaps, st->deletes);
}

/* When the first write and the last write of each kind were done. */
static void print_phases(uint64_t t0)
{
	static const enum reconcile_op_kind kinds[] = {
		RECONCILE_BACKEND_PUT,
		RECONCILE_RING_SWAP,
		RECONCILE_TABLE_SWAP,
		RECONCILE_VIP_ADDR4_PUT,
		RECONCILE_VIP_ADDR6_PUT,
		RECONCILE_VIP_PUT,
	};
	unsigned int k;
	int first, last;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		first = log_find(kinds[k], ~0u, false);
		last = log_find(kinds[k], ~0u, true);
		if (first >= 0 && last < LOG_MAX)
			printf("perf:   %-12s %8.2f .. %8.2f ms\n",
			       reconcile_op_name(kinds[k]),
			       ms(wlog_ns[first] - t0), ms(wlog_ns[last] - t0));
	}
}

/* Applies the flip of backend id; checks its flag goes before the rings. */
static void scale_flip_case(struct reconciler *r, struct desired *d,
			    uint32_t id, bool up)
{
	uint32_t rings = scale_flip(d, id, up);
	int flag, ring_first, ring_last;
	struct reconcile_stats st;
	uint64_t t0 = now_ns();

	st = apply(r, d);
	flag = log_find(RECONCILE_BACKEND_PUT, id, false);
	ring_first = log_find(RECONCILE_RING_SWAP, ~0u, false);
	ring_last = log_find(RECONCILE_RING_SWAP, ~0u, true);
	tr_check(st.writes == rings + 1 && st.ring_swaps == rings &&
			 flag >= 0 && ring_first >= 0,
		 "%u writes, %u ring swaps; want %u rings and the flag",
		 st.writes, st.ring_swaps, rings);
	tr_check(flag < ring_first,
		 "backend %u %s: flag at %d, rings at %d..%d", id,
		 up ? "up" : "down", flag, ring_first, ring_last);
	print_stats(up ? "one backend up" : "one backend down", &st);
	if (flag >= 0 && ring_first >= 0)
		printf("perf:   rings in use after %.3f ms, up flag %s after "
		       "%.3f ms\n",
		       ms(wlog_ns[ring_last] - t0), up ? "set" : "cleared",
		       ms(wlog_ns[flag] - t0));
}

static void scale_restart(struct fx *s, struct desired *d)
{
	struct reconciler *r2 = NULL;
	struct reconcile_stats st;
	uint64_t t0 = now_ns();

	if (!tr_check(!reconciler_create(&r2, &s->m), "create after restart"))
		return;
	printf("perf: %-34s %6.2f ms\n", "restart: reading the maps",
	       ms(now_ns() - t0));
	reconciler_set_log(r2, log_op, NULL);
	st = apply(r2, d);
	check_no_writes(&st);
	print_stats("restart: first apply", &st);
	reconciler_destroy(r2);
}

static void scale_cases(void)
{
	struct reconciler *r = NULL;
	struct reconcile_stats st;
	struct desired d;
	struct fx s = { 0 };
	long rss0, rss1;
	uint64_t t0;

	tr_case_begin("scale: 1000 VIPs x 8 regions x 64 backends per ring");
	meridian_maps_init(&s.m);
	s.obj = tr_obj_load("bpf/edge.bpf.o");
	if (!tr_check(s.obj && !meridian_maps_from_object(&s.m, s.obj),
		      "loading a second edge object") ||
	    !tr_check(!build_scale(&d), "building the state"))
		goto out;
	rss0 = rss_kib();
	if (!tr_check(!reconciler_create(&r, &s.m), "create"))
		goto out_free;
	reconciler_set_log(r, log_op, NULL);
	t0 = now_ns();
	st = apply(r, &d);
	tr_check(st.table_swaps == 2000 && st.ring_swaps == 128,
		 "%u table swaps, %u ring swaps", st.table_swaps,
		 st.ring_swaps);
	print_stats("first write into empty maps", &st);
	print_phases(t0);
	st = apply(r, &d);
	check_no_writes(&st);
	print_stats("identical re-apply", &st);
	scale_flip_case(r, &d, 5, false);
	scale_flip_case(r, &d, 5, true);
	reconciler_settle(r);
	rss1 = rss_kib();
	printf("perf: reconciler memory %zu KiB; process RSS %ld KiB before "
	       "create, %ld KiB after (desired state itself ~%zu KiB)\n",
	       reconciler_memory(r) / 1024, rss0, rss1,
	       (d.n_tables * sizeof(*d.tables) +
		d.n_rings * (size_t)d.rings[0].size * 4) /
		       1024);
	reconciler_destroy(r);
	scale_restart(&s, &d);
out_free:
	desired_free(&d);
out:
	fx_teardown(&s);
	tr_case_end();
}

int main(void)
{
	if (fx_setup_failed(&fx, fx_setup(&fx)))
		return tr_summary();
	small_cases();
	scale_cases();
	fx_teardown(&fx);
	return tr_summary();
}
