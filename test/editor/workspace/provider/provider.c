// SPDX-License-Identifier: GPL-2.0
/* Defines lkm_e2e_provider_value() without exporting it: another module cannot link to it. */
#include <linux/module.h>

int lkm_e2e_provider_value(void)
{
	return 42;
}

static int __init lkm_e2e_provider_init(void)
{
	return 0;
}

static void __exit lkm_e2e_provider_exit(void)
{
}

module_init(lkm_e2e_provider_init);
module_exit(lkm_e2e_provider_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: provider");
