// Guest-test fixture: line 8 does not compile (undeclared identifier).
#include <linux/init.h>
#include <linux/module.h>

static int __init lkmt_broken_init(void)
{
	pr_info("lkmt_broken: init\n");
	return undeclared_thing;
}

module_init(lkmt_broken_init);
MODULE_LICENSE("GPL");
