// The linter's kernel follows the active target, in the real editor: with the default target (the
// built-in test VM) the server checks against the guest kernel's headers — the /usr/src/linux-headers-
// <version> of the installed linux-headers-amd64 — and switching targets re-lints without a restart.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { KernelTargetStatus } from '../../../server/src/lsp/protocol';
import { activeExtension, lineOf, openFixture, waitFor, waitForRule, waitForRuleGone } from './helpers';

/** The kernel linux-headers-amd64 depends on, read from dpkg here rather than through the extension's code. */
function guestKernelVersion(): string {
  const depends = execFileSync('dpkg-query', ['-W', '-f=${Depends}', 'linux-headers-amd64'], { encoding: 'utf8' });
  const version = /linux-headers-([^ ,()]+)/.exec(depends)?.[1];
  assert.ok(version, `linux-headers-amd64 depends on no headers package: ${depends}`);
  return version;
}

const lkm = () => vscode.workspace.getConfiguration('lkm');
const linterKernel = () => vscode.commands.executeCommand<KernelTargetStatus | undefined>('lkm.showLinterKernel');
/** Polls the server's status (every 50 ms) until `accept` takes it. */
const statusWhere = (what: string, accept: (status: KernelTargetStatus) => boolean) =>
  waitFor(what, async () => {
    const status = await linterKernel();
    return status && accept(status) ? status : undefined;
  });

suite('the linter\'s kernel follows the target', () => {
  suiteSetup(activeExtension);
  suiteTeardown(async () => {
    await lkm().update('activeTarget', undefined, vscode.ConfigurationTarget.Workspace);
    await lkm().update('targets', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('with the default target the server lints against the guest kernel\'s headers', async () => {
    const version = guestKernelVersion();
    const status = await statusWhere('the server to name its kernel', (s) => s.kdir !== undefined || s.problem !== undefined);
    assert.equal(status.problem, undefined, `export checks are off: ${status.problem}`);
    assert.equal(realpathSync(status.kdir!), realpathSync(`/usr/src/linux-headers-${version}`));
    assert.equal(status.release, version);
    assert.match(status.source, /test VM/);

    const { document } = await openFixture('exports/exports.c');
    const finding = await waitForRule(document.uri, 'unexported-symbol');
    assert.equal(finding.range.start.line, lineOf(document, 'kallsyms_lookup_name("jiffies")'));
    assert.match(finding.message, new RegExp(version.replace(/\./g, '\\.')));
  });

  test('switching to a remote-build target without kdir turns export checks off, and back on, without a restart', async () => {
    const { document } = await openFixture('exports/exports.c');
    await waitForRule(document.uri, 'unexported-symbol');
    await lkm().update('targets', [{ name: 'far', host: 'far.invalid', build: 'remote' }], vscode.ConfigurationTarget.Workspace);
    await lkm().update('activeTarget', 'far', vscode.ConfigurationTarget.Workspace);
    await waitForRuleGone(document.uri, 'unexported-symbol');
    const off = await statusWhere('the server to say export checks are off', (s) => s.problem !== undefined);
    assert.equal(off.source, 'target far');
    assert.equal(off.kdir, undefined);

    await lkm().update('activeTarget', undefined, vscode.ConfigurationTarget.Workspace);
    await waitForRule(document.uri, 'unexported-symbol');
    assert.match((await linterKernel())?.source ?? '', /test VM/);
  });
});
