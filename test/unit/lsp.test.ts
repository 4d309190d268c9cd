// The language server over the real protocol: start it (the bundled out/server/server.js, as the
// extension does), open a document, and check what it publishes as the document changes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startLanguageServer, type LanguageServer } from './lspHarness';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  type Diagnostic, type ProtocolConnection, type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';


const SOURCE = `#include <linux/module.h>
#include <linux/spinlock.h>
static DEFINE_SPINLOCK(demo_lock);

static int demo_poke(int x)
{
	spin_lock(&demo_lock);
	msleep(10);
	if (x)
		return -EINVAL;
	spin_unlock(&demo_lock);
	return 0;
}
`;

describe('language server protocol', () => {
  let lsp: LanguageServer;
  let connection: ProtocolConnection;
  let dir: string;
  let uri: string;
  const published = new Map<string, PublishDiagnosticsParams[]>();
  const waiters: Array<() => void> = [];
  let settings: Record<string, unknown> = { lint: { debounceMs: 0, severity: {} }, kdir: '' };

  const nextDiagnostics = (target: string, predicate: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching diagnostics for ${target} within 20 s; got ${JSON.stringify(published.get(target)?.at(-1))}`)), 20_000);
      const check = () => {
        const last = published.get(target)?.at(-1);
        if (last && predicate(last.diagnostics)) {
          clearTimeout(timer);
          resolve(last.diagnostics);
          return true;
        }
        return false;
      };
      if (!check()) waiters.push(function retry() { if (!check()) waiters.push(retry); });
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-lsp-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += demo.o\n');
    fs.writeFileSync(path.join(dir, 'demo.c'), SOURCE);
    uri = pathToFileURL(path.join(dir, 'demo.c')).href;
    lsp = await startLanguageServer({
      dir,
      settings: () => settings,
      register: (c) => {
        c.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
          published.set(params.uri, [...(published.get(params.uri) ?? []), params]);
          for (const waiter of waiters.splice(0)) waiter();
        });
      },
    });
    connection = lsp.connection;
  });

  after(async () => {
    try {
      await lsp.stop();
    } finally {
    }
  });

  test('publishes the rules\' diagnostics with code, source and related information when a document opens', async () => {
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: SOURCE } });
    const diagnostics = await nextDiagnostics(uri, (d) => d.some((x) => x.code === 'sleep-in-atomic'));
    const byRule = diagnostics.map((d) => `${d.range.start.line + 1}:${d.code}`).sort();
    assert.deepEqual(byRule, ['10:lock-imbalance', '1:missing-module-license', '1:missing-module-description', '8:sleep-in-atomic'].sort());
    const sleep = diagnostics.find((d) => d.code === 'sleep-in-atomic')!;
    assert.equal(sleep.source, 'lkm');
    assert.equal(sleep.severity, 1);
    // Problems and the hover show messages as plain text: code in quotes, not in markdown backticks.
    assert.match(String(sleep.message), /‘msleep\(\)’ may sleep .* spinlock ‘&demo_lock’ held \(taken at line 7\)/);
    assert.equal(sleep.relatedInformation?.[0]?.location.range.start.line, 6);
    for (const d of diagnostics) {
      const href = d.codeDescription?.href ?? '';
      assert.ok(href.startsWith('file:') && fs.existsSync(new URL(href)), `${d.code}: no rule page at ${href}`);
      assert.equal(path.basename(new URL(href).pathname), `${d.code}.md`);
    }
  });

  test('incremental edits re-lint: removing the sleep clears its diagnostic', async () => {
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 7, character: 0 }, end: { line: 8, character: 0 } }, text: '' }],
    });
    const diagnostics = await nextDiagnostics(uri, (d) => !d.some((x) => x.code === 'sleep-in-atomic'));
    assert.ok(diagnostics.some((d) => d.code === 'lock-imbalance' && d.range.start.line === 8));
  });

  test('quick fixes: release the lock before the leaking return; add MODULE_LICENSE', async () => {
    const diagnostics = published.get(uri)!.at(-1)!.diagnostics;
    const leak = diagnostics.find((d) => d.code === 'lock-imbalance')!;
    const actions = await connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: leak.range, context: { diagnostics: [leak] } }) as Array<{ title: string; edit: { changes: Record<string, Array<{ newText: string }>> } }>;
    const release = actions.find((a) => a.title.startsWith('Release &demo_lock'));
    assert.ok(release, JSON.stringify(actions));
    assert.equal(release.edit.changes[uri]![0]!.newText, '{ spin_unlock(&demo_lock); return -EINVAL; }');
    const license = diagnostics.find((d) => d.code === 'missing-module-license' && d.severity === 1)!;
    const licenseActions = await connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: license.range, context: { diagnostics: [license] } }) as Array<{ title: string; edit: { changes: Record<string, Array<{ newText: string }>> } }>;
    assert.ok(licenseActions.some((a) => /MODULE_LICENSE\("GPL"\)/.test(a.edit.changes[uri]![0]!.newText)), JSON.stringify(licenseActions));
  });

  test('"Disable for this line" puts the suppression above the finding, indented as its line, and the finding goes', async () => {
    const leak = published.get(uri)!.at(-1)!.diagnostics.find((d) => d.code === 'lock-imbalance')!;
    const actions = await connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: leak.range, context: { diagnostics: [leak] } }) as Array<{ title: string; edit: { changes: Record<string, Array<{ range: Diagnostic['range']; newText: string }>> } }>;
    const disable = actions.find((a) => a.title === 'Disable lock-imbalance for this line');
    assert.ok(disable, JSON.stringify(actions.map((a) => a.title)));
    const [edit] = disable.edit.changes[uri]!;
    assert.deepEqual(edit!.range.start, { line: leak.range.start.line, character: 0 });
    assert.equal(edit!.newText, '\t\t// lkm-lint-disable-next-line lock-imbalance\n');
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 3 }, contentChanges: [{ range: edit!.range, text: edit!.newText }] });
    await nextDiagnostics(uri, (d) => !d.some((x) => x.code === 'lock-imbalance'));
    const inserted = { start: edit!.range.start, end: { line: edit!.range.start.line + 1, character: 0 } };
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 4 }, contentChanges: [{ range: inserted, text: '' }] });
    await nextDiagnostics(uri, (d) => d.some((x) => x.code === 'lock-imbalance'));
  });

  test('hover over a finding says, in markdown, what its rule checks, links its page and shows the suppression', async () => {
    const leak = published.get(uri)!.at(-1)!.diagnostics.find((d) => d.code === 'lock-imbalance')!;
    const hover = await connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: leak.range.start }) as { contents: { kind: string; value: string } };
    assert.equal(hover.contents.kind, 'markdown');
    assert.match(hover.contents.value, /\*\*lock-imbalance\*\* — .*\[Rule page\]\(file:\/\/.*lock-imbalance\.md\)/);
    assert.match(hover.contents.value, /`\/\/ lkm-lint-disable-next-line lock-imbalance`/);
  });

  test('hover on a kernel API tells whether it sleeps', async () => {
    const hover: unknown = await connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 6, character: 3 } });
    assert.match((hover as { contents: { value: string } }).contents.value, /spin_lock/);
  });

  test('a changed severity setting takes effect on the next lint', async () => {
    settings = { lint: { debounceMs: 0, severity: { 'lock-imbalance': 'warning' } }, kdir: '' };
    await connection.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    const diagnostics = await nextDiagnostics(uri, (d) => d.some((x) => x.code === 'lock-imbalance' && x.severity === 2));
    assert.ok(diagnostics.length > 0);
  });

  test('adding the license to the module clears the module-level finding', async () => {
    const text = `${SOURCE.replace('\tmsleep(10);\n', '')}MODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("demo");\n`;
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 3 }, contentChanges: [{ text }] });
    await nextDiagnostics(uri, (d) => !d.some((x) => x.code === 'missing-module-license'));
  });

  test('a module\'s other files are re-published only when their diagnostics change', async () => {
    const moduleDir = path.join(dir, 'two');
    fs.mkdirSync(moduleDir);
    fs.writeFileSync(path.join(moduleDir, 'Kbuild'), 'obj-m += two.o\ntwo-y := a.o b.o\n');
    const helper = 'void a_helper(void)\n{\n}\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("two");\n';
    fs.writeFileSync(path.join(moduleDir, 'a.c'), helper);
    fs.writeFileSync(path.join(moduleDir, 'b.c'), '#include <linux/spinlock.h>\nstatic DEFINE_SPINLOCK(l);\nvoid a_helper(void);\nvoid b_poke(void)\n{\n\tspin_lock(&l);\n\ta_helper();\n\tspin_unlock(&l);\n}\n');
    const aUri = pathToFileURL(path.join(moduleDir, 'a.c')).href;
    const bUri = pathToFileURL(path.join(moduleDir, 'b.c')).href;
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri: aUri, languageId: 'c', version: 1, text: helper } });
    await nextDiagnostics(bUri, (d) => d.length === 0);
    const publishesOfB = () => published.get(bUri)?.length ?? 0;
    const before = publishesOfB();
    for (let version = 2; version <= 4; version++) {
      const text = helper.replace('{\n}', `{\n\tint unused${version};\n}`);
      await connection.sendNotification('textDocument/didChange', { textDocument: { uri: aUri, version }, contentChanges: [{ text }] });
      await nextDiagnostics(aUri, () => published.get(aUri)!.length >= version);
    }
    assert.equal(publishesOfB(), before, 'b.c is not re-sent while its diagnostics stay the same');
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri: aUri, version: 5 }, contentChanges: [{ text: helper.replace('{\n}', '{\n\tmsleep(1);\n}') }] });
    const bDiagnostics = await nextDiagnostics(bUri, (d) => d.some((x) => x.code === 'sleep-in-atomic'));
    assert.match(JSON.stringify(bDiagnostics[0]!.message), /a_helper/);
  });

  test('garbage input does not take the server down', async () => {
    const junk = `${'}'.repeat(500)}\u0000\u00ff(((( #if\n`.repeat(50);
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 4 }, contentChanges: [{ text: junk }] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 5 }, contentChanges: [{ text: SOURCE }] });
    await nextDiagnostics(uri, (d) => d.some((x) => x.code === 'sleep-in-atomic'));
  });
});
