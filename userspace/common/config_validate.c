// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Pure configuration rules: scalar formats and ranges, and the checks that
 * need the whole model (duplicates, overlapping prefixes, address families,
 * data-plane limits). No I/O; errors come back as messages or in *err.
 */
#include "config_internal.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cfg_fail(struct config_error *err, const char *file, struct cfg_mark at,
	     const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err->msg[0])
		return -EINVAL;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = at.line;
	err->column = at.col;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "invalid");
	return -EINVAL;
}

void cfg_format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void cfg_item_label(char *buf, size_t len, const char *section,
		    const char *name, uint32_t index)
{
	if (name && *name)
		snprintf(buf, len, "%s[%s]", section, name);
	else
		snprintf(buf, len, "%s[%u]", section, index);
}

static int bad(char *msg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, CFG_MSG_LEN, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_visible(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* "'x'" for a printable character, "byte 0xNN" otherwise. */
static const char *char_desc(char c, char *buf, size_t len)
{
	if (c == ' ')
		snprintf(buf, len, "a space");
	else if (is_visible(c))
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", (unsigned char)c);
	return buf;
}

/* Scalar rules */

int cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v,
		   char *msg)
{
	const char *p = s;
	bool neg = false;
	uint64_t x = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p)
		return bad(msg, "expected an integer, got '%.60s'", s);
	for (const char *q = p; *q; q++)
		if (!is_digit(*q))
			return bad(msg, "expected an integer, got '%.60s'", s);
	if (p[0] == '0' && p[1])
		return bad(msg,
			   "'%.60s' has a leading zero (octal in YAML 1.1); "
			   "write it without",
			   s);
	for (; *p; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (x > (UINT64_MAX - d) / 10) {
			x = UINT64_MAX;
			break;
		}
		x = x * 10 + d;
	}
	if (neg && x)
		return bad(msg, "%.60s is out of range %llu..%llu", s,
			   (unsigned long long)min, (unsigned long long)max);
	if (x < min || x > max)
		return bad(msg, "%.60s is out of range %llu..%llu", s,
			   (unsigned long long)min, (unsigned long long)max);
	*v = x;
	return 0;
}

int cfg_parse_real(const char *s, double min, double max, double *v, char *msg)
{
	char *end;
	double d;

	if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return bad(msg, "expected a number, got '%.60s'", s);
	d = strtod(s, &end);
	if (end == s || *end || !isfinite(d))
		return bad(msg, "expected a number, got '%.60s'", s);
	if (d < min || d > max)
		return bad(msg, "%.60s is out of range %g..%g", s, min, max);
	*v = d;
	return 0;
}

int cfg_parse_bool(const char *s, bool *v, char *msg)
{
	if (!strcasecmp(s, "true")) {
		*v = true;
		return 0;
	}
	if (!strcasecmp(s, "false")) {
		*v = false;
		return 0;
	}
	return bad(msg, "expected true or false, got '%.60s'", s);
}

static void format_ms(uint32_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
}

#define DURATION_MAX_WHOLE 10000000ull /* keeps the arithmetic in 64 bits */
#define DURATION_MAX_FRAC 6

int cfg_parse_duration(const char *s, uint32_t min_ms, uint32_t max_ms,
		       uint32_t *ms, char *msg)
{
	uint64_t whole = 0, frac = 0, pow = 1, scale, num;
	char lo[16], hi[16];
	const char *p = s;
	unsigned int nfrac = 0;

	if (*p == '-')
		return bad(msg, "negative duration '%.60s'", s);
	if (!is_digit(*p))
		goto garbage;
	for (; is_digit(*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > DURATION_MAX_WHOLE)
			return bad(msg, "duration '%.60s' is too long", s);
	}
	if (*p == '.') {
		if (!is_digit(*++p))
			goto garbage;
		for (; is_digit(*p); p++, nfrac++) {
			if (nfrac == DURATION_MAX_FRAC)
				goto garbage;
			frac = frac * 10 + (uint64_t)(*p - '0');
			pow *= 10;
		}
	}
	if (!*p)
		return bad(msg, "duration '%.60s' needs a unit: ms or s", s);
	if (!strcmp(p, "ms"))
		scale = 1;
	else if (!strcmp(p, "s"))
		scale = 1000;
	else
		goto garbage;
	num = whole * scale * pow + frac * scale;
	if (num % pow)
		return bad(msg,
			   "duration '%.60s' is not a whole number of "
			   "milliseconds",
			   s);
	num /= pow;
	if (!num)
		return bad(msg, "duration '%.60s' must be positive", s);
	format_ms(min_ms, lo, sizeof(lo));
	format_ms(max_ms, hi, sizeof(hi));
	if (num < min_ms || num > max_ms)
		return bad(msg, "%.60s is out of range %s..%s", s, lo, hi);
	*ms = (uint32_t)num;
	return 0;
garbage:
	return bad(msg, "expected a duration like 100ms or 1.5s, got '%.60s'",
		   s);
}

int cfg_parse_percent(const char *s, uint32_t max, uint32_t *v, char *msg)
{
	char buf[32];
	size_t n = strlen(s);
	uint64_t x;

	if (n && s[n - 1] == '%')
		n--;
	if (!n || n >= sizeof(buf))
		return bad(msg, "expected a percentage like 10%%, got '%.60s'",
			   s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (cfg_parse_uint(buf, 0, max, &x, msg))
		return bad(msg, "expected a percentage 0..%u%%, got '%.60s'",
			   max, s);
	*v = (uint32_t)x;
	return 0;
}

int cfg_parse_proto(const char *s, uint8_t *proto, char *msg)
{
	if (!strcasecmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return bad(msg, "unknown protocol '%.40s': tcp or udp", s);
	return 0;
}

int cfg_parse_vip_port(const char *s, uint16_t *port, char *msg)
{
	uint64_t v;

	if (!strcmp(s, "*")) {
		*port = 0;
		return 0;
	}
	if (cfg_parse_uint(s, 1, 65535, &v, msg))
		return bad(msg, "expected a port 1..65535 or *, got '%.40s'",
			   s);
	*port = (uint16_t)v;
	return 0;
}

int cfg_parse_port_spec(const char *s, struct model_port *p,
			enum cfg_port_part *part, char *msg)
{
	const char *slash = strchr(s, '/');
	char proto[8];
	size_t n;

	*part = CFG_PORT_WHOLE;
	if (!slash)
		return bad(msg,
			   "expected PROTO/PORT like tcp/80 or udp/*, got "
			   "'%.40s'",
			   s);
	*part = CFG_PORT_PROTO;
	n = (size_t)(slash - s);
	if (n >= sizeof(proto))
		return bad(msg, "unknown protocol in '%.40s': tcp or udp", s);
	memcpy(proto, s, n);
	proto[n] = '\0';
	if (cfg_parse_proto(proto, &p->proto, msg))
		return -EINVAL;
	*part = CFG_PORT_PORT;
	return cfg_parse_vip_port(slash + 1, &p->port, msg);
}

int cfg_check_name(const char *s, char *msg)
{
	char c[16];

	if (!*s)
		return bad(msg, "must not be empty");
	if (strlen(s) >= MODEL_NAME_MAX)
		return bad(msg, "longer than %d characters",
			   MODEL_NAME_MAX - 1);
	if (!is_alnum(*s))
		return bad(msg, "'%.63s' must start with a letter or digit", s);
	for (const char *p = s; *p; p++)
		if (!is_alnum(*p) && !strchr("._-", *p))
			return bad(msg,
				   "%s not allowed in '%.63s': use letters, "
				   "digits, '.', '_' and '-'",
				   char_desc(*p, c, sizeof(c)), s);
	return 0;
}

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

int cfg_check_ifname(const char *s, char *msg)
{
	char c[16];

	if (!*s)
		return bad(msg, "must not be empty");
	if (strlen(s) > IFNAME_MAX)
		return bad(msg, "'%.63s' is longer than %d characters", s,
			   IFNAME_MAX);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return bad(msg, "'%s' is not an interface name", s);
	for (const char *p = s; *p; p++)
		if (!is_visible(*p) || *p == '/' || *p == ':')
			return bad(msg, "%s not allowed in an interface name",
				   char_desc(*p, c, sizeof(c)));
	return 0;
}

int cfg_check_abs_path(const char *s, size_t max, char *msg)
{
	char c[16];

	if (s[0] != '/')
		return bad(msg, "'%.60s' is not an absolute path", s);
	if (strlen(s) > max)
		return bad(msg, "longer than %zu characters", max);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return bad(msg, "%s not allowed in a path",
				   char_desc(*p, c, sizeof(c)));
	return 0;
}

int cfg_check_listen(const char *s, char *msg)
{
	const char *colon = strrchr(s, ':');
	char host[MODEL_ADDR_STRLEN];
	struct model_addr a;
	const char *h = s;
	size_t n;
	uint64_t port;

	if (!colon)
		goto garbage;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 2 || s[n - 1] != ']')
			goto garbage;
		h = s + 1;
		n -= 2;
	}
	if (n >= sizeof(host))
		goto garbage;
	memcpy(host, h, n);
	host[n] = '\0';
	if (model_addr_parse(host, &a))
		goto garbage;
	if ((a.family == MERIDIAN_AF_INET6) != (s[0] == '['))
		goto garbage;
	if (cfg_parse_uint(colon + 1, 1, 65535, &port, msg))
		return bad(msg, "port in '%.60s' must be 1..65535", s);
	return 0;
garbage:
	return bad(msg,
		   "expected ADDRESS:PORT like 127.0.0.1:9470 or [::1]:9470, "
		   "got '%.60s'",
		   s);
}

static int check_visible(const char *s, const char *what, char *msg)
{
	char c[16];

	for (const char *p = s; *p; p++)
		if (!is_visible(*p))
			return bad(msg, "%s not allowed in %s",
				   char_desc(*p, c, sizeof(c)), what);
	return 0;
}

int cfg_check_http_path(const char *s, char *msg)
{
	if (s[0] != '/')
		return bad(msg, "'%.60s' must start with /", s);
	return check_visible(s, "an HTTP path", msg);
}

int cfg_check_http_host(const char *s, char *msg)
{
	if (!*s)
		return bad(msg, "must not be empty");
	return check_visible(s, "a Host header", msg);
}

int cfg_check_http_token(const char *s, char *msg)
{
	char c[16];

	if (!*s)
		return bad(msg, "must not be empty");
	for (const char *p = s; *p; p++)
		if (!is_alnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
			return bad(msg, "%s not allowed in a header name",
				   char_desc(*p, c, sizeof(c)));
	return 0;
}

static int check_unicast4(const uint8_t *b, char *msg)
{
	if (b[0] == 0)
		return bad(msg, "0.0.0.0/8 is not a usable address");
	if (b[0] == 127)
		return bad(msg, "loopback address");
	if (b[0] >= 224 && b[0] < 240)
		return bad(msg, "multicast address");
	if (b[0] >= 240)
		return bad(msg, "reserved or broadcast address");
	if (b[0] == 169 && b[1] == 254)
		return bad(msg, "link-local address: not routable");
	return 0;
}

static int check_unicast6(const uint8_t *b, char *msg)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[16];

	if (!memcmp(b, zero, 16))
		return bad(msg, "unspecified address");
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return bad(msg, "loopback address");
	if (b[0] == 0xff)
		return bad(msg, "multicast address");
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return bad(msg, "link-local address: not routable");
	if (!memcmp(b, mapped, sizeof(mapped)))
		return bad(msg, "IPv4-mapped address: write the IPv4 form");
	return 0;
}

int cfg_check_unicast(const struct model_addr *a, char *msg)
{
	if (a->family == MERIDIAN_AF_INET)
		return check_unicast4(a->bytes, msg);
	return check_unicast6(a->bytes, msg);
}

int cfg_parse_prefix(const char *s, unsigned int min_len,
		     struct model_prefix *p, char *msg)
{
	char want[MODEL_PREFIX_STRLEN];
	struct model_prefix c;

	if (model_prefix_parse(s, p))
		return bad(msg,
			   "expected a prefix like 198.18.0.0/15 or "
			   "2001:db8::/32, got '%.60s'",
			   s);
	if (p->len < min_len)
		return bad(msg, "prefix length %u is shorter than %u", p->len,
			   min_len);
	if (!model_prefix_is_canonical(p)) {
		c = *p;
		model_prefix_canonical(&c);
		model_prefix_format(&c, want, sizeof(want));
		return bad(msg, "host bits set in '%.60s': did you mean %s?", s,
			   want);
	}
	return 0;
}

int cfg_check_probe_timing(const struct probe_spec *p, char *msg)
{
	char t[16], i[16];

	if (p->timeout_ms > p->interval_ms) {
		format_ms(p->timeout_ms, t, sizeof(t));
		format_ms(p->interval_ms, i, sizeof(i));
		return bad(msg, "timeout %s is longer than the interval %s", t,
			   i);
	}
	return 0;
}

/* Whole-model checks */

struct check {
	struct model *m;
	const struct cfg_marks *mk;
	struct config_error *err;
	char field[128];
};

static int check_fail(struct check *c, struct cfg_mark at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int check_fail(struct check *c, struct cfg_mark at, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cfg_fail(c->err, c->mk->file, at, c->field, "%s", msg);
}

static int no_memory(struct check *c)
{
	cfg_fail(c->err, c->mk->file, c->mk->root, NULL, "out of memory");
	return -ENOMEM;
}

/* field = "section[name].suffix" */
static void set_field(struct check *c, const char *section, const char *name,
		      const char *suffix)
{
	char item[96];

	cfg_item_label(item, sizeof(item), section, name, 0);
	snprintf(c->field, sizeof(c->field), "%s%s%s", item,
		 suffix && *suffix ? "." : "", suffix ? suffix : "");
}

struct name_ref {
	const char *name;
	uint32_t idx;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Among names[0..n-1] (stride bytes apart), the repeat that comes first in
 * the file: *dup is its index, *orig the first use. 0 if none, 1 if
 * found, -ENOMEM.
 */
static int find_dup_name(const char *names, size_t stride, uint32_t n,
			 uint32_t *dup, uint32_t *orig)
{
	struct name_ref *v;
	uint32_t i, first = 0;
	int found = 0;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v[i].name = names + (size_t)i * stride;
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), name_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name)) {
			first = i;
			continue;
		}
		if (!found || v[i].idx < *dup) {
			*dup = v[i].idx;
			*orig = v[first].idx;
			found = 1;
		}
	}
	free(v);
	return found;
}

int cfg_check_region_names(const struct model *m, const struct cfg_marks *mk,
			   struct config_error *err)
{
	char field[96];
	uint32_t i, j;

	for (i = 1; i < m->n_regions; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(m->regions[i].name, m->regions[j].name))
				continue;
			cfg_item_label(field, sizeof(field), "regions",
				       m->regions[i].name, i);
			strcat(field, ".name");
			return cfg_fail(err, mk->file, mk->region_name[i],
					field,
					"duplicate region name (first at "
					"line %d)",
					mk->region_name[j].line);
		}
	}
	return 0;
}

static int check_edge_region(struct check *c)
{
	const struct model_region *r = &c->m->regions[c->m->edge.region];

	if (r->tier == 0)
		return 0;
	snprintf(c->field, sizeof(c->field), "edge.region");
	return check_fail(c, c->mk->edge_region,
			  "the edge's own region '%s' has tier %u (line %d): "
			  "it must be tier 0",
			  r->name, r->tier,
			  c->mk->region_tier[c->m->edge.region].line);
}

struct addr_ref {
	struct model_addr addr;
	uint32_t idx;
};

static int addr_cmp(const struct model_addr *a, const struct model_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static int addr_ref_cmp(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;
	int r = addr_cmp(&x->addr, &y->addr);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Backend addresses, sorted, for duplicate and collision checks. */
static struct addr_ref *sorted_backend_addrs(const struct model *m)
{
	struct addr_ref *v =
		calloc(m->n_backends ? m->n_backends : 1, sizeof(*v));
	uint32_t i;

	if (!v)
		return NULL;
	for (i = 0; i < m->n_backends; i++) {
		v[i].addr = m->backends[i].addr;
		v[i].idx = i;
	}
	qsort(v, m->n_backends, sizeof(*v), addr_ref_cmp);
	return v;
}

static const struct addr_ref *find_addr(const struct addr_ref *v, uint32_t n,
					const struct model_addr *a)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = addr_cmp(&v[mid].addr, a);

		if (!r)
			return &v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int check_backend_addrs(struct check *c, const struct addr_ref *v)
{
	const struct model *m = c->m;
	uint32_t i, first = 0, dup = 0, orig = 0;
	bool found = false;
	char a[MODEL_ADDR_STRLEN];

	for (i = 1; i < m->n_backends; i++) {
		if (addr_cmp(&v[i].addr, &v[i - 1].addr)) {
			first = i;
			continue;
		}
		/* Report the repeat that comes first in the file. */
		if (!found || v[i].idx < dup) {
			dup = v[i].idx;
			orig = v[first].idx;
			found = true;
		}
	}
	if (!found)
		return 0;
	model_addr_format(&m->backends[dup].addr, a, sizeof(a));
	set_field(c, "backends", m->backends[dup].name, "address");
	return check_fail(c, c->mk->backends[dup].address,
			  "address %s is already used by backend '%s' (line "
			  "%d)",
			  a, m->backends[orig].name,
			  c->mk->backends[orig].address.line);
}

static int check_backend_names(struct check *c)
{
	const struct model *m = c->m;
	uint32_t dup, orig;
	int r;

	if (m->n_backends < 2)
		return 0;
	r = find_dup_name(m->backends[0].name, sizeof(m->backends[0]),
			  m->n_backends, &dup, &orig);
	if (r < 0)
		return no_memory(c);
	if (!r)
		return 0;
	set_field(c, "backends", m->backends[dup].name, "name");
	return check_fail(c, c->mk->backends[dup].name,
			  "duplicate backend name (first at line %d)",
			  c->mk->backends[orig].name.line);
}

static bool family_in_use(const struct model *m, uint8_t family,
			  uint32_t *first)
{
	uint32_t i;

	for (i = 0; i < m->n_backends; i++) {
		if (m->backends[i].addr.family == family) {
			*first = i;
			return true;
		}
	}
	return false;
}

#define IPV6_MIN_MTU 1280

static int check_families(struct check *c)
{
	const struct model *m = c->m;
	const struct model_edge *e = &m->edge;
	uint32_t b, i;

	if (family_in_use(m, MERIDIAN_AF_INET, &b) && !e->tunnel_src4.family) {
		snprintf(c->field, sizeof(c->field), "edge.tunnel_source.ipv4");
		return check_fail(c, c->mk->edge,
				  "missing: backend '%s' (line %d) is IPv4, "
				  "so the edge needs an IPv4 tunnel source",
				  m->backends[b].name,
				  c->mk->backends[b].address.line);
	}
	if (family_in_use(m, MERIDIAN_AF_INET6, &b) && !e->tunnel_src6.family) {
		snprintf(c->field, sizeof(c->field), "edge.tunnel_source.ipv6");
		return check_fail(c, c->mk->edge,
				  "missing: backend '%s' (line %d) is IPv6, "
				  "so the edge needs an IPv6 tunnel source",
				  m->backends[b].name,
				  c->mk->backends[b].address.line);
	}
	if (e->mtu >= IPV6_MIN_MTU)
		return 0;
	snprintf(c->field, sizeof(c->field), "edge.mtu");
	if (family_in_use(m, MERIDIAN_AF_INET6, &b))
		return check_fail(c, c->mk->edge_mtu,
				  "%u is below the IPv6 minimum of %d, and "
				  "backend '%s' (line %d) is IPv6",
				  e->mtu, IPV6_MIN_MTU, m->backends[b].name,
				  c->mk->backends[b].address.line);
	for (i = 0; i < m->n_vips; i++)
		if (m->vips[i].addr.family == MERIDIAN_AF_INET6)
			return check_fail(c, c->mk->edge_mtu,
					  "%u is below the IPv6 minimum of "
					  "%d, and VIP '%s' (line %d) is IPv6",
					  e->mtu, IPV6_MIN_MTU, m->vips[i].name,
					  c->mk->vips[i].address.line);
	return 0;
}

/* The tunnel sources are the edge's own: no backend may share them. */
static int check_tunnel_sources(struct check *c, const struct addr_ref *v)
{
	const struct model_addr *src[2] = { &c->m->edge.tunnel_src4,
					    &c->m->edge.tunnel_src6 };
	const struct cfg_mark at[2] = { c->mk->edge_tunnel4,
					c->mk->edge_tunnel6 };
	const struct addr_ref *hit;
	int i;

	for (i = 0; i < 2; i++) {
		if (!src[i]->family)
			continue;
		hit = find_addr(v, c->m->n_backends, src[i]);
		if (!hit)
			continue;
		snprintf(c->field, sizeof(c->field), "edge.tunnel_source.%s",
			 i ? "ipv6" : "ipv4");
		return check_fail(c, at[i],
				  "also the address of backend '%s' (line "
				  "%d)",
				  c->m->backends[hit->idx].name,
				  c->mk->backends[hit->idx].address.line);
	}
	return 0;
}

/* Classes */

struct prefix_ref {
	uint8_t family, len;
	uint8_t start[16], end[16];
	uint32_t cls, idx;
};

static int prefix_ref_cmp(const void *a, const void *b)
{
	const struct prefix_ref *x = a, *y = b;
	int r;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->start, y->start, sizeof(x->start));
	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void prefix_ref_fill(struct prefix_ref *r, const struct model_prefix *p,
			    uint32_t cls, uint32_t idx)
{
	unsigned int i, bits = model_addr_bits(&p->addr);

	memset(r, 0, sizeof(*r));
	r->family = p->addr.family;
	r->len = p->len;
	r->cls = cls;
	r->idx = idx;
	memcpy(r->start, p->addr.bytes, sizeof(r->start));
	memcpy(r->end, p->addr.bytes, sizeof(r->end));
	for (i = p->len; i < bits; i++)
		r->end[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static bool ref_later(const struct prefix_ref *a, const struct prefix_ref *b)
{
	return a->cls != b->cls ? a->cls > b->cls : a->idx > b->idx;
}

static int report_overlap(struct check *c, const struct prefix_ref *x,
			  const struct prefix_ref *y)
{
	const struct model *m = c->m;
	const struct prefix_ref *late = ref_later(x, y) ? x : y;
	const struct prefix_ref *early = late == x ? y : x;
	const struct model_prefix *ep =
		&m->classes[early->cls].prefixes[early->idx];
	char p[MODEL_PREFIX_STRLEN], suffix[32];
	int eline = c->mk->classes[early->cls].prefixes[early->idx].line;
	bool same = x->len == y->len;

	model_prefix_format(ep, p, sizeof(p));
	snprintf(suffix, sizeof(suffix), "prefixes[%u]", late->idx);
	set_field(c, "classes", m->classes[late->cls].name, suffix);
	if (early->cls == late->cls)
		return check_fail(c,
				  c->mk->classes[late->cls].prefixes[late->idx],
				  "%s %s (line %d) in the same class",
				  same ? "repeats" : "overlaps", p, eline);
	return check_fail(c, c->mk->classes[late->cls].prefixes[late->idx],
			  "%s %s of class '%s' (line %d): a source must map "
			  "to one class",
			  same ? "repeats" : "overlaps", p,
			  m->classes[early->cls].name, eline);
}

/* CIDR ranges nest or are disjoint: in start order, compare to the widest. */
static int check_overlaps(struct check *c, struct prefix_ref *v, size_t n)
{
	size_t i, widest = 0;

	qsort(v, n, sizeof(*v), prefix_ref_cmp);
	for (i = 1; i < n; i++) {
		if (v[i].family != v[widest].family) {
			widest = i;
			continue;
		}
		if (memcmp(v[i].start, v[widest].end, 16) <= 0)
			return report_overlap(c, &v[widest], &v[i]);
		widest = i;
	}
	return 0;
}

static int check_prefix_limits(struct check *c, uint32_t n4, uint32_t n6)
{
	if (n4 <= MERIDIAN_MAX_PREFIXES && n6 <= MERIDIAN_MAX_PREFIXES)
		return 0;
	snprintf(c->field, sizeof(c->field), "classes");
	return check_fail(c, c->mk->classes[c->m->n_classes - 1].node,
			  "%u IPv4 and %u IPv6 prefixes: the data plane takes "
			  "at most %d per family",
			  n4, n6, MERIDIAN_MAX_PREFIXES);
}

static int check_class_prefixes(struct check *c)
{
	const struct model *m = c->m;
	struct prefix_ref *v;
	uint32_t i, j, n4 = 0, n6 = 0;
	size_t n = 0;
	int r;

	for (i = 0; i < m->n_classes; i++)
		for (j = 0; j < m->classes[i].n_prefixes; j++)
			if (m->classes[i].prefixes[j].addr.family ==
			    MERIDIAN_AF_INET)
				n4++;
			else
				n6++;
	if (!n4 && !n6)
		return 0;
	r = check_prefix_limits(c, n4, n6);
	if (r)
		return r;
	v = calloc((size_t)n4 + n6, sizeof(*v));
	if (!v)
		return no_memory(c);
	for (i = 0; i < m->n_classes; i++)
		for (j = 0; j < m->classes[i].n_prefixes; j++)
			prefix_ref_fill(&v[n++], &m->classes[i].prefixes[j], i,
					j);
	r = check_overlaps(c, v, n);
	free(v);
	return r;
}

static int check_classes(struct check *c, const uint32_t *region_backends)
{
	const struct model *m = c->m;
	uint32_t i, r, dup, orig;
	int found;

	if (!m->n_classes)
		return 0;
	found = find_dup_name(m->classes[0].name, sizeof(m->classes[0]),
			      m->n_classes, &dup, &orig);
	if (found < 0)
		return no_memory(c);
	if (found) {
		set_field(c, "classes", m->classes[dup].name, "name");
		return check_fail(c, c->mk->classes[dup].name,
				  "duplicate class name (first at line %d)",
				  c->mk->classes[orig].name.line);
	}
	for (i = 0; i < m->n_classes; i++) {
		const struct model_class *cl = &m->classes[i];

		if (!cl->allowed_regions)
			continue;
		for (r = 0; r < m->n_regions; r++)
			if ((cl->allowed_regions & (1u << r)) &&
			    region_backends[r])
				break;
		if (r < m->n_regions)
			continue;
		set_field(c, "classes", cl->name, "allowed_regions");
		return check_fail(c, c->mk->classes[i].allowed,
				  "none of the allowed regions has backends");
	}
	return check_class_prefixes(c);
}

/* VIPs */

struct vip_key_ref {
	struct model_addr addr;
	uint8_t proto;
	uint16_t port;
	uint32_t vip, idx;
};

static int vip_key_cmp(const void *a, const void *b)
{
	const struct vip_key_ref *x = a, *y = b;
	int r = addr_cmp(&x->addr, &y->addr);

	if (r)
		return r;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->vip != y->vip)
		return x->vip < y->vip ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void format_port(const struct model_port *p, char *buf, size_t len)
{
	const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

	if (p->port)
		snprintf(buf, len, "%s/%u", proto, p->port);
	else
		snprintf(buf, len, "%s/*", proto);
}

static int report_dup_key(struct check *c, const struct vip_key_ref *early,
			  const struct vip_key_ref *late)
{
	const struct model *m = c->m;
	const struct model_vip *lv = &m->vips[late->vip];
	char p[16], a[MODEL_ADDR_STRLEN], suffix[32];
	int eline = c->mk->vips[early->vip].ports[early->idx].line;

	format_port(&lv->ports[late->idx], p, sizeof(p));
	model_addr_format(&lv->addr, a, sizeof(a));
	snprintf(suffix, sizeof(suffix), "ports[%u]", late->idx);
	set_field(c, "vips", lv->name, suffix);
	if (early->vip == late->vip)
		return check_fail(c, c->mk->vips[late->vip].ports[late->idx],
				  "%s is listed twice (line %d)", p, eline);
	return check_fail(c, c->mk->vips[late->vip].ports[late->idx],
			  "%s %s is already VIP '%s' (line %d)", a, p,
			  m->vips[early->vip].name, eline);
}

static int check_vip_keys(struct check *c, uint32_t n_keys)
{
	const struct model *m = c->m;
	const struct vip_key_ref *best_late = NULL, *best_early = NULL;
	struct vip_key_ref *v;
	uint32_t i, j, n = 0, first = 0;
	int r = 0;

	v = calloc(n_keys ? n_keys : 1, sizeof(*v));
	if (!v)
		return no_memory(c);
	for (i = 0; i < m->n_vips; i++) {
		for (j = 0; j < m->vips[i].n_ports; j++, n++) {
			v[n].addr = m->vips[i].addr;
			v[n].proto = m->vips[i].ports[j].proto;
			v[n].port = m->vips[i].ports[j].port;
			v[n].vip = i;
			v[n].idx = j;
		}
	}
	qsort(v, n, sizeof(*v), vip_key_cmp);
	for (i = 1; i < n; i++) {
		if (addr_cmp(&v[i].addr, &v[i - 1].addr) ||
		    v[i].proto != v[i - 1].proto ||
		    v[i].port != v[i - 1].port) {
			first = i;
			continue;
		}
		/* Report the repeat that comes first in the file. */
		if (!best_late || v[i].vip < best_late->vip ||
		    (v[i].vip == best_late->vip && v[i].idx < best_late->idx)) {
			best_late = &v[i];
			best_early = &v[first];
		}
	}
	if (best_late)
		r = report_dup_key(c, best_early, best_late);
	free(v);
	return r;
}

static int check_vip_addrs(struct check *c, const struct addr_ref *backends)
{
	const struct model *m = c->m;
	const struct model_edge *e = &m->edge;
	const struct addr_ref *hit;
	uint32_t i;

	for (i = 0; i < m->n_vips; i++) {
		const struct model_vip *v = &m->vips[i];

		set_field(c, "vips", v->name, "address");
		hit = find_addr(backends, m->n_backends, &v->addr);
		if (hit)
			return check_fail(
				c, c->mk->vips[i].address,
				"also the address of backend '%s' "
				"(line %d)",
				m->backends[hit->idx].name,
				c->mk->backends[hit->idx].address.line);
		if (!addr_cmp(&v->addr, &e->tunnel_src4) ||
		    !addr_cmp(&v->addr, &e->tunnel_src6))
			return check_fail(c, c->mk->vips[i].address,
					  "also the edge's tunnel source");
	}
	return 0;
}

/* Default weights, then every VIP must reach a region with backends. */
static int check_vip_weights(struct check *c, const uint32_t *region_backends)
{
	const struct model *m = c->m;
	uint32_t i, r, sum;

	for (i = 0; i < m->n_vips; i++) {
		struct model_vip *v = &c->m->vips[i];
		const struct cfg_vip_marks *vm = &c->mk->vips[i];

		sum = 0;
		for (r = 0; r < m->n_regions; r++) {
			if (!vm->weights_given && region_backends[r])
				v->region_weight[r] = 100;
			if (v->region_weight[r] && !region_backends[r]) {
				char suffix[96];

				snprintf(suffix, sizeof(suffix), "weights.%s",
					 m->regions[r].name);
				set_field(c, "vips", v->name, suffix);
				return check_fail(c, vm->weight[r],
						  "region '%s' has no backends",
						  m->regions[r].name);
			}
			sum += v->region_weight[r];
		}
		if (sum)
			continue;
		set_field(c, "vips", v->name, "weights");
		return check_fail(c, vm->weights,
				  vm->weights_given ?
					  "every region weight is 0: the VIP "
					  "would never be served" :
					  "no region has backends: the VIP "
					  "would never be served");
	}
	return 0;
}

static int vip_addr_ref_cmp(const void *a, const void *b)
{
	return addr_ref_cmp(a, b);
}

/*
 * Echo is answered per address: VIPs sharing one must agree, and only the
 * first keeps the flag so the policy writes one echo key per address.
 * *n_echo counts those keys.
 */
static int check_vip_echo(struct check *c, uint32_t *n_echo)
{
	struct model *m = c->m;
	struct addr_ref *v;
	uint32_t i, first = 0;
	int r = 0;

	*n_echo = 0;
	if (!m->n_vips)
		return 0;
	v = calloc(m->n_vips, sizeof(*v));
	if (!v)
		return no_memory(c);
	for (i = 0; i < m->n_vips; i++) {
		v[i].addr = m->vips[i].addr;
		v[i].idx = i;
	}
	qsort(v, m->n_vips, sizeof(*v), vip_addr_ref_cmp);
	for (i = 0; i < m->n_vips && !r; i++) {
		struct model_vip *vip = &m->vips[v[i].idx];
		const struct model_vip *lead;

		if (i == 0 || addr_cmp(&v[i].addr, &v[first].addr)) {
			first = i;
			*n_echo += vip->echo;
			continue;
		}
		lead = &m->vips[v[first].idx];
		if (vip->echo != lead->echo) {
			set_field(c, "vips", vip->name, "echo");
			r = check_fail(
				c,
				c->mk->vips[v[i].idx].echo.line ?
					c->mk->vips[v[i].idx].echo :
					c->mk->vips[v[i].idx].node,
				"echo is %s but %s for VIP '%s' (line %d) "
				"on the same address",
				vip->echo ? "on" : "off",
				lead->echo ? "on" : "off", lead->name,
				c->mk->vips[v[first].idx].node.line);
		}
		vip->echo = false;
	}
	free(v);
	return r;
}

static int check_vip_limits(struct check *c, uint32_t n_keys)
{
	const struct model *m = c->m;
	uint64_t tables = (uint64_t)m->n_vips * (m->n_classes + 1);
	struct cfg_mark last = c->mk->vips[m->n_vips - 1].node;

	snprintf(c->field, sizeof(c->field), "vips");
	if (n_keys > MERIDIAN_MAX_VIP_KEYS)
		return check_fail(c, last,
				  "%u VIP keys (ports plus one per echo "
				  "address): the data plane takes at most %d",
				  n_keys, MERIDIAN_MAX_VIP_KEYS);
	if (tables > MERIDIAN_MAX_REGION_TABLES)
		return check_fail(c, last,
				  "%u VIPs x (%u classes + 1) = %llu region "
				  "tables: the data plane takes at most %d",
				  m->n_vips, m->n_classes,
				  (unsigned long long)tables,
				  MERIDIAN_MAX_REGION_TABLES);
	return 0;
}

static int check_vips(struct check *c, const struct addr_ref *backends,
		      const uint32_t *region_backends)
{
	const struct model *m = c->m;
	uint32_t i, dup, orig, n_keys = 0, n_echo;
	int r;

	if (!m->n_vips)
		return 0;
	r = find_dup_name(m->vips[0].name, sizeof(m->vips[0]), m->n_vips, &dup,
			  &orig);
	if (r < 0)
		return no_memory(c);
	if (r) {
		set_field(c, "vips", m->vips[dup].name, "name");
		return check_fail(c, c->mk->vips[dup].name,
				  "duplicate VIP name (first at line %d)",
				  c->mk->vips[orig].name.line);
	}
	for (i = 0; i < m->n_vips; i++)
		n_keys += m->vips[i].n_ports;
	r = check_vip_addrs(c, backends);
	if (!r)
		r = check_vip_keys(c, n_keys);
	if (!r)
		r = check_vip_weights(c, region_backends);
	if (!r)
		r = check_vip_echo(c, &n_echo);
	if (!r)
		r = check_vip_limits(c, n_keys + n_echo);
	return r;
}

int cfg_validate_model(struct model *m, const struct cfg_marks *mk,
		       struct config_error *err)
{
	uint32_t region_backends[MERIDIAN_MAX_REGIONS] = { 0 };
	struct check c = { .m = m, .mk = mk, .err = err };
	struct addr_ref *backends;
	uint32_t i;
	int r;

	for (i = 0; i < m->n_backends; i++)
		region_backends[m->backends[i].region]++;
	r = check_edge_region(&c);
	if (r)
		return r;
	backends = sorted_backend_addrs(m);
	if (!backends)
		return no_memory(&c);
	r = check_backend_addrs(&c, backends);
	if (!r)
		r = check_backend_names(&c);
	if (!r)
		r = check_families(&c);
	if (!r)
		r = check_tunnel_sources(&c, backends);
	if (!r)
		r = check_classes(&c, region_backends);
	if (!r)
		r = check_vips(&c, backends, region_backends);
	free(backends);
	return r;
}
