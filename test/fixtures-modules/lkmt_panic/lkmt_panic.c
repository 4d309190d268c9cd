// Guest-test fixture: panics in init. The guest boots with panic=-1 and QEMU with -no-reboot, so
// the whole VM stops: the serial console is all that is left.
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static int __init lkmt_panic_init(void)
{
	panic("lkmt_panic: stopping the guest on purpose");
	return 0;
}

module_init(lkmt_panic_init);
MODULE_LICENSE("GPL");
