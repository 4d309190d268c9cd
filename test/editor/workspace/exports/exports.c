// SPDX-License-Identifier: GPL-2.0
/*
 * unexported-symbol against the target kernel: kallsyms_lookup_name() is declared in
 * <linux/kallsyms.h> but no longer exported to modules (since 5.7). Only a kdir tells.
 */
#include <linux/module.h>
#include <linux/kallsyms.h>

static int __init lkm_e2e_exports_init(void)
{
	return kallsyms_lookup_name("jiffies") ? 0 : -ENOENT;
}

static void __exit lkm_e2e_exports_exit(void)
{
}

module_init(lkm_e2e_exports_init);
module_exit(lkm_e2e_exports_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: a call the target kernel does not export");
