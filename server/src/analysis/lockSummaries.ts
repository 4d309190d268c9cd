// Lock helpers across a module: a function that returns holding a lock on every path (`foo_lock(dev)`)
// or releases a lock its caller holds (`foo_unlock(dev)`, or a wait helper that drops the caller's
// spinlock before sleeping) has that effect at its call sites, with the lock expression rewritten from
// the helper's parameters to the caller's arguments. Callers are re-analysed with these effects until
// nothing changes (helpers of helpers), a few rounds at most.
import type { Node } from 'web-tree-sitter';
import { canonicalLockId } from './aliases';
import { analyzeFunctionLocks, type FunctionAnalysis } from './functionAnalysis';
import { normalizeLockExpression, type CallLockEffect, type HeldLock, type ReturnState } from './lockState';
import { meaningOf } from './values';
import type { ParsedFile } from './model';
import { LOCK_OPERATIONS } from '../kernel-api/locks';

interface EffectTemplate {
  op: CallLockEffect['op'];
  successWhen?: 'zero' | 'nonzero';
  lock: Omit<CallLockEffect, 'op' | 'id'>;
  /** The lock as the helper names it: `param` index plus the text after it, or a fixed id. */
  param?: number;
  prefix: string;
  suffix: string;
  fixedId?: string;
}

const MAX_ROUNDS = 3;
const CPU_WIDE = new Set(['rcu', 'irq', 'bh', 'preempt']);
const FIXED_LOCK_NAMES = new Set(LOCK_OPERATIONS.flatMap((op) => (op.lockName === undefined ? [] : [op.lockName])));

/** `&dev->lock` with param `dev` → prefix `&`, param, suffix `->lock`. */
function template(op: EffectTemplate['op'], held: HeldLock, fn: FunctionAnalysis, globals: ReadonlySet<string>): EffectTemplate | undefined {
  const lock = { lockClass: held.lockClass, mode: held.mode, variant: held.variant };
  const match = /^(&?)([A-Za-z_]\w*)(.*)$/.exec(op === 'release' || op === 'conditionalRelease' ? entryName(held.id, fn) : held.id);
  if (!match) return undefined;
  const [, prefix = '', base = '', suffix = ''] = match;
  const param = fn.params.findIndex((p) => p.name === base);
  if (param >= 0) return { op, lock, param, prefix, suffix };
  // A bare name is a fixed lock only when the table names it (`rtnl_mutex`): otherwise it is the
  // helper's local pointer (`spinlock_t *lock = &pd->driver->lock;` in gma500), unknown to callers.
  if (CPU_WIDE.has(held.id) || globals.has(base) || FIXED_LOCK_NAMES.has(held.id)) return { op, lock, prefix, suffix, fixedId: held.id };
  return undefined;
}

/**
 * The caller's lock as named on entry: through a local declared from a parameter's path (a member of
 * it: `&dev->lock` with `dev = obj->dev`), that path.
 */
function entryName(id: string, fn: FunctionAnalysis): string {
  return /^&?[A-Za-z_]\w*->/.test(id) && fn.locks ? canonicalLockId(id, fn.locks.entryNames) : id;
}

function instantiate(effect: EffectTemplate, args: Node[], textOf: (node: Node) => string): CallLockEffect | undefined {
  if (effect.fixedId !== undefined) return { op: effect.op, id: effect.fixedId, successWhen: effect.successWhen, ...effect.lock };
  const arg = args[effect.param!];
  if (!arg) return undefined;
  const argument = normalizeLockExpression(textOf(arg));
  let id: string;
  if (effect.suffix.startsWith('->') && argument.startsWith('&')) id = `${effect.prefix}${argument.slice(1)}.${effect.suffix.slice(2)}`;
  else if (effect.suffix === '' && effect.prefix === '') id = argument;
  else id = `${effect.prefix}${/^[\w.>-]+$/.test(argument) ? argument : `(${argument})`}${effect.suffix}`;
  return { op: effect.op, id: normalizeLockExpression(id), successWhen: effect.successWhen, ...effect.lock };
}

/** Per function: its summary and what it was derived from (a module is re-summarised on every keystroke). */
const keptSummaries = new WeakMap<FunctionAnalysis, { locks: FunctionAnalysis['locks']; globals: ReadonlySet<string>; effects: EffectTemplate[] }>();

function summaryOf(fn: FunctionAnalysis, globals: ReadonlySet<string>): EffectTemplate[] {
  const known = keptSummaries.get(fn);
  if (known && known.locks === fn.locks && known.globals === globals) return known.effects;
  const effects = summarize(fn, globals);
  keptSummaries.set(fn, { locks: fn.locks, globals, effects });
  return effects;
}

function summarize(fn: FunctionAnalysis, globals: ReadonlySet<string>): EffectTemplate[] {
  const locks = fn.locks;
  if (!locks || locks.truncated || locks.returns.length === 0) return [];
  const effects: EffectTemplate[] = [];
  const heldAt = (id: string) => locks.returns.filter((r) => r.held.some((h) => h.id === id)).length;
  // Taken here and held at every return: the caller gets it.
  for (const held of locks.returns[0]!.held) {
    if (held.via === 'call' && !locks.heldOnEntry.has(held.id) && heldAt(held.id) === locks.returns.length) {
      const effect = template('acquire', held, fn, globals);
      if (effect) effects.push(effect);
    }
  }
  // Taken here and held exactly at the returns whose value says so (`return 0` locked, `return -EBUSY`
  // not: radeon_ring_lock): the caller holds it when the result tests that way, like a trylock.
  const conditional = new Map<string, HeldLock>();
  for (const ret of locks.returns) for (const held of ret.held) if (held.via === 'call' && !locks.heldOnEntry.has(held.id)) conditional.set(held.id, held);
  // A failure return that keeps the lock is a leak, not a signal to the caller.
  for (const [id, held] of conditional) {
    const holding = locks.returns.filter((r) => r.held.some((h) => h.id === id));
    if (holding.length === locks.returns.length || holding.some((r) => meaningOf(r.value?.value, fn.returnKind) === 'failure')) continue;
    const truth = partitionTruth(locks.returns, holding);
    if (truth === undefined) continue;
    const effect = template('conditional', held, fn, globals);
    if (effect) effects.push({ ...effect, successWhen: truth ? 'nonzero' : 'zero' });
  }
  // The caller's, and held at no return: the caller loses it. Held at the returns of one truth only:
  // the caller loses it when the result tests the other way (a wait helper that drops the caller's
  // mutex and returns -ERESTARTSYS). (Dropped and retaken on every path: no effect.)
  // A `__releases(x)` annotation is the function's contract, whatever paths it hands the lock on
  // through (bcache's journal_try_write() releases it through closure_call()).
  // (Released and acquired both: it drops and retakes it, tg3_chip_reset.)
  const annotated = (kind: string) => fn.annotations.filter((a) => a.kind === kind).map((a) => bareLockId(a.lockExpression));
  const reacquired = new Set(annotated('acquires'));
  const annotatedReleases = new Set(annotated('releases').filter((id) => !reacquired.has(id)));
  for (const released of locks.releasesForCaller.values()) {
    const contract = annotatedReleases.has(bareLockId(released.id));
    const holding = contract ? [] : locks.returns.filter((r) => r.held.some((h) => h.id === released.id));
    const releasing = locks.returns.filter((r) => !holding.includes(r));
    const truth = holding.length === 0 ? undefined : partitionTruth(locks.returns, releasing);
    if (holding.length > 0 && truth === undefined) continue;
    const effect = template(holding.length === 0 ? 'release' : 'conditionalRelease', released, fn, globals);
    if (effect) effects.push(truth === undefined ? effect : { ...effect, successWhen: truth ? 'nonzero' : 'zero' });
  }
  return effects;
}

/** A lock as annotations and calls both name it: `&dev->lock` and `dev->lock` are one. */
function bareLockId(expression: string): string {
  return normalizeLockExpression(expression).replace(/^&/, '');
}

/** The truth every return of `part` has and every other return lacks; undefined when values do not tell. */
function partitionTruth(returns: readonly ReturnState[], part: readonly ReturnState[]): boolean | undefined {
  const truth = part[0]?.value?.truth;
  if (truth === undefined) return undefined;
  return returns.every((r) => r.value?.truth !== undefined && (r.value.truth === truth) === part.includes(r)) ? truth : undefined;
}

/** Per parsed file: the editor re-lints a module on every keystroke, and only one of its files changed. */
const globalLocksOf = new WeakMap<ParsedFile, ReadonlySet<string>>();

/** File-scope lock definitions (`static DEFINE_SPINLOCK(x);`, `spinlock_t x;`): ids a helper may name. */
function globalLocks(file: ParsedFile): ReadonlySet<string> {
  const known = globalLocksOf.get(file);
  if (known) return known;
  const names = new Set<string>();
  for (const match of file.normalized.text.matchAll(/^(?:static\s+)?(?:DEFINE_\w+\(\s*(\w+)|(?:spinlock_t|raw_spinlock_t|rwlock_t|struct\s+(?:mutex|rw_semaphore|semaphore))\s+(\w+)\s*[;=])/gm)) {
    names.add(match[1] ?? match[2]!);
  }
  globalLocksOf.set(file, names);
  return names;
}

/**
 * Between keystrokes only one file changes: its functions are analysed afresh, while the other files'
 * analyses already carry the helpers' effects. `memo` remembers the helpers' summaries of the last run;
 * while they stay the same, only functions of `memo.dirty` files are re-analysed.
 */
export interface SummaryMemo {
  dirty: ReadonlySet<string>;
  fingerprint?: string;
}

export function applyLockSummaries(files: ReadonlyArray<{ parsed: ParsedFile; functions: FunctionAnalysis[] }>, memo?: SummaryMemo): void {
  const local = new Map<string, Map<string, FunctionAnalysis>>();
  const global = new Map<string, FunctionAnalysis>();
  const fileOf = new Map<FunctionAnalysis, { parsed: ParsedFile; globals: ReadonlySet<string> }>();
  for (const { parsed, functions } of files) {
    const byName = new Map<string, FunctionAnalysis>();
    const globals = globalLocks(parsed);
    for (const fn of functions) {
      byName.set(fn.name, fn);
      if (!fn.isStatic && !global.has(fn.name)) global.set(fn.name, fn);
      fileOf.set(fn, { parsed, globals });
    }
    local.set(parsed.path, byName);
  }
  const resolve = (file: string, name: string | undefined) => (name === undefined ? undefined : local.get(file)?.get(name) ?? global.get(name));

  let previous = '';
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const summaries = new Map<FunctionAnalysis, EffectTemplate[]>();
    for (const [fn, { globals }] of fileOf) {
      const effects = summaryOf(fn, globals);
      if (effects.length > 0) summaries.set(fn, effects);
    }
    const fingerprint = [...summaries].map(([fn, effects]) => `${fn.name}:${effects.map((e) => `${e.op}${e.successWhen ?? ''}${e.param ?? e.fixedId}${e.suffix}`).join(',')}`).sort().join(';');
    if (fingerprint === previous) break;
    const onlyDirty = round === 0 && memo !== undefined && memo.fingerprint === fingerprint;
    previous = fingerprint;
    if (summaries.size === 0) break;
    for (const [fn, { parsed }] of fileOf) {
      if (onlyDirty && !memo.dirty.has(parsed.path)) continue;
      const callsHelper = fn.calls.some((call) => {
        const target = resolve(parsed.path, call.callee);
        return target !== undefined && target !== fn && summaries.has(target);
      });
      if (!callsHelper) continue;
      const textOf = (node: Node) => parsed.text.slice(node.startIndex, node.endIndex);
      analyzeFunctionLocks(parsed, fn, (callee, args) => {
        const target = resolve(parsed.path, callee);
        const effects = target && target !== fn ? summaries.get(target) : undefined;
        return effects?.map((e) => instantiate(e, args, textOf)).filter((e): e is CallLockEffect => e !== undefined);
      });
    }
  }
  if (memo) memo.fingerprint = previous;
}
