// Guest-test fixture: sleeps while holding a spinlock; the kernel reports
// "BUG: scheduling while atomic".
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(lkmt_atomic_lock);

static int __init lkmt_atomic_init(void)
{
	spin_lock(&lkmt_atomic_lock);
	msleep(10);
	spin_unlock(&lkmt_atomic_lock);
	return 0;
}

static void __exit lkmt_atomic_exit(void)
{
}

module_init(lkmt_atomic_init);
module_exit(lkmt_atomic_exit);
MODULE_LICENSE("GPL");
