// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus text exposition of meridiand's state. Each family is written
 * whole (HELP, TYPE, then its series), counters end in _total, sizes are
 * bytes and times seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "metrics_render.h"

#define LABELS_MAX 512
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const uint32_t metrics_rtt_bounds_us[METRICS_RTT_BOUNDS] = {
	100,   250,    500,    1000,   2500,	5000,	 10000,
	25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

void metrics_rtt_observe(struct metrics_rtt_hist *h, uint32_t rtt_us)
{
	unsigned int i;

	for (i = 0; i < METRICS_RTT_BOUNDS; i++)
		if (rtt_us <= metrics_rtt_bounds_us[i])
			break;
	h->bucket[i]++;
	h->count++;
	h->sum_us += rtt_us;
}

/* --- exposition primitives ---------------------------------------------- */

static void family(FILE *out, const char *name, const char *type,
		   const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values from the config are safe, but a format must not rely on it. */
static size_t escape(char *buf, size_t len, const char *value)
{
	size_t n = 0;
	const char *p;

	for (p = value; *p && n + 3 < len; p++) {
		if (*p == '\\' || *p == '"') {
			buf[n++] = '\\';
			buf[n++] = *p;
		} else if (*p == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
	return n;
}

/* Appends key="value" to a label list being built in buf. */
static void label(char *buf, size_t len, const char *key, const char *value)
{
	char esc[2 * MODEL_NAME_MAX + 1];
	size_t used = strlen(buf);

	escape(esc, sizeof(esc), value);
	snprintf(buf + used, len - used, "%s%s=\"%s\"", used ? "," : "", key,
		 esc);
}

static void put_u64(FILE *out, const char *name, const char *labels,
		    uint64_t v)
{
	if (labels && *labels)
		fprintf(out, "%s{%s} %" PRIu64 "\n", name, labels, v);
	else
		fprintf(out, "%s %" PRIu64 "\n", name, v);
}

static void format_double(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(buf, len, "%.15g", v);
}

static void put_double(FILE *out, const char *name, const char *labels,
		       double v)
{
	char num[40];

	format_double(num, sizeof(num), v);
	if (labels && *labels)
		fprintf(out, "%s{%s} %s\n", name, labels, num);
	else
		fprintf(out, "%s %s\n", name, num);
}

static void region_labels(char *buf, size_t len, const struct model *m,
			  uint32_t r)
{
	buf[0] = '\0';
	label(buf, len, "region", m->regions[r].name);
}

static void backend_labels(char *buf, size_t len, const struct model *m,
			   uint32_t b)
{
	buf[0] = '\0';
	label(buf, len, "region", m->regions[m->backends[b].region].name);
	label(buf, len, "backend", m->backends[b].name);
}

/* --- data plane counters ------------------------------------------------ */

struct u64_family {
	const char *name;
	const char *help;
	size_t offset;
};

static uint64_t field_at(const void *base, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const char *)base + offset, sizeof(v));
	return v;
}

static const struct u64_family region_families[] = {
	{ "meridian_region_packets_total",
	  "Packets for VIPs the edge steered to the region.",
	  offsetof(struct meridian_region_stats, packets) },
	{ "meridian_region_bytes_total",
	  "Frame bytes of those packets as received, before encapsulation.",
	  offsetof(struct meridian_region_stats, bytes) },
	{ "meridian_region_egress_packets_total",
	  "Encapsulated packets sent towards the region's backends.",
	  offsetof(struct meridian_region_stats, egress_packets) },
	{ "meridian_region_egress_bytes_total",
	  "Frame bytes sent towards the region, after encapsulation.",
	  offsetof(struct meridian_region_stats, egress_bytes) },
};

static const struct u64_family traffic_families[] = {
	{ "packets_total", "Packets for VIPs steered to the",
	  offsetof(struct meridian_traffic_stats, packets) },
	{ "bytes_total", "Frame bytes, as received, of packets steered to the",
	  offsetof(struct meridian_traffic_stats, bytes) },
};

static void region_counters(FILE *out, const struct metrics_input *in)
{
	const struct model *m = in->model;
	char labels[LABELS_MAX];
	const struct u64_family *f;
	uint32_t r;

	for (f = region_families;
	     f < region_families + ARRAY_LEN(region_families); f++) {
		family(out, f->name, "counter", f->help);
		for (r = 0; r < m->n_regions; r++) {
			region_labels(labels, sizeof(labels), m, r);
			put_u64(out, f->name, labels,
				field_at(&in->counters->regions[r], f->offset));
		}
	}
	family(out, "meridian_region_egress_cost_total", "counter",
	       "Estimated egress cost: egress bytes / 1e9 times the region's "
	       "egress_cost_per_gb, in the configured currency units.");
	for (r = 0; r < m->n_regions; r++) {
		region_labels(labels, sizeof(labels), m, r);
		put_double(out, "meridian_region_egress_cost_total", labels,
			   counter_egress_cost(
				   in->counters->regions[r].egress_bytes,
				   m->regions[r].egress_cost_per_gb));
	}
}

static void vip_counters(FILE *out, const struct metrics_input *in)
{
	const struct model *m = in->model;
	char name[96], help[128], labels[LABELS_MAX];
	const struct u64_family *f;
	uint32_t v;

	for (f = traffic_families;
	     f < traffic_families + ARRAY_LEN(traffic_families); f++) {
		snprintf(name, sizeof(name), "meridian_vip_%s", f->name);
		snprintf(help, sizeof(help), "%s VIP.", f->help);
		family(out, name, "counter", help);
		for (v = 0; v < m->n_vips; v++) {
			labels[0] = '\0';
			label(labels, sizeof(labels), "vip", m->vips[v].name);
			put_u64(out, name, labels,
				field_at(&in->counters->vips[v], f->offset));
		}
	}
}

static void backend_counters(FILE *out, const struct metrics_input *in)
{
	const struct model *m = in->model;
	char name[96], help[128], labels[LABELS_MAX];
	const struct u64_family *f;
	uint32_t b;

	for (f = traffic_families;
	     f < traffic_families + ARRAY_LEN(traffic_families); f++) {
		snprintf(name, sizeof(name), "meridian_backend_%s", f->name);
		snprintf(help, sizeof(help), "%s backend.", f->help);
		family(out, name, "counter", help);
		for (b = 0; b < m->n_backends; b++) {
			backend_labels(labels, sizeof(labels), m, b);
			put_u64(out, name, labels,
				field_at(&in->counters->backends[b],
					 f->offset));
		}
	}
}

static void named_counters(FILE *out, const char *name, const char *help,
			   const char *key, const char *(*name_of)(unsigned),
			   const __u64 *values, unsigned int n)
{
	char labels[LABELS_MAX];
	unsigned int i;

	family(out, name, "counter", help);
	for (i = 0; i < n; i++) {
		labels[0] = '\0';
		label(labels, sizeof(labels), key, name_of(i));
		put_u64(out, name, labels, values[i]);
	}
}

static void global_counters(FILE *out, const struct meridian_counters *c)
{
	const struct {
		const char *name;
		const char *help;
		uint64_t value;
	} list[] = {
		{ "meridian_lru_hits_total",
		  "Packets whose flow was found in the flow cache.",
		  c->lru_hit },
		{ "meridian_lru_misses_total",
		  "Packets whose flow was not in the flow cache.",
		  c->lru_miss },
		{ "meridian_lru_repicks_total",
		  "Flow cache hits on a backend that is down: the flow was "
		  "picked again.",
		  c->lru_repick },
		{ "meridian_lru_flood_skips_total",
		  "New flows the flood guard kept out of the flow cache.",
		  c->lru_skip },
		{ "meridian_icmp_too_big_sent_total",
		  "Fragmentation-needed and packet-too-big answers sent to "
		  "clients.",
		  c->icmp_too_big },
		{ "meridian_icmp_errors_steered_total",
		  "ICMP errors steered by the flow they quote.",
		  c->icmp_steered },
		{ "meridian_icmp_echo_replies_total",
		  "Echo requests to a VIP answered at the edge.",
		  c->echo_reply },
	};
	size_t i;

	named_counters(out, "meridian_actions_total",
		       "Packets by what the edge program did with them.",
		       "action", meridian_action_name, c->action,
		       MERIDIAN_ACT_MAX);
	named_counters(out, "meridian_drops_total",
		       "Packets the edge program dropped, by reason.", "reason",
		       meridian_drop_name, c->drop, MERIDIAN_DROP_MAX);
	for (i = 0; i < ARRAY_LEN(list); i++) {
		family(out, list[i].name, "counter", list[i].help);
		put_u64(out, list[i].name, NULL, list[i].value);
	}
}

static void dataplane(FILE *out, const struct metrics_input *in)
{
	family(out, "meridian_counters_readable", "gauge",
	       "1 when the data plane's counter maps could be read for this "
	       "scrape, else 0.");
	put_u64(out, "meridian_counters_readable", NULL, in->counters != NULL);
	if (!in->counters)
		return;
	region_counters(out, in);
	vip_counters(out, in);
	backend_counters(out, in);
	global_counters(out, &in->counters->counters);
}

/* --- health ------------------------------------------------------------- */

static void backend_state(FILE *out, const struct metrics_input *in)
{
	static const enum health_state states[] = { HEALTH_UNKNOWN, HEALTH_DOWN,
						    HEALTH_UP };
	const struct model *m = in->model;
	char labels[LABELS_MAX], with_state[LABELS_MAX];
	uint32_t b;
	size_t s;

	family(out, "meridian_backend_up", "gauge",
	       "1 while the backend is healthy and may carry traffic, else 0.");
	for (b = 0; b < m->n_backends; b++) {
		backend_labels(labels, sizeof(labels), m, b);
		put_u64(out, "meridian_backend_up", labels,
			in->backends[b].state == HEALTH_UP);
	}
	family(out, "meridian_backend_health_state", "gauge",
	       "Health state of the backend: 1 for the current state.");
	for (b = 0; b < m->n_backends; b++) {
		backend_labels(labels, sizeof(labels), m, b);
		for (s = 0; s < ARRAY_LEN(states); s++) {
			snprintf(with_state, sizeof(with_state), "%s", labels);
			label(with_state, sizeof(with_state), "state",
			      health_state_name(states[s]));
			put_u64(out, "meridian_backend_health_state",
				with_state, in->backends[b].state == states[s]);
		}
	}
}

static void backend_u64(FILE *out, const struct metrics_input *in,
			const char *name, const char *help, size_t offset)
{
	char labels[LABELS_MAX];
	uint32_t b;

	family(out, name, "counter", help);
	for (b = 0; b < in->model->n_backends; b++) {
		backend_labels(labels, sizeof(labels), in->model, b);
		put_u64(out, name, labels, field_at(&in->backends[b], offset));
	}
}

static void rtt_histogram(FILE *out, const char *labels,
			  const struct metrics_rtt_hist *h)
{
	char with_le[LABELS_MAX], le[32];
	uint64_t cumulative = 0;
	unsigned int i;

	for (i = 0; i <= METRICS_RTT_BOUNDS; i++) {
		cumulative += h->bucket[i];
		if (i < METRICS_RTT_BOUNDS)
			snprintf(le, sizeof(le), "%g",
				 metrics_rtt_bounds_us[i] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(with_le, sizeof(with_le), "%s", labels);
		label(with_le, sizeof(with_le), "le", le);
		put_u64(out, "meridian_backend_probe_rtt_seconds_bucket",
			with_le, cumulative);
	}
	put_double(out, "meridian_backend_probe_rtt_seconds_sum", labels,
		   h->sum_us / 1e6);
	put_u64(out, "meridian_backend_probe_rtt_seconds_count", labels,
		h->count);
}

static void backend_probes(FILE *out, const struct metrics_input *in)
{
	const struct model *m = in->model;
	const struct metrics_backend *mb;
	char labels[LABELS_MAX];
	uint32_t b;

	family(out, "meridian_backend_probe_rtt_seconds", "histogram",
	       "Round-trip time of successful health probes, from start to "
	       "verdict.");
	for (b = 0; b < m->n_backends; b++) {
		mb = &in->backends[b];
		if (!mb->probed || !mb->rtt)
			continue;
		backend_labels(labels, sizeof(labels), m, b);
		rtt_histogram(out, labels, mb->rtt);
	}
	backend_u64(out, in, "meridian_backend_probe_failures_total",
		    "Health probes of the backend that failed.",
		    offsetof(struct metrics_backend, probe_failures));
	backend_u64(out, in, "meridian_backend_health_transitions_total",
		    "Times the backend's health changed, up or down.",
		    offsetof(struct metrics_backend, transitions));
	family(out, "meridian_backend_replication_lag_seconds", "gauge",
	       "Replication lag the backend reported in its last health "
	       "response; absent when it reported none.");
	for (b = 0; b < m->n_backends; b++) {
		mb = &in->backends[b];
		if (!mb->probed || isnan(mb->lag_seconds))
			continue;
		backend_labels(labels, sizeof(labels), m, b);
		put_double(out, "meridian_backend_replication_lag_seconds",
			   labels, mb->lag_seconds);
	}
}

struct region_health {
	uint32_t backends;
	uint32_t up;
	uint64_t failovers;
	double lag_max; /* NAN: no backend reported one */
};

static void region_health_of(const struct metrics_input *in, uint32_t r,
			     struct region_health *rh)
{
	const struct model *m = in->model;
	const struct metrics_backend *mb;
	uint32_t b;

	memset(rh, 0, sizeof(*rh));
	rh->lag_max = NAN;
	for (b = 0; b < m->n_backends; b++) {
		if (m->backends[b].region != r)
			continue;
		mb = &in->backends[b];
		rh->backends++;
		rh->up += mb->state == HEALTH_UP;
		rh->failovers += mb->failovers;
		if (mb->probed && !isnan(mb->lag_seconds) &&
		    (isnan(rh->lag_max) || mb->lag_seconds > rh->lag_max))
			rh->lag_max = mb->lag_seconds;
	}
}

static void region_health(FILE *out, const struct metrics_input *in)
{
	const struct model *m = in->model;
	struct region_health rh[MERIDIAN_MAX_REGIONS];
	char labels[LABELS_MAX];
	uint32_t r;

	for (r = 0; r < m->n_regions; r++)
		region_health_of(in, r, &rh[r]);
	family(out, "meridian_region_backends", "gauge",
	       "Backends configured in the region.");
	for (r = 0; r < m->n_regions; r++) {
		region_labels(labels, sizeof(labels), m, r);
		put_u64(out, "meridian_region_backends", labels,
			rh[r].backends);
	}
	family(out, "meridian_region_backends_up", "gauge",
	       "Healthy backends in the region.");
	for (r = 0; r < m->n_regions; r++) {
		region_labels(labels, sizeof(labels), m, r);
		put_u64(out, "meridian_region_backends_up", labels, rh[r].up);
	}
	family(out, "meridian_region_failovers_total", "counter",
	       "Times the region lost its last healthy backend, so its "
	       "traffic failed over to other regions.");
	for (r = 0; r < m->n_regions; r++) {
		region_labels(labels, sizeof(labels), m, r);
		put_u64(out, "meridian_region_failovers_total", labels,
			rh[r].failovers);
	}
	family(out, "meridian_region_replication_lag_max_seconds", "gauge",
	       "Largest replication lag any backend of the region reported; "
	       "absent when none did.");
	for (r = 0; r < m->n_regions; r++) {
		if (isnan(rh[r].lag_max))
			continue;
		region_labels(labels, sizeof(labels), m, r);
		put_double(out, "meridian_region_replication_lag_max_seconds",
			   labels, rh[r].lag_max);
	}
}

static void region_config(FILE *out, const struct model *m)
{
	char labels[LABELS_MAX];
	uint32_t r;

	family(out, "meridian_region_tier", "gauge",
	       "Locality tier of the region seen from this edge: 0 is local.");
	for (r = 0; r < m->n_regions; r++) {
		region_labels(labels, sizeof(labels), m, r);
		put_u64(out, "meridian_region_tier", labels,
			m->regions[r].tier);
	}
}

/* --- controller --------------------------------------------------------- */

static void gauge(FILE *out, const char *name, const char *help, double v)
{
	family(out, name, "gauge", help);
	put_double(out, name, NULL, v);
}

static void counter(FILE *out, const char *name, const char *help,
		    uint64_t v)
{
	family(out, name, "counter", help);
	put_u64(out, name, NULL, v);
}

static void controller(FILE *out, const struct metrics_controller *c)
{
	gauge(out, "meridian_table_generation",
	      "Generation of the tables in the maps; each reconcile that "
	      "writes bumps it.",
	      c->generation);
	if (!isnan(c->reconcile_age_seconds))
		gauge(out, "meridian_reconcile_age_seconds",
		      "Seconds since the last successful reconcile.",
		      c->reconcile_age_seconds);
	gauge(out, "meridian_reconcile_duration_seconds",
	      "Duration of the last successful reconcile.",
	      c->reconcile_duration_seconds);
	if (!isnan(c->decision_seconds))
		gauge(out, "meridian_health_decision_to_map_seconds",
		      "From the last health change being decided to the "
		      "maps holding it.",
		      c->decision_seconds);
	gauge(out, "meridian_tables_stale_seconds",
	      "Seconds the maps have lagged the desired state (reconcile "
	      "failing); 0 while they are current.",
	      c->tables_stale_seconds);
	counter(out, "meridian_reconcile_failures_total",
		"Reconcile passes that failed and will be retried.",
		c->reconcile_failures);
	gauge(out, "meridian_probes_in_flight",
	      "Health probes waiting for an answer.", c->probes_in_flight);
	counter(out, "meridian_probe_local_errors_total",
		"Probes that could not be sent for local reasons (out of "
		"sockets, ports or memory).",
		c->probe_local_errors);
}

int metrics_render(FILE *out, const struct metrics_input *in)
{
	if (in->controller)
		controller(out, in->controller);
	region_config(out, in->model);
	if (in->backends) {
		backend_state(out, in);
		backend_probes(out, in);
		region_health(out, in);
	}
	dataplane(out, in);
	return ferror(out) ? -EIO : 0;
}

/* --- listen address ----------------------------------------------------- */

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	const char *p;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int metrics_listen_parse(const char *text, struct sockaddr_storage *sa,
			 socklen_t *len)
{
	const char *colon = strrchr(text, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t n = colon ? (size_t)(colon - text) : 0;
	uint16_t port;

	if (!colon || n == 0 || n >= sizeof(host) ||
	    parse_port(colon + 1, &port))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		if (n < 3 || text[n - 1] != ']')
			return -EINVAL;
		memcpy(host, text + 1, n - 2);
		host[n - 2] = '\0';
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

		memcpy(host, text, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
	}
	return 0;
}
