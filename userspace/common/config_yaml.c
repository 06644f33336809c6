// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * YAML tree -> model. Walks a libyaml document against the schema in
 * deploy/README-config.md: rejects unknown and repeated keys, checks every
 * field's type, format and range as it is read, resolves region names,
 * layers probe defaults, and records where things were (marks) for the
 * whole-model checks of config_validate.c. No I/O.
 */
#include "config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define PATH_LEN 128
#define MAX_KEYS 16

struct walk {
	yaml_document_t *doc;
	const char *file;
	struct config_error *err;
	struct model *m;
	struct cfg_marks *mk;
	/* Each region's probe layer, for its backends to build on. */
	const struct probe_layer *region_layers;
	char msg[CFG_MSG_LEN];
};

static struct cfg_mark mark_of(const yaml_node_t *n)
{
	struct cfg_mark at = { (int)n->start_mark.line + 1,
			       (int)n->start_mark.column + 1 };

	return at;
}

static int vfail_at(struct walk *w, const yaml_node_t *n, const char *field,
		    const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int vfail_at(struct walk *w, const yaml_node_t *n, const char *field,
		    const char *fmt, va_list ap)
{
	char msg[sizeof(w->err->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return cfg_fail(w->err, w->file, mark_of(n), field, "%s", msg);
}

static int fail_at(struct walk *w, const yaml_node_t *n, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct walk *w, const yaml_node_t *n, const char *field,
		   const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(w, n, field, fmt, ap);
	va_end(ap);
	return r;
}

/* The message a scalar rule left in w->msg. */
static int fail_rule(struct walk *w, const yaml_node_t *n, const char *field)
{
	return fail_at(w, n, field, "%s", w->msg);
}

static yaml_node_t *node_at(struct walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar_text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static void join(char *buf, const char *path, const char *key)
{
	cfg_format(buf, PATH_LEN, "%s%s%s", path, *path ? "." : "", key);
}

/* A mapping's values by schema key. */
struct fields {
	const yaml_node_t *map;
	const char *path;
	const char *const *keys; /* NULL-terminated */
	yaml_node_t *val[MAX_KEYS];
	yaml_node_t *key[MAX_KEYS];
	char buf[PATH_LEN]; /* last field path built by fpath() */
};

static const char *fpath(struct fields *f, int k)
{
	join(f->buf, f->path, f->keys[k]);
	return f->buf;
}

static void list_keys(const char *const *keys, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; keys[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? ", " : "", keys[i]);
}

static int find_key(const char *const *keys, const char *name)
{
	int i;

	for (i = 0; keys[i]; i++)
		if (!strcmp(keys[i], name))
			return i;
	return -1;
}

static int check_key(struct walk *w, struct fields *f, yaml_node_t *key)
{
	char field[PATH_LEN], known[160];
	int k;

	if (key->type != YAML_SCALAR_NODE)
		return fail_at(w, key, f->path, "keys must be plain strings");
	k = find_key(f->keys, scalar_text(key));
	join(field, f->path, scalar_text(key));
	if (k < 0) {
		list_keys(f->keys, known, sizeof(known));
		return fail_at(w, key, field, "unknown key (known: %s)", known);
	}
	if (f->key[k])
		return fail_at(w, key, field, "repeated key (first at line %d)",
			       mark_of(f->key[k]).line);
	return k;
}

static int get_fields(struct walk *w, yaml_node_t *map, const char *path,
		      const char *const *keys, struct fields *f)
{
	yaml_node_pair_t *pair;
	int k;

	memset(f, 0, sizeof(*f));
	f->map = map;
	f->path = path;
	f->keys = keys;
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(w, map, path, "expected a mapping, got %s",
			       is_null(map) ? "nothing" : kind_name(map));
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(w, pair->key);

		k = check_key(w, f, key);
		if (k < 0)
			return k;
		f->key[k] = key;
		f->val[k] = node_at(w, pair->value);
	}
	return 0;
}

static int require(struct walk *w, struct fields *f, int k)
{
	if (f->val[k])
		return 0;
	return fail_at(w, f->map, fpath(f, k), "missing (required)");
}

static int fail_field(struct walk *w, struct fields *f, int k, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

/* Fails at field k's value, naming its path. */
static int fail_field(struct walk *w, struct fields *f, int k, const char *fmt,
		      ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(w, f->val[k], fpath(f, k), fmt, ap);
	va_end(ap);
	return r;
}

/* The message a scalar rule left in w->msg, at field k. */
static int fail_field_rule(struct walk *w, struct fields *f, int k)
{
	return fail_field(w, f, k, "%s", w->msg);
}

/* 0, or the failure of a scalar rule on field k that returned rc. */
static int field_rule(struct walk *w, struct fields *f, int k, int rc)
{
	return rc ? fail_field_rule(w, f, k) : 0;
}

/* A scalar's text, or NULL after failing. */
static const char *get_scalar(struct walk *w, struct fields *f, int k)
{
	yaml_node_t *n = f->val[k];

	if (n->type != YAML_SCALAR_NODE) {
		fail_field(w, f, k, "expected a single value, got %s",
			   kind_name(n));
		return NULL;
	}
	if (is_null(n)) {
		fail_field(w, f, k, "missing value");
		return NULL;
	}
	if (strlen(scalar_text(n)) != n->data.scalar.length) {
		fail_field(w, f, k, "contains a NUL character");
		return NULL;
	}
	return scalar_text(n);
}

/* Numbers and booleans must be plain: a quoted "80" is a string. */
static const char *get_plain(struct walk *w, struct fields *f, int k,
			     const char *what)
{
	const char *s = get_scalar(w, f, k);

	if (s && f->val[k]->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		fail_field(w, f, k,
			   "expected %s, got the quoted string '%.60s'", what,
			   s);
		return NULL;
	}
	return s;
}

/*
 * The text of optional field k, which must be plain when plain_what names
 * what it holds. NULL with *r = 0 when the key is absent, NULL with
 * *r = -EINVAL after failing.
 */
static const char *opt_scalar(struct walk *w, struct fields *f, int k,
			      const char *plain_what, int *r)
{
	const char *s;

	*r = 0;
	if (!f->val[k])
		return NULL;
	s = plain_what ? get_plain(w, f, k, plain_what) : get_scalar(w, f, k);
	if (!s)
		*r = -EINVAL;
	return s;
}

static int get_str(struct walk *w, struct fields *f, int k, char *dst,
		   size_t cap)
{
	int r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	if (strlen(s) >= cap)
		return fail_field(w, f, k, "longer than %zu characters",
				  cap - 1);
	strcpy(dst, s);
	return 0;
}

static int get_uint(struct walk *w, struct fields *f, int k, uint64_t min,
		    uint64_t max, uint64_t *v)
{
	int r;
	const char *s = opt_scalar(w, f, k, "an integer", &r);

	if (!s)
		return r;
	return field_rule(w, f, k, cfg_parse_uint(s, min, max, v, w->msg));
}

static int get_u32(struct walk *w, struct fields *f, int k, uint32_t min,
		   uint32_t max, uint32_t *v)
{
	uint64_t x = *v;
	int r = get_uint(w, f, k, min, max, &x);

	*v = (uint32_t)x;
	return r;
}

static int get_real(struct walk *w, struct fields *f, int k, double min,
		    double max, double *v)
{
	int r;
	const char *s = opt_scalar(w, f, k, "a number", &r);

	if (!s)
		return r;
	return field_rule(w, f, k, cfg_parse_real(s, min, max, v, w->msg));
}

static int get_bool(struct walk *w, struct fields *f, int k, bool *v)
{
	int r;
	const char *s = opt_scalar(w, f, k, "true or false", &r);

	if (!s)
		return r;
	return field_rule(w, f, k, cfg_parse_bool(s, v, w->msg));
}

static int get_duration(struct walk *w, struct fields *f, int k,
			uint32_t min_ms, uint32_t max_ms, uint32_t *ms)
{
	int r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	return field_rule(w, f, k,
			  cfg_parse_duration(s, min_ms, max_ms, ms, w->msg));
}

static int get_percent(struct walk *w, struct fields *f, int k, uint32_t max,
		       uint32_t *v)
{
	int r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	return field_rule(w, f, k, cfg_parse_percent(s, max, v, w->msg));
}

/* One of choices[] (NULL-terminated); *v is its index. */
static int get_choice(struct walk *w, struct fields *f, int k,
		      const char *const *choices, int *v)
{
	char known[96];
	int i, r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	i = find_key(choices, s);
	if (i >= 0) {
		*v = i;
		return 0;
	}
	list_keys(choices, known, sizeof(known));
	return fail_field(w, f, k, "unknown value '%.60s' (known: %s)", s,
			  known);
}

/* A checked string rule applied to an already copied value. */
static int check_str(struct walk *w, struct fields *f, int k, const char *s,
		     int (*rule)(const char *, char *))
{
	if (!f->val[k])
		return 0;
	return field_rule(w, f, k, rule(s, w->msg));
}

static const char *family_name(uint8_t family)
{
	return family == MERIDIAN_AF_INET ? "IPv4" : "IPv6";
}

/* The family asked for (any when 0) and an address packets can use. */
static int check_addr_use(struct walk *w, struct fields *f, int k,
			  const char *s, const struct model_addr *a,
			  uint8_t family, const char *noun)
{
	if (family && a->family != family)
		return fail_field(w, f, k, "'%.60s' is not an %s %s", s,
				  family_name(family), noun);
	if (cfg_check_unicast(a, w->msg))
		return fail_field(w, f, k, "'%.60s': %s", s, w->msg);
	return 0;
}

static int get_addr(struct walk *w, struct fields *f, int k, uint8_t family,
		    struct model_addr *a)
{
	int r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	if (model_addr_parse(s, a))
		return fail_field(w, f, k,
				  "'%.60s' is not an IPv4 or IPv6 address", s);
	return check_addr_use(w, f, k, s, a, family, "address");
}

/* Items of a list (null counts as empty), at most max of them. */
static int get_list(struct walk *w, yaml_node_t *n, const char *field,
		    uint32_t max, yaml_node_item_t **items, uint32_t *count)
{
	size_t len;

	*items = NULL;
	*count = 0;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(w, n, field, "expected a list, got %s",
			       kind_name(n));
	len = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (len > max)
		return fail_at(w, n, field, "%zu entries: at most %u allowed",
			       len, max);
	*items = n->data.sequence.items.start;
	*count = (uint32_t)len;
	return 0;
}

/* The list under field k; empty says what an empty one lacks. */
static int get_nonempty_list(struct walk *w, struct fields *f, int k,
			     uint32_t max, const char *empty,
			     yaml_node_item_t **items, uint32_t *count)
{
	if (get_list(w, f->val[k], fpath(f, k), max, items, count))
		return -EINVAL;
	if (!*count)
		return fail_field(w, f, k, "%s", empty);
	return 0;
}

/* "path.key[i]": the field path of item i of the list under key k. */
static void item_path(char *buf, struct fields *f, int k, uint32_t i)
{
	cfg_format(buf, PATH_LEN, "%s[%u]", fpath(f, k), i);
}

/* An optional top-level list: absent or null is empty. */
static int get_section(struct walk *w, yaml_node_t *n, const char *section,
		       uint32_t max, yaml_node_item_t **items, uint32_t *count)
{
	*items = NULL;
	*count = 0;
	if (!n)
		return 0;
	return get_list(w, n, section, max, items, count);
}

typedef int (*walk_item_fn)(struct walk *w, yaml_node_t *n, uint32_t i);

/*
 * Walks each item of a section whose arrays are sized to it; *n_items
 * counts the item being walked, so a partial model frees what it holds.
 */
static int walk_items(struct walk *w, yaml_node_item_t *items, uint32_t count,
		      uint32_t *n_items, walk_item_fn walk_item)
{
	uint32_t i;
	int r;

	for (i = 0; i < count; i++) {
		*n_items = i + 1;
		r = walk_item(w, node_at(w, items[i]), i);
		if (r)
			return r;
	}
	return 0;
}

/* Where n is, or dflt when the key was left out. */
static struct cfg_mark mark_or(const yaml_node_t *n, struct cfg_mark dflt)
{
	return n ? mark_of(n) : dflt;
}

/* Region name -> index, failing at n when unknown. */
static int region_ref(struct walk *w, yaml_node_t *n, const char *field,
		      uint32_t *region)
{
	const char *s;
	int r;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail_at(w, n, field, "expected a region name");
	s = scalar_text(n);
	r = model_region_index(w->m, s);
	if (r < 0)
		return fail_at(w, n, field,
			       "unknown region '%.60s' (not in regions)", s);
	*region = (uint32_t)r;
	return 0;
}

/*
 * The label of a list item for field paths: its name when it has a valid
 * one, else fallback_key's value (if a valid address), else its index.
 */
static void item_label(struct walk *w, yaml_node_t *item, const char *section,
		       uint32_t index, const char *fallback_key, char *buf)
{
	const char *name = NULL, *alt = NULL;
	struct model_addr a;
	yaml_node_pair_t *p;

	if (item->type == YAML_MAPPING_NODE) {
		for (p = item->data.mapping.pairs.start;
		     p < item->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(w, p->key);
			yaml_node_t *v = node_at(w, p->value);

			if (k->type != YAML_SCALAR_NODE ||
			    v->type != YAML_SCALAR_NODE)
				continue;
			if (!strcmp(scalar_text(k), "name"))
				name = scalar_text(v);
			else if (fallback_key &&
				 !strcmp(scalar_text(k), fallback_key))
				alt = scalar_text(v);
		}
	}
	if (name && cfg_check_name(name, w->msg))
		name = NULL;
	if (!name && alt && !model_addr_parse(alt, &a))
		name = alt;
	cfg_item_label(buf, PATH_LEN, section, name, index);
}

static int get_name(struct walk *w, struct fields *f, int k, char *dst)
{
	if (get_str(w, f, k, dst, MODEL_NAME_MAX))
		return -EINVAL;
	return check_str(w, f, k, dst, cfg_check_name);
}

/* Probes: built-in defaults < top-level < region < backend. */

struct probe_layer {
	struct probe_spec spec;
	bool timeout_set; /* else the timeout follows the interval */
};

enum {
	P_TYPE,
	P_PORT,
	P_INTERVAL,
	P_TIMEOUT,
	P_RISE,
	P_FALL,
	P_JITTER,
	P_PATH,
	P_HOST,
	P_STATUS,
	P_BODY,
	P_LAG,
};

static const char *const probe_keys[] = {
	[P_TYPE] = "type",
	[P_PORT] = "port",
	[P_INTERVAL] = "interval",
	[P_TIMEOUT] = "timeout",
	[P_RISE] = "rise",
	[P_FALL] = "fall",
	[P_JITTER] = "jitter",
	[P_PATH] = "path",
	[P_HOST] = "host",
	[P_STATUS] = "status",
	[P_BODY] = "body",
	[P_LAG] = "lag_header",
	NULL,
};

static const char *const probe_types[] = {
	[PROBE_TCP] = "tcp",
	[PROBE_HTTP] = "http",
	[PROBE_NONE] = "none",
	NULL,
};

#define PROBE_MIN_INTERVAL_MS 10
#define PROBE_MAX_INTERVAL_MS 60000
#define PROBE_MAX_RISE_FALL 100
#define PROBE_MAX_JITTER 50

static void probe_defaults(struct probe_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->spec.kind = PROBE_TCP;
	l->spec.interval_ms = 100;
	l->spec.rise = 2;
	l->spec.fall = 3;
	l->spec.jitter_pct = 10;
	l->spec.http_status = 200;
	strcpy(l->spec.http_path, "/");
}

static int probe_http_fields(struct walk *w, struct fields *f,
			     struct probe_spec *p)
{
	uint32_t status = p->http_status;

	if (get_str(w, f, P_PATH, p->http_path, sizeof(p->http_path)) ||
	    check_str(w, f, P_PATH, p->http_path, cfg_check_http_path) ||
	    get_str(w, f, P_HOST, p->http_host, sizeof(p->http_host)) ||
	    check_str(w, f, P_HOST, p->http_host, cfg_check_http_host) ||
	    get_u32(w, f, P_STATUS, 100, 599, &status) ||
	    get_str(w, f, P_BODY, p->http_body, sizeof(p->http_body)) ||
	    get_str(w, f, P_LAG, p->lag_header, sizeof(p->lag_header)) ||
	    check_str(w, f, P_LAG, p->lag_header, cfg_check_http_token))
		return -EINVAL;
	p->http_status = (uint16_t)status;
	return 0;
}

/* Keys that contradict the kind this layer ends up with. */
static int probe_kind_keys(struct walk *w, struct fields *f,
			   enum probe_kind kind)
{
	int k;

	for (k = P_PATH; kind != PROBE_HTTP && k <= P_LAG; k++)
		if (f->val[k])
			return fail_at(w, f->key[k], fpath(f, k),
				       "only for probes of type http (this "
				       "one is %s)",
				       probe_types[kind]);
	for (k = P_PORT; kind == PROBE_NONE && k <= P_JITTER; k++)
		if (f->val[k])
			return fail_at(w, f->key[k], fpath(f, k),
				       "has no effect with type none");
	return 0;
}

/*
 * A timeout left unset follows the interval. One set here or above must
 * fit the interval; blame the key this layer set.
 */
static int probe_timing(struct walk *w, struct fields *f,
			const struct probe_layer *l)
{
	int k = f->val[P_TIMEOUT] ? P_TIMEOUT : P_INTERVAL;

	if (!l->timeout_set || !f->val[k] ||
	    !cfg_check_probe_timing(&l->spec, w->msg))
		return 0;
	return fail_field_rule(w, f, k);
}

static int walk_probe(struct walk *w, yaml_node_t *n, const char *path,
		      const struct probe_layer *parent, struct probe_layer *out)
{
	struct probe_spec *p = &out->spec;
	uint64_t port = parent->spec.port;
	int kind = (int)parent->spec.kind;
	struct fields f;

	*out = *parent;
	if (!n)
		return 0;
	if (get_fields(w, n, path, probe_keys, &f) ||
	    get_choice(w, &f, P_TYPE, probe_types, &kind) ||
	    get_uint(w, &f, P_PORT, 1, 65535, &port) ||
	    get_duration(w, &f, P_INTERVAL, PROBE_MIN_INTERVAL_MS,
			 PROBE_MAX_INTERVAL_MS, &p->interval_ms) ||
	    get_duration(w, &f, P_TIMEOUT, 1, PROBE_MAX_INTERVAL_MS,
			 &p->timeout_ms) ||
	    get_u32(w, &f, P_RISE, 1, PROBE_MAX_RISE_FALL, &p->rise) ||
	    get_u32(w, &f, P_FALL, 1, PROBE_MAX_RISE_FALL, &p->fall) ||
	    get_percent(w, &f, P_JITTER, PROBE_MAX_JITTER, &p->jitter_pct))
		return -EINVAL;
	p->kind = (enum probe_kind)kind;
	p->port = (uint16_t)port;
	out->timeout_set |= !!f.val[P_TIMEOUT];
	if (probe_http_fields(w, &f, p) || probe_kind_keys(w, &f, p->kind))
		return -EINVAL;
	return probe_timing(w, &f, out);
}

/* The layer as the model holds it: timeout resolved, stray fields gone. */
static void probe_finalize(const struct probe_layer *l, struct probe_spec *p)
{
	*p = l->spec;
	if (!l->timeout_set)
		p->timeout_ms = p->interval_ms;
	if (p->kind == PROBE_HTTP)
		return;
	memset(p->http_path, 0, sizeof(p->http_path));
	memset(p->http_host, 0, sizeof(p->http_host));
	memset(p->http_body, 0, sizeof(p->http_body));
	memset(p->lag_header, 0, sizeof(p->lag_header));
	p->http_status = 0;
}

/* Regions */

enum { R_NAME, R_TIER, R_COST, R_PROBE };
static const char *const region_keys[] = {
	[R_NAME] = "name",
	[R_TIER] = "tier",
	[R_COST] = "egress_cost_per_gb",
	[R_PROBE] = "probe",
	NULL,
};

#define MAX_TIER 15
#define MAX_EGRESS_COST 1000.0

static int walk_region(struct walk *w, yaml_node_t *n, uint32_t i,
		       const struct probe_layer *defaults,
		       struct probe_layer *layer)
{
	struct model_region *r = &w->m->regions[i];
	char path[PATH_LEN], probe_path[PATH_LEN];
	struct fields f;

	item_label(w, n, "regions", i, NULL, path);
	w->mk->region[i] = mark_of(n);
	if (get_fields(w, n, path, region_keys, &f) || require(w, &f, R_NAME) ||
	    require(w, &f, R_TIER) || get_name(w, &f, R_NAME, r->name) ||
	    get_u32(w, &f, R_TIER, 0, MAX_TIER, &r->tier) ||
	    get_real(w, &f, R_COST, 0, MAX_EGRESS_COST, &r->egress_cost_per_gb))
		return -EINVAL;
	w->mk->region_name[i] = mark_of(f.val[R_NAME]);
	w->mk->region_tier[i] = mark_of(f.val[R_TIER]);
	join(probe_path, path, "probe");
	if (walk_probe(w, f.val[R_PROBE], probe_path, defaults, layer))
		return -EINVAL;
	probe_finalize(layer, &r->probe);
	return 0;
}

static int walk_regions(struct walk *w, yaml_node_t *n,
			const struct probe_layer *defaults,
			struct probe_layer *layers)
{
	yaml_node_item_t *items;
	uint32_t i, count;

	if (get_list(w, n, "regions", MERIDIAN_MAX_REGIONS, &items, &count))
		return -EINVAL;
	if (!count)
		return fail_at(w, n, "regions", "at least one region needed");
	for (i = 0; i < count; i++) {
		if (walk_region(w, node_at(w, items[i]), i, defaults,
				&layers[i]))
			return -EINVAL;
		w->m->n_regions = i + 1;
	}
	return cfg_check_region_names(w->m, w->mk, w->err);
}

/* Edge */

enum {
	E_INTERFACE,
	E_REGION,
	E_TUNNEL,
	E_ENTROPY,
	E_MTU,
	E_TTL,
	E_FLOOD,
	E_OVERPROV,
	E_PIN_DIR,
	E_SOCKET,
	E_METRICS,
};
static const char *const edge_keys[] = {
	[E_INTERFACE] = "interface",
	[E_REGION] = "region",
	[E_TUNNEL] = "tunnel_source",
	[E_ENTROPY] = "source_entropy",
	[E_MTU] = "mtu",
	[E_TTL] = "ttl",
	[E_FLOOD] = "flood_limit",
	[E_OVERPROV] = "overprovisioning",
	[E_PIN_DIR] = "pin_dir",
	[E_SOCKET] = "control_socket",
	[E_METRICS] = "metrics_listen",
	NULL,
};

enum { F_IPV4, F_IPV6 };
static const char *const family_keys[] = {
	[F_IPV4] = "ipv4",
	[F_IPV6] = "ipv6",
	NULL,
};

#define SUN_PATH_MAX 107
#define ENTROPY_MIN_LEN4 8
#define ENTROPY_MIN_LEN6 32

static int walk_tunnel(struct walk *w, yaml_node_t *n)
{
	struct model_edge *e = &w->m->edge;
	struct fields f;

	if (!n)
		return 0;
	if (get_fields(w, n, "edge.tunnel_source", family_keys, &f) ||
	    get_addr(w, &f, F_IPV4, MERIDIAN_AF_INET, &e->tunnel_src4) ||
	    get_addr(w, &f, F_IPV6, MERIDIAN_AF_INET6, &e->tunnel_src6))
		return -EINVAL;
	w->mk->edge_tunnel4 = mark_or(f.val[F_IPV4], w->mk->edge_tunnel4);
	w->mk->edge_tunnel6 = mark_or(f.val[F_IPV6], w->mk->edge_tunnel6);
	return 0;
}

static int get_entropy(struct walk *w, struct fields *f, int k, uint8_t family,
		       struct model_prefix *p)
{
	unsigned int min = family == MERIDIAN_AF_INET ? ENTROPY_MIN_LEN4 :
							ENTROPY_MIN_LEN6;
	int r;
	const char *s = opt_scalar(w, f, k, NULL, &r);

	if (!s)
		return r;
	if (cfg_parse_prefix(s, min, p, w->msg))
		return fail_field_rule(w, f, k);
	return check_addr_use(w, f, k, s, &p->addr, family, "prefix");
}

static int walk_entropy(struct walk *w, yaml_node_t *n)
{
	struct model_edge *e = &w->m->edge;
	struct fields f;

	if (!n)
		return 0;
	if (get_fields(w, n, "edge.source_entropy", family_keys, &f) ||
	    get_entropy(w, &f, F_IPV4, MERIDIAN_AF_INET, &e->entropy4) ||
	    get_entropy(w, &f, F_IPV6, MERIDIAN_AF_INET6, &e->entropy6))
		return -EINVAL;
	return 0;
}

static int check_socket_path(const char *s, char *msg)
{
	return cfg_check_abs_path(s, SUN_PATH_MAX, msg);
}

static int check_pin_dir(const char *s, char *msg)
{
	return cfg_check_abs_path(s, MODEL_PATH_MAX - 1, msg);
}

static void edge_defaults(struct model_edge *e)
{
	e->mtu = 1500;
	e->ttl = 64;
	e->overprovisioning = 1.4;
	strcpy(e->pin_dir, MERIDIAN_PIN_DIR);
	strcpy(e->control_socket, "/run/meridian/ctl");
	strcpy(e->metrics_listen, "127.0.0.1:9470");
}

static int walk_edge(struct walk *w, yaml_node_t *n)
{
	struct model_edge *e = &w->m->edge;
	uint32_t mtu = 1500, ttl = 64;
	struct fields f;

	edge_defaults(e);
	w->mk->edge = mark_of(n);
	if (get_fields(w, n, "edge", edge_keys, &f) ||
	    require(w, &f, E_INTERFACE) || require(w, &f, E_REGION) ||
	    get_str(w, &f, E_INTERFACE, e->interface, sizeof(e->interface)) ||
	    check_str(w, &f, E_INTERFACE, e->interface, cfg_check_ifname) ||
	    region_ref(w, f.val[E_REGION], "edge.region", &e->region) ||
	    walk_tunnel(w, f.val[E_TUNNEL]) ||
	    walk_entropy(w, f.val[E_ENTROPY]) ||
	    get_u32(w, &f, E_MTU, 576, 9000, &mtu) ||
	    get_u32(w, &f, E_TTL, 1, 255, &ttl) ||
	    get_u32(w, &f, E_FLOOD, 0, UINT32_MAX, &e->flood_limit) ||
	    get_real(w, &f, E_OVERPROV, 1.0, 10.0, &e->overprovisioning) ||
	    get_str(w, &f, E_PIN_DIR, e->pin_dir, sizeof(e->pin_dir)) ||
	    check_str(w, &f, E_PIN_DIR, e->pin_dir, check_pin_dir) ||
	    get_str(w, &f, E_SOCKET, e->control_socket,
		    sizeof(e->control_socket)) ||
	    check_str(w, &f, E_SOCKET, e->control_socket, check_socket_path) ||
	    get_str(w, &f, E_METRICS, e->metrics_listen,
		    sizeof(e->metrics_listen)) ||
	    check_str(w, &f, E_METRICS, e->metrics_listen, cfg_check_listen))
		return -EINVAL;
	e->mtu = (uint16_t)mtu;
	e->ttl = (uint8_t)ttl;
	w->mk->edge_region = mark_of(f.val[E_REGION]);
	w->mk->edge_mtu = mark_or(f.val[E_MTU], w->mk->edge);
	if (f.val[E_ENTROPY])
		w->mk->edge_entropy4 = w->mk->edge_entropy6 =
			mark_of(f.val[E_ENTROPY]);
	return 0;
}

/* Backends */

enum { B_NAME, B_ADDRESS, B_PORT, B_REGION, B_WEIGHT, B_PROBE };
static const char *const backend_keys[] = {
	[B_NAME] = "name",
	[B_ADDRESS] = "address",
	[B_PORT] = "port",
	[B_REGION] = "region",
	[B_WEIGHT] = "weight",
	[B_PROBE] = "probe",
	NULL,
};

#define MAX_BACKEND_WEIGHT 1000

/* A probe needs a port: its own or the backend's. */
static int backend_probe_port(struct walk *w, struct fields *f,
			      const struct model_backend *b, const char *path)
{
	char field[PATH_LEN];

	if (b->probe.kind == PROBE_NONE || b->probe.port || b->port)
		return 0;
	join(field, path, "port");
	return fail_at(w, f->map, field,
		       "missing: a %s probe needs a port (set port or "
		       "probe.port)",
		       probe_types[b->probe.kind]);
}

static int walk_backend(struct walk *w, yaml_node_t *n, uint32_t i)
{
	struct model_backend *b = &w->m->backends[i];
	struct cfg_backend_marks *bm = &w->mk->backends[i];
	char path[PATH_LEN], probe_path[PATH_LEN];
	struct probe_layer layer;
	uint64_t port = 0;
	struct fields f;

	item_label(w, n, "backends", i, "address", path);
	bm->node = mark_of(n);
	b->weight = 100;
	if (get_fields(w, n, path, backend_keys, &f) ||
	    require(w, &f, B_ADDRESS) || require(w, &f, B_REGION) ||
	    get_name(w, &f, B_NAME, b->name) ||
	    get_addr(w, &f, B_ADDRESS, 0, &b->addr) ||
	    get_uint(w, &f, B_PORT, 1, 65535, &port) ||
	    region_ref(w, f.val[B_REGION], fpath(&f, B_REGION), &b->region) ||
	    get_u32(w, &f, B_WEIGHT, 1, MAX_BACKEND_WEIGHT, &b->weight))
		return -EINVAL;
	b->port = (uint16_t)port;
	bm->address = mark_of(f.val[B_ADDRESS]);
	bm->name = mark_or(f.val[B_NAME], bm->address);
	bm->port = mark_or(f.val[B_PORT], bm->node);
	if (!b->name[0])
		model_addr_format(&b->addr, b->name, sizeof(b->name));
	join(probe_path, path, "probe");
	if (walk_probe(w, f.val[B_PROBE], probe_path,
		       &w->region_layers[b->region], &layer))
		return -EINVAL;
	probe_finalize(&layer, &b->probe);
	return backend_probe_port(w, &f, b, path);
}

static int walk_backends(struct walk *w, yaml_node_t *n)
{
	yaml_node_item_t *items;
	uint32_t count;

	if (get_section(w, n, "backends", MERIDIAN_MAX_BACKENDS, &items,
			&count))
		return -EINVAL;
	if (!count)
		return 0;
	w->m->backends = calloc(count, sizeof(*w->m->backends));
	w->mk->backends = calloc(count, sizeof(*w->mk->backends));
	if (!w->m->backends || !w->mk->backends)
		return -ENOMEM;
	return walk_items(w, items, count, &w->m->n_backends, walk_backend);
}

/* Classes */

enum { C_NAME, C_PREFIXES, C_ALLOWED, C_STRICT, C_PIN };
static const char *const class_keys[] = {
	[C_NAME] = "name",
	[C_PREFIXES] = "prefixes",
	[C_ALLOWED] = "allowed_regions",
	[C_STRICT] = "strict",
	[C_PIN] = "pin_home",
	NULL,
};

#define PIN_DEFAULT_LEN4 24
#define PIN_DEFAULT_LEN6 56

static int walk_prefixes(struct walk *w, struct fields *f,
			 struct model_class *c, struct cfg_class_marks *cm)
{
	char field[PATH_LEN];
	yaml_node_item_t *items;
	uint32_t i, count;

	if (get_nonempty_list(w, f, C_PREFIXES, MODEL_MAX_PREFIXES,
			      "at least one prefix needed", &items, &count))
		return -EINVAL;
	c->prefixes = calloc(count, sizeof(*c->prefixes));
	cm->prefixes = calloc(count, sizeof(*cm->prefixes));
	if (!c->prefixes || !cm->prefixes)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		yaml_node_t *p = node_at(w, items[i]);

		item_path(field, f, C_PREFIXES, i);
		cm->prefixes[i] = mark_of(p);
		if (p->type != YAML_SCALAR_NODE || is_null(p))
			return fail_at(w, p, field, "expected a prefix");
		if (cfg_parse_prefix(scalar_text(p), 0, &c->prefixes[i],
				     w->msg))
			return fail_rule(w, p, field);
		c->n_prefixes = i + 1;
	}
	return 0;
}

static int walk_allowed(struct walk *w, struct fields *f, struct model_class *c)
{
	char field[PATH_LEN];
	yaml_node_item_t *items;
	uint32_t i, count, r;

	if (!f->val[C_ALLOWED])
		return 0;
	if (get_nonempty_list(w, f, C_ALLOWED, MERIDIAN_MAX_REGIONS,
			      "empty: leave the key out to allow every region",
			      &items, &count))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		yaml_node_t *n = node_at(w, items[i]);

		item_path(field, f, C_ALLOWED, i);
		if (region_ref(w, n, field, &r))
			return -EINVAL;
		if (c->allowed_regions & (1u << r))
			return fail_at(w, n, field, "region '%s' listed twice",
				       w->m->regions[r].name);
		c->allowed_regions |= 1u << r;
	}
	return 0;
}

static int walk_pin(struct walk *w, struct fields *f, struct model_class *c)
{
	yaml_node_t *n = f->val[C_PIN];
	char path[PATH_LEN];
	uint32_t len4 = PIN_DEFAULT_LEN4, len6 = PIN_DEFAULT_LEN6;
	struct fields pf;

	c->pin_prefixlen4 = PIN_DEFAULT_LEN4;
	c->pin_prefixlen6 = PIN_DEFAULT_LEN6;
	if (!n)
		return 0;
	if (n->type == YAML_SCALAR_NODE)
		return get_bool(w, f, C_PIN, &c->pin_home);
	snprintf(path, sizeof(path), "%s", fpath(f, C_PIN));
	if (get_fields(w, n, path, family_keys, &pf) ||
	    get_u32(w, &pf, F_IPV4, 1, 32, &len4) ||
	    get_u32(w, &pf, F_IPV6, 1, 128, &len6))
		return -EINVAL;
	c->pin_home = true;
	c->pin_prefixlen4 = (uint8_t)len4;
	c->pin_prefixlen6 = (uint8_t)len6;
	return 0;
}

static int walk_class(struct walk *w, yaml_node_t *n, uint32_t i)
{
	struct model_class *c = &w->m->classes[i];
	struct cfg_class_marks *cm = &w->mk->classes[i];
	char path[PATH_LEN];
	struct fields f;

	item_label(w, n, "classes", i, NULL, path);
	cm->node = mark_of(n);
	if (get_fields(w, n, path, class_keys, &f) || require(w, &f, C_NAME) ||
	    require(w, &f, C_PREFIXES) || get_name(w, &f, C_NAME, c->name) ||
	    walk_prefixes(w, &f, c, cm) || walk_allowed(w, &f, c) ||
	    get_bool(w, &f, C_STRICT, &c->strict) || walk_pin(w, &f, c))
		return w->err->msg[0] ? -EINVAL : -ENOMEM;
	cm->name = mark_of(f.val[C_NAME]);
	cm->allowed = mark_or(f.val[C_ALLOWED], cm->node);
	cm->strict = mark_or(f.val[C_STRICT], cm->node);
	if (c->strict && !c->allowed_regions)
		return fail_field(w, &f, C_STRICT,
				  "strict needs allowed_regions: the regions "
				  "traffic must stay in");
	return 0;
}

static int walk_classes(struct walk *w, yaml_node_t *n)
{
	yaml_node_item_t *items;
	uint32_t count;

	if (get_section(w, n, "classes", MERIDIAN_MAX_CLASSES - 1, &items,
			&count))
		return -EINVAL;
	if (!count)
		return 0;
	w->m->classes = calloc(count, sizeof(*w->m->classes));
	w->mk->classes = calloc(count, sizeof(*w->mk->classes));
	if (!w->m->classes || !w->mk->classes)
		return -ENOMEM;
	return walk_items(w, items, count, &w->m->n_classes, walk_class);
}

/* VIPs */

enum {
	V_NAME,
	V_ADDRESS,
	V_PORTS,
	V_WEIGHTS,
	V_HASH,
	V_ENCAP,
	V_NO_REGION,
	V_ECHO,
};
static const char *const vip_keys[] = {
	[V_NAME] = "name",
	[V_ADDRESS] = "address",
	[V_PORTS] = "ports",
	[V_WEIGHTS] = "weights",
	[V_HASH] = "hash",
	[V_ENCAP] = "encapsulation",
	[V_NO_REGION] = "no_region",
	[V_ECHO] = "echo",
	NULL,
};

static const char *const hash_modes
	[] = { [VIP_HASH_L4] = "l4", [VIP_HASH_ADDRS] = "addresses", NULL };
static const char *const no_region_modes[] = {
	[VIP_NO_REGION_DROP] = "drop",
	[VIP_NO_REGION_PASS] = "pass",
	NULL,
};
static const char *const encaps[] = { "ipip", "gue", NULL };

#define MAX_REGION_WEIGHT 1000

enum { PT_PROTO, PT_PORT };
static const char
	*const port_keys[] = { [PT_PROTO] = "proto", [PT_PORT] = "port", NULL };

static int walk_port_map(struct walk *w, yaml_node_t *n, const char *path,
			 struct model_port *p)
{
	struct fields f;
	const char *s;

	if (get_fields(w, n, path, port_keys, &f) || require(w, &f, PT_PROTO) ||
	    require(w, &f, PT_PORT))
		return -EINVAL;
	s = get_scalar(w, &f, PT_PROTO);
	if (!s)
		return -EINVAL;
	if (cfg_parse_proto(s, &p->proto, w->msg))
		return fail_field_rule(w, &f, PT_PROTO);
	s = get_scalar(w, &f, PT_PORT);
	if (!s)
		return -EINVAL;
	if (cfg_parse_vip_port(s, &p->port, w->msg))
		return fail_field_rule(w, &f, PT_PORT);
	return 0;
}

static int walk_port(struct walk *w, yaml_node_t *n, const char *path,
		     struct model_port *p)
{
	static const char *const part_names[] = {
		[CFG_PORT_WHOLE] = "",
		[CFG_PORT_PROTO] = ".proto",
		[CFG_PORT_PORT] = ".port",
	};
	enum cfg_port_part part;
	char field[PATH_LEN];

	if (n->type == YAML_MAPPING_NODE)
		return walk_port_map(w, n, path, p);
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail_at(w, n, path, "expected PROTO/PORT like tcp/80");
	if (!cfg_parse_port_spec(scalar_text(n), p, &part, w->msg))
		return 0;
	cfg_format(field, sizeof(field), "%s%s", path, part_names[part]);
	return fail_rule(w, n, field);
}

static int walk_ports(struct walk *w, struct fields *f, struct model_vip *v,
		      struct cfg_vip_marks *vm)
{
	char field[PATH_LEN];
	yaml_node_item_t *items;
	uint32_t i, count;

	if (get_nonempty_list(w, f, V_PORTS, MODEL_MAX_PORTS,
			      "at least one port needed, like tcp/80", &items,
			      &count))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		yaml_node_t *n = node_at(w, items[i]);

		item_path(field, f, V_PORTS, i);
		vm->ports[i] = mark_of(n);
		if (walk_port(w, n, field, &v->ports[i]))
			return -EINVAL;
		v->n_ports = i + 1;
	}
	return 0;
}

static int walk_weights(struct walk *w, struct fields *f, struct model_vip *v,
			struct cfg_vip_marks *vm)
{
	yaml_node_t *n = f->val[V_WEIGHTS];
	char field[PATH_LEN];
	yaml_node_pair_t *p;
	uint32_t r;
	uint64_t x;

	vm->weights = mark_or(n, vm->node);
	if (!n)
		return 0;
	vm->weights_given = true;
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(w, n, fpath(f, V_WEIGHTS),
			       "expected a mapping of region: weight, got %s",
			       kind_name(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_at(w, p->key),
			    *val = node_at(w, p->value);

		if (k->type != YAML_SCALAR_NODE)
			return fail_at(w, k, fpath(f, V_WEIGHTS),
				       "keys must be region names");
		join(field, fpath(f, V_WEIGHTS), scalar_text(k));
		if (region_ref(w, k, field, &r))
			return -EINVAL;
		if (vm->weight[r].line)
			return fail_at(w, k, field,
				       "repeated key (first at line %d)",
				       vm->weight[r].line);
		vm->weight[r] = mark_of(k);
		if (val->type != YAML_SCALAR_NODE || is_null(val) ||
		    val->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return fail_at(w, val, field, "expected a weight 0..%d",
				       MAX_REGION_WEIGHT);
		if (cfg_parse_uint(scalar_text(val), 0, MAX_REGION_WEIGHT, &x,
				   w->msg))
			return fail_rule(w, val, field);
		v->region_weight[r] = (uint32_t)x;
	}
	return 0;
}

static int walk_vip(struct walk *w, yaml_node_t *n, uint32_t i)
{
	struct model_vip *v = &w->m->vips[i];
	struct cfg_vip_marks *vm = &w->mk->vips[i];
	int hash = VIP_HASH_L4, no_region = VIP_NO_REGION_DROP, encap = 0;
	char path[PATH_LEN];
	struct fields f;

	item_label(w, n, "vips", i, NULL, path);
	vm->node = mark_of(n);
	v->echo = true;
	if (get_fields(w, n, path, vip_keys, &f) || require(w, &f, V_NAME) ||
	    require(w, &f, V_ADDRESS) || require(w, &f, V_PORTS) ||
	    get_name(w, &f, V_NAME, v->name) ||
	    get_addr(w, &f, V_ADDRESS, 0, &v->addr) ||
	    walk_ports(w, &f, v, vm) || walk_weights(w, &f, v, vm) ||
	    get_choice(w, &f, V_HASH, hash_modes, &hash) ||
	    get_choice(w, &f, V_ENCAP, encaps, &encap) ||
	    get_choice(w, &f, V_NO_REGION, no_region_modes, &no_region) ||
	    get_bool(w, &f, V_ECHO, &v->echo))
		return -EINVAL;
	if (encap != 0)
		return fail_field(w, &f, V_ENCAP,
				  "GUE is not supported yet: use ipip");
	v->hash = (enum vip_hash)hash;
	v->no_region = (enum vip_no_region)no_region;
	vm->name = mark_of(f.val[V_NAME]);
	vm->address = mark_of(f.val[V_ADDRESS]);
	vm->echo = mark_or(f.val[V_ECHO], vm->echo);
	return 0;
}

static int walk_vips(struct walk *w, yaml_node_t *n)
{
	yaml_node_item_t *items;
	uint32_t count;

	if (get_section(w, n, "vips", MERIDIAN_MAX_VIPS, &items, &count))
		return -EINVAL;
	if (!count)
		return 0;
	w->m->vips = calloc(count, sizeof(*w->m->vips));
	w->mk->vips = calloc(count, sizeof(*w->mk->vips));
	if (!w->m->vips || !w->mk->vips)
		return -ENOMEM;
	return walk_items(w, items, count, &w->m->n_vips, walk_vip);
}

/* Document */

enum { T_VERSION, T_EDGE, T_PROBE, T_REGIONS, T_BACKENDS, T_CLASSES, T_VIPS };
static const char *const top_keys[] = {
	[T_VERSION] = "version",   [T_EDGE] = "edge",
	[T_PROBE] = "probe",	   [T_REGIONS] = "regions",
	[T_BACKENDS] = "backends", [T_CLASSES] = "classes",
	[T_VIPS] = "vips",	   NULL,
};

#define SCHEMA_VERSION 1

static int walk_root(struct walk *w, yaml_node_t *root)
{
	struct probe_layer defaults, top, regions[MERIDIAN_MAX_REGIONS];
	uint32_t version = SCHEMA_VERSION;
	struct fields f;
	int r;

	probe_defaults(&defaults);
	if (get_fields(w, root, "", top_keys, &f) || require(w, &f, T_EDGE) ||
	    require(w, &f, T_REGIONS) ||
	    get_u32(w, &f, T_VERSION, SCHEMA_VERSION, SCHEMA_VERSION,
		    &version) ||
	    walk_probe(w, f.val[T_PROBE], "probe", &defaults, &top) ||
	    walk_regions(w, f.val[T_REGIONS], &top, regions) ||
	    walk_edge(w, f.val[T_EDGE]))
		return -EINVAL;
	w->region_layers = regions;
	r = walk_backends(w, f.val[T_BACKENDS]);
	w->region_layers = NULL; /* regions[] lives only in this frame */
	if (!r)
		r = walk_classes(w, f.val[T_CLASSES]);
	if (!r)
		r = walk_vips(w, f.val[T_VIPS]);
	return r;
}

void cfg_marks_free(struct cfg_marks *mk, uint32_t n_classes)
{
	uint32_t i;

	for (i = 0; mk->classes && i < n_classes; i++)
		free(mk->classes[i].prefixes);
	free(mk->classes);
	free(mk->backends);
	free(mk->vips);
	memset(mk, 0, sizeof(*mk));
}

int cfg_walk_document(struct yaml_document_s *doc, const char *file,
		      struct model *out, struct cfg_marks *mk,
		      struct config_error *err)
{
	struct walk w = {
		.doc = doc, .file = file, .err = err, .m = out, .mk = mk
	};
	yaml_node_t *root = yaml_document_get_root_node(doc);
	int r;

	mk->file = file;
	mk->root = (struct cfg_mark){ 1, 1 };
	if (!root)
		return cfg_fail(err, file, mk->root, NULL,
				"empty configuration");
	mk->root = mark_of(root);
	r = walk_root(&w, root);
	if (r == -ENOMEM && !err->msg[0])
		cfg_fail(err, file, mk->root, NULL, "out of memory");
	return r;
}
