// extractSymbols: which identifiers refer outside the file (C scoping), what the file defines and
// exports, and the module macros — also where tree-sitter's error recovery would hide them.
import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Parser } from 'web-tree-sitter';
import { extractSymbols, resolveLicense, type FileSymbols } from '../../server/src/analysis/symbols';
import { normalize } from '../../server/src/parsing/normalize';
import { getParser, parseWith } from '../../server/src/parsing/parser';

let parser: Parser;
before(async () => {
  parser = await getParser();
});

function symbolsOf(text: string): FileSymbols {
  const normalized = normalize(text);
  const tree = parseWith(parser, normalized);
  try {
    return extractSymbols({ path: '/t.c', text, normalized, tree });
  } finally {
    tree.delete();
  }
}

/** `name@line:column` (1-based line, 0-based column), `()` for calls. */
function referencesOf(text: string): string[] {
  return symbolsOf(text).references.map((r) => `${r.name}@${r.range.start.line + 1}:${r.range.start.character}${r.isCall ? '()' : ''}`);
}

describe('references', () => {
  test('calls and value/address references to outside symbols; fields, keywords and labels are not', () => {
    const refs = referencesOf([
      'static int f(struct dev *d)',
      '{',
      '\tint n = kmalloc_count;',
      '\tregister_cb(&other_ops, callback_fn);',
      '\td->lock.owner = current;',
      '\tif (!d) goto out;',
      '\treturn sizeof(struct dev) + n + msleep(10);',
      'out:',
      '\treturn -ENOMEM;',
      '}',
    ].join('\n'));
    assert.deepEqual(refs, [
      'kmalloc_count@3:9', 'register_cb@4:1()', 'other_ops@4:14', 'callback_fn@4:25', 'current@5:17', 'msleep@7:33()', 'ENOMEM@9:9',
    ]);
  });

  test('C block scoping: locals and parameters shadow kernel names only where they are visible', () => {
    const refs = referencesOf([
      'int f(int kfree)',              // 1: parameter
      '{',
      '\tkfree++;',                     // 3: the parameter
      '\t{',
      '\t\tint msleep = 1;',            // 5
      '\t\tmsleep++;',                  // 6: the local
      '\t}',
      '\tmsleep(1);',                   // 8: the kernel function again
      '\tfor (int udelay = 0; udelay < 2; udelay++)',
      '\t\tprintk("%d", udelay);',      // 10: loop variable
      '\tudelay(3);',                   // 11: out of the loop: the kernel function
      '\tprintk("x");',
      '\tint printk = 0;',               // 13: declared after use: earlier uses were the kernel's
      '\treturn printk;',
      '}',
      'int g(void) { return kfree(0); }', // 16: the parameter of f is gone
    ].join('\n'));
    assert.deepEqual(refs, ['msleep@8:1()', 'printk@10:2()', 'udelay@11:1()', 'printk@12:1()', 'kfree@16:21()']);
  });

  test('file-level definitions, static functions, enum constants, macros and typedefs are not references', () => {
    const refs = referencesOf([
      '#define MY_SIZE 4',
      '#define MY_MACRO(x) ((x) + undefined_in_macro_body)',
      'enum { MODE_A, MODE_B = MODE_A + EXTERNAL_BASE };',
      'typedef int my_int;',
      'static DEFINE_MUTEX(my_lock);',
      'static int later(void);',
      'static int table[MY_SIZE];',
      'static int f(void) { return later() + MY_MACRO(MODE_B) + table[0] + (my_int)1 + mutex_lock(&my_lock); }',
      'static int later(void) { return 0; }',
    ].join('\n'));
    assert.deepEqual(refs, ['EXTERNAL_BASE@3:33', 'DEFINE_MUTEX@5:7()', 'mutex_lock@8:80()']);
  });

  test('a prototype or extern declaration is a reference target, not a definition', () => {
    const symbols = symbolsOf('int helper(int x);\nextern int shared;\nint use(void) { return helper(shared); }\n');
    assert.deepEqual(symbols.references.map((r) => r.name), ['helper', 'shared']);
    assert.deepEqual(symbols.definitions.map((d) => d.name), ['use']);
  });

  test('iterator macros and designated initializers', () => {
    const refs = referencesOf([
      'static int probe(void) { return 0; }',
      'static struct platform_driver drv = { .probe = probe, .driver = { .name = "x", .pm = &generic_pm_ops } };',
      'static void walk(struct list_head *head)',
      '{',
      '\tstruct item *pos;',
      '\tlist_for_each_entry(pos, head, node) {',
      '\t\tkfree(pos);',
      '\t}',
      '}',
    ].join('\n'));
    // The member argument of an iterator macro (`node`) is indistinguishable from a value lexically.
    assert.deepEqual(refs, ['generic_pm_ops@2:86', 'node@6:32', 'kfree@7:2()']);
  });
});

describe('definitions', () => {
  test('functions and variables, static or not, with the range of the name', () => {
    const symbols = symbolsOf([
      'static int counter;',
      'int shared_value = 3, *shared_ptr;',
      'static const struct file_operations fops = { .open = NULL };',
      'struct foo *make_foo(int n)',
      '{',
      '\tstatic int calls;',
      '\treturn NULL;',
      '}',
      'static int __init foo_init(void) { return 0; }',
      'static LIST_HEAD(all_foos);',
      'DEFINE_PER_CPU(unsigned long, per_cpu_count);',
    ].join('\n'));
    assert.deepEqual(symbols.definitions.map((d) => `${d.name}:${d.kind}:${d.isStatic ? 'static' : 'global'}@${d.range.start.line + 1}:${d.range.start.character}`), [
      'counter:variable:static@1:11',
      'shared_value:variable:global@2:4',
      'shared_ptr:variable:global@2:23',
      'fops:variable:static@3:36',
      'make_foo:function:global@4:12',
      'foo_init:function:static@9:18',
      'all_foos:variable:static@10:17',
      'per_cpu_count:variable:global@11:30',
    ]);
  });
});

describe('module macros', () => {
  test('exports with GPL and namespaces, license, description, imported namespaces', () => {
    const symbols = symbolsOf([
      'int a(void) { return 0; }',
      'EXPORT_SYMBOL(a);',
      'EXPORT_SYMBOL_GPL(b);',
      'EXPORT_SYMBOL_NS(c, MY_NS);',
      'EXPORT_SYMBOL_NS_GPL(d, "QUOTED_NS");',
      'MODULE_LICENSE("Dual" " BSD/GPL");',
      'MODULE_DESCRIPTION("it does things");',
      'MODULE_IMPORT_NS(DMA_BUF);',
      'MODULE_IMPORT_NS("CXL");',
    ].join('\n'));
    assert.deepEqual(symbols.exports.map((e) => [e.name, e.gplOnly, e.namespace, e.range.start.line]), [
      ['a', false, undefined, 1], ['b', true, undefined, 2], ['c', false, 'MY_NS', 3], ['d', true, 'QUOTED_NS', 4],
    ]);
    assert.equal(symbols.license?.value, 'Dual BSD/GPL');
    assert.deepEqual(symbols.license?.range, { start: { line: 5, character: 0 }, end: { line: 5, character: 33 } });
    assert.equal(symbols.description?.range.start.line, 6);
    assert.deepEqual(symbols.importedNamespaces, ['DMA_BUF', 'CXL']);
  });

  test('found after a macro line without `;` (tree-sitter swallows it into a declarator), not in comments or strings', () => {
    const text = 'module_spi_driver(my_driver)\nMODULE_LICENSE("GPL");\n';
    const normalized = normalize(text);
    const tree = parseWith(parser, normalized);
    // The premise: tree-sitter does not see a call named MODULE_LICENSE here.
    const calls = tree.rootNode.descendantsOfType('call_expression').map((node) => node!.childForFieldName('function')?.text);
    assert.ok(!calls.includes('MODULE_LICENSE'), `tree-sitter parsed it cleanly after all: ${calls}`);
    tree.delete();
    assert.equal(symbolsOf(text).license?.value, 'GPL');
    const hidden = symbolsOf('/* MODULE_LICENSE("GPL"); */\n// EXPORT_SYMBOL(x);\nstatic const char *s = "MODULE_DESCRIPTION(\\"x\\")";\n');
    assert.equal(hidden.license, undefined);
    assert.equal(hidden.description, undefined);
    assert.deepEqual(hidden.exports, []);
  });

  test('MODULE_LICENSE(NAME) resolves the file\'s object-like macros; a NAME the file does not define is left to its headers', () => {
    const resolved = symbolsOf('#define LIC_STRING "Dual BSD/GPL" /* why */\n#define DRIVER_LICENSE LIC_STRING\nMODULE_LICENSE(DRIVER_LICENSE);\n');
    assert.deepEqual(resolved.license, { value: 'Dual BSD/GPL', macro: 'DRIVER_LICENSE', range: { start: { line: 2, character: 0 }, end: { line: 2, character: 30 } } });
    assert.equal(resolved.unresolvedLicense, undefined);
    const fromHeader = symbolsOf('#include "drv.h"\nMODULE_LICENSE(DRV_LICENSE);\n');
    assert.equal(fromHeader.license, undefined);
    assert.equal(fromHeader.unresolvedLicense?.macro, 'DRV_LICENSE');
    // A function-like macro or an expression is not a license string.
    assert.equal(symbolsOf('#define LIC(x) "GPL"\nMODULE_LICENSE(LIC);\n').license, undefined);
    assert.equal(resolveLicense('A', (name) => ({ A: 'B', B: '"GPL" " v2"' } as Record<string, string>)[name]), 'GPL v2');
    assert.equal(resolveLicense('A', (name) => ({ A: 'B', B: 'A' } as Record<string, string>)[name]), undefined);
  });

  test('inactive preprocessor branches do not count', () => {
    const symbols = symbolsOf('#if 0\nMODULE_LICENSE("Proprietary");\nint dead(void) { return gone(); }\n#else\nMODULE_LICENSE("GPL");\n#endif\n');
    assert.equal(symbols.license?.value, 'GPL');
    assert.deepEqual(symbols.references.map((r) => r.name), ['MODULE_LICENSE']);
  });
});

describe('bad input', () => {
  test('unterminated comment, unbalanced braces and parentheses, deep nesting: no crash', () => {
    for (const text of ['int f( { ((( }', '/* never closed\nint x;', '}}}} int y; {{{{', 'x'.repeat(1000), '{'.repeat(20000) + 'kfree(p);' + '}'.repeat(20000), '"unterminated\nint z = g();']) {
      const symbols = symbolsOf(text);
      assert.ok(Array.isArray(symbols.references));
    }
    assert.deepEqual(referencesOf('{'.repeat(20000) + 'kfree(p);' + '}'.repeat(20000)).slice(0, 1), ['kfree@1:20000()']);
  });
});
