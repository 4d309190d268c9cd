// The module templates of "LKM: New Module…" and `lkm new`, and (generated from the same text, see
// snippets.ts) the C snippets. Every template is a complete module that builds with -Werror, lints
// clean and loads/unloads cleanly; every error path unwinds in reverse order of setup.
// Identifiers derive from the module name (`{{name}}_…`) so that two templates never clash and the
// snippet's first tab stop renames everything at once.
import { multiFileObjects } from './makefiles';
import type { FragmentSnippet, ModuleTemplate, Placeholder, TemplateFile } from './template';

const c = String.raw;

export const defaultModuleName = 'lkm_example';

function commonPlaceholders(description: string, extra: readonly Placeholder[] = []): Placeholder[] {
  return [
    { key: 'name', default: defaultModuleName },
    { key: 'description', default: description },
    { key: 'author', default: 'Your Name <you@example.com>' },
    ...extra,
  ];
}

/** License first and pr_fmt before any include, so every message is prefixed with the module name. */
function header(includes: readonly string[]): string {
  return [
    '// SPDX-License-Identifier: GPL-2.0',
    '/*',
    ' * {{name}}: {{description}}',
    ' */',
    '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt',
    '',
    ...[...new Set(['linux/init.h', 'linux/module.h', ...includes])].sort().map((include) => `#include <${include}>`),
    '',
    '',
  ].join('\n');
}

const moduleInfo = ['', 'MODULE_LICENSE("GPL");', 'MODULE_AUTHOR("{{author}}");', 'MODULE_DESCRIPTION("{{description}}");', ''].join('\n');

/** Registers {{name}}_init/{{name}}_exit; a template that registers otherwise passes ''. */
const initExitRegistration = ['', 'module_init({{name}}_init);', 'module_exit({{name}}_exit);', ''].join('\n');

function singleFile(includes: readonly string[], body: string, registration = initExitRegistration): TemplateFile[] {
  return [{ path: '{{name}}.c', text: header(includes) + body.replace(/^\n/, '') + registration + moduleInfo }];
}

// ---- module parameters: fragments (snippets of their own) that the params template is made of ----

const scalarParameter: FragmentSnippet = {
  prefix: 'lkm-param',
  label: 'Module parameter (scalar)',
  detail: 'module_param with MODULE_PARM_DESC',
  language: 'c',
  placeholders: [
    { key: 'param', default: 'count' },
    { key: 'param_ctype', default: 'int' },
    { key: 'param_default', default: '1' },
    { key: 'param_type', default: 'int', choices: ['int', 'uint', 'long', 'ulong', 'short', 'ushort', 'bool', 'invbool', 'byte'] },
    { key: 'param_perm', default: '0444' },
    { key: 'param_desc', default: 'How many times to greet' },
  ],
  text: c`static {{param_ctype}} {{param}} = {{param_default}};
module_param({{param}}, {{param_type}}, {{param_perm}});
MODULE_PARM_DESC({{param}}, "{{param_desc}}");
`,
};

const stringParameter: FragmentSnippet = {
  prefix: 'lkm-param-string',
  label: 'Module parameter (string)',
  detail: 'charp module_param with MODULE_PARM_DESC',
  language: 'c',
  placeholders: [
    { key: 'string_param', default: 'whom' },
    { key: 'string_default', default: 'world' },
    { key: 'string_desc', default: 'Whom to greet' },
  ],
  text: c`static char *{{string_param}} = "{{string_default}}";
module_param({{string_param}}, charp, 0444);
MODULE_PARM_DESC({{string_param}}, "{{string_desc}}");
`,
};

const arrayParameter: FragmentSnippet = {
  prefix: 'lkm-param-array',
  label: 'Module parameter (array)',
  detail: 'module_param_array with its element count and MODULE_PARM_DESC',
  language: 'c',
  placeholders: [
    { key: 'array_param', default: 'values' },
    { key: 'array_ctype', default: 'int' },
    { key: 'array_length', default: '4' },
    { key: 'array_type', default: 'int', choices: ['int', 'uint', 'long', 'ulong', 'short', 'ushort', 'bool', 'byte'] },
    { key: 'array_desc', default: 'Up to 4 comma-separated values' },
  ],
  text: c`static {{array_ctype}} {{array_param}}[{{array_length}}];
static int {{array_param}}_count;
module_param_array({{array_param}}, {{array_type}}, &{{array_param}}_count, 0444);
MODULE_PARM_DESC({{array_param}}, "{{array_desc}}");
`,
};

export const cFragmentSnippets: readonly FragmentSnippet[] = [scalarParameter, stringParameter, arrayParameter];

// ---- whole-module templates ----

const skeleton: ModuleTemplate = {
  id: 'skeleton',
  label: 'Module skeleton',
  detail: 'init/exit, license, author, description',
  snippetPrefix: 'lkm-module',
  placeholders: commonPlaceholders('A minimal kernel module'),
  files: singleFile([], c`
static int __init {{name}}_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit {{name}}_exit(void)
{
	pr_info("unloaded\n");
}
`),
};

const parameters: ModuleTemplate = {
  id: 'params',
  label: 'Module parameters',
  detail: 'scalar, string and array parameters with MODULE_PARM_DESC',
  snippetPrefix: 'lkm-params',
  placeholders: [
    ...commonPlaceholders('A module with parameters'),
    // The C type and the param type appear together in the text below, so they are fixed here.
    ...[...scalarParameter.placeholders, ...stringParameter.placeholders, ...arrayParameter.placeholders].filter(
      (placeholder) => !['param_ctype', 'param_type', 'array_ctype', 'array_type'].includes(placeholder.key),
    ),
  ],
  files: singleFile(
    [],
    [
      scalarParameter.text.replace('{{param_ctype}}', 'int').replace('{{param_type}}', 'int'),
      stringParameter.text,
      arrayParameter.text.replace('{{array_ctype}}', 'int').replace('{{array_type}}', 'int'),
      c`static int __init {{name}}_init(void)
{
	int i;

	for (i = 0; i < {{param}}; i++)
		pr_info("hello, %s\n", {{string_param}});
	for (i = 0; i < {{array_param}}_count; i++)
		pr_info("{{array_param}}[%d] = %d\n", i, {{array_param}}[i]);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	pr_info("goodbye, %s\n", {{string_param}});
}
`,
    ].join('\n'),
  ),
};

const characterDevice: ModuleTemplate = {
  id: 'chrdev',
  label: 'Character device',
  detail: 'alloc_chrdev_region + cdev + class/device; read/write/ioctl/llseek with copy_*_user',
  snippetPrefix: 'lkm-chrdev',
  placeholders: commonPlaceholders('A character device holding one page of data'),
  files: singleFile(
    ['linux/cdev.h', 'linux/device.h', 'linux/fs.h', 'linux/ioctl.h', 'linux/minmax.h', 'linux/mutex.h', 'linux/uaccess.h', 'linux/version.h'],
    c`
#define {{NAME}}_IOC_MAGIC 'k'
/* Empties the buffer. */
#define {{NAME}}_IOC_CLEAR _IO({{NAME}}_IOC_MAGIC, 0)
/* Returns the number of bytes stored. */
#define {{NAME}}_IOC_GET_LENGTH _IOR({{NAME}}_IOC_MAGIC, 1, int)

static dev_t {{name}}_devt;
static struct cdev {{name}}_cdev;
static struct class *{{name}}_class;
static struct device *{{name}}_device;

/* Serializes every access to the buffer and its length. */
static DEFINE_MUTEX({{name}}_lock);
static char {{name}}_buffer[PAGE_SIZE];
static size_t {{name}}_length;

static ssize_t {{name}}_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	ssize_t ret;

	if (mutex_lock_interruptible(&{{name}}_lock))
		return -ERESTARTSYS;
	if (*ppos < 0) {
		ret = -EINVAL;
		goto out;
	}
	if (*ppos >= {{name}}_length) {
		ret = 0;
		goto out;
	}
	count = min_t(size_t, count, {{name}}_length - *ppos);
	if (copy_to_user(buf, {{name}}_buffer + *ppos, count)) {
		ret = -EFAULT;
		goto out;
	}
	*ppos += count;
	ret = count;
out:
	mutex_unlock(&{{name}}_lock);
	return ret;
}

static ssize_t {{name}}_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	ssize_t ret;

	if (mutex_lock_interruptible(&{{name}}_lock))
		return -ERESTARTSYS;
	if (*ppos < 0) {
		ret = -EINVAL;
		goto out;
	}
	if (*ppos >= sizeof({{name}}_buffer)) {
		ret = -ENOSPC;
		goto out;
	}
	count = min_t(size_t, count, sizeof({{name}}_buffer) - *ppos);
	if (copy_from_user({{name}}_buffer + *ppos, buf, count)) {
		ret = -EFAULT;
		goto out;
	}
	*ppos += count;
	{{name}}_length = max_t(size_t, {{name}}_length, *ppos);
	ret = count;
out:
	mutex_unlock(&{{name}}_lock);
	return ret;
}

static loff_t {{name}}_llseek(struct file *file, loff_t offset, int whence)
{
	loff_t ret;

	mutex_lock(&{{name}}_lock);
	ret = fixed_size_llseek(file, offset, whence, {{name}}_length);
	mutex_unlock(&{{name}}_lock);
	return ret;
}

static long {{name}}_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	int length;

	switch (cmd) {
	case {{NAME}}_IOC_CLEAR:
		mutex_lock(&{{name}}_lock);
		{{name}}_length = 0;
		mutex_unlock(&{{name}}_lock);
		return 0;
	case {{NAME}}_IOC_GET_LENGTH:
		mutex_lock(&{{name}}_lock);
		length = {{name}}_length;
		mutex_unlock(&{{name}}_lock);
		return put_user(length, (int __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations {{name}}_fops = {
	.owner = THIS_MODULE,
	.read = {{name}}_read,
	.write = {{name}}_write,
	.llseek = {{name}}_llseek,
	.unlocked_ioctl = {{name}}_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int __init {{name}}_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&{{name}}_devt, 0, 1, "{{name}}");
	if (ret)
		return ret;

	cdev_init(&{{name}}_cdev, &{{name}}_fops);
	{{name}}_cdev.owner = THIS_MODULE;
	ret = cdev_add(&{{name}}_cdev, {{name}}_devt, 1);
	if (ret)
		goto err_unregister_region;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	{{name}}_class = class_create("{{name}}");
#else
	{{name}}_class = class_create(THIS_MODULE, "{{name}}");
#endif
	if (IS_ERR({{name}}_class)) {
		ret = PTR_ERR({{name}}_class);
		goto err_cdev_del;
	}

	{{name}}_device = device_create({{name}}_class, NULL, {{name}}_devt, NULL, "{{name}}");
	if (IS_ERR({{name}}_device)) {
		ret = PTR_ERR({{name}}_device);
		goto err_class_destroy;
	}

	pr_info("/dev/{{name}} is %d:%d\n", MAJOR({{name}}_devt), MINOR({{name}}_devt));
	return 0;

err_class_destroy:
	class_destroy({{name}}_class);
err_cdev_del:
	cdev_del(&{{name}}_cdev);
err_unregister_region:
	unregister_chrdev_region({{name}}_devt, 1);
	return ret;
}

static void __exit {{name}}_exit(void)
{
	device_destroy({{name}}_class, {{name}}_devt);
	class_destroy({{name}}_class);
	cdev_del(&{{name}}_cdev);
	unregister_chrdev_region({{name}}_devt, 1);
}
`,
  ),
};

const miscDevice: ModuleTemplate = {
  id: 'misc',
  label: 'Misc device',
  detail: 'misc_register with a read-only file_operations',
  snippetPrefix: 'lkm-misc',
  placeholders: commonPlaceholders('A misc device that reads back a greeting'),
  files: singleFile(
    ['linux/fs.h', 'linux/miscdevice.h'],
    c`
static const char {{name}}_message[] = "hello from {{name}}\n";

static ssize_t {{name}}_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	return simple_read_from_buffer(buf, count, ppos, {{name}}_message, sizeof({{name}}_message) - 1);
}

static const struct file_operations {{name}}_fops = {
	.owner = THIS_MODULE,
	.read = {{name}}_read,
	.llseek = default_llseek,
};

static struct miscdevice {{name}}_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "{{name}}",
	.fops = &{{name}}_fops,
	.mode = 0444,
};

static int __init {{name}}_init(void)
{
	int ret;

	ret = misc_register(&{{name}}_misc);
	if (ret)
		return ret;
	pr_info("/dev/{{name}} registered\n");
	return 0;
}

static void __exit {{name}}_exit(void)
{
	misc_deregister(&{{name}}_misc);
}
`,
  ),
};

const platformDriver: ModuleTemplate = {
  id: 'platform',
  label: 'Platform driver',
  detail: 'probe/remove with devm_ allocation, OF match table, module_platform_driver',
  snippetPrefix: 'lkm-platform',
  placeholders: commonPlaceholders('A platform driver', [{ key: 'compatible', default: 'acme,lkm-example' }]),
  files: singleFile(
    ['linux/mod_devicetable.h', 'linux/platform_device.h', 'linux/slab.h', 'linux/version.h'],
    c`
struct {{name}}_priv {
	struct device *dev;
	unsigned long probed_at;
};

static int {{name}}_probe(struct platform_device *pdev)
{
	struct {{name}}_priv *priv;

	/* devm_ memory is released by the driver core after remove, so no error path is needed. */
	priv = devm_kzalloc(&pdev->dev, sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	priv->dev = &pdev->dev;
	priv->probed_at = jiffies;
	platform_set_drvdata(pdev, priv);
	dev_info(&pdev->dev, "probed\n");
	return 0;
}

static void {{name}}_teardown(struct platform_device *pdev)
{
	struct {{name}}_priv *priv = platform_get_drvdata(pdev);

	dev_info(priv->dev, "removed after %u ms\n", jiffies_to_msecs(jiffies - priv->probed_at));
}

/* remove() returns void since 6.11. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void {{name}}_remove(struct platform_device *pdev)
{
	{{name}}_teardown(pdev);
}
#else
static int {{name}}_remove(struct platform_device *pdev)
{
	{{name}}_teardown(pdev);
	return 0;
}
#endif

static const struct of_device_id {{name}}_of_match[] = {
	{ .compatible = "{{compatible}}" },
	{ }
};
MODULE_DEVICE_TABLE(of, {{name}}_of_match);

static struct platform_driver {{name}}_driver = {
	.probe = {{name}}_probe,
	.remove = {{name}}_remove,
	.driver = {
		.name = "{{name}}",
		.of_match_table = {{name}}_of_match,
	},
};
module_platform_driver({{name}}_driver);
`,
    '', // module_platform_driver registers init/exit itself
  ),
};

const procfsEntry: ModuleTemplate = {
  id: 'procfs',
  label: 'procfs entry',
  detail: '/proc file with proc_ops and seq_file',
  snippetPrefix: 'lkm-procfs',
  placeholders: commonPlaceholders('A /proc entry'),
  files: singleFile(
    ['linux/jiffies.h', 'linux/proc_fs.h', 'linux/seq_file.h'],
    c`
static struct proc_dir_entry *{{name}}_entry;

static int {{name}}_show(struct seq_file *m, void *v)
{
	seq_printf(m, "jiffies: %lu\n", jiffies);
	return 0;
}

static int {{name}}_open(struct inode *inode, struct file *file)
{
	return single_open(file, {{name}}_show, NULL);
}

static const struct proc_ops {{name}}_proc_ops = {
	.proc_open = {{name}}_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static int __init {{name}}_init(void)
{
	{{name}}_entry = proc_create("{{name}}", 0444, NULL, &{{name}}_proc_ops);
	if (!{{name}}_entry)
		return -ENOMEM;
	return 0;
}

static void __exit {{name}}_exit(void)
{
	proc_remove({{name}}_entry);
}
`,
  ),
};

const sysfsAttributes: ModuleTemplate = {
  id: 'sysfs',
  label: 'sysfs attributes',
  detail: 'a kobject under /sys/kernel with show/store attributes',
  snippetPrefix: 'lkm-sysfs',
  placeholders: commonPlaceholders('sysfs attributes under /sys/kernel'),
  files: singleFile(
    ['linux/kernel.h', 'linux/kobject.h', 'linux/sysfs.h'],
    c`
static struct kobject *{{name}}_kobj;
static int {{name}}_value;

static ssize_t {{name}}_value_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE({{name}}_value));
}

static ssize_t {{name}}_value_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf, size_t count)
{
	int value;
	int ret;

	ret = kstrtoint(buf, 0, &value);
	if (ret)
		return ret;
	WRITE_ONCE({{name}}_value, value);
	return count;
}

static struct kobj_attribute {{name}}_value_attribute = __ATTR(value, 0644, {{name}}_value_show, {{name}}_value_store);

static struct attribute *{{name}}_attrs[] = {
	&{{name}}_value_attribute.attr,
	NULL,
};

static const struct attribute_group {{name}}_group = {
	.attrs = {{name}}_attrs,
};

static int __init {{name}}_init(void)
{
	int ret;

	{{name}}_kobj = kobject_create_and_add("{{name}}", kernel_kobj);
	if (!{{name}}_kobj)
		return -ENOMEM;

	ret = sysfs_create_group({{name}}_kobj, &{{name}}_group);
	if (ret)
		goto err_put_kobject;
	return 0;

err_put_kobject:
	kobject_put({{name}}_kobj);
	return ret;
}

static void __exit {{name}}_exit(void)
{
	sysfs_remove_group({{name}}_kobj, &{{name}}_group);
	kobject_put({{name}}_kobj);
}
`,
  ),
};

const debugfsFiles: ModuleTemplate = {
  id: 'debugfs',
  label: 'debugfs files',
  detail: 'a debugfs folder with a u32 and a seq_file file',
  snippetPrefix: 'lkm-debugfs',
  placeholders: commonPlaceholders('debugfs files'),
  files: singleFile(
    ['linux/debugfs.h', 'linux/fs.h', 'linux/seq_file.h'],
    c`
static struct dentry *{{name}}_dir;
static u32 {{name}}_counter;

static int {{name}}_status_show(struct seq_file *m, void *v)
{
	seq_printf(m, "counter: %u\n", READ_ONCE({{name}}_counter));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE({{name}}_status);

static int __init {{name}}_init(void)
{
	/* debugfs calls need no error checks: a failed one makes the later calls no-ops. */
	{{name}}_dir = debugfs_create_dir("{{name}}", NULL);
	debugfs_create_u32("counter", 0644, {{name}}_dir, &{{name}}_counter);
	debugfs_create_file("status", 0444, {{name}}_dir, NULL, &{{name}}_status_fops);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	debugfs_remove_recursive({{name}}_dir);
}
`,
  ),
};

const kernelThread: ModuleTemplate = {
  id: 'kthread',
  label: 'Kernel thread',
  detail: 'kthread_run / kthread_should_stop / kthread_stop',
  snippetPrefix: 'lkm-kthread',
  placeholders: commonPlaceholders('A kernel thread'),
  files: singleFile(
    ['linux/err.h', 'linux/kthread.h', 'linux/sched.h'],
    c`
static struct task_struct *{{name}}_task;

static int {{name}}_thread(void *data)
{
	unsigned long ticks = 0;

	while (!kthread_should_stop()) {
		ticks++;
		/* kthread_stop() wakes the thread, so this sleep ends early on unload. */
		schedule_timeout_interruptible(HZ);
	}
	pr_info("thread ran %lu ticks\n", ticks);
	return 0;
}

static int __init {{name}}_init(void)
{
	{{name}}_task = kthread_run({{name}}_thread, NULL, "{{name}}");
	if (IS_ERR({{name}}_task))
		return PTR_ERR({{name}}_task);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	kthread_stop({{name}}_task);
}
`,
  ),
};

const workqueue: ModuleTemplate = {
  id: 'workqueue',
  label: 'Workqueue',
  detail: 'a private workqueue with a work item and a self-rearming delayed work',
  snippetPrefix: 'lkm-workqueue',
  placeholders: commonPlaceholders('Deferred work on a workqueue'),
  files: singleFile(
    ['linux/jiffies.h', 'linux/workqueue.h'],
    c`
static struct workqueue_struct *{{name}}_wq;
static unsigned long {{name}}_runs;

static void {{name}}_work_fn(struct work_struct *work)
{
	pr_info("work ran\n");
}
static DECLARE_WORK({{name}}_work, {{name}}_work_fn);

static void {{name}}_periodic_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK({{name}}_periodic, {{name}}_periodic_fn);

static void {{name}}_periodic_fn(struct work_struct *work)
{
	{{name}}_runs++;
	queue_delayed_work({{name}}_wq, &{{name}}_periodic, HZ);
}

static int __init {{name}}_init(void)
{
	{{name}}_wq = alloc_workqueue("{{name}}", 0, 0);
	if (!{{name}}_wq)
		return -ENOMEM;
	queue_work({{name}}_wq, &{{name}}_work);
	queue_delayed_work({{name}}_wq, &{{name}}_periodic, HZ);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	/* Stops the self-rearming work first; destroy_workqueue() then drains the rest. */
	cancel_delayed_work_sync(&{{name}}_periodic);
	destroy_workqueue({{name}}_wq);
	pr_info("periodic work ran %lu times\n", {{name}}_runs);
}
`,
  ),
};

const timer: ModuleTemplate = {
  id: 'timer',
  label: 'Timer',
  detail: 'a periodic timer_list: timer_setup / mod_timer / synchronous shutdown',
  snippetPrefix: 'lkm-timer',
  placeholders: commonPlaceholders('A periodic kernel timer', [{ key: 'period_ms', default: '1000' }]),
  files: singleFile(
    ['linux/jiffies.h', 'linux/timer.h', 'linux/version.h'],
    c`
static struct timer_list {{name}}_timer;
static unsigned long {{name}}_fired;

/* Runs in softirq context: no sleeping here. */
static void {{name}}_timer_fn(struct timer_list *timer)
{
	{{name}}_fired++;
	mod_timer(timer, jiffies + msecs_to_jiffies({{period_ms}}));
}

static int __init {{name}}_init(void)
{
	timer_setup(&{{name}}_timer, {{name}}_timer_fn, 0);
	mod_timer(&{{name}}_timer, jiffies + msecs_to_jiffies({{period_ms}}));
	return 0;
}

static void __exit {{name}}_exit(void)
{
	/* Waits for a running callback and keeps it from re-arming the timer. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	timer_shutdown_sync(&{{name}}_timer);
#else
	del_timer_sync(&{{name}}_timer);
#endif
	pr_info("timer fired %lu times\n", {{name}}_fired);
}
`,
  ),
};

const tasklet: ModuleTemplate = {
  id: 'tasklet',
  label: 'Tasklet',
  detail: 'DECLARE_TASKLET / tasklet_schedule / tasklet_kill',
  snippetPrefix: 'lkm-tasklet',
  placeholders: commonPlaceholders('A tasklet (softirq bottom half)'),
  files: singleFile(
    ['linux/interrupt.h'],
    c`
/* Runs in softirq context: no sleeping here. */
static void {{name}}_tasklet_fn(struct tasklet_struct *t)
{
	pr_info("tasklet ran\n");
}
static DECLARE_TASKLET({{name}}_tasklet, {{name}}_tasklet_fn);

static int __init {{name}}_init(void)
{
	tasklet_schedule(&{{name}}_tasklet);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	tasklet_kill(&{{name}}_tasklet);
}
`,
  ),
};

const waitQueue: ModuleTemplate = {
  id: 'waitqueue',
  label: 'Wait queue',
  detail: 'a misc device whose read sleeps on a wait queue until a write wakes it',
  snippetPrefix: 'lkm-waitqueue',
  placeholders: commonPlaceholders('Readers sleep on a wait queue until a writer wakes them'),
  files: singleFile(
    ['linux/atomic.h', 'linux/fs.h', 'linux/kernel.h', 'linux/miscdevice.h', 'linux/wait.h'],
    c`
static DECLARE_WAIT_QUEUE_HEAD({{name}}_waitq);
/* Writes not yet reported to a reader. */
static atomic_t {{name}}_pending = ATOMIC_INIT(0);

static ssize_t {{name}}_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	char text[16];
	size_t length;
	int events;

	if (wait_event_interruptible({{name}}_waitq, atomic_read(&{{name}}_pending) > 0))
		return -ERESTARTSYS;
	events = atomic_xchg(&{{name}}_pending, 0);
	length = scnprintf(text, sizeof(text), "%d\n", events);
	/* Reports the count in one read; a shorter buffer cannot hold it. */
	if (count < length)
		return -EINVAL;
	if (copy_to_user(buf, text, length))
		return -EFAULT;
	return length;
}

static ssize_t {{name}}_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	atomic_inc(&{{name}}_pending);
	wake_up_interruptible(&{{name}}_waitq);
	return count;
}

static const struct file_operations {{name}}_fops = {
	.owner = THIS_MODULE,
	.read = {{name}}_read,
	.write = {{name}}_write,
	.llseek = noop_llseek,
};

static struct miscdevice {{name}}_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "{{name}}",
	.fops = &{{name}}_fops,
	.mode = 0666,
};

static int __init {{name}}_init(void)
{
	return misc_register(&{{name}}_misc);
}

static void __exit {{name}}_exit(void)
{
	misc_deregister(&{{name}}_misc);
}
`,
  ),
};

/** The same list code under either lock; only the lock's type and calls differ. */
function lockedList(lock: 'spinlock' | 'mutex'): ModuleTemplate {
  const [define, acquire, release] =
    lock === 'spinlock' ? ['DEFINE_SPINLOCK', 'spin_lock', 'spin_unlock'] : ['DEFINE_MUTEX', 'mutex_lock', 'mutex_unlock'];
  return {
    id: `list-${lock}`,
    label: `${lock === 'spinlock' ? 'Spinlock' : 'Mutex'}-protected list`,
    detail: `a linked list of kmalloc'd items guarded by a ${lock}`,
    snippetPrefix: `lkm-list-${lock}`,
    placeholders: commonPlaceholders(`A list protected by a ${lock}`),
    files: singleFile(
      ['linux/list.h', `linux/${lock}.h`, 'linux/slab.h'],
      c`
struct {{name}}_item {
	struct list_head node;
	int value;
};

static LIST_HEAD({{name}}_items);
/* Guards {{name}}_items. */
static ${define}({{name}}_lock);

static int {{name}}_add(int value)
{
	/* Allocated outside the lock: a GFP_KERNEL allocation may sleep. */
	struct {{name}}_item *item = kmalloc(sizeof(*item), GFP_KERNEL);

	if (!item)
		return -ENOMEM;
	item->value = value;
	${acquire}(&{{name}}_lock);
	list_add_tail(&item->node, &{{name}}_items);
	${release}(&{{name}}_lock);
	return 0;
}

static int {{name}}_sum(void)
{
	struct {{name}}_item *item;
	int sum = 0;

	${acquire}(&{{name}}_lock);
	list_for_each_entry(item, &{{name}}_items, node)
		sum += item->value;
	${release}(&{{name}}_lock);
	return sum;
}

static void {{name}}_free_all(void)
{
	struct {{name}}_item *item, *next;
	LIST_HEAD(doomed);

	/* Detach everything under the lock, free outside it. */
	${acquire}(&{{name}}_lock);
	list_splice_init(&{{name}}_items, &doomed);
	${release}(&{{name}}_lock);
	list_for_each_entry_safe(item, next, &doomed, node) {
		list_del(&item->node);
		kfree(item);
	}
}

static int __init {{name}}_init(void)
{
	int ret;
	int i;

	for (i = 1; i <= 4; i++) {
		ret = {{name}}_add(i);
		if (ret)
			goto err_free_items;
	}
	pr_info("sum of items: %d\n", {{name}}_sum());
	return 0;

err_free_items:
	{{name}}_free_all();
	return ret;
}

static void __exit {{name}}_exit(void)
{
	{{name}}_free_all();
}
`,
    ),
  };
}

const netfilterHook: ModuleTemplate = {
  id: 'netfilter',
  label: 'Netfilter hook',
  detail: 'an IPv4 PRE_ROUTING hook that counts packets',
  snippetPrefix: 'lkm-netfilter',
  placeholders: commonPlaceholders('A netfilter hook counting IPv4 packets'),
  files: singleFile(
    ['linux/atomic.h', 'linux/netfilter.h', 'linux/netfilter_ipv4.h', 'linux/skbuff.h', 'net/net_namespace.h'],
    c`
static atomic64_t {{name}}_packets = ATOMIC64_INIT(0);

/* Runs in softirq context for every incoming IPv4 packet: keep it short, never sleep. */
static unsigned int {{name}}_hook(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	atomic64_inc(&{{name}}_packets);
	return NF_ACCEPT;
}

static const struct nf_hook_ops {{name}}_ops = {
	.hook = {{name}}_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_FIRST,
};

static int __init {{name}}_init(void)
{
	return nf_register_net_hook(&init_net, &{{name}}_ops);
}

static void __exit {{name}}_exit(void)
{
	nf_unregister_net_hook(&init_net, &{{name}}_ops);
	pr_info("saw %lld packets\n", (long long)atomic64_read(&{{name}}_packets));
}
`,
  ),
};

const kprobe: ModuleTemplate = {
  id: 'kprobe',
  label: 'kprobe',
  detail: 'a kprobe on a kernel function (symbol= parameter)',
  snippetPrefix: 'lkm-kprobe',
  placeholders: commonPlaceholders('A kprobe counting calls of a kernel function', [{ key: 'symbol', default: 'kernel_clone' }]),
  files: singleFile(
    ['linux/atomic.h', 'linux/kallsyms.h', 'linux/kprobes.h'],
    c`
static char {{name}}_symbol[KSYM_NAME_LEN] = "{{symbol}}";
module_param_string(symbol, {{name}}_symbol, sizeof({{name}}_symbol), 0444);
MODULE_PARM_DESC(symbol, "Kernel function to probe");

static atomic_long_t {{name}}_hits = ATOMIC_LONG_INIT(0);

/* Runs with preemption disabled before the probed instruction: never sleep here. */
static int {{name}}_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_long_inc(&{{name}}_hits);
	return 0;
}

static struct kprobe {{name}}_probe = {
	.symbol_name = {{name}}_symbol,
	.pre_handler = {{name}}_pre,
};

static int __init {{name}}_init(void)
{
	int ret;

	ret = register_kprobe(&{{name}}_probe);
	if (ret) {
		pr_err("cannot probe %s: %d\n", {{name}}_symbol, ret);
		return ret;
	}
	pr_info("probing %s at %pS\n", {{name}}_symbol, {{name}}_probe.addr);
	return 0;
}

static void __exit {{name}}_exit(void)
{
	unregister_kprobe(&{{name}}_probe);
	pr_info("%s was called %ld times\n", {{name}}_symbol, atomic_long_read(&{{name}}_hits));
}
`,
  ),
};

const threadedIrq: ModuleTemplate = {
  id: 'irq',
  label: 'Threaded IRQ handler',
  detail: 'request_threaded_irq with a hard-IRQ half and a thread half (irq= parameter)',
  snippetPrefix: 'lkm-irq',
  placeholders: commonPlaceholders('A threaded interrupt handler'),
  files: singleFile(
    ['linux/atomic.h', 'linux/interrupt.h', 'linux/moduleparam.h'],
    c`
static int {{name}}_irq = -1;
module_param_named(irq, {{name}}_irq, int, 0444);
MODULE_PARM_DESC(irq, "Interrupt line to handle (required)");

static atomic_t {{name}}_count = ATOMIC_INIT(0);

/* Hard-IRQ context: acknowledge the device, then defer the rest to the thread. */
static irqreturn_t {{name}}_hardirq(int irq, void *dev_id)
{
	return IRQ_WAKE_THREAD;
}

/* Process context: may sleep. */
static irqreturn_t {{name}}_thread_fn(int irq, void *dev_id)
{
	atomic_inc(&{{name}}_count);
	return IRQ_HANDLED;
}

static int __init {{name}}_init(void)
{
	int ret;

	if ({{name}}_irq < 0) {
		pr_err("irq= parameter is required\n");
		return -EINVAL;
	}
	/* IRQF_ONESHOT keeps the line masked until the thread half has run. */
	ret = request_threaded_irq({{name}}_irq, {{name}}_hardirq, {{name}}_thread_fn, IRQF_ONESHOT, "{{name}}", &{{name}}_count);
	if (ret) {
		pr_err("cannot request IRQ %d: %d\n", {{name}}_irq, ret);
		return ret;
	}
	return 0;
}

static void __exit {{name}}_exit(void)
{
	free_irq({{name}}_irq, &{{name}}_count);
	pr_info("handled %d interrupts\n", atomic_read(&{{name}}_count));
}
`,
  ),
  loadParameters: 'irq=5',
};

const exportedSymbol: ModuleTemplate = {
  id: 'export',
  label: 'Exported symbol (EXPORT_SYMBOL_GPL)',
  detail: 'a helper for other modules, declared in a header they include',
  snippetPrefix: 'lkm-export',
  placeholders: commonPlaceholders('A helper exported to other GPL modules'),
  files: [
    singleFile(
      [],
      c`
#include "{{name}}.h"

/* Callers include {{name}}.h; the symbol resolves when this module is loaded first. */
int {{name}}_add(int a, int b)
{
	return a + b;
}
EXPORT_SYMBOL_GPL({{name}}_add);

static int __init {{name}}_init(void)
{
	pr_info("2 + 3 = %d\n", {{name}}_add(2, 3));
	return 0;
}

static void __exit {{name}}_exit(void)
{
}
`,
    )[0],
    {
      path: '{{name}}.h',
      text: c`/* SPDX-License-Identifier: GPL-2.0 */
#ifndef {{NAME}}_H
#define {{NAME}}_H

int {{name}}_add(int a, int b);

#endif /* {{NAME}}_H */
`,
    },
  ],
};

const multiFile: ModuleTemplate = {
  id: 'multifile',
  label: 'Multi-file module',
  detail: 'one module linked from two sources (<mod>-y in the Makefile)',
  placeholders: commonPlaceholders('A module built from several source files'),
  objects: multiFileObjects,
  files: [
    {
      // The main file must not be {{name}}.c: kbuild would take it for the module's only source.
      path: '{{name}}_main.c',
      text:
        header([]) +
        c`#include "{{name}}_util.h"

static int __init {{name}}_init(void)
{
	pr_info("%s\n", {{name}}_greeting());
	return 0;
}

static void __exit {{name}}_exit(void)
{
}
` +
        initExitRegistration +
        moduleInfo,
    },
    {
      path: '{{name}}_util.c',
      text: c`// SPDX-License-Identifier: GPL-2.0
#include "{{name}}_util.h"

const char *{{name}}_greeting(void)
{
	return "hello from a second source file";
}
`,
    },
    {
      path: '{{name}}_util.h',
      text: c`/* SPDX-License-Identifier: GPL-2.0 */
#ifndef {{NAME}}_UTIL_H
#define {{NAME}}_UTIL_H

const char *{{name}}_greeting(void);

#endif /* {{NAME}}_UTIL_H */
`,
    },
  ],
};

export const moduleTemplates: readonly ModuleTemplate[] = [
  skeleton,
  parameters,
  characterDevice,
  miscDevice,
  platformDriver,
  procfsEntry,
  sysfsAttributes,
  debugfsFiles,
  kernelThread,
  workqueue,
  timer,
  tasklet,
  waitQueue,
  lockedList('spinlock'),
  lockedList('mutex'),
  netfilterHook,
  kprobe,
  threadedIrq,
  exportedSymbol,
  multiFile,
];

export function findTemplate(id: string): ModuleTemplate {
  const template = moduleTemplates.find((candidate) => candidate.id === id);
  if (!template) throw new Error(`unknown template '${id}'; known: ${moduleTemplates.map((t) => t.id).join(', ')}`);
  return template;
}
