// The language server's life cycle: the restart command, and recovery after the process dies.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, lineOf, openFixture, waitFor, waitForRule, waitForRuleGone } from './helpers';

/** PIDs of language servers forked by this extension host (the client runs out/server/server.js). */
function serverPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('out/server/server.js')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Proves a live server: a license removed now must be reported now, and restoring it clears it. */
async function assertServerAnswersEdits(): Promise<void> {
  const editor = await openFixture('hello/hello.c');
  const { document } = editor;
  const licenseLine = document.lineAt(lineOf(document, 'MODULE_LICENSE("GPL");')).rangeIncludingLineBreak;
  const licenseText = document.getText(licenseLine);
  assert.ok(await editor.edit((edit) => edit.delete(licenseLine)));
  await waitForRule(document.uri, 'missing-module-license');
  assert.ok(await editor.edit((edit) => edit.insert(licenseLine.start, licenseText)));
  await waitForRuleGone(document.uri, 'missing-module-license');
}

suite('language server', () => {
  suiteSetup(async () => {
    await activeExtension();
    await waitFor('the language server process', () => (serverPids().length === 1 ? true : undefined));
  });

  test('LKM: Restart Language Server starts a new server that answers edits', async () => {
    const [before] = serverPids();
    await vscode.commands.executeCommand('lkm.restartLanguageServer');
    const after = await waitFor('a new server process', () => {
      const pids = serverPids();
      return pids.length === 1 && pids[0] !== before ? pids[0] : undefined;
    });
    assert.notEqual(after, before);
    await assertServerAnswersEdits();
  });

  test('a killed server is restarted by the client and answers edits again', async () => {
    const [victim] = serverPids();
    assert.ok(victim, 'no server process to kill');
    process.kill(victim, 'SIGKILL');
    await waitFor('a restarted server process', () => {
      const pids = serverPids();
      return pids.length === 1 && pids[0] !== victim ? pids[0] : undefined;
    });
    await assertServerAnswersEdits();
  });
});
