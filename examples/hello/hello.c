// The sample module of the README's main job: `npx lkm run examples/hello --param whom=world`.
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *whom = "world";
module_param(whom, charp, 0444);
MODULE_PARM_DESC(whom, "Who to greet");

static int __init lkm_hello_init(void)
{
	pr_info("lkm_hello: hello, %s\n", whom);
	return 0;
}

static void __exit lkm_hello_exit(void)
{
	pr_info("lkm_hello: goodbye, %s\n", whom);
}

module_init(lkm_hello_init);
module_exit(lkm_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Hello world for LKM Dev");
