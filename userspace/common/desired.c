// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "desired.h"

void desired_free(struct desired *d)
{
	uint32_t i;

	if (!d)
		return;
	free(d->vips);
	free(d->vip_addrs4);
	free(d->vip_addrs6);
	free(d->classes4);
	free(d->classes6);
	free(d->backends);
	for (i = 0; d->rings && i < d->n_rings; i++)
		free(d->rings[i].slots);
	free(d->rings);
	free(d->tables);
	memset(d, 0, sizeof(*d));
}
