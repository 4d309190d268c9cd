// The language server follows the active target's kernel over the real protocol: the kdir comes from the
// `lkm` settings it pulls (lkm.kdir, or the target kernel the extension adds), a settings change re-lints
// against the new kdir without a restart, and the server says which kernel it uses — or why none —
// once per change.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startLanguageServer, type LanguageServer } from './lspHarness';
import { type Diagnostic, type ProtocolConnection, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import type { ActiveTargetKernel } from '../../server/src/analysis/kernelTarget';
import { KERNEL_TARGET_NOTIFICATION, TARGET_KERNEL_SETTING, type KernelTargetStatus } from '../../server/src/lsp/protocol';

const MINI_KDIR = path.join(__dirname, '..', 'fixtures', 'kdir-mini');
// kallsyms_lookup_name is declared in the kdir's headers but not exported: only a kdir can tell.
const SOURCE = `#include <linux/module.h>
#include <linux/kallsyms.h>

static int __init finder_init(void)
{
	return kallsyms_lookup_name("jiffies") ? 0 : -ENOENT;
}
module_init(finder_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("finder");
`;

describe('language server: the target kernel follows the target', () => {
  let lsp: LanguageServer;
  let connection: ProtocolConnection;
  let dir: string;
  let uri: string;
  let settings: Record<string, unknown> = {};
  const statuses: KernelTargetStatus[] = [];
  let diagnostics: Diagnostic[] | undefined;
  let changed = () => undefined as void;

  /** Resolves when `probe` holds, checked after every message from the server. */
  const until = <T>(what: string, probe: () => T | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; statuses ${JSON.stringify(statuses)}, diagnostics ${JSON.stringify(diagnostics)}`)), 20_000);
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        changed = () => undefined;
        resolve(value);
      };
      changed = check;
      check();
    });
  const useSettings = async (next: Record<string, unknown>) => {
    settings = { lint: { debounceMs: 0 }, ...next };
    await connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  };
  const target = (kernel: ActiveTargetKernel) => ({ [TARGET_KERNEL_SETTING]: kernel });
  const hasUnexported = () => diagnostics?.some((d) => d.code === 'unexported-symbol' && d.range.start.line === 5);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kdir-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += finder.o\n');
    fs.writeFileSync(path.join(dir, 'finder.c'), SOURCE);
    uri = pathToFileURL(path.join(dir, 'finder.c')).href;
    settings = { lint: { debounceMs: 0 }, ...target({ kind: 'ssh', name: 'far', build: 'remote' }) };
    lsp = await startLanguageServer({
      dir,
      settings: () => settings,
      register: (c) => {
        c.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
          if (params.uri === uri) diagnostics = params.diagnostics;
          changed();
        });
        c.onNotification(KERNEL_TARGET_NOTIFICATION, (status: KernelTargetStatus) => {
          statuses.push(status);
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

  test('a remote-build target without kdir: the server says export checks are off, and cannot report the unexported call', async () => {
    const status = await until('a status', () => statuses.at(-1));
    assert.equal(status.kdir, undefined);
    assert.equal(status.source, 'target far');
    assert.match(status.problem ?? '', /no local "kdir"/);
    await until('diagnostics', () => diagnostics);
    assert.equal(hasUnexported(), false);
  });

  test('switching to the test VM re-lints against its headers without a restart', async () => {
    await useSettings(target({ kind: 'test-vm', name: 'test-vm', kdir: MINI_KDIR }));
    await until('the unexported-symbol finding', () => (hasUnexported() ? true : undefined));
    const status = statuses.at(-1)!;
    assert.deepEqual({ kdir: status.kdir, release: status.release, problem: status.problem }, { kdir: MINI_KDIR, release: '6.1.0-mini', problem: undefined });
  });

  test('the same settings again: no second status', async () => {
    const count = statuses.length;
    const published = diagnostics;
    await useSettings(target({ kind: 'test-vm', name: 'test-vm', kdir: MINI_KDIR }));
    // The re-lint that follows every settings change publishes; by then a status would have been sent.
    await until('the re-lint', () => (diagnostics !== published ? true : undefined));
    assert.equal(statuses.length, count);
  });

  test('a kdir without Module.symvers: the status names the reason and the finding goes; once complete, the same kdir is tried again', async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-bare-kdir-'));
    await useSettings(target({ kind: 'ssh', name: 'board', build: 'local', kdir: bare }));
    const status = await until('a status for the bare kdir', () => statuses.find((s) => s.kdir === bare));
    assert.match(status.problem ?? '', /Module\.symvers/);
    await until('the finding to go', () => (hasUnexported() ? undefined : true));

    // The headers get installed (the editor's fix re-sends the settings when the install ends).
    fs.cpSync(MINI_KDIR, bare, { recursive: true });
    await useSettings(target({ kind: 'ssh', name: 'board', build: 'local', kdir: bare }));
    const loaded = await until('the bare kdir to load once it is complete', () => statuses.find((s) => s.kdir === bare && !s.problem));
    assert.equal(loaded.release, '6.1.0-mini');
    await until('the unexported-symbol finding', () => (hasUnexported() ? true : undefined));
    fs.rmSync(bare, { recursive: true });
  });

  test('lkm.kdir wins over the active target', async () => {
    await useSettings({ kdir: MINI_KDIR, ...target({ kind: 'ssh', name: 'far', build: 'remote' }) });
    const status = await until('a status for lkm.kdir', () => (statuses.at(-1)?.source === 'lkm.kdir' ? statuses.at(-1) : undefined));
    assert.equal(status.kdir, MINI_KDIR);
    await until('the unexported-symbol finding', () => (hasUnexported() ? true : undefined));
  });
});
