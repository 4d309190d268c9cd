// SPDX-License-Identifier: GPL-2.0
/* lock-imbalance: the error path returns with the mutex still held. */
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(lkm_e2e_locks_mutex);
static int lkm_e2e_locks_value;

static int lkm_e2e_locks_update(int value)
{
	mutex_lock(&lkm_e2e_locks_mutex);
	if (value < 0)
		return -EINVAL;
	lkm_e2e_locks_value = value;
	mutex_unlock(&lkm_e2e_locks_mutex);
	return 0;
}

static int __init lkm_e2e_locks_init(void)
{
	return lkm_e2e_locks_update(1);
}

static void __exit lkm_e2e_locks_exit(void)
{
}

module_init(lkm_e2e_locks_init);
module_exit(lkm_e2e_locks_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LKM Dev editor-test fixture: locks");
