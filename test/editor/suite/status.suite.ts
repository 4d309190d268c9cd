// The one LKM status item and the failures it and the commands report, in the real editor: the item
// says the target, the test VM's state and the linter's kernel; bad target settings show there
// (and go when fixed); failures carry the actions for their cause.
import * as assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import { EXIT } from '../../../client/src/core/targets/loop';
import { openTarget } from '../../../client/src/core/targets/session';
import { failureOf, loopFailure } from '../../../client/src/failures';
import type { LkmApi } from '../../../client/src/extension';
import { activeExtension, waitFor } from './helpers';

const lkm = () => vscode.workspace.getConfiguration('lkm');

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

suite('status item and failures', () => {
  let api: LkmApi;
  suiteSetup(async () => {
    api = (await activeExtension()).exports as LkmApi;
  });
  suiteTeardown(() => lkm().update('targets', undefined, vscode.ConfigurationTarget.Workspace));

  test('the item names the target, the test VM\'s state and the linter\'s kernel', async () => {
    const status = await waitFor('the linter\'s kernel in the status item', () => {
      const s = api.status();
      return s && /Linter/.test(s.tooltip) && !/not named its kernel/.test(s.tooltip) ? s : undefined;
    });
    assert.match(status.text, /test-vm \((running|stopped)\)/);
    assert.match(status.tooltip, /^LKM target: test-vm$/m);
    assert.match(status.tooltip, /^Test VM: (running|not running)$/m);
  });

  test('an invalid lkm.targets entry shows in the item, Select Target does not throw, and the fix clears it', async () => {
    await lkm().update('targets', [{ name: 'two words', host: 'h' }], vscode.ConfigurationTarget.Workspace);
    const bad = await waitFor('the settings problem in the tooltip', () => (api.status()?.tooltip.includes('lkm.targets[0].name') ? api.status() : undefined));
    assert.match(bad!.text, /invalid target settings.*\$\(warning\)/);
    // Reported as a notification with Edit Target, not a modal "command resulted in an error".
    await vscode.commands.executeCommand('lkm.selectTarget');
    await lkm().update('targets', [{ name: 'board', host: 'board.invalid' }], vscode.ConfigurationTarget.Workspace);
    const fixed = await waitFor('the tooltip to lose the old error', () => (api.status()?.tooltip.includes('lkm.targets[0]') ? undefined : api.status()));
    assert.match(fixed!.tooltip, /^LKM target: test-vm$/m);
  });

  test('an SSH target that refuses the connection is told with Edit Target and Open SSH Config', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-status-'));
    const error = await openTarget({ name: 'refusing', host: '127.0.0.1', port, build: 'remote' }, dir, {}).then(
      () => assert.fail('connecting to a closed port succeeded'),
      (e: unknown) => e,
    );
    const failure = failureOf(error);
    assert.match(failure.message, /refusing.*refused the connection/);
    assert.deepEqual(failure.actions.map((a) => a.title), ['Edit Target', 'Open SSH Config']);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const action of failure.actions) assert.ok(registered.has(action.command), `${action.command} is not a command`);
  });

  test('a build that fails without a compiler error says where to look, not "0 error(s)"', () => {
    // What runLoop returns when make fails before naming a file (a missing object, a Makefile
    // error): a real build costs ~10 s of kbuild here, for the same value.
    const failure = loopFailure({ exitCode: EXIT.buildFailed, problems: [], summary: 'build failed (0 error(s))', durationMs: 0 }, 'nothing_here');
    assert.doesNotMatch(failure.message, /0 error/);
    assert.match(failure.message, /nothing_here did not build.*LKM Build output/);
    assert.deepEqual(failure.actions.map((a) => a.command), ['lkm.showBuildOutput']);
    const silent = loopFailure({ exitCode: EXIT.loadFailed, problems: [], summary: 'loading hello failed: ', durationMs: 0 }, 'hello');
    assert.equal(silent.message, 'LKM: loading hello failed, and the target gave no reason');
  });
});

suite('LKM: Add SSH Target…', () => {
  suiteSetup(activeExtension);
  suiteTeardown(async () => {
    await lkm().update('targets', undefined, vscode.ConfigurationTarget.Workspace);
    await lkm().update('activeTarget', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('a target whose connection check fails is not saved unless asked, and then lands in the chosen settings, active', async () => {
    const port = await closedPort();
    const target = { name: 'lab', host: '127.0.0.1', port, build: 'remote' };
    const refused = await vscode.commands.executeCommand<{ saved: boolean; problem?: string }>('lkm.addSshTarget', { target, scope: 'workspace' });
    assert.equal(refused?.saved, false);
    assert.match(refused?.problem ?? '', /refused the connection/);
    assert.equal(lkm().inspect('targets')?.workspaceValue, undefined, 'a failed check wrote settings');

    const saved = await vscode.commands.executeCommand<{ saved: boolean }>('lkm.addSshTarget', { target, scope: 'workspace', saveUnverified: true });
    assert.equal(saved?.saved, true);
    assert.deepEqual(lkm().inspect('targets')?.workspaceValue, [target]);
    assert.equal(lkm().inspect('activeTarget')?.workspaceValue, 'lab');
    assert.equal(lkm().inspect('targets')?.globalValue, undefined, 'the user settings were touched');
  });
});
