// Guest-test fixture: strlen() of a NULL member in init. With FORTIFY_SOURCE the kernel's strlen()
// is an inline wrapper (include/linux/fortify-string.h), so the call that faults sits in inlined
// header code: the report must still point at the module's own line below.
#include <linux/init.h>
#include <linux/module.h>
#include <linux/string.h>

struct lkmt_inline_dev {
	const char *name;
};

static struct lkmt_inline_dev lkmt_inline_dev;

static noinline size_t lkmt_inline_name_len(struct lkmt_inline_dev *dev)
{
	size_t len = strlen(READ_ONCE(dev->name));

	pr_info("lkmt_inline: name has %zu bytes\n", len);
	return len;
}

static int __init lkmt_inline_init(void)
{
	return lkmt_inline_name_len(&lkmt_inline_dev) ? 0 : -EINVAL;
}

module_init(lkmt_inline_init);
MODULE_LICENSE("GPL");
