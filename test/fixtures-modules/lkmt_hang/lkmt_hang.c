// Guest-test fixture: spins forever in init with preemption off. On the one-CPU guest nothing else
// runs again: SSH stops answering and only the serial console is left.
#include <linux/init.h>
#include <linux/module.h>
#include <linux/preempt.h>

static int __init lkmt_hang_init(void)
{
	pr_info("lkmt_hang: spinning\n");
	preempt_disable();
	for (;;)
		cpu_relax();
	return 0;
}

module_init(lkmt_hang_init);
MODULE_LICENSE("GPL");
