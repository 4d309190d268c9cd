// Lock state over the CFG: identities, conditional acquisition, correlation, annotations, the state cap.
import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeFunctions, type FunctionAnalysis } from '../../server/src/analysis/functionAnalysis';
import { normalizeLockExpression } from '../../server/src/analysis/lockState';
import { normalize } from '../../server/src/parsing/normalize';
import { getParser, parseWith } from '../../server/src/parsing/parser';
import type { Parser } from 'web-tree-sitter';

let parser: Parser;

function analyze(source: string): FunctionAnalysis[] {
  const normalized = normalize(source);
  return analyzeFunctions({ path: 't.c', text: source, normalized, tree: parseWith(parser, normalized) });
}

function only(source: string): FunctionAnalysis {
  const [fn] = analyze(source);
  assert.ok(fn?.locks, 'the function should have been analysed for locks');
  return fn;
}

const heldAtReturns = (fn: FunctionAnalysis) => fn.locks!.returns.map((r) => r.held.map((h) => h.id).join(',')).sort();

describe('lock state', () => {
  before(async () => {
    parser = await getParser();
  });

  test('lock expressions are identities regardless of spacing and parentheses', () => {
    assert.equal(normalizeLockExpression('&( dev->lock )'), '&dev->lock');
    assert.equal(normalizeLockExpression('(&dev->lock)'), '&dev->lock');
    assert.equal(normalizeLockExpression('&dev -> lock'), '&dev->lock');
    assert.notEqual(normalizeLockExpression('&a->lock'), normalizeLockExpression('&b->lock'));
  });

  test('returns record what each path still holds', () => {
    const fn = only('int f(struct d *d, int x) { spin_lock(&d->l); if (x) return 1; spin_unlock(&d->l); return 0; }');
    assert.deepEqual(heldAtReturns(fn), ['', '&d->l']);
  });

  test('a trylock result stored in a variable is followed to the branch that tests it', () => {
    const fn = only('int f(struct d *d) { int ok = spin_trylock(&d->l); if (!ok) return -1; spin_unlock(&d->l); return 0; }');
    assert.deepEqual(heldAtReturns(fn), ['', '']);
    assert.deepEqual(fn.locks!.issues, []);
  });

  test('an assignment inside the condition counts: if ((ret = mutex_lock_interruptible(&m)))', () => {
    const fn = only('int f(void) { int ret; if ((ret = mutex_lock_interruptible(&m))) return ret; mutex_unlock(&m); return 0; }');
    assert.deepEqual(fn.locks!.issues, []);
    assert.deepEqual(heldAtReturns(fn), ['', '']);
  });

  test('correlated conditions do not mix paths; reassigning the variable forgets the fact', () => {
    const ok = only('void f(int s) { if (s) spin_lock(&l); g(); if (s) spin_unlock(&l); }');
    assert.deepEqual(ok.locks!.issues, []);
    // Once s changes, the unlock may run without the lock; as other paths reach it holding it, that is
    // no definite error, and only definite ones are issues. The lock may leak instead:
    const changed = only('void f(int s) { if (s) spin_lock(&l); s = g(); if (s) spin_unlock(&l); }');
    assert.deepEqual(changed.locks!.issues, []);
    assert.ok(heldAtReturns(changed).includes('&l'));
    const always = only('void f(int s) { if (s) return; spin_unlock(&l); spin_unlock(&l); }');
    assert.deepEqual(always.locks!.issues.map((i) => i.kind), ['double-release']);
  });

  test('atomic holds are attached to the calls made under them', () => {
    const fn = only('void f(void) { a(); spin_lock_irqsave(&l, fl); b(); spin_unlock_irqrestore(&l, fl); c(); rcu_read_lock(); d(); rcu_read_unlock(); }');
    const held = Object.fromEntries(fn.calls.filter((c) => /^[a-d]$/.test(c.callee ?? '')).map((c) => [c.callee, c.atomicHold?.id ?? '-']));
    assert.deepEqual(held, { a: '-', b: '&l', c: '-', d: 'rcu' });
  });

  test('a mutex is not an atomic context; srcu neither', () => {
    const fn = only('void f(void) { mutex_lock(&m); a(); mutex_unlock(&m); int i = srcu_read_lock(&s); b(); srcu_read_unlock(&s, i); }');
    assert.ok(fn.calls.every((c) => !c.atomicHold));
  });

  test('__must_hold makes the lock held on entry; releasing and retaking it is balanced', () => {
    const fn = only('void f(struct d *d) __must_hold(&d->l) { spin_unlock(&d->l); g(); spin_lock(&d->l); }');
    assert.deepEqual(fn.locks!.issues, []);
  });

  test('functions without lock calls get no CFG at all', () => {
    const [fn] = analyze('int f(int x) { return g(x) + h(); }');
    assert.equal(fn?.locks, undefined);
    assert.deepEqual(fn?.calls.map((c) => c.callee), ['g', 'h']);
  });

  test('state explosion is capped and reported, not hung on', () => {
    const conditions = Array.from({ length: 40 }, (_, i) => `if (c${i}) spin_lock(&l${i});`).join(' ');
    const releases = Array.from({ length: 40 }, (_, i) => `if (c${i}) spin_unlock(&l${i});`).join(' ');
    const fn = only(`void f(void) { ${conditions} ${releases} }`);
    assert.equal(fn.locks!.truncated, true);
  });

  test('an annotation naming the lock without `&` is the lock the body names with `&`; a pointer stays as written', () => {
    const lvalue = only('void f(struct d *p) __releases(p->lock) { spin_unlock(&p->lock); }');
    assert.deepEqual([...lvalue.locks!.heldOnEntry], ['&p->lock']);
    assert.deepEqual([...lvalue.locks!.releasesForCaller.keys()], ['&p->lock']);
    const pointer = only('void f(spinlock_t *lock) __releases(lock) { spin_unlock(lock); }');
    assert.deepEqual([...pointer.locks!.heldOnEntry], ['lock']);
  });

  test("a path-heavy function that drops and retakes its caller's lock in a retry loop is still the caller's lock", () => {
    // Five re-tested conditions make 32 fact combinations: past the state bound (ivtv_write), where
    // states holding the same locks merge instead of the analysis giving up.
    const tests = 'if (a) n++; if (b) n++; if (c) n++; if (e) n++; if (g) n++;';
    const fn = only(`int f(struct d *d, int a, int b, int c, int e, int g) { int n = 0; retry: ${tests} mutex_unlock(&d->m); schedule(); mutex_lock(&d->m); ${tests} if (h()) goto retry; return n; }`);
    assert.equal(fn.locks!.truncated, false);
    assert.deepEqual(fn.locks!.issues, []);
    assert.deepEqual([...fn.locks!.heldOnEntry], ['&d->m']);
    assert.equal(fn.calls.find((c) => c.callee === 'schedule')?.callerLockDropped, true);
  });

  test('a release through an accessor is the one held lock of that member; with two candidates it is neither', () => {
    const alias = only('int f(struct ring *rx, struct priv *p) { spin_lock(&rx->lock); g(); spin_unlock(&rx_ring(p)->lock); return 0; }');
    assert.deepEqual(heldAtReturns(alias), ['']);
    assert.deepEqual([...alias.locks!.heldOnEntry], []);
    const plain = only('int f(struct ring *rx, struct ring *other) { spin_lock(&rx->lock); g(); spin_unlock(&other->lock); return 0; }');
    assert.deepEqual(heldAtReturns(plain), ['&rx->lock']);
    const ambiguous = only('int f(struct ring *a, struct ring *b, struct priv *p) { spin_lock(&a->lock); spin_lock(&b->lock); spin_unlock(&rx_ring(p)->lock); return 0; }');
    assert.deepEqual(heldAtReturns(ambiguous), ['&a->lock,&b->lock']);
    const otherMember = only('int f(struct ring *rx, struct priv *p) { spin_lock(&rx->lock); spin_unlock(&rx_ring(p)->other_lock); return 0; }');
    assert.deepEqual(heldAtReturns(otherMember), ['&rx->lock']);
  });

  test('a local variable that shares a member name is not that member', () => {
    const fn = only('void f(struct pt *pt) { struct pd *pd; spin_lock(&pt->pd->lock); pd = pt->other; spin_unlock(&pt->pd->lock); }');
    assert.deepEqual(heldAtReturns(fn), ['']);
    assert.deepEqual(fn.locks!.issues, []);
  });

  test('a lock taken on every round of a loop and never released keeps a bounded state', () => {
    const fn = only('void f(struct d *d, int n) { int i; for (i = 0; i < n; i++) { spin_lock(&d->l); g(i); } }');
    assert.equal(fn.locks!.truncated, false);
    assert.ok(fn.locks!.returns.every((r) => r.held.length <= 2));
    assert.equal(fn.locks!.issues.filter((i) => i.kind === 'double-acquire').length, 1);
  });
});
