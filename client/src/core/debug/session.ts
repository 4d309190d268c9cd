// A debug session of one module on the built-in test guest: build it, start (or reuse) the guest with
// its gdbstub on 127.0.0.1, attach Debian's gdb over MI, and load the module under the debugger so
// breakpoints anywhere in it — init included — are set before its code runs. Shared by `lkm debug`
// and the VS Code debug adapter. The guest keeps running when the session ends (gdb detaches).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestKernelVersion, kernelBuildDir, prepareGuestImage } from '../guest/image';
import { TEST_VM_TARGET } from '../targets/config';
import { loadModules, buildLocally, openTarget, step, uploadModules, type BuiltModule, type StepContext, type Target } from '../targets/session';
import { shellCommand, shellQuote } from '../targets/quote';
import { ensureGdbStub, qmpHuman } from './gdbstub';
import { cQuote, GdbMi, type MiRecord, type MiTuple } from './mi';
import { addSymbolFileCommand, loaderScript, readSysfsSections, sectAttrLayout } from './symbols';

export interface DebugOptions extends StepContext {
  /** The built-in guest's instance name (tests use their own). */
  guestName?: string;
  /** Which module of the folder (default: the only one, else an error naming them). */
  moduleName?: string;
  gdbPath?: string;
}

export interface PreparedModule {
  dir: string;
  target: Target;
  module: BuiltModule;
  gdbPort: number;
  vmlinux: string;
  /** Guest path of the uploaded .ko. */
  remoteKo: string;
}

/** Builds the module, boots or reuses the guest with its gdbstub, and copies the .ko over. */
export async function prepareModule(dir: string, options: DebugOptions): Promise<PreparedModule> {
  const absDir = path.resolve(dir);
  const kdir = await step('find kernel headers', TEST_VM_TARGET, options, async () => kernelBuildDir(await guestKernelVersion()));
  const built = await step('build', TEST_VM_TARGET, options, () => buildLocally(kdir, absDir, options));
  if (!built.ok) {
    const errors = built.problems.filter((p) => p.severity === 'error').map((p) => `${p.file}:${p.line}: ${p.message}`);
    throw new Error(`build failed:\n${errors.join('\n') || built.output.trim().split('\n').slice(-5).join('\n')}`);
  }
  const module = pickModule(built.modules, options.moduleName);
  const target = await openTarget(undefined, absDir, { ...options, startGuest: true, detachGuest: true });
  await uploadModules(target, [module], options);
  const gdbPort = await step('gdbstub', target.name, options, () => ensureGdbStub(target.guest!));
  const vmlinux = (await prepareGuestImage()).vmlinux;
  return { dir: absDir, target, module, gdbPort, vmlinux, remoteKo: path.posix.join(target.remoteDir, module.relPath) };
}

function pickModule(modules: BuiltModule[], wanted: string | undefined): BuiltModule {
  const names = modules.map((m) => m.name).join(', ');
  if (wanted) {
    const found = modules.find((m) => m.name === wanted.replace(/-/g, '_'));
    if (!found) throw new Error(`this folder builds no module ${wanted} (it builds: ${names})`);
    return found;
  }
  if (modules.length !== 1) throw new Error(`this folder builds several modules (${names}): name one with --module`);
  return modules[0];
}

export interface StackFrame {
  level: number;
  func: string;
  address: string;
  /** Workspace path of the source, when the frame has line info. */
  file?: string;
  line?: number;
}

const LOAD_STATUS = '/tmp/lkm-debug-insmod';

/** gdb's settings and the attach to the guest's gdbstub (the MI session and interactive gdb share them). */
export function setupCommands(prepared: PreparedModule): string[] {
  const kernelSymbols = kernelDebugImage(prepared.target.guest!.kernelVersion);
  return [
    'set confirm off',
    'set pagination off',
    'set breakpoint pending on',
    'set architecture i386:x86-64',
    // MI answers (pause, detach) while the guest runs only in async mode.
    'set mi-async on',
    // Sources are built in a private mirror of the folder: show the workspace files instead.
    ...prepared.module.mappings.map((m) => `set substitute-path ${cQuote(m.from)} ${cQuote(m.to)}`),
    // With Debian's linux-image-VERSION-dbg installed, frames inside the kernel resolve too. The guest
    // boots vmlinux at its PVH entry, which skips the decompressor's KASLR: the link addresses hold.
    ...(kernelSymbols ? [`symbol-file ${cQuote(kernelSymbols)}`] : []),
    `target remote 127.0.0.1:${prepared.gdbPort}`,
  ];
}

/** The kernel's own debug info, from Debian's -dbg package, when installed. */
export function kernelDebugImage(kernelVersion: string): string | undefined {
  const file = `/usr/lib/debug/boot/vmlinux-${kernelVersion}`;
  return existsSync(file) ? file : undefined;
}

/** gdb attached to the guest, with the module's symbols (now or at its load). */
export class ModuleDebugger {
  private loaderBreakpoint?: string;

  /** Whether the guest runs (gdb can only detach from a stopped target). */
  private running = false;

  private constructor(readonly gdb: GdbMi, readonly prepared: PreparedModule) {
    gdb.on('exec', (record) => {
      if (record.className === 'running') this.running = true;
      if (record.className === 'stopped') this.running = false;
    });
  }

  static async attach(prepared: PreparedModule, options: DebugOptions): Promise<ModuleDebugger> {
    const gdb = new GdbMi(options.gdbPath);
    try {
      // Attaching halts the guest until the next continue.
      // Reading a -dbg vmlinux's symbols can take minutes; every other step answers at once.
      for (const command of setupCommands(prepared)) await gdb.console(command, command.startsWith('symbol-file') ? 600_000 : 30_000);
    } catch (error) {
      await gdb.exit();
      throw error;
    }
    return new ModuleDebugger(gdb, prepared);
  }

  /** Arms the stop at do_init_module that adds the module's symbols before its init runs. */
  async armLoader(doInitModule: string): Promise<void> {
    const script = writeLoaderScript(this.prepared, doInitModule);
    const before = await this.breakpointNumbers();
    await this.gdb.console(`source ${script}`);
    this.loaderBreakpoint = (await this.breakpointNumbers()).find((n) => !before.includes(n));
  }

  /**
   * Read while the guest still runs (it is halted while gdb holds it): do_init_module's address
   * for armLoader. Unloads an instance of the module left loaded, so the load is a fresh one.
   */
  static async prepareLoad(prepared: PreparedModule, options: DebugOptions): Promise<string> {
    const { target, module } = prepared;
    await loadModules(target, 'unload', [module], options);
    const kallsyms = await target.connection.exec('grep -w do_init_module /proc/kallsyms', { timeoutMs: 15_000, signal: options.signal });
    const address = /^([0-9a-f]{16}) [tT] do_init_module$/m.exec(kallsyms.stdout)?.[1];
    if (!address || /^0+$/.test(address)) throw new Error('the guest hides do_init_module in /proc/kallsyms (kptr_restrict?): cannot stop before init');
    return `0x${address}`;
  }

  /** A module already loaded: its symbols from /sys/module/NAME/sections (read before attaching). */
  async addLoadedSymbols(addresses: Map<string, string>): Promise<void> {
    await this.gdb.console(addSymbolFileCommand(this.prepared.module.koPath, addresses), 60_000);
  }

  static readLoadedSections(prepared: PreparedModule, options: DebugOptions): Promise<Map<string, string>> {
    return readSysfsSections(prepared.target.connection, prepared.module.name, options.signal);
  }

  /** Inserts a (pending until the module's symbols exist) breakpoint; returns its number. */
  async insertBreakpoint(location: string): Promise<MiTuple> {
    const result = await this.gdb.command(`-break-insert -f ${cQuote(location)}`);
    return result.results.bkpt as MiTuple;
  }

  async resume(): Promise<void> {
    await this.gdb.command('-exec-continue');
  }

  /** The next stop that is not the loader's own (silent, so reasonless) breakpoint. */
  waitForStop(timeoutMs: number): Promise<MiRecord> {
    return this.gdb.waitForStop(timeoutMs, (r) => r.results.reason !== undefined && r.results.bkptno !== this.loaderBreakpoint);
  }

  async backtrace(): Promise<StackFrame[]> {
    const result = await this.gdb.command('-stack-list-frames 0 63');
    const list = (result.results.stack ?? []) as Array<{ frame: MiTuple }>;
    return list.map(({ frame }) => ({
      level: Number(frame.level),
      func: String(frame.func ?? '??'),
      address: String(frame.addr ?? ''),
      file: frame.fullname !== undefined ? String(frame.fullname) : undefined,
      line: frame.line !== undefined ? Number(frame.line) : undefined,
    }));
  }

  /** Lets the guest run on without the debugger (breakpoints are removed by the detach). */
  async detach(): Promise<void> {
    if (this.running) {
      const stopped = this.gdb.waitForStop(10_000).catch(() => undefined);
      await this.gdb.command('-exec-interrupt').catch(() => undefined);
      await stopped;
    }
    await this.gdb.command('-target-detach', 15_000).catch(() => undefined);
    await this.gdb.exit();
    // QEMU keeps the guest paused when gdb goes away without a detach: the guest must run on.
    await qmpHuman(this.prepared.target.guest!.qmpSocket, 'cont').catch(() => undefined);
  }

  private async breakpointNumbers(): Promise<string[]> {
    const table = await this.gdb.command('-break-list');
    const body = ((table.results.BreakpointTable as MiTuple)?.body ?? []) as Array<{ bkpt: MiTuple }>;
    return body.map((b) => String(b.bkpt.number));
  }
}

/** The loader script (see symbols.ts) in the guest's run folder; returns its path. */
export function writeLoaderScript(prepared: PreparedModule, doInitModule: string): string {
  const { target, module, vmlinux } = prepared;
  const script = path.join(target.guest!.runDir, `lkm-loader-${module.name}.gdb`);
  writeFileSync(script, `${loaderScript(module.koPath, module.name, doInitModule, sectAttrLayout(vmlinux))}\n`);
  return script;
}

/** Starts insmod in the guest in the background: it blocks while gdb holds the guest at a breakpoint. */
export async function startLoadInGuest(prepared: PreparedModule, args: string[], signal?: AbortSignal): Promise<void> {
  await runInBackground(prepared.target, shellCommand(['insmod', prepared.remoteKo, ...args]), LOAD_STATUS, signal);
}

/** Starts a trigger command (a read of the module's device...) in the guest in the background. */
export async function startTriggerInGuest(prepared: PreparedModule, command: string, signal?: AbortSignal): Promise<void> {
  await runInBackground(prepared.target, command, '/tmp/lkm-debug-trigger', signal);
}

async function runInBackground(target: Target, command: string, statusBase: string, signal?: AbortSignal): Promise<void> {
  const out = shellQuote(`${statusBase}.out`);
  const rc = shellQuote(`${statusBase}.rc`);
  const script = `rm -f ${rc}; ( ${command} ; echo $? > ${rc}.tmp; mv ${rc}.tmp ${rc} ) </dev/null >${out} 2>&1 &`;
  const result = await target.connection.exec(script, { timeoutMs: 15_000, signal });
  if (result.code !== 0) throw new Error(`cannot start ${command} in the guest: ${result.stderr.trim()}`);
}

/** Exit status and output of the background insmod, once it has finished (undefined while it runs). */
export async function loadOutcome(prepared: PreparedModule, signal?: AbortSignal): Promise<{ code: number; output: string } | undefined> {
  return backgroundOutcome(prepared.target, LOAD_STATUS, signal);
}

export async function triggerOutcome(prepared: PreparedModule, signal?: AbortSignal): Promise<{ code: number; output: string } | undefined> {
  return backgroundOutcome(prepared.target, '/tmp/lkm-debug-trigger', signal);
}

async function backgroundOutcome(target: Target, statusBase: string, signal?: AbortSignal) {
  const result = await target.connection.exec(`cat ${shellQuote(`${statusBase}.rc`)} 2>/dev/null && cat ${shellQuote(`${statusBase}.out`)}`, { timeoutMs: 10_000, signal });
  if (result.code !== 0) return undefined;
  const [code, ...output] = result.stdout.split('\n');
  return { code: Number(code), output: output.join('\n').trim() };
}
