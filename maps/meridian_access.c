// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "meridian_access.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "vip_addrs.h"
#include "vip_table.h"
#include "../bpf/hashing.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* What each edge map must look like to be used with this build's structs. */
struct map_spec {
	const char *name;
	size_t fd_offset;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
};

#define MAP_SPEC(field, map_name, map_type, key, value)                      \
	{                                                                    \
		.name = map_name,                                            \
		.fd_offset = offsetof(struct meridian_maps, field),         \
		.type = map_type, .key_size = key, .value_size = value,      \
	}

static const struct map_spec edge_maps[] = {
	MAP_SPEC(vips, MERIDIAN_MAP_VIPS, BPF_MAP_TYPE_HASH,
		 sizeof(struct meridian_vip_key), sizeof(struct meridian_vip)),
	MAP_SPEC(vip_addrs4, MERIDIAN_MAP_VIP_ADDRS4,
		 BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32)),
	MAP_SPEC(vip_addrs6, MERIDIAN_MAP_VIP_ADDRS6,
		 BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32)),
	MAP_SPEC(classes4, MERIDIAN_MAP_CLASSES4, BPF_MAP_TYPE_LPM_TRIE,
		 sizeof(struct meridian_lpm4_key),
		 sizeof(struct meridian_class)),
	MAP_SPEC(classes6, MERIDIAN_MAP_CLASSES6, BPF_MAP_TYPE_LPM_TRIE,
		 sizeof(struct meridian_lpm6_key),
		 sizeof(struct meridian_class)),
	MAP_SPEC(region_tables, MERIDIAN_MAP_REGION_TABLES,
		 BPF_MAP_TYPE_HASH_OF_MAPS, sizeof(struct meridian_region_key),
		 sizeof(__u32)),
	MAP_SPEC(rings, MERIDIAN_MAP_RINGS, BPF_MAP_TYPE_ARRAY_OF_MAPS,
		 sizeof(__u32), sizeof(__u32)),
	MAP_SPEC(backends, MERIDIAN_MAP_BACKENDS, BPF_MAP_TYPE_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_backend)),
	MAP_SPEC(flows, MERIDIAN_MAP_FLOWS, BPF_MAP_TYPE_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_flow_set)),
	MAP_SPEC(config, MERIDIAN_MAP_CONFIG, BPF_MAP_TYPE_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_config)),
	MAP_SPEC(counters, MERIDIAN_MAP_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_counters)),
	MAP_SPEC(region_stats, MERIDIAN_MAP_REGION_STATS,
		 BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
		 sizeof(struct meridian_region_stats)),
	MAP_SPEC(vip_stats, MERIDIAN_MAP_VIP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_traffic_stats)),
	MAP_SPEC(backend_stats, MERIDIAN_MAP_BACKEND_STATS,
		 BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
		 sizeof(struct meridian_traffic_stats)),
	MAP_SPEC(flood, MERIDIAN_MAP_FLOOD, BPF_MAP_TYPE_PERCPU_ARRAY,
		 sizeof(__u32), sizeof(struct meridian_flood)),
};

/* Inner map shapes; they must equal the templates in bpf/maps.h. */
#define REGION_INNER_NAME "meridian_rt"
#define RING_INNER_NAME "meridian_ring"
#define RING_INNER_FLAGS BPF_F_INNER_MAP
#define VIP_ADDR_INNER_NAME4 "meridian_vas4"
#define VIP_ADDR_INNER_NAME6 "meridian_vas6"

static int *map_fd_slot(struct meridian_maps *m, const struct map_spec *spec)
{
	return (int *)((char *)m + spec->fd_offset);
}

void meridian_maps_init(struct meridian_maps *m)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(edge_maps); i++)
		*map_fd_slot(m, &edge_maps[i]) = -1;
	m->ncpus = 0;
}

void meridian_maps_close(struct meridian_maps *m)
{
	size_t i;
	int *fd;

	for (i = 0; i < ARRAY_LEN(edge_maps); i++) {
		fd = map_fd_slot(m, &edge_maps[i]);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int check_map_shape(int fd, const struct map_spec *spec,
			   const char *where)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		log_err("map %s at %s: cannot read map info: %s", spec->name,
			where, strerror(-err));
		return err;
	}
	if (info.type != spec->type || info.key_size != spec->key_size ||
	    info.value_size != spec->value_size) {
		log_err("map %s at %s has type %u key %u value %u bytes, "
			"this build expects type %u key %u value %u: stale "
			"pins from another version?",
			spec->name, where, info.type, info.key_size,
			info.value_size, spec->type, spec->key_size,
			spec->value_size);
		return -EPROTO;
	}
	return 0;
}

static int count_cpus(struct meridian_maps *m)
{
	int n = libbpf_num_possible_cpus();

	if (n == 0)
		n = -EINVAL;
	if (n < 0) {
		log_err("cannot count possible CPUs: %s", strerror(-n));
		return n;
	}
	m->ncpus = n;
	return 0;
}

static int open_pinned_map(const char *pin_dir, const struct map_spec *spec)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, spec->name) >=
	    (int)sizeof(path)) {
		log_err("pin path %s/%s is too long", pin_dir, spec->name);
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		log_err("cannot open pinned map %s: %s%s", path, strerror(-fd),
			fd == -ENOENT ? " (is the edge program loaded?)" : "");
		return fd;
	}
	err = check_map_shape(fd, spec, path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int meridian_maps_open(struct meridian_maps *m, const char *pin_dir)
{
	size_t i;
	int fd, err;

	meridian_maps_init(m);
	if (!pin_dir)
		pin_dir = MERIDIAN_PIN_DIR;
	err = count_cpus(m);
	if (err)
		return err;
	for (i = 0; i < ARRAY_LEN(edge_maps); i++) {
		fd = open_pinned_map(pin_dir, &edge_maps[i]);
		if (fd < 0) {
			err = fd;
			goto err_close;
		}
		*map_fd_slot(m, &edge_maps[i]) = fd;
	}
	return 0;

err_close:
	meridian_maps_close(m);
	return err;
}

static int dup_object_map(struct bpf_object *obj, const struct map_spec *spec)
{
	struct bpf_map *map;
	int fd, dup_fd, err;

	map = bpf_object__find_map_by_name(obj, spec->name);
	if (!map) {
		log_err("object %s has no map %s", bpf_object__name(obj),
			spec->name);
		return -ENOENT;
	}
	fd = bpf_map__fd(map);
	if (fd < 0) {
		log_err("map %s of %s is not loaded", spec->name,
			bpf_object__name(obj));
		return -EBADF;
	}
	err = check_map_shape(fd, spec, bpf_object__name(obj));
	if (err)
		return err;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0) {
		err = -errno;
		log_err("cannot duplicate fd of map %s: %s", spec->name,
			strerror(errno));
		return err;
	}
	return dup_fd;
}

int meridian_maps_from_object(struct meridian_maps *m, struct bpf_object *obj)
{
	size_t i;
	int fd, err;

	meridian_maps_init(m);
	err = count_cpus(m);
	if (err)
		return err;
	for (i = 0; i < ARRAY_LEN(edge_maps); i++) {
		fd = dup_object_map(obj, &edge_maps[i]);
		if (fd < 0) {
			err = fd;
			goto err_close;
		}
		*map_fd_slot(m, &edge_maps[i]) = fd;
	}
	return 0;

err_close:
	meridian_maps_close(m);
	return err;
}

/* Plain element access; ENOENT on lookup and delete is left to callers. */
static int map_update(int fd, const char *map, const void *key,
		      const void *value, const char *what)
{
	int err = bpf_map_update_elem(fd, key, value, BPF_ANY);

	if (err)
		log_err("%s: update of %s failed: %s", what, map,
			strerror(-err));
	return err;
}

static int map_lookup(int fd, const char *map, const void *key, void *value,
		      const char *what)
{
	int err = bpf_map_lookup_elem(fd, key, value);

	if (err && err != -ENOENT)
		log_err("%s: lookup in %s failed: %s", what, map,
			strerror(-err));
	return err;
}

static int map_delete(int fd, const char *map, const void *key,
		      const char *what)
{
	int err = bpf_map_delete_elem(fd, key);

	if (err && err != -ENOENT)
		log_err("%s: delete from %s failed: %s", what, map,
			strerror(-err));
	return err;
}

/* "vip [2001:db8::1]:443/6" for messages. */
static const char *vip_desc(const struct meridian_vip_key *key, char *buf,
			    size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (key->family == MERIDIAN_AF_INET)
		inet_ntop(AF_INET, key->addr, addr, sizeof(addr));
	else if (key->family == MERIDIAN_AF_INET6)
		inet_ntop(AF_INET6, key->addr, addr, sizeof(addr));
	snprintf(buf, size, "vip [%s]:%u/%u", addr, ntohs(key->port),
		 (unsigned int)key->proto);
	return buf;
}

int meridian_vip_put(const struct meridian_maps *m,
		     const struct meridian_vip_key *key,
		     const struct meridian_vip *vip)
{
	char desc[80];

	if (vip->id >= MERIDIAN_MAX_VIPS) {
		log_err("%s: id %u out of range",
			vip_desc(key, desc, sizeof(desc)), vip->id);
		return -EINVAL;
	}
	return map_update(m->vips, MERIDIAN_MAP_VIPS, key, vip,
			  vip_desc(key, desc, sizeof(desc)));
}

int meridian_vip_get(const struct meridian_maps *m,
		     const struct meridian_vip_key *key,
		     struct meridian_vip *vip)
{
	char desc[80];

	return map_lookup(m->vips, MERIDIAN_MAP_VIPS, key, vip,
			  vip_desc(key, desc, sizeof(desc)));
}

int meridian_vip_delete(const struct meridian_maps *m,
			const struct meridian_vip_key *key)
{
	char desc[80];

	return map_delete(m->vips, MERIDIAN_MAP_VIPS, key,
			  vip_desc(key, desc, sizeof(desc)));
}

/* "vip address 198.18.50.1" for messages. */
static const char *vip_addr_desc(int family, const void *addr, char *buf,
				 size_t size)
{
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, text, sizeof(text));
	snprintf(buf, size, "vip address %s", text);
	return buf;
}

static int check_vip_addr(const struct meridian_vip_addr *va, const char *desc)
{
	__u32 i;

	for (i = 0; i < MERIDIAN_VIP_ADDR_PROTOS; i++) {
		if (va->wild[i].id < MERIDIAN_MAX_VIPS)
			continue;
		log_err("%s: wildcard id %u out of range", desc,
			va->wild[i].id);
		return -EINVAL;
	}
	return 0;
}

static int check_class(const struct meridian_class *class, __u32 prefixlen,
		       __u32 max_prefixlen)
{
	if (prefixlen > max_prefixlen) {
		log_err("class %u: prefix length %u over %u", class->id,
			prefixlen, max_prefixlen);
		return -EINVAL;
	}
	if (class->id >= MERIDIAN_MAX_CLASSES) {
		log_err("class %u: id out of range", class->id);
		return -EINVAL;
	}
	return 0;
}

int meridian_class4_put(const struct meridian_maps *m,
			const struct meridian_lpm4_key *key,
			const struct meridian_class *class)
{
	int err = check_class(class, key->prefixlen, 32);

	if (err)
		return err;
	return map_update(m->classes4, MERIDIAN_MAP_CLASSES4, key, class,
			  "class prefix");
}

int meridian_class4_delete(const struct meridian_maps *m,
			   const struct meridian_lpm4_key *key)
{
	return map_delete(m->classes4, MERIDIAN_MAP_CLASSES4, key,
			  "class prefix");
}

int meridian_class6_put(const struct meridian_maps *m,
			const struct meridian_lpm6_key *key,
			const struct meridian_class *class)
{
	int err = check_class(class, key->prefixlen, 128);

	if (err)
		return err;
	return map_update(m->classes6, MERIDIAN_MAP_CLASSES6, key, class,
			  "class prefix");
}

int meridian_class6_delete(const struct meridian_maps *m,
			   const struct meridian_lpm6_key *key)
{
	return map_delete(m->classes6, MERIDIAN_MAP_CLASSES6, key,
			  "class prefix");
}

static int check_backend_id(__u32 id)
{
	if (id < MERIDIAN_MAX_BACKENDS)
		return 0;
	log_err("backend %u: id out of range", id);
	return -EINVAL;
}

int meridian_backend_put(const struct meridian_maps *m, __u32 id,
			 const struct meridian_backend *backend)
{
	int err = check_backend_id(id);

	if (err)
		return err;
	return map_update(m->backends, MERIDIAN_MAP_BACKENDS, &id, backend,
			  "backend");
}

int meridian_backend_get(const struct meridian_maps *m, __u32 id,
			 struct meridian_backend *backend)
{
	int err = check_backend_id(id);

	if (err)
		return err;
	return map_lookup(m->backends, MERIDIAN_MAP_BACKENDS, &id, backend,
			  "backend");
}

int meridian_backend_set_up(const struct meridian_maps *m, __u32 id, bool up)
{
	struct meridian_backend backend;
	int err;

	err = meridian_backend_get(m, id, &backend);
	if (err)
		return err;
	if (!backend.family)
		return -ENOENT;
	backend.up = up ? 1 : 0;
	return meridian_backend_put(m, id, &backend);
}

int meridian_config_put(const struct meridian_maps *m,
			const struct meridian_config *config)
{
	__u32 key = 0;

	return map_update(m->config, MERIDIAN_MAP_CONFIG, &key, config,
			  "config");
}

int meridian_config_get(const struct meridian_maps *m,
			struct meridian_config *config)
{
	__u32 key = 0;

	return map_lookup(m->config, MERIDIAN_MAP_CONFIG, &key, config,
			  "config");
}

/* Inner maps of one shape are created the same way for tables and rings. */
static int create_inner(const char *name, __u32 value_size, __u32 entries,
			__u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), value_size,
			    entries, &opts);
	if (fd < 0)
		log_err("cannot create inner map %s (%u entries): %s", name,
			entries, strerror(-fd));
	return fd;
}

/* Reads the inner map an outer entry points at; fd to close, or -errno. */
static int open_inner(int outer_fd, const char *outer, const void *key,
		      const char *what)
{
	__u32 inner_id;
	int err, fd;

	err = map_lookup(outer_fd, outer, key, &inner_id, what);
	if (err)
		return err;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0) {
		/* Swapped out and freed between the two calls. */
		if (fd == -ENOENT)
			return fd;
		log_err("%s: cannot open inner map id %u: %s", what, inner_id,
			strerror(-fd));
	}
	return fd;
}

static int check_region_key(const struct meridian_region_key *key)
{
	if (key->vip_id < MERIDIAN_MAX_VIPS &&
	    key->class_id < MERIDIAN_MAX_CLASSES)
		return 0;
	log_err("region table (vip %u, class %u): id out of range", key->vip_id,
		key->class_id);
	return -EINVAL;
}

int meridian_region_table_swap(const struct meridian_maps *m,
			       const struct meridian_region_key *key,
			       const struct meridian_region_table *table)
{
	int inner, err;

	err = check_region_key(key);
	if (err)
		return err;
	inner = meridian_region_inner_new(table);
	if (inner < 0)
		return inner;
	err = map_update(m->region_tables, MERIDIAN_MAP_REGION_TABLES, key,
			 &inner, "region table");
	/* On success the outer map holds the only reference we need. */
	close(inner);
	return err;
}

int meridian_region_table_delete(const struct meridian_maps *m,
				 const struct meridian_region_key *key)
{
	return map_delete(m->region_tables, MERIDIAN_MAP_REGION_TABLES, key,
			  "region table");
}

int meridian_region_table_get(const struct meridian_maps *m,
			      const struct meridian_region_key *key,
			      struct meridian_region_table *table)
{
	__u32 zero = 0;
	int inner, err;

	inner = open_inner(m->region_tables, MERIDIAN_MAP_REGION_TABLES, key,
			   "region table");
	if (inner < 0)
		return inner;
	err = map_lookup(inner, REGION_INNER_NAME, &zero, table,
			 "region table");
	close(inner);
	return err;
}

static int check_ring(__u32 ring_id, const __u32 *ring, __u32 size)
{
	__u32 i;

	if (ring_id >= MERIDIAN_MAX_RINGS) {
		log_err("ring %u: id out of range", ring_id);
		return -EINVAL;
	}
	if (size == 0 || size > MERIDIAN_RING_MAX) {
		log_err("ring %u: size %u not in 1..%u", ring_id, size,
			MERIDIAN_RING_MAX);
		return -EINVAL;
	}
	for (i = 0; i < size; i++) {
		if (ring[i] >= MERIDIAN_MAX_BACKENDS) {
			log_err("ring %u: entry %u is backend %u, out of range",
				ring_id, i, ring[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The ring in its packed layout: position 0 the size, then the ids. */
static struct meridian_ring_chunk *ring_pack(const __u32 *ring, __u32 size,
					     __u32 *elems)
{
	struct meridian_ring_chunk *chunks;

	*elems = MERIDIAN_RING_ELEMS(size);
	chunks = calloc(*elems, sizeof(*chunks));
	if (!chunks)
		return NULL;
	chunks[0].id[0] = size;
	memcpy(&chunks[0].id[1], ring, (size_t)size * sizeof(__u32));
	return chunks;
}

/* Writes n values at keys (NULL: keys 0..n-1) of an array map. */
static int array_write(int fd, const __u32 *keys, const void *values, __u32 n,
		       size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 done = n, *seq = NULL, i;
	int err;

	if (!n)
		return 0;
	if (!keys) {
		seq = malloc((size_t)n * sizeof(*seq));
		if (!seq)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			seq[i] = i;
		keys = seq;
	}
	err = bpf_map_update_batch(fd, keys, values, &done, &opts);
	/* Kernels without batch ops for arrays say so in one of these ways. */
	if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */) {
		for (i = 0, err = 0; !err && i < n; i++)
			err = bpf_map_update_elem(
				fd, &keys[i],
				(const char *)values + i * value_size, BPF_ANY);
	}
	free(seq);
	return err;
}

static int fill_chunks(int fd, const struct meridian_ring_chunk *chunks,
		       __u32 elems)
{
	return array_write(fd, NULL, chunks, elems, sizeof(*chunks));
}

int meridian_ring_inner_new(const __u32 *ring, __u32 size)
{
	struct meridian_ring_chunk *chunks;
	__u32 elems;
	int fd, err;

	chunks = ring_pack(ring, size, &elems);
	if (!chunks) {
		log_err("ring: out of memory for %u entries", size);
		return -ENOMEM;
	}
	fd = create_inner(RING_INNER_NAME, sizeof(*chunks), elems,
			  RING_INNER_FLAGS);
	if (fd < 0)
		goto out;
	err = fill_chunks(fd, chunks, elems);
	if (err) {
		log_err("ring: cannot fill %u entries: %s", size,
			strerror(-err));
		close(fd);
		fd = err;
	}
out:
	free(chunks);
	return fd;
}

int meridian_region_inner_new(const struct meridian_region_table *table)
{
	__u32 zero = 0;
	int fd, err;

	fd = create_inner(REGION_INNER_NAME, sizeof(*table), 1, 0);
	if (fd < 0)
		return fd;
	err = map_update(fd, REGION_INNER_NAME, &zero, table, "region table");
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int meridian_ring_swap(const struct meridian_maps *m, __u32 ring_id,
		       const __u32 *ring, __u32 size)
{
	int inner, err;

	err = check_ring(ring_id, ring, size);
	if (err)
		return err;
	inner = meridian_ring_inner_new(ring, size);
	if (inner < 0)
		return inner;
	err = map_update(m->rings, MERIDIAN_MAP_RINGS, &ring_id, &inner,
			 "ring");
	/* On success the outer map holds the only reference we need. */
	close(inner);
	return err;
}

int meridian_ring_delete(const struct meridian_maps *m, __u32 ring_id)
{
	return map_delete(m->rings, MERIDIAN_MAP_RINGS, &ring_id, "ring");
}

int meridian_ring_inner_read(int fd, __u32 *ring, __u32 cap, __u32 *size)
{
	struct meridian_ring_chunk chunk;
	__u32 elem, pos, n = 0;
	int err;

	for (elem = 0;; elem++) {
		err = bpf_map_lookup_elem(fd, &elem, &chunk);
		if (err)
			return err;
		if (elem == 0) {
			*size = chunk.id[0];
			if (*size > cap)
				return -ENOSPC;
		}
		for (pos = elem ? 0 : 1; pos < MERIDIAN_RING_LANES; pos++) {
			if (n == *size)
				return 0;
			ring[n++] = chunk.id[pos];
		}
	}
}

int meridian_ring_get(const struct meridian_maps *m, __u32 ring_id,
		      __u32 *ring, __u32 cap, __u32 *size)
{
	int inner, err;

	inner = open_inner(m->rings, MERIDIAN_MAP_RINGS, &ring_id, "ring");
	if (inner < 0)
		return inner;
	err = meridian_ring_inner_read(inner, ring, cap, size);
	if (err && err != -ENOSPC)
		log_err("ring %u: cannot read: %s", ring_id, strerror(-err));
	close(inner);
	return err;
}

/*
 * The VIP-address prefilter tables. Both families share the code below;
 * what differs is in struct vat.
 */
struct vat {
	int outer_fd;
	const char *outer; /* map name, for messages */
	const char *inner; /* name of the inner maps created here */
	size_t slot_size;
	size_t addr_size; /* the address opens the slot */
	size_t used_off; /* offset of the slot's used field */
	size_t va_off;
	/* -EINVAL (logged) unless slot i of the image is sound. */
	int (*check)(const void *slots, __u32 i);
};

static int check_slot4(const void *slots, __u32 i);
static int check_slot6(const void *slots, __u32 i);

static struct vat vat4(const struct meridian_maps *m)
{
	return (struct vat){
		.outer_fd = m->vip_addrs4,
		.outer = MERIDIAN_MAP_VIP_ADDRS4,
		.inner = VIP_ADDR_INNER_NAME4,
		.slot_size = sizeof(struct meridian_vip_addr_slot4),
		.addr_size = sizeof(__u32),
		.used_off = offsetof(struct meridian_vip_addr_slot4, used),
		.va_off = offsetof(struct meridian_vip_addr_slot4, va),
		.check = check_slot4,
	};
}

static struct vat vat6(const struct meridian_maps *m)
{
	return (struct vat){
		.outer_fd = m->vip_addrs6,
		.outer = MERIDIAN_MAP_VIP_ADDRS6,
		.inner = VIP_ADDR_INNER_NAME6,
		.slot_size = sizeof(struct meridian_vip_addr_slot6),
		.addr_size = sizeof(__u32[4]),
		.used_off = offsetof(struct meridian_vip_addr_slot6, used),
		.va_off = offsetof(struct meridian_vip_addr_slot6, va),
		.check = check_slot6,
	};
}

static bool vat_slot_used(const struct vat *t, const void *slots, __u32 i)
{
	__u32 used;

	memcpy(&used, (const char *)slots + i * t->slot_size + t->used_off,
	       sizeof(used));
	return used != 0;
}

/*
 * A table of another shape (pins of another build) would be misread, or
 * overrun the caller's image.
 */
static int vat_check_inner(const struct vat *t, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		log_err("%s: cannot read the table's map info: %s", t->outer,
			strerror(-err));
		return err;
	}
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
	    info.value_size != t->slot_size ||
	    info.max_entries != MERIDIAN_VIP_ADDR_SLOTS) {
		log_err("%s: table has type %u key %u value %u bytes, %u "
			"entries, this build expects an array of %u slots of "
			"%zu bytes: stale pins from another version?",
			t->outer, info.type, info.key_size, info.value_size,
			info.max_entries, MERIDIAN_VIP_ADDR_SLOTS,
			t->slot_size);
		return -EPROTO;
	}
	return 0;
}

/* The table in use now: an fd to close, -ENOENT when none, or -errno. */
static int vat_open(const struct vat *t)
{
	__u32 zero = 0;
	int fd, err;

	fd = open_inner(t->outer_fd, t->outer, &zero, "VIP-address table");
	if (fd < 0)
		return fd;
	err = vat_check_inner(t, fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* All slots of an array map, in key order, into values. */
static int array_read_all(int fd, void *values, __u32 n, size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = 0, count, next = 0, *keys, i;
	int err = 0;

	keys = malloc((size_t)n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(fd, done ? &next : NULL, &next,
					   keys + done,
					   (char *)values + done * value_size,
					   &count, &opts);
		done += count;
		if (err || !count)
			break;
	}
	free(keys);
	if (done == n && (!err || err == -ENOENT))
		return 0;
	/* An array has all its keys: an early end is no answer. */
	if (!err || err == -ENOENT)
		return -EIO;
	if (err != -EINVAL && err != -EOPNOTSUPP && err != -524 /* ENOTSUPP */)
		return err;
	for (i = 0, err = 0; !err && i < n; i++)
		err = bpf_map_lookup_elem(fd, &i,
					  (char *)values + i * value_size);
	return err;
}

static int vat_read(const struct vat *t, void *slots)
{
	int fd, err;

	fd = vat_open(t);
	if (fd == -ENOENT) {
		/* No table is an empty one to the data plane. */
		memset(slots, 0, MERIDIAN_VIP_ADDR_SLOTS * t->slot_size);
		return 0;
	}
	if (fd < 0)
		return fd;
	err = array_read_all(fd, slots, MERIDIAN_VIP_ADDR_SLOTS, t->slot_size);
	if (err)
		log_err("%s: cannot read the table: %s", t->outer,
			strerror(-err));
	close(fd);
	return err;
}

/* A new inner map holding the used slots of the image; fd or -errno. */
static int vat_inner_new(const struct vat *t, const void *slots)
{
	__u32 *keys, n = 0, i;
	char *values;
	int fd, err = -ENOMEM;

	keys = malloc(MERIDIAN_VIP_ADDR_SLOTS * sizeof(*keys));
	values = malloc(MERIDIAN_VIP_ADDR_SLOTS * t->slot_size);
	if (!keys || !values) {
		log_err("%s: out of memory for a table", t->outer);
		goto out;
	}
	for (i = 0; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		if (!vat_slot_used(t, slots, i))
			continue;
		keys[n] = i;
		memcpy(values + n * t->slot_size,
		       (const char *)slots + i * t->slot_size, t->slot_size);
		n++;
	}
	err = create_inner(t->inner, t->slot_size, MERIDIAN_VIP_ADDR_SLOTS, 0);
	if (err < 0)
		goto out;
	fd = err;
	err = array_write(fd, keys, values, n, t->slot_size);
	if (err) {
		log_err("%s: cannot fill a table of %u addresses: %s",
			t->outer, n, strerror(-err));
		close(fd);
		goto out;
	}
	err = fd;
out:
	free(keys);
	free(values);
	return err;
}

static int vat_swap(const struct vat *t, const void *slots)
{
	__u32 zero = 0;
	int inner, err;

	inner = vat_inner_new(t, slots);
	if (inner < 0)
		return inner;
	/* Waits until no program still runs on the old table. */
	err = map_update(t->outer_fd, t->outer, &zero, &inner,
			 "VIP-address table");
	/* On success the outer map holds the only reference we need. */
	close(inner);
	return err;
}

/*
 * An image whose entries the data plane could not find, or with ids out
 * of range, is refused whole.
 */
static int check_slot4(const void *image, __u32 i)
{
	const struct meridian_vip_addr_slot4 *slots = image;
	char desc[64];

	vip_addr_desc(AF_INET, &slots[i].addr, desc, sizeof(desc));
	if (vip_table4_find(slots, slots[i].addr) != (int)i) {
		log_err("%s: slot %u is not where a search finds it", desc, i);
		return -EINVAL;
	}
	return check_vip_addr(&slots[i].va, desc);
}

static int check_slot6(const void *image, __u32 i)
{
	const struct meridian_vip_addr_slot6 *slots = image;
	char desc[80];

	vip_addr_desc(AF_INET6, slots[i].addr, desc, sizeof(desc));
	if (vip_table6_find(slots, slots[i].addr) != (int)i) {
		log_err("%s: slot %u is not where a search finds it", desc, i);
		return -EINVAL;
	}
	return check_vip_addr(&slots[i].va, desc);
}

int meridian_vip_addrs4_read(const struct meridian_maps *m,
			     struct meridian_vip_addr_slot4 *slots)
{
	struct vat t = vat4(m);

	return vat_read(&t, slots);
}

int meridian_vip_addrs6_read(const struct meridian_maps *m,
			     struct meridian_vip_addr_slot6 *slots)
{
	struct vat t = vat6(m);

	return vat_read(&t, slots);
}

/* The whole image is checked before anything is written. */
static int vat_check_swap(const struct vat *t, const void *slots)
{
	__u32 i;
	int err;

	for (i = 0; i < MERIDIAN_VIP_ADDR_SLOTS; i++) {
		if (!vat_slot_used(t, slots, i))
			continue;
		err = t->check(slots, i);
		if (err)
			return err;
	}
	return vat_swap(t, slots);
}

int meridian_vip_addrs4_swap(const struct meridian_maps *m,
			     const struct meridian_vip_addr_slot4 *slots)
{
	struct vat t = vat4(m);

	return vat_check_swap(&t, slots);
}

int meridian_vip_addrs6_swap(const struct meridian_maps *m,
			     const struct meridian_vip_addr_slot6 *slots)
{
	struct vat t = vat6(m);

	return vat_check_swap(&t, slots);
}

/* Up to MERIDIAN_VIP_ADDR_PROBES slots from the address's home. */
static int vat_get(const struct vat *t, const void *addr, __u32 home,
		   struct meridian_vip_addr *va)
{
	uint8_t slot[sizeof(struct meridian_vip_addr_slot6)];
	int fd, err = -ENOENT;
	__u32 i, k;

	fd = vat_open(t);
	if (fd < 0)
		return fd;
	for (i = 0; i < MERIDIAN_VIP_ADDR_PROBES; i++) {
		k = (home + i) & (MERIDIAN_VIP_ADDR_SLOTS - 1);
		err = map_lookup(fd, t->outer, &k, slot, "VIP-address slot");
		if (err)
			break;
		err = -ENOENT;
		if (!vat_slot_used(t, slot, 0))
			break;
		if (!memcmp(slot, addr, t->addr_size)) {
			memcpy(va, slot + t->va_off, sizeof(*va));
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}

int meridian_vip_addr4_get(const struct meridian_maps *m, __u32 addr,
			   struct meridian_vip_addr *va)
{
	struct vat t = vat4(m);

	return vat_get(&t, &addr, meridian_vip_addr_home4(addr), va);
}

int meridian_vip_addr6_get(const struct meridian_maps *m,
			   const struct meridian_vip_addr6_key *key,
			   struct meridian_vip_addr *va)
{
	struct vat t = vat6(m);

	return vat_get(&t, key->addr, meridian_vip_addr_home6(key->addr), va);
}

static void *vat_image(const struct vat *t)
{
	void *slots = malloc(MERIDIAN_VIP_ADDR_SLOTS * t->slot_size);

	if (!slots)
		log_err("%s: out of memory for a table image", t->outer);
	return slots;
}

static bool vat_is4(const struct vat *t)
{
	return t->addr_size == sizeof(__u32);
}

/* Puts va as addr's entry in the image, or takes it out (va NULL). */
static int vat_image_edit(const struct vat *t, void *slots, const void *addr,
			  const struct meridian_vip_addr *va)
{
	__u32 a4;

	if (!vat_is4(t))
		return va ? vip_table6_put(slots, addr, va) :
			    vip_table6_remove(slots, addr);
	memcpy(&a4, addr, sizeof(a4));
	return va ? vip_table4_put(slots, a4, va) :
		    vip_table4_remove(slots, a4);
}

/* Read, change with the pure table functions, swap back. */
static int vat_edit(const struct vat *t, const void *addr,
		    const struct meridian_vip_addr *va)
{
	char desc[80];
	void *slots;
	int err;

	vip_addr_desc(vat_is4(t) ? AF_INET : AF_INET6, addr, desc,
		      sizeof(desc));
	if (va) {
		err = check_vip_addr(va, desc);
		if (err)
			return err;
	}
	slots = vat_image(t);
	if (!slots)
		return -ENOMEM;
	err = vat_read(t, slots);
	if (err)
		goto out;
	err = vat_image_edit(t, slots, addr, va);
	if (err == -ENOSPC)
		log_err("%s: no free slot within %u of its home", desc,
			MERIDIAN_VIP_ADDR_PROBES);
	if (!err)
		err = vat_swap(t, slots);
out:
	free(slots);
	return err;
}

int meridian_vip_addr4_put(const struct meridian_maps *m, __u32 addr,
			   const struct meridian_vip_addr *va)
{
	struct vat t = vat4(m);

	return vat_edit(&t, &addr, va);
}

int meridian_vip_addr6_put(const struct meridian_maps *m,
			   const struct meridian_vip_addr6_key *key,
			   const struct meridian_vip_addr *va)
{
	struct vat t = vat6(m);

	return vat_edit(&t, key->addr, va);
}

int meridian_vip_addr4_delete(const struct meridian_maps *m, __u32 addr)
{
	struct vat t = vat4(m);

	return vat_edit(&t, &addr, NULL);
}

int meridian_vip_addr6_delete(const struct meridian_maps *m,
			      const struct meridian_vip_addr6_key *key)
{
	struct vat t = vat6(m);

	return vat_edit(&t, key->addr, NULL);
}

static int vip_addr_get(const struct meridian_maps *m,
			const struct meridian_vip_key *key,
			struct meridian_vip_addr *va)
{
	struct meridian_vip_addr6_key k6;
	int err;

	if (key->family == MERIDIAN_AF_INET) {
		err = meridian_vip_addr4_get(m, key->addr[0], va);
	} else {
		memcpy(k6.addr, key->addr, sizeof(k6.addr));
		err = meridian_vip_addr6_get(m, &k6, va);
	}
	if (err == -ENOENT) {
		memset(va, 0, sizeof(*va));
		return 0;
	}
	return err;
}

int meridian_vip_addr_merge(const struct meridian_maps *m,
			    const struct meridian_vip_key *key,
			    const struct meridian_vip *vip)
{
	struct meridian_vip_addr6_key k6;
	struct meridian_vip_addr va;
	char desc[80];
	int err;

	if (key->family != MERIDIAN_AF_INET &&
	    key->family != MERIDIAN_AF_INET6) {
		log_err("%s: no such family",
			vip_desc(key, desc, sizeof(desc)));
		return -EINVAL;
	}
	err = vip_addr_get(m, key, &va);
	if (err || !vip_addr_fold(&va, key, vip))
		return err;
	if (key->family == MERIDIAN_AF_INET)
		return meridian_vip_addr4_put(m, key->addr[0], &va);
	memcpy(k6.addr, key->addr, sizeof(k6.addr));
	return meridian_vip_addr6_put(m, &k6, &va);
}

/*
 * Per-CPU values arrive as ncpus copies, each rounded up to 8 bytes. All
 * counter structs are made of __u64 only, so summing is field-wise on u64.
 */
static int read_percpu_sum(const struct meridian_maps *m, int fd,
			   const char *map, __u32 key, void *out, size_t size)
{
	size_t words = size / sizeof(__u64);
	__u64 *values, *sum = out;
	size_t cpu, i;
	int err;

	values = calloc((size_t)m->ncpus, words * sizeof(__u64));
	if (!values) {
		log_err("%s: out of memory for %d CPUs", map, m->ncpus);
		return -ENOMEM;
	}
	err = bpf_map_lookup_elem(fd, &key, values);
	if (err) {
		log_err("%s: lookup of key %u failed: %s", map, key,
			strerror(-err));
		goto out;
	}
	memset(out, 0, size);
	for (cpu = 0; cpu < (size_t)m->ncpus; cpu++)
		for (i = 0; i < words; i++)
			sum[i] += values[cpu * words + i];
out:
	free(values);
	return err;
}

_Static_assert(sizeof(struct meridian_counters) % sizeof(__u64) == 0,
	       "counters are u64 only");
_Static_assert(sizeof(struct meridian_region_stats) % sizeof(__u64) == 0,
	       "region stats are u64 only");
_Static_assert(sizeof(struct meridian_traffic_stats) % sizeof(__u64) == 0,
	       "traffic stats are u64 only");

int meridian_counters_read(const struct meridian_maps *m,
			   struct meridian_counters *out)
{
	return read_percpu_sum(m, m->counters, MERIDIAN_MAP_COUNTERS, 0, out,
			       sizeof(*out));
}

int meridian_region_stats_read(const struct meridian_maps *m, __u32 region,
			       struct meridian_region_stats *out)
{
	return read_percpu_sum(m, m->region_stats, MERIDIAN_MAP_REGION_STATS,
			       region, out, sizeof(*out));
}

int meridian_vip_stats_read(const struct meridian_maps *m, __u32 vip_id,
			    struct meridian_traffic_stats *out)
{
	return read_percpu_sum(m, m->vip_stats, MERIDIAN_MAP_VIP_STATS, vip_id,
			       out, sizeof(*out));
}

int meridian_backend_stats_read(const struct meridian_maps *m,
				__u32 backend_id,
				struct meridian_traffic_stats *out)
{
	return read_percpu_sum(m, m->backend_stats, MERIDIAN_MAP_BACKEND_STATS,
			       backend_id, out, sizeof(*out));
}

/* A way holding key: valid, its hash, its key. */
static bool flow_way_holds(const struct meridian_flow_set *set, int w,
			   const struct meridian_flow_key *key, __u32 hash)
{
	__u64 want = MERIDIAN_FLOW_TAG_VALID | hash;
	__u64 state = 0xffffffffull | MERIDIAN_FLOW_TAG_VALID |
		      MERIDIAN_FLOW_TAG_BUSY;

	return (set->tag[w] & state) == want &&
	       !memcmp(&set->way[w].key, key, sizeof(*key));
}

/* The set of key's flow hash. */
static int flow_set_read(const struct meridian_maps *m,
			 const struct meridian_flow_key *key,
			 struct meridian_flow_set *set, __u32 *hash, __u32 *idx)
{
	int err;

	*hash = hash_flow(key, hash_words(key));
	*idx = flow_set_index(*hash);
	err = bpf_map_lookup_elem(m->flows, idx, set);
	if (err)
		log_err("flow: lookup of set %u in %s failed: %s", *idx,
			MERIDIAN_MAP_FLOWS, strerror(-err));
	return err;
}

#define FLOW_READ_TRIES 8

/*
 * The copy is not atomic: a way counts only if a second read of the set
 * shows the same tag (no write in between), as the data plane checks.
 */
int meridian_flow_lookup(const struct meridian_maps *m,
			 const struct meridian_flow_key *key,
			 struct meridian_flow *flow)
{
	struct meridian_flow_set set, again;
	int w, err, tries;
	__u32 hash, idx;

	for (tries = 0; tries < FLOW_READ_TRIES; tries++) {
		err = flow_set_read(m, key, &set, &hash, &idx) ?:
		      flow_set_read(m, key, &again, &hash, &idx);
		if (err)
			return err;
		for (w = 0; w < MERIDIAN_FLOW_WAYS; w++)
			if (flow_way_holds(&set, w, key, hash))
				break;
		if (w == MERIDIAN_FLOW_WAYS)
			return -ENOENT;
		if (again.tag[w] != set.tag[w])
			continue;
		flow->backend = set.way[w].backend;
		flow->hash = hash;
		return 0;
	}
	return -EAGAIN;
}

/* Empty, its generation moved on so no reader mistakes it for before. */
static void flow_way_clear(struct meridian_flow_set *set, int w)
{
	set->tag[w] = ((set->tag[w] >> MERIDIAN_FLOW_TAG_GEN_SHIFT) + 1)
		      << MERIDIAN_FLOW_TAG_GEN_SHIFT;
	set->stamp[w] = 0;
	memset(&set->way[w], 0, sizeof(set->way[w]));
}

int meridian_flow_delete(const struct meridian_maps *m,
			 const struct meridian_flow_key *key)
{
	struct meridian_flow_set set;
	int w, found = 0, err;
	__u32 hash, idx;

	err = flow_set_read(m, key, &set, &hash, &idx);
	if (err)
		return err;
	for (w = 0; w < MERIDIAN_FLOW_WAYS; w++) {
		if (!flow_way_holds(&set, w, key, hash))
			continue;
		flow_way_clear(&set, w);
		found = 1;
	}
	if (!found)
		return -ENOENT;
	/*
	 * A way a CPU was writing when we read the set: written back busy it
	 * would stay busy for good (nothing but its writer clears that).
	 */
	for (w = 0; w < MERIDIAN_FLOW_WAYS; w++)
		if (set.tag[w] & MERIDIAN_FLOW_TAG_BUSY)
			flow_way_clear(&set, w);
	err = bpf_map_update_elem(m->flows, &idx, &set, BPF_ANY);
	if (err)
		log_err("flow: update of set %u in %s failed: %s", idx,
			MERIDIAN_MAP_FLOWS, strerror(-err));
	return err;
}

int meridian_flows_clear(const struct meridian_maps *m)
{
	struct meridian_flow_set zero;
	__u32 idx;
	int err;

	memset(&zero, 0, sizeof(zero));
	for (idx = 0; idx < MERIDIAN_FLOW_SETS; idx++) {
		err = bpf_map_update_elem(m->flows, &idx, &zero, BPF_ANY);
		if (err) {
			log_err("flow: clearing set %u of %s failed: %s", idx,
				MERIDIAN_MAP_FLOWS, strerror(-err));
			return err;
		}
	}
	return 0;
}

int meridian_flows_count(const struct meridian_maps *m, __u64 *count)
{
	struct meridian_flow_set set;
	__u32 idx;
	int w, err;

	*count = 0;
	for (idx = 0; idx < MERIDIAN_FLOW_SETS; idx++) {
		err = bpf_map_lookup_elem(m->flows, &idx, &set);
		if (err) {
			log_err("flow: lookup of set %u in %s failed: %s", idx,
				MERIDIAN_MAP_FLOWS, strerror(-err));
			return err;
		}
		for (w = 0; w < MERIDIAN_FLOW_WAYS; w++)
			*count += !!(set.tag[w] & MERIDIAN_FLOW_TAG_VALID);
	}
	return 0;
}

static const char *const action_names[MERIDIAN_ACT_MAX] = {
	[MERIDIAN_ACT_PASS_NONVIP] = "pass_nonvip",
	[MERIDIAN_ACT_TX] = "tx",
	[MERIDIAN_ACT_REDIRECT] = "redirect",
	[MERIDIAN_ACT_FALLBACK] = "fallback",
	[MERIDIAN_ACT_PASS_NOREGION] = "pass_noregion",
	[MERIDIAN_ACT_ICMP_REPLY] = "icmp_reply",
	[MERIDIAN_ACT_DROP] = "drop",
};

static const char *const drop_names[MERIDIAN_DROP_MAX] = {
	[MERIDIAN_DROP_MALFORMED] = "malformed",
	[MERIDIAN_DROP_NO_REGION] = "no_region",
	[MERIDIAN_DROP_RESIDENCY] = "residency",
	[MERIDIAN_DROP_NO_TABLE] = "no_table",
	[MERIDIAN_DROP_NO_BACKEND] = "no_backend",
	[MERIDIAN_DROP_FRAGMENT] = "fragment",
	[MERIDIAN_DROP_TOO_BIG] = "too_big",
	[MERIDIAN_DROP_ENCAP] = "encap",
	[MERIDIAN_DROP_FIB] = "fib",
};

const char *meridian_action_name(unsigned int action)
{
	return action < MERIDIAN_ACT_MAX ? action_names[action] : NULL;
}

const char *meridian_drop_name(unsigned int drop)
{
	return drop < MERIDIAN_DROP_MAX ? drop_names[drop] : NULL;
}

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	log_vmsg(level == LIBBPF_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, fmt,
		 ap);
	return 0;
}

void meridian_libbpf_log_setup(void)
{
	libbpf_set_print(libbpf_to_log);
}
