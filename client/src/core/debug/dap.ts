// LKM Dev's debug adapter: the Debug Adapter Protocol (https://microsoft.github.io/debug-adapter-protocol/)
// over the GDB/MI session of session.ts. vscode-free: VS Code runs it inline (client/src/debug.ts),
// `lkm debug-adapter` serves it on stdio (what tests drive).
// launch: build, load the module under gdb (breakpoints in init hit); attach: a module already loaded.
// disconnect detaches gdb: the guest keeps running.
import path from 'node:path';
import { relativePath } from '../targets/problems';
import type { MiRecord, MiTuple } from './mi';
import { loadOutcome, ModuleDebugger, prepareModule, startLoadInGuest, startTriggerInGuest, type PreparedModule } from './session';

export interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  arguments?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  [key: string]: unknown;
}

export interface LkmLaunchArguments {
  /** The module folder. */
  folder: string;
  module?: string;
  /** launch: a shell command run in the guest after the load (to reach a callback). */
  trigger?: string;
  /** The built-in guest's instance name (default: $LKM_VM_NAME, else the default guest). */
  guestName?: string;
}

const THREAD_ID = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LkmDebugAdapter {
  private seq = 1;
  private debug?: ModuleDebugger;
  private prepared?: PreparedModule;
  private launchArgs?: LkmLaunchArguments;
  private mode: 'launch' | 'attach' = 'launch';
  /** Breakpoint numbers per source path (setBreakpoints replaces a file's set). */
  private readonly breakpoints = new Map<string, string[]>();

  constructor(private readonly send: (message: DapMessage) => void) {}

  async handle(request: DapMessage): Promise<void> {
    try {
      const body = await this.dispatch(request);
      this.respond(request, true, body);
    } catch (error) {
      this.respond(request, false, undefined, error instanceof Error ? error.message : String(error));
    }
    if (request.command === 'disconnect') this.event('terminated');
  }

  private async dispatch(request: DapMessage): Promise<unknown> {
    const args = request.arguments ?? {};
    switch (request.command) {
      case 'initialize':
        return { supportsConfigurationDoneRequest: true, supportsEvaluateForHovers: true, supportsTerminateRequest: false };
      case 'launch':
      case 'attach':
        return this.start(request.command, args as LkmLaunchArguments);
      case 'setBreakpoints':
        return this.setBreakpoints(args.source?.path as string, (args.breakpoints ?? []) as Array<{ line: number }>);
      case 'setFunctionBreakpoints':
        return this.setFunctionBreakpoints((args.breakpoints ?? []) as Array<{ name: string }>);
      case 'setExceptionBreakpoints':
        return { breakpoints: [] };
      case 'configurationDone':
        return this.configurationDone();
      case 'threads':
        return { threads: [{ id: THREAD_ID, name: 'guest CPU 0' }] };
      case 'stackTrace':
        return this.stackTrace();
      case 'scopes':
        return { scopes: [{ name: 'Locals', variablesReference: Number(args.frameId) + 1, expensive: false }] };
      case 'variables':
        return this.variables(Number(args.variablesReference) - 1);
      case 'evaluate':
        return this.evaluate(String(args.expression), args.frameId as number | undefined);
      case 'continue':
        await this.gdb().command('-exec-continue');
        return { allThreadsContinued: true };
      case 'next':
        return this.gdb().command('-exec-next').then(() => undefined);
      case 'stepIn':
        return this.gdb().command('-exec-step').then(() => undefined);
      case 'stepOut':
        return this.gdb().command('-exec-finish').then(() => undefined);
      case 'pause':
        return this.gdb().command('-exec-interrupt').then(() => undefined);
      case 'disconnect':
        return this.disconnect();
      default:
        throw new Error(`unsupported request ${request.command}`);
    }
  }

  private gdb() {
    if (!this.debug) throw new Error('no debug session (launch or attach first)');
    return this.debug.gdb;
  }

  private async start(mode: 'launch' | 'attach', args: LkmLaunchArguments): Promise<void> {
    if (!args.folder) throw new Error('launch.json: "folder" (the module folder) is required');
    this.mode = mode;
    this.launchArgs = args;
    const options = { guestName: args.guestName ?? (process.env.LKM_VM_NAME || undefined), moduleName: args.module, progress: (s: string) => this.output(`lkm: ${s}\n`), output: (t: string) => this.output(t) };
    const prepared = await prepareModule(args.folder, options);
    this.prepared = prepared;
    // Both read over ssh while the guest runs: attaching gdb halts it.
    const doInitModule = mode === 'launch' ? await ModuleDebugger.prepareLoad(prepared, options) : undefined;
    const sections = mode === 'attach' ? await ModuleDebugger.readLoadedSections(prepared, options) : undefined;
    this.debug = await ModuleDebugger.attach(prepared, options);
    this.debug.gdb.on('exec', (record) => this.onExec(record));
    this.debug.gdb.on('console', (text) => this.output(text));
    if (doInitModule) await this.debug.armLoader(doInitModule);
    if (sections) await this.debug.addLoadedSymbols(sections);
    this.event('initialized');
  }

  private onExec(record: MiRecord): void {
    // The loader's own stop is silent (no reason) and continues by itself.
    if (record.className !== 'stopped' || record.results.reason === undefined) return;
    const reason = String(record.results.reason);
    const dapReason = reason === 'breakpoint-hit' ? 'breakpoint' : reason === 'end-stepping-range' || reason === 'function-finished' ? 'step' : reason === 'signal-received' ? 'pause' : reason;
    this.event('stopped', { reason: dapReason, threadId: THREAD_ID, allThreadsStopped: true });
  }

  /** Locations are given relative to the module folder: gdb matches them against the DWARF names by suffix. */
  private async setBreakpoints(sourcePath: string, lines: Array<{ line: number }>) {
    const debug = this.requireDebug();
    const old = this.breakpoints.get(sourcePath) ?? [];
    if (old.length) await debug.gdb.command(`-break-delete ${old.join(' ')}`);
    const rel = relativePath(sourcePath, this.prepared!.dir);
    const location = rel.startsWith('..') || path.isAbsolute(rel) ? path.basename(sourcePath) : rel;
    const result = [];
    const numbers: string[] = [];
    for (const { line } of lines) {
      const bkpt = await debug.insertBreakpoint(`${location}:${line}`);
      numbers.push(String(bkpt.number));
      result.push(this.dapBreakpoint(bkpt, line));
    }
    this.breakpoints.set(sourcePath, numbers);
    return { breakpoints: result };
  }

  private async setFunctionBreakpoints(functions: Array<{ name: string }>) {
    const debug = this.requireDebug();
    const old = this.breakpoints.get('') ?? [];
    if (old.length) await debug.gdb.command(`-break-delete ${old.join(' ')}`);
    const result = [];
    const numbers: string[] = [];
    for (const { name } of functions) {
      const bkpt = await debug.insertBreakpoint(name);
      numbers.push(String(bkpt.number));
      result.push(this.dapBreakpoint(bkpt));
    }
    this.breakpoints.set('', numbers);
    return { breakpoints: result };
  }

  /** A pending breakpoint (module not loaded yet) is shown as set: it resolves when the module loads. */
  private dapBreakpoint(bkpt: MiTuple, line?: number) {
    const pending = bkpt.pending !== undefined;
    return {
      id: Number(bkpt.number),
      verified: true,
      line: bkpt.line !== undefined ? Number(bkpt.line) : line,
      message: pending ? 'set before the module is loaded: resolved at its load' : undefined,
    };
  }

  private async configurationDone(): Promise<void> {
    const debug = this.requireDebug();
    await debug.resume();
    if (this.mode === 'attach') return;
    const prepared = this.prepared!;
    await startLoadInGuest(prepared, []);
    this.output(`lkm: loading ${prepared.module.name} under the debugger\n`);
    const trigger = this.launchArgs?.trigger;
    if (trigger) void this.triggerAfterLoad(trigger);
  }

  /** Runs the trigger once insmod has finished (polling while the guest runs; a stop just delays it). */
  private async triggerAfterLoad(trigger: string): Promise<void> {
    const prepared = this.prepared!;
    for (let i = 0; i < 2000; i++) {
      const outcome = await loadOutcome(prepared).catch(() => undefined);
      if (outcome) {
        if (outcome.code !== 0) return this.output(`lkm: insmod failed (${outcome.code}): ${outcome.output}\n`);
        await startTriggerInGuest(prepared, trigger).catch((e: Error) => this.output(`lkm: trigger failed: ${e.message}\n`));
        return;
      }
      await sleep(300);
    }
  }

  private async stackTrace() {
    const frames = await this.requireDebug().backtrace();
    return {
      stackFrames: frames.map((f) => ({
        id: f.level,
        name: f.func,
        line: f.line ?? 0,
        column: 1,
        source: f.file ? { name: path.basename(f.file), path: f.file } : undefined,
        instructionPointerReference: f.address,
        presentationHint: f.file ? 'normal' : 'subtle',
      })),
      totalFrames: frames.length,
    };
  }

  private async variables(frame: number) {
    const result = await this.gdb().command(`-stack-list-variables --thread ${THREAD_ID} --frame ${frame} --simple-values`);
    const list = (result.results.variables ?? []) as MiTuple[];
    return {
      variables: list.map((v) => ({ name: String(v.name), value: v.value !== undefined ? String(v.value) : `{${String(v.type ?? '')}}`, type: v.type !== undefined ? String(v.type) : undefined, variablesReference: 0 })),
    };
  }

  private async evaluate(expression: string, frameId: number | undefined) {
    const frame = frameId !== undefined ? ` --thread ${THREAD_ID} --frame ${frameId}` : '';
    const result = await this.gdb().command(`-data-evaluate-expression${frame} "${expression.replace(/[\\"]/g, '\\$&')}"`);
    return { result: String(result.results.value ?? ''), variablesReference: 0 };
  }

  private async disconnect(): Promise<void> {
    await this.debug?.detach();
    this.debug = undefined;
    // The SSH master is shared with other users of the guest (Build and Load, a terminal's lkm): an
    // `ssh -O exit` here would cut their sessions; it ends by itself (ControlPersist) when idle.
  }

  private requireDebug(): ModuleDebugger {
    if (!this.debug) throw new Error('no debug session (launch or attach first)');
    return this.debug;
  }

  private respond(request: DapMessage, success: boolean, body?: unknown, message?: string): void {
    this.send({ seq: this.seq++, type: 'response', request_seq: request.seq, command: request.command, success, message, body });
  }

  private event(event: string, body?: unknown): void {
    this.send({ seq: this.seq++, type: 'event', event, body });
  }

  private output(text: string): void {
    this.event('output', { category: 'console', output: text });
  }
}

/** DAP's wire format: `Content-Length: N\r\n\r\n` and N bytes of JSON. */
export async function serveDebugAdapter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const adapter = new LkmDebugAdapter((message) => {
    const json = Buffer.from(JSON.stringify(message), 'utf8');
    output.write(`Content-Length: ${json.length}\r\n\r\n`);
    output.write(json);
  });
  let buffer = Buffer.alloc(0);
  let queue = Promise.resolve();
  await new Promise<void>((resolve) => {
    input.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headerEnd = buffer.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const length = Number(/Content-Length: *(\d+)/i.exec(buffer.subarray(0, headerEnd).toString('ascii'))?.[1]);
        if (!Number.isFinite(length) || buffer.length < headerEnd + 4 + length) return;
        const message = JSON.parse(buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as DapMessage;
        buffer = buffer.subarray(headerEnd + 4 + length);
        // Requests are answered in order; a disconnect ends the adapter once answered.
        queue = queue.then(() => adapter.handle(message)).then(() => {
          if (message.command === 'disconnect') resolve();
        });
      }
    });
    input.on('end', () => resolve());
  });
  await queue;
}
