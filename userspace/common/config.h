/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * meridiand's configuration: a YAML file (schema in
 * deploy/README-config.md) loaded into the validated model of model.h.
 *
 * A load either succeeds with a complete, consistent model (every default
 * applied, every reference resolved, every limit of the data plane
 * respected) or fails with the first error found and leaves *out zeroed,
 * with nothing allocated. Loading never touches the system beyond reading
 * the one file, so `meridiand --check` and SIGHUP can call it freely.
 *
 * Normalisations the model's readers can rely on:
 *  - probe specs are fully resolved (built-in defaults < top-level probe <
 *    region probe < backend probe); timeout_ms is never 0 and at most
 *    interval_ms; http_path is "/" unless configured; http_host is empty
 *    unless configured (the prober then sends the address, and the port if
 *    not 80); http fields are cleared when the kind is not PROBE_HTTP;
 *    a probe of kind TCP or HTTP always has a port (probe.port, else the
 *    backend's port is non-zero).
 *  - ICMP echo is a property of an address: VIPs sharing an address must
 *    agree on it, and only the first of them (lowest index) has echo set,
 *    so the policy emits exactly one echo key per address.
 *  - a VIP without `weights` gets 100 for every region that has backends.
 *  - a backend without `name` is named after its address.
 */
#ifndef MERIDIAN_CONFIG_H
#define MERIDIAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* Largest configuration file config_load_file() reads. */
#define CONFIG_MAX_FILE_SIZE (64u << 20)

struct config_error {
	char file[256];
	int line; /* 1-based; 0 when the error has no position (I/O) */
	int column; /* 1-based; 0 when unknown */
	char field[128]; /* e.g. "vips[web].ports[0].port"; may be empty */
	char msg[256];
};

/*
 * Load and validate path into *out (overwritten, not freed first).
 * Returns 0; -EINVAL with *err filled for an invalid configuration; or a
 * negative errno from opening or reading the file (-ENOENT, -EACCES,
 * -EFBIG, ...) with err->msg saying what failed. model.path is set to path.
 */
int config_load_file(const char *path, struct model *out,
		     struct config_error *err);

/* The same from a NUL-terminated text; name stands for the file in errors. */
int config_load_string(const char *text, const char *name, struct model *out,
		       struct config_error *err);

/*
 * "file:line:col: field: msg", leaving out what is unknown ("file: msg"
 * for an I/O error). Always NUL-terminates when len > 0.
 */
void config_error_format(const struct config_error *err, char *buf, size_t len);

/* Small pure helpers on model types, defined in model.c. */

/* Textual IPv4 or IPv6 address; 0 or -EINVAL. */
int model_addr_parse(const char *text, struct model_addr *addr);

/*
 * "ADDR/LEN" (or a bare address, taken as a host prefix); 0 or -EINVAL.
 * Host bits are kept as written: see model_prefix_canonical().
 */
int model_prefix_parse(const char *text, struct model_prefix *prefix);

/* True when every bit past len is zero. */
bool model_prefix_is_canonical(const struct model_prefix *prefix);

/* Clears the host bits. */
void model_prefix_canonical(struct model_prefix *prefix);

/* prefix contains addr (families must match). */
bool model_prefix_contains(const struct model_prefix *prefix,
			   const struct model_addr *addr);

/* Address width in bits: 32, 128, or 0 for an unset family. */
unsigned int model_addr_bits(const struct model_addr *addr);

/* Formats into buf ("?" for an unset family); needs 46 / 50 bytes. */
#define MODEL_ADDR_STRLEN 46
#define MODEL_PREFIX_STRLEN 50
void model_addr_format(const struct model_addr *addr, char *buf, size_t len);
void model_prefix_format(const struct model_prefix *prefix, char *buf,
			 size_t len);

/* Index of the region called name, or -ENOENT. */
int model_region_index(const struct model *m, const char *name);

#endif /* MERIDIAN_CONFIG_H */
