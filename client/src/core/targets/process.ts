// Runs a local program with a timeout and an optional AbortSignal, collecting its output. Every
// external step of the loop (ssh, rsync, tar, make, addr2line, qemu helpers) goes through here so
// none of them can hang without a message.
import { spawn, type SpawnOptions } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Written to the program's stdin, which is then closed. */
  input?: string | Buffer;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  /** The same output as bytes (for binary streams: tar archives, .ko files). */
  stdoutBytes: Buffer;
  stderr: string;
  /** True when the program was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what}: cancelled`);
    this.name = 'CancelledError';
  }
}

/** Runs `command args`; resolves with its exit code (never rejects on a non-zero exit). */
export function runProcess(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new CancelledError(command));
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(command, args, spawnOptions);
    const stdoutChunks: Buffer[] = [];
    const stdoutText = new StringDecoder('utf8');
    let stderr = '';
    let timedOut = false;
    let cancelled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutChunks.push(chunk);
      if (options.onStdout) options.onStdout(stdoutText.write(chunk));
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(chunk);
    });
    child.stdin!.on('error', () => undefined); // the program may exit before reading its input
    child.stdin!.end(options.input ?? '');
    const finish = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      finish();
      reject(new Error(`${command}: ${error.message}`));
    });
    // After a timeout or cancel, do not wait for the output pipes to close: an ssh multiplexing
    // client hands its pipes to the master connection, which may hold them long after the kill.
    child.on('exit', () => {
      if (!timedOut && !cancelled) return;
      child.stdout!.destroy();
      child.stderr!.destroy();
    });
    child.on('close', (code, signal) => {
      finish();
      if (cancelled) return reject(new CancelledError(command));
      const stdoutBytes = Buffer.concat(stdoutChunks);
      resolve({ code: code ?? (signal ? 128 + 9 : 1), stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr, timedOut });
    });
  });
}

/** Like runProcess but rejects with the program's stderr when it fails or times out. */
export async function runChecked(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const result = await runProcess(command, args, options);
  if (result.timedOut) throw new Error(`${command} timed out after ${Math.round(options.timeoutMs / 1000)} s`);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed (exit ${result.code}): ${detail}`);
  }
  return result;
}
