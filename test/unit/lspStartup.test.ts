// The language server's first answer does not wait for the kdir: a document open when the server starts
// is linted with the settings and without the target kernel, its diagnostics are published, and then the
// kdir loads and the document is published again, now checked against it. Over the real protocol, with
// the bundled server as the extension starts it.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter, type Diagnostic, type ProtocolConnection, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { KERNEL_TARGET_NOTIFICATION, type KernelTargetStatus } from '../../server/src/lsp/protocol';

const SERVER = path.join(__dirname, '..', '..', 'out', 'server', 'server.js');
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
  let server: ChildProcess;
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
    assert.ok(fs.existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-startup-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += finder.o\n');
    fs.writeFileSync(path.join(dir, 'finder.c'), SOURCE);
    const uri = pathToFileURL(path.join(dir, 'finder.c')).href;
    server = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    connection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
    connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      if (params.uri === uri) events.push({ kind: 'diagnostics', diagnostics: params.diagnostics });
      changed();
    });
    connection.onNotification(KERNEL_TARGET_NOTIFICATION, (status: KernelTargetStatus) => {
      events.push({ kind: 'status', status });
      changed();
    });
    const settings = { kdir: MINI_KDIR, lint: { debounceMs: 0, severity: { 'missing-module-description': 'off' } } };
    connection.onRequest('workspace/configuration', (params: { items: Array<{ section?: string }> }) => params.items.map(() => settings));
    connection.onRequest('client/registerCapability', () => null);
    connection.onNotification('window/logMessage', (params: { message: string }) => {
      if (params.message.startsWith('start-up:')) startupLog.push(params.message);
      changed();
    });
    connection.listen();
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'finder' }],
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
    });
    // As VS Code does: the documents already open follow `initialized` at once.
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: SOURCE } });
  });

  after(async () => {
    try {
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
    } finally {
      connection.dispose();
      server.kill();
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
