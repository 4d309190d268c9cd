// Guest-test fixture: exports a symbol that lkmt_pair_user needs, so it must load first.
#include <linux/init.h>
#include <linux/module.h>

int lkmt_pair_answer(void)
{
	return 42;
}
EXPORT_SYMBOL_GPL(lkmt_pair_answer);

static int __init lkmt_pair_zbase_init(void)
{
	pr_info("lkmt_pair_zbase: up\n");
	return 0;
}

static void __exit lkmt_pair_zbase_exit(void)
{
	pr_info("lkmt_pair_zbase: down\n");
}

module_init(lkmt_pair_zbase_init);
module_exit(lkmt_pair_zbase_exit);
MODULE_LICENSE("GPL");
