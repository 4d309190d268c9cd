// Hostile input on disk and over the protocol (issue 9, item 8): devices and FIFOs where sources,
// Makefiles and Module.symvers belong, symlink loops, a sparse 1 GB source, an empty or garbage
// Module.symvers, an edit far outside the document. Each gets a named outcome, bounded in time and
// memory, and the good files beside it are still linted. Whatever could hang runs in a child process
// with a timeout, so that a regression fails instead of hanging the suite.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  type Diagnostic, type ProtocolConnection, type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { loadKernelTarget } from '../../server/src/analysis/kernelTarget';
import { ClampedTextDocument } from '../../server/src/lsp/documents';
import { FileRefused, readTextFileBounded } from '../../server/src/sources';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'lkm-lint.js');
const SERVER = path.join(ROOT, 'out', 'server', 'server.js');
const KDIR_MINI = path.join(ROOT, 'test', 'fixtures', 'kdir-mini');
/** A child that runs longer than this has hung (a good run takes a few seconds, on a busy machine ten). */
const TIMEOUT_MS = 60_000;

/** A module file with one finding (sleep-in-atomic on line 5) that every run must still report. */
const GOOD = `#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/delay.h>
static DEFINE_SPINLOCK(good_lock);
void good_poke(void) { spin_lock(&good_lock); msleep(1); spin_unlock(&good_lock); }
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("good");
`;

interface JsonFinding { file: string; line: number; rule: string }

/** Removed when the file's tests end (the sparse file and the FIFOs with them). */
const made: string[] = [];
after(() => {
  for (const file of made) fs.rmSync(file, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-bad-input-'));
  made.push(dir);
  return dir;
}

/** `dir/name` holding GOOD (folders made as needed). */
function good(dir: string, name = 'good.c'): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), GOOD);
  return path.join(dir, name);
}

function mkfifo(file: string): void {
  const made = spawnSync('mkfifo', [file]);
  assert.equal(made.status, 0, `mkfifo ${file}: ${made.stderr}`);
}

/** `lkm-lint --format json ARGS` in a child (the tests run side by side), killed when it hangs or runs away. */
async function lint(args: string[]): Promise<{ findings: JsonFinding[]; stderr: string }> {
  assert.ok(fs.existsSync(path.join(ROOT, 'out', 'server', 'lkm-lint.js')), 'run `npm run build` first');
  const child = spawn(process.execPath, [CLI, '--format', 'json', ...args], { cwd: ROOT, timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  assert.equal(signal, null, `lkm-lint was killed after ${TIMEOUT_MS / 1000} s (hung or ran away); stderr: ${stderr.slice(0, 2000)}`);
  assert.ok(status === 0 || status === 1, `exit ${status}: ${stderr}`);
  const findings = (JSON.parse(stdout) as JsonFinding[]).map((f) => ({ ...f, file: path.resolve(ROOT, f.file) }));
  return { findings, stderr };
}

/** Each good file gets exactly its own finding, once. */
function assertGoodFilesLinted(findings: JsonFinding[], goodFiles: string[]): void {
  const sleeps = findings.filter((f) => f.rule === 'sleep-in-atomic').map((f) => `${f.file}:${f.line}`).sort();
  assert.deepEqual(sleeps, goodFiles.map((file) => `${file}:5`).sort());
}

describe('hostile input: lkm-lint', { concurrency: true }, () => {
  test('devices and FIFOs as sources, Makefiles and Kbuild includes are named and not read; the good files beside them are linted', async () => {
    const dir = tempDir();
    const goods = [
      good(path.join(dir, 'include-zero')), good(path.join(dir, 'makefile-zero')), good(path.join(dir, 'c-zero')),
      good(path.join(dir, 'fifo-c')), good(path.join(dir, 'fifo-makefile')),
    ];
    fs.writeFileSync(path.join(dir, 'include-zero', 'Kbuild'), 'obj-m += good.o\ninclude /dev/zero\n');
    fs.symlinkSync('/dev/zero', path.join(dir, 'makefile-zero', 'Makefile'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'c-zero', 'zero.c'));
    fs.writeFileSync(path.join(dir, 'c-zero', 'Kbuild'), 'obj-m += good.o zero.o\n');
    mkfifo(path.join(dir, 'fifo-c', 'x.c'));
    mkfifo(path.join(dir, 'fifo-makefile', 'Makefile'));
    // The FIFO also named on the command line: still named once, not once per reader.
    const { findings, stderr } = await lint(['--no-kdir', dir, path.join(dir, 'fifo-c', 'x.c')]);
    assertGoodFilesLinted(findings, goods);
    assert.match(stderr, /dev\/zero: not read: not a regular file \(a character device\)/);
    assert.match(stderr, /makefile-zero\/Makefile: not read: not a regular file \(a character device\)/);
    assert.match(stderr, /c-zero\/zero\.c: not read: not a regular file \(a character device\)/);
    assert.match(stderr, /fifo-c\/x\.c: not read: not a regular file \(a FIFO\)/);
    assert.match(stderr, /fifo-makefile\/Makefile: not read: not a regular file \(a FIFO\)/);
    assert.equal(stderr.match(/fifo-c\/x\.c: not read/g)?.length, 1, stderr);
  });

  test('symlink loops: each real folder and file is linted once, by its plain path', async () => {
    const dir = tempDir();
    const goods = [good(dir), good(path.join(dir, 'a')), good(path.join(dir, 'b'), 'other.c')];
    fs.symlinkSync('.', path.join(dir, 'self'));
    fs.symlinkSync('../b', path.join(dir, 'a', 'to-b'));
    fs.symlinkSync('../a', path.join(dir, 'b', 'to-a'));
    fs.symlinkSync('..', path.join(dir, 'a', 'up'));
    fs.symlinkSync('good.c', path.join(dir, 'a', 'alias.c'));
    // The same folder given twice, once through a link, is still one folder.
    const link = `${dir}-link`;
    fs.symlinkSync(dir, link);
    made.push(link);
    const { findings } = await lint(['--no-kdir', dir, link]);
    assertGoodFilesLinted(findings, goods);
    assert.equal(findings.length, goods.length, JSON.stringify(findings));
  });

  test('a sparse 1 GB source is refused from its size, unread; the good file beside it is linted', async () => {
    const dir = tempDir();
    const goodFile = good(dir);
    fs.writeFileSync(path.join(dir, 'big.c'), '');
    fs.truncateSync(path.join(dir, 'big.c'), 1024 * 1024 * 1024);
    const { findings, stderr } = await lint(['--no-kdir', dir]);
    assertGoodFilesLinted(findings, [goodFile]);
    assert.match(stderr, /big\.c: not linted: 1024 MB is over the 8 MB limit/);
    assert.equal(stderr.match(/big\.c/g)?.length, 1, `named once: ${stderr}`);
  });

  for (const [kind, make, why] of [
    ['a FIFO', (file: string) => mkfifo(file), /was not read: not a regular file \(a FIFO\)/],
    ['a link to /dev/zero', (file: string) => fs.symlinkSync('/dev/zero', file), /was not read: not a regular file \(a character device\)/],
  ] as const) {
    // Empty and garbage ones are below, in-process and through the server.
    test(`a Module.symvers that is ${kind}: exports are not checked, said once, the rest is linted`, async () => {
      const kdir = miniKdir((file) => make(file));
      const dir = tempDir();
      const goodFile = good(dir);
      const { findings, stderr } = await lint(['--kdir', kdir, dir]);
      assertGoodFilesLinted(findings, [goodFile]);
      assert.deepEqual(findings.filter((f) => f.rule === 'unexported-symbol'), [], 'msleep is exported by every kernel');
      assert.match(stderr, new RegExp(`Module\\.symvers ${why.source}, so exports of the target kernel are not checked`));
      assert.equal(stderr.match(/exports of the target kernel are not checked/g)?.length, 1, stderr);
    });
  }
});

/** A copy of the fixtures' miniature kdir whose Module.symvers `make` writes. */
function miniKdir(make: (symvers: string) => void): string {
  const kdir = path.join(tempDir(), 'kdir');
  fs.cpSync(KDIR_MINI, kdir, { recursive: true });
  fs.rmSync(path.join(kdir, 'Module.symvers'));
  make(path.join(kdir, 'Module.symvers'));
  return kdir;
}

describe('a Module.symvers that cannot be trusted', () => {
  const real = fs.readFileSync(path.join(KDIR_MINI, 'Module.symvers'), 'utf8');
  const load = (symvers: string) => loadKernelTarget(miniKdir((file) => fs.writeFileSync(file, symvers)), { noCache: true });

  test('garbage, another format, or cut short: exports off with the reason; nothing is "not exported"', () => {
    const cases: Array<[string, RegExp]> = [
      [Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 251)).toString('latin1'), /is malformed \(\d+ of \d+ lines are not/],
      ['msleep vmlinux EXPORT_SYMBOL\nkfree vmlinux EXPORT_SYMBOL\n', /is malformed \(2 of 2 lines/],
      [real.split('\n').filter((line) => !/\tkfree\t/.test(line)).join('\n'), /is incomplete \(7 exports, not even `kfree`\)/],
    ];
    for (const [symvers, why] of cases) {
      const target = load(symvers);
      assert.match(target.exportsUnchecked ?? '', why);
      assert.match(target.exportsUnchecked ?? '', /, so exports of the target kernel are not checked$/);
      // Declared in the headers: with a trusted list this would be "not exported".
      assert.deepEqual(target.resolveCall('kallsyms_lookup_name'), { kind: 'unknown' });
      assert.equal(target.config?.get('CONFIG_USB'), 'm', 'the rest of the kdir is still used');
    }
  });

  test('a real one, or one with a stray line, is trusted', () => {
    for (const symvers of [real, `${real}stray line\n`]) {
      const target = load(symvers);
      assert.equal(target.exportsUnchecked, undefined);
      assert.deepEqual(target.resolveCall('kallsyms_lookup_name'), { kind: 'not-exported', symbol: 'kallsyms_lookup_name' });
    }
  });
});

describe('readTextFileBounded', () => {
  test('reads at most the limit: exactly the limit is text, one byte more is refused', () => {
    const file = path.join(tempDir(), 'ten.c');
    fs.writeFileSync(file, '0123456789');
    assert.equal(readTextFileBounded(file, 10), '0123456789');
    const refused = readTextFileBounded(file, 9);
    assert.ok(refused instanceof FileRefused);
    assert.match(refused.reason, /is over the .* limit/);
  });

  test('a file whose size says 0 but that has more (/proc) is read whole under the limit, refused over it', () => {
    assert.equal(fs.statSync('/proc/self/maps').size, 0);
    const whole = readTextFileBounded('/proc/self/maps', 64 * 1024 * 1024);
    assert.equal(typeof whole, 'string');
    assert.ok((whole as string).length > 1000);
    const cut = readTextFileBounded('/proc/self/maps', 100);
    assert.ok(cut instanceof FileRefused);
    assert.match(cut.reason, /grew while read, over the 100 bytes limit/);
  });

  test('not regular files: a directory, a device', () => {
    assert.match((readTextFileBounded(os.tmpdir(), 100) as FileRefused).reason, /not a regular file \(a directory\)/);
    assert.match((readTextFileBounded('/dev/zero', 100) as FileRefused).reason, /not a regular file \(a character device\)/);
  });
});

describe('edits outside the document', () => {
  const far = { line: 1_000_000, character: 0 };
  const beyond = { line: 1_000_001, character: 0 };

  test('are clamped to it: the line table stays the size of the text', () => {
    const document = ClampedTextDocument.create('file:///x.c', 'c', 1, 'int a;\nint b;\n');
    ClampedTextDocument.update(document, [{ range: { start: far, end: beyond }, text: 'x\n' }], 2);
    ClampedTextDocument.update(document, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'zz' }], 3);
    assert.equal(document.getText(), 'zzint a;\nint b;\nx\n');
    assert.equal(document.lineCount, 4);
    assert.deepEqual(document.positionAt(document.getText().indexOf('x\n')), { line: 2, character: 0 });
  });

  test('several changes in one notification apply in order, each clamped to the text before it', () => {
    const document = ClampedTextDocument.create('file:///x.c', 'c', 1, 'ab\n');
    ClampedTextDocument.update(document, [
      { range: { start: { line: 0, character: 99 }, end: far }, text: '\ncd' },
      { range: { start: { line: 1, character: 1 }, end: { line: 1, character: 2 } }, text: 'D' },
      { text: `${'x'.repeat(3)}\n` },
    ], 2);
    assert.equal(document.getText(), 'xxx\n');
    assert.equal(document.lineCount, 2);
    // The same first two changes, unclamped, against the library's own line table: equal text, same lines.
    const plain = TextDocument.create('file:///y.c', 'c', 1, 'ab\n');
    TextDocument.update(plain, [{ range: { start: { line: 0, character: 2 }, end: { line: 1, character: 0 } }, text: '\ncd' }], 2);
    const clamped = ClampedTextDocument.create('file:///z.c', 'c', 1, 'ab\n');
    ClampedTextDocument.update(clamped, [{ range: { start: { line: 0, character: 99 }, end: far }, text: '\ncd' }], 2);
    assert.equal(clamped.getText(), plain.getText());
    assert.equal(clamped.lineCount, plain.lineCount);
  });
});

/** The bundled server over stdio, as the editor runs it, on the workspace folder `dir`. */
async function startServer(dir: string, kdir = '') {
  assert.ok(fs.existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  const published = new Map<string, PublishDiagnosticsParams[]>();
  const messages: string[] = [];
  const logs: string[] = [];
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const server: ChildProcess = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection: ProtocolConnection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
    published.set(params.uri, [...(published.get(params.uri) ?? []), params]);
    notify();
  });
  // showWarningMessage is a request (it may offer actions).
  connection.onRequest('window/showMessageRequest', (params: { message: string }) => {
    messages.push(params.message);
    notify();
    return null;
  });
  // Which kernel the linter checks against, or why none: the extension shows the problem once.
  connection.onNotification('lkm/kernelTarget', (params: { problem?: string }) => {
    if (params.problem) messages.push(params.problem);
    notify();
  });
  connection.onNotification('window/logMessage', (params: { message: string }) => {
    logs.push(params.message);
    notify();
  });
  connection.onRequest('workspace/configuration', (params: { items: unknown[] }) => params.items.map(() => ({ lint: { debounceMs: 0, severity: {} }, kdir })));
  connection.onRequest('client/registerCapability', () => null);
  connection.listen();
  /** `promise`, or a failure when a hung server leaves it pending. */
  const within = <T>(what: string, promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)));
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const waitFor = <T>(what: string, probe: () => T | undefined): Promise<T> =>
    within(what, new Promise<T>((resolve) => {
      const check = () => {
        const value = probe();
        if (value === undefined) waiters.push(check);
        else resolve(value);
      };
      check();
    }));
  const diagnosticsWhere = (uri: string, predicate: (d: Diagnostic[]) => boolean) =>
    waitFor('diagnostics', () => {
      const last = published.get(uri)?.at(-1)?.diagnostics;
      return last && predicate(last) ? last : undefined;
    });
  await within('initialize', connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: path.basename(dir) }],
    capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
  }));
  await connection.sendNotification('initialized', {});
  const stop = async () => {
    try {
      await within('shutdown', connection.sendRequest('shutdown'));
      await connection.sendNotification('exit');
    } finally {
      connection.dispose();
      server.kill('SIGKILL');
    }
  };
  return { connection, messages, logs, within, waitFor, diagnosticsWhere, stop };
}

describe('hostile input: the language server', () => {
  let lsp: Awaited<ReturnType<typeof startServer>>;
  let uri: string;

  before(async () => {
    const dir = tempDir();
    good(dir);
    // Beside the open file: a Kbuild that includes /dev/zero, a FIFO and a /dev/zero link named as
    // sources, loops; and a kdir whose Module.symvers is empty.
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += good.o\ninclude /dev/zero\n');
    mkfifo(path.join(dir, 'fifo.c'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.c'));
    fs.symlinkSync('.', path.join(dir, 'self'));
    fs.mkdirSync(path.join(dir, 'a'));
    fs.symlinkSync('..', path.join(dir, 'a', 'up'));
    uri = pathToFileURL(path.join(dir, 'good.c')).href;
    lsp = await startServer(dir, miniKdir((file) => fs.writeFileSync(file, '')));
  });

  after(() => lsp.stop());

  test('the workspace scan and the module lint finish; what was not read is logged; the empty Module.symvers is shown once', async () => {
    await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: GOOD } });
    const diagnostics = await lsp.diagnosticsWhere(uri, (d) => d.some((x) => x.code === 'sleep-in-atomic'));
    assert.deepEqual(diagnostics.filter((d) => d.code === 'unexported-symbol'), []);
    await lsp.waitFor('the Module.symvers warning', () => lsp.messages.find((m) => /Module\.symvers is empty, so exports of the target kernel are not checked/.test(m)));
    assert.equal(lsp.messages.filter((m) => /Module\.symvers/.test(m)).length, 1, lsp.messages.join('\n'));
    for (const refused of [/\/dev\/zero: not read: not a regular file \(a character device\)/, /fifo\.c: not read: not a regular file \(a FIFO\)/, /zero\.c: not read: not a regular file \(a character device\)/]) {
      await lsp.waitFor(`log ${refused}`, () => lsp.logs.find((line) => refused.test(line)));
    }
  });
});

describe('an edit far outside the document, through the language server', () => {
  let lsp: Awaited<ReturnType<typeof startServer>>;
  let uri: string;

  before(async () => {
    const dir = tempDir();
    uri = pathToFileURL(good(dir)).href;
    lsp = await startServer(dir);
  });

  after(() => lsp.stop());

  test('is clamped: later edits and positions are still right', async () => {
    await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: GOOD } });
    await lsp.diagnosticsWhere(uri, (d) => d.some((x) => x.code === 'sleep-in-atomic'));
    // Lines 1,000,000–1,000,001: unclamped, the document's line table grows a million holes that every
    // later edit walks, and positions after the first edit come out as line 1,000,000.
    await lsp.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 1_000_000, character: 0 }, end: { line: 1_000_001, character: 0 } }, text: '// tail\n' }],
    });
    await lsp.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 3 },
      contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '// head\n' }],
    });
    const hover = await lsp.within('hover', lsp.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 5, character: 25 } })) as { range: { start: unknown } } | null;
    assert.deepEqual(hover?.range.start, { line: 5, character: 23 }, JSON.stringify(hover));
    // The sleep moved down one line with the head comment: the lint saw both edits.
    await lsp.diagnosticsWhere(uri, (d) => d.some((x) => x.code === 'sleep-in-atomic' && x.range.start.line === 5));
  });
});
