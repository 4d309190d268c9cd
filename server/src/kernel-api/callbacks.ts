// Which registrations make a function run in which execution context, as data.

/** Atomic contexts forbid sleeping; `process` is ordinary task context. */
export type ExecutionContext = 'hardirq' | 'softirq' | 'process';

export interface ContextDescription {
  context: ExecutionContext;
  /** How a message names it: "hard IRQ handler", "timer callback", "work item"… */
  role: string;
  /** In a module that uses this identifier the callback runs in process context instead. */
  processContextIfModuleUses?: string;
  /** The callback may return holding locks that its partner releases (seq_file `.start` → `.stop`). */
  handsLocksTo?: string;
}

/** A call that registers a function pointer argument as a callback: `request_irq(irq, handler, …)`. */
export interface CallbackRegistration extends ContextDescription {
  function: string;
  callbackArg: number;
}

/** A struct field that holds a callback: `.hook` of `struct nf_hook_ops`, `->function` of a timer. */
export interface CallbackField extends ContextDescription {
  field: string;
  /** The struct whose field it is: a registration counts where the struct type is known to be this one. */
  struct: string;
  /**
   * No other struct of the kernel headers has a function pointer by this name (checked against the 6.1
   * headers in kernelApi.test.ts): `x->field = fn` counts even where the type of `x` is not visible.
   */
  uniqueField?: true;
}

/**
 * A registration may have several rows (request_threaded_irq: the primary handler and the thread).
 * 'softirq' stands for every "bottom half" context — softirq, tasklet, BH-disabled sections —
 * where sleeping is forbidden but hard interrupts are enabled.
 */
export const CALLBACK_REGISTRATIONS: readonly CallbackRegistration[] = [
  // include/linux/interrupt.h — IRQ handlers. request_any_context_irq() may pick either a hard
  // or a threaded handler at run time: the stricter one is assumed.
  { function: 'request_irq', callbackArg: 1, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'request_threaded_irq', callbackArg: 1, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'request_threaded_irq', callbackArg: 2, context: 'process', role: 'threaded IRQ handler' },
  { function: 'request_any_context_irq', callbackArg: 1, context: 'hardirq', role: 'IRQ handler (hard or threaded)' },
  { function: 'request_percpu_irq', callbackArg: 1, context: 'hardirq', role: 'per-CPU hard IRQ handler' },
  { function: 'request_nmi', callbackArg: 1, context: 'hardirq', role: 'NMI handler' },
  { function: 'request_percpu_nmi', callbackArg: 1, context: 'hardirq', role: 'per-CPU NMI handler' },
  { function: 'devm_request_irq', callbackArg: 2, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'devm_request_threaded_irq', callbackArg: 2, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'devm_request_threaded_irq', callbackArg: 3, context: 'process', role: 'threaded IRQ handler' },
  { function: 'devm_request_any_context_irq', callbackArg: 2, context: 'hardirq', role: 'IRQ handler (hard or threaded)' },

  // include/linux/irq.h, irqdesc.h — flow handlers (chained interrupt controllers) run in hard IRQ context.
  { function: 'irq_set_handler', callbackArg: 1, context: 'hardirq', role: 'IRQ flow handler' },
  { function: 'irq_set_handler_locked', callbackArg: 1, context: 'hardirq', role: 'IRQ flow handler' },
  { function: 'irq_set_chip_and_handler', callbackArg: 2, context: 'hardirq', role: 'IRQ flow handler' },
  { function: 'irq_set_chained_handler', callbackArg: 1, context: 'hardirq', role: 'chained IRQ flow handler' },
  { function: 'irq_set_chained_handler_and_data', callbackArg: 1, context: 'hardirq', role: 'chained IRQ flow handler' },

  // include/linux/interrupt.h — tasklets run in softirq context.
  { function: 'tasklet_init', callbackArg: 1, context: 'softirq', role: 'tasklet' },
  { function: 'tasklet_setup', callbackArg: 1, context: 'softirq', role: 'tasklet' },
  { function: 'DECLARE_TASKLET', callbackArg: 1, context: 'softirq', role: 'tasklet' },
  { function: 'DECLARE_TASKLET_DISABLED', callbackArg: 1, context: 'softirq', role: 'tasklet' },
  { function: 'DECLARE_TASKLET_OLD', callbackArg: 1, context: 'softirq', role: 'tasklet' },
  { function: 'DECLARE_TASKLET_DISABLED_OLD', callbackArg: 1, context: 'softirq', role: 'tasklet' },

  // include/linux/timer.h — timer_list callbacks run from the timer softirq.
  { function: 'timer_setup', callbackArg: 1, context: 'softirq', role: 'timer callback' },
  { function: 'timer_setup_on_stack', callbackArg: 1, context: 'softirq', role: 'timer callback' },
  { function: 'DEFINE_TIMER', callbackArg: 1, context: 'softirq', role: 'timer callback' },
  // include/linux/hrtimer.h — mainline (6.13+) hrtimer_setup(); hrtimers expire in hard IRQ
  // context unless HRTIMER_MODE_SOFT is used.
  { function: 'hrtimer_setup', callbackArg: 1, context: 'hardirq', role: 'hrtimer callback' },

  // include/linux/irq_work.h — irq_work runs from the IRQ work interrupt.
  { function: 'init_irq_work', callbackArg: 1, context: 'hardirq', role: 'irq_work callback' },
  { function: 'IRQ_WORK_INIT', callbackArg: 0, context: 'hardirq', role: 'irq_work callback' },
  { function: 'DEFINE_IRQ_WORK', callbackArg: 1, context: 'hardirq', role: 'irq_work callback' },

  // include/linux/smp.h — cross-CPU function calls run in the IPI handler, interrupts off.
  { function: 'smp_call_function_single', callbackArg: 1, context: 'hardirq', role: 'cross-CPU call (IPI)' },
  { function: 'smp_call_function', callbackArg: 0, context: 'hardirq', role: 'cross-CPU call (IPI)' },
  { function: 'smp_call_function_many', callbackArg: 1, context: 'hardirq', role: 'cross-CPU call (IPI)' },
  { function: 'on_each_cpu', callbackArg: 0, context: 'hardirq', role: 'cross-CPU call (IPI)' },
  { function: 'on_each_cpu_mask', callbackArg: 1, context: 'hardirq', role: 'cross-CPU call (IPI)' },

  // include/linux/rcupdate.h, srcu.h — RCU callbacks run from softirq (or an rcuo kthread with
  // BH disabled); SRCU invokes them from a work item with BH disabled.
  { function: 'call_rcu', callbackArg: 1, context: 'softirq', role: 'RCU callback' },
  { function: 'call_srcu', callbackArg: 2, context: 'softirq', role: 'SRCU callback' },

  // include/linux/netdevice.h — NAPI poll runs in the NET_RX softirq.
  { function: 'netif_napi_add', callbackArg: 2, context: 'softirq', role: 'NAPI poll' },
  { function: 'netif_napi_add_weight', callbackArg: 2, context: 'softirq', role: 'NAPI poll' },
  { function: 'netif_napi_add_tx', callbackArg: 2, context: 'softirq', role: 'NAPI poll' },
  { function: 'netif_napi_add_tx_weight', callbackArg: 2, context: 'softirq', role: 'NAPI poll' },

  // include/linux/usb.h — URB completion handlers run in interrupt context (hard IRQ, or the
  // host controller's BH on most controllers).
  { function: 'usb_fill_control_urb', callbackArg: 6, context: 'softirq', role: 'URB completion handler' },
  { function: 'usb_fill_bulk_urb', callbackArg: 5, context: 'softirq', role: 'URB completion handler' },
  { function: 'usb_fill_int_urb', callbackArg: 5, context: 'softirq', role: 'URB completion handler' },

  // include/linux/workqueue.h, kthread.h — work items and kthreads run in process context.
  { function: 'INIT_WORK', callbackArg: 1, context: 'process', role: 'work item' },
  { function: 'INIT_WORK_ONSTACK', callbackArg: 1, context: 'process', role: 'work item' },
  { function: 'INIT_DELAYED_WORK', callbackArg: 1, context: 'process', role: 'delayed work item' },
  { function: 'INIT_DELAYED_WORK_ONSTACK', callbackArg: 1, context: 'process', role: 'delayed work item' },
  { function: 'INIT_DEFERRABLE_WORK', callbackArg: 1, context: 'process', role: 'delayed work item' },
  { function: 'INIT_RCU_WORK', callbackArg: 1, context: 'process', role: 'RCU work item' },
  { function: 'DECLARE_WORK', callbackArg: 1, context: 'process', role: 'work item' },
  { function: 'DECLARE_DELAYED_WORK', callbackArg: 1, context: 'process', role: 'delayed work item' },
  { function: 'DECLARE_DEFERRABLE_WORK', callbackArg: 1, context: 'process', role: 'delayed work item' },
  { function: 'work_on_cpu', callbackArg: 1, context: 'process', role: 'work item' },
  { function: 'kthread_init_work', callbackArg: 1, context: 'process', role: 'kthread work' },
  { function: 'kthread_init_delayed_work', callbackArg: 1, context: 'process', role: 'kthread work' },
  { function: 'kthread_create', callbackArg: 0, context: 'process', role: 'kernel thread' },
  { function: 'kthread_run', callbackArg: 0, context: 'process', role: 'kernel thread' },
  { function: 'kthread_create_on_node', callbackArg: 0, context: 'process', role: 'kernel thread' },
  { function: 'kthread_create_on_cpu', callbackArg: 0, context: 'process', role: 'kernel thread' },
  { function: 'kthread_run_on_cpu', callbackArg: 0, context: 'process', role: 'kernel thread' },

  // include/linux/mmc/sdio_func.h — SDIO interrupts are handled by a kthread with the host claimed.
  { function: 'sdio_claim_irq', callbackArg: 1, context: 'process', role: 'SDIO IRQ handler' },

  // include/linux/cpuhotplug.h — hotplug callbacks of dynamic/prepare states run in process context.
  { function: 'cpuhp_setup_state', callbackArg: 2, context: 'process', role: 'CPU hotplug startup callback' },
  { function: 'cpuhp_setup_state', callbackArg: 3, context: 'process', role: 'CPU hotplug teardown callback' },
  { function: 'cpuhp_setup_state_nocalls', callbackArg: 2, context: 'process', role: 'CPU hotplug startup callback' },
  { function: 'cpuhp_setup_state_nocalls', callbackArg: 3, context: 'process', role: 'CPU hotplug teardown callback' },

  // include/linux/device.h — devres actions run when the device is unbound.
  { function: 'devm_add_action', callbackArg: 1, context: 'process', role: 'devres release action' },
  { function: 'devm_add_action_or_reset', callbackArg: 1, context: 'process', role: 'devres release action' },

  // include/linux/module.h, init.h — module and built-in initialisation.
  { function: 'module_init', callbackArg: 0, context: 'process', role: 'module init function' },
  { function: 'module_exit', callbackArg: 0, context: 'process', role: 'module exit function' },
  { function: 'core_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'postcore_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'arch_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'subsys_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'fs_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'rootfs_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'device_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'late_initcall', callbackArg: 0, context: 'process', role: 'initcall' },
  { function: 'late_initcall_sync', callbackArg: 0, context: 'process', role: 'initcall' },
];

/**
 * Struct fields holding callbacks. A field name used by several structs with different contexts
 * (`poll`, `function`, `func`, `complete`) carries the struct on every row: the analysis must only
 * apply those rows when it sees the struct type.
 */
export const CALLBACK_FIELDS: readonly CallbackField[] = [
  // include/linux/netfilter.h
  { field: 'hook', struct: 'nf_hook_ops', context: 'softirq', role: 'netfilter hook' },

  // include/linux/timer.h, hrtimer.h, irq_work.h, interrupt.h, workqueue.h — deferred execution.
  { field: 'function', struct: 'timer_list', context: 'softirq', role: 'timer callback' },
  { field: 'function', struct: 'hrtimer', context: 'hardirq', role: 'hrtimer callback' },
  { field: 'func', struct: 'irq_work', context: 'hardirq', role: 'irq_work callback' },
  { field: 'func', struct: 'tasklet_struct', context: 'softirq', role: 'tasklet' },
  { field: 'callback', struct: 'tasklet_struct', context: 'softirq', role: 'tasklet' },
  { field: 'func', struct: 'work_struct', context: 'process', role: 'work item' },

  // include/linux/fs.h — file operations run in the calling task's context.
  { field: 'open', struct: 'file_operations', context: 'process', role: 'file open' },
  { field: 'release', struct: 'file_operations', context: 'process', role: 'file release' },
  { field: 'read', struct: 'file_operations', context: 'process', role: 'file read' },
  { field: 'write', struct: 'file_operations', context: 'process', role: 'file write' },
  { field: 'read_iter', struct: 'file_operations', uniqueField: true, context: 'process', role: 'file read' },
  { field: 'write_iter', struct: 'file_operations', uniqueField: true, context: 'process', role: 'file write' },
  { field: 'llseek', struct: 'file_operations', context: 'process', role: 'file llseek' },
  { field: 'unlocked_ioctl', struct: 'file_operations', context: 'process', role: 'ioctl handler' },
  { field: 'compat_ioctl', struct: 'file_operations', context: 'process', role: 'ioctl handler' },
  { field: 'mmap', struct: 'file_operations', context: 'process', role: 'file mmap' },
  { field: 'poll', struct: 'file_operations', context: 'process', role: 'file poll' },
  { field: 'flush', struct: 'file_operations', context: 'process', role: 'file flush' },
  { field: 'fsync', struct: 'file_operations', uniqueField: true, context: 'process', role: 'file fsync' },
  { field: 'fasync', struct: 'file_operations', uniqueField: true, context: 'process', role: 'file fasync' },

  // include/linux/proc_fs.h, seq_file.h
  { field: 'proc_open', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file open' },
  { field: 'proc_release', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file release' },
  { field: 'proc_read', struct: 'proc_ops', context: 'process', role: 'proc file read' },
  { field: 'proc_read_iter', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file read' },
  { field: 'proc_write', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file write' },
  { field: 'proc_lseek', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file llseek' },
  { field: 'proc_poll', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file poll' },
  { field: 'proc_ioctl', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc ioctl handler' },
  { field: 'proc_mmap', struct: 'proc_ops', uniqueField: true, context: 'process', role: 'proc file mmap' },
  // Documentation/filesystems/seq_file.rst: start() takes the lock, stop() (always called) drops it.
  { field: 'start', struct: 'seq_operations', context: 'process', role: 'seq_file start', handsLocksTo: 'stop' },
  { field: 'next', struct: 'seq_operations', context: 'process', role: 'seq_file next' },
  { field: 'stop', struct: 'seq_operations', context: 'process', role: 'seq_file stop' },
  { field: 'show', struct: 'seq_operations', context: 'process', role: 'seq_file show' },

  // include/linux/device.h, sysfs.h, kobject.h — sysfs attribute handlers.
  { field: 'show', struct: 'device_attribute', context: 'process', role: 'sysfs show' },
  { field: 'store', struct: 'device_attribute', context: 'process', role: 'sysfs store' },
  { field: 'show', struct: 'kobj_attribute', context: 'process', role: 'sysfs show' },
  { field: 'store', struct: 'kobj_attribute', context: 'process', role: 'sysfs store' },

  // Bus drivers: probe/remove run in process context (driver core, device lock held).
  { field: 'probe', struct: 'platform_driver', context: 'process', role: 'driver probe' },
  { field: 'remove', struct: 'platform_driver', context: 'process', role: 'driver remove' },
  { field: 'shutdown', struct: 'platform_driver', context: 'process', role: 'driver shutdown' },
  { field: 'probe', struct: 'pci_driver', context: 'process', role: 'driver probe' },
  { field: 'remove', struct: 'pci_driver', context: 'process', role: 'driver remove' },
  { field: 'shutdown', struct: 'pci_driver', context: 'process', role: 'driver shutdown' },
  { field: 'probe', struct: 'i2c_driver', context: 'process', role: 'driver probe' },
  { field: 'probe_new', struct: 'i2c_driver', uniqueField: true, context: 'process', role: 'driver probe' },
  { field: 'remove', struct: 'i2c_driver', context: 'process', role: 'driver remove' },
  { field: 'probe', struct: 'spi_driver', context: 'process', role: 'driver probe' },
  { field: 'remove', struct: 'spi_driver', context: 'process', role: 'driver remove' },
  { field: 'probe', struct: 'usb_driver', context: 'process', role: 'driver probe' },
  { field: 'disconnect', struct: 'usb_driver', context: 'process', role: 'driver disconnect' },
  { field: 'probe', struct: 'device_driver', context: 'process', role: 'driver probe' },
  { field: 'remove', struct: 'device_driver', context: 'process', role: 'driver remove' },

  // include/linux/pm.h — system sleep and runtime PM callbacks (runtime ones run in atomic
  // context only for pm_runtime_irq_safe() devices, which is not assumed).
  { field: 'suspend', struct: 'dev_pm_ops', context: 'process', role: 'PM suspend' },
  { field: 'resume', struct: 'dev_pm_ops', context: 'process', role: 'PM resume' },
  { field: 'freeze', struct: 'dev_pm_ops', context: 'process', role: 'PM freeze' },
  { field: 'thaw', struct: 'dev_pm_ops', context: 'process', role: 'PM thaw' },
  { field: 'poweroff', struct: 'dev_pm_ops', uniqueField: true, context: 'process', role: 'PM poweroff' },
  { field: 'restore', struct: 'dev_pm_ops', context: 'process', role: 'PM restore' },
  { field: 'runtime_suspend', struct: 'dev_pm_ops', uniqueField: true, context: 'process', role: 'runtime PM suspend' },
  { field: 'runtime_resume', struct: 'dev_pm_ops', uniqueField: true, context: 'process', role: 'runtime PM resume' },

  // include/linux/netdevice.h — ndo_start_xmit runs with BH disabled (and the TX queue lock
  // held); ndo_set_rx_mode under netif_addr_lock_bh; ndo_tx_timeout from the watchdog timer.
  { field: 'poll', struct: 'napi_struct', context: 'softirq', role: 'NAPI poll' },
  { field: 'ndo_start_xmit', struct: 'net_device_ops', uniqueField: true, context: 'softirq', role: 'ndo_start_xmit (BH disabled)' },
  { field: 'ndo_set_rx_mode', struct: 'net_device_ops', uniqueField: true, context: 'softirq', role: 'ndo_set_rx_mode (address lock held, BH disabled)' },
  { field: 'ndo_tx_timeout', struct: 'net_device_ops', uniqueField: true, context: 'softirq', role: 'ndo_tx_timeout (watchdog timer)' },
  // dev_get_stats() is called inside rcu_read_lock() by dev_seq_start() (net/core/net-procfs.c) and
  // under spinlocks by bonding: .ndo_get_stats64 must not sleep.
  { field: 'ndo_get_stats64', struct: 'net_device_ops', uniqueField: true, context: 'softirq', role: 'ndo_get_stats64 (RCU read side)' },
  { field: 'ndo_open', struct: 'net_device_ops', uniqueField: true, context: 'process', role: 'ndo_open (RTNL held)' },
  { field: 'ndo_stop', struct: 'net_device_ops', uniqueField: true, context: 'process', role: 'ndo_stop (RTNL held)' },
  { field: 'ndo_change_mtu', struct: 'net_device_ops', uniqueField: true, context: 'process', role: 'ndo_change_mtu (RTNL held)' },
  { field: 'ndo_set_mac_address', struct: 'net_device_ops', uniqueField: true, context: 'process', role: 'ndo_set_mac_address (RTNL held)' },
  { field: 'ndo_eth_ioctl', struct: 'net_device_ops', context: 'process', role: 'ndo_eth_ioctl' },

  // include/linux/irq.h — irq_chip callbacks run with the descriptor's raw spinlock held and
  // interrupts off, except the bus lock pair, which exists so slow-bus chips can sleep.
  { field: 'irq_mask', struct: 'irq_chip', context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_unmask', struct: 'irq_chip', context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_ack', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_mask_ack', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_eoi', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_enable', struct: 'irq_chip', context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_disable', struct: 'irq_chip', context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_set_type', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_set_affinity', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_set_wake', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_retrigger', struct: 'irq_chip', uniqueField: true, context: 'hardirq', role: 'irq_chip callback' },
  { field: 'irq_bus_lock', struct: 'irq_chip', uniqueField: true, context: 'process', role: 'irq_chip bus lock' },
  { field: 'irq_bus_sync_unlock', struct: 'irq_chip', uniqueField: true, context: 'process', role: 'irq_chip bus sync' },

  // include/sound/pcm.h — trigger and pointer run under the PCM stream spinlock (non-atomic
  // streams excepted); the others may sleep.
  { field: 'trigger', struct: 'snd_pcm_ops', context: 'softirq', role: 'PCM trigger (stream lock held)' },
  { field: 'pointer', struct: 'snd_pcm_ops', context: 'softirq', role: 'PCM pointer (stream lock held)' },
  { field: 'open', struct: 'snd_pcm_ops', context: 'process', role: 'PCM open' },
  { field: 'close', struct: 'snd_pcm_ops', context: 'process', role: 'PCM close' },
  { field: 'hw_params', struct: 'snd_pcm_ops', context: 'process', role: 'PCM hw_params' },
  { field: 'prepare', struct: 'snd_pcm_ops', context: 'process', role: 'PCM prepare' },

  // include/linux/clk-provider.h — clk_core_enable()/clk_core_disable() (drivers/clk/clk.c) call
  // .enable/.disable with enable_lock (a spinlock, interrupts off) held; clk_core_is_enabled() is
  // called under it by clk_disable_unused_subtree(); .prepare/.unprepare run under prepare_lock (a mutex).
  { field: 'enable', struct: 'clk_ops', context: 'hardirq', role: 'clk .enable (enable_lock held, interrupts off)' },
  { field: 'disable', struct: 'clk_ops', context: 'hardirq', role: 'clk .disable (enable_lock held, interrupts off)' },
  { field: 'prepare', struct: 'clk_ops', context: 'process', role: 'clk .prepare (prepare_lock held)' },
  { field: 'unprepare', struct: 'clk_ops', context: 'process', role: 'clk .unprepare (prepare_lock held)' },

  // include/linux/dma-fence.h — .enable_signaling is called by __dma_fence_enable_signaling()
  // (drivers/dma-buf/dma-fence.c) with fence->lock held, interrupts off; .signaled by
  // dma_fence_is_signaled_locked() under it and by dma_fence_is_signaled() from any context.
  { field: 'enable_signaling', struct: 'dma_fence_ops', uniqueField: true, context: 'hardirq', role: 'dma_fence .enable_signaling (fence lock held)' },
  { field: 'signaled', struct: 'dma_fence_ops', uniqueField: true, context: 'hardirq', role: 'dma_fence .signaled (fence lock may be held)' },

  // include/linux/serial_core.h — drivers/tty/serial/serial_core.c calls these with the port's
  // spinlock held, interrupts off: uart_stop()/__uart_start() (.stop_tx/.start_tx),
  // uart_update_mctrl() (.set_mctrl), uart_tiocmget() (.get_mctrl), uart_wait_modem_status()
  // (.enable_ms), uart_tty_port_shutdown() (.stop_rx). .startup/.shutdown/.set_termios may sleep.
  { field: 'start_tx', struct: 'uart_ops', context: 'hardirq', role: 'uart .start_tx (port lock held)' },
  { field: 'stop_tx', struct: 'uart_ops', context: 'hardirq', role: 'uart .stop_tx (port lock held)' },
  { field: 'stop_rx', struct: 'uart_ops', uniqueField: true, context: 'hardirq', role: 'uart .stop_rx (port lock held)' },
  { field: 'set_mctrl', struct: 'uart_ops', context: 'hardirq', role: 'uart .set_mctrl (port lock held)' },
  { field: 'get_mctrl', struct: 'uart_ops', context: 'hardirq', role: 'uart .get_mctrl (port lock held)' },
  { field: 'enable_ms', struct: 'uart_ops', uniqueField: true, context: 'hardirq', role: 'uart .enable_ms (port lock held)' },
  { field: 'startup', struct: 'uart_ops', context: 'process', role: 'uart .startup (port mutex held)' },
  { field: 'shutdown', struct: 'uart_ops', context: 'process', role: 'uart .shutdown (port mutex held)' },

  // include/linux/leds.h: "brightness_set … Must not sleep" — led_set_brightness_nosleep() calls it
  // from timer and softirq context (drivers/leds/led-core.c); brightness_set_blocking may sleep.
  { field: 'brightness_set', struct: 'led_classdev', uniqueField: true, context: 'softirq', role: 'LED .brightness_set (must not sleep)' },
  { field: 'brightness_set_blocking', struct: 'led_classdev', uniqueField: true, context: 'process', role: 'LED .brightness_set_blocking' },

  // include/linux/i2c.h — .master_xfer_atomic is what __i2c_transfer() uses when i2c_in_atomic_xfer_mode().
  { field: 'master_xfer_atomic', struct: 'i2c_algorithm', uniqueField: true, context: 'hardirq', role: 'I2C atomic transfer (interrupts off)' },

  // include/linux/clockchips.h — clockevents_program_event() and the state changes run with
  // interrupts off (kernel/time/clockevents.c, called from the tick code).
  { field: 'set_next_event', struct: 'clock_event_device', uniqueField: true, context: 'hardirq', role: 'clockevent .set_next_event (interrupts off)' },
  { field: 'set_state_oneshot', struct: 'clock_event_device', uniqueField: true, context: 'hardirq', role: 'clockevent state change (interrupts off)' },
  { field: 'set_state_periodic', struct: 'clock_event_device', uniqueField: true, context: 'hardirq', role: 'clockevent state change (interrupts off)' },
  { field: 'set_state_shutdown', struct: 'clock_event_device', uniqueField: true, context: 'hardirq', role: 'clockevent state change (interrupts off)' },

  // include/net/mac80211.h — the ieee80211_ops whose kernel-doc says "must be atomic" (mac80211 calls
  // them from its TX path with BH off, or under its spinlocks).
  { field: 'tx', struct: 'ieee80211_ops', context: 'softirq', role: 'mac80211 .tx (must be atomic)' },
  { field: 'sta_notify', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .sta_notify (must be atomic)' },
  { field: 'set_tim', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .set_tim (must be atomic)' },
  { field: 'update_tkip_key', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .update_tkip_key (must be atomic)' },
  { field: 'get_key_seq', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .get_key_seq (must be atomic)' },
  { field: 'prepare_multicast', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .prepare_multicast (must be atomic)' },
  { field: 'sta_rc_update', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .sta_rc_update (must be atomic)' },
  { field: 'sta_rate_tbl_update', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .sta_rate_tbl_update (must be atomic)' },
  { field: 'allow_buffered_frames', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .allow_buffered_frames (must be atomic)' },
  { field: 'release_buffered_frames', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .release_buffered_frames (must be atomic)' },
  { field: 'event_callback', struct: 'ieee80211_ops', context: 'softirq', role: 'mac80211 .event_callback (must be atomic)' },
  { field: 'ipv6_addr_change', struct: 'ieee80211_ops', uniqueField: true, context: 'softirq', role: 'mac80211 .ipv6_addr_change (must be atomic)' },

  // include/linux/usb.h, dmaengine.h, blk-mq.h — completions in interrupt/BH context.
  { field: 'complete', struct: 'urb', context: 'softirq', role: 'URB completion handler' },
  { field: 'callback', struct: 'dma_async_tx_descriptor', context: 'softirq', role: 'DMA completion callback' },
  { field: 'queue_rq', struct: 'blk_mq_ops', uniqueField: true, context: 'softirq', role: 'blk-mq queue_rq (an RCU read side)', processContextIfModuleUses: 'BLK_MQ_F_BLOCKING' },
  { field: 'complete', struct: 'blk_mq_ops', context: 'softirq', role: 'blk-mq completion' },
];
