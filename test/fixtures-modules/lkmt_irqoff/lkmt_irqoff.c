// Guest-test fixture: spins forever in init with interrupts off. No timer tick runs again, so the
// kernel's own soft-lockup and RCU-stall detectors stay silent: only an NMI can still show where it is.
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/module.h>

static int __init lkmt_irqoff_init(void)
{
	pr_info("lkmt_irqoff: spinning with interrupts off\n");
	local_irq_disable();
	for (;;)
		cpu_relax();
	return 0;
}

module_init(lkmt_irqoff_init);
MODULE_LICENSE("GPL");
