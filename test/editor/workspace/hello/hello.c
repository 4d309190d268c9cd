// SPDX-License-Identifier: GPL-2.0
/* A clean module: the linter reports nothing here. */
#include <linux/init.h>
#include <linux/module.h>

static int __init lkm_hello_init(void)
{
	pr_info("lkm_hello: loaded\n");
	return 0;
}

static void __exit lkm_hello_exit(void)
{
	pr_info("lkm_hello: unloaded\n");
}

module_init(lkm_hello_init);
module_exit(lkm_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: a clean module");
