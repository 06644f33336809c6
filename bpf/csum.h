/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internet checksum helpers (RFC 1071, incremental updates per RFC 1624). */
#ifndef MERIDIAN_BPF_CSUM_H
#define MERIDIAN_BPF_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The 20-byte header we write ourselves: no options. */
static __always_inline __u16 ipv4_header_csum(struct iphdr *iph)
{
	__u16 *word = (__u16 *)iph;
	__u64 sum = 0;
	int i;

	iph->check = 0;
#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += word[i];
	return csum_fold(sum);
}

/* One 16-bit word of a checksummed area changed from old to new. */
static __always_inline void csum_replace16(__u16 *check, __u16 old, __u16 new)
{
	__u64 sum = (__u16)~*check;

	sum += (__u16)~old;
	sum += new;
	*check = csum_fold(sum);
}

#endif /* MERIDIAN_BPF_CSUM_H */
