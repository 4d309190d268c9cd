// Kconfig option types in module discovery: what `obj-$(CONFIG_X)` lists for a `bool` X is built in or not
// built, never a module (test/fixtures/kbuild-kconfig/, whose `// expect:` lines fixtures.test.ts checks
// too), and the module rules follow that.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { Parser } from 'web-tree-sitter';
import type { ModuleCallGraph } from '../../server/src/analysis/callGraph';
import { discoverModules, isBuiltIn, linkage, type ModuleSpec } from '../../server/src/analysis/kbuild';
import { KconfigIndex } from '../../server/src/analysis/kconfig';
import type { Finding } from '../../server/src/analysis/model';
import { extractSymbols } from '../../server/src/analysis/symbols';
import { normalize } from '../../server/src/parsing/normalize';
import { getParser, parseWith } from '../../server/src/parsing/parser';
import { missingModuleDescription } from '../../server/src/rules/missingModuleDescription';
import { missingModuleLicense } from '../../server/src/rules/missingModuleLicense';
import type { AnalyzedFile, Rule, WorkspaceSymbolIndex } from '../../server/src/rules/rule';
import { unexportedSymbol } from '../../server/src/rules/unexportedSymbol';

const TREE = path.join(__dirname, '..', 'fixtures', 'kbuild-kconfig');
const TIMER = path.join(TREE, 'drivers', 'timer');

function modulesByName(): Map<string, ModuleSpec> {
  const files = [...fs.readdirSync(TIMER).filter((name) => name.endsWith('.c')).map((name) => path.join(TIMER, name)), path.join(TREE, 'drivers', 'net', 'Space.c')];
  return new Map(discoverModules(files).map((module) => [module.name, module]));
}

/** The module of an empty `file` in a temporary directory outside any kernel tree, beside this Makefile. */
function outOfTreeModule(makefile: string, file: string): ModuleSpec | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-oot-'));
  try {
    fs.writeFileSync(path.join(dir, 'Makefile'), makefile);
    fs.writeFileSync(path.join(dir, file), '');
    return discoverModules([path.join(dir, file)])[0];
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

describe('Kconfig option types', () => {
  test('bool, def_bool, tristate, int; help text skipped; through rsource and the parent directory\'s Kconfig; bool and tristate declarations make tristate', () => {
    const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
    const index = new KconfigIndex(TREE, read);
    assert.equal(index.typeOf('CONFIG_SPRD_TIMER', TIMER), 'bool');
    assert.equal(index.typeOf('MODULAR_TIMER', TIMER), 'tristate');
    assert.equal(index.typeOf('TIMER_ALWAYS', TIMER), 'bool', 'menuconfig with def_bool');
    assert.equal(index.typeOf('TIMER_PERIOD', TIMER), 'other');
    assert.equal(index.typeOf('TIMER_DEBUG', TIMER), 'bool', 'rsource "Kconfig.debug"');
    assert.equal(index.typeOf('PARENT_BOOL', TIMER), 'bool', 'declared in drivers/Kconfig');
    assert.equal(index.typeOf('MIXED', TIMER), 'tristate');
    assert.equal(index.typeOf('UNDECLARED', TIMER), undefined);
    assert.equal(index.typeOf('NOT_AN_ENTRY', TIMER), undefined, '`config` inside help text');
    // Found through drivers/Kconfig's `source "drivers/net/Kconfig"` (relative to the tree root).
    assert.equal(new KconfigIndex(TREE, read).typeOf('NETDEV_LEGACY_INIT', TIMER), 'bool');
  });

  test('an option outside the tree root\'s Kconfig files is not looked up further up', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-oot-'));
    const read = (file: string) => (file === path.join(path.dirname(dir), 'Kconfig') ? 'config OUTSIDE\n\tbool\n' : undefined);
    assert.equal(new KconfigIndex(dir, read).typeOf('OUTSIDE', dir), undefined);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('bool options in module discovery', () => {
  test('without a target .config: bool-listed objects are built in, tristate and undeclared ones are modules', () => {
    const modules = modulesByName();
    const linkages = Object.fromEntries([...modules].map(([name, module]) => [name, linkage(module, undefined)]));
    assert.deepEqual(linkages, {
      always: 'builtin', debug: 'builtin', mixed: 'module', modular: 'module', 'parent-bool': 'builtin',
      'timer-sprd': 'builtin', undeclared: 'module', Space: 'builtin', skeleton: 'absent',
    });
    assert.equal(modules.get('timer-sprd')?.optionType, 'bool');
    assert.equal(modules.get('modular')?.optionType, 'tristate');
    assert.equal(modules.get('undeclared')?.optionType, undefined);
  });

  test('with a target .config, its values decide as before: y built in, m a module, unset not built', () => {
    const modules = modulesByName();
    const config = new Map([['CONFIG_SPRD_TIMER', 'y'], ['CONFIG_MODULAR_TIMER', 'm']]);
    assert.equal(linkage(modules.get('timer-sprd')!, config), 'builtin');
    assert.equal(linkage(modules.get('modular')!, config), 'module');
    assert.equal(linkage(modules.get('debug')!, config), 'absent');
    assert.equal(isBuiltIn(modules.get('debug')!, config), false);
  });

  test('an out-of-tree module with no Kconfig beside it: obj-$(CONFIG_X) stays a module', () => {
    const module = outOfTreeModule('obj-$(CONFIG_MYDRV) += mydrv.o\n', 'mydrv.c');
    assert.equal(module?.optionType, undefined);
    assert.equal(linkage(module!, undefined), 'module');
  });
});

describe('lib- lists and unlisted files of a kernel tree', () => {
  const LIBSTUB = path.join(TREE, 'drivers', 'libstub');

  test('lib-y and lib-$(CONFIG_X) objects of lib/ are built in (the image\'s lib.a), never modules; unset in the .config, not built', () => {
    const LIB = path.join(TREE, 'lib');
    const modules = new Map(discoverModules(['string.c', 'arm-string.c'].map((name) => path.join(LIB, name))).map((m) => [m.name, m]));
    assert.equal(modules.get('string')?.listedBy, 'lib-y');
    assert.equal(linkage(modules.get('string')!, undefined), 'builtin');
    assert.equal(linkage(modules.get('arm-string')!, undefined), 'builtin');
    assert.equal(linkage(modules.get('arm-string')!, new Map([['CONFIG_ARM', 'm']])), 'builtin');
    assert.equal(linkage(modules.get('arm-string')!, new Map()), 'absent');
  });

  test('lib-y objects elsewhere (drivers/…/libstub) go into a boot image: neither the kernel nor a module', () => {
    const [stub] = discoverModules([path.join(LIBSTUB, 'stub.c')]);
    assert.equal(stub?.outsideImage, true);
    assert.equal(linkage(stub!, undefined), 'absent');
    assert.equal(linkage(stub!, new Map([['CONFIG_ARM', 'y']])), 'absent');
  });

  test('a kernel-tree file no Makefile lists (a host program, an example) is never built; outside a kernel tree too when its folder\'s Kbuild lists other objects', () => {
    const [tool] = discoverModules([path.join(LIBSTUB, 'mktable.c')]);
    const [skeleton] = discoverModules([path.join(TIMER, 'skeleton.c')]);
    assert.deepEqual([tool?.unlisted, skeleton?.unlisted], [true, true]);
    assert.equal(linkage(tool!, undefined), 'absent');
    const leftOut = outOfTreeModule('obj-m += listed.o\n', 'tool.c');
    assert.equal(leftOut?.unlisted, true);
    assert.equal(linkage(leftOut!, undefined), 'absent');
    // A Makefile listing no objects (a userspace build, or none written yet) governs nothing: a module of its own.
    const lone = outOfTreeModule('all:\n\tcc -o prog prog.c\n', 'mod.c');
    assert.deepEqual([lone?.unlisted, lone?.kbuildFile], [undefined, undefined]);
    assert.equal(linkage(lone!, undefined), 'module');
  });
});

describe('module rules on bool-listed code', () => {
  let parser: Parser;
  before(async () => {
    parser = await getParser();
  });

  function analyze(file: string): AnalyzedFile {
    const text = fs.readFileSync(file, 'utf8');
    const normalized = normalize(text, {});
    const parsed = { path: file, text, normalized, tree: parseWith(parser, normalized) };
    return { parsed, symbols: extractSymbols(parsed), functions: [] };
  }

  function run(rule: Rule, module: ModuleSpec, workspace: WorkspaceSymbolIndex = { definitionsOf: () => [] }): Finding[] {
    const findings: Finding[] = [];
    const callGraph = {} as ModuleCallGraph;
    rule.check({ module, files: module.files.map(analyze), callGraph, workspace }, (report) => findings.push({ ...report, rule: rule.id, severity: report.severity ?? rule.defaultSeverity }));
    return findings;
  }

  test('missing-module-license and -description: nothing for bool-listed files (timer-sprd.c, Space.c), both for a tristate one', () => {
    const modules = modulesByName();
    for (const rule of [missingModuleLicense, missingModuleDescription]) {
      assert.deepEqual(run(rule, modules.get('timer-sprd')!), []);
      assert.deepEqual(run(rule, modules.get('Space')!), []);
    }
    assert.deepEqual(run(missingModuleLicense, modules.get('modular')!).map((f) => f.severity), ['error']);
    assert.deepEqual(run(missingModuleDescription, modules.get('modular')!).map((f) => f.severity), ['info']);
  });

  test('unexported-symbol: bool-listed code links freely with other built-in code, a tristate module does not', () => {
    const modules = modulesByName();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-caller-'));
    const file = path.join(dir, 'caller.c');
    fs.writeFileSync(file, 'int helper(void);\nint call(void)\n{\n\treturn helper();\n}\n');
    // The module's linkage with another file's code: only its list and option type matter here.
    const caller = (module: ModuleSpec): ModuleSpec => ({ ...module, files: [file] });
    const builtInHelper: WorkspaceSymbolIndex = {
      definitionsOf: (name) => (name === 'helper' ? [{ module: 'core', file: '/k/core.c', exported: false, gplOnly: false, builtIn: true }] : []),
    };
    assert.deepEqual(run(unexportedSymbol, caller(modules.get('debug')!), builtInHelper), []);
    const findings = run(unexportedSymbol, caller(modules.get('modular')!), builtInHelper);
    assert.deepEqual(findings.map((f) => f.message.includes('without EXPORT_SYMBOL')), [true]);
    fs.rmSync(dir, { recursive: true });
  });
});
