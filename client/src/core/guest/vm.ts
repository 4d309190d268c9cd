// Starts, finds and stops the throwaway QEMU test guest.
// - TCG by default; KVM only when /dev/kvm really works (not the nested paravirtual kvm_pvm).
// - SSH forwarded to 127.0.0.1:<free port> with user networking restricted to the host (restrict=on).
// - A fresh client key and dropbear host key per boot; the host key is pinned in the guest's own
//   known_hosts file, so the guest needs no trust-on-first-use and user known_hosts stay untouched.
// - The serial console is kept in serial.log: the channel left when the guest panics or hangs.
// - A state file lets `lkm vm status|stop` find the guest; stop = QMP quit, then signals to its PID only.
// - Unless started detached (`lkm vm start`), a watchdog stops the guest when its owner process exits.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, openSync, closeSync, chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DEBIAN_HOST_ALIAS, prepareDebianImage } from './debian';
import { cacheRoot, concatenateFiles, packCpio, prepareGuestImage, READY_MARKER, sshControlDir, type GuestImage, type Log } from './image';
import { runChecked } from '../targets/process';
import { SshConnection, type SshEndpoint } from '../targets/ssh';

export const GUEST_HOST_KEY_ALIAS = 'lkm-test-guest';
export const DEFAULT_GUEST_NAME = 'default';

/** The built-in guests: BusyBox + dropbear in an initramfs (the default), or a Debian userland on a disk (debian.ts). */
export const GUEST_IMAGES = ['busybox', 'debian'] as const;
export type GuestImageKind = (typeof GUEST_IMAGES)[number];

/**
 * The instance name a guest image runs under unless told otherwise (one of each can run side by side):
 * for the default image, $LKM_VM_NAME (a test run's own guest) when set.
 */
export function defaultGuestName(image: GuestImageKind = 'busybox'): string {
  return image === 'busybox' ? process.env.LKM_VM_NAME || DEFAULT_GUEST_NAME : image;
}

export type Accel = 'kvm' | 'tcg';

export interface GuestState {
  name: string;
  /** Absent in state files of older versions: busybox. */
  image?: GuestImageKind;
  /** The login user (root on the BusyBox guest). */
  user?: string;
  /** The name its host key is pinned under in knownHostsFile. */
  hostKeyAlias?: string;
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
  image?: GuestImageKind;
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
    host: `${state.user ?? 'root'}@127.0.0.1`,
    port: state.port,
    pinnedHostKey: true,
    extraArgs: [
      '-F', '/dev/null', // the user's ssh config has no say over the built-in guest
      '-o', `IdentityFile=${state.keyFile}`,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${state.knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', `HostKeyAlias=${state.hostKeyAlias ?? GUEST_HOST_KEY_ALIAS}`,
      '-o', 'StrictHostKeyChecking=yes',
    ],
  };
}

/**
 * An ssh_config block for the guest, so users (and tests) reach it as any VM of theirs: `ssh lkm-debian`,
 * or an lkm.targets entry with host "lkm-debian". The host key stays pinned: never StrictHostKeyChecking=no.
 */
export function sshConfigBlock(state: GuestState): string {
  return [
    `Host lkm-${state.image ?? 'busybox'}`,
    '  HostName 127.0.0.1',
    `  Port ${state.port}`,
    `  User ${state.user ?? 'root'}`,
    `  IdentityFile ${state.keyFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${state.knownHostsFile}`,
    `  HostKeyAlias ${state.hostKeyAlias ?? GUEST_HOST_KEY_ALIAS}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n');
}

export function guestConnection(state: GuestState, connectTimeoutSec = 5): SshConnection {
  return new SshConnection(guestEndpoint(state), { controlDir: sshControlDir(), connectTimeoutSec });
}

/**
 * The kernel's own reports on the serial console: oops/BUG/WARNING, panics, RCU stalls (rcu_sched
 * or rcu_preempt, as the kernel's preemption model names it), soft and hard lockups, NMIs.
 */
export const CONSOLE_REPORT = /BUG:|Oops|Kernel panic|general protection fault|WARNING:|rcu_\w+ (?:self-)?detected (?:expedited )?stalls?|soft lockup|hard LOCKUP|NMI received for unknown reason/;

/** Bytes of console text so far: a report after this offset belongs to what happens next. */
export function consoleOffset(state: Pick<GuestState, 'serialLog'>): number {
  return existsSync(state.serialLog) ? statSync(state.serialLog).size : 0;
}

/**
 * A kernel report on the serial console, for error messages. With `since` (a consoleOffset), the
 * first report written after it — the cause, not its echoes; without, the last report of the log.
 * No report: the last lines.
 */
export function lastConsoleReport(state: Pick<GuestState, 'serialLog'>, maxLines = 40, since?: number): string {
  if (!existsSync(state.serialLog)) return '';
  const text = readFileSync(state.serialLog).subarray(since ?? 0).toString('utf8');
  const lines = text.split(/\r?\n/); // the serial console ends lines with CR LF
  const matches = lines.flatMap((line, i) => (CONSOLE_REPORT.test(line) ? [i] : []));
  // After `since`, the lines just before the report are what the module last said.
  const start = since === undefined ? matches[matches.length - 1] : matches[0] === undefined ? undefined : Math.max(0, matches[0] - 3);
  const from = start ?? Math.max(0, lines.length - 15);
  return lines.slice(from, from + maxLines).join('\n').trim();
}

/** A TCP port free on 127.0.0.1 now (for the guest's SSH forward, its gdbstub). */
export function freePort(): Promise<number> {
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

interface Boot {
  image: GuestImage & { rootDisk?: string };
  /** Key, pinned known_hosts and initramfs of one boot. */
  secrets: (runDir: string) => Promise<{ keyFile: string; knownHostsFile: string; initrd: string }>;
  user: string;
  hostKeyAlias: string;
  /** Keep the SSH port across boots (users' ssh configs name it). */
  stablePort: boolean;
}

/** What booting each image takes: the BusyBox guest gets fresh keys per boot; the Debian one has its image's. */
async function prepareBoot(kind: GuestImageKind, log: Log): Promise<Boot> {
  if (kind === 'debian') {
    const image = await prepareDebianImage(log);
    const secrets = { keyFile: image.keyFile, knownHostsFile: image.knownHostsFile, initrd: image.initrd };
    return { image, secrets: async () => secrets, user: image.user, hostKeyAlias: DEBIAN_HOST_ALIAS, stablePort: true };
  }
  const image = await prepareGuestImage(log);
  return { image, secrets: (runDir) => writeBootSecrets(runDir, image), user: 'root', hostKeyAlias: GUEST_HOST_KEY_ALIAS, stablePort: false };
}

/** A free port on 127.0.0.1; with `stable`, the one of the previous boot when it is still free. */
async function guestPort(runDir: string, stable: boolean): Promise<number> {
  const file = path.join(runDir, 'port');
  const previous = stable && existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  const port = previous > 0 && (await portIsFree(previous)) ? previous : await freePort();
  if (stable) writeFileSync(file, `${port}\n`);
  return port;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

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

function qemuArgs(image: GuestImage & { rootDisk?: string }, accel: Accel, port: number, runDir: string, initrd: string): string[] {
  // A root disk is opened with snapshot=on: every boot starts from the built image, nothing is written to it.
  const disk = image.rootDisk ? ['-drive', `file=${image.rootDisk},if=virtio,format=raw,snapshot=on`] : [];
  return [
    '-name', `lkm-dev-guest,process=lkm-guest`,
    '-M', 'pc',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-smp', '1',
    // The Debian guest compiles (gcc wants room); the BusyBox one only loads.
    '-m', image.rootDisk ? '1024M' : '512M',
    ...disk,
    '-kernel', image.vmlinux,
    '-initrd', initrd,
    // watchdog_thresh=5: a soft lockup is reported after 10 s, not 20; unknown_nmi_panic: the NMI
    // sent to a guest that stopped answering (see diagnoseLostGuest) prints the stuck CPU's stack.
    '-append', 'console=ttyS0 panic=-1 watchdog_thresh=5 unknown_nmi_panic',
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
  const kind = options.image ?? 'busybox';
  const name = options.name ?? defaultGuestName(kind);
  const log = options.log ?? (() => undefined);
  if (readGuestState(name)) throw new Error(`the test VM "${name}" is already running (lkm vm status)`);
  const runDir = guestRunDir(name);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const boot = await prepareBoot(kind, log);
  const image = boot.image;
  let accel = chooseAccel(options.accel);
  const begin = Date.now();
  for (let attempt = 1; ; attempt++) {
    const secrets = await boot.secrets(runDir);
    const port = await guestPort(runDir, boot.stablePort);
    const serialLog = path.join(runDir, 'serial.log');
    const qemuLog = path.join(runDir, 'qemu.log');
    // The previous boot's console (a panic's text, say) stays readable as serial.log.1.
    if (existsSync(serialLog)) renameSync(serialLog, `${serialLog}.1`);
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
      name, image: kind, user: boot.user, hostKeyAlias: boot.hostKeyAlias, pid, port, accel, kernelVersion: image.kernelVersion, kdir: image.kdir, runDir,
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

/** Sends one QMP command (after the capabilities handshake); best effort, bounded by timeoutMs. */
async function qmpCommand(socketPath: string, command: string, timeoutMs = 2_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, timeoutMs);
    let sent = false;
    let replies = 0;
    socket.on('data', (chunk) => {
      if (!sent) {
        sent = true;
        socket.write(`{"execute":"qmp_capabilities"}\n{"execute":"${command}"}\n`);
        return;
      }
      // Two replies ({"return": {}} for the handshake, then the command's): done.
      replies += (chunk.toString().match(/"return"|"error"/g) ?? []).length;
      if (replies >= 2) socket.end();
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
    await qmpCommand(state.qmpSocket, 'quit');
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

/**
 * Whether the guest still answers a command over SSH within about timeoutMs (a hung kernel does
 * not). `keepMaster`: open the shared master connection for the commands that follow.
 */
export async function guestResponds(state: GuestState, timeoutMs = 5_000, keepMaster = false): Promise<boolean> {
  try {
    const connection = guestConnection(state, Math.ceil(timeoutMs / 1000));
    if (keepMaster) await connection.open();
    const probe = await connection.exec('true', { timeoutMs });
    return probe.code === 0;
  } catch {
    return false;
  }
}

/** How long the kernel's own detectors need to report a hang (soft lockup: 2 × watchdog_thresh, plus a check period). */
const DETECTOR_WINDOW_MS = 14_000;

/**
 * Why a guest stopped answering during a command begun at `startedAt`, from the serial console
 * after `since` (a consoleOffset): QEMU gone (a panic stops it), else the report of the kernel's
 * own detectors (soft lockup, RCU stall) once they had time to fire. A CPU spinning with interrupts
 * off stops every timer-based detector: when the console stays silent and SSH does not answer, an
 * NMI (unknown_nmi_panic) makes the kernel print that CPU's stack and stop.
 */
export async function diagnoseLostGuest(state: GuestState, since: number, startedAt: number): Promise<{ report: string; exited: boolean }> {
  const report = () => lastConsoleReport(state, 40, since);
  const hasReport = () => CONSOLE_REPORT.test(report());
  const gone = () => !isAlive(state.pid, state.runDir);
  while (!gone() && !hasReport() && Date.now() < startedAt + DETECTOR_WINDOW_MS) await sleep(250);
  if (!gone() && !hasReport() && !(await guestResponds(state, 3_000))) {
    await qmpCommand(state.qmpSocket, 'inject-nmi');
    await waitGone(state.pid, state.runDir, 5_000);
  }
  return { report: report(), exited: gone() };
}

/**
 * The running guest of that name, or a freshly started one. A guest that no longer answers (hung
 * by an earlier load) is restarted: its console stays in serial.log.1.
 */
export async function ensureGuest(options: StartOptions = {}): Promise<{ state: GuestState; started: boolean }> {
  const running = readGuestState(options.name ?? defaultGuestName(options.image));
  if (running && (await guestResponds(running, 5_000, true))) return { state: running, started: false };
  if (running) {
    options.log?.('The test VM is not responding (hung by an earlier load?): restarting it.');
    return { state: await restartGuest(options), started: true };
  }
  return { state: await startGuest(options), started: true };
}

/** Stops and boots the guest again (after an oops left a module stuck, or a hang), with the same image. */
export async function restartGuest(options: StartOptions = {}): Promise<GuestState> {
  const name = options.name ?? defaultGuestName(options.image);
  const previous = readGuestState(name);
  await stopGuest(name);
  return startGuest({ detached: previous?.detached, image: previous?.image, ...options, name });
}
