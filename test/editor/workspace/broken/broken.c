// SPDX-License-Identifier: GPL-2.0
/* Does not compile: Build and Load must put the compiler's error in Problems at this file's line. */
#include <linux/module.h>

static int __init lkm_e2e_broken_init(void)
{
	return lkm_e2e_undeclared_value;
}

static void __exit lkm_e2e_broken_exit(void)
{
}

module_init(lkm_e2e_broken_init);
module_exit(lkm_e2e_broken_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: a compile error");
