// The CFG's semantics, checked as the sequences of calls along its paths (loops unrolled at most twice).
import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Node } from 'web-tree-sitter';
import { buildCfg, type Cfg } from '../../server/src/analysis/cfg';
import { functionDefinitions } from '../../server/src/analysis/functionAnalysis';
import { normalize } from '../../server/src/parsing/normalize';
import { getParser, parseWith } from '../../server/src/parsing/parser';
import type { Parser } from 'web-tree-sitter';

let parser: Parser;

function cfgOf(body: string): Cfg {
  const text = `void f(int x, int y)\n{\n${body}\n}\n`;
  const normalized = normalize(text);
  const tree = parseWith(parser, normalized);
  const file = { path: 't.c', text, normalized, tree };
  const fn = functionDefinitions(file)[0]!;
  const bodyNode = fn.childForFieldName('body')!;
  const index = { calls: [] as Node[], assignments: [] as Node[], updates: [] as Node[] };
  for (const node of bodyNode.descendantsOfType(['call_expression', 'assignment_expression', 'update_expression'])) {
    if (node?.type === 'call_expression') index.calls.push(node);
    else if (node?.type === 'assignment_expression') index.assignments.push(node);
    else if (node) index.updates.push(node);
  }
  return buildCfg(bodyNode, { statementMacros: normalized.statementMacros, originalText: text, index });
}

/** Every call sequence from entry to exit, visiting each node at most three times; constant branches pruned. */
function paths(cfg: Cfg): string[] {
  const result = new Set<string>();
  const visits = new Map<number, number>();
  const walk = (id: number, calls: string[]) => {
    if (id === cfg.exit) {
      result.add(calls.join(' '));
      return;
    }
    const count = visits.get(id) ?? 0;
    if (count >= 3) return;
    visits.set(id, count + 1);
    const node = cfg.nodes[id]!;
    const here = [...calls, ...node.events.flatMap((e) => (e.kind === 'call' && e.callee ? [e.callee] : e.kind === 'guard' ? [`guard:${e.guardClass}`] : e.kind === 'scopeExit' ? ['}'] : []))];
    node.succ.forEach((next, index) => {
      if (node.branch?.constant === true && index === 1) return;
      if (node.branch?.constant === false && index === 0) return;
      walk(next, here);
    });
    visits.set(id, count);
  };
  walk(cfg.entry, []);
  return [...result].sort();
}

describe('control-flow graph', () => {
  before(async () => {
    parser = await getParser();
  });

  test('if/else joins', () => {
    assert.deepEqual(paths(cfgOf('a(); if (x) b(); else c(); d();')), ['a b d', 'a c d']);
  });

  test('short-circuit conditions evaluate lazily', () => {
    assert.deepEqual(paths(cfgOf('if (p() && q()) r();')), ['p', 'p q', 'p q r']);
    assert.deepEqual(paths(cfgOf('if (p() || q()) r();')), ['p q', 'p q r', 'p r']);
    assert.deepEqual(paths(cfgOf('if (!(p() && !q())) r();')), ['p q', 'p q r', 'p r']);
  });

  test('switch with fallthrough, break and default', () => {
    assert.deepEqual(paths(cfgOf('switch (x) { case 1: a(); case 2: b(); break; default: c(); } d();')), ['a b d', 'b d', 'c d']);
    assert.deepEqual(paths(cfgOf('switch (x) { case 1: a(); break; } d();')), ['a d', 'd']);
  });

  test('goto skips to its label; return leaves', () => {
    assert.deepEqual(paths(cfgOf('a(); if (x) goto out; b(); out: c();')), ['a b c', 'a c']);
    assert.deepEqual(paths(cfgOf('a(); if (x) return; b();')), ['a', 'a b']);
  });

  test('loops: while, for, do/while(0), break and continue', () => {
    assert.deepEqual(paths(cfgOf('while (x) a(); b();')), ['a a b', 'a b', 'b']);
    assert.deepEqual(paths(cfgOf('do { a(); } while (0); b();')), ['a b']);
    assert.deepEqual(paths(cfgOf('for (;;) { a(); if (y) break; } b();')), ['a a a b', 'a a b', 'a b']);
    assert.deepEqual(paths(cfgOf('while (1) { if (y) { a(); continue; } break; } b();')), ['a a b', 'a b', 'b']);
  });

  test('iterator macros are loops; scoped_guard holds its lock for the body only', () => {
    assert.deepEqual(paths(cfgOf('list_for_each_entry(p, &h, m) { a(); } b();')), ['a a b', 'a b', 'b']);
    assert.deepEqual(paths(cfgOf('scoped_guard(mutex, &m) { a(); } b();')), ['guard:mutex a } b']);
    assert.deepEqual(paths(cfgOf('scoped_guard(spinlock, &l) { if (x) break; a(); } b();')), ['guard:spinlock a } b', 'guard:spinlock } b']);
  });

  test('guard() is released at the end of its block and on return', () => {
    assert.deepEqual(paths(cfgOf('{ guard(mutex)(&m); a(); } b();')), ['guard:mutex a } b']);
  });

  test('#if keeps one branch', () => {
    assert.deepEqual(paths(cfgOf('#if 0\n a();\n#else\n b();\n#endif\n c();')), ['b c']);
  });

  test('declarations assign their variables, pointers and plain ones alike', () => {
    const cfg = cfgOf('struct s *p = a(), **pp = b(); int n = 0; int *q;');
    const assigned = cfg.nodes.flatMap((node) => node.events.flatMap((e) => (e.kind === 'assign' ? [e.variable] : [])));
    assert.deepEqual(assigned, ['p', 'pp', 'n']);
  });
});
