// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `meridianctl status`: regions, backends, health, table generation, age. */
#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "daemon.h"
#include "policy.h"

static const char *addr_str(const struct model_addr *a, char *buf, size_t len)
{
	int af = a->family == MERIDIAN_AF_INET ? AF_INET : AF_INET6;

	if (!inet_ntop(af, a->bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static void region_counts(const struct daemon *d, uint32_t r, uint32_t *up,
			  uint32_t *total)
{
	uint32_t i;

	*up = *total = 0;
	for (i = 0; i < d->model.n_backends; i++) {
		if (d->model.backends[i].region != r)
			continue;
		(*total)++;
		*up += backend_up(d, i);
	}
}

static void print_text(const struct daemon *d, FILE *out, uint64_t age_ms)
{
	const struct model *m = &d->model;
	char addr[INET6_ADDRSTRLEN];
	uint32_t i, up, total;

	fprintf(out, "generation %u, last reconcile %llu ms ago (%llu us, "
		     "%u writes)\n",
		d->generation, (unsigned long long)age_ms,
		(unsigned long long)(d->last_reconcile_ns / 1000),
		d->last_writes);
	fprintf(out, "\n%-20s %4s %7s %7s %7s\n", "REGION", "TIER", "UP",
		"DRAIN", "WEIGHT");
	for (i = 0; i < m->n_regions; i++) {
		region_counts(d, i, &up, &total);
		fprintf(out, "%-20s %4u %3u/%-3u %7u ", m->regions[i].name,
			m->regions[i].tier, up, total,
			d->region_drain[i].permille);
		if (d->region_weight[i] == POLICY_WEIGHT_NONE)
			fprintf(out, "%7s\n", "config");
		else
			fprintf(out, "%7u\n", d->region_weight[i]);
	}
	fprintf(out, "\n%-20s %-16s %-28s %-7s %8s %5s %s\n", "BACKEND",
		"REGION", "ADDRESS", "HEALTH", "RTT_US", "DRAIN", "LAST_ERROR");
	for (i = 0; i < m->n_backends; i++) {
		const struct model_backend *b = &m->backends[i];
		const struct backend_health *h = &d->health[i];

		fprintf(out, "%-20s %-16s %-28s %-7s %8u %5u %s\n", b->name,
			m->regions[b->region].name,
			addr_str(&b->addr, addr, sizeof(addr)),
			health_state_name(h->fsm.state), h->last_rtt_us,
			d->backend_drain[i].permille, h->why);
	}
}

static void print_json(const struct daemon *d, FILE *out, uint64_t age_ms)
{
	const struct model *m = &d->model;
	char addr[INET6_ADDRSTRLEN];
	uint32_t i, up, total;

	fprintf(out,
		"{\"generation\":%u,\"reconcile_age_ms\":%llu,"
		"\"reconcile_us\":%llu,\"reconcile_writes\":%u,"
		"\"decision_to_map_us\":%llu,"
		"\"decision_to_dataplane_us\":%.1f,\"regions\":[",
		d->generation, (unsigned long long)age_ms,
		(unsigned long long)(d->last_reconcile_ns / 1000),
		d->last_writes,
		(unsigned long long)(d->last_decision_ns / 1000),
		(double)d->last_flip_ns / 1000.0);
	for (i = 0; i < m->n_regions; i++) {
		region_counts(d, i, &up, &total);
		fprintf(out,
			"%s{\"name\":\"%s\",\"tier\":%u,\"up\":%u,"
			"\"backends\":%u,\"drain_permille\":%u,\"weight\":",
			i ? "," : "", m->regions[i].name, m->regions[i].tier,
			up, total, d->region_drain[i].permille);
		if (d->region_weight[i] == POLICY_WEIGHT_NONE)
			fprintf(out, "null}");
		else
			fprintf(out, "%u}", d->region_weight[i]);
	}
	fprintf(out, "],\"backends\":[");
	for (i = 0; i < m->n_backends; i++) {
		const struct model_backend *b = &m->backends[i];
		const struct backend_health *h = &d->health[i];

		fprintf(out,
			"%s{\"name\":\"%s\",\"region\":\"%s\","
			"\"address\":\"%s\",\"health\":\"%s\",\"rtt_us\":%u,"
			"\"transitions\":%llu,\"drain_permille\":%u,",
			i ? "," : "", b->name, m->regions[b->region].name,
			addr_str(&b->addr, addr, sizeof(addr)),
			health_state_name(h->fsm.state), h->last_rtt_us,
			(unsigned long long)h->transitions,
			d->backend_drain[i].permille);
		if (isnan(h->lag_seconds))
			fprintf(out, "\"lag_seconds\":null}");
		else
			fprintf(out, "\"lag_seconds\":%.3f}", h->lag_seconds);
	}
	fprintf(out, "]}\n");
}

void status_print(const struct daemon *d, FILE *out, bool json)
{
	uint64_t age = d->last_reconcile_ms ? now_ms() - d->last_reconcile_ms :
					      0;

	if (json)
		print_json(d, out, age);
	else
		print_text(d, out, age);
}
