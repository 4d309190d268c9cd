// Guest-test fixture: loads, prints its parameters, unloads.
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "Text printed at load");

static int count = 1;
module_param(count, int, 0444);
MODULE_PARM_DESC(count, "How many times the greeting is printed");

static int __init lkmt_hello_init(void)
{
	int i;

	for (i = 0; i < count; i++)
		pr_info("lkmt_hello: greeting=[%s] %d/%d\n", greeting, i + 1, count);
	return 0;
}

static void __exit lkmt_hello_exit(void)
{
	pr_info("lkmt_hello: goodbye\n");
}

module_init(lkmt_hello_init);
module_exit(lkmt_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev guest-test fixture");
