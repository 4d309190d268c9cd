// Hover documentation for kernel APIs, built from the kernel-api tables (nothing here lists APIs:
// a new row in locks.ts, sleeping.ts, callbacks.ts or gfp.ts is documented automatically).
import { CALLBACK_FIELDS, CALLBACK_REGISTRATIONS, type CallbackField, type CallbackRegistration, type ExecutionContext } from './callbacks';
import { ATOMIC_GFP_MASKS, NEUTRAL_GFP_MODIFIERS, SLEEPING_GFP_MASKS } from './gfp';
import { ATOMIC_LOCK_CLASSES, GUARD_CLASSES, LOCK_OPERATIONS, type GuardClass, type LockClass, type LockOperation, type LockVariant } from './locks';
import { SLEEPING_APIS, type SleepingApi } from './sleeping';

/** What holding each lock class means, in words. */
const LOCK_CLASS_MEANING: Readonly<Record<LockClass, string>> = {
  spinlock: 'a spinlock (`spinlock_t`)',
  raw_spinlock: 'a raw spinlock (`raw_spinlock_t`, spins even on PREEMPT_RT)',
  rwlock: 'a reader/writer spinlock (`rwlock_t`)',
  seqlock: 'a sequence lock (`seqlock_t`)',
  mutex: 'a mutex',
  rt_mutex: 'an rt_mutex (priority inheriting)',
  rwsem: 'a reader/writer semaphore (`struct rw_semaphore`)',
  semaphore: 'a counting semaphore (`struct semaphore`)',
  rcu: 'an RCU read-side critical section',
  srcu: 'an SRCU read-side critical section (sleeping allowed)',
  irq: 'a section with local interrupts disabled',
  bh: 'a section with softirqs (bottom halves) disabled',
  preempt: 'a section with preemption disabled',
  local_lock: 'a per-CPU local lock (`local_lock_t`)',
};

const VARIANT_MEANING: Readonly<Record<LockVariant, string>> = {
  plain: '',
  irq: ', with local interrupts disabled (re-enabled unconditionally on release)',
  irqsave: ', with local interrupts disabled and their state saved in `flags` (restored on release)',
  bh: ', with softirqs disabled',
};

/** The held state in words: class, reader side, and how interrupts/softirqs are treated. */
function heldState(lockClass: LockClass, mode: 'exclusive' | 'shared', variant: LockVariant): string {
  const reader = mode === 'shared' && (lockClass === 'rwlock' || lockClass === 'rwsem' || lockClass === 'seqlock') ? ', reader side' : '';
  // For the CPU-wide states the class already says what is disabled.
  let how = VARIANT_MEANING[variant];
  if (lockClass === 'irq') how = variant === 'irqsave' ? ' (previous state saved in `flags`, restored on release)' : ' (re-enabled unconditionally on release)';
  if (lockClass === 'bh') how = '';
  return LOCK_CLASS_MEANING[lockClass] + reader + how;
}

const CONTEXT_MEANING: Readonly<Record<ExecutionContext, string>> = {
  hardirq: 'hard interrupt context — must not sleep',
  softirq: 'softirq/bottom-half context — must not sleep',
  process: 'process context — may sleep',
};

interface ApiIndex {
  lockOps: Map<string, LockOperation[]>;
  sleeping: Map<string, SleepingApi>;
  registrations: Map<string, CallbackRegistration[]>;
}

let index: ApiIndex | undefined;

function apiIndex(): ApiIndex {
  if (index) return index;
  const group = <T>(rows: readonly T[], key: (row: T) => string) => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row]);
    return map;
  };
  index = {
    lockOps: group(LOCK_OPERATIONS, (r) => r.name),
    sleeping: new Map(SLEEPING_APIS.map((r) => [r.name, r])),
    registrations: group(CALLBACK_REGISTRATIONS, (r) => r.function),
  };
  return index;
}

function ordinal(zeroBased: number): string {
  const n = zeroBased + 1;
  const suffix = n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th';
  return `${n}${suffix} argument`;
}

/** How many `_`-separated words two names share at the start plus at the end. */
function likeness(a: string, b: string): number {
  const x = a.split('_');
  const y = b.split('_');
  let lead = 0;
  while (lead < x.length && lead < y.length && x[lead] === y[lead]) lead++;
  let trail = 0;
  while (trail < x.length - lead && trail < y.length - lead && x[x.length - 1 - trail] === y[y.length - 1 - trail]) trail++;
  return lead + trail;
}

/**
 * The counterparts of an operation (releases of an acquire, acquires of a release) of the same
 * class, mode and variant, keeping only the names most alike (spin_lock_irqsave →
 * spin_unlock_irqrestore, not atomic_dec_and_lock_irqsave).
 */
function counterparts(operation: LockOperation, limit = 3): string[] {
  const wanted = operation.op === 'release' ? ['acquire', 'conditional'] : ['release'];
  const names = [...new Set(LOCK_OPERATIONS
    .filter((r) => wanted.includes(r.op) && r.lockClass === operation.lockClass && r.variant === operation.variant
      && r.mode === operation.mode && (r.lockArg === undefined) === (operation.lockArg === undefined)
      && r.lockName === operation.lockName && r.name !== operation.name)
    .map((r) => r.name))];
  const best = Math.max(0, ...names.map((n) => likeness(n, operation.name)));
  return names.filter((n) => likeness(n, operation.name) === best).sort((a, b) => a.length - b.length || a.localeCompare(b)).slice(0, limit);
}

function describeLockOperation(operation: LockOperation): string {
  const what = heldState(operation.lockClass, operation.mode, operation.variant);
  const argument = operation.lockArg !== undefined ? ` — the lock is the ${ordinal(operation.lockArg)}`
    : operation.lockName ? ` — the global \`${operation.lockName}\`` : '';
  const others = counterparts(operation).map((n) => `\`${n}\``).join(', ');
  // CPU-wide states (no lock argument) are begun and ended rather than acquired and released.
  const cpuWide = operation.lockArg === undefined && operation.lockName === undefined;
  if (operation.op === 'release') {
    const by = others ? ` ${cpuWide ? 'Begun' : 'Taken'} by ${others}.` : '';
    return `- **${cpuWide ? 'Ends' : 'Releases'}** ${what}${argument}.${by}`;
  }
  const atomic = ATOMIC_LOCK_CLASSES.has(operation.lockClass) ? ' Until it ends the context is **atomic**: nothing may sleep.' : '';
  const head = operation.op === 'acquire'
    ? `- **${cpuWide ? 'Begins' : 'Acquires'}** ${what}${argument}.`
    : `- **Acquires only on success** ${what}${argument}: it returns ${operation.successWhen === 'zero' ? '0' : 'non-zero'} when the lock was taken.`;
  const until = others ? ` ${cpuWide ? 'End' : 'Release'} with ${others}.` : '';
  return `${head}${atomic}${until}`;
}

function describeSleeping(api: SleepingApi): string {
  if (api.sleepArg !== undefined) return `- **May sleep** (${api.reason}) unless the ${ordinal(api.sleepArg)}, the sleep time, is 0 (it then busy-waits).`;
  if (api.nonBlockingFlag) return `- **May sleep** (${api.reason}) unless the ${ordinal(api.nonBlockingFlag.arg)} includes \`${api.nonBlockingFlag.flag}\`.`;
  if (api.gfpArg === undefined) return `- **May sleep:** ${api.reason}. Not allowed in atomic context.`;
  const sleeping = [...SLEEPING_GFP_MASKS].filter((m) => !m.startsWith('__')).slice(0, 3).map((m) => `\`${m}\``).join(', ');
  const atomic = [...ATOMIC_GFP_MASKS].filter((m) => !m.startsWith('__')).slice(0, 2).map((m) => `\`${m}\``).join(' or ');
  return `- **May sleep** (${api.reason}) when the gfp mask, the ${ordinal(api.gfpArg)}, allows it: ${sleeping}… sleep; ${atomic} never sleep.`;
}

function describeRegistration(registration: CallbackRegistration): string {
  return `- **Registers** the ${ordinal(registration.callbackArg)} as a **${registration.role}**: it runs in ${CONTEXT_MEANING[registration.context]}.`;
}

function describeGfpMask(name: string): string | undefined {
  if (SLEEPING_GFP_MASKS.has(name)) return `**${name}** — gfp allocation mask\n\n- Allows direct reclaim: an allocation with it **may sleep**. In atomic context use \`GFP_ATOMIC\`.`;
  if (ATOMIC_GFP_MASKS.has(name)) return `**${name}** — gfp allocation mask\n\n- Never sleeps: usable in atomic context.`;
  if (NEUTRAL_GFP_MODIFIERS.has(name)) return `**${name}** — gfp modifier\n\n- Does not decide whether the allocation sleeps; the rest of the mask does.`;
  return undefined;
}

/** Markdown for a hover over `name`, or undefined when the tables know nothing of it. */
export function describeApi(name: string): string | undefined {
  const { lockOps, sleeping, registrations } = apiIndex();
  const lines = [
    ...(lockOps.get(name) ?? []).map(describeLockOperation),
    ...(sleeping.has(name) ? [describeSleeping(sleeping.get(name)!)] : []),
    ...(registrations.get(name) ?? []).map(describeRegistration),
  ];
  if (lines.length === 0) return describeGfpMask(name);
  return `**${name}** — kernel API (Linux 6.1)\n\n${lines.join('\n')}`;
}

/** Markdown for the class of `guard(name)` / `scoped_guard(name, …)`, or undefined. */
export function describeGuardClass(name: string): string | undefined {
  const guard: GuardClass | undefined = Object.hasOwn(GUARD_CLASSES, name) ? GUARD_CLASSES[name] : undefined;
  if (!guard) return undefined;
  const what = heldState(guard.lockClass, guard.mode, guard.variant);
  const scope = guard.conditional ? 'only if taking it succeeds, until the end of the scope' : 'until the end of the enclosing scope';
  const atomic = ATOMIC_LOCK_CLASSES.has(guard.lockClass) ? ' The scope is **atomic**: nothing may sleep in it.' : '';
  return `**${name}** — lock guard class (cleanup.h)\n\n- Holds ${what} ${scope}.${atomic}`;
}

/** Markdown for a callback struct field (`.hook` of `struct nf_hook_ops`), or undefined. */
export function describeCallbackField(field: string, struct?: string): string | undefined {
  const rows: CallbackField[] = CALLBACK_FIELDS.filter((r) => r.field === field && (struct === undefined || r.struct === undefined || r.struct === struct));
  // Without the struct a field name shared by rows of different contexts says nothing certain.
  if (rows.length === 0 || new Set(rows.map((r) => r.context)).size > 1) return undefined;
  const row = rows[0]!;
  const owner = struct ?? (rows.length === 1 ? row.struct : undefined);
  return `**${field}**${owner ? ` of \`struct ${owner}\`` : ''} — ${row.role}\n\n- Runs in ${CONTEXT_MEANING[row.context]}.`;
}
