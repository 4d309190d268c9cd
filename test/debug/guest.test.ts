// The module debugger on a real QEMU guest with Debian's gdb: `lkm debug --batch` (breakpoint in init
// and in a read() callback, backtrace with the module's file:line) and the debug adapter driven over
// its protocol on stdio. One guest for the file, under its own instance name, stopped in `after`.
// Needs the guest packages and gdb: bash scripts/install-guest-deps.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { qmpHuman } from '../../client/src/core/debug/gdbstub';
import { guestConnection, startGuest, stopGuest, type GuestState } from '../../client/src/core/guest/vm';
import { EXIT, runLoop } from '../../client/src/core/targets/loop';
import { DapClient } from './dapClient';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures-modules');
const FIXTURE = path.join(FIXTURES, 'lkmt_debug');
const SOURCE = path.join(FIXTURE, 'lkmt_debug.c');
const GUEST = `debug-${process.pid}`;
const env = { ...process.env, LKM_VM_NAME: GUEST };

/** 1-based line of the first source line matching `pattern` (the fixture is the truth, not a number here). */
function lineOf(pattern: RegExp, after = 0): number {
  const lines = readFileSync(SOURCE, 'utf8').split('\n');
  const index = lines.findIndex((l, i) => i >= after && pattern.test(l));
  assert.ok(index >= 0, `no line matches ${pattern}`);
  return index + 1;
}
/** The line gdb stops at for a function breakpoint: its opening brace. */
const openingBrace = (signature: RegExp) => lineOf(/^\{/, lineOf(signature));

function runLkm(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const began = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lkm.js'), ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - began });
    });
  });
}

describe('debugging a module on the QEMU test guest', { timeout: 600_000 }, () => {
  let guest: GuestState;
  const sh = async (command: string) => {
    const connection = guestConnection(guest);
    await connection.open();
    return connection.exec(command, { timeoutMs: 15_000 });
  };
  const guestRuns = async () => /VM status: running/.test(await qmpHuman(guest.qmpSocket, 'info status'));

  before(async () => {
    guest = await startGuest({ name: GUEST, log: (l) => console.log(`# ${l}`) });
  });

  after(async () => {
    await stopGuest(GUEST);
  });

  it('lkm debug --batch stops in init before it runs: the backtrace has the module frames at their lines', async () => {
    const result = await runLkm(['debug', 'lkmt_debug', '--break', 'lkmt_debug_count', '--batch'], FIXTURES);
    console.log(`# lkm debug --batch (init breakpoint): ${(result.ms / 1000).toFixed(1)} s`);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const frames = result.stdout.split('\n').filter((l) => /^#\d+ /.test(l));
    assert.equal(frames[0], `#0  lkmt_debug_count at lkmt_debug/lkmt_debug.c:${openingBrace(/^static noinline int lkmt_debug_count/)}`, result.stdout);
    assert.equal(frames[1], `#1  lkmt_debug_init at lkmt_debug/lkmt_debug.c:${lineOf(/int first = lkmt_debug_count\(10\)/)}`, result.stdout);
    // Unloaded at the end, and the guest runs on.
    assert.equal((await sh('grep -c ^lkmt_debug /proc/modules')).stdout.trim(), '0');
    assert.ok(await guestRuns());
  });

  it('lkm debug --batch --trigger stops in a read() callback reached through ssh', async () => {
    const result = await runLkm(['debug', FIXTURE, '--break', 'lkmt_debug_read', '--trigger', 'cat /dev/lkmt_debug', '--batch'], ROOT);
    console.log(`# lkm debug --batch (read() breakpoint): ${(result.ms / 1000).toFixed(1)} s`);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^#0  lkmt_debug_read at test/fixtures-modules/lkmt_debug/lkmt_debug\\.c:${openingBrace(/^static ssize_t lkmt_debug_read/)}$`, 'm'));
    assert.match((await sh('dmesg | tail -5')).stdout, /lkmt_debug: read 11/);
    assert.ok(await guestRuns());
  });

  it('the debug adapter: a breakpoint at a source line hits in init and in read(), with frames, locals, watch, step', async () => {
    const began = Date.now();
    const dap = new DapClient(process.execPath, [path.join(ROOT, 'bin', 'lkm.js'), 'debug-adapter'], env);
    try {
      await dap.request('initialize', { adapterID: 'lkm', pathFormat: 'path', linesStartAt1: true });
      const launched = dap.request('launch', { folder: FIXTURE, trigger: 'cat /dev/lkmt_debug' }, 180_000);
      await dap.event('initialized', 180_000);
      const line = lineOf(/lkmt_debug_reads = total;/);
      const set = await dap.request('setBreakpoints', { source: { path: SOURCE }, breakpoints: [{ line }] });
      assert.equal(set.body.breakpoints[0].line, line);
      await launched;
      await dap.request('configurationDone', {});

      // 1. In init (the breakpoint was set before the load).
      await dap.event('stopped', 120_000);
      console.log(`# adapter: launch to the breakpoint in init: ${((Date.now() - began) / 1000).toFixed(1)} s`);
      let frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
      assert.deepEqual([frames[0].name, frames[0].source?.path, frames[0].line], ['lkmt_debug_count', SOURCE, line]);
      assert.deepEqual([frames[1].name, frames[1].line], ['lkmt_debug_init', lineOf(/int first = lkmt_debug_count\(10\)/)]);
      const scopes = (await dap.request('scopes', { frameId: frames[0].id })).body.scopes;
      const locals = (await dap.request('variables', { variablesReference: scopes[0].variablesReference })).body.variables as Array<{ name: string; value: string }>;
      assert.equal(locals.find((v) => v.name === 'total')?.value, '10', JSON.stringify(locals));
      assert.equal((await dap.request('evaluate', { expression: 'lkmt_debug_reads', frameId: frames[0].id })).body.result, '0');
      await dap.request('next', { threadId: 1 });
      await dap.event('stopped', 60_000);
      frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
      assert.equal(frames[0].line, line + 1);
      assert.equal((await dap.request('evaluate', { expression: 'lkmt_debug_reads', frameId: frames[0].id })).body.result, '10');
      await dap.request('continue', { threadId: 1 });

      // 2. In read(), reached by the trigger after the load.
      await dap.event('stopped', 120_000);
      frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
      assert.deepEqual([frames[0].name, frames[1].name, frames[1].line], ['lkmt_debug_count', 'lkmt_debug_read', lineOf(/int seen = lkmt_debug_count\(1\)/)]);
      const readLocals = (await dap.request('variables', { variablesReference: frames[0].id + 1 })).body.variables as Array<{ name: string; value: string }>;
      assert.equal(readLocals.find((v) => v.name === 'total')?.value, '11');
      await dap.request('continue', { threadId: 1 });
      await dap.request('disconnect', {});
      assert.equal(await dap.exited(), 0);
    } finally {
      dap.kill();
    }
    // The session leaves the guest running, with the module loaded.
    assert.ok(await guestRuns());
    assert.match((await sh('grep ^lkmt_debug /proc/modules; rmmod lkmt_debug')).stdout, /^lkmt_debug /);
  });

  it('the debug adapter attaches to a module already loaded (sections from /sys/module) and stops in read()', async () => {
    const loaded = await runLoop(FIXTURE, undefined, { guestName: GUEST });
    await loaded.target?.connection.close();
    assert.equal(loaded.exitCode, EXIT.loaded, loaded.summary);
    const dap = new DapClient(process.execPath, [path.join(ROOT, 'bin', 'lkm.js'), 'debug-adapter'], env);
    try {
      await dap.request('initialize', { adapterID: 'lkm' });
      const attached = dap.request('attach', { folder: FIXTURE }, 180_000);
      await dap.event('initialized', 180_000);
      const line = lineOf(/lkmt_debug_reads = total;/);
      const set = await dap.request('setBreakpoints', { source: { path: SOURCE }, breakpoints: [{ line }] });
      assert.equal(set.body.breakpoints[0].message, undefined, 'the breakpoint should resolve at once in a loaded module');
      await attached;
      await dap.request('configurationDone', {});
      const reading = sh('cat /dev/lkmt_debug');
      await dap.event('stopped', 120_000);
      const frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
      assert.deepEqual([frames[0].name, frames[0].line, frames[1].name], ['lkmt_debug_count', line, 'lkmt_debug_read']);
      await dap.request('continue', { threadId: 1 });
      await dap.request('disconnect', {});
      assert.equal(await dap.exited(), 0);
      assert.equal((await reading).code, 0);
    } finally {
      dap.kill();
    }
    assert.ok(await guestRuns());
    await sh('rmmod lkmt_debug');
  });

  // Last: the oops leaves the module stuck in the guest.
  it('an oops in inlined header code (fortify strlen of a NULL member) is placed at the module line that called it', async () => {
    const folder = path.join(FIXTURES, 'lkmt_inline');
    const source = path.join(folder, 'lkmt_inline.c');
    const result = await runLoop(folder, undefined, { guestName: GUEST });
    await result.target?.connection.close();
    assert.equal(result.exitCode, EXIT.kernelError, result.summary);
    const oops = result.problems.find((p) => p.crash)!;
    const callLine = readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes('strlen(READ_ONCE(dev->name))')) + 1;
    assert.deepEqual([oops.file, oops.line], [source, callLine], oops.message);
    // The header stays in the frame's inline chain and in the message.
    const frame = oops.frames!.find((f) => f.file === source && f.line === callLine)!;
    assert.match(frame.inlined![0].file, /include\/linux\/fortify-string\.h$/);
    assert.match(oops.message, /inlined here/);
  });
});
