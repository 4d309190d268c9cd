// Debugger fixture: a misc device whose read() (a callback triggered by `cat /dev/lkmt_debug`) and
// init both call a helper with locals, so a breakpoint, a backtrace and the locals can be checked.
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static int lkmt_debug_reads;

static noinline int lkmt_debug_count(int step)
{
	int total = lkmt_debug_reads + step;

	lkmt_debug_reads = total;
	return total;
}

static ssize_t lkmt_debug_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	int seen = lkmt_debug_count(1);

	pr_info("lkmt_debug: read %d\n", seen);
	return 0;
}

static const struct file_operations lkmt_debug_fops = {
	.owner = THIS_MODULE,
	.read = lkmt_debug_read,
};

static struct miscdevice lkmt_debug_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "lkmt_debug",
	.fops = &lkmt_debug_fops,
};

static int __init lkmt_debug_init(void)
{
	int first = lkmt_debug_count(10);

	pr_info("lkmt_debug: init %d\n", first);
	return misc_register(&lkmt_debug_device);
}

static void __exit lkmt_debug_exit(void)
{
	misc_deregister(&lkmt_debug_device);
}

module_init(lkmt_debug_init);
module_exit(lkmt_debug_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev debugger test fixture");
