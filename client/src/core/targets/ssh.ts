// SSH transport over the system OpenSSH client, so a user's ~/.ssh/config (aliases, ProxyJump,
// IdentityFile, agent, certificates) applies unchanged. One multiplexed master connection per
// target (ControlMaster/ControlPersist): each remote command then costs a round trip, not a
// handshake. Never interactive (BatchMode) and never relaxes host key checking.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { withLock } from './lock';
import { ensurePrivateDir } from './private-dir';
import { runProcess, type RunOptions, type RunResult } from './process';
import { shellQuote } from './quote';

export interface SshEndpoint {
  /** The target's name, used in every message. */
  label: string;
  /** An ssh_config alias or user@host. */
  host: string;
  port?: number;
  /** Extra ssh arguments (the built-in guest points at its own key and pinned known_hosts). */
  extraArgs?: string[];
  /** True for the built-in guest, whose host key is pinned by LKM Dev itself at boot. */
  pinnedHostKey?: boolean;
}

export type SshErrorKind = 'host-key' | 'unreachable' | 'timeout' | 'auth' | 'transport';

export class SshError extends Error {
  constructor(readonly kind: SshErrorKind, message: string) {
    super(message);
    this.name = 'SshError';
  }
}

export interface SshOptions {
  /** Directory for the master connections' sockets (short: unix socket paths are limited to 108 bytes). */
  controlDir: string;
  connectTimeoutSec?: number;
  /** Seconds an idle master connection stays open after the last command. */
  persistSec?: number;
}

export class SshConnection {
  readonly connectTimeoutSec: number;
  private readonly controlPath: string;

  constructor(readonly endpoint: SshEndpoint, private readonly options: SshOptions) {
    this.connectTimeoutSec = options.connectTimeoutSec ?? 8;
    ensurePrivateDir(options.controlDir, 'the SSH control socket folder');
    // %C: a hash of local host, remote host, port and user — one socket per destination.
    this.controlPath = path.join(options.controlDir, '%C');
  }

  /** Arguments shared by every ssh invocation (also used for rsync's -e). */
  commonArgs(): string[] {
    const args = [
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${this.connectTimeoutSec}`,
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=3',
      '-o', `ControlPath=${this.controlPath}`,
      ...(this.endpoint.extraArgs ?? []),
    ];
    if (this.endpoint.port) args.push('-p', String(this.endpoint.port));
    return args;
  }

  /** The ssh command line as one string, for `rsync -e`. */
  shellForRsync(): string {
    return ['ssh', ...this.commonArgs(), '-o', 'ControlMaster=no'].map(shellQuote).join(' ');
  }

  /** Opens (or reuses) the master connection; every later command multiplexes over it. */
  async open(signal?: AbortSignal): Promise<void> {
    // Runs opening at once would each start a master on one socket (the losers linger as plain
    // connections): one opens it, the others wait and reuse it.
    const key = createHash('sha256').update(JSON.stringify([this.endpoint.host, this.endpoint.port, this.endpoint.extraArgs])).digest('hex').slice(0, 16);
    await withLock(path.join(this.options.controlDir, `open-${key}.lock`), `the SSH connection to ${this.endpoint.label}`, { timeoutMs: (this.connectTimeoutSec + 20) * 1000, signal }, () => this.openMaster(signal));
  }

  private async openMaster(signal?: AbortSignal): Promise<void> {
    const check = await runProcess('ssh', [...this.commonArgs(), '-O', 'check', '--', this.endpoint.host], { timeoutMs: 5_000, signal });
    if (check.code === 0) return;
    // -f backgrounds the master after authentication; its stderr goes to a file, not a pipe,
    // because the backgrounded master keeps the descriptor open for as long as it lives.
    const errDir = mkdtempSync(path.join(tmpdir(), 'lkm-ssh-'));
    const errFile = path.join(errDir, 'stderr');
    const errFd = openSync(errFile, 'w');
    try {
      const child = spawn('ssh', [...this.commonArgs(), '-o', 'ControlMaster=yes', '-o', `ControlPersist=${this.options.persistSec ?? 120}`, '-f', '-N', '--', this.endpoint.host], {
        stdio: ['ignore', 'ignore', errFd],
      });
      const timeoutMs = (this.connectTimeoutSec + 10) * 1000;
      const code = await new Promise<number | 'timeout'>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('timeout');
        }, timeoutMs);
        const onAbort = () => child.kill('SIGKILL');
        signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', (e) => reject(new SshError('transport', `${this.endpoint.label}: cannot run ssh: ${e.message}`)));
        child.on('exit', (c) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(c ?? 255);
        });
      });
      if (signal?.aborted) throw new Error(`${this.endpoint.label}: connecting cancelled`);
      if (code === 'timeout') throw new SshError('timeout', `${this.endpoint.label}: no SSH session with ${this.describeHost()} within ${timeoutMs / 1000} s`);
      if (code !== 0) throw this.classify(readFileSync(errFile, 'utf8')) ?? new SshError('transport', `${this.endpoint.label}: ssh failed: ${readFileSync(errFile, 'utf8').trim()}`);
    } finally {
      closeSync(errFd);
      rmSync(errDir, { recursive: true, force: true });
    }
  }

  /**
   * Runs one shell command on the target. Resolves with the command's own exit status; rejects
   * with an SshError when ssh itself failed (status 255 with an ssh diagnostic).
   */
  async exec(command: string, options: Omit<RunOptions, 'cwd' | 'env'>): Promise<RunResult> {
    const result = await runProcess('ssh', [...this.commonArgs(), '-o', 'ControlMaster=no', '--', this.endpoint.host, command], options);
    if (result.timedOut) {
      throw new SshError('timeout', `${this.endpoint.label}: no answer within ${Math.round(options.timeoutMs / 1000)} s${result.stderr.trim() ? ` (${lastLine(result.stderr)})` : ''}`);
    }
    if (result.code === 255) {
      const error = this.classify(result.stderr);
      if (error) throw error;
    }
    return result;
  }

  /** Closes the master connection (no-op when none is open). */
  async close(): Promise<void> {
    await runProcess('ssh', [...this.commonArgs(), '-O', 'exit', '--', this.endpoint.host], { timeoutMs: 5_000 }).catch(() => undefined);
  }

  private describeHost(): string {
    return this.endpoint.port ? `${this.endpoint.host} port ${this.endpoint.port}` : this.endpoint.host;
  }

  /** Turns ssh's own diagnostics into an error that says what to do; undefined if not ssh's. */
  classify(stderr: string): SshError | undefined {
    const label = this.endpoint.label;
    const host = this.describeHost();
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (?:\S+ )?host key is known|host key for .* has changed/i.test(stderr)) {
      if (this.endpoint.pinnedHostKey) {
        return new SshError('host-key', `${label}: the host key does not match the key pinned when the test VM started; restart the test VM (lkm vm stop && lkm vm start)`);
      }
      const portArg = this.endpoint.port ? `-p ${this.endpoint.port} ` : '';
      const knownHostsName = this.endpoint.port ? `'[${hostName(this.endpoint.host)}]:${this.endpoint.port}'` : hostName(this.endpoint.host);
      return new SshError(
        'host-key',
        `${label}: the host key of ${host} is unknown or has changed, and LKM Dev never accepts host keys by itself. ` +
          `Check the key's fingerprint and accept it by connecting once from a terminal: ssh ${portArg}${this.endpoint.host} true` +
          ` (if the key changed on purpose, remove the old one first: ssh-keygen -R ${knownHostsName})`,
      );
    }
    if (/Connection refused/i.test(stderr)) return new SshError('unreachable', `${label}: ${host} refused the connection (is its SSH server running?)`);
    if (/Could not resolve hostname/i.test(stderr)) return new SshError('unreachable', `${label}: cannot resolve the host name ${this.endpoint.host}`);
    if (/timed out|Connection timeout|Operation timed out/i.test(stderr)) {
      return new SshError('timeout', `${label}: ${host} did not answer within ${this.connectTimeoutSec} s (${lastLine(stderr)})`);
    }
    if (/No route to host|Network is unreachable|Connection closed by|Connection reset|kex_exchange_identification|banner exchange/i.test(stderr)) {
      return new SshError('unreachable', `${label}: cannot reach ${host}: ${lastLine(stderr)}`);
    }
    if (/Permission denied/i.test(stderr)) {
      return new SshError('auth', `${label}: authentication to ${host} failed (no password prompts are used: set up a key or ssh-agent for it): ${lastLine(stderr)}`);
    }
    return undefined;
  }
}

function hostName(host: string): string {
  return host.includes('@') ? host.slice(host.lastIndexOf('@') + 1) : host;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}
