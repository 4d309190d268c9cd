/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKM_MULTI_H
#define LKM_MULTI_H

#include <linux/types.h>

struct lkm_multi_stats {
	u64 count;
	u64 total;
};

void lkm_multi_stats_add(struct lkm_multi_stats *stats, u64 value);
u64 lkm_multi_stats_mean(const struct lkm_multi_stats *stats);

#endif /* LKM_MULTI_H */
