// "LKM: Write Compilation Database" in the real VS Code: with a module file open, the command builds
// the folder against the test VM's headers and writes compile_commands.json beside it, an entry per
// C file with the kernel's flags and none of the GCC-only ones clangd rejects.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, fixtureUri, openFixture } from './helpers';

suite('intellisense', () => {
  const database = () => path.join(path.dirname(fixtureUri('hello/hello.c').fsPath), 'compile_commands.json');
  suiteSetup(activeExtension);
  suiteTeardown(() => rmSync(database(), { force: true }));

  test('LKM: Write Compilation Database writes the folder\'s compile_commands.json', async function () {
    this.timeout(300_000);
    rmSync(database(), { force: true });
    await openFixture('hello/hello.c');
    await vscode.commands.executeCommand('lkm.writeCompileDatabase');
    assert.ok(existsSync(database()), `${database()} was not written`);
    const entries = JSON.parse(readFileSync(database(), 'utf8')) as Array<{ file: string; arguments: string[] }>;
    assert.deepEqual(entries.map((e) => e.file), [fixtureUri('hello/hello.c').fsPath]);
    const args = entries[0].arguments;
    assert.ok(args.includes('-D__KERNEL__') && args.some((a) => a.startsWith('-I') && a.endsWith('/include')), args.join(' '));
    assert.ok(!args.includes('-mrecord-mcount') && !args.some((a) => a.startsWith('-Wp,-MMD')), args.join(' '));
  });
});
