/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The VIP-address prefilter (struct meridian_vip_addr) derived from VIP
 * keys. Pure: the policy, the reconciler's checks and the writers of
 * single keys (tests, lab tools) all derive it the same way.
 */
#ifndef MERIDIAN_VIP_ADDRS_H
#define MERIDIAN_VIP_ADDRS_H

#include <stdbool.h>

#include "desired.h"

/*
 * Folds one VIP key into the entry of its address: the PORTS flag of its
 * protocol, or its wildcard (which replaces the one there), or the echo
 * flag. false if the prefilter takes no note of the key (another
 * protocol, an ICMP key without MERIDIAN_VIP_ECHO or with a port).
 */
bool vip_addr_fold(struct meridian_vip_addr *va,
		   const struct meridian_vip_key *key,
		   const struct meridian_vip *vip);

/*
 * Fills d->vip_addrs4 and d->vip_addrs6 from d->vips, sorted by address,
 * so equal VIP keys give byte-identical arrays. An earlier content of the
 * arrays is freed. 0 or -ENOMEM (arrays then empty).
 */
int vip_addrs_build(struct desired *d);

/*
 * Whether d's prefilter arrays hold exactly what vip_addrs_build() derives
 * from d's VIP keys, in any order (a key listed twice is refused
 * elsewhere). 1 yes, 0 no, -ENOMEM.
 */
int vip_addrs_match(const struct desired *d);

#endif /* MERIDIAN_VIP_ADDRS_H */
