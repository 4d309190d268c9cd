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
  /** For `conditional`: the return value on success. Trylocks return non-zero, *_interruptible zero. */
  successWhen?: 'zero' | 'nonzero';
}

export const ATOMIC_LOCK_CLASSES: ReadonlySet<LockClass> = new Set<LockClass>([
  'spinlock', 'raw_spinlock', 'rwlock', 'seqlock', 'rcu', 'irq', 'bh', 'preempt', 'local_lock',
]);

export const LOCK_OPERATIONS: readonly LockOperation[] = [
  { name: 'spin_lock', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_unlock', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'spin_lock_irqsave', op: 'acquire', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'spin_unlock_irqrestore', op: 'release', lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', lockArg: 0 },
  { name: 'spin_trylock', op: 'conditional', lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'mutex_lock', op: 'acquire', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_unlock', op: 'release', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0 },
  { name: 'mutex_lock_interruptible', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'zero' },
  { name: 'mutex_trylock', op: 'conditional', lockClass: 'mutex', mode: 'exclusive', variant: 'plain', lockArg: 0, successWhen: 'nonzero' },
  { name: 'rcu_read_lock', op: 'acquire', lockClass: 'rcu', mode: 'shared', variant: 'plain' },
  { name: 'rcu_read_unlock', op: 'release', lockClass: 'rcu', mode: 'shared', variant: 'plain' },
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

export const GUARD_CLASSES: Readonly<Record<string, GuardClass>> = {
  spinlock: { lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  spinlock_irqsave: { lockClass: 'spinlock', mode: 'exclusive', variant: 'irqsave', hasLockArg: true },
  mutex: { lockClass: 'mutex', mode: 'exclusive', variant: 'plain', hasLockArg: true },
  rcu: { lockClass: 'rcu', mode: 'shared', variant: 'plain', hasLockArg: false },
};
