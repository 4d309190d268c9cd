// SPDX-License-Identifier: GPL-2.0
/* missing-module-license: no MODULE_LICENSE(), so the kernel taints and hides GPL-only symbols. */
#include <linux/init.h>
#include <linux/module.h>

static int __init lkm_e2e_nolicense_init(void)
{
	pr_info("lkm_e2e_nolicense: loaded\n");
	return 0;
}

static void __exit lkm_e2e_nolicense_exit(void)
{
}

module_init(lkm_e2e_nolicense_init);
module_exit(lkm_e2e_nolicense_exit);
MODULE_DESCRIPTION("LKM Dev editor-test fixture without a license");
