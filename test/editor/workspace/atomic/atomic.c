// SPDX-License-Identifier: GPL-2.0
/* sleep-in-atomic: msleep() may sleep, and it runs with a spinlock held. */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(lkm_e2e_atomic_lock);
static int lkm_e2e_atomic_counter;

static int __init lkm_e2e_atomic_init(void)
{
	spin_lock(&lkm_e2e_atomic_lock);
	lkm_e2e_atomic_counter++;
	msleep(10);
	spin_unlock(&lkm_e2e_atomic_lock);
	return 0;
}

static void __exit lkm_e2e_atomic_exit(void)
{
}

module_init(lkm_e2e_atomic_init);
module_exit(lkm_e2e_atomic_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: atomic");
