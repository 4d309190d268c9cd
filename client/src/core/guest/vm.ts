// Starts, finds and stops the throwaway QEMU test guest.
// - TCG by default; KVM only when /dev/kvm really works (not the nested paravirtual kvm_pvm).
// - SSH forwarded to 127.0.0.1:<free port> with user networking restricted to the host (restrict=on).
// - A fresh client key and dropbear host key per boot; the host key is pinned in the guest's own
//   known_hosts file, so the guest needs no trust-on-first-use and user known_hosts stay untouched.
// - The serial console is kept in serial.log: the channel left when the guest panics or hangs.
// - A state file lets `lkm vm status|stop` find the guest; stop = QMP quit, then signals to its PID only.
// - Unless started detached (`lkm vm start`), a watchdog stops the guest when its owner process exits.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cacheRoot, concatenateFiles, packCpio, prepareGuestImage, READY_MARKER, sshControlDir, type GuestImage, type Log } from './image';
import { runChecked } from '../targets/process';
import { SshConnection, type SshEndpoint } from '../targets/ssh';

export const GUEST_HOST_KEY_ALIAS = 'lkm-test-guest';
export const DEFAULT_GUEST_NAME = 'default';

/** The guest used when none is named: $LKM_VM_NAME (a test run's own guest), else the default one. */
export function defaultGuestName(): string {
  return process.env.LKM_VM_NAME || DEFAULT_GUEST_NAME;
}

export type Accel = 'kvm' | 'tcg';

export interface GuestState {
  name: string;
  pid: number;
  port: number;
  accel: Accel;
  kernelVersion: string;
  kdir: string;
  runDir: string;
  keyFile: string;
  knownHostsFile: string;
  serialLog: string;
  qmpSocket: string;
  watchdogPid?: number;
  detached: boolean;
  startedAt: string;
  readyMs?: number;
}

export interface StartOptions {
  /** Several guests can run side by side under different names (tests use their own). */
  name?: string;
  /** Keep running after this process exits (until `lkm vm stop`). */
  detached?: boolean;
  accel?: Accel | 'auto';
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  log?: Log;
}

export function guestRunDir(name = defaultGuestName()): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid test VM name: ${JSON.stringify(name)}`);
  return path.join(cacheRoot(), 'vm', name);
}

function stateFile(name: string): string {
  return path.join(guestRunDir(name), 'state.json');
}

/** Why KVM can or cannot be used here; TCG otherwise. */
export function detectKvm(): { usable: boolean; reason: string } {
  if (existsSync('/sys/module/kvm_pvm')) return { usable: false, reason: '/dev/kvm is the nested paravirtual kvm_pvm, which cannot run a stock kernel' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, reason: '/dev/kvm is missing or not accessible' };
  }
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return { usable: false, reason: 'the CPU shows no vmx/svm flag' };
  return { usable: true, reason: 'hardware virtualization available' };
}

function chooseAccel(requested: Accel | 'auto' | undefined): Accel {
  const wanted = requested ?? (process.env.LKM_GUEST_ACCEL as Accel | 'auto' | undefined) ?? 'auto';
  if (wanted === 'kvm' || wanted === 'tcg') return wanted;
  if (wanted !== 'auto') throw new Error(`LKM_GUEST_ACCEL must be kvm, tcg or auto, not ${JSON.stringify(wanted)}`);
  return detectKvm().usable ? 'kvm' : 'tcg';
}

function isAlive(pid: number, runDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // The PID must still be our QEMU (PIDs get reused): its command line names our run dir.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir);
  } catch {
    return true; // no /proc: trust the signal probe
  }
}

/** The running guest of that name, or undefined (a stale state file is removed). */
export function readGuestState(name = defaultGuestName()): GuestState | undefined {
  const file = stateFile(name);
  if (!existsSync(file)) return undefined;
  let state: GuestState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as GuestState;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
  if (!isAlive(state.pid, state.runDir)) {
    rmSync(file, { force: true });
    return undefined;
  }
  return state;
}

export function guestEndpoint(state: GuestState): SshEndpoint {
  return {
    label: `test VM (${state.name})`,
    host: 'root@127.0.0.1',
    port: state.port,
    pinnedHostKey: true,
    extraArgs: [
      '-F', '/dev/null', // the user's ssh config has no say over the built-in guest
      '-o', `IdentityFile=${state.keyFile}`,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${state.knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', `HostKeyAlias=${GUEST_HOST_KEY_ALIAS}`,
      '-o', 'StrictHostKeyChecking=yes',
    ],
  };
}

export function guestConnection(state: GuestState, connectTimeoutSec = 5): SshConnection {
  return new SshConnection(guestEndpoint(state), { controlDir: sshControlDir(), connectTimeoutSec });
}

/** The last kernel report (oops/BUG/panic) on the serial console, for error messages. */
export function lastConsoleReport(state: Pick<GuestState, 'serialLog'>, maxLines = 40): string {
  if (!existsSync(state.serialLog)) return '';
  const lines = readFileSync(state.serialLog, 'utf8').split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/(BUG:|Oops|Kernel panic|general protection fault|WARNING:|rcu_sched detected stalls|soft lockup)/.test(lines[i])) {
      start = i;
      break;
    }
  }
  const from = start >= 0 ? start : Math.max(0, lines.length - 15);
  return lines.slice(from, from + maxLines).join('\n').trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fresh per-boot secrets: client key, dropbear host key, pinned known_hosts, and their overlay archive. */
async function writeBootSecrets(runDir: string, image: GuestImage): Promise<{ keyFile: string; knownHostsFile: string; initrd: string }> {
  const keyFile = path.join(runDir, 'id_ed25519');
  const knownHostsFile = path.join(runDir, 'known_hosts');
  const overlay = path.join(runDir, 'overlay');
  rmSync(overlay, { recursive: true, force: true });
  rmSync(keyFile, { force: true });
  rmSync(`${keyFile}.pub`, { force: true });
  mkdirSync(path.join(overlay, 'root', '.ssh'), { recursive: true });
  mkdirSync(path.join(overlay, 'etc', 'dropbear'), { recursive: true });
  await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lkm-dev-guest', '-f', keyFile], { timeoutMs: 10_000 });
  const hostKey = path.join(overlay, 'etc', 'dropbear', 'host_key');
  const generated = await runChecked('dropbearkey', ['-t', 'ed25519', '-f', hostKey], { timeoutMs: 10_000 });
  const publicHostKey = /^(ssh-ed25519 \S+)/m.exec(generated.stdout)?.[1];
  if (!publicHostKey) throw new Error(`dropbearkey printed no public key: ${generated.stdout}`);
  writeFileSync(knownHostsFile, `${GUEST_HOST_KEY_ALIAS} ${publicHostKey}\n`);
  writeFileSync(path.join(overlay, 'root', '.ssh', 'authorized_keys'), readFileSync(`${keyFile}.pub`), { mode: 0o600 });
  chmodSync(path.join(overlay, 'root'), 0o700);
  chmodSync(path.join(overlay, 'root', '.ssh'), 0o700);
  chmodSync(hostKey, 0o600);
  const overlayArchive = path.join(runDir, 'overlay.cpio');
  await packCpio(overlay, overlayArchive);
  rmSync(overlay, { recursive: true, force: true });
  const initrd = path.join(runDir, 'initrd.cpio');
  concatenateFiles([image.baseInitramfs, overlayArchive], initrd);
  return { keyFile, knownHostsFile, initrd };
}

function qemuArgs(image: GuestImage, accel: Accel, port: number, runDir: string, initrd: string): string[] {
  return [
    '-name', `lkm-dev-guest,process=lkm-guest`,
    '-M', 'pc',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-smp', '1',
    '-m', '512M',
    '-kernel', image.vmlinux,
    '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1',
    '-nic', `user,restrict=on,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-display', 'none',
    '-serial', `file:${path.join(runDir, 'serial.log')}`,
    '-qmp', `unix:${path.join(runDir, 'qmp.sock')},server=on,wait=off`,
    '-no-reboot',
    // Keeps the run dir on QEMU's command line, so a PID is only ever taken for ours (see isAlive).
    '-pidfile', path.join(runDir, 'qemu.pid'),
  ];
}

/**
 * Boots the guest and waits until SSH answers. Throws if a guest of that name already runs
 * (use `ensureGuest` to reuse it).
 */
export async function startGuest(options: StartOptions = {}): Promise<GuestState> {
  const name = options.name ?? defaultGuestName();
  const log = options.log ?? (() => undefined);
  if (readGuestState(name)) throw new Error(`the test VM "${name}" is already running (lkm vm status)`);
  const runDir = guestRunDir(name);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const image = await prepareGuestImage(log);
  let accel = chooseAccel(options.accel);
  const begin = Date.now();
  for (let attempt = 1; ; attempt++) {
    const secrets = await writeBootSecrets(runDir, image);
    const port = await freePort();
    const serialLog = path.join(runDir, 'serial.log');
    const qemuLog = path.join(runDir, 'qemu.log');
    rmSync(serialLog, { force: true });
    rmSync(path.join(runDir, 'qmp.sock'), { force: true });
    const logFd = openSync(qemuLog, 'w');
    const child = spawn('qemu-system-x86_64', qemuArgs(image, accel, port, runDir, secrets.initrd), {
      detached: true, // its own process group: a Ctrl-C meant for a terminal command does not hit it
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(undefined));
    });
    if (spawnError) throw new Error(`cannot run qemu-system-x86_64 (${spawnError.message}): install it with bash scripts/install-guest-deps.sh`);
    child.unref();
    const pid = child.pid!;
    let exited = false;
    child.once('exit', () => (exited = true));
    const state: GuestState = {
      name, pid, port, accel, kernelVersion: image.kernelVersion, kdir: image.kdir, runDir,
      keyFile: secrets.keyFile, knownHostsFile: secrets.knownHostsFile, serialLog,
      qmpSocket: path.join(runDir, 'qmp.sock'), detached: options.detached ?? false, startedAt: new Date().toISOString(),
    };
    if (!state.detached) {
      state.watchdogPid = startWatchdog(process.pid, pid, runDir);
      const onExit = () => {
        if (isAlive(pid, runDir)) killQuietly(pid);
      };
      exitHandlers.set(pid, onExit);
      process.once('exit', onExit);
    }
    writeFileSync(stateFile(name), JSON.stringify(state, null, 2));
    log(`Booting the test VM (${accel.toUpperCase()}, ssh on 127.0.0.1:${port}) ...`);
    try {
      await waitReady(state, () => exited, accel === 'kvm' ? 5_000 : undefined, options.readyTimeoutMs ?? 90_000, options.signal);
      state.readyMs = Date.now() - begin;
      writeFileSync(stateFile(name), JSON.stringify(state, null, 2));
      log(`Test VM ready in ${(state.readyMs / 1000).toFixed(1)} s.`);
      return state;
    } catch (error) {
      await stopGuestState(state);
      const qemuOutput = existsSync(qemuLog) ? readFileSync(qemuLog, 'utf8') : '';
      if (error instanceof KernelSilentError && accel === 'kvm') {
        log('KVM did not boot the kernel; falling back to TCG.');
        accel = 'tcg';
        continue;
      }
      if (/host forwarding|Could not set up host forwarding|Address already in use/i.test(qemuOutput) && attempt < 3) continue;
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}${qemuOutput.trim() ? `\nQEMU: ${qemuOutput.trim().split('\n').slice(-3).join('\n')}` : ''}`);
    }
  }
}

class KernelSilentError extends Error {}

/** Per guest started by this process: stops it if this process exits without stopping it. */
const exitHandlers = new Map<number, () => void>();

async function waitReady(state: GuestState, hasExited: () => boolean, kernelSilenceMs: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  const serial = () => (existsSync(state.serialLog) ? readFileSync(state.serialLog, 'utf8') : '');
  const failure = (why: string) => {
    const report = lastConsoleReport(state);
    return new Error(`test VM: ${why}${report ? `\nLast console output:\n${report}` : ''}`);
  };
  // 1. The ready marker on the serial console (an earlier ssh would hang in the banner exchange).
  for (;;) {
    if (signal?.aborted) throw new Error('test VM start cancelled');
    if (hasExited()) throw failure('QEMU exited during boot');
    const text = serial();
    if (text.includes(READY_MARKER)) break;
    if (kernelSilenceMs !== undefined && Date.now() - started > kernelSilenceMs && !text.includes('Linux version') && !text.includes('Run /init')) {
      throw new KernelSilentError('no kernel output');
    }
    if (Date.now() > deadline) throw failure(`not ready within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
  // 2. SSH answers (dropbear is respawned by init right after the marker).
  const ssh = guestConnection(state, 3);
  for (;;) {
    if (signal?.aborted) throw new Error('test VM start cancelled');
    if (hasExited()) throw failure('QEMU exited during boot');
    try {
      await ssh.open(signal);
      const probe = await ssh.exec('true', { timeoutMs: 5_000, signal });
      if (probe.code === 0) return;
    } catch (error) {
      if (Date.now() > deadline) throw failure(`SSH not answering within ${timeoutMs / 1000} s: ${error instanceof Error ? error.message : error}`);
    }
    await sleep(100);
  }
}

/**
 * Stops the guest when `ownerPid` exits, even if the owner is killed outright: a tiny shell loop in
 * its own session. It signals only the QEMU PID it was given, and only while that PID's command
 * line still names the guest's run dir (a PID can be reused once QEMU is gone).
 */
function startWatchdog(ownerPid: number, qemuPid: number, runDir: string): number | undefined {
  const script = [
    'ours() { kill -0 "$2" 2>/dev/null && tr "\\0" " " < "/proc/$2/cmdline" 2>/dev/null | grep -qF -- "$3"; }',
    'while kill -0 "$1" 2>/dev/null; do ours "$@" || exit 0; sleep 1; done',
    'ours "$@" && kill "$2"',
    'sleep 3',
    'ours "$@" && kill -9 "$2"',
    'exit 0',
  ].join('\n');
  const child = spawn('sh', ['-c', script, 'lkm-guest-watchdog', String(ownerPid), String(qemuPid), runDir], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function qmpQuit(socketPath: string, timeoutMs = 2_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, timeoutMs);
    let sent = false;
    socket.on('data', () => {
      if (sent) return;
      sent = true;
      socket.write('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n');
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitGone(pid: number, runDir: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid, runDir)) return true;
    await sleep(50);
  }
  return !isAlive(pid, runDir);
}

async function stopGuestState(state: GuestState): Promise<void> {
  await guestConnection(state).close();
  if (isAlive(state.pid, state.runDir)) {
    await qmpQuit(state.qmpSocket);
    if (!(await waitGone(state.pid, state.runDir, 3_000))) {
      killQuietly(state.pid, 'SIGTERM');
      if (!(await waitGone(state.pid, state.runDir, 2_000))) killQuietly(state.pid, 'SIGKILL');
      await waitGone(state.pid, state.runDir, 2_000);
    }
  }
  // The watchdog ends by itself within a second of QEMU's exit: no signal to a PID that may be reused.
  const onExit = exitHandlers.get(state.pid);
  if (onExit) process.removeListener('exit', onExit);
  exitHandlers.delete(state.pid);
  rmSync(stateFile(state.name), { force: true });
}

/** Stops the named guest; resolves false when none was running. */
export async function stopGuest(name = defaultGuestName()): Promise<boolean> {
  const state = readGuestState(name);
  if (!state) return false;
  await stopGuestState(state);
  return true;
}

/** The running guest of that name, or a freshly started one. */
export async function ensureGuest(options: StartOptions = {}): Promise<{ state: GuestState; started: boolean }> {
  const running = readGuestState(options.name);
  if (running) return { state: running, started: false };
  return { state: await startGuest(options), started: true };
}

/** Stops and boots the guest again (after an oops left a module stuck, or a hang). */
export async function restartGuest(options: StartOptions = {}): Promise<GuestState> {
  const previous = readGuestState(options.name);
  await stopGuest(options.name);
  return startGuest({ detached: previous?.detached, ...options });
}
