// Cross-process locks for what concurrent lkm runs (terminals, tasks, the editor) share: one build
// copy, one target's modules, one test VM's boot, one SSH master. A lock is a file holding its
// owner's pid, made with O_EXCL; a lock whose owner is gone is taken over. Waiting is bounded and
// says whom it waits for.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync, statSync } from 'node:fs';
import path from 'node:path';
import { CancelledError } from './process';

export class LockTimeoutError extends Error {
  constructor(what: string, holder: string, waitedMs: number) {
    super(`${what} is in use by another lkm run (${holder}); gave up after ${Math.round(waitedMs / 1000)} s`);
    this.name = 'LockTimeoutError';
  }
}

export interface LockOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told once when the lock is busy (progress text). */
  waiting?: (text: string) => void;
}

/** Runs `fn` holding the lock file `file` (`what` names the resource in messages). */
export async function withLock<T>(file: string, what: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  await acquire(file, what, options);
  try {
    return await fn();
  } finally {
    if (holderPid(file) === process.pid) rmSync(file, { force: true });
  }
}

/** True while a process with this pid exists (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function acquire(file: string, what: string, options: LockOptions): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const began = Date.now();
  let told = false;
  for (;;) {
    if (options.signal?.aborted) throw new CancelledError(`waiting for ${what}`);
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holderPid(file);
    // A holder that died, or a file left half-written by one (older than a second), is stale.
    if (pid ? !alive(pid) : ageMs(file) > 1_000) {
      rmSync(file, { force: true });
      continue;
    }
    const holder = pid ? `pid ${pid}` : 'starting';
    if (Date.now() - began > options.timeoutMs) throw new LockTimeoutError(what, holder, Date.now() - began);
    if (!told) options.waiting?.(`waiting for another lkm run (${holder}) using ${what}`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 150));
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
