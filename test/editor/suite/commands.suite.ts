import * as assert from 'node:assert/strict';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { lkmExtension, waitFor } from './helpers';

interface Manifest {
  contributes?: {
    commands?: { command: string; title: string }[];
    menus?: Record<string, { command?: string }[]>;
    keybindings?: { command: string }[];
  };
}

suite('commands', () => {
  // Read at test time, so commands added to package.json later are covered without editing this file.
  const manifest = () => lkmExtension().packageJSON as Manifest;

  suiteSetup(async () => {
    const extension = lkmExtension();
    await waitFor('the extension to activate', () => (extension.isActive ? true : undefined));
  });

  test('package.json contributes commands with LKM titles', () => {
    const commands = manifest().contributes?.commands ?? [];
    assert.ok(commands.length > 0, 'package.json contributes no commands');
    for (const { command, title } of commands) {
      assert.match(command, /^lkm\./, `command ${command} is not in the lkm. namespace`);
      assert.ok(title.trim().length > 0, `command ${command} has no title`);
    }
  });

  test('every contributed command is registered after activation', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = (manifest().contributes?.commands ?? []).map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  test('menus and keybindings only reference contributed commands', () => {
    const contributes = manifest().contributes ?? {};
    const contributed = new Set((contributes.commands ?? []).map((c) => c.command));
    const referenced = [
      ...Object.values(contributes.menus ?? {}).flat().map((item) => item.command),
      ...(contributes.keybindings ?? []).map((k) => k.command),
    ].filter((c): c is string => c !== undefined && c.startsWith('lkm.'));
    const dangling = referenced.filter((c) => !contributed.has(c));
    assert.deepEqual(dangling, [], `referenced but not contributed: ${dangling.join(', ')}`);
  });
});
