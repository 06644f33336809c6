/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet builder and checkers for the golden-packet tests.
 *
 * Packets are composed from the inside out, so an encapsulated packet is
 * built exactly the way the data plane builds it:
 *
 *	struct pkt p;
 *	pkt_build_ip(&p, &inner_ip, &l4);	IP header(s) + TCP/UDP/ICMP
 *	pkt_encap(&p, &outer_ip);		outer IPv4/IPv6, proto 4 or 41
 *	pkt_eth(&p, &eth);			Ethernet + VLAN tags
 *
 * Every step fills in lengths, protocol fields and checksums. A struct pkt
 * is plain data: copy it with assignment to keep an intermediate layer, for
 * example the inner packet that a decapsulator must hand back.
 *
 * Addresses are written as literals ("198.18.0.1", "2001:db8::1"); the
 * family of an IP header follows from its addresses. Numbers in the spec
 * structs (ports, ids, flags) are in host order; the builder converts.
 *
 * Builders return 0 or a negative errno and print the reason to stderr.
 * Builders never leave a half-written packet behind on error: the content
 * of p is then unspecified and should not be used.
 */
#ifndef MERIDIAN_TEST_PKT_H
#define MERIDIAN_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Largest packet the builder holds. XDP test-run takes at most about 3500
 * bytes of linear data (a page less headroom and skb_shared_info), so this
 * covers every input plus encapsulation headroom.
 */
#define PKT_MAX 4096

struct pkt {
	size_t len;
	uint8_t data[PKT_MAX];
};

/* struct pkt_ip.frag for IPv4: flags and offset as in the header. */
#define PKT_DF 0x4000
#define PKT_MF 0x2000
#define PKT_FRAG_OFF(units8) ((units8) & 0x1fff)

/* struct pkt_ext6.frag for the IPv6 fragment header: offset << 3 | M. */
#define PKT_FRAG6(units8, more) ((uint16_t)(((units8) << 3) | ((more) ? 1 : 0)))

/*
 * Force a protocol / next-header value in struct pkt_ip.proto or
 * struct pkt_eth.ethertype, where 0 means "derive from the content".
 * PKT_PROTO(0) forces 0 (hop-by-hop).
 */
#define PKT_PROTO(n) (0x10000 | (n))

/*
 * One IPv6 extension header. type is IPPROTO_HOPOPTS, IPPROTO_ROUTING,
 * IPPROTO_DSTOPTS, IPPROTO_FRAGMENT or IPPROTO_AH; any other value is built
 * in the generic "next header, length in 8-octet units" format, which lets
 * a test craft unknown headers.
 *
 * Size: FRAGMENT is always 8 bytes; every other type is (len8 + 1) * 8
 * bytes. Options headers are filled with one PadN option, so they are
 * valid; a routing header carries rt_type and segleft and zeros after.
 */
struct pkt_ext6 {
	uint8_t type;
	uint8_t len8;
	uint8_t rt_type; /* ROUTING */
	uint8_t segleft; /* ROUTING */
	uint16_t frag; /* FRAGMENT: PKT_FRAG6(offset, more) */
	uint32_t ident; /* FRAGMENT */
};

#define PKT_MAX_EXT6 8
#define PKT_MAX_IP4_OPTS 40

/*
 * One IP header. Unset fields take sane defaults: TTL/hop limit 64, no DF,
 * id 0, TOS 0, flow label 0.
 *
 * For IPv6, the L4 checksum pseudo-header uses dst as written, also when a
 * routing header with segments left follows.
 */
struct pkt_ip {
	const char *src; /* literal; the family follows from it */
	const char *dst; /* same family as src */
	uint8_t tos; /* IPv4 TOS byte / IPv6 traffic class */
	uint8_t ttl; /* 0 means 64 */
	uint16_t id; /* IPv4 identification */
	uint16_t frag; /* IPv4: PKT_DF | PKT_MF | PKT_FRAG_OFF(n) */
	uint32_t flow_label; /* IPv6, 20 bits */
	/* IPv4 options, at most 40 bytes, padded with EOL to 4-byte units. */
	const uint8_t *opts;
	size_t opts_len;
	/* IPv6 extension headers, outermost first. */
	struct pkt_ext6 ext[PKT_MAX_EXT6];
	int n_ext;
	int proto; /* 0: derive; PKT_PROTO(n) to force the value n */
};

/*
 * Layer 4. proto IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP (IPv4 only) or
 * IPPROTO_ICMPV6 (IPv6 only) builds that header with a correct checksum
 * over the pseudo-header, header and payload. Any other proto, or raw set,
 * places only the payload after the IP header (non-first fragments, or
 * protocols the builder does not know); the IP protocol field says proto.
 *
 * ICMP "rest of header" word by type:
 *   echo request/reply (ICMP 8/0, ICMPv6 128/129): echo_id, echo_seq;
 *   ICMP dest-unreachable code 4 (frag needed): next-hop MTU = mtu;
 *   ICMPv6 packet-too-big (type 2): 32-bit mtu;
 *   anything else: zero.
 * For errors, payload is the embedded original packet (from its IP header),
 * already cut to the length the sender would quote.
 */
struct pkt_l4 {
	int proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t tcp_flags; /* PKT_TCP_* bits; 0 means PKT_TCP_ACK */
	uint32_t seq;
	uint32_t ack;
	uint16_t window; /* 0 means 65535 */
	uint8_t type; /* ICMP / ICMPv6 */
	uint8_t code;
	uint16_t echo_id;
	uint16_t echo_seq;
	uint32_t mtu;
	const void *payload;
	size_t payload_len;
	bool raw; /* payload only, no L4 header */
	bool udp_no_csum; /* UDP over IPv4 with checksum 0 */
	bool bad_csum; /* store the checksum off by one */
};

/* TCP flags for struct pkt_l4.tcp_flags. */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/*
 * Ethernet with up to two VLAN tags, outermost first. vlan_tpid 0 means
 * 0x8100 (802.1Q); use 0x88a8 for an 802.1ad outer tag. ethertype 0 derives
 * 0x0800/0x86dd from the IP version of the content; PKT_PROTO(n) forces n.
 */
#define PKT_MAX_VLAN 2

struct pkt_eth {
	uint8_t dst[6];
	uint8_t src[6];
	int n_vlan;
	uint16_t vlan_tpid[PKT_MAX_VLAN];
	uint16_t vlan_tci[PKT_MAX_VLAN]; /* PCP, DEI and VLAN id */
	int ethertype;
};

#define PKT_ETH_HLEN 14
#define PKT_VLAN_HLEN 4

/* Raw access: grow at either end. Return NULL (and log) when full. */
uint8_t *pkt_push(struct pkt *p, size_t n); /* n zero bytes in front */
uint8_t *pkt_put(struct pkt *p, size_t n); /* n zero bytes at the end */
int pkt_append(struct pkt *p, const void *data, size_t n);
void pkt_reset(struct pkt *p);

/* Replace the content of p with an IP packet (IP header, ext headers, L4). */
int pkt_build_ip(struct pkt *p, const struct pkt_ip *ip,
		 const struct pkt_l4 *l4);

/*
 * Prepend an outer IP header to the IP packet in p. The protocol is 4 for
 * an IPv4 content and 41 for IPv6 unless outer->proto forces one. Outer
 * IPv6 extension headers in outer->ext are honoured too.
 */
int pkt_encap(struct pkt *p, const struct pkt_ip *outer);

/* Prepend Ethernet and VLAN tags to p. */
int pkt_eth(struct pkt *p, const struct pkt_eth *eth);

/* pkt_build_ip followed by pkt_eth: a whole frame in one call. */
int pkt_build(struct pkt *p, const struct pkt_eth *eth,
	      const struct pkt_ip *ip, const struct pkt_l4 *l4);

/*
 * Parse a literal address. Returns 4 or 6 and fills out[16] (IPv4 in the
 * first 4 bytes, rest zero), or -EINVAL.
 */
int pkt_addr(const char *s, uint8_t out[16]);

/*
 * Internet checksum pieces: add bytes (as big-endian 16-bit words) to a
 * 32-bit sum, then fold and complement. The result is a host-order number
 * whose big-endian bytes go into the checksum field.
 */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);
/* Pseudo-header sum; family 4 or 6, addresses as in the header. */
uint32_t pkt_pseudo_sum(int family, const void *src, const void *dst,
			uint8_t proto, uint32_t l4_len);

/* Recompute after a test patched a header field by hand. */
void pkt_ipv4_fix_csum(void *iph);
int pkt_l4_fix_csum(uint8_t *ip, size_t len);

/*
 * What a parse found. Offsets are from the start of the buffer given to
 * the parser. l4 and proto describe the upper layer after any IPv6
 * extension headers; l4_len is the number of L4 bytes the IP length covers.
 */
struct pkt_info {
	int n_vlan;
	uint16_t ethertype; /* innermost, host order; 0 without Ethernet */
	size_t l3;
	int family; /* 4, 6, or 0: not IP */
	size_t l3_hlen; /* IPv4 ihl * 4, IPv6 40 (ext headers not included) */
	size_t l3_len; /* total length per the IP header */
	size_t l4;
	size_t l4_len;
	int proto;
	bool frag; /* any fragment: MF, offset, or an IPv6 fragment header */
	bool first_frag; /* offset 0 (also true when not a fragment) */
};

/*
 * Parse, tolerating nothing: -EBADMSG (with a reason in why, which may be
 * NULL) when a header is cut short or a length field does not fit.
 * pkt_parse_frame handles Ethernet and up to PKT_MAX_VLAN tags (a third
 * tag reads as a non-IP ethertype); a non-IP ethertype parses fine with
 * family 0.
 */
int pkt_parse_frame(const uint8_t *f, size_t len, struct pkt_info *pi,
		    char *why, size_t why_len);
int pkt_parse_ip(const uint8_t *ip, size_t len, struct pkt_info *pi,
		 char *why, size_t why_len);

/* Validators for one header, given the IP header and the bytes after it. */
bool pkt_ipv4_csum_ok(const uint8_t *iph, size_t len);
/*
 * L4 checksum of the IP packet at ip: TCP, UDP (0 accepted over IPv4),
 * ICMP or ICMPv6 including the pseudo-header. False for fragments, for
 * other protocols and for packets that do not parse.
 */
bool pkt_l4_csum_ok(const uint8_t *ip, size_t len);

/*
 * Well-formed frame: Ethernet (+VLANs); for IP: version matches the
 * ethertype; IPv4 ihl >= 5, header checksum valid; the IP length equals
 * the bytes left (trailing bytes are allowed only in a frame of at most
 * 60 bytes plus 4 per VLAN tag, Ethernet's padded minimum); IPv6
 * extension headers fit; for an unfragmented TCP/UDP/ICMP/ICMPv6 packet
 * the header fits and the checksum is valid; for protocol 4/41 the inner
 * packet is checked the same way and must fill the outer payload exactly.
 * Non-IP frames only need a complete Ethernet header. Returns 0 or
 * -EBADMSG with a reason in why.
 */
int pkt_check_frame(const uint8_t *f, size_t len, char *why, size_t why_len);
/* The same for a bare IP packet; no padding allowed. */
int pkt_check_ip(const uint8_t *ip, size_t len, char *why, size_t why_len);

/* Hex dump, 16 bytes a line with offsets, each line prefixed by indent. */
void pkt_hexdump(FILE *out, const char *indent, const void *data,
		 size_t len);

#endif /* MERIDIAN_TEST_PKT_H */
