// SPDX-License-Identifier: GPL-2.0
#include <linux/math64.h>
#include "lkm_multi.h"

void lkm_multi_stats_add(struct lkm_multi_stats *stats, u64 value)
{
	stats->count++;
	stats->total += value;
}

u64 lkm_multi_stats_mean(const struct lkm_multi_stats *stats)
{
	return stats->count ? div64_u64(stats->total, stats->count) : 0;
}
