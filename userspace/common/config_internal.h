/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internals of the configuration loader, shared by config.c (file and
 * libyaml driver), config_yaml.c (YAML tree -> model, with per-field
 * checks) and config_validate.c (pure rules: scalar formats and the checks
 * across the whole model).
 *
 * The walker records where each checked thing came from (a "mark"), so the
 * whole-model checks, which see only the model, can still name a line.
 */
#ifndef MERIDIAN_CONFIG_INTERNAL_H
#define MERIDIAN_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

#define CFG_MSG_LEN 200 /* room left in config_error.msg for context */

struct cfg_mark {
	int line; /* 1-based; 0 unknown */
	int col;
};

struct cfg_backend_marks {
	struct cfg_mark node, name, address, port;
};

struct cfg_vip_marks {
	struct cfg_mark node, name, address, echo;
	struct cfg_mark ports[MODEL_MAX_PORTS];
	struct cfg_mark weights; /* the mapping, or the VIP when defaulted */
	struct cfg_mark weight[MERIDIAN_MAX_REGIONS];
	bool weights_given;
};

struct cfg_class_marks {
	struct cfg_mark node, name, allowed, strict;
	struct cfg_mark *prefixes; /* n_prefixes */
};

struct cfg_marks {
	const char *file;
	struct cfg_mark root;
	struct cfg_mark edge, edge_region, edge_tunnel4, edge_tunnel6;
	struct cfg_mark edge_mtu, edge_entropy4, edge_entropy6;
	struct cfg_mark region[MERIDIAN_MAX_REGIONS];
	struct cfg_mark region_name[MERIDIAN_MAX_REGIONS];
	struct cfg_mark region_tier[MERIDIAN_MAX_REGIONS];
	struct cfg_backend_marks *backends; /* n_backends */
	struct cfg_vip_marks *vips; /* n_vips */
	struct cfg_class_marks *classes; /* n_classes */
};

void cfg_marks_free(struct cfg_marks *mk, uint32_t n_classes);

/*
 * Fills *err (first error only: later calls leave it alone) and returns
 * -EINVAL. field may be NULL.
 */
int cfg_fail(struct config_error *err, const char *file, struct cfg_mark at,
	     const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* snprintf that may truncate on purpose (field paths, messages). */
void cfg_format(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "section[name]" when name is set, else "section[index]". */
void cfg_item_label(char *buf, size_t len, const char *section,
		    const char *name, uint32_t index);

/*
 * Scalar rules. Each returns 0, or -EINVAL with a message in msg (at most
 * CFG_MSG_LEN bytes) that does not repeat the field name.
 */
int cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v,
		   char *msg);
int cfg_parse_real(const char *s, double min, double max, double *v, char *msg);
int cfg_parse_bool(const char *s, bool *v, char *msg);
/* "100ms", "1s", "1.5s": whole milliseconds, in min_ms..max_ms. */
int cfg_parse_duration(const char *s, uint32_t min_ms, uint32_t max_ms,
		       uint32_t *ms, char *msg);
/* "10%" or "10" (an integer string), in 0..max. */
int cfg_parse_percent(const char *s, uint32_t max, uint32_t *v, char *msg);

/* Which part of "tcp/80" was wrong, so the error can name .proto/.port. */
enum cfg_port_part { CFG_PORT_WHOLE, CFG_PORT_PROTO, CFG_PORT_PORT };
int cfg_parse_proto(const char *s, uint8_t *proto, char *msg);
/* "*" (every port, 0) or 1..65535. */
int cfg_parse_vip_port(const char *s, uint16_t *port, char *msg);
/* "tcp/80", or "udp/" plus "*" for every port; *part says what failed. */
int cfg_parse_port_spec(const char *s, struct model_port *p,
			enum cfg_port_part *part, char *msg);

int cfg_check_name(const char *s, char *msg);
int cfg_check_ifname(const char *s, char *msg);
int cfg_check_abs_path(const char *s, size_t max, char *msg);
int cfg_check_listen(const char *s, char *msg);
int cfg_check_http_path(const char *s, char *msg);
int cfg_check_http_host(const char *s, char *msg);
int cfg_check_http_token(const char *s, char *msg);
/* An address a packet can be sent to or from: not 0, loopback, multicast. */
int cfg_check_unicast(const struct model_addr *a, char *msg);
/* A prefix: parses, host bits zero, length within min_len..family width. */
int cfg_parse_prefix(const char *s, unsigned int min_len,
		     struct model_prefix *p, char *msg);

/* The probe rules that hold for a resolved spec. */
int cfg_check_probe_timing(const struct probe_spec *p, char *msg);

/* Region names unique: checked before anything refers to a region. */
int cfg_check_region_names(const struct model *m, const struct cfg_marks *mk,
			   struct config_error *err);

/*
 * Checks across the model (duplicates, overlaps, families, references that
 * need the whole picture, data-plane limits) and the last normalisations
 * (echo per address). Pure: no I/O. 0 or -EINVAL with *err filled.
 */
int cfg_validate_model(struct model *m, const struct cfg_marks *mk,
		       struct config_error *err);

/* YAML document -> model with per-field checks (config_yaml.c). */
struct yaml_document_s;
int cfg_walk_document(struct yaml_document_s *doc, const char *file,
		      struct model *out, struct cfg_marks *mk,
		      struct config_error *err);

#endif /* MERIDIAN_CONFIG_INTERNAL_H */
