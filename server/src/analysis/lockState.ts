// Path-sensitive lock state over a function's CFG. Each CFG node carries a set of states (held locks,
// pending conditional acquisitions, branch facts); states that differ are kept apart up to a cap, so
// `if (shared) lock(); … if (shared) unlock();` and `if (!spin_trylock(&l)) return;` are followed
// precisely. The kernel API (which call takes which lock) comes from kernel-api/locks.ts.
import type { Node } from 'web-tree-sitter';
import {
  ATOMIC_LOCK_CLASSES, GUARD_CLASSES, LOCK_OPERATIONS,
  type LockClass, type LockMode, type LockOperation, type LockVariant,
} from '../kernel-api/locks';
import { canonicalLockId, entryNames, singleAssignmentAliases } from './aliases';
import { isZero, type Atom, type Cfg, type CfgEvent, type CfgNode } from './cfg';
import { joinClasses, literalClass, refine, truthOf, type ValueClass } from './values';

export interface HeldLock {
  /** Normalised lock expression (`&dev->lock`), or the lock class for CPU-wide states (`rcu`, `irq`). */
  id: string;
  lockClass: LockClass;
  mode: LockMode;
  variant: LockVariant;
  /** The call, guard or function (for locks held on entry) that took it. */
  acquiredAt: Node;
  via: 'call' | 'guard' | 'entry';
  /** For guards: the scope whose end releases it. */
  scope?: number;
  /** For the interrupt/bottom-half state a `_irq`/`_irqsave`/`_bh` lock variant changed: that lock. */
  implicitBy?: string;
}

interface Pending {
  keys: string[];
  lock: HeldLock;
  /** What the call does to the lock when its result says success: a trylock takes it, a wait helper drops it. */
  op: 'acquire' | 'release';
  successWhen: 'zero' | 'nonzero';
}

interface State {
  held: HeldLock[];
  pending: Pending[];
  /** What this path knows of variables and tested expressions. */
  facts: Map<string, ValueClass>;
  released: Map<string, Node>;
  /**
   * Locks this path has taken, tried or released, with where it first did: a release of an untouched
   * lock may be the caller's.
   */
  touched: Map<string, number>;
  /** The last goto/break taken: where a leak on this path is reported. Not part of the state's identity. */
  lastJump?: Node;
  /** Paths with different facts were merged into this state at the state bound: less precise. */
  merged?: boolean;
  /** Which collections this state may mutate (copy-on-write: a clone shares them until it writes). */
  owned: number;
  /** The path took an exclusive lock it already held: it deadlocks there and goes no further. */
  deadlocked?: boolean;
}

export type LockIssueKind = 'double-release' | 'release-not-held' | 'mismatched-release' | 'double-acquire';

export interface LockIssue {
  kind: LockIssueKind;
  node: Node;
  lock: string;
  /** The earlier acquisition or release the message refers to. */
  related?: Node;
  detail: string;
}

export interface ReturnValue {
  text: string;
  /** What the path knows of the returned value (a literal, or a fact about the returned variable). */
  value?: ValueClass;
  /** Whether the returned value is non-zero/non-NULL, when the path tells. */
  truth?: boolean;
}

export interface ReturnState {
  /** The return statement, or the goto that led to it when the lock was leaked on that path. */
  reportAt: Node;
  returnNode: Node;
  held: HeldLock[];
  /** What this path returns (absent for `return;` and falling off the end). */
  value?: ReturnValue;
  /** The path reached here through a merge of states: what it holds is certain, its facts less so. */
  merged?: boolean;
  /** Locks this path took and then released (a path that never took a lock did not release it). */
  released: ReadonlySet<string>;
}

export interface LockAnalysisResult {
  /** For each call (by start offset): an atomic-context lock held there on some path (the most recent one). */
  atomicAtCall: Map<number, HeldLock>;
  /** Calls (by start offset) made, on some path, after this function dropped a lock its caller holds. */
  callsWithCallerLockDropped: Set<number>;
  issues: LockIssue[];
  returns: ReturnState[];
  /** Lock ids this function acquires somewhere (by call or guard). */
  acquiredIds: Set<string>;
  /** Lock ids this function releases somewhere while holding them. */
  releasedIds: Set<string>;
  /** Locks held on entry (annotated, or released before being taken on every path: the caller's). */
  heldOnEntry: Set<string>;
  /** The caller's locks this function releases on some path, with the release used. */
  releasesForCaller: Map<string, HeldLock>;
  /** Semaphores this function up()s on a path that does not hold them: it gives a count back (a completion). */
  signalled: Set<string>;
  /** Locks a called module function releases (always or depending on its result): no unlock fix for them here. */
  releasedByCallees: Set<string>;
  /** Locals declared from an access path at the top of the body: what they name on entry (see aliases.ts). */
  entryNames: ReadonlyMap<string, string>;
  /** The state cap was hit: results may be imprecise, so leak reports are suppressed. */
  truncated: boolean;
}

/** Distinct states kept per CFG node; past it, states that hold the same locks are merged. */
const MAX_STATES_PER_NODE = 16;
/** Distinct lock sets per CFG node past which the analysis gives up (merging cannot join lock sets). */
const MAX_LOCK_SETS_PER_NODE = 64;
/** Work bound per CFG node: past it the function is reported as truncated instead of analysed on. */
const MAX_STEPS_PER_NODE = 48;

const operationsByName = new Map<string, LockOperation[]>();
for (const op of LOCK_OPERATIONS) operationsByName.set(op.name, [...(operationsByName.get(op.name) ?? []), op]);

/** The table rows of a call, applied in order (`downgrade_write` releases the write hold, then reads). */
export function lockOperations(name: string | undefined): readonly LockOperation[] | undefined {
  return name === undefined ? undefined : operationsByName.get(name);
}

/** A lock expression as an identity: whitespace and redundant parentheses removed. */
export function normalizeLockExpression(text: string): string {
  let t = text.replace(/\s+/g, '');
  for (;;) {
    const stripped = t.replace(/^\((.*)\)$/, '$1');
    if (stripped === t || !balanced(stripped)) break;
    t = stripped;
  }
  return t.replace(/^&\((.*)\)$/, (_, inner: string) => (balanced(inner) ? `&${inner}` : `&(${inner})`)).replace(/^&\*/, '');
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** A lock id as messages show it: without the rename marker a changed variable left on it. */
export function displayLockId(id: string): string {
  return id.replace(/@\d+$/, '');
}

export function isAtomicClass(lockClass: LockClass): boolean {
  return ATOMIC_LOCK_CLASSES.has(lockClass);
}

/** `&res->m`, `&res->a.b`: the pointer the lock expression dereferences first. */
const POINTER_BASE = /^&([A-Za-z_]\w*)->/;

/** The ids of CPU-wide states (interrupts, bottom halves, preemption, RCU): their class names. */
const CPU_WIDE_IDS: ReadonlySet<string> = new Set<LockClass>(['irq', 'bh', 'preempt', 'rcu']);

/** Classes that nest or count, so taking them again while held is not a self-deadlock. */
const NESTING_CLASSES: ReadonlySet<LockClass> = new Set<LockClass>(['irq', 'bh', 'preempt', 'rcu', 'semaphore']);

/** `&port->lock` for member `lock` of `port`; `&d->port.lock` of `&d->port`. */
function memberOf(expression: string, member: string): string {
  if (expression.startsWith('&')) return `${expression}.${member}`;
  return `&${/^[\w.>-]+$/.test(expression) ? expression : `(${expression})`}->${member}`;
}

function sortedJoin(parts: string[]): string {
  return parts.length < 2 ? parts[0] ?? '' : parts.sort().join(';');
}

/** Key fragments of collections, which copy-on-write states share: computed once per collection. */
const fragments = new WeakMap<object, string>();

function fragment(collection: object, compute: () => string): string {
  let text = fragments.get(collection);
  if (text === undefined) {
    text = compute();
    fragments.set(collection, text);
  }
  return text;
}

function heldFragment(state: State): string {
  return fragment(state.held, () => sortedJoin(state.held.map((h) => `${h.id}|${h.lockClass}|${h.mode}|${h.variant}|${h.scope ?? ''}`)));
}

function pendingFragment(state: State): string {
  return fragment(state.pending, () => sortedJoin(state.pending.map((p) => `${p.op}${p.keys.join(',')}>${p.lock.id}`)));
}

function stateKey(state: State): string {
  const held = heldFragment(state);
  if (state.pending.length === 0 && state.facts.size === 0 && state.released.size === 0 && state.touched.size === 0) return held;
  const pending = pendingFragment(state);
  const facts = fragment(state.facts, () => sortedJoin([...state.facts].map(([k, v]) => `${k}=${v}`)));
  const released = fragment(state.released, () => sortedJoin([...state.released.keys()]));
  const touched = fragment(state.touched, () => sortedJoin([...state.touched.keys()]));
  return `${held}#${pending}#${facts}#${released}#${touched}`;
}

const wordPatterns = new Map<string, { word: RegExp; mentions: RegExp }>();

/**
 * `\bname\b`, and name as a whole operand of a lock expression, for an assigned variable: not a member
 * of the same name (`&pt->pd->lock` does not change when a local `pd` is assigned).
 */
function patternsFor(variable: string): { word: RegExp; mentions: RegExp } {
  let patterns = wordPatterns.get(variable);
  if (!patterns) {
    patterns = { word: new RegExp(`\\b${variable}\\b`), mentions: new RegExp(`(^|[^\\w.>])${variable}($|[^\\w])`) };
    wordPatterns.set(variable, patterns);
  }
  return patterns;
}

/** A state that shares its collections with `state` until either writes (see the mutable* helpers). */
function cloneState(state: State): State {
  return { ...state, owned: 0 };
}

const OWN_HELD = 1;
const OWN_PENDING = 2;
const OWN_FACTS = 4;
const OWN_RELEASED = 8;
const OWN_TOUCHED = 16;

function mutableHeld(state: State): HeldLock[] {
  if (!(state.owned & OWN_HELD)) {
    state.held = [...state.held];
    state.owned |= OWN_HELD;
  }
  return state.held;
}
function mutablePending(state: State): Pending[] {
  if (!(state.owned & OWN_PENDING)) {
    state.pending = [...state.pending];
    state.owned |= OWN_PENDING;
  }
  return state.pending;
}
function mutableFacts(state: State): Map<string, ValueClass> {
  if (!(state.owned & OWN_FACTS)) {
    state.facts = new Map(state.facts);
    state.owned |= OWN_FACTS;
  }
  return state.facts;
}
function mutableReleased(state: State): Map<string, Node> {
  if (!(state.owned & OWN_RELEASED)) {
    state.released = new Map(state.released);
    state.owned |= OWN_RELEASED;
  }
  return state.released;
}
function touch(state: State, id: string, at: Node): void {
  if (state.touched.has(id)) return;
  if (!(state.owned & OWN_TOUCHED)) {
    state.touched = new Map(state.touched);
    state.owned |= OWN_TOUCHED;
  }
  state.touched.set(id, at.startIndex);
}

type LockOperationShape = { lockClass: LockClass; mode: LockMode; variant: LockVariant };

/** A lock effect of a call: from the API table, or from a module function's summary. */
export interface CallLockEffect {
  /**
   * `conditional`: taken only when the call's result says so (`successWhen`), like a trylock;
   * `conditionalRelease`: the caller's lock is dropped when the result says so (a wait that fails).
   */
  op: 'acquire' | 'release' | 'conditional' | 'conditionalRelease';
  successWhen?: 'zero' | 'nonzero';
  id: string;
  lockClass: LockClass;
  mode: LockMode;
  variant: LockVariant;
}

export interface LockAnalysisOptions {
  /** Locks held on entry (`__must_hold(x)`, `__releases(x)`): normalised expressions. */
  heldOnEntry: string[];
  entryNode: Node;
  /** The text a node's source is read from for lock expressions (the original text). */
  textOf: (node: Node) => string;
  /** The function's body, whose top-level declarations name things on entry. */
  body?: Node;
  /** Lock effects of calls to module functions (lock helpers), when known. */
  callEffects?: (callee: string, args: Node[]) => CallLockEffect[] | undefined;
}

/** The options a pass works with: the annotations resolved, and the function's aliases. */
interface PassOptions extends LockAnalysisOptions {
  /** A lock id as written through this function's single-assignment aliases (see aliases.ts). */
  canonical: (id: string) => string;
  entryNames: ReadonlyMap<string, string>;
}

export function analyzeLocks(cfg: Cfg, givenOptions: LockAnalysisOptions): LockAnalysisResult {
  const aliases = singleAssignmentAliases(cfg, givenOptions.textOf);
  const canonical = (id: string) => canonicalLockId(id, aliases);
  const options: PassOptions = { ...givenOptions, canonical, entryNames: givenOptions.body ? entryNames(cfg, givenOptions.body, givenOptions.textOf) : new Map(), heldOnEntry: annotationIds(cfg, givenOptions).map(canonical) };
  const first = new LockPass(cfg, options, new Map()).run();
  // A lock released before this function touched it may be the caller's (an unlock helper, or a
  // function that drops and retakes its caller's lock, in a loop too): analyse again with it held on
  // entry. The hypothesis is wrong when that pass takes the lock while the caller's hold is still on
  // (`if (x) lock(l); … unlock(l);`): then only locks whose releases were never reached holding
  // them count as the caller's.
  // A truncated first pass is tried too: holding the caller's lock from entry often removes the very
  // path split (touched or not) that overflowed it (ivtv_write drops and retakes it in a retry loop).
  if (first.untouchedReleased.size === 0) return first.result;
  const second = new LockPass(cfg, options, first.untouchedReleased).run();
  if (second.contradicted.size === 0) return second.result;
  if (first.callerLocks.size === 0) return first.result;
  return new LockPass(cfg, options, first.callerLocks).run().result;
}

/**
 * Annotations name a lock either by address or as an lvalue (`__releases(&tp->lock)`,
 * `__releases(tp->lock)`: about half of drivers/ each). When the body's lock calls name `&x` and never
 * `x`, the annotation's `x` is that lock; a pointer (`__acquires(lock)` with `spinlock_t *lock`) stays as
 * written, since `&lock` would be the pointer's own address.
 */
function annotationIds(cfg: Cfg, options: LockAnalysisOptions): string[] {
  if (options.heldOnEntry.every((id) => id.startsWith('&'))) return options.heldOnEntry;
  const used = new Set<string>();
  for (const node of cfg.nodes) {
    for (const event of node.events) {
      if (event.kind !== 'call') continue;
      for (const op of lockOperations(event.callee) ?? []) {
        const id = lockIdOf(op, event.args, options.textOf);
        if (id !== undefined) used.add(id);
      }
      if (event.callee !== undefined && !lockOperations(event.callee)) {
        for (const effect of options.callEffects?.(event.callee, event.args) ?? []) used.add(effect.id);
      }
    }
  }
  return options.heldOnEntry.map((id) => (!id.startsWith('&') && used.has(`&${id}`) && !used.has(id) ? `&${id}` : id));
}

/** The lock a table operation acts on, named from the call's arguments. */
function lockIdOf(op: LockOperation, args: Node[], textOf: (node: Node) => string): string | undefined {
  // CPU-wide states are named by their class; fixed global locks (rtnl_lock) by the lock's name.
  if (op.lockArg === undefined) return op.lockName ?? op.lockClass;
  const arg = args[op.lockArg];
  if (!arg) return undefined;
  const expression = normalizeLockExpression(textOf(arg));
  return op.lockMember ? memberOf(expression, op.lockMember) : expression;
}

interface PassResult {
  result: LockAnalysisResult;
  /** Locks released untouched at sites never reached holding them. */
  callerLocks: Map<string, LockOperationShape>;
  /** Locks released untouched somewhere. */
  untouchedReleased: Map<string, LockOperationShape>;
  /** Entry-held locks taken again while still held: not the caller's after all. */
  contradicted: Set<string>;
}

/**
 * One pass of the lock analysis over a function's CFG: a worklist of (node, state) pairs, each state
 * carried through the node's events and split at its branch. `callerLocks` are the locks the pass assumes
 * held on entry (see analyzeLocks).
 */
class LockPass {
  private readonly contradicted = new Set<string>();
  private readonly result: LockAnalysisResult;
  /** Conditions the CFG tests and keeps facts for. */
  private readonly testedKeys: ReadonlySet<string>;
  /** Variables whose call results are worth a fact: tested, and returned (the caller learns the outcome). */
  private readonly trackedResults: ReadonlySet<string>;
  /** Release sites reached with the lock held on some path. */
  private readonly heldReleaseSites = new Set<number>();
  /** Release sites reached on some path where the lock was never touched. */
  private readonly untouchedReleases = new Map<number, { id: string; node: Node; op: LockOperationShape }>();
  private readonly issueKeys = new Set<string>();
  private readonly entryHeld: ReadonlySet<string>;
  private readonly seen: Array<Set<string>>;
  /** Per node, past the state bound: the merged state of each lock set. */
  private readonly widened: Array<Map<string, State> | undefined> = [];
  private readonly worklist: Array<[number, State]> = [];

  constructor(private readonly cfg: Cfg, private readonly options: PassOptions, private readonly callerLocks: ReadonlyMap<string, LockOperationShape>) {
    this.result = {
      atomicAtCall: new Map(), callsWithCallerLockDropped: new Set(), issues: [], returns: [], acquiredIds: new Set(), releasedIds: new Set(),
      heldOnEntry: new Set([...options.heldOnEntry, ...callerLocks.keys()]), releasesForCaller: new Map(), signalled: new Set(),
      releasedByCallees: new Set(), entryNames: options.entryNames, truncated: false,
    };
    this.testedKeys = new Set(cfg.nodes.flatMap((node) => (node.branch?.correlationKey === undefined ? [] : [node.branch.correlationKey])));
    this.trackedResults = trackedResultVariables(cfg, this.testedKeys);
    this.entryHeld = this.result.heldOnEntry;
    this.seen = cfg.nodes.map(() => new Set());
  }

  /** The state on entry: the annotated locks and the caller's locks held. */
  private initialState(): State {
    const { heldOnEntry, entryNode } = this.options;
    return {
      held: [
        ...heldOnEntry.map((id): HeldLock => ({ id, lockClass: 'spinlock', mode: 'exclusive', variant: 'plain', acquiredAt: entryNode, via: 'entry' })),
        ...[...this.callerLocks].map(([id, op]): HeldLock => ({ id, ...op, acquiredAt: entryNode, via: 'entry' })),
      ],
      pending: [],
      facts: new Map(),
      released: new Map(),
      touched: new Map(),
      owned: 0,
    };
  }

  run(): PassResult {
    const initial = this.initialState();
    this.worklist.push([this.cfg.entry, initial]);
    this.seen[this.cfg.entry]!.add(stateKey(initial));
    let steps = 0;
    const maxSteps = Math.min(50_000, MAX_STEPS_PER_NODE * this.cfg.nodes.length);
    while (this.worklist.length > 0) {
      if (++steps > maxSteps) {
        this.result.truncated = true;
        break;
      }
      const [nodeId, incoming] = this.worklist.pop()!;
      this.step(this.cfg.nodes[nodeId]!, cloneState(incoming));
    }
    return this.finish();
  }

  /** Carries a state through a node's events and on along its edges. */
  private step(node: CfgNode, state: State): void {
    for (const event of node.events) this.apply(state, event);
    if (state.deadlocked) return;
    if (node.branch) {
      const [whenTrue, whenFalse] = this.split(state, node.branch);
      if (whenTrue && node.succ[0] !== undefined) this.push(node.succ[0], whenTrue);
      if (whenFalse && node.succ[1] !== undefined) this.push(node.succ[1], whenFalse);
    } else {
      for (const next of node.succ) this.push(next, state);
    }
  }

  /** What the pass found, and the caller's-lock hypotheses for the next pass. */
  private finish(): PassResult {
    const newCallerLocks = new Map<string, LockOperationShape>();
    const untouchedReleased = new Map<string, LockOperationShape>();
    for (const [site, release] of this.untouchedReleases) {
      untouchedReleased.set(release.id, release.op);
      if (!this.heldReleaseSites.has(site)) newCallerLocks.set(release.id, release.op);
    }
    // A release is reported wrong only where no path reaches it holding the lock: where some path does,
    // the report rests on which paths can go together (a flag, a loop count, a field tested twice), and
    // that is where a false report comes from (as smatch, which warns only on a definite state).
    this.result.issues = this.result.issues.filter((issue) => !((issue.kind === 'double-release' || issue.kind === 'release-not-held') && this.heldReleaseSites.has(issue.node.id)));
    return { result: this.result, callerLocks: newCallerLocks, untouchedReleased, contradicted: this.contradicted };
  }

  private addIssue(issue: LockIssue) {
    const key = `${issue.kind}@${issue.node.startIndex}@${issue.lock}`;
    if (this.issueKeys.has(key)) return;
    this.issueKeys.add(key);
    this.result.issues.push(issue);
  }

  /** `byCallee`: a module function's release, named through its parameters: its path may differ from ours. */
  private release(state: State, namedId: string, op: LockOperationShape, node: Node, byCallee = false) {
    let id = namedId;
    let index = findLast(state.held, (h) => h.id === id);
    if (index < 0 && !state.touched.has(id) && !this.entryHeld.has(id)) {
      index = accessorAlias(state.held, id, op, byCallee);
      if (index >= 0) id = state.held[index]!.id;
    }
    const touched = state.touched.has(id);
    touch(state, id, node);
    if (index < 0) {
      const earlier = state.released.get(id);
      if (op.lockClass === 'semaphore') {
        // up() without down() is how a semaphore signals; it may also be an unlock helper's release of
        // its caller's down() (omapdrm's dsi_bus_unlock()), which a second pass tries.
        // (Through a callee's release, the callee is what signals.)
        if (!byCallee) this.result.signalled.add(id);
        if (!touched && !this.entryHeld.has(id) && !this.untouchedReleases.has(node.id)) this.untouchedReleases.set(node.id, { id, node, op: { lockClass: op.lockClass, mode: op.mode, variant: op.variant } });
        return;
      }
      // local_irq_enable() twice is harmless: the interrupt flag is a state, not a count.
      if (earlier && op.lockClass === 'irq') return;
      if (earlier) this.addIssue({ kind: 'double-release', node, lock: id, related: earlier, detail: 'released twice on this path' });
      else if (touched) this.addIssue({ kind: 'release-not-held', node, lock: id, detail: 'not held on this path' });
      else if (!this.entryHeld.has(id) && !this.untouchedReleases.has(node.id)) this.untouchedReleases.set(node.id, { id, node, op: { lockClass: op.lockClass, mode: op.mode, variant: op.variant } });
      return;
    }
    this.heldReleaseSites.add(node.id);
    this.result.releasedIds.add(id);
    const held = state.held[index]!;
    // The caller's semaphore only by hypothesis: to callers that never took it, the up() still signals.
    if (held.via === 'entry' && held.lockClass === 'semaphore' && this.callerLocks.has(id) && !byCallee) this.result.signalled.add(id);
    // A lock held on entry (`__releases(x)`, `__must_hold(x)`) is the caller's: releasing it is an effect
    // the caller sees.
    if (held.via === 'entry' && !this.result.releasesForCaller.has(id)) this.result.releasesForCaller.set(id, { id, ...op, acquiredAt: node, via: 'call' });
    // Interrupts, bottom halves, preemption and RCU have no read and write sides.
    const modeMatters = !CPU_WIDE_IDS.has(id);
    if (held.via !== 'entry' && (held.lockClass !== op.lockClass || (modeMatters && held.mode !== op.mode))) {
      this.addIssue({ kind: 'mismatched-release', node, lock: id, related: held.acquiredAt, detail: describeMismatch(held, op) });
    }
    mutableHeld(state).splice(index, 1);
    mutableReleased(state).set(id, node);
    // The variant's interrupt/bottom-half side is its own state: `spin_lock_irq(a); spin_lock(b);
    // spin_unlock(a); spin_unlock_irq(b);` is balanced. What a path leaves unrestored is found at return.
    const side = sideStateOf(op);
    if (side) {
      // Its own side first: `spin_lock_bh(a); spin_lock_bh(b); spin_unlock_bh(a);` leaves b's (fc_exch).
      const own = findLast(state.held, (h) => h.id === side && h.implicitBy === id);
      const sideIndex = own >= 0 ? own : findLast(state.held, (h) => h.id === side);
      if (sideIndex >= 0) mutableHeld(state).splice(sideIndex, 1);
      // Enabling interrupts that this function did not disable is harmless when they were on, and the
      // caller's design when they were off (rpm_resume, entered with them off): the interrupt flag is a
      // state, not a count. Bottom halves count, so an enable without a disable is reported.
      else if (held.via !== 'entry' && side === 'bh') this.addIssue({ kind: 'mismatched-release', node, lock: id, related: held.acquiredAt, detail: `taken with the ${held.variant} variant but released with the ${op.variant} variant` });
    }
  }

  private acquire(state: State, lock: HeldLock) {
    this.result.acquiredIds.add(lock.id);
    touch(state, lock.id, lock.acquiredAt);
    // `mutex_lock(&res->m)` dereferences `res`: a later `if (res)` is true on this path (drbd_nl's
    // `out: if (resource) mutex_unlock(&resource->conf_update);`).
    // So does a lock named by a pointer variable (`mutex_lock(req_queue_lock)` … `if (req_queue_lock)`).
    const base = POINTER_BASE.exec(lock.id)?.[1] ?? (/^[A-Za-z_]\w*$/.test(lock.id) ? lock.id : undefined);
    if (base !== undefined && this.testedKeys.has(base) && truthOf(state.facts.get(base)) !== true) mutableFacts(state).set(base, 'nonzero');
    // Semaphores count (a second down() waits for an up() elsewhere, as completions did): not a deadlock.
    const exclusive = lock.mode === 'exclusive' && !NESTING_CLASSES.has(lock.lockClass);
    if (this.callerLocks.has(lock.id) && state.held.some((h) => h.id === lock.id && h.via === 'entry')) this.contradicted.add(lock.id);
    if (exclusive && !lock.id.includes('[')) {
      const already = state.held.find((h) => h.id === lock.id && h.mode === 'exclusive' && h.via !== 'entry');
      if (already) {
        this.addIssue({ kind: 'double-acquire', node: lock.acquiredAt, lock: lock.id, related: already.acquiredAt, detail: 'already held on this path' });
        state.deadlocked = true;
      }
    }
    // Two holds of one lock already say all there is (a deadlock, or a count that never returns to zero):
    // a loop that keeps taking it must not grow the state forever.
    if (state.held.filter((h) => h.id === lock.id).length < 2) mutableHeld(state).push(lock);
    if (state.released.has(lock.id)) mutableReleased(state).delete(lock.id);
    const side = lock.via === 'call' ? sideStateOf(lock) : undefined;
    if (side) mutableHeld(state).push({ id: side, lockClass: side, mode: 'shared', variant: lock.variant, acquiredAt: lock.acquiredAt, via: 'call', implicitBy: lock.id });
  }

  /** Notes the atomic lock held at a call; a lock the callee itself drops (a wait helper) does not count. */
  private recordAtomic(state: State, call: Node, droppedByCallee: ReadonlySet<string>) {
    for (let i = state.held.length - 1; i >= 0; i--) {
      const held = state.held[i]!;
      // The lock itself names the atomic section better than the interrupt state its variant changed.
      if (held.implicitBy && state.held.some((h) => h.id === held.implicitBy)) continue;
      if (isAtomicClass(held.lockClass) && held.via !== 'entry' && !droppedByCallee.has(held.id)) {
        if (!this.result.atomicAtCall.has(call.startIndex)) this.result.atomicAtCall.set(call.startIndex, held);
        return;
      }
    }
  }

  private apply(state: State, event: CfgEvent) {
    switch (event.kind) {
      case 'call':
        return this.applyCall(state, event);
      case 'assign':
        return this.applyAssign(state, event);
      case 'clobber': {
        // What the path knew of the variable's value; a test that only passes its address on
        // (`static_branch_unlikely(&key)`) is the same question again.
        const { word } = patternsFor(event.variable);
        const byAddress = new RegExp(`&\\s*${event.variable}\\b`, 'g');
        for (const key of state.facts.keys()) if (word.test(key.replace(byAddress, ''))) mutableFacts(state).delete(key);
        return;
      }
      case 'guard': {
        const guard = GUARD_CLASSES[event.guardClass];
        if (!guard) return;
        const named = guard.hasLockArg ? (event.lockArg ? normalizeLockExpression(this.options.textOf(event.lockArg)) : undefined) : guard.lockClass;
        if (named === undefined) return;
        const id = this.options.canonical(named);
        this.acquire(state, { id, lockClass: guard.lockClass, mode: guard.mode, variant: guard.variant, acquiredAt: event.node, via: 'guard', scope: event.scope });
        return;
      }
      case 'scopeExit':
        if (state.held.some((h) => h.scope !== undefined && event.scopes.includes(h.scope))) {
          state.held = state.held.filter((h) => h.scope === undefined || !event.scopes.includes(h.scope));
          state.owned |= OWN_HELD;
        }
        return;
      case 'jump':
        // Only a goto is reported at: it is the edge that chose the leaking exit.
        state.lastJump = event.node.type === 'goto_statement' ? event.node : undefined;
        return;
      case 'return':
        return this.applyReturn(state, event);
    }
  }

  /** A call: a lock operation of the table, or a module function's lock effects (its summary). */
  private applyCall(state: State, event: Extract<CfgEvent, { kind: 'call' }>) {
    const effects = event.callee !== undefined && !lockOperations(event.callee) ? this.options.callEffects?.(event.callee, event.args) : undefined;
    const dropped = effects?.filter((e) => e.op === 'release').flatMap((e) => [e.id, sideStateOf(e) ?? e.id]);
    this.recordAtomic(state, event.node, new Set(dropped));
    if (this.entryHeld.size > 0 && [...this.entryHeld].some((id) => !state.held.some((h) => h.id === id))) this.result.callsWithCallerLockDropped.add(event.node.startIndex);
    for (const given of effects ?? []) {
      const effect = { ...given, id: this.options.canonical(given.id) };
      const lock: HeldLock = { id: effect.id, lockClass: effect.lockClass, mode: effect.mode, variant: effect.variant, acquiredAt: event.node, via: 'call' };
      if (effect.op === 'release' || effect.op === 'conditionalRelease') this.result.releasedByCallees.add(effect.id);
      if (effect.op === 'acquire') this.acquire(state, lock);
      else if (effect.op === 'release') this.release(state, effect.id, effect, event.node, true);
      else if (effect.op === 'conditionalRelease') mutablePending(state).push({ keys: [`call:${event.node.id}`], lock, op: 'release', successWhen: effect.successWhen ?? 'nonzero' });
      else {
        this.result.acquiredIds.add(effect.id);
        touch(state, effect.id, event.node);
        mutablePending(state).push({ keys: [`call:${event.node.id}`], lock, op: 'acquire', successWhen: effect.successWhen ?? 'zero' });
      }
    }
    for (const op of lockOperations(event.callee) ?? []) {
      const named = lockIdOf(op, event.args, this.options.textOf);
      if (named === undefined) continue;
      const id = this.options.canonical(named);
      const lock: HeldLock = { id, lockClass: op.lockClass, mode: op.mode, variant: op.variant, acquiredAt: event.node, via: 'call' };
      if (op.op === 'acquire') this.acquire(state, lock);
      else if (op.op === 'release') this.release(state, id, op, event.node);
      else {
        this.result.acquiredIds.add(id);
        touch(state, id, event.node);
        mutablePending(state).push({ keys: [`call:${event.node.id}`], lock, op: 'acquire', successWhen: op.successWhen ?? 'nonzero' });
      }
    }
  }

  /** An assignment: facts about the variable, pending trylock results, locks named through it. */
  private applyAssign(state: State, event: Extract<CfgEvent, { kind: 'assign' }>) {
    const value = event.value;
    const variable = event.variable;
    const resultCall = truthPreservingCall(value);
    const fromCall = resultCall ? `call:${resultCall.id}` : undefined;
    rekeyPending(state, variable, fromCall);
    const assigned = valueOfAssignment(value, variable, state, this.trackedResults);
    const { word, mentions } = patternsFor(variable);
    const within = event.within;
    const inLoop = (offset: number) => !!within && offset >= within[0] && offset < within[1];
    // An iterator macro's argument whose lock this path took before the loop is the container, not
    // the cursor: the macro leaves it as it was (drbd_nl: `if (resource)` after
    // `for_each_connection_rcu(connection, resource)` with `&resource->conf_update` held).
    // A lock held on entry is no evidence: the caller's-lock guess may name the cursor (vfio_pci_core).
    // Nor is a lock an earlier loop already renamed (`@`): it is no longer named through the variable.
    if (within && state.held.some((h) => h.via !== 'entry' && !h.id.includes('@') && POINTER_BASE.exec(h.id)?.[1] === variable && !inLoop(state.touched.get(h.id) ?? h.acquiredAt.startIndex))) return;
    for (const key of state.facts.keys()) {
      if (word.test(key)) mutableFacts(state).delete(key);
    }
    renameLocksNamedBy(state, event, mentions, inLoop);
    // `locked = true;`, `ret = -ENOSPC;`, `ret = err;` are facts a later branch or return can use.
    if (assigned !== undefined) mutableFacts(state).set(variable, assigned);
  }

  /** A return: what the path holds and returns, for the leak check and the summaries. */
  private applyReturn(state: State, event: Extract<CfgEvent, { kind: 'return' }>) {
    // Interrupts left disabled by a lock released with the wrong variant: reported at that release.
    for (const side of state.held) {
      if (!side.implicitBy || state.held.some((h) => h.id === side.implicitBy)) continue;
      const releasedAt = state.released.get(side.implicitBy);
      if (releasedAt) this.addIssue({ kind: 'mismatched-release', node: releasedAt, lock: side.implicitBy, related: side.acquiredAt, detail: `taken with the ${side.variant} variant but released without restoring ${side.id === 'bh' ? 'bottom halves' : 'interrupts'}` });
    }
    const held = state.held.filter((h) => h.via !== 'guard' && !h.implicitBy);
    this.result.returns.push({ reportAt: state.lastJump ?? event.node, returnNode: event.node, held, value: returnValue(event.node, state), merged: state.merged, released: new Set(state.released.keys()) });
  }

  /** The states on the true and false edges of a branch. */
  private split(state: State, atom: Atom): [State | null, State | null] {
    if (atom.constant !== undefined) return atom.constant ? [state, null] : [null, state];
    const key = atom.call ? `call:${atom.call.id}` : atom.variable;
    // One result may decide several locks (tpm_try_get_ops() returns 0 holding ops_sem and tpm_mutex).
    const decided = key === undefined ? [] : state.pending.filter((p) => p.keys.includes(key));
    if (decided.length > 0) {
      const whenTrue = cloneState(state);
      const whenFalse = cloneState(state);
      // Shared by both, owned by neither: the first to write copies it.
      whenTrue.pending = whenFalse.pending = state.pending.filter((p) => !decided.includes(p));
      for (const pending of decided) {
        const onSuccess = pending.successWhen === 'nonzero' ? whenTrue : whenFalse;
        if (pending.op === 'acquire') this.acquire(onSuccess, pending.lock);
        else this.release(onSuccess, pending.lock.id, pending.lock, pending.lock.acquiredAt, true);
      }
      // The result itself is known on each edge too: `return err;` later tells the caller which it was,
      // and a loop retesting the variable (`while (!locked) locked = mutex_trylock(…);`) knows it.
      const known = atom.correlationKey === undefined && atom.variable !== undefined ? { ...atom, correlationKey: atom.variable } : atom;
      return [this.learn(whenTrue, known, true), this.learn(whenFalse, known, false)];
    }
    // A loop condition keeps no key, but a variable a trylock result decided is known on this path.
    const keyed = atom.correlationKey === undefined && atom.variable !== undefined && state.facts.has(atom.variable) ? { ...atom, correlationKey: atom.variable } : atom;
    if (keyed.correlationKey === undefined) return [state, cloneState(state)];
    if (keyed.equality && equalsOtherValue(state, keyed.equality)) return [null, state];
    const truth = truthOf(state.facts.get(keyed.correlationKey));
    if (truth !== undefined) return truth ? [this.learn(state, keyed, true), null] : [null, state];
    return [this.learn(cloneState(state), keyed, true), this.learn(cloneState(state), keyed, false)];
  }

  /** The state on the edge where `atom` tested `truth`, with what that tells of its operand; null if infeasible. */
  private learn(state: State, atom: Atom, truth: boolean): State | null {
    if (atom.correlationKey === undefined) return state;
    const known = state.facts.get(atom.correlationKey);
    const next = refine(known, truth, atom.negative);
    if (next === null) return null;
    if (next !== known) mutableFacts(state).set(atom.correlationKey, next);
    return state;
  }

  private push(nodeId: number, state: State) {
    const key = stateKey(state);
    const set = this.seen[nodeId]!;
    if (set.has(key)) return;
    if (set.size < MAX_STATES_PER_NODE) {
      set.add(key);
      this.worklist.push([nodeId, state]);
      return;
    }
    // Past the bound, states that hold the same locks are merged: only what they agree on is kept, so
    // a big function still gets its findings instead of none.
    const merged = (this.widened[nodeId] ??= new Map());
    const locksKey = lockSetKey(state);
    const previous = merged.get(locksKey);
    if (!previous && merged.size >= MAX_LOCK_SETS_PER_NODE) {
      this.result.truncated = true;
      return;
    }
    const next = previous ? mergeStates(previous, state) : { ...cloneState(state), merged: true };
    const nextKey = stateKey(next);
    if (previous && nextKey === stateKey(previous)) return;
    merged.set(locksKey, next);
    set.add(nextKey);
    this.worklist.push([nodeId, next]);
  }

}

/** Pending trylock results after `variable = value`: the variable now names this call's result (or no longer any). */
function rekeyPending(state: State, variable: string, fromCall: string | undefined): void {
  if (!state.pending.some((p) => p.keys.includes(variable) || (fromCall !== undefined && p.keys.includes(fromCall)))) return;
  state.pending = state.pending
    .map((p) => {
      const keys = p.keys.filter((k) => k !== variable);
      if (fromCall && keys.includes(fromCall)) keys.push(variable);
      return { ...p, keys };
    })
    .filter((p) => p.keys.length > 0);
  state.owned |= OWN_PENDING;
}

/**
 * A lock named through this variable is another object from now on (`pos` advanced by a
 * list_for_each_entry(), a pointer reassigned): what was held under that name keeps being held,
 * under a name later code cannot reach.
 * An iterator macro may name its container among its arguments (`for_each_context(priv, ctx)`):
 * there only locks taken inside the loop follow the cursor.
 * A lock this path named before the loop began names the container, whatever the macro's
 * arguments are (virtio_mem drops and retakes `&vm->hotplug_mutex` inside
 * `virtio_mem_sbm_for_each_mb_rev(vm, mb_id, …)`).
 * CPU-wide states are named by their class, not through variables: `irq = vdev->irq;` leaves
 * interrupts as they were (hvcs).
 * A declaration gives a local its first value: the caller's lock named through it (an annotation,
 * or a release before any acquisition) is named by that value, not an earlier one.
 */
function renameLocksNamedBy(state: State, event: Extract<CfgEvent, { kind: 'assign' }>, mentions: RegExp, inLoop: (offset: number) => boolean): void {
  const within = event.within;
  const declares = event.node.type === 'init_declarator';
  const renamed = (h: HeldLock) => mentions.test(h.id) && !h.id.includes('@') && !CPU_WIDE_IDS.has(h.id) && !(declares && h.via === 'entry')
    && (!within || (inLoop(h.acquiredAt.startIndex) && inLoop(state.touched.get(h.id) ?? h.acquiredAt.startIndex)));
  if (state.held.some(renamed)) {
    // One renamed entry per lock name and loop: taking `&res->lock` on every round of
    // `for_each_resource(res)` holds "some of those locks", not an ever longer list.
    const next: HeldLock[] = [];
    for (const h of state.held) {
      const lock = renamed(h) ? { ...h, id: `${h.id}@${event.node.startIndex}` } : h;
      if (lock !== h && next.some((n) => n.id === lock.id)) continue;
      next.push(lock);
    }
    state.held = next;
    state.owned |= OWN_HELD;
  }
  // What the loop released under the cursor's name was another object too.
  const forgotten = (id: string) => {
    if (!mentions.test(id) || CPU_WIDE_IDS.has(id)) return false;
    if (!within) return true;
    const at = state.touched.get(id);
    return at !== undefined && at >= within[0] && at < within[1];
  };
  const gone = new Set([...state.touched.keys()].filter(forgotten));
  if (gone.size > 0) {
    state.touched = new Map([...state.touched].filter(([id]) => !gone.has(id)));
    state.owned |= OWN_TOUCHED;
    for (const id of gone) if (state.released.has(id)) mutableReleased(state).delete(id);
  }
}

/** The path knows `subject == other` for a value other than this one (an earlier switch took that case). */
function equalsOtherValue(state: State, equality: { subject: string; value: string }): boolean {
  const prefix = `${equality.subject}==`;
  for (const [key, value] of state.facts) {
    if (key.startsWith(prefix) && key.length > prefix.length && key.slice(prefix.length) !== equality.value && truthOf(value) === true) return true;
  }
  return false;
}

const FINAL_MEMBER = /(?:->|\.)(\w+)$/;
const CALLS_ACCESSOR = /\w\s*\(/;

/**
 * The held lock an untouched release may name through an accessor: `spin_lock(&rx->lock)` …
 * `spin_unlock(&rx_ring(mac)->lock)` (pasemi: `rx_ring(mac)` returns `mac->rx`, the same ring). When
 * one of the two names goes through a call, the text cannot tell them apart; exactly one held lock of
 * this function with the same member and class is that lock, rather than a leak plus a stray release.
 * -1 when there is no such single candidate.
 */
function accessorAlias(held: readonly HeldLock[], id: string, op: LockOperationShape, byCallee: boolean): number {
  const member = FINAL_MEMBER.exec(id)?.[1];
  if (member === undefined || id.includes('@')) return -1;
  let found = -1;
  for (let i = 0; i < held.length; i++) {
    const h = held[i]!;
    if (h.via !== 'call' || h.implicitBy || h.id.includes('@') || h.lockClass !== op.lockClass || h.mode !== op.mode) continue;
    if (FINAL_MEMBER.exec(h.id)?.[1] !== member || (!byCallee && !CALLS_ACCESSOR.test(id) && !CALLS_ACCESSOR.test(h.id))) continue;
    if (found >= 0) return -1;
    found = i;
  }
  return found;
}

/** The CPU-wide state a lock variant also changes: `irq` for _irq/_irqsave, `bh` for _bh. */
function sideStateOf(op: { lockClass: LockClass; variant: LockVariant }): 'irq' | 'bh' | undefined {
  if (op.lockClass === 'irq' || op.lockClass === 'bh' || op.lockClass === 'preempt' || op.lockClass === 'rcu') return undefined;
  if (op.variant === 'irq' || op.variant === 'irqsave') return 'irq';
  if (op.variant === 'bh') return 'bh';
  return undefined;
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

/**
 * The call whose result a value tests the truth of, unchanged: `f()`, `(f())`, `f() != 0`, `!!f()`
 * (ucsi: `locked = mutex_trylock(&con->lock) != 0;`).
 */
function truthPreservingCall(value: Node | null): Node | undefined {
  let node = value;
  for (;;) {
    if (!node) return undefined;
    if (node.type === 'call_expression') return node;
    if (node.type === 'parenthesized_expression') node = node.namedChild(0);
    else if (node.type === 'binary_expression' && node.childForFieldName('operator')?.type === '!=' && isZero(node.childForFieldName('right'))) node = node.childForFieldName('left');
    else if (node.type === 'unary_expression' && node.childForFieldName('operator')?.type === '!' && node.childForFieldName('argument')?.type === 'unary_expression'
      && node.childForFieldName('argument')!.childForFieldName('operator')?.type === '!') node = node.childForFieldName('argument')!.childForFieldName('argument');
    else return undefined;
  }
}

function returnValue(node: Node, state: State): ReturnValue | undefined {
  if (node.type !== 'return_statement') return undefined;
  let value = node.namedChild(0);
  while (value?.type === 'parenthesized_expression') value = value.namedChild(0);
  if (!value) return undefined;
  const text = value.text.replace(/\s+/g, '');
  const known = literalClass(text) ?? (value.type === 'identifier' ? state.facts.get(text) : undefined);
  return { text, value: known, truth: truthOf(known) };
}

/** What an assignment tells of its variable: a literal's class, a copied variable's, or an untested call result. */
function valueOfAssignment(value: Node | null, variable: string, state: State, trackedResults: ReadonlySet<string>): ValueClass | undefined {
  if (!value) return undefined;
  if (value.type === 'identifier') return state.facts.get(value.text) ?? literalClass(value.text);
  if (value.type === 'call_expression') return literalClass(value.text) ?? (trackedResults.has(variable) ? 'result' : undefined);
  return literalClass(value.text);
}

/** Variables both tested by a branch and returned: their call results tell a caller what happened. */
function trackedResultVariables(cfg: Cfg, testedKeys: ReadonlySet<string>): Set<string> {
  const tracked = new Set<string>();
  for (const node of cfg.nodes) {
    for (const event of node.events) {
      if (event.kind !== 'return' || event.node.type !== 'return_statement') continue;
      const value = event.node.namedChild(0);
      if (value?.type === 'identifier' && testedKeys.has(value.text)) tracked.add(value.text);
    }
  }
  return tracked;
}

/** The locks a state holds and may yet take: states past the bound merge only when these agree. */
function lockSetKey(state: State): string {
  return `${heldFragment(state)}#${pendingFragment(state)}`;
}

/**
 * Two states holding the same locks, as one: facts both agree on, locks both released (a double release
 * is certain only then), and everything either touched.
 */
function mergeStates(a: State, b: State): State {
  const facts = new Map<string, ValueClass>();
  for (const [key, value] of a.facts) {
    const joined = joinClasses(value, b.facts.get(key));
    if (joined !== undefined) facts.set(key, joined);
  }
  const released = new Map([...a.released].filter(([id]) => b.released.has(id)));
  const touched = new Map(a.touched);
  for (const [id, at] of b.touched) touched.set(id, Math.min(at, touched.get(id) ?? at));
  return { ...a, facts, released, touched, owned: OWN_FACTS | OWN_RELEASED | OWN_TOUCHED, merged: true, lastJump: a.lastJump ?? b.lastJump };
}

function describeMismatch(held: HeldLock, op: { lockClass: LockClass; mode: LockMode; variant: LockVariant }): string {
  if (held.lockClass !== op.lockClass) return `taken as a ${held.lockClass} but released as a ${op.lockClass}`;
  if (held.mode !== op.mode) return `taken for ${held.mode === 'shared' ? 'reading' : 'writing'} but released for ${op.mode === 'shared' ? 'reading' : 'writing'}`;
  return `taken with the ${held.variant} variant but released with the ${op.variant} variant`;
}
