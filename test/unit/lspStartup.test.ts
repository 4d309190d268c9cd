// The language server's first answer does not wait for the kdir: a document open when the server starts
// is linted with the settings and without the target kernel, its diagnostics are published, and then the
// kdir loads and the document is published again, now checked against it. Over the real protocol, with
// the bundled server as the extension starts it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startLanguageServer, type LanguageServer } from './lspHarness';
import { type Diagnostic, type ProtocolConnection, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { KERNEL_TARGET_NOTIFICATION, type KernelTargetStatus } from '../../server/src/lsp/protocol';

const MINI_KDIR = path.join(__dirname, '..', 'fixtures', 'kdir-mini');
// kallsyms_lookup_name is declared in the kdir's headers but not exported: only the kdir can tell.
// No MODULE_DESCRIPTION: its rule is turned off in the settings, which the first answer must follow.
const SOURCE = `#include <linux/module.h>
#include <linux/kallsyms.h>

static int __init finder_init(void)
{
	return kallsyms_lookup_name("jiffies") ? 0 : -ENOENT;
}
module_init(finder_init);
MODULE_LICENSE("GPL");
`;

type Event = { kind: 'diagnostics'; diagnostics: Diagnostic[] } | { kind: 'status'; status: KernelTargetStatus };

describe('language server start-up: the first answer before the kdir', () => {
  let lsp: LanguageServer;
  let connection: ProtocolConnection;
  let dir: string;
  const events: Event[] = [];
  const startupLog: string[] = [];
  let changed = () => undefined as void;

  const until = <T>(what: string, probe: () => T | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; events ${JSON.stringify(events)}`)), 20_000);
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        resolve(value);
      };
      changed = check;
      check();
    });
  const rules = (diagnostics: Diagnostic[]) => diagnostics.map((d) => `${d.range.start.line + 1}:${d.code}`).sort();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-startup-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += finder.o\n');
    fs.writeFileSync(path.join(dir, 'finder.c'), SOURCE);
    const uri = pathToFileURL(path.join(dir, 'finder.c')).href;
    const settings = { kdir: MINI_KDIR, lint: { debounceMs: 0, severity: { 'missing-module-description': 'off' } } };
    lsp = await startLanguageServer({
      dir,
      settings: () => settings,
      onLog: (message) => {
        if (message.startsWith('start-up:')) startupLog.push(message);
        changed();
      },
      register: (c) => {
        c.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
          if (params.uri === uri) events.push({ kind: 'diagnostics', diagnostics: params.diagnostics });
          changed();
        });
        c.onNotification(KERNEL_TARGET_NOTIFICATION, (status: KernelTargetStatus) => {
          events.push({ kind: 'status', status });
          changed();
        });
      },
    });
    connection = lsp.connection;
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: SOURCE } });
  });

  after(async () => {
    try {
      await lsp.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('publishes first without the kdir (settings applied), then again checked against it', async () => {
    const statusAt = await until('the kernel target status', () => {
      const index = events.findIndex((event) => event.kind === 'status');
      return index >= 0 ? index : undefined;
    });
    const status = (events[statusAt] as { status: KernelTargetStatus }).status;
    assert.deepEqual({ kdir: status.kdir, release: status.release, problem: status.problem }, { kdir: MINI_KDIR, release: '6.1.0-mini', problem: undefined });
    const first = events[0];
    assert.ok(first?.kind === 'diagnostics' && statusAt > 0, `the document's diagnostics come before the kdir is loaded: ${JSON.stringify(events)}`);
    assert.deepEqual(rules(first.diagnostics), [], 'without the kdir: no export check; the description rule is off in the settings');
    const corrected = await until('diagnostics checked against the kdir', () => {
      const after = events.slice(statusAt + 1).find((event) => event.kind === 'diagnostics');
      return after?.kind === 'diagnostics' ? after.diagnostics : undefined;
    });
    assert.deepEqual(rules(corrected), ['6:unexported-symbol']);
  });

  test('logs where the start-up time went, up to the first diagnostics with the target kernel', async () => {
    await until('the start-up log to end', () => (startupLog.some((line) => / with the target kernel/.test(line)) ? true : undefined));
    const steps = startupLog.map((line) => /^start-up: (settings known|diagnostics of finder\.c published without|target kernel loaded|diagnostics of finder\.c published with)\b/.exec(line)?.[1]);
    assert.deepEqual(steps, ['settings known', 'diagnostics of finder.c published without', 'target kernel loaded', 'diagnostics of finder.c published with'], startupLog.join('\n'));
    assert.match(startupLog[0]!, /parser ready at \d+ ms/);
  });
});
