// Guest-test fixture: depends on lkmt_pair_zbase (its .modinfo says depends=lkmt_pair_zbase).
#include <linux/init.h>
#include <linux/module.h>

int lkmt_pair_answer(void);

static int __init lkmt_pair_user_init(void)
{
	pr_info("lkmt_pair_user: answer %d\n", lkmt_pair_answer());
	return 0;
}

static void __exit lkmt_pair_user_exit(void)
{
	pr_info("lkmt_pair_user: down\n");
}

module_init(lkmt_pair_user_init);
module_exit(lkmt_pair_user_exit);
MODULE_LICENSE("GPL");
