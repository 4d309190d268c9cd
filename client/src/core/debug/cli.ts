// `lkm debug DIR --break FUNC [--trigger CMD] [--batch]`: the module loaded under gdb on the test
// guest. Interactive: Debian's gdb in this terminal, stopped at FUNC. --batch: the backtrace at the
// first stop (module frames as file.c:LINE), then continue, unload and exit 0.
// `lkm debug-adapter`: the Debug Adapter Protocol over stdio (what the VS Code `lkm` debug type speaks).
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT } from '../targets/loop';
import { relativePath } from '../targets/problems';
import { loadModules } from '../targets/session';
import { serveDebugAdapter } from './dap';
import { type MiRecord } from './mi';
import { shellQuote } from '../targets/quote';
import { kernelDebugImage, loadOutcome, ModuleDebugger, prepareModule, setupCommands, startLoadInGuest, startTriggerInGuest, triggerOutcome, writeLoaderScript, type PreparedModule, type StackFrame } from './session';

const guestName = () => process.env.LKM_VM_NAME || undefined;
const print = (text: string) => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DebugCliOptions {
  break: string[];
  trigger?: string;
  batch?: boolean;
  module?: string;
  timeout: string;
}

export function registerDebugCommands(program: Command): void {
  program
    .command('debug <dir>')
    .description(
      'load the module on the test VM under gdb (QEMU gdbstub on 127.0.0.1) and stop at --break; the VM keeps running afterwards.\n' +
        'With --batch: print the backtrace at the first stop, continue, unload, exit 0.',
    )
    .option('--break <location>', 'breakpoint: a function (its init too) or file.c:LINE (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--trigger <command>', 'shell command run in the guest after the load, to reach a callback (e.g. "cat /dev/mydev")')
    .option('--batch', 'no interactive gdb: print the backtrace at the first stop and finish')
    .option('--module <name>', 'the module to debug when the folder builds several')
    .option('--timeout <seconds>', 'batch: how long to wait for the breakpoint', '120')
    .action(async (dir: string, opts: DebugCliOptions) => {
      if (!existsSync(dir)) fail(`${dir}: no such folder`, EXIT.usage);
      if (opts.break.length === 0) fail('give at least one --break FUNC (or file.c:LINE)', EXIT.usage);
      const prepared = await prepareModule(dir, { guestName: guestName(), moduleName: opts.module, output: (t) => process.stderr.write(t), progress: (s) => process.stderr.write(`lkm: ${s}\n`) });
      try {
        process.exitCode = opts.batch ? await runBatch(prepared, opts) : await runInteractive(prepared, opts);
      } finally {
        await prepared.target.connection.close();
      }
    });

  program
    .command('debug-adapter')
    .description('serve the Debug Adapter Protocol on stdin/stdout (used by the VS Code debug type "lkm")')
    .action(async () => {
      await serveDebugAdapter(process.stdin, process.stdout);
      // The session ended with the client's disconnect: stdin may stay open, the adapter does not.
      process.exit(0);
    });
}

function fail(message: string, code: number): never {
  process.stderr.write(`lkm: ${message}\n`);
  process.exit(code);
}

async function runBatch(prepared: PreparedModule, opts: DebugCliOptions): Promise<number> {
  const timeoutMs = Number(opts.timeout) * 1000;
  const doInitModule = await ModuleDebugger.prepareLoad(prepared, {});
  const debug = await ModuleDebugger.attach(prepared, {});
  // The loader script's own messages (a section table it cannot read) would otherwise be unseen.
  debug.gdb.on('console', (text) => text.startsWith('lkm:') && process.stderr.write(text));
  let triggered = false;
  try {
    await debug.armLoader(doInitModule);
    for (const location of opts.break) await debug.insertBreakpoint(location);
    await debug.resume();
    const stop = await stopDuringLoadOrTrigger(debug, prepared, opts.trigger, timeoutMs, () => (triggered = true));
    printStop(stop, await debug.backtrace());
    if (!kernelDebugImage(prepared.target.guest!.kernelVersion)) {
      print(`(kernel frames show addresses only: linux-image-${prepared.target.guest!.kernelVersion}-dbg is not installed)`);
    }
  } finally {
    // Only the first stop is wanted: the detach removes the breakpoints and lets the guest run on.
    await debug.detach();
  }
  await prepared.target.connection.open();
  const loaded = await waitOutcome(() => loadOutcome(prepared), timeoutMs);
  if (triggered) await waitOutcome(() => triggerOutcome(prepared), timeoutMs);
  if (loaded.code !== 0) {
    process.stderr.write(`lkm: insmod failed (${loaded.code}): ${loaded.output}\n`);
    return EXIT.loadFailed;
  }
  const unloaded = await loadModules(prepared.target, 'unload', [prepared.module], {});
  for (const line of unloaded.log) print(line);
  print(`lkm: ${prepared.module.name} unloaded; the test VM keeps running`);
  return unloaded.ok ? 0 : EXIT.loadFailed;
}

/** Starts the load; when it ends without a stop and a trigger is given, runs the trigger. */
async function stopDuringLoadOrTrigger(debug: ModuleDebugger, prepared: PreparedModule, trigger: string | undefined, timeoutMs: number, onTrigger: () => void): Promise<MiRecord> {
  let stopped = false;
  const stop = debug.waitForStop(timeoutMs).finally(() => (stopped = true));
  // Not awaited before the stop: an init breakpoint can halt the guest before ssh returns.
  const starting = startLoadInGuest(prepared, []);
  const loadedFirst = (async () => {
    await starting;
    for (;;) {
      await sleep(300);
      if (stopped) return;
      const outcome = await loadOutcome(prepared).catch(() => undefined);
      if (outcome?.code === 0) return;
      if (outcome) throw new Error(`insmod failed (${outcome.code}): ${outcome.output}`);
    }
  })();
  const first = await Promise.race([stop.then(() => 'stop' as const), loadedFirst.then(() => 'loaded' as const)]);
  if (first === 'stop' || stopped) return stop;
  if (!trigger) throw new Error('the module loaded without reaching a breakpoint: give --trigger CMD to reach a callback');
  onTrigger();
  void startTriggerInGuest(prepared, trigger).catch(() => undefined);
  return stop;
}

async function waitOutcome(read: () => Promise<{ code: number; output: string } | undefined>, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const outcome = await read().catch(() => undefined);
    if (outcome) return outcome;
    await sleep(300);
  }
  throw new Error(`the guest command did not finish within ${timeoutMs / 1000} s`);
}

function printStop(stop: MiRecord, frames: StackFrame[]): void {
  const where = frames[0];
  print(`Stopped (${String(stop.results.reason ?? 'signal')}) in ${where?.func ?? '??'}${where?.file ? ` at ${relativePath(where.file, process.cwd())}:${where.line}` : ''}`);
  print('Backtrace:');
  for (const f of frames) print(`#${f.level}  ${formatFrame(f)}`);
}

export function formatFrame(f: StackFrame): string {
  return f.file ? `${f.func} at ${relativePath(f.file, process.cwd())}:${f.line}` : `${f.address} in ${f.func}`;
}

/** Debian's gdb in this terminal; the module is loaded once gdb holds the guest with its breakpoints set. */
async function runInteractive(prepared: PreparedModule, opts: DebugCliOptions): Promise<number> {
  const doInitModule = await ModuleDebugger.prepareLoad(prepared, {});
  const loader = writeLoaderScript(prepared, doInitModule);
  const ready = path.join(prepared.target.guest!.runDir, 'lkm-debug-ready');
  rmSync(ready, { force: true });
  const script = path.join(prepared.target.guest!.runDir, 'lkm-debug-session.gdb');
  writeFileSync(
    script,
    [...setupCommands(prepared), `source ${loader}`, ...opts.break.map((b) => `break ${b}`), `shell touch ${shellQuote(ready)}`, 'continue', ''].join('\n'),
  );
  print(`lkm: gdb holds the test VM; ${prepared.module.name} is loaded once the breakpoints are set. Quit gdb to let the VM run on.`);
  const gdb = spawn('gdb', ['-q', '-nx', '-x', script], { stdio: 'inherit' });
  const waitReady = (async () => {
    while (!existsSync(ready)) {
      if (gdb.exitCode !== null) return;
      await sleep(100);
    }
    await startLoadInGuest(prepared, []);
    if (opts.trigger) {
      await waitOutcome(() => loadOutcome(prepared), 600_000);
      await startTriggerInGuest(prepared, opts.trigger);
    }
  })();
  const code = await new Promise<number>((resolve) => gdb.on('exit', (c) => resolve(c ?? 1)));
  await waitReady.catch((error: unknown) => process.stderr.write(`lkm: ${error instanceof Error ? error.message : error}\n`));
  print(`lkm: gdb ended; the test VM keeps running with ${prepared.module.name} loaded (lkm unload ${prepared.dir})`);
  return code;
}
