// lock-imbalance: a path that returns still holding a lock the function took while other paths release
// it (or from a callback, which cannot hand a lock to a caller), a double release, a release of a lock
// not held on that path, a release that does not match the acquisition, a lock taken twice.
import type { Node } from 'web-tree-sitter';
import type { FunctionAnalysis } from '../analysis/functionAnalysis';
import { displayLockId, type HeldLock, type LockAnalysisResult, type ReturnState } from '../analysis/lockState';
import { rangeOf, type Fix } from '../analysis/model';
import { meaningOf, type ReturnKind } from '../analysis/values';
import { LOCK_OPERATIONS } from '../kernel-api/locks';
import type { Rule } from './rule';

const ISSUE_TEXT: Record<string, (lock: string, line: number | undefined) => string> = {
  'double-release': (lock, line) => `\`${lock}\` is released twice on this path (first released at line ${line}).`,
  'release-not-held': (lock) => `\`${lock}\` is released here but is not held on this path.`,
  'mismatched-release': () => '',
  'double-acquire': (lock, line) => `\`${lock}\` is taken again while already held (taken at line ${line}): this deadlocks.`,
};

export const lockImbalance: Rule = {
  id: 'lock-imbalance',
  docs: {
    summary: 'A lock is leaked on some path, released twice, released without being held, or released with the wrong call.',
    description:
      'Every path through a function must leave locks as it found them: a return that skips the unlock leaves the ' +
      'lock held forever (the next locker deadlocks), a second unlock corrupts the lock, and a mismatched release ' +
      '(down_write … up_read, spin_lock_irqsave … spin_unlock) leaves interrupts or the lock state wrong. ' +
      'Functions that intentionally return holding a lock on every path (lock helpers) and functions annotated ' +
      '__acquires/__releases/__must_hold are understood.',
  },
  defaultSeverity: 'error',
  check(context, report) {
    const isCallbackOnly = (path: string, fn: FunctionAnalysis) => context.callGraph.nodeOf(path, fn)?.called === false;
    const signallers = semaphoreSignallers(context.files, isCallbackOnly);
    // Registered callbacks only: an uncalled non-static function may be an API for other modules.
    const receivers = lockReceivers(context.files, (path, fn) => isCallbackOnly(path, fn) && (context.callGraph.nodeOf(path, fn)?.registrations.length ?? 0) > 0);
    for (const file of context.files) {
      for (const fn of file.functions) {
        const locks = fn.locks;
        if (!locks) continue;
        const path = file.parsed.path;
        for (const issue of locks.issues) {
          const line = issue.related ? issue.related.startPosition.row + 1 : undefined;
          const message = issue.kind === 'mismatched-release'
            ? `\`${displayLockId(issue.lock)}\` is ${issue.detail} (taken at line ${line}).`
            : ISSUE_TEXT[issue.kind]!(displayLockId(issue.lock), line);
          report({
            file: path,
            range: rangeOf(callee(issue.node)),
            message,
            related: issue.related ? [{ location: { file: path, range: rangeOf(issue.related) }, message: issue.kind === 'double-release' ? 'first released here' : 'taken here' }] : undefined,
          });
        }
        if (locks.truncated) continue;
        const node = context.callGraph.nodeOf(path, fn);
        // Only a function registered as a callback (IRQ handler, timer, file operation…) cannot hand a
        // lock to its caller; ops tables (`.acquire = foo_lock`) legitimately can.
        // (`.irq_bus_lock` of an irq_chip is such a pair too: taken there, released in `.irq_bus_sync_unlock`.)
        // So is a seq_file `.start`, whose locks `.stop` releases.
        const isCallback = !!node && node.registrations.some((r) => !/lock/i.test(r.via) && r.handsLocksTo === undefined);
        const acquiresByAnnotation = new Set(fn.annotations.filter((a) => a.kind === 'acquires').map((a) => a.lockExpression.replace(/\s+/g, '')));
        for (const leak of leaks(locks, isCallback, fn.returnKind)) {
          if (acquiresByAnnotation.has(leak.lock.id) || acquiresByAnnotation.has(leak.lock.id.replace(/^&/, ''))) continue;
          // A counting semaphore is not owned: a path that keeps its count may hand it to the function
          // that gives it back (usblcd's write throttle, up() in the URB completion, a scan-complete
          // event). A function this one calls to give it back is its unlock helper, not a hand-over.
          const handsOver = (other: FunctionAnalysis) => other !== fn && !fn.calls.some((call) => call.callee === other.name);
          if (leak.lock.lockClass === 'semaphore' && semaphoreKeys(leak.lock.id).some((key) => [...signallers.get(key) ?? []].some(handsOver))) continue;
          // A lock that a callback of the module releases without taking it is handed over by design
          // (taken in .suspend, released in .resume; taken before a scan, released when it completes).
          if ([...receivers.get(pathKey(leak.lock.id)) ?? []].some((other) => other !== fn)) continue;
          const takenLine = leak.lock.acquiredAt.startPosition.row + 1;
          report({
            file: path,
            range: rangeOf(leak.at.reportAt.type === 'compound_statement' ? lastBrace(leak.at.reportAt) : leak.at.reportAt),
            message: leak.consistent
              ? `\`${fn.name}()\` returns with \`${displayLockId(leak.lock.id)}\` still held (taken at line ${takenLine}); as a callback it cannot hand the lock to a caller.`
              : `This path returns with \`${displayLockId(leak.lock.id)}\` still held (taken at line ${takenLine}), while other paths release it.`,
            related: [{ location: { file: path, range: rangeOf(leak.lock.acquiredAt) }, message: 'taken here' }],
            fixes: leak.certain ? leakFixes(path, fn, leak.at, leak.lock, file.parsed.text) : undefined,
          });
        }
      }
    }
  },
};

const FINAL_MEMBER = /(?:->|\.)(\w+)$/;

/**
 * What names a semaphore across functions, which reach it through different pointers: its member
 * (`&dev->limit_sem` → `limit_sem`), or its own name for a global one. Both arms of
 * `up(cond ? &a->x : &a->y)`.
 */
function semaphoreKeys(id: string): string[] {
  const arms = id.includes('?') ? id.split(/[?:]/).slice(1) : [id];
  return arms.map((arm) => {
    const bare = displayLockId(arm).replace(/^\(?&?/, '').replace(/\)$/, '');
    return FINAL_MEMBER.exec(bare)?.[1] ?? bare;
  });
}

/**
 * Functions of the module that up() a semaphore they do not hold, by semaphoreKeys: callbacks (a URB
 * completion), and functions that give it back only on some paths (a scan-complete event handler). A
 * function that always up()s it is an unlock helper: its up() is its caller's release.
 */
function semaphoreSignallers(files: ModuleFunctions, isCallbackOnly: (path: string, fn: FunctionAnalysis) => boolean): Map<string, Set<FunctionAnalysis>> {
  return functionsByLockKey(files, () => true, (locks, path, fn) => {
    const callback = isCallbackOnly(path, fn);
    return [...locks.signalled].filter((id) => callback || locks.returns.some((r) => r.held.some((h) => h.id === id)));
  }, semaphoreKeys);
}

type ModuleFunctions = ReadonlyArray<{ parsed: { path: string }; functions: FunctionAnalysis[] }>;

/** The selected functions of the module under each key of the lock ids `idsOf` gives for them. */
function functionsByLockKey(
  files: ModuleFunctions, select: (path: string, fn: FunctionAnalysis) => boolean,
  idsOf: (locks: LockAnalysisResult, path: string, fn: FunctionAnalysis) => Iterable<string>, keysOf: (id: string) => string[],
): Map<string, Set<FunctionAnalysis>> {
  const byKey = new Map<string, Set<FunctionAnalysis>>();
  for (const file of files) {
    for (const fn of file.functions) {
      if (!fn.locks || !select(file.parsed.path, fn)) continue;
      for (const id of idsOf(fn.locks, file.parsed.path, fn)) {
        for (const key of keysOf(id)) {
          let set = byKey.get(key);
          if (!set) byKey.set(key, (set = new Set()));
          set.add(fn);
        }
      }
    }
  }
  return byKey;
}

/** A lock as another function names it: the path after its root (`&dev->a.lock` → `->a.lock`). */
function pathKey(id: string): string {
  return displayLockId(id).replace(/^&?\(?[A-Za-z_]\w*\)?/, '');
}

/**
 * Locks that registered callbacks release without taking them, by pathKey: the module hands them over
 * from the function that took them.
 */
function lockReceivers(files: ModuleFunctions, isRegisteredCallback: (path: string, fn: FunctionAnalysis) => boolean): Map<string, Set<FunctionAnalysis>> {
  return functionsByLockKey(files, isRegisteredCallback, (locks) => locks.releasesForCaller.keys(), (id) => {
    const key = pathKey(id);
    return key === '' ? [] : [key];
  });
}

function callee(call: Node): Node {
  return call.type === 'call_expression' ? call.childForFieldName('function') ?? call : call;
}

function lastBrace(body: Node): Node {
  return body.lastChild ?? body;
}

interface Leak {
  at: ReturnState;
  lock: HeldLock;
  consistent: boolean;
  /** Every path through this exit holds the lock, none was merged, and no callee releases it: a fix cannot double-unlock. */
  certain: boolean;
}

/**
 * Locks the function took that are held at some returns and released at others; every lock it took,
 * when it is a callback. Not leaks:
 *  - the caller's locks (held on entry), wherever they end up;
 *  - a lock no path both takes and releases: a conditional lock helper
 *    (`if (dev->need_lock) spin_lock(&dev->lock);`), paired with an unlock helper; a path that never
 *    took the lock is no evidence either way (`if (!dev) return 0;` before the lock);
 *  - a lock whose return value tells whether it was taken (`return 0` locked, `return -EBUSY` not; a
 *    pointer or NULL), unless a failure return (an error code, NULL from a pointer function — literal
 *    or carried by a variable) is the one that keeps it.
 */
function leaks(locks: LockAnalysisResult, isCallback: boolean, kind: ReturnKind): Leak[] {
  const returns = locks.returns;
  const result: Leak[] = [];
  const reported = new Set<string>();
  const heldAtAll = (id: string) => returns.every((r) => r.held.some((h) => h.id === id));
  const releasingReturns = (id: string) => returns.filter((r) => r.released.has(id) && !r.held.some((h) => h.id === id));
  const sameExit = (ret: ReturnState) => returns.filter((r) => r.reportAt.id === ret.reportAt.id);
  const isCertain = (ret: ReturnState, id: string) =>
    !locks.releasedByCallees.has(id) && sameExit(ret).every((r) => !r.merged && r.held.some((h) => h.id === id));
  for (const ret of returns) {
    for (const lock of ret.held) {
      // The caller's lock (held on entry), even when dropped and retaken here: the caller gets it back
      // (a hard IRQ handler that enables interrupts and disables them again, an SDIO IRQ handler that
      // releases and reclaims the host).
      if (lock.via === 'entry' || locks.heldOnEntry.has(lock.id)) continue;
      const consistent = heldAtAll(lock.id);
      if (consistent && !isCallback) continue;
      if (!consistent) {
        const releasing = releasingReturns(lock.id);
        if (releasing.length === 0 || tellsByReturnValue(ret, releasing, kind)) continue;
      }
      const key = `${ret.reportAt.id}:${lock.id}`;
      if (reported.has(key)) continue;
      reported.add(key);
      result.push({ at: ret, lock, consistent, certain: isCertain(ret, lock.id) });
    }
  }
  return result;
}

/**
 * This holding return reports "locked" to the caller: it is no failure while every releasing return is
 * one (`return region;` against `return ERR_PTR(-EBUSY);`), or its truth differs from all of theirs.
 */
function tellsByReturnValue(ret: ReturnState, releasing: readonly ReturnState[], kind: ReturnKind): boolean {
  const meaning = (r: ReturnState) => meaningOf(r.value?.value, kind);
  if (!ret.value || meaning(ret) === 'failure') return false;
  if (releasing.every((r) => meaning(r) === 'failure')) return true;
  const truth = ret.value.truth;
  return truth !== undefined && releasing.every((r) => r.value?.truth !== undefined && r.value.truth !== truth);
}

function releaseCallFor(lock: HeldLock, text: string): string | undefined {
  const release = LOCK_OPERATIONS.find((op) => op.op === 'release' && op.lockClass === lock.lockClass && op.mode === lock.mode && op.variant === lock.variant);
  if (!release) return undefined;
  const acquireCall = lock.acquiredAt;
  const args = acquireCall.childForFieldName('arguments')?.namedChildren.map((a) => (a ? text.slice(a.startIndex, a.endIndex) : '')) ?? [];
  return `${release.name}(${args.join(', ')});`;
}

/** Release before the leaking return, or jump to the existing unlock label. */
function leakFixes(file: string, fn: FunctionAnalysis, at: ReturnState, lock: HeldLock, text: string): Fix[] | undefined {
  const site = at.reportAt;
  if (site.type !== 'return_statement' && site.type !== 'goto_statement') return undefined;
  const releaseCall = releaseCallFor(lock, text);
  if (!releaseCall) return undefined;
  const lineStart = text.lastIndexOf('\n', site.startIndex - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const fixes: Fix[] = [];
  // A return that is the whole body of an `if`/`else` needs braces around the release and itself.
  const inBlock = site.parent?.type === 'compound_statement' || site.parent?.type === 'case_statement' || site.parent?.type === 'labeled_statement';
  const ownLine = text.slice(lineStart, site.startIndex).trim() === '';
  const siteText = text.slice(site.startIndex, site.endIndex);
  const edits = inBlock && ownLine
    ? [{ file, range: { start: { line: site.startPosition.row, character: 0 }, end: { line: site.startPosition.row, character: 0 } }, newText: `${indent}${releaseCall}\n` }]
    : [{ file, range: rangeOf(site), newText: `{ ${releaseCall} ${siteText} }` }];
  fixes.push({ title: `Release ${displayLockId(lock.id)} before ${site.type === 'return_statement' ? 'returning' : 'jumping'}`, edits, preferred: true });
  if (site.type === 'return_statement') {
    const label = unlockLabel(fn, lock, text);
    const value = site.namedChild(0);
    const returned = label ? returnedVariableAfter(label, text) : undefined;
    if (label && (!value || returned)) {
      const replacement = value ? `{ ${returned} = ${text.slice(value.startIndex, value.endIndex)}; goto ${label.name}; }` : `goto ${label.name};`;
      fixes.push({ title: `Jump to the unlock label '${label.name}'`, edits: [{ file, range: rangeOf(site), newText: replacement }] });
    }
  }
  return fixes;
}

/** A label in the function whose statements release `lock` before returning. */
function unlockLabel(fn: FunctionAnalysis, lock: HeldLock, text: string): { name: string; node: Node } | undefined {
  for (const labeled of fn.node.descendantsOfType('labeled_statement')) {
    if (!labeled) continue;
    const name = labeled.childForFieldName('label')?.text;
    const following = text.slice(labeled.startIndex, Math.min(text.length, labeled.startIndex + 400));
    const releases = LOCK_OPERATIONS.filter((op) => op.op === 'release' && op.lockClass === lock.lockClass).map((op) => op.name);
    const first = /:\s*([A-Za-z_]\w*)\s*\(([^;]*)\)\s*;/.exec(following);
    if (name && first && releases.includes(first[1]!) && first[2]!.replace(/\s+/g, '').startsWith(lock.id)) return { name, node: labeled };
  }
  return undefined;
}

/** The variable returned at the end of the unlock label's path (`out: unlock(); return ret;` → `ret`). */
function returnedVariableAfter(label: { node: Node }, text: string): string | undefined {
  const tail = text.slice(label.node.startIndex, Math.min(text.length, label.node.startIndex + 600));
  return /\breturn\s+([A-Za-z_]\w*)\s*;/.exec(tail)?.[1];
}
