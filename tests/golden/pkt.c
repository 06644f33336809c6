// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet builder and checkers. Pure: no I/O besides error messages, so
 * the same code serves golden tests, benchmarks and fuzzing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

#include "pkt.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define MAX_NEST 3 /* tunnel-in-tunnel depth the checker follows */
#define MAX_EXT_WALK 16

static int build_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int build_fail(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("pkt: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err;
}

static int bad(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void pkt_reset(struct pkt *p)
{
	p->len = 0;
}

uint8_t *pkt_push(struct pkt *p, size_t n)
{
	if (n > PKT_MAX - p->len) {
		build_fail(-ENOSPC, "push %zu bytes onto %zu: over %d", n,
			   p->len, PKT_MAX);
		return NULL;
	}
	memmove(p->data + n, p->data, p->len);
	memset(p->data, 0, n);
	p->len += n;
	return p->data;
}

uint8_t *pkt_put(struct pkt *p, size_t n)
{
	uint8_t *at;

	if (n > PKT_MAX - p->len) {
		build_fail(-ENOSPC, "put %zu bytes after %zu: over %d", n,
			   p->len, PKT_MAX);
		return NULL;
	}
	at = p->data + p->len;
	memset(at, 0, n);
	p->len += n;
	return at;
}

int pkt_append(struct pkt *p, const void *data, size_t n)
{
	uint8_t *at = pkt_put(p, n);

	if (!at)
		return -ENOSPC;
	if (n)
		memcpy(at, data, n);
	return 0;
}

int pkt_addr(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 6;
	return -EINVAL;
}

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(b + i);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	/* Fold early so long inputs cannot overflow 32 bits. */
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t pkt_pseudo_sum(int family, const void *src, const void *dst,
			uint8_t proto, uint32_t l4_len)
{
	size_t alen = family == 4 ? 4 : 16;
	uint32_t sum = 0;

	sum = pkt_csum_add(sum, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	sum += proto;
	sum += l4_len >> 16;
	sum += l4_len & 0xffff;
	return sum;
}

struct ip_addrs {
	int family;
	uint8_t src[16];
	uint8_t dst[16];
};

static int ip_addrs_parse(const struct pkt_ip *ip, struct ip_addrs *a)
{
	int fs = pkt_addr(ip->src, a->src);
	int fd = pkt_addr(ip->dst, a->dst);

	if (fs < 0 || fd < 0)
		return build_fail(-EINVAL, "bad address src=%s dst=%s",
				  ip->src ? ip->src : "(null)",
				  ip->dst ? ip->dst : "(null)");
	if (fs != fd)
		return build_fail(-EINVAL, "mixed families src=%s dst=%s",
				  ip->src, ip->dst);
	a->family = fs;
	return 0;
}

/* Sum for the L4 checksum; ICMPv4 alone has no pseudo-header. */
static uint32_t l4_sum(const struct ip_addrs *a, uint8_t proto,
		       const uint8_t *l4, size_t len)
{
	uint32_t sum = 0;

	if (proto != IPPROTO_ICMP)
		sum = pkt_pseudo_sum(a->family, a->src, a->dst, proto, len);
	return pkt_csum_add(sum, l4, len);
}

static size_t l4_hdr_len(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return TCP_HLEN;
	case IPPROTO_UDP:
		return UDP_HLEN;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return ICMP_HLEN;
	}
	return 0;
}

static size_t l4_csum_off(int proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

static void fill_tcp(uint8_t *h, const struct pkt_l4 *l4)
{
	put16(h, l4->sport);
	put16(h + 2, l4->dport);
	put32(h + 4, l4->seq);
	put32(h + 8, l4->ack);
	h[12] = (TCP_HLEN / 4) << 4;
	h[13] = l4->tcp_flags ? l4->tcp_flags : PKT_TCP_ACK;
	put16(h + 14, l4->window ? l4->window : 65535);
}

static void fill_udp(uint8_t *h, const struct pkt_l4 *l4, size_t len)
{
	put16(h, l4->sport);
	put16(h + 2, l4->dport);
	put16(h + 4, (uint16_t)len);
}

static bool icmp_is_echo(int proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

static void fill_icmp(uint8_t *h, const struct pkt_l4 *l4)
{
	h[0] = l4->type;
	h[1] = l4->code;
	if (icmp_is_echo(l4->proto, l4->type)) {
		put16(h + 4, l4->echo_id);
		put16(h + 6, l4->echo_seq);
	} else if (l4->proto == IPPROTO_ICMP && l4->type == 3 &&
		   l4->code == 4) {
		put16(h + 6, (uint16_t)l4->mtu);
	} else if (l4->proto == IPPROTO_ICMPV6 && l4->type == 2) {
		put32(h + 4, l4->mtu);
	}
}

static int l4_check_spec(const struct ip_addrs *a, const struct pkt_l4 *l4)
{
	if (l4->raw)
		return 0;
	if (l4->proto == IPPROTO_ICMP && a->family != 4)
		return build_fail(-EINVAL, "ICMP over IPv6: use ICMPv6 or raw");
	if (l4->proto == IPPROTO_ICMPV6 && a->family != 6)
		return build_fail(-EINVAL, "ICMPv6 over IPv4: use ICMP or raw");
	if (l4->udp_no_csum && (l4->proto != IPPROTO_UDP || a->family != 4))
		return build_fail(-EINVAL, "udp_no_csum is for UDP over IPv4");
	return 0;
}

/* p holds the payload; put the L4 header in front of it. */
static int push_l4(struct pkt *p, const struct ip_addrs *a,
		   const struct pkt_l4 *l4)
{
	size_t hlen = l4_hdr_len(l4->proto);
	uint16_t csum;
	uint8_t *h;

	if (l4->raw || !hlen)
		return 0;
	h = pkt_push(p, hlen);
	if (!h)
		return -ENOSPC;
	if (l4->proto == IPPROTO_TCP)
		fill_tcp(h, l4);
	else if (l4->proto == IPPROTO_UDP)
		fill_udp(h, l4, p->len);
	else
		fill_icmp(h, l4);
	if (l4->udp_no_csum)
		return 0;
	csum = pkt_csum_fold(l4_sum(a, (uint8_t)l4->proto, h, p->len));
	if (l4->proto == IPPROTO_UDP && csum == 0)
		csum = 0xffff; /* 0 means "no checksum" for UDP */
	if (l4->bad_csum)
		csum = csum == 0xfffe ? 1 : csum + 1;
	put16(h + l4_csum_off(l4->proto), csum);
	return 0;
}

static size_t ext6_len(const struct pkt_ext6 *e)
{
	return e->type == IPPROTO_FRAGMENT ? 8 : ((size_t)e->len8 + 1) * 8;
}

static void fill_ext6(uint8_t *h, const struct pkt_ext6 *e, uint8_t next)
{
	size_t len = ext6_len(e);

	h[0] = next;
	switch (e->type) {
	case IPPROTO_FRAGMENT:
		put16(h + 2, e->frag);
		put32(h + 4, e->ident);
		return;
	case IPPROTO_AH:
		h[1] = (uint8_t)(len / 4 - 2);
		return;
	case IPPROTO_ROUTING:
		h[1] = e->len8;
		h[2] = e->rt_type;
		h[3] = e->segleft;
		return;
	case IPPROTO_HOPOPTS:
	case IPPROTO_DSTOPTS:
		h[1] = e->len8;
		h[2] = 1; /* PadN over the rest keeps the options valid */
		h[3] = (uint8_t)(len - 4);
		return;
	default:
		h[1] = e->len8;
	}
}

static int push_ext6(struct pkt *p, const struct pkt_ip *ip, uint8_t *next)
{
	int i;

	if (ip->n_ext < 0 || ip->n_ext > PKT_MAX_EXT6)
		return build_fail(-EINVAL, "n_ext %d out of 0..%d", ip->n_ext,
				  PKT_MAX_EXT6);
	for (i = ip->n_ext - 1; i >= 0; i--) {
		const struct pkt_ext6 *e = &ip->ext[i];
		uint8_t *h = pkt_push(p, ext6_len(e));

		if (!h)
			return -ENOSPC;
		fill_ext6(h, e, *next);
		*next = e->type;
	}
	return 0;
}

static int push_ipv4(struct pkt *p, const struct pkt_ip *ip,
		     const struct ip_addrs *a, uint8_t next)
{
	size_t olen = (ip->opts_len + 3) & ~(size_t)3;
	size_t hlen = IP4_HLEN + olen;
	uint8_t *h;

	if (ip->n_ext)
		return build_fail(-EINVAL, "IPv6 extension headers on IPv4");
	if (olen > PKT_MAX_IP4_OPTS)
		return build_fail(-EINVAL, "IPv4 options %zu > %d bytes",
				  ip->opts_len, PKT_MAX_IP4_OPTS);
	if (p->len + hlen > 0xffff)
		return build_fail(-EMSGSIZE, "IPv4 packet over 65535 bytes");
	h = pkt_push(p, hlen);
	if (!h)
		return -ENOSPC;
	h[0] = 0x40 | (uint8_t)(hlen / 4);
	h[1] = ip->tos;
	put16(h + 2, (uint16_t)p->len);
	put16(h + 4, ip->id);
	put16(h + 6, ip->frag);
	h[8] = ip->ttl ? ip->ttl : 64;
	h[9] = next;
	memcpy(h + 12, a->src, 4);
	memcpy(h + 16, a->dst, 4);
	if (ip->opts_len)
		memcpy(h + IP4_HLEN, ip->opts, ip->opts_len);
	pkt_ipv4_fix_csum(h);
	return 0;
}

static int push_ipv6(struct pkt *p, const struct pkt_ip *ip,
		     const struct ip_addrs *a, uint8_t next)
{
	uint32_t vtcfl;
	uint8_t *h;

	if (ip->opts_len)
		return build_fail(-EINVAL, "IPv4 options on IPv6");
	if (p->len > 0xffff)
		return build_fail(-EMSGSIZE, "IPv6 payload over 65535 bytes");
	h = pkt_push(p, IP6_HLEN);
	if (!h)
		return -ENOSPC;
	vtcfl = 6u << 28 | (uint32_t)ip->tos << 20 | (ip->flow_label & 0xfffff);
	put32(h, vtcfl);
	put16(h + 4, (uint16_t)(p->len - IP6_HLEN));
	h[6] = next;
	h[7] = ip->ttl ? ip->ttl : 64;
	memcpy(h + 8, a->src, 16);
	memcpy(h + 24, a->dst, 16);
	return 0;
}

/* Extension headers and the IP header in front of content of type next. */
static int push_ip(struct pkt *p, const struct pkt_ip *ip,
		   const struct ip_addrs *a, uint8_t next)
{
	int err;

	if (a->family == 6) {
		err = push_ext6(p, ip, &next);
		if (err)
			return err;
	}
	if (ip->proto)
		next = ip->proto & 0xff;
	if (a->family == 4)
		return push_ipv4(p, ip, a, next);
	return push_ipv6(p, ip, a, next);
}

int pkt_build_ip(struct pkt *p, const struct pkt_ip *ip,
		 const struct pkt_l4 *l4)
{
	struct ip_addrs a;
	int err;

	pkt_reset(p);
	err = ip_addrs_parse(ip, &a);
	if (err)
		return err;
	err = l4_check_spec(&a, l4);
	if (err)
		return err;
	if (l4->payload_len && !l4->payload)
		return build_fail(-EINVAL, "payload_len without payload");
	err = pkt_append(p, l4->payload, l4->payload_len);
	if (err)
		return err;
	err = push_l4(p, &a, l4);
	if (err)
		return err;
	return push_ip(p, ip, &a, (uint8_t)l4->proto);
}

int pkt_encap(struct pkt *p, const struct pkt_ip *outer)
{
	struct ip_addrs a;
	uint8_t next;
	int err;

	err = ip_addrs_parse(outer, &a);
	if (err)
		return err;
	if (p->len && p->data[0] >> 4 == 4)
		next = IPPROTO_IPIP;
	else if (p->len && p->data[0] >> 4 == 6)
		next = IPPROTO_IPV6;
	else if (outer->proto)
		next = outer->proto & 0xff;
	else
		return build_fail(-EINVAL, "encap: content is not IPv4/IPv6");
	return push_ip(p, outer, &a, next);
}

static uint16_t eth_type_for(const struct pkt *p, int forced)
{
	if (forced)
		return forced & 0xffff;
	if (p->len && p->data[0] >> 4 == 4)
		return ETH_P_IPV4;
	if (p->len && p->data[0] >> 4 == 6)
		return ETH_P_IPV6;
	return 0;
}

int pkt_eth(struct pkt *p, const struct pkt_eth *eth)
{
	uint16_t type = eth_type_for(p, eth->ethertype);
	uint8_t *h, *tag;
	int i;

	if (!type)
		return build_fail(-EINVAL, "eth: content not IP, no ethertype");
	if (eth->n_vlan < 0 || eth->n_vlan > PKT_MAX_VLAN)
		return build_fail(-EINVAL, "n_vlan %d out of 0..%d",
				  eth->n_vlan, PKT_MAX_VLAN);
	h = pkt_push(p, PKT_ETH_HLEN + PKT_VLAN_HLEN * eth->n_vlan);
	if (!h)
		return -ENOSPC;
	memcpy(h, eth->dst, 6);
	memcpy(h + 6, eth->src, 6);
	tag = h + 12;
	for (i = 0; i < eth->n_vlan; i++, tag += PKT_VLAN_HLEN) {
		uint16_t tpid = eth->vlan_tpid[i];

		put16(tag, tpid ? tpid : ETH_P_8021Q);
		put16(tag + 2, eth->vlan_tci[i]);
	}
	put16(tag, type);
	return 0;
}

int pkt_build(struct pkt *p, const struct pkt_eth *eth, const struct pkt_ip *ip,
	      const struct pkt_l4 *l4)
{
	int err = pkt_build_ip(p, ip, l4);

	return err ? err : pkt_eth(p, eth);
}

void pkt_ipv4_fix_csum(void *iph)
{
	uint8_t *h = iph;
	size_t hlen = (size_t)(h[0] & 0xf) * 4;

	put16(h + 10, 0);
	put16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, hlen)));
}

bool pkt_ipv4_csum_ok(const uint8_t *iph, size_t len)
{
	size_t hlen;

	if (len < IP4_HLEN)
		return false;
	hlen = (size_t)(iph[0] & 0xf) * 4;
	if (hlen < IP4_HLEN || hlen > len)
		return false;
	return pkt_csum_fold(pkt_csum_add(0, iph, hlen)) == 0;
}

static void ip_addrs_from(const uint8_t *ip, int family, struct ip_addrs *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == 4) {
		memcpy(a->src, ip + 12, 4);
		memcpy(a->dst, ip + 16, 4);
	} else {
		memcpy(a->src, ip + 8, 16);
		memcpy(a->dst, ip + 24, 16);
	}
}

static int parse_ipv4(const uint8_t *ip, size_t len, struct pkt_info *pi,
		      char *why, size_t why_len)
{
	uint16_t frag;

	if (len < IP4_HLEN)
		return bad(why, why_len, "IPv4 header cut at %zu bytes", len);
	pi->l3_hlen = (size_t)(ip[0] & 0xf) * 4;
	if (pi->l3_hlen < IP4_HLEN)
		return bad(why, why_len, "IPv4 ihl %zu < 5", pi->l3_hlen / 4);
	if (pi->l3_hlen > len)
		return bad(why, why_len, "IPv4 options cut: ihl*4 %zu > %zu",
			   pi->l3_hlen, len);
	pi->l3_len = get16(ip + 2);
	if (pi->l3_len < pi->l3_hlen)
		return bad(why, why_len, "IPv4 tot_len %zu < ihl*4 %zu",
			   pi->l3_len, pi->l3_hlen);
	if (pi->l3_len > len)
		return bad(why, why_len, "IPv4 tot_len %zu > %zu bytes",
			   pi->l3_len, len);
	frag = get16(ip + 6);
	pi->frag = (frag & 0x3fff) != 0;
	pi->first_frag = (frag & 0x1fff) == 0;
	pi->proto = ip[9];
	pi->l4 = pi->l3_hlen;
	pi->l4_len = pi->l3_len - pi->l3_hlen;
	return 0;
}

static bool is_ext6(int nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_AH;
}

static int walk_ext6(const uint8_t *ip, struct pkt_info *pi, char *why,
		     size_t why_len)
{
	size_t off = IP6_HLEN, hlen;
	int nh = ip[6], n;

	for (n = 0; n < MAX_EXT_WALK && is_ext6(nh); n++) {
		const uint8_t *h = ip + off;

		if (off + 8 > pi->l3_len)
			return bad(why, why_len, "IPv6 ext %d cut at %zu", nh,
				   off);
		if (nh == IPPROTO_FRAGMENT) {
			hlen = 8;
			pi->frag = true;
			pi->first_frag = (get16(h + 2) >> 3) == 0;
		} else if (nh == IPPROTO_AH) {
			hlen = ((size_t)h[1] + 2) * 4;
		} else {
			hlen = ((size_t)h[1] + 1) * 8;
		}
		if (off + hlen > pi->l3_len)
			return bad(why, why_len,
				   "IPv6 ext header %d: %zu bytes over %zu", nh,
				   off + hlen, pi->l3_len);
		nh = h[0];
		off += hlen;
	}
	if (is_ext6(nh))
		return bad(why, why_len, "over %d IPv6 extension headers",
			   MAX_EXT_WALK);
	pi->proto = nh;
	pi->l4 = off;
	pi->l4_len = pi->l3_len - off;
	return 0;
}

static int parse_ipv6(const uint8_t *ip, size_t len, struct pkt_info *pi,
		      char *why, size_t why_len)
{
	if (len < IP6_HLEN)
		return bad(why, why_len, "IPv6 header cut at %zu bytes", len);
	pi->l3_hlen = IP6_HLEN;
	pi->l3_len = IP6_HLEN + (size_t)get16(ip + 4);
	if (pi->l3_len > len)
		return bad(why, why_len, "IPv6 payload_len %zu > %zu bytes",
			   pi->l3_len - IP6_HLEN, len - IP6_HLEN);
	pi->frag = false;
	pi->first_frag = true;
	return walk_ext6(ip, pi, why, why_len);
}

int pkt_parse_ip(const uint8_t *ip, size_t len, struct pkt_info *pi, char *why,
		 size_t why_len)
{
	memset(pi, 0, sizeof(*pi));
	if (!len)
		return bad(why, why_len, "no IP header");
	pi->family = ip[0] >> 4;
	if (pi->family == 4)
		return parse_ipv4(ip, len, pi, why, why_len);
	if (pi->family == 6)
		return parse_ipv6(ip, len, pi, why, why_len);
	return bad(why, why_len, "IP version %d", pi->family);
}

static void info_shift(struct pkt_info *pi, size_t by)
{
	pi->l3 += by;
	pi->l4 += by;
}

int pkt_parse_frame(const uint8_t *f, size_t len, struct pkt_info *pi,
		    char *why, size_t why_len)
{
	size_t off = 12;
	uint16_t type;
	int n_vlan = 0, err, want;

	memset(pi, 0, sizeof(*pi));
	if (len < PKT_ETH_HLEN)
		return bad(why, why_len, "Ethernet cut at %zu bytes", len);
	type = get16(f + off);
	while ((type == ETH_P_8021Q || type == ETH_P_8021AD) &&
	       n_vlan < PKT_MAX_VLAN) {
		off += PKT_VLAN_HLEN;
		if (off + 2 > len)
			return bad(why, why_len, "VLAN tag cut at %zu", len);
		type = get16(f + off);
		n_vlan++;
	}
	off += 2;
	if (type != ETH_P_IPV4 && type != ETH_P_IPV6) {
		pi->n_vlan = n_vlan;
		pi->ethertype = type;
		return 0;
	}
	want = type == ETH_P_IPV4 ? 4 : 6;
	err = pkt_parse_ip(f + off, len - off, pi, why, why_len);
	if (!err && pi->family != want)
		err = bad(why, why_len, "IPv%d under ethertype %#06x",
			  pi->family, type);
	info_shift(pi, off);
	pi->n_vlan = n_vlan;
	pi->ethertype = type;
	return err;
}

/* 0 when the L4 checksum verifies; the stored checksum is in the sum. */
static uint16_t l4_verify(const uint8_t *ip, const struct pkt_info *pi)
{
	const uint8_t *l4 = ip + pi->l4;
	struct ip_addrs a;

	ip_addrs_from(ip, pi->family, &a);
	return pkt_csum_fold(l4_sum(&a, (uint8_t)pi->proto, l4, pi->l4_len));
}

bool pkt_l4_csum_ok(const uint8_t *ip, size_t len)
{
	struct pkt_info pi;
	size_t hlen;

	if (pkt_parse_ip(ip, len, &pi, NULL, 0) || pi.frag)
		return false;
	hlen = l4_hdr_len(pi.proto);
	if (!hlen || pi.l4_len < hlen)
		return false;
	if (pi.proto == IPPROTO_UDP && pi.family == 4 &&
	    get16(ip + pi.l4 + 6) == 0)
		return true;
	return l4_verify(ip, &pi) == 0;
}

int pkt_l4_fix_csum(uint8_t *ip, size_t len)
{
	struct pkt_info pi;
	uint8_t *field;
	uint16_t csum;
	size_t hlen;
	int err;

	err = pkt_parse_ip(ip, len, &pi, NULL, 0);
	if (err)
		return err;
	hlen = l4_hdr_len(pi.proto);
	if (pi.frag || !hlen || pi.l4_len < hlen)
		return -EINVAL;
	field = ip + pi.l4 + l4_csum_off(pi.proto);
	put16(field, 0);
	csum = l4_verify(ip, &pi);
	if (pi.proto == IPPROTO_UDP && csum == 0)
		csum = 0xffff;
	put16(field, csum);
	return 0;
}

static int check_ip(const uint8_t *ip, size_t len, int depth, char *why,
		    size_t why_len);

static int check_l4(const uint8_t *ip, const struct pkt_info *pi, int depth,
		    char *why, size_t why_len)
{
	const uint8_t *l4 = ip + pi->l4;
	size_t hlen = l4_hdr_len(pi->proto);

	if (pi->frag)
		return 0; /* the checksum spans fragments: nothing to verify */
	if (pi->proto == IPPROTO_IPIP || pi->proto == IPPROTO_IPV6) {
		if (!pi->l4_len || l4[0] >> 4 != (pi->proto == 4 ? 4 : 6))
			return bad(why, why_len, "protocol %d: inner not IPv%d",
				   pi->proto, pi->proto == 4 ? 4 : 6);
		return check_ip(l4, pi->l4_len, depth + 1, why, why_len);
	}
	if (!hlen)
		return 0;
	if (pi->l4_len < hlen)
		return bad(why, why_len, "L4 %d header cut: %zu bytes",
			   pi->proto, pi->l4_len);
	if (pi->proto == IPPROTO_TCP &&
	    ((l4[12] >> 4) * 4 < TCP_HLEN || (l4[12] >> 4) * 4 > pi->l4_len))
		return bad(why, why_len, "TCP data offset %d", l4[12] >> 4);
	if (pi->proto == IPPROTO_UDP && get16(l4 + 4) != pi->l4_len)
		return bad(why, why_len, "UDP length %u, %zu bytes",
			   get16(l4 + 4), pi->l4_len);
	if (!pkt_l4_csum_ok(ip, pi->l3_len))
		return bad(why, why_len, "L4 %d checksum wrong", pi->proto);
	return 0;
}

static int check_ip(const uint8_t *ip, size_t len, int depth, char *why,
		    size_t why_len)
{
	struct pkt_info pi;
	int err;

	if (depth > MAX_NEST)
		return bad(why, why_len, "tunnels nested over %d deep",
			   MAX_NEST);
	err = pkt_parse_ip(ip, len, &pi, why, why_len);
	if (err)
		return err;
	if (pi.l3_len != len)
		return bad(why, why_len, "IP length %zu, %zu bytes", pi.l3_len,
			   len);
	if (pi.family == 4 && !pkt_ipv4_csum_ok(ip, len))
		return bad(why, why_len, "IPv4 header checksum wrong");
	return check_l4(ip, &pi, depth, why, why_len);
}

int pkt_check_ip(const uint8_t *ip, size_t len, char *why, size_t why_len)
{
	return check_ip(ip, len, 0, why, why_len);
}

int pkt_check_frame(const uint8_t *f, size_t len, char *why, size_t why_len)
{
	struct pkt_info pi;
	size_t ip_len;
	int err;

	err = pkt_parse_frame(f, len, &pi, why, why_len);
	if (err || !pi.family)
		return err;
	ip_len = len - pi.l3;
	/* Ethernet pads short frames; the IP length says where data ends. */
	if (pi.l3_len < ip_len && len <= 60 + (size_t)PKT_VLAN_HLEN * pi.n_vlan)
		ip_len = pi.l3_len;
	return check_ip(f + pi.l3, ip_len, 0, why, why_len);
}

void pkt_hexdump(FILE *out, const char *indent, const void *data, size_t len)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 16 == 0)
			fprintf(out, "%s%04zx:", indent, i);
		fprintf(out, "%s%02x", i % 8 == 0 ? "  " : " ", b[i]);
		if (i % 16 == 15 || i + 1 == len)
			fputc('\n', out);
	}
}
