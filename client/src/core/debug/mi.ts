// Drives Debian's gdb over its machine interface (GDB/MI, `--interpreter=mi3`): one command at a
// time with a token, its result record as a parsed object; async records (`*stopped`, `*running`)
// and console output as events. Every command has a timeout, so a gdb that stops answering is an
// error with a message, never a hang.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';

export type MiValue = string | MiValue[] | { [key: string]: MiValue };
export type MiTuple = { [key: string]: MiValue };

export interface MiRecord {
  token?: number;
  /** `^` result, `*` exec async, `=` notify async, `~` console, `@` target, `&` log. */
  kind: '^' | '*' | '=' | '~' | '@' | '&';
  /** done, running, error, stopped, breakpoint-modified... (empty for stream records). */
  className: string;
  results: MiTuple;
  /** The text of a stream record. */
  text?: string;
}

export class MiError extends Error {}

/** Parses one line of MI output; undefined for the `(gdb)` prompt and non-MI text. */
export function parseMiLine(line: string): MiRecord | undefined {
  const m = /^(\d*)([\^*=~@&])(.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const kind = m[2] as MiRecord['kind'];
  const token = m[1] ? Number(m[1]) : undefined;
  if ('~@&'.includes(kind)) return { token, kind, className: '', results: {}, text: parseCString(m[3], 0).value };
  const comma = m[3].indexOf(',');
  const className = comma < 0 ? m[3] : m[3].slice(0, comma);
  const results = comma < 0 ? {} : parseResults(`${m[3].slice(comma + 1)}`, 0, '').value;
  return { token, kind, className, results };
}

function parseCString(text: string, at: number): { value: string; end: number } {
  if (text[at] !== '"') throw new MiError(`MI: expected a string at ${at}: ${text}`);
  let value = '';
  let i = at + 1;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
  for (; i < text.length && text[i] !== '"'; i++) {
    if (text[i] !== '\\') {
      value += text[i];
      continue;
    }
    const next = text[++i];
    const octal = /^[0-7]{3}/.exec(text.slice(i));
    if (octal) {
      value += String.fromCharCode(parseInt(octal[0], 8));
      i += 2;
    } else value += escapes[next] ?? next;
  }
  return { value, end: i + 1 };
}

/** `name=value,...` up to `close` (a closing bracket, or '' for the end of the text). */
function parseResults(text: string, at: number, close: string): { value: MiTuple; end: number } {
  const value: MiTuple = {};
  let i = at;
  while (i < text.length && text[i] !== close) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq);
    const parsed = parseValue(text, eq + 1);
    // Repeated names (frame=...,frame=... in some outputs) become a list.
    if (name in value) value[name] = ([] as MiValue[]).concat(value[name] as MiValue, parsed.value);
    else value[name] = parsed.value;
    i = parsed.end;
    if (text[i] === ',') i++;
  }
  return { value, end: i };
}

function parseValue(text: string, at: number): { value: MiValue; end: number } {
  const c = text[at];
  if (c === '"') return parseCString(text, at);
  if (c === '{' && text[at + 1] === '"') {
    // gdb writes some lists of values in braces (a breakpoint's script={"silent","continue"}).
    const inner = parseValue(`[${text.slice(at + 1)}`, 0);
    return { value: inner.value, end: at + inner.end };
  }
  if (c === '{') {
    const inner = parseResults(text, at + 1, '}');
    return { value: inner.value, end: inner.end + 1 };
  }
  if (c === '[') {
    const list: MiValue[] = [];
    let i = at + 1;
    while (text[i] !== ']' && text[i] !== '}' && i < text.length) {
      // A list holds values or name=value results (kept as one-key tuples).
      const named = /^[\w-]+=/.exec(text.slice(i));
      if (named) {
        const parsed = parseValue(text, i + named[0].length);
        list.push({ [named[0].slice(0, -1)]: parsed.value });
        i = parsed.end;
      } else {
        const parsed = parseValue(text, i);
        list.push(parsed.value);
        i = parsed.end;
      }
      if (text[i] === ',') i++;
    }
    return { value: list, end: i + 1 };
  }
  throw new MiError(`MI: unexpected ${JSON.stringify(c)} at ${at}: ${text}`);
}

/** Quotes a string as a C string for a gdb or MI command argument. */
export function cQuote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

export interface GdbMiEvents {
  exec: [MiRecord];
  notify: [MiRecord];
  console: [string];
  exit: [number | null];
}

export class GdbMi extends EventEmitter<GdbMiEvents> {
  private readonly child: ChildProcessWithoutNullStreams;
  private nextToken = 1;
  private readonly pending = new Map<number, { resolve: (r: MiRecord) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; command: string }>();
  private exited = false;
  private stderr = '';

  constructor(gdbPath = 'gdb', args: string[] = []) {
    super();
    this.child = spawn(gdbPath, ['--interpreter=mi3', '-nx', '-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        this.onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000)));
    this.child.on('error', (error) => this.failAll(new MiError(`cannot run gdb (${error.message}): install it with bash scripts/install-guest-deps.sh`)));
    // gdb holds the guest halted while attached: it must not outlive this process.
    const killChild = () => this.child.kill('SIGKILL');
    process.once('exit', killChild);
    this.child.on('exit', (code) => {
      process.removeListener('exit', killChild);
      this.exited = true;
      this.failAll(new MiError(`gdb exited (${code})${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`));
      this.emit('exit', code);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one MI command; resolves with its `^done`/`^running`/`^connected` record, rejects on `^error`. */
  command(command: string, timeoutMs = 30_000): Promise<MiRecord> {
    if (this.exited) return Promise.reject(new MiError(`gdb is not running (${command})`));
    const token = this.nextToken++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new MiError(`gdb did not answer ${command} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer, command });
      if (process.env.LKM_DEBUG_MI) process.stderr.write(`[mi] > ${token}${command}\n`);
      this.child.stdin.write(`${token}${command}\n`);
    });
  }

  /** A gdb CLI command through MI; resolves with the console text it printed. */
  async console(command: string, timeoutMs?: number): Promise<string> {
    let text = '';
    const collect = (t: string) => (text += t);
    this.on('console', collect);
    try {
      await this.command(`-interpreter-exec console ${cQuote(command)}`, timeoutMs);
    } finally {
      this.off('console', collect);
    }
    return text;
  }

  /** Resolves with the next `*stopped` record that `accept` takes, or rejects after timeoutMs. */
  waitForStop(timeoutMs: number, accept: (record: MiRecord) => boolean = () => true): Promise<MiRecord> {
    return new Promise((resolve, reject) => {
      const onExec = (record: MiRecord) => {
        if (record.className !== 'stopped' || !accept(record)) return;
        cleanup();
        resolve(record);
      };
      const onExit = () => {
        cleanup();
        reject(new MiError('gdb exited while waiting for a stop'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new MiError(`no stop within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('exec', onExec);
        this.off('exit', onExit);
      };
      this.on('exec', onExec);
      this.on('exit', onExit);
    });
  }

  /** Ends gdb: `-gdb-exit`, then SIGKILL to its own PID if it lingers. */
  async exit(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.write('-gdb-exit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    if (process.env.LKM_DEBUG_MI) process.stderr.write(`[mi] ${line}\n`);
    let record: MiRecord | undefined;
    try {
      record = parseMiLine(line);
    } catch (error) {
      this.emit('console', `[unparsed gdb output] ${line}\n`);
      return;
    }
    if (!record) return;
    if (record.kind === '^' && record.token !== undefined) {
      const waiter = this.pending.get(record.token);
      if (!waiter) return;
      this.pending.delete(record.token);
      clearTimeout(waiter.timer);
      if (record.className === 'error') waiter.reject(new MiError(`${waiter.command}: ${String(record.results.msg ?? 'error')}`));
      else waiter.resolve(record);
    } else if (record.kind === '*') this.emit('exec', record);
    else if (record.kind === '=') this.emit('notify', record);
    else if (record.kind === '~' || record.kind === '@') this.emit('console', record.text ?? '');
  }

  private failAll(error: Error): void {
    for (const [token, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
      this.pending.delete(token);
    }
  }
}
