// SPDX-License-Identifier: GPL-2.0
/* unexported-symbol: calls lkm_e2e_provider_value(), which the provider module does not export. */
#include <linux/module.h>

int lkm_e2e_provider_value(void);

static int __init lkm_e2e_consumer_init(void)
{
	pr_info("lkm_e2e_consumer: value %d\n", lkm_e2e_provider_value());
	return 0;
}

static void __exit lkm_e2e_consumer_exit(void)
{
}

module_init(lkm_e2e_consumer_init);
module_exit(lkm_e2e_consumer_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: consumer");
