// Which kernel calls take and release which lock, as data. The lock-state engine
// (analysis/lockState.ts) knows no API names: a new locking primitive is a row here.

/** The kind of lock. Holding one of ATOMIC_LOCK_CLASSES makes the context atomic (no sleeping). */
export type LockClass =
  | 'spinlock' | 'raw_spinlock' | 'rwlock' | 'seqlock' | 'mutex' | 'rt_mutex' | 'rwsem' | 'semaphore'
  | 'rcu' | 'srcu' | 'irq' | 'bh' | 'preempt' | 'local_lock';

export type LockMode = 'exclusive' | 'shared';

/** How interrupts/softirqs are treated while taking the lock; a release must use the same variant. */
export type LockVariant = 'plain' | 'irq' | 'irqsave' | 'bh';

export interface LockOperation {
  name: string;
  /**
   * acquire / release; `conditional`: acquires only on success — the call's return value tells
   * (`successWhen`), and the analysis follows the branch that tests it.
   */
  op: 'acquire' | 'release' | 'conditional';
  lockClass: LockClass;
  mode: LockMode;
  variant: LockVariant;
  /** Index of the argument naming the lock; absent for CPU-wide states (rcu, irq, bh, preempt). */
  lockArg?: number;
  /**
   * For APIs that always take the same global lock and so have no lock argument (rtnl_lock() →
   * `rtnl_mutex`): that lock's name, to use as the lock's identity.
   */
  lockName?: string;
  /**
   * The lock is a member of the argument rather than the argument itself: `uart_port_lock(port)` takes
   * `&port->lock`.
   */
  lockMember?: string;
  /** For `conditional`: the return value on success. Trylocks return non-zero, *_interruptible zero. */
  successWhen?: 'zero' | 'nonzero';
}

export const ATOMIC_LOCK_CLASSES: ReadonlySet<LockClass> = new Set<LockClass>([
  'spinlock', 'raw_spinlock', 'rwlock', 'seqlock', 'rcu', 'irq', 'bh', 'preempt', 'local_lock',
]);

/**
 * A call may match several rows (downgrade_write); they apply in table order. For each
 * class/mode/variant the first release row is the canonical one (spin_unlock, preempt_enable…).
 */
export const LOCK_OPERATIONS: readonly LockOperation[] = [
  // include/linux/spinlock.h — spinlock_t. *_nested / *_nest_lock only add a lockdep subclass.
  { name: 'spin_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_lock_nested', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_lock_nest_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_lock_bh', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'spin_lock_irq', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'spin_lock_irqsave', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'spin_lock_irqsave_nested', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'spin_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_unlock_bh', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'spin_unlock_irq', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'spin_unlock_irqrestore', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'spin_trylock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'spin_trylock_bh', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, successWhen: 'nonzero' },
  { name: 'spin_trylock_irq', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0, successWhen: 'nonzero' },
  { name: 'spin_trylock_irqsave', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, successWhen: 'nonzero' },
  // Drop the reference; take the lock only when the count reaches zero (returns true holding it).
  { name: 'atomic_dec_and_lock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 1, successWhen: 'nonzero' },
  { name: 'atomic_dec_and_lock_irqsave', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 1, successWhen: 'nonzero' },

  // include/linux/spinlock.h — raw_spinlock_t (stays a spinning lock on PREEMPT_RT).
  { name: 'raw_spin_lock', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'raw_spin_lock_nested', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'raw_spin_lock_nest_lock', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'raw_spin_lock_bh', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'raw_spin_lock_irq', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'raw_spin_lock_irqsave', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'raw_spin_lock_irqsave_nested', op: 'acquire', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'raw_spin_unlock', op: 'release', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'raw_spin_unlock_bh', op: 'release', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'raw_spin_unlock_irq', op: 'release', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'raw_spin_unlock_irqrestore', op: 'release', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'raw_spin_trylock', op: 'conditional', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'raw_spin_trylock_bh', op: 'conditional', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, successWhen: 'nonzero' },
  { name: 'raw_spin_trylock_irq', op: 'conditional', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0, successWhen: 'nonzero' },
  { name: 'raw_spin_trylock_irqsave', op: 'conditional', lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, successWhen: 'nonzero' },

  // include/linux/rwlock.h — rwlock_t: readers share, writers exclude.
  { name: 'read_lock', op: 'acquire', lockClass: 'rwlock', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'read_lock_bh', op: 'acquire', lockClass: 'rwlock', mode: 'shared', variant: 'bh', lockArg: 0 },
  { name: 'read_lock_irq', op: 'acquire', lockClass: 'rwlock', mode: 'shared', variant: 'irq', lockArg: 0 },
  { name: 'read_lock_irqsave', op: 'acquire', lockClass: 'rwlock', mode: 'shared', variant: 'irqsave', lockArg: 0 },
  { name: 'read_unlock', op: 'release', lockClass: 'rwlock', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'read_unlock_bh', op: 'release', lockClass: 'rwlock', mode: 'shared', variant: 'bh', lockArg: 0 },
  { name: 'read_unlock_irq', op: 'release', lockClass: 'rwlock', mode: 'shared', variant: 'irq', lockArg: 0 },
  { name: 'read_unlock_irqrestore', op: 'release', lockClass: 'rwlock', mode: 'shared', variant: 'irqsave', lockArg: 0 },
  { name: 'read_trylock', op: 'conditional', lockClass: 'rwlock', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'write_lock', op: 'acquire', lockClass: 'rwlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'write_lock_nested', op: 'acquire', lockClass: 'rwlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'write_lock_bh', op: 'acquire', lockClass: 'rwlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'write_lock_irq', op: 'acquire', lockClass: 'rwlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'write_lock_irqsave', op: 'acquire', lockClass: 'rwlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'write_unlock', op: 'release', lockClass: 'rwlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'write_unlock_bh', op: 'release', lockClass: 'rwlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'write_unlock_irq', op: 'release', lockClass: 'rwlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'write_unlock_irqrestore', op: 'release', lockClass: 'rwlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'write_trylock', op: 'conditional', lockClass: 'rwlock', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'write_trylock_irqsave', op: 'conditional', lockClass: 'rwlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, successWhen: 'nonzero' },

  // include/linux/seqlock.h — seqlock_t writers and locking readers. The lockless
  // read_seqbegin()/read_seqretry() loop takes nothing. read_seqlock_excl() excludes other
  // locking readers and writers, but is 'shared' here so that pairing it with write_sequnlock()
  // (which would bump the sequence) is reported as a mismatch.
  { name: 'write_seqlock', op: 'acquire', lockClass: 'seqlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'write_seqlock_bh', op: 'acquire', lockClass: 'seqlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'write_seqlock_irq', op: 'acquire', lockClass: 'seqlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'write_seqlock_irqsave', op: 'acquire', lockClass: 'seqlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'write_sequnlock', op: 'release', lockClass: 'seqlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'write_sequnlock_bh', op: 'release', lockClass: 'seqlock', mode: 'exclusive', variant: 'bh', lockArg: 0 },
  { name: 'write_sequnlock_irq', op: 'release', lockClass: 'seqlock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'write_sequnlock_irqrestore', op: 'release', lockClass: 'seqlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'read_seqlock_excl', op: 'acquire', lockClass: 'seqlock', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'read_seqlock_excl_bh', op: 'acquire', lockClass: 'seqlock', mode: 'shared', variant: 'bh', lockArg: 0 },
  { name: 'read_seqlock_excl_irq', op: 'acquire', lockClass: 'seqlock', mode: 'shared', variant: 'irq', lockArg: 0 },
  { name: 'read_seqlock_excl_irqsave', op: 'acquire', lockClass: 'seqlock', mode: 'shared', variant: 'irqsave', lockArg: 0 },
  { name: 'read_sequnlock_excl', op: 'release', lockClass: 'seqlock', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'read_sequnlock_excl_bh', op: 'release', lockClass: 'seqlock', mode: 'shared', variant: 'bh', lockArg: 0 },
  { name: 'read_sequnlock_excl_irq', op: 'release', lockClass: 'seqlock', mode: 'shared', variant: 'irq', lockArg: 0 },
  { name: 'read_sequnlock_excl_irqrestore', op: 'release', lockClass: 'seqlock', mode: 'shared', variant: 'irqsave', lockArg: 0 },

  // include/linux/mutex.h — sleeping lock. _interruptible/_killable return 0 when the lock was taken.
  { name: 'mutex_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_nested', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_nest_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_io', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_io_nested', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_interruptible', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mutex_lock_interruptible_nested', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mutex_lock_killable', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mutex_lock_killable_nested', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mutex_trylock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'mutex_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  // Decrement; take the mutex only when the count reaches zero (returns 1 holding it).
  { name: 'atomic_dec_and_mutex_lock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 1, successWhen: 'nonzero' },

  // include/linux/refcount.h — the refcount_t flavours of the above.
  { name: 'refcount_dec_and_lock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 1, successWhen: 'nonzero' },
  { name: 'refcount_dec_and_lock_irqsave', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 1, successWhen: 'nonzero' },
  { name: 'refcount_dec_and_mutex_lock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 1, successWhen: 'nonzero' },

  // include/linux/device.h, include/linux/pci.h — the device's own mutex (dev->mutex).
  { name: 'device_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'device_lock_interruptible', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'device_trylock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'device_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'pci_dev_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'pci_dev_trylock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'pci_dev_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },

  // include/linux/rtmutex.h — priority-inheriting sleeping lock.
  { name: 'rt_mutex_lock', op: 'acquire', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'rt_mutex_lock_nested', op: 'acquire', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'rt_mutex_lock_nest_lock', op: 'acquire', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'rt_mutex_lock_interruptible', op: 'conditional', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'rt_mutex_lock_killable', op: 'conditional', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'rt_mutex_trylock', op: 'conditional', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'rt_mutex_unlock', op: 'release', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },

  // include/linux/rwsem.h — sleeping reader/writer lock.
  { name: 'down_read', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'down_read_nested', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'down_read_non_owner', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'down_read_interruptible', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_read_killable', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_read_killable_nested', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_read_trylock', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'up_read', op: 'release', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'up_read_non_owner', op: 'release', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'down_write', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'down_write_nested', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'down_write_nest_lock', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'down_write_killable', op: 'conditional', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_write_killable_nested', op: 'conditional', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_write_trylock', op: 'conditional', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'up_write', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  // downgrade_write() turns the held write lock into a read lock without letting a writer in:
  // two rows, applied in order — the exclusive hold ends, a shared hold of the same lock begins.
  { name: 'downgrade_write', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'downgrade_write', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },

  // include/linux/semaphore.h — counting semaphore; every down* except down_trylock() may sleep.
  // down_trylock() returns 0 on SUCCESS (the opposite of the other trylocks).
  { name: 'down', op: 'acquire', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'down_interruptible', op: 'conditional', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_killable', op: 'conditional', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_timeout', op: 'conditional', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'down_trylock', op: 'conditional', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'up', op: 'release', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockArg: 0 },

  // include/linux/rcupdate.h — RCU read-side critical sections (CPU-wide, no lock argument).
  // rcu_read_lock_sched() is with the preempt rows below.
  { name: 'rcu_read_lock', op: 'acquire', lockClass: 'rcu', mode: 'shared', variant: 'plain' },
  { name: 'rcu_read_unlock', op: 'release', lockClass: 'rcu', mode: 'shared', variant: 'plain' },
  { name: 'rcu_read_lock_bh', op: 'acquire', lockClass: 'rcu', mode: 'shared', variant: 'bh' },
  { name: 'rcu_read_unlock_bh', op: 'release', lockClass: 'rcu', mode: 'shared', variant: 'bh' },

  // include/linux/srcu.h — sleepable RCU: a reader of one srcu_struct; sleeping is allowed inside.
  { name: 'srcu_read_lock', op: 'acquire', lockClass: 'srcu', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'srcu_read_lock_notrace', op: 'acquire', lockClass: 'srcu', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'srcu_read_unlock', op: 'release', lockClass: 'srcu', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'srcu_read_unlock_notrace', op: 'release', lockClass: 'srcu', mode: 'shared', variant: 'plain', lockArg: 0 },

  // include/linux/irqflags.h — local interrupt disabling (this CPU).
  { name: 'local_irq_disable', op: 'acquire', lockClass: 'irq', mode: 'exclusive', variant: 'irq' },
  { name: 'local_irq_enable', op: 'release', lockClass: 'irq', mode: 'exclusive', variant: 'irq' },
  { name: 'local_irq_save', op: 'acquire', lockClass: 'irq', mode: 'exclusive', variant: 'irqsave' },
  { name: 'local_irq_restore', op: 'release', lockClass: 'irq', mode: 'exclusive', variant: 'irqsave' },
  { name: 'raw_local_irq_disable', op: 'acquire', lockClass: 'irq', mode: 'exclusive', variant: 'irq' },
  { name: 'raw_local_irq_enable', op: 'release', lockClass: 'irq', mode: 'exclusive', variant: 'irq' },
  { name: 'raw_local_irq_save', op: 'acquire', lockClass: 'irq', mode: 'exclusive', variant: 'irqsave' },
  { name: 'raw_local_irq_restore', op: 'release', lockClass: 'irq', mode: 'exclusive', variant: 'irqsave' },

  // include/linux/bottom_half.h — softirq disabling (this CPU).
  { name: 'local_bh_disable', op: 'acquire', lockClass: 'bh', mode: 'exclusive', variant: 'bh' },
  { name: 'local_bh_enable', op: 'release', lockClass: 'bh', mode: 'exclusive', variant: 'bh' },
  { name: 'local_bh_enable_ip', op: 'release', lockClass: 'bh', mode: 'exclusive', variant: 'bh' },

  // include/linux/preempt.h, smp.h, percpu-defs.h — preemption disabling (this CPU).
  // get_cpu_var()/get_cpu_ptr() take a per-CPU variable, not a lock: no lockArg.
  { name: 'preempt_disable', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'preempt_enable', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'preempt_enable_no_resched', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'preempt_disable_notrace', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'preempt_enable_notrace', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'preempt_enable_no_resched_notrace', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'get_cpu', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'put_cpu', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'get_cpu_var', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'put_cpu_var', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'get_cpu_ptr', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'put_cpu_ptr', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  // rcu_read_lock_sched() is preempt_disable() plus lockdep annotation, so it is the preempt state:
  // since the RCU flavour consolidation any preempt-off region is an RCU reader.
  { name: 'rcu_read_lock_sched', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'rcu_read_unlock_sched', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'rcu_read_lock_sched_notrace', op: 'acquire', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },
  { name: 'rcu_read_unlock_sched_notrace', op: 'release', lockClass: 'preempt', mode: 'exclusive', variant: 'plain' },

  // include/linux/local_lock.h — per-CPU local_lock_t (preempt or irq off on !PREEMPT_RT).
  { name: 'local_lock', op: 'acquire', lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'local_lock_irq', op: 'acquire', lockClass: 'local_lock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'local_lock_irqsave', op: 'acquire', lockClass: 'local_lock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'local_unlock', op: 'release', lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'local_unlock_irq', op: 'release', lockClass: 'local_lock', mode: 'exclusive', variant: 'irq', lockArg: 0 },
  { name: 'local_unlock_irqrestore', op: 'release', lockClass: 'local_lock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  // Mainline (6.11+), for modules written against newer kernels: taken with BH already disabled.
  { name: 'local_lock_nested_bh', op: 'acquire', lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'local_unlock_nested_bh', op: 'release', lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', lockArg: 0 },

  // Subsystem locks drivers take through wrappers (after the primitives: the first release of
  // each kind stays the canonical one). Global ones carry lockName instead of lockArg.
  // include/linux/rtnetlink.h, console.h, cpu.h
  { name: 'rtnl_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockName: 'rtnl_mutex' },
  { name: 'rtnl_lock_killable', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockName: 'rtnl_mutex', successWhen: 'zero' },
  { name: 'rtnl_trylock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockName: 'rtnl_mutex', successWhen: 'nonzero' },
  { name: 'rtnl_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockName: 'rtnl_mutex' },
  { name: 'console_lock', op: 'acquire', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockName: 'console_sem' },
  { name: 'console_trylock', op: 'conditional', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockName: 'console_sem', successWhen: 'nonzero' },
  { name: 'console_unlock', op: 'release', lockClass: 'semaphore', mode: 'exclusive', variant: 'plain', lockName: 'console_sem' },
  { name: 'cpus_read_lock', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockName: 'cpu_hotplug_lock' },
  { name: 'cpus_read_trylock', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockName: 'cpu_hotplug_lock', successWhen: 'nonzero' },
  { name: 'cpus_read_unlock', op: 'release', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockName: 'cpu_hotplug_lock' },
  { name: 'cpus_write_lock', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockName: 'cpu_hotplug_lock' },
  { name: 'cpus_write_unlock', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockName: 'cpu_hotplug_lock' },
  // include/linux/percpu-rwsem.h, mmap_lock.h — rw_semaphore flavours.
  { name: 'percpu_down_read', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'percpu_down_read_trylock', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'percpu_up_read', op: 'release', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'percpu_down_write', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'percpu_up_write', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mmap_read_lock', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'mmap_read_lock_killable', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mmap_read_trylock', op: 'conditional', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'mmap_read_unlock', op: 'release', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  { name: 'mmap_write_lock', op: 'acquire', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mmap_write_lock_killable', op: 'conditional', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mmap_write_unlock', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  // Like downgrade_write(): the write hold becomes a read hold.
  { name: 'mmap_write_downgrade', op: 'release', lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mmap_write_downgrade', op: 'acquire', lockClass: 'rwsem', mode: 'shared', variant: 'plain', lockArg: 0 },
  // include/net/sock.h — lock_sock() makes the task the socket's owner (it may sleep);
  // bh_lock_sock() takes the socket spinlock from softirq context.
  { name: 'lock_sock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'release_sock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'bh_lock_sock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'bh_lock_sock_nested', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'bh_unlock_sock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  // include/linux/netdevice.h — TX queue and address list locks (spinlocks).
  { name: '__netif_tx_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: '_xmit_lock' },
  { name: '__netif_tx_lock_bh', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: '_xmit_lock' },
  { name: '__netif_tx_trylock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: '_xmit_lock', successWhen: 'nonzero' },
  { name: '__netif_tx_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: '_xmit_lock' },
  { name: '__netif_tx_unlock_bh', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: '_xmit_lock' },
  { name: 'netif_tx_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'tx_global_lock' },
  { name: 'netif_tx_lock_bh', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: 'tx_global_lock' },
  { name: 'netif_tx_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'tx_global_lock' },
  { name: 'netif_tx_unlock_bh', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: 'tx_global_lock' },
  { name: 'netif_addr_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'addr_list_lock' },
  { name: 'netif_addr_lock_bh', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: 'addr_list_lock' },
  { name: 'netif_addr_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'addr_list_lock' },
  { name: 'netif_addr_unlock_bh', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', lockArg: 0, lockMember: 'addr_list_lock' },
  // Bus locks: include/linux/mmc/sdio_func.h, i2c.h, spi/spi.h, net/bluetooth/hci_core.h
  { name: 'sdio_claim_host', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'sdio_release_host', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'i2c_lock_bus', op: 'acquire', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'i2c_trylock_bus', op: 'conditional', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'i2c_unlock_bus', op: 'release', lockClass: 'rt_mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spi_bus_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spi_bus_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'hci_dev_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'hci_dev_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },

  // Serial core (include/linux/serial_core.h): the port lock through helpers that take the port.
  { name: 'uart_unlock_and_check_sysrq', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_unlock_and_check_sysrq_irqrestore', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, lockMember: 'lock' },
  // uart_port_lock*() (mainline since 6.7, backported to 6.1 stable).
  { name: 'uart_port_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_port_lock_irq', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_port_lock_irqsave', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_port_trylock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'lock', successWhen: 'nonzero' },
  { name: 'uart_port_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_port_unlock_irq', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', lockArg: 0, lockMember: 'lock' },
  { name: 'uart_port_unlock_irqrestore', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0, lockMember: 'lock' },
];

/**
 * `guard(class)(&lock)` and `scoped_guard(class, &lock)` classes (include/linux/cleanup.h users):
 * the lock is held until the end of the enclosing scope. `conditional` classes (mutex_intr,
 * spinlock_try…) only enter the scoped_guard body on success.
 */
export interface GuardClass {
  lockClass: LockClass;
  mode: LockMode;
  variant: LockVariant;
  /** Whether the guard takes a lock argument (`guard(mutex)(&m)`) or not (`guard(rcu)()`). */
  hasLockArg: boolean;
  conditional?: boolean;
}

/**
 * Mainline's classes (6.1 stable has only a backported subset, the names are the same). Left out:
 * `migrate` (migrate_disable() keeps preemption on, so it is no lock state here), and guards of
 * subsystem locks that have no LockClass (cpus_read_lock, pagefault, …).
 */
// A null-prototype object: `GUARD_CLASSES['constructor']` must be undefined, not Object's.
export const GUARD_CLASSES: Readonly<Record<string, GuardClass>> = Object.assign(Object.create(null) as Record<string, GuardClass>, {
  // include/linux/spinlock.h
  raw_spinlock: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  raw_spinlock_try: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },
  raw_spinlock_nested: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  raw_spinlock_irq: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irq', hasLockArg: true },
  raw_spinlock_irq_try: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irq', hasLockArg: true, conditional: true },
  raw_spinlock_bh: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'bh', hasLockArg: true },
  raw_spinlock_bh_try: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'bh', hasLockArg: true, conditional: true },
  raw_spinlock_irqsave: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true },
  raw_spinlock_irqsave_try: { lockClass: 'raw_spinlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true, conditional: true },
  spinlock: { lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  spinlock_try: { lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },
  spinlock_irq: { lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', hasLockArg: true },
  spinlock_irq_try: { lockClass: 'spinlock', mode: 'exclusive', variant: 'irq', hasLockArg: true, conditional: true },
  spinlock_bh: { lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', hasLockArg: true },
  spinlock_bh_try: { lockClass: 'spinlock', mode: 'exclusive', variant: 'bh', hasLockArg: true, conditional: true },
  spinlock_irqsave: { lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true },
  spinlock_irqsave_try: { lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true, conditional: true },
  read_lock: { lockClass: 'rwlock', mode: 'shared', variant: 'plain', hasLockArg: true },
  read_lock_irq: { lockClass: 'rwlock', mode: 'shared', variant: 'irq', hasLockArg: true },
  read_lock_irqsave: { lockClass: 'rwlock', mode: 'shared', variant: 'irqsave', hasLockArg: true },
  write_lock: { lockClass: 'rwlock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  write_lock_irq: { lockClass: 'rwlock', mode: 'exclusive', variant: 'irq', hasLockArg: true },
  write_lock_irqsave: { lockClass: 'rwlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true },

  // include/linux/mutex.h (mutex_intr: mutex_lock_interruptible() returned 0)
  mutex: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  mutex_try: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },
  mutex_intr: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },

  // include/linux/device.h, include/linux/pci.h — device_lock()/pci_dev_lock(): the device mutex
  device: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  pci_dev: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true },

  // include/linux/rwsem.h
  rwsem_read: { lockClass: 'rwsem', mode: 'shared', variant: 'plain', hasLockArg: true },
  rwsem_read_try: { lockClass: 'rwsem', mode: 'shared', variant: 'plain', hasLockArg: true, conditional: true },
  rwsem_read_intr: { lockClass: 'rwsem', mode: 'shared', variant: 'plain', hasLockArg: true, conditional: true },
  rwsem_write: { lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  rwsem_write_try: { lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },
  rwsem_write_kill: { lockClass: 'rwsem', mode: 'exclusive', variant: 'plain', hasLockArg: true, conditional: true },

  // include/linux/rcupdate.h, include/linux/srcu.h
  rcu: { lockClass: 'rcu', mode: 'shared', variant: 'plain', hasLockArg: false },
  srcu: { lockClass: 'srcu', mode: 'shared', variant: 'plain', hasLockArg: true },
  srcu_fast: { lockClass: 'srcu', mode: 'shared', variant: 'plain', hasLockArg: true },
  srcu_fast_notrace: { lockClass: 'srcu', mode: 'shared', variant: 'plain', hasLockArg: true },

  // include/linux/preempt.h, include/linux/irqflags.h
  preempt: { lockClass: 'preempt', mode: 'exclusive', variant: 'plain', hasLockArg: false },
  preempt_notrace: { lockClass: 'preempt', mode: 'exclusive', variant: 'plain', hasLockArg: false },
  irq: { lockClass: 'irq', mode: 'exclusive', variant: 'irq', hasLockArg: false },
  irqsave: { lockClass: 'irq', mode: 'exclusive', variant: 'irqsave', hasLockArg: false },

  // include/linux/local_lock.h
  local_lock: { lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  local_lock_irq: { lockClass: 'local_lock', mode: 'exclusive', variant: 'irq', hasLockArg: true },
  local_lock_irqsave: { lockClass: 'local_lock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true },
  local_lock_nested_bh: { lockClass: 'local_lock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
});
