/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The validated configuration model of meridiand: what config.c builds
 * from YAML and what policy.c turns, together with health, into the
 * desired map contents. Plain data: no pointers into YAML, no I/O.
 *
 * Indexes are positions in the config file: regions[i], backends[i],
 * classes[i], vips[i]. Backend i is backend id i in the data plane, VIP i
 * is VIP id i, class i is class id i + 1 (class 0 is "no class matched").
 */
#ifndef MERIDIAN_MODEL_H
#define MERIDIAN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "meridian_maps.h"

#define MODEL_NAME_MAX 64
#define MODEL_PATH_MAX 256
#define MODEL_MAX_PORTS 16 /* {proto, port} entries per VIP */
#define MODEL_MAX_PREFIXES 1024 /* per class */
#define MODEL_DEFAULT_CONTROL_SOCKET "/run/meridian/ctl"
#define MODEL_DEFAULT_METRICS_LISTEN "127.0.0.1:9470"

struct model_addr {
	uint8_t family; /* MERIDIAN_AF_INET or MERIDIAN_AF_INET6; 0 unset */
	uint8_t bytes[16]; /* network order; IPv4 in the first 4 bytes */
};

struct model_prefix {
	struct model_addr addr; /* host bits zero */
	uint8_t len;
};

enum probe_kind {
	PROBE_TCP, /* connect() succeeds within the timeout */
	PROBE_HTTP, /* GET path answers with the status (and body match) */
	PROBE_NONE, /* always up: for backends someone else watches */
};

struct probe_spec {
	enum probe_kind kind;
	uint16_t port; /* probe port; 0 means the backend's port */
	uint32_t interval_ms; /* default 100, at least 10 */
	uint32_t timeout_ms; /* default = interval, at most the interval */
	uint32_t rise; /* successes to go up, default 2 */
	uint32_t fall; /* failures to go down, default 3 */
	uint32_t jitter_pct; /* +- spread of the interval, default 10 */
	char http_path[MODEL_PATH_MAX]; /* default "/" */
	char http_host[MODEL_NAME_MAX]; /* Host header; default the address */
	uint16_t http_status; /* expected status, default 200 */
	char http_body[MODEL_PATH_MAX]; /* substring the body must hold */
	/* Replication lag: a response header in seconds (issue 5). */
	char lag_header[MODEL_NAME_MAX];
};

struct model_edge {
	char interface[MODEL_NAME_MAX];
	uint32_t region; /* index of the edge's own region */
	struct model_addr tunnel_src4; /* required if any IPv4 backend */
	struct model_addr tunnel_src6; /* required if any IPv6 backend */
	struct model_prefix entropy4; /* len 0: unused */
	struct model_prefix entropy6;
	uint16_t mtu; /* default 1500 */
	uint8_t ttl; /* default 64 */
	uint32_t flood_limit; /* new LRU flows per CPU per second, 0 off */
	double overprovisioning; /* default 1.4 */
	char pin_dir[MODEL_PATH_MAX]; /* default MERIDIAN_PIN_DIR */
	char control_socket[MODEL_PATH_MAX]; /* default /run/meridian/ctl */
	char metrics_listen[MODEL_NAME_MAX]; /* default 127.0.0.1:9470 */
};

struct model_region {
	char name[MODEL_NAME_MAX];
	/* Locality tier seen from this edge: 0 is preferred, then 1, ... */
	uint32_t tier;
	double egress_cost_per_gb; /* currency units per GB sent there */
	struct probe_spec probe; /* defaults for its backends */
};

struct model_backend {
	char name[MODEL_NAME_MAX];
	struct model_addr addr;
	uint16_t port; /* service port, the default probe port */
	uint32_t region; /* index into model.regions */
	uint32_t weight; /* 1..1000, default 100 */
	struct probe_spec probe; /* region defaults, overridden per key */
};

struct model_class {
	char name[MODEL_NAME_MAX];
	struct model_prefix *prefixes;
	uint32_t n_prefixes;
	uint32_t allowed_regions; /* bit per region index; 0 means all */
	bool strict; /* never leave the allowed set, even when all are down */
	bool pin_home; /* index the region table by client prefix */
	uint8_t pin_prefixlen4; /* default 24 */
	uint8_t pin_prefixlen6; /* default 56 */
};

enum vip_hash {
	VIP_HASH_L4, /* addresses, ports and protocol */
	VIP_HASH_ADDRS, /* addresses only: fragments supported */
};

enum vip_no_region {
	VIP_NO_REGION_DROP,
	VIP_NO_REGION_PASS, /* hand to the local stack */
};

struct model_port {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port; /* host order; 0 is every port */
};

struct model_vip {
	char name[MODEL_NAME_MAX];
	struct model_addr addr;
	struct model_port ports[MODEL_MAX_PORTS];
	uint32_t n_ports;
	/* Per-region weight, 0..1000; regions not named get 0. */
	uint32_t region_weight[MERIDIAN_MAX_REGIONS];
	enum vip_hash hash;
	enum vip_no_region no_region;
	bool echo; /* answer ICMP echo at the edge */
};

struct model {
	char path[MODEL_PATH_MAX]; /* the file it came from */
	struct model_edge edge;
	struct model_region regions[MERIDIAN_MAX_REGIONS];
	uint32_t n_regions;
	struct model_backend *backends;
	uint32_t n_backends;
	struct model_class *classes;
	uint32_t n_classes;
	struct model_vip *vips;
	uint32_t n_vips;
};

void model_free(struct model *m);

#endif /* MERIDIAN_MODEL_H */
