// clangd as the editor runs it (the language server the vscode-clangd extension starts), on a fresh
// New Module folder: it starts before any database exists and reports the missing kernel headers.
// clangd 14 does not re-read an open file's flags when a database appears where there was none (only
// at the file's next edit; it advertises automaticReload, so vscode-clangd does not restart it either),
// so LKM Dev runs `clangd.restart` when it creates the database: modelled here by a new clangd process.
// Then no error, and go-to-definition on a kernel API lands in the target kernel's headers.
// The time from the fresh module to that answer is printed (a measurement, not a limit).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  type Diagnostic, type Location, type ProtocolConnection, type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { guestKernelVersion, kernelBuildDir } from '../../client/src/core/guest/image';
import { generateCompileDatabase } from '../../client/src/core/intellisense/compdb';
import { createModule } from '../../client/src/core/scaffold/newModule';

const WAIT_MS = 120_000;

describe('clangd with the written database', { timeout: 600_000 }, () => {
  let clangd: ChildProcess;
  let connection: ProtocolConnection;
  let work: string;
  let kdir: string;
  const published: PublishDiagnosticsParams[] = [];
  let notify: () => void = () => undefined;

  /** Resolves with the first diagnostics for `uri` (already published or to come) that satisfy `wanted`. */
  const diagnosticsFor = (uri: string, wanted: (d: Diagnostic[]) => boolean, what: string): Promise<Diagnostic[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`clangd published no ${what} within ${WAIT_MS / 1000} s; last: ${JSON.stringify(published.filter((p) => p.uri === uri).at(-1))}`)), WAIT_MS);
      const check = () => {
        const found = published.find((p) => p.uri === uri && wanted(p.diagnostics));
        if (!found) return;
        clearTimeout(timer);
        notify = () => undefined;
        resolve(found.diagnostics);
      };
      notify = check;
      check();
    });

  async function startClangd(): Promise<void> {
    clangd = spawn('clangd', ['--log=error'], { cwd: work, stdio: ['pipe', 'pipe', 'ignore'] });
    connection = createProtocolConnection(new StreamMessageReader(clangd.stdout!), new StreamMessageWriter(clangd.stdin!));
    connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      published.push(params);
      notify();
    });
    connection.listen();
    await connection.sendRequest('initialize', { processId: process.pid, rootUri: pathToFileURL(work).href, capabilities: {} });
    await connection.sendNotification('initialized', {});
  }

  async function stopClangd(): Promise<void> {
    await connection?.sendRequest('shutdown').catch(() => undefined);
    connection?.dispose();
    clangd?.kill();
  }

  before(async () => {
    kdir = kernelBuildDir(await guestKernelVersion());
    work = mkdtempSync(path.join(tmpdir(), 'lkm-clangd-'));
    await startClangd();
  });

  after(async () => {
    await stopClangd();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a fresh module: header errors, then none and definitions in the kdir once the database is written', async (t) => {
    const began = Date.now();
    const { moduleDir, files } = createModule({ name: 'lkmd_fresh', templateId: 'skeleton', parentDir: work, kernelBuildDir: kdir });
    const file = files.find((f) => f.endsWith('.c'))!;
    const uri = pathToFileURL(file).href;
    const text = readFileSync(file, 'utf8');
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    const before = await diagnosticsFor(uri, (d) => d.length > 0, 'diagnostics');
    assert.ok(before.some((d) => /file not found/.test(JSON.stringify(d.message))), `expected a missing kernel header, got ${JSON.stringify(before)}`);

    const written = await generateCompileDatabase(moduleDir, kdir, {});
    assert.ok(written.build.ok, written.build.output);
    const databaseMs = Date.now() - began;
    // What "clangd.restart" does in the editor, after which vscode-clangd re-opens the open files.
    await stopClangd();
    published.length = 0;
    await startClangd();
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    const after = await diagnosticsFor(uri, (d) => !d.some((x) => x.severity === 1), 'diagnostics without errors');
    assert.deepEqual(after.filter((d) => d.severity === 1), []);

    const offset = text.indexOf('pr_info');
    const position = { line: text.slice(0, offset).split('\n').length - 1, character: offset - text.lastIndexOf('\n', offset) - 1 };
    const result = (await connection.sendRequest('textDocument/definition', { textDocument: { uri }, position })) as Location[] | Location | null;
    const locations = Array.isArray(result) ? result : result ? [result] : [];
    assert.ok(locations.length > 0, 'no definition for pr_info');
    const target = realpathSync(fileURLToPath(locations[0].uri));
    assert.match(target, /\/include\/linux\/printk\.h$/);
    // The header the compiler would include: the first -I folder of the command line that has it.
    const includeDirs = written.entries[0].arguments.filter((a) => a.startsWith('-I')).map((a) => path.resolve(kdir, a.slice(2)));
    const kernelHeaders = includeDirs.map((d) => path.join(d, 'linux', 'printk.h')).find((f) => existsSync(f));
    assert.ok(kernelHeaders, `no linux/printk.h in ${includeDirs.join(', ')}`);
    assert.equal(target, realpathSync(kernelHeaders), "the definition is in the target kernel's headers");
    t.diagnostic(`fresh module → compile_commands.json ${(databaseMs / 1000).toFixed(1)} s → go-to-definition in ${kernelHeaders} ${((Date.now() - began) / 1000).toFixed(1)} s`);
  });
});
