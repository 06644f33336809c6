// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the daemon knows beyond the config: health per backend, drains and
 * weight overrides; and how it turns them into policy input.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "prober.h"
#include "reconcile.h"

static bool same_addr(const struct meridian_backend *b,
		      const struct model_addr *a)
{
	return b->family == a->family && !memcmp(b->addr, a->bytes, 16);
}

/*
 * A restart adopts what is pinned: a backend serving there starts UP, so
 * it takes `fall` failed probes to move its flows; any other starts
 * UNKNOWN and earns traffic with `rise` successes.
 */
static enum health_state adopted_state(const struct daemon *d, uint32_t i)
{
	const struct model_backend *mb = &d->model.backends[i];
	struct meridian_backend b;

	if (mb->probe.kind == PROBE_NONE)
		return HEALTH_UP;
	if (meridian_backend_get(&d->maps, i, &b))
		return HEALTH_UNKNOWN;
	return b.up && same_addr(&b, &mb->addr) ? HEALTH_UP : HEALTH_UNKNOWN;
}

static int alloc_arrays(uint32_t n, struct backend_health **h,
			struct drain **dr)
{
	*h = calloc(n ? n : 1, sizeof(**h));
	*dr = calloc(n ? n : 1, sizeof(**dr));
	if (*h && *dr)
		return 0;
	free(*h);
	free(*dr);
	log_err("out of memory for %u backends", n);
	return -ENOMEM;
}

int state_alloc(struct daemon *d, const struct model *m)
{
	uint32_t i;
	int err;

	err = alloc_arrays(m->n_backends, &d->health, &d->backend_drain);
	if (err)
		return err;
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		d->region_weight[i] = POLICY_WEIGHT_NONE;
	for (i = 0; i < m->n_backends; i++) {
		health_fsm_init(&d->health[i].fsm, m->backends[i].probe.rise,
				m->backends[i].probe.fall,
				adopted_state(d, i));
		d->health[i].lag_seconds = NAN;
	}
	return 0;
}

void state_free(struct daemon *d)
{
	free(d->health);
	free(d->backend_drain);
	d->health = NULL;
	d->backend_drain = NULL;
}

bool backend_up(const struct daemon *d, uint32_t i)
{
	return health_fsm_is_up(&d->health[i].fsm);
}

/* The flip goes out now; rings and tables follow in the next apply. */
static void flip_in_dataplane(struct daemon *d, uint32_t i)
{
	struct meridian_backend want;

	if (!d->reconciler)
		return;
	policy_backend_entry(&d->model, i, backend_up(d, i), &want);
	if (reconcile_backend_health(d->reconciler, i, &want) == 1)
		d->last_flip_ns = now_ns() - d->decided_ns;
}

static void on_probe(void *arg, uint32_t i, bool ok, uint32_t rtt_us,
		     const char *why, double lag)
{
	struct daemon *d = arg;
	struct backend_health *h;
	enum health_event ev;
	bool was_up;

	if (i >= d->model.n_backends)
		return;
	h = &d->health[i];
	h->last_rtt_us = rtt_us;
	h->lag_seconds = lag;
	if (!ok && why)
		snprintf(h->why, sizeof(h->why), "%s", why);
	was_up = health_fsm_is_up(&h->fsm);
	ev = health_fsm_observe(&h->fsm, ok);
	metrics_on_probe(d, i, ok, rtt_us, was_up, ev);
	if (ev == HEALTH_EV_NONE)
		return;
	h->transitions++;
	d->dirty = true;
	d->decided_ns = now_ns();
	flip_in_dataplane(d, i);
	log_info("backend %s is %s%s%s", d->model.backends[i].name,
		 ev == HEALTH_EV_UP ? "up" : "down", ok ? "" : ": ",
		 ok ? "" : h->why);
}

static struct probe_target *targets_of(const struct model *m)
{
	struct probe_target *t = calloc(m->n_backends ? m->n_backends : 1,
					sizeof(*t));
	uint32_t i;

	if (!t)
		return NULL;
	for (i = 0; i < m->n_backends; i++) {
		t[i].addr = m->backends[i].addr;
		t[i].port = m->backends[i].probe.port ?
				    m->backends[i].probe.port :
				    m->backends[i].port;
		t[i].spec = m->backends[i].probe;
	}
	return t;
}

int probes_start(struct daemon *d)
{
	struct probe_target *t = targets_of(&d->model);
	int err;

	if (!t)
		return -ENOMEM;
	err = prober_create(&d->prober, t, d->model.n_backends, on_probe, d);
	free(t);
	if (err)
		return err;
	return daemon_watch(d, prober_fd(d->prober), SRC_PROBER);
}

static int find_backend_named(const struct model *m, const char *name,
			      const struct model_addr *addr)
{
	uint32_t i;

	for (i = 0; i < m->n_backends; i++)
		if (!strcmp(m->backends[i].name, name) &&
		    !memcmp(&m->backends[i].addr, addr, sizeof(*addr)))
			return i;
	return -1;
}

/* Health and drains follow backends and regions by name across reloads. */
static void carry_over(const struct daemon *d, const struct model *next,
		       struct backend_health *h, struct drain *dr,
		       struct drain *region_drain, uint32_t *region_weight)
{
	uint32_t i, j;
	int old;

	for (i = 0; i < next->n_backends; i++) {
		old = find_backend_named(&d->model, next->backends[i].name,
					 &next->backends[i].addr);
		if (old >= 0) {
			h[i] = d->health[old];
			dr[i] = d->backend_drain[old];
		} else {
			health_fsm_init(&h[i].fsm, 0, 0, HEALTH_UNKNOWN);
			h[i].lag_seconds = NAN;
		}
		/* Never probed, so never reported: up by definition. */
		if (next->backends[i].probe.kind == PROBE_NONE)
			health_fsm_init(&h[i].fsm, 0, 0, HEALTH_UP);
		health_fsm_set_thresholds(&h[i].fsm,
					  next->backends[i].probe.rise,
					  next->backends[i].probe.fall);
	}
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++) {
		region_weight[i] = POLICY_WEIGHT_NONE;
		memset(&region_drain[i], 0, sizeof(region_drain[i]));
	}
	for (i = 0; i < next->n_regions; i++)
		for (j = 0; j < d->model.n_regions; j++)
			if (!strcmp(next->regions[i].name,
				    d->model.regions[j].name)) {
				region_drain[i] = d->region_drain[j];
				region_weight[i] = d->region_weight[j];
			}
}

int state_reload(struct daemon *d, struct model *next)
{
	struct drain region_drain[MERIDIAN_MAX_REGIONS];
	uint32_t region_weight[MERIDIAN_MAX_REGIONS];
	struct probe_target *t;
	struct backend_health *h;
	struct drain *dr;
	int err;

	if (strcmp(next->edge.pin_dir, d->model.edge.pin_dir) ||
	    strcmp(next->edge.control_socket, d->model.edge.control_socket) ||
	    strcmp(next->edge.metrics_listen, d->model.edge.metrics_listen)) {
		log_err("pin_dir, control_socket and metrics_listen need a "
			"restart to change");
		return -EINVAL;
	}
	err = alloc_arrays(next->n_backends, &h, &dr);
	if (err)
		return err;
	t = targets_of(next);
	err = t ? prober_update(d->prober, t, next->n_backends) : -ENOMEM;
	free(t);
	if (err) {
		free(h);
		free(dr);
		return err;
	}
	carry_over(d, next, h, dr, region_drain, region_weight);
	state_free(d);
	model_free(&d->model);
	d->model = *next;
	d->health = h;
	d->backend_drain = dr;
	memcpy(d->region_drain, region_drain, sizeof(region_drain));
	memcpy(d->region_weight, region_weight, sizeof(region_weight));
	return 0;
}

static bool drain_step(struct drain *dr, uint64_t now)
{
	uint32_t permille = POLICY_PERMILLE;

	if (dr->active)
		permille = policy_drain_permille(dr->start_ms, dr->over_ms,
						 now);
	if (permille == dr->permille)
		return false;
	dr->permille = permille;
	return true;
}

bool drains_changed(struct daemon *d, uint64_t now)
{
	bool changed = false;
	uint32_t i;

	for (i = 0; i < d->model.n_regions; i++)
		changed |= drain_step(&d->region_drain[i], now);
	for (i = 0; i < d->model.n_backends; i++)
		changed |= drain_step(&d->backend_drain[i], now);
	return changed;
}

int state_build_desired(struct daemon *d, struct desired *out)
{
	uint32_t n = d->model.n_backends ? d->model.n_backends : 1, i;
	uint32_t region_permille[MERIDIAN_MAX_REGIONS];
	uint32_t *backend_permille = calloc(n, sizeof(uint32_t));
	bool *up = calloc(n, sizeof(bool));
	struct policy_input in = {
		.model = &d->model,
		.backend_up = up,
		.backend_permille = backend_permille,
		.region_permille = region_permille,
		.region_weight_override = d->region_weight,
		.generation = d->generation + 1,
	};
	int err = -ENOMEM;

	if (!up || !backend_permille)
		goto out;
	drains_changed(d, now_ms());
	for (i = 0; i < d->model.n_backends; i++) {
		up[i] = backend_up(d, i);
		backend_permille[i] = d->backend_drain[i].permille;
	}
	for (i = 0; i < MERIDIAN_MAX_REGIONS; i++)
		region_permille[i] = d->region_drain[i].permille;
	err = policy_build(&in, out);
	if (err)
		log_err("policy build failed: %s", strerror(-err));
out:
	free(up);
	free(backend_permille);
	return err;
}
