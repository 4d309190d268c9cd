// sleep-in-atomic: a call that may sleep, made while a spinlock/rwlock is held, with interrupts,
// bottom halves or preemption disabled, inside an RCU read side, or in an atomic callback.
import { ATOMIC_GFP_MASKS, ATOMIC_REPLACEMENT, SLEEPING_GFP_MASKS } from '../kernel-api/gfp';
import type { SleepWitness } from '../analysis/callGraph';
import { displayLockId, type HeldLock } from '../analysis/lockState';
import type { ArgumentSpan } from '../analysis/functionAnalysis';
import { rangeAt, rangeOf, type Fix, type Location, type ParsedFile } from '../analysis/model';
import type { Rule } from './rule';

const LOCK_NOUNS: Record<string, string> = {
  spinlock: 'spinlock', raw_spinlock: 'raw spinlock', rwlock: 'rwlock', seqlock: 'seqlock', local_lock: 'local lock',
  rcu: 'an RCU read-side critical section', irq: 'interrupts disabled', bh: 'bottom halves disabled',
  preempt: 'preemption disabled',
};

export function describeHold(hold: HeldLock): string {
  const line = hold.acquiredAt.startPosition.row + 1;
  switch (hold.lockClass) {
    case 'rcu': return `inside an RCU read-side critical section (entered at line ${line})`;
    case 'irq': return `with interrupts disabled (at line ${line})`;
    case 'bh': return `with bottom halves disabled (at line ${line})`;
    case 'preempt': return `with preemption disabled (at line ${line})`;
    default: return `with ${LOCK_NOUNS[hold.lockClass] ?? hold.lockClass} \`${displayLockId(hold.id)}\` held (taken at line ${line})`;
  }
}

function describeSleep(witness: SleepWitness, callee: string): string {
  const line = witness.range.start.line + 1;
  if (witness.chain.length === 0) {
    const mask = witness.description.startsWith(`${callee} with `) ? ` with ${witness.description.slice(callee.length + 6)}` : '';
    return `\`${callee}()\`${mask} may sleep (${witness.reason})`;
  }
  const via = witness.chain.length > 1 ? ` via ${witness.chain.slice(1).map((c) => `${c}()`).join(' → ')}` : '';
  return `\`${callee}()\` may sleep (${witness.description}, line ${line}${via})`;
}

export const sleepInAtomic: Rule = {
  id: 'sleep-in-atomic',
  docs: {
    summary: 'A call that may sleep runs in atomic context.',
    description:
      'Sleeping (mutex_lock, msleep, copy_from_user, GFP_KERNEL allocations, anything that calls them) while a ' +
      'spinlock or rwlock is held, with interrupts, bottom halves or preemption disabled, inside rcu_read_lock(), ' +
      'or in an interrupt handler, timer, tasklet or other atomic callback can deadlock or corrupt the scheduler ' +
      '("BUG: scheduling while atomic"). Move the call out of the atomic section, use a non-sleeping variant ' +
      '(GFP_ATOMIC, mdelay, spin_lock instead of mutex_lock), or defer the work to a workqueue.',
  },
  defaultSeverity: 'error',
  check(context, report) {
    const graph = context.callGraph;
    for (const file of context.files) {
      for (const fn of file.functions) {
        const node = graph.nodeOf(file.parsed.path, fn);
        const registration = node ? graph.atomicRegistration(node) : undefined;
        for (const call of fn.calls) {
          if ((!call.atomicHold && !registration) || call.unreachable) continue;
          const result = graph.callSleeps(file.parsed.path, fn, call);
          // Sleeps only for some values of this function's own parameters (`if (wait)`, `case CMD:`):
          // reported here when a caller may pass such a value, or when no module code calls it (an ioctl
          // handler gets every command); a gfp_t parameter is reported where a caller passes the mask.
          if (!result || result.param !== undefined) continue;
          if (result.flag && (!node || !graph.someCallerMayPass(node, result.flag))) continue;
          const witness = result.witness;
          if (call.atomicHold && witness.dropsCallerLock) continue;
          // In an interrupt or softirq callback, vfree() and friends do not sleep.
          if (!call.atomicHold && witness.onlyInProcessContext) continue;
          // A call through an ops field names the module function it reaches: `ops->bar → my_bar()`.
          const callee = call.callee ?? `${file.parsed.normalized.text.slice(call.start, call.open).trim()} → ${witness.chain[0] ?? '?'}`;
          const related: Array<{ location: Location; message: string }> = [];
          let where: string;
          if (call.atomicHold) {
            where = `runs ${describeHold(call.atomicHold)}`;
            related.push({ location: { file: file.parsed.path, range: rangeOf(call.atomicHold.acquiredAt) }, message: `${displayLockId(call.atomicHold.id)} taken here` });
          } else {
            const reg = registration!;
            where = `runs in ${reg.role} \`${fn.name}()\` (registered with ${reg.via} at line ${reg.range.start.line + 1})`;
            related.push({ location: { file: reg.file, range: reg.range }, message: `registered as ${reg.role} here` });
          }
          if (witness.chain.length > 0) {
            related.push({ location: { file: witness.file, range: witness.range }, message: `${witness.description} may sleep here` });
          }
          report({
            file: file.parsed.path,
            range: graph.rangeOf(file.parsed.path, call),
            message: `${describeSleep(witness, callee)} but ${where}.`,
            related,
            fixes: witness.chain.length === 0 ? gfpFix(file.parsed, call.args) : undefined,
          });
        }
      }
    }
  },
};

/** `GFP_KERNEL` → `GFP_ATOMIC` on the allocation's own mask argument. */
function gfpFix(file: ParsedFile, args: readonly ArgumentSpan[]): Fix[] | undefined {
  for (const arg of args) {
    const words = arg.text.match(/[A-Za-z_]\w*/g) ?? [];
    if (/^GFP_\w+$/.test(arg.text) && words.some((w) => SLEEPING_GFP_MASKS.has(w)) && !words.some((w) => ATOMIC_GFP_MASKS.has(w))) {
      return [{
        title: `Use ${ATOMIC_REPLACEMENT} (this code runs in atomic context)`,
        preferred: true,
        edits: [{ file: file.path, range: rangeAt(file, arg.start, arg.end), newText: ATOMIC_REPLACEMENT }],
      }];
    }
  }
  return undefined;
}
