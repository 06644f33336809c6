// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reads what the maps hold into the reconciler's cache, so a restarted
 * daemon diffs against the pinned state instead of rewriting it. Rings and
 * tables are kept as content hashes; which identity a pinned ring belongs
 * to is settled by the first apply (reconcile_plan.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "reconcile_int.h"

static int read_config(struct reconciler *r)
{
	int err = meridian_config_get(&r->maps, &r->cache.config);

	if (err) {
		log_err("reconcile: cannot read the config map: %s",
			strerror(-err));
		return err;
	}
	r->cache.config_known = true;
	return 0;
}

static int read_backends_each(struct reconciler *r)
{
	uint32_t id;
	int err;

	for (id = 0; id < MERIDIAN_MAX_BACKENDS; id++) {
		err = meridian_backend_get(&r->maps, id,
					   &r->cache.backends[id]);
		if (err)
			return err;
	}
	return 0;
}

static int read_backends(struct reconciler *r)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct meridian_backend *values;
	uint32_t *keys, count = MERIDIAN_MAX_BACKENDS, out, i;
	int err;

	keys = calloc(MERIDIAN_MAX_BACKENDS, sizeof(*keys));
	values = calloc(MERIDIAN_MAX_BACKENDS, sizeof(*values));
	if (!keys || !values) {
		err = -ENOMEM;
		log_err("reconcile: out of memory reading backends");
		goto out;
	}
	err = bpf_map_lookup_batch(r->maps.backends, NULL, &out, keys, values,
				   &count, &opts);
	/* ENOENT: the batch reached the end, which it does on arrays. */
	if ((err && err != -ENOENT) || count != MERIDIAN_MAX_BACKENDS) {
		err = read_backends_each(r);
		goto out;
	}
	err = 0;
	for (i = 0; i < count; i++)
		if (keys[i] < MERIDIAN_MAX_BACKENDS)
			r->cache.backends[keys[i]] = values[i];
out:
	free(keys);
	free(values);
	return err;
}

/* Every entry of a hash map or trie: key, then its value into kv. */
static int read_keyed(int fd, const char *name, struct rc_kv *kv,
		      uint32_t max_entries, uint32_t mark)
{
	uint8_t key[64], next[64], val[64];
	void *prev = NULL;
	uint32_t n;
	int err;

	for (n = 0; n <= max_entries; n++) {
		err = bpf_map_get_next_key(fd, prev, next);
		if (err == -ENOENT)
			return 0;
		if (err)
			goto fail;
		memcpy(key, next, kv->key_size);
		prev = key;
		err = bpf_map_lookup_elem(fd, key, val);
		if (err == -ENOENT)
			continue; /* deleted under us: not there */
		if (err)
			goto fail;
		err = rc_kv_put(kv, key, val, mark);
		if (err)
			goto fail;
	}
	log_err("reconcile: %s holds more than %u entries", name, max_entries);
	return -E2BIG;
fail:
	log_err("reconcile: cannot read %s: %s", name, strerror(-err));
	return err;
}

static int read_tables(struct reconciler *r)
{
	struct meridian_region_key key, next;
	struct meridian_region_table *table;
	struct rc_table val;
	void *prev = NULL;
	uint32_t n;
	int err = 0;

	table = malloc(sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (n = 0; n <= MERIDIAN_MAX_REGION_TABLES; n++) {
		err = bpf_map_get_next_key(r->maps.region_tables, prev, &next);
		if (err == -ENOENT) {
			err = 0;
			goto out;
		}
		if (err) {
			log_err("reconcile: cannot walk %s: %s",
				MERIDIAN_MAP_REGION_TABLES, strerror(-err));
			goto out;
		}
		key = next;
		prev = &key;
		err = meridian_region_table_get(&r->maps, &key, table);
		if (err == -ENOENT)
			continue;
		if (err)
			goto out;
		val.hash =
			rc_table_hash(table->flags, table->ring, table->slot);
		memcpy(val.ring, table->ring, sizeof(val.ring));
		err = rc_kv_put(&r->cache.tables, &key, &val, r->cache.epoch);
		if (err)
			goto out;
	}
	err = -E2BIG;
	log_err("reconcile: %s holds more than %u entries",
		MERIDIAN_MAP_REGION_TABLES, MERIDIAN_MAX_REGION_TABLES);
out:
	free(table);
	return err;
}

static int read_ring(struct reconciler *r, uint32_t id, uint32_t *values)
{
	struct rc_ring *ring = &r->cache.rings[id];
	uint32_t inner_id, size;
	int fd, err;

	err = bpf_map_lookup_elem(r->maps.rings, &id, &inner_id);
	if (err)
		return err == -ENOENT ? 0 : err;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	err = meridian_ring_inner_read(fd, values, MERIDIAN_RING_MAX, &size);
	if (!err && size == 0)
		err = -EPROTO;
	close(fd);
	if (err)
		return err;
	ring->present = 1;
	ring->known = 0;
	ring->size = size;
	ring->hash = rc_ring_hash(values, size);
	return 0;
}

static int read_rings(struct reconciler *r)
{
	uint32_t *values, id;
	int err = 0;

	values = malloc(MERIDIAN_RING_MAX * sizeof(*values));
	if (!values) {
		log_err("reconcile: out of memory reading rings");
		return -ENOMEM;
	}
	for (id = 0; !err && id < MERIDIAN_MAX_RINGS; id++) {
		err = read_ring(r, id, values);
		if (err)
			log_err("reconcile: cannot read ring %u: %s", id,
				strerror(-err));
	}
	free(values);
	return err;
}

int rc_read_maps(struct reconciler *r)
{
	struct rc_cache *c = &r->cache;
	int err;

	err = read_config(r);
	if (!err)
		err = read_backends(r);
	if (!err)
		err = read_keyed(r->maps.vips, MERIDIAN_MAP_VIPS, &c->vips,
				 MERIDIAN_MAX_VIP_KEYS, c->epoch);
	if (!err)
		err = rc_prefilter_read(r);
	if (!err)
		err = read_keyed(r->maps.classes4, MERIDIAN_MAP_CLASSES4,
				 &c->classes4, MERIDIAN_MAX_PREFIXES, c->epoch);
	if (!err)
		err = read_keyed(r->maps.classes6, MERIDIAN_MAP_CLASSES6,
				 &c->classes6, MERIDIAN_MAX_PREFIXES, c->epoch);
	if (!err)
		err = read_tables(r);
	if (!err)
		err = read_rings(r);
	return err;
}
