// Guest-test fixture: dereferences NULL in init (line 10), so the kernel oopses during insmod.
#include <linux/init.h>
#include <linux/module.h>

static int *lkmt_oops_target;

static noinline int lkmt_oops_poke(void)
{
	pr_info("lkmt_oops: about to dereference NULL\n");
	return *READ_ONCE(lkmt_oops_target);
}

static int __init lkmt_oops_init(void)
{
	return lkmt_oops_poke();
}

module_init(lkmt_oops_init);
MODULE_LICENSE("GPL");
