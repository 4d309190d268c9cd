// SPDX-License-Identifier: GPL-2.0
// The multi-file example: one module from main.c and lib/stats.c, sharing include/lkm_multi.h
// (Kbuild adds that folder with ccflags-y). `npx lkm run examples/multi-file`.
#include <linux/init.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "lkm_multi.h"

static int __init lkm_multi_init(void)
{
	struct lkm_multi_stats *stats = kzalloc(sizeof(*stats), GFP_KERNEL);
	u64 value;

	if (!stats)
		return -ENOMEM;
	for (value = 1; value <= 10; value++)
		lkm_multi_stats_add(stats, value * value);
	pr_info("lkm_multi: mean of the first 10 squares is %llu\n", lkm_multi_stats_mean(stats));
	kfree(stats);
	return 0;
}

static void __exit lkm_multi_exit(void)
{
	pr_info("lkm_multi: unloaded\n");
}

module_init(lkm_multi_init);
module_exit(lkm_multi_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Multi-file example for LKM Dev");
