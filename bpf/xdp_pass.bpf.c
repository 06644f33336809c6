// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of the data-plane benchmark: the cheapest XDP program there is.
 * Its test-run duration is the harness's own overhead, which every
 * measured program pays too.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
