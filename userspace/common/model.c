// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

void model_free(struct model *m)
{
	uint32_t i;

	if (!m)
		return;
	for (i = 0; m->classes && i < m->n_classes; i++)
		free(m->classes[i].prefixes);
	free(m->classes);
	free(m->backends);
	free(m->vips);
	memset(m, 0, sizeof(*m));
}

int model_addr_parse(const char *text, struct model_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, addr->bytes) == 1) {
		addr->family = MERIDIAN_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr->bytes) == 1) {
		addr->family = MERIDIAN_AF_INET6;
		return 0;
	}
	memset(addr, 0, sizeof(*addr));
	return -EINVAL;
}

unsigned int model_addr_bits(const struct model_addr *addr)
{
	if (addr->family == MERIDIAN_AF_INET)
		return 32;
	if (addr->family == MERIDIAN_AF_INET6)
		return 128;
	return 0;
}

/* Strict decimal 0..max, no sign, no leading zeros except "0". */
static int parse_prefix_len(const char *s, unsigned int max, unsigned int *len)
{
	unsigned int v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*len = v;
	return 0;
}

int model_prefix_parse(const char *text, struct model_prefix *prefix)
{
	char buf[MODEL_PREFIX_STRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned int len;

	memset(prefix, 0, sizeof(*prefix));
	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (model_addr_parse(buf, &prefix->addr))
		return -EINVAL;
	len = model_addr_bits(&prefix->addr);
	if (slash && parse_prefix_len(slash + 1, len, &len)) {
		memset(prefix, 0, sizeof(*prefix));
		return -EINVAL;
	}
	prefix->len = (uint8_t)len;
	return 0;
}

/* Byte i of the mask for a prefix of len bits. */
static uint8_t mask_byte(unsigned int len, unsigned int i)
{
	if (len >= (i + 1) * 8)
		return 0xff;
	if (len <= i * 8)
		return 0;
	return (uint8_t)(0xff << (8 - (len - i * 8)));
}

bool model_prefix_is_canonical(const struct model_prefix *prefix)
{
	unsigned int i, n = model_addr_bits(&prefix->addr) / 8;

	for (i = 0; i < n; i++)
		if (prefix->addr.bytes[i] & ~mask_byte(prefix->len, i))
			return false;
	return true;
}

void model_prefix_canonical(struct model_prefix *prefix)
{
	unsigned int i, n = model_addr_bits(&prefix->addr) / 8;

	for (i = 0; i < n; i++)
		prefix->addr.bytes[i] &= mask_byte(prefix->len, i);
}

bool model_prefix_contains(const struct model_prefix *prefix,
			   const struct model_addr *addr)
{
	unsigned int i, n = model_addr_bits(&prefix->addr) / 8;
	uint8_t m;

	if (prefix->addr.family != addr->family || !n)
		return false;
	for (i = 0; i < n; i++) {
		m = mask_byte(prefix->len, i);
		if ((prefix->addr.bytes[i] & m) != (addr->bytes[i] & m))
			return false;
	}
	return true;
}

void model_addr_format(const struct model_addr *addr, char *buf, size_t len)
{
	int af = addr->family == MERIDIAN_AF_INET ? AF_INET : AF_INET6;

	if (!len)
		return;
	if (!model_addr_bits(addr) ||
	    !inet_ntop(af, addr->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void model_prefix_format(const struct model_prefix *prefix, char *buf,
			 size_t len)
{
	char a[MODEL_ADDR_STRLEN];

	model_addr_format(&prefix->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, prefix->len);
}

int model_region_index(const struct model *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->n_regions; i++)
		if (!strcmp(m->regions[i].name, name))
			return (int)i;
	return -ENOENT;
}
