// The `lkm` debug type in the real editor: a breakpoint set in the module's init in VS Code, F5's
// launch configuration started through vscode.debug, the stop reported by the adapter with the
// module frame at the breakpoint's line; stopping the session leaves the guest running. The guest
// is this suite's own instance (guestName), stopped at the end.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import { qmpHuman } from '../../../client/src/core/debug/gdbstub';
import { readGuestState, stopGuest } from '../../../client/src/core/guest/vm';
import { activeExtension, lineOf, openFixture, waitFor } from './helpers';

const GUEST = `editor-debug-${process.pid}`;

suite('debugging a module (debug type lkm)', () => {
  suiteSetup(activeExtension);
  suiteTeardown(async () => {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    await stopGuest(GUEST);
  });

  test('a breakpoint in init is hit with the module frame at its line; the guest runs on after the session', async function () {
    this.timeout(420_000);
    const editor = await openFixture('hello/hello.c');
    const line = lineOf(editor.document, 'pr_info("lkm_hello: loaded');
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(editor.document.uri, new vscode.Position(line, 0)))]);

    // The adapter's stopped event, seen from the editor's side of the protocol.
    let stopped = false;
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('lkm', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m: { type?: string; event?: string }) => {
          if (m.type === 'event' && m.event === 'stopped') stopped = true;
        },
      }),
    });
    try {
      const began = Date.now();
      const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: 'lkm',
        request: 'launch',
        name: 'LKM: Debug Module',
        folder: editor.document.uri.fsPath.replace(/\/hello\.c$/, ''),
        guestName: GUEST,
      });
      assert.ok(started, 'the debug session did not start');
      const session = vscode.debug.activeDebugSession!;
      await waitFor('the breakpoint in init to be hit', () => stopped || undefined, 360_000);
      console.log(`# F5 to the breakpoint in init (cold guest): ${((Date.now() - began) / 1000).toFixed(1)} s`);
      const trace = await session.customRequest('stackTrace', { threadId: 1 });
      const top = trace.stackFrames[0];
      assert.equal(top.name, 'lkm_hello_init');
      // A remote extension host (code-server) hands the path back as the editor's URI.
      const sourcePath = String(top.source.path);
      assert.equal(sourcePath.includes('://') ? vscode.Uri.parse(sourcePath).path : sourcePath, editor.document.uri.path);
      assert.equal(top.line, line + 1);
      await vscode.debug.stopDebugging(session);
      const guest = readGuestState(GUEST);
      assert.ok(guest, 'the guest stopped with the session');
      await waitFor('the guest to run on', async () => /running/.test(await qmpHuman(guest.qmpSocket, 'info status')) || undefined, 30_000);
    } finally {
      tracker.dispose();
    }
  });
});
