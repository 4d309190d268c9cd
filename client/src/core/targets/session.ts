// The loop's steps on one target: connect, sync sources, build (on the host against kdir, or on
// the target), copy modules, load/unload/reload with validated parameters, and read the kernel log
// of one load. Every remote step has a timeout, honours the AbortSignal, and fails with a
// StepError naming the step, the target and the cause. Remote commands are built with shellQuote only.
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheRoot, sshControlDir } from '../guest/image';
import { consoleOffset, defaultGuestName, diagnoseLostGuest, ensureGuest, guestConnection, readGuestState, type GuestState } from '../guest/vm';
import { TEST_VM_TARGET, UsageError, validateRemoteDir, type TargetConfig } from './config';
import { decodeFrames, type ModuleDebugInfo } from './decode';
import { readModuleInfo, type KernelModuleInfo } from './elf';
import { ParamError, validateParams, type ParamValue } from './params';
import { locateKernelProblems, parseKbuildOutput, parseKernelLog, stripTimestamp, type PathMapping, type Problem } from './problems';
import { alive, withLock } from './lock';
import { ensurePrivateDir } from './private-dir';
import { CancelledError, runProcess } from './process';
import { shellCommand, shellQuote } from './quote';
import { SshConnection, SshError } from './ssh';

export interface StepContext {
  signal?: AbortSignal;
  /** Streams build output and progress text. */
  output?: (text: string) => void;
  /** Announces each step (for progress notifications). */
  progress?: (step: string) => void;
}

export class StepError extends Error {
  constructor(readonly step: string, readonly target: string, override readonly cause: unknown) {
    super(`${step} on ${target} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepError';
  }
}

// Connecting is bounded by ssh's own ConnectTimeout (see SshConnection).
export const STEP_TIMEOUTS_MS = { sync: 120_000, build: 600_000, load: 60_000, command: 30_000 };

export interface Target {
  name: string;
  kind: 'test-vm' | 'ssh';
  build: 'local' | 'remote';
  /** Local builds: the target kernel's build dir. */
  kdir?: string;
  sudo: boolean;
  /** As configured: relative paths are below the target user's home. */
  remoteDir: string;
  connection: SshConnection;
  guest?: GuestState;
  /** This process booted the test VM (so it stops it, when the other runs using it are done). */
  startedGuest?: boolean;
}

export interface OpenOptions extends StepContext {
  /** The built-in guest's instance name (tests use their own). */
  guestName?: string;
  /** Boot the test VM when it is not running (otherwise it is an error). */
  startGuest?: boolean;
  /** A guest booted here keeps running after this process (CLI runs keep it warm for the next one). */
  detachGuest?: boolean;
  /**
   * Count this process among the test VM's users until releaseGuestUse: the run that booted the VM
   * waits for its users before stopping it (runs hold it; one-off editor commands need not).
   */
  holdGuest?: boolean;
}

/** Folder on the target for a local workspace folder: stable per folder, below the home. */
export function defaultRemoteDir(localDir: string): string {
  const base = path.basename(path.resolve(localDir)).replace(/[^\w.-]/g, '_') || 'module';
  const hash = createHash('sha256').update(path.resolve(localDir)).digest('hex').slice(0, 8);
  return `.cache/lkm-dev/work/${base}-${hash}`;
}

export async function step<T>(name: string, target: string, ctx: StepContext, fn: () => Promise<T>): Promise<T> {
  ctx.progress?.(name);
  if (ctx.signal?.aborted) throw new CancelledError(name);
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StepError || error instanceof CancelledError || error instanceof UsageError) throw error;
    throw new StepError(name, target, error);
  }
}

/** Resolves a target (undefined = the built-in test VM) and opens its SSH master connection. */
export async function openTarget(config: TargetConfig | undefined, localDir: string, options: OpenOptions = {}): Promise<Target> {
  if (!config) {
    const name = options.guestName ?? defaultGuestName();
    let startedGuest = false;
    const guest = await step('start test VM', TEST_VM_TARGET, options, async () => {
      if (options.startGuest) {
        // Runs that find the VM down at once: one boots it, the others wait for it and use it.
        return withLock(path.join(cacheRoot(), 'locks', `vm-${name}-start.lock`), 'the test VM (booting)', lockOptions(options, 600_000), async () => {
          const ensured = await ensureGuest({ name, detached: options.detachGuest, signal: options.signal, log: (l) => options.output?.(`${l}\n`) });
          startedGuest = ensured.started;
          return ensured.state;
        });
      }
      const running = readGuestState(name);
      if (!running) throw new Error('the test VM is not running (start it with `lkm vm start` or "LKM: Start Test VM")');
      return running;
    });
    if (options.holdGuest) markGuestUse(name);
    const target: Target = {
      name: TEST_VM_TARGET,
      kind: 'test-vm',
      build: 'local',
      kdir: guest.kdir,
      sudo: false,
      remoteDir: defaultRemoteDir(localDir),
      connection: guestConnection(guest),
      guest,
      startedGuest,
    };
    await step('connect', target.name, options, () => target.connection.open(options.signal));
    return target;
  }
  const target: Target = {
    name: config.name,
    kind: 'ssh',
    build: config.build,
    kdir: config.kdir,
    sudo: config.sudo ?? false,
    remoteDir: validateRemoteDir(config.remoteDir ?? defaultRemoteDir(localDir)),
    connection: new SshConnection(
      { label: config.name, host: config.host, port: config.port, extraArgs: config.sshConfig ? ['-F', config.sshConfig] : undefined },
      { controlDir: sshControlDir() },
    ),
  };
  await step('connect', target.name, options, () => target.connection.open(options.signal));
  return target;
}

// Which processes use a test VM: a file per pid, so the run that booted it stops it only after the
// others (started meanwhile, with the VM up) are done with it.
const guestUsersDir = (name: string) => path.join(cacheRoot(), 'locks', `vm-${name}-users`);

export function markGuestUse(name = defaultGuestName()): void {
  ensurePrivateDir(guestUsersDir(name), 'the folder of test VM users');
  writeFileSync(path.join(guestUsersDir(name), String(process.pid)), '');
}

export function releaseGuestUse(name = defaultGuestName()): void {
  rmSync(path.join(guestUsersDir(name), String(process.pid)), { force: true });
}

/** Live processes other than this one that use the test VM `name`. */
export function otherGuestUsers(name = defaultGuestName()): number[] {
  const dir = guestUsersDir(name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map(Number).filter((pid) => Number.isInteger(pid) && pid !== process.pid && alive(pid));
}

/** Waits (bounded) until no other process uses the test VM; says whom it waits for. */
export async function waitForOtherGuestUsers(name: string | undefined, timeoutMs: number, output?: (text: string) => void): Promise<void> {
  const until = Date.now() + timeoutMs;
  let told = false;
  for (let users = otherGuestUsers(name); users.length && Date.now() < until; users = otherGuestUsers(name)) {
    if (!told) output?.(`waiting for ${users.length} other lkm run(s) using the test VM (pid ${users.join(', ')}) before stopping it\n`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs a remote command; a non-zero exit is an error naming the command's output. */
async function remote(target: Target, command: string, ctx: StepContext, timeoutMs = STEP_TIMEOUTS_MS.command, input?: Buffer | string) {
  const result = await target.connection.exec(command, { timeoutMs, signal: ctx.signal, input });
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Sources and sync

const BUILD_PRODUCT = /\.(o|ko|a|mod|mod\.c|cmd|order|symvers|dwo|su|tmp|d)$|^modules\.order$|^Module\.symvers$/;
const MAX_SOURCE_FILES = 5000;

/** Files of a folder, relative paths: no hidden entries, build products or symlinks; at most MAX_SOURCE_FILES. */
function listFiles(localDir: string): string[] {
  const root = path.resolve(localDir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`${localDir} is not a folder`);
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(relPath);
      else if (entry.isFile() && !BUILD_PRODUCT.test(entry.name)) files.push(relPath);
      if (files.length > MAX_SOURCE_FILES) throw new UsageError(`${localDir} has more than ${MAX_SOURCE_FILES} source files; is it a module folder?`);
    }
  };
  walk('');
  return files.sort();
}

/** Source files of a module folder (listFiles), which must hold a Makefile or Kbuild. */
export function listSources(localDir: string): string[] {
  const files = listFiles(localDir);
  if (!files.some((f) => /(^|\/)(Makefile|Kbuild)$/.test(f))) throw new UsageError(`${localDir} has no Makefile or Kbuild: not a kernel module folder`);
  return files;
}

/** How far up a folder's Makefiles may reach for build inputs (`$(src)/../../include`). */
const MAX_LEVELS_UP = 3;

export interface OutsideReferences {
  /** How many levels above the folder the references reach. */
  levelsUp: number;
  /** The folders and files referenced outside the folder (absolute, within levelsUp). */
  paths: string[];
}

/**
 * What a folder's Makefiles/Kbuild files use from outside it: `$(PWD)/../include`,
 * `$(src)/../common`, `$(M)/../x.h` (a path after `/` that climbs with `..`). Those beyond
 * MAX_LEVELS_UP, ancestors of the folder, or missing are left out: make names them as it would in place.
 */
export function outsideReferences(localDir: string, sources = listSources(localDir)): OutsideReferences {
  const root = path.resolve(localDir);
  const paths = new Set<string>();
  let levelsUp = 0;
  for (const rel of sources.filter((f) => /(^|\/)(Makefile|Kbuild)$/.test(f))) {
    const text = readFileSync(path.join(root, rel), 'utf8');
    for (const m of text.matchAll(/\/((?:\.\.\/)*\.\.)((?:\/[\w.+-]+)*)/g)) {
      const target = path.resolve(root, path.dirname(rel), `${m[1]}${m[2]}`);
      const back = path.relative(root, target).split(path.sep);
      const up = back.filter((p) => p === '..').length;
      // Inside the folder, an ancestor of it (the folder itself would be copied again), too far, or missing.
      if (up === 0 || up === back.length || up > MAX_LEVELS_UP || !existsSync(target)) continue;
      levelsUp = Math.max(levelsUp, up);
      paths.add(target);
    }
  }
  return { levelsUp, paths: [...paths].sort() };
}

/** Module names from `obj-m` lines of the folder's Kbuild/Makefile (for log filtering before any build). */
export function moduleNamesFromMakefile(dir: string): string[] {
  const names: string[] = [];
  for (const file of ['Kbuild', 'Makefile']) {
    const full = path.join(dir, file);
    if (!existsSync(full)) continue;
    for (const m of readFileSync(full, 'utf8').replace(/\\\n/g, ' ').matchAll(/^\s*obj-(?:m|\$\([A-Z0-9_]+\))\s*[:+]?=\s*(.+)$/gm)) {
      for (const obj of m[1].split(/\s+/)) if (obj.endsWith('.o')) names.push(obj.slice(0, -2).replace(/-/g, '_'));
    }
    if (names.length) break;
  }
  return [...new Set(names)];
}

/**
 * The module a source file of the folder belongs to, from the Kbuild/Makefile: `x.c` builds `x` when
 * obj-m lists x.o, else the module whose `NAME-objs`/`NAME-y` lists it; undefined when none says.
 */
export function moduleOfSource(dir: string, file: string): string | undefined {
  const object = path.relative(dir, file).replace(/\.[cS]$/, '.o');
  for (const name of ['Kbuild', 'Makefile']) {
    const full = path.join(dir, name);
    if (!existsSync(full)) continue;
    const text = readFileSync(full, 'utf8').replace(/\\\n/g, ' ');
    const lists = [...text.matchAll(/^\s*([\w-]+|obj-(?:m|\$\([A-Z0-9_]+\)))\s*[:+]?=\s*(.*)$/gm)];
    const owner = lists.find((m) => !m[1].startsWith('obj-') && /-(objs|y)$/.test(m[1]) && m[2].split(/\s+/).includes(object));
    if (owner) return owner[1].replace(/-(objs|y)$/, '').replace(/-/g, '_');
    if (lists.some((m) => m[1].startsWith('obj-') && m[2].split(/\s+/).includes(object))) return object.slice(0, -2).replace(/-/g, '_');
  }
  return undefined;
}

async function hasRsync(target: Target, ctx: StepContext): Promise<boolean> {
  const local = await runProcess('rsync', ['--version'], { timeoutMs: 5_000 }).catch(() => undefined);
  if (local?.code !== 0) return false;
  const result = await target.connection.exec('command -v rsync >/dev/null', { timeoutMs: STEP_TIMEOUTS_MS.command, signal: ctx.signal });
  return result.code === 0;
}

/** Ensures remoteDir exists and returns its absolute path on the target. */
async function prepareRemoteDir(target: Target, ctx: StepContext): Promise<string> {
  const dir = shellQuote(target.remoteDir);
  const result = await remote(target, `mkdir -p -- ${dir} && cd -- ${dir} && pwd`, ctx);
  return result.stdout.trim();
}

/** Copies `files` (relative to `fromDir`) into remoteDir as one tar stream over ssh. */
async function tarToRemote(target: Target, fromDir: string, files: string[], ctx: StepContext): Promise<void> {
  const archive = await runProcess('tar', ['-C', fromDir, '--null', '-T', '-', '-cf', '-'], {
    input: files.map((f) => `${f}\0`).join(''),
    timeoutMs: STEP_TIMEOUTS_MS.sync,
    signal: ctx.signal,
  });
  if (archive.code !== 0) throw new Error(`tar: ${archive.stderr.trim()}`);
  const dir = shellQuote(target.remoteDir);
  await remote(target, `mkdir -p -- ${dir} && tar -xf - -C ${dir}`, ctx, STEP_TIMEOUTS_MS.sync, archive.stdoutBytes);
}

/** rsync's `host:dir/` (an IPv6 address in brackets, or its colons would end the host). */
function rsyncDestination(host: string, dir: string): string {
  const at = host.lastIndexOf('@') + 1;
  const name = host.slice(at);
  return `${host.slice(0, at)}${name.includes(':') ? `[${name}]` : name}:${dir}/`;
}

export interface SyncResult {
  method: 'rsync' | 'tar';
  files: string[];
  remoteAbsDir: string;
}

/**
 * Removes from remoteDir the sources the folder no longer has (a renamed .c, a deleted Kbuild), so
 * they are not built again; build products and hidden files stay. Names go back through stdin.
 */
async function pruneRemote(target: Target, files: string[], ctx: StepContext): Promise<void> {
  const dir = shellQuote(target.remoteDir);
  const listed = await remote(target, `cd -- ${dir} && find . -type f -print0`, ctx);
  const keep = new Set(files);
  const stale = listed.stdout
    .split('\0')
    .map((p) => p.replace(/^\.\//, ''))
    .filter((p) => p && !p.split('/').some((part) => part.startsWith('.') || part === '') && !BUILD_PRODUCT.test(path.posix.basename(p)) && !keep.has(p));
  if (stale.length) await remote(target, `cd -- ${dir} && xargs -0 rm -f --`, ctx, STEP_TIMEOUTS_MS.command, stale.map((p) => `./${p}\0`).join(''));
}

/** One-way sync of the sources into remoteDir (what the folder no longer has is removed there); never writes outside it. */
export async function syncSources(target: Target, localDir: string, ctx: StepContext, method?: 'rsync' | 'tar'): Promise<SyncResult> {
  return step('sync', target.name, ctx, async () => {
    const files = listSources(localDir);
    const remoteAbsDir = await prepareRemoteDir(target, ctx);
    const chosen = method ?? ((await hasRsync(target, ctx)) ? 'rsync' : 'tar');
    if (chosen === 'rsync') {
      // -s: the remote path is passed through rsync's protocol, not a remote shell.
      const result = await runProcess(
        'rsync',
        ['-a', '-s', '--from0', '--files-from=-', '-e', target.connection.shellForRsync(), `${path.resolve(localDir)}/`, rsyncDestination(target.connection.endpoint.host, target.remoteDir)],
        { input: files.map((f) => `${f}\0`).join(''), timeoutMs: STEP_TIMEOUTS_MS.sync, signal: ctx.signal },
      );
      if (result.timedOut) throw new Error(`rsync timed out after ${STEP_TIMEOUTS_MS.sync / 1000} s`);
      if (result.code !== 0) throw new Error(`rsync exit ${result.code}: ${result.stderr.trim()}`);
    } else {
      await tarToRemote(target, localDir, files, ctx);
    }
    await pruneRemote(target, files, ctx);
    return { method: chosen, files, remoteAbsDir };
  });
}

// ---------------------------------------------------------------------------------------------
// Build

export interface BuiltModule {
  name: string;
  /** The .ko on this machine (for modinfo and debug info). */
  koPath: string;
  /** Path of the .ko relative to the module folder (also its place under remoteDir). */
  relPath: string;
  /** The folder relPath is relative to on this machine (the build mirror or the fetched copies). */
  buildRoot: string;
  info: KernelModuleInfo;
  mappings: PathMapping[];
}

export interface BuildResult {
  ok: boolean;
  output: string;
  problems: Problem[];
  modules: BuiltModule[];
}

/**
 * The modules this build made, from kbuild's modules.order (absolute or relative, .ko or .o per
 * kernel version): a .ko left in the copy by an earlier build of another module is not one of them.
 */
function builtModulePaths(dir: string): string[] {
  const order = path.join(dir, 'modules.order');
  if (!existsSync(order)) return [];
  const rels = readFileSync(order, 'utf8').split('\n').filter(Boolean).map((line) => {
    const rel = path.isAbsolute(line) ? path.relative(dir, line) : line;
    return rel.replace(/\.(ko|o)$/, '.ko');
  });
  return [...new Set(rels)].filter((rel) => !rel.startsWith('..') && existsSync(path.join(dir, rel)));
}

/**
 * Brings the private build copy in line with the folder: changed sources copied (kbuild writes its
 * products there, not in the workspace), sources gone from the folder removed, so a renamed file or
 * a deleted Kbuild is not built again.
 */
function mirrorSources(localDir: string, mirror: string, sources: string[]): void {
  for (const rel of sources) copyIfChanged(path.join(localDir, rel), path.join(mirror, rel));
  pruneCopy(mirror, new Set(sources));
}

function copyIfChanged(from: string, to: string): void {
  const source = statSync(from);
  if (existsSync(to)) {
    const copy = lstatSync(to);
    if (copy.size === source.size && copy.mtimeMs === source.mtimeMs) return;
  }
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
  // Same mtime as the source: make's up-to-date check then follows the workspace's edits.
  utimesSync(to, source.atime, source.mtime);
}

/** Removes what is neither a source of the folder (`keep`) nor a build product; true when `rel` is left empty. */
function pruneCopy(root: string, keep: Set<string>, rel = ''): boolean {
  let left = 0;
  for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const product = entry.name.startsWith('.') || BUILD_PRODUCT.test(entry.name);
    const stale = entry.isDirectory() ? !product && pruneCopy(root, keep, relPath) : !product && !keep.has(relPath);
    if (stale) rmSync(path.join(root, relPath), { recursive: true, force: true });
    else left++;
  }
  return left === 0;
}

function kernelHasDebugInfo(kdir: string): boolean {
  const config = path.join(kdir, '.config');
  return existsSync(config) && /^CONFIG_DEBUG_INFO=y$/m.test(readFileSync(config, 'utf8'));
}

/** The private folder a local build of localDir against kdir runs in (exported: its .cmd files feed compile_commands.json). */
export function buildMirrorDir(localDir: string, kdir: string): string {
  const hash = createHash('sha256').update(`${path.resolve(localDir)}\0${kdir}`).digest('hex').slice(0, 12);
  return path.join(cacheRoot(), 'build', `${path.basename(path.resolve(localDir)).replace(/[^\w.-]/g, '_')}-${hash}`);
}

function makeArgs(kdir: string, moduleDir: string): string[] {
  // Frames are decoded from the .ko's DWARF: ask for it when the kernel config would not.
  const debug = kernelHasDebugInfo(kdir) ? [] : ['KCFLAGS=-g'];
  return ['-C', kdir, `M=${moduleDir}`, `-j${Math.max(1, os.cpus().length)}`, ...debug, 'modules'];
}

/** Builds on this machine against `kdir` in a private mirror of the folder (kbuild's products stay out of the workspace). */
/**
 * Where the build copy puts the folder and what its Makefiles reach outside it: the folder sits as
 * deep below the copy's root as below the ancestor those references climb to, and each referenced
 * folder or file sits beside it where it is in the workspace — so `$(PWD)/../include` and
 * `$(src)/../include` name the same files in the copy as in place.
 */
function copyLayout(absLocal: string, kdir: string, sources: string[]): { root: string; folder: string; trees: Array<{ from: string; to: string }> } {
  const root = buildMirrorDir(absLocal, kdir);
  const outside = outsideReferences(absLocal, sources);
  const ancestor = path.resolve(absLocal, ...Array<string>(outside.levelsUp).fill('..'));
  const at = (p: string) => path.join(root, path.relative(ancestor, p));
  return { root, folder: at(absLocal), trees: [{ from: absLocal, to: at(absLocal) }, ...outside.paths.map((p) => ({ from: p, to: at(p) }))] };
}

/** Builds on this machine against `kdir` in a private copy of the folder (kbuild's products stay out of the workspace). */
export async function buildLocally(kdir: string, localDir: string, ctx: StepContext): Promise<BuildResult> {
  const absLocal = path.resolve(localDir);
  if (!existsSync(path.join(kdir, 'Makefile'))) throw new Error(`kdir ${kdir} is not a kernel build dir (no Makefile)`);
  const sources = listSources(absLocal);
  const layout = copyLayout(absLocal, kdir, sources);
  // Runs of one folder share its build copy: one make at a time (a second one waits, then is a no-op).
  return withLock(`${layout.root}.lock`, `the build copy of ${absLocal}`, lockOptions(ctx, STEP_TIMEOUTS_MS.build), async () => {
    ensurePrivateDir(layout.root, 'the build copy');
    for (const tree of layout.trees) {
      if (tree.from === absLocal) mirrorSources(absLocal, tree.to, sources);
      else if (statSync(tree.from).isDirectory()) mirrorSources(tree.from, tree.to, listFiles(tree.from));
      else copyIfChanged(tree.from, tree.to);
    }
    const mappings = layout.trees.map((t) => ({ from: t.to, to: t.from }));
    const stream = ctx.output ? mappedLines(mappings, ctx.output) : undefined;
    // cwd and PWD are the folder's copy: a Makefile's $(PWD) is where `make` was started, as in place.
    const result = await runProcess('make', makeArgs(kdir, layout.folder), {
      cwd: layout.folder,
      timeoutMs: STEP_TIMEOUTS_MS.build,
      signal: ctx.signal,
      onStdout: stream,
      onStderr: stream,
      env: { ...process.env, LC_ALL: 'C', PWD: layout.folder },
    });
    if (result.timedOut) throw new Error(`make timed out after ${STEP_TIMEOUTS_MS.build / 1000} s`);
    const output = result.stdout + result.stderr;
    const problems = parseKbuildOutput(output, mappings);
    const ok = result.code === 0;
    const modules = ok ? builtModulePaths(layout.folder).map((rel) => describeModule(layout.folder, rel, mappings)) : [];
    return { ok, output, problems, modules: orderByDependencies(modules) };
  });
}

/** Lock waits are told on the progress line and end with the step's cancel. */
function lockOptions(ctx: StepContext, timeoutMs: number) {
  return { timeoutMs, signal: ctx.signal, waiting: (text: string) => ctx.output?.(`${text}\n`) };
}

/** A lock file in the cache for something of a target (its modules, its remote build folder, its VM). */
export function targetLock(target: Pick<Target, 'name' | 'guest' | 'connection'>, what: string): string {
  const id = target.guest ? `vm-${target.guest.name}` : `${target.name}-${createHash('sha256').update(`${target.connection.endpoint.host}:${target.connection.endpoint.port ?? ''}`).digest('hex').slice(0, 8)}`;
  return path.join(cacheRoot(), 'locks', `${id}-${what}.lock`);
}

export async function build(target: Target, localDir: string, ctx: StepContext): Promise<BuildResult> {
  const absLocal = path.resolve(localDir);
  return step('build', target.name, ctx, async () => {
    if (target.build === 'local') return buildLocally(target.kdir!, absLocal, ctx);
    const dirKey = createHash('sha256').update(target.remoteDir).digest('hex').slice(0, 8);
    return withLock(targetLock(target, `build-${dirKey}`), `${target.remoteDir} on ${target.name}`, lockOptions(ctx, STEP_TIMEOUTS_MS.build), () => buildRemotely(target, absLocal, ctx));
  });
}

/** Syncs, runs make on the target and fetches the built modules back (their names checked). */
async function buildRemotely(target: Target, absLocal: string, ctx: StepContext): Promise<BuildResult> {
  const synced = await syncSources(target, absLocal, ctx);
  const kdirExpr = target.kdir ? shellQuote(target.kdir) : '"/lib/modules/$(uname -r)/build"';
  const command = `cd -- ${shellQuote(target.remoteDir)} && LC_ALL=C make -C ${kdirExpr} M="$PWD" modules 2>&1`;
  const mappings = [{ from: synced.remoteAbsDir, to: absLocal }];
  const stream = ctx.output ? mappedLines(mappings, ctx.output) : undefined;
  const result = await target.connection.exec(command, { timeoutMs: STEP_TIMEOUTS_MS.build, signal: ctx.signal, onStdout: stream });
  const problems = parseKbuildOutput(result.stdout, mappings);
  if (result.code !== 0) return { ok: false, output: result.stdout, problems, modules: [] };
  // The .ko files of this build (kbuild's modules.order) come back for modinfo and frame decoding;
  // their names are the target's word, checked first.
  const order = await remote(target, `cd -- ${shellQuote(target.remoteDir)} && cat modules.order`, ctx);
  const listed = order.stdout.split('\n').filter(Boolean).map((line) => (line.startsWith(`${synced.remoteAbsDir}/`) ? line.slice(synced.remoteAbsDir.length + 1) : line).replace(/\.o$/, '.ko'));
  const fetchDir = path.join(cacheRoot(), 'fetched', `${target.name}-${createHash('sha256').update(absLocal).digest('hex').slice(0, 12)}`);
  ensurePrivateDir(fetchDir, 'the folder of fetched modules');
  const modules: BuiltModule[] = [];
  for (const rel of targetModulePaths(listed.join('\0'), synced.files)) {
    const data = await target.connection.exec(`cd -- ${shellQuote(target.remoteDir)} && cat -- ${shellQuote(rel)}`, { timeoutMs: STEP_TIMEOUTS_MS.sync, signal: ctx.signal });
    if (data.code !== 0) throw new Error(`cannot read ${rel} back: ${data.stderr.trim()}`);
    const local = path.join(fetchDir, rel);
    mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
    writeFileSync(local, data.stdoutBytes);
    modules.push(describeModule(fetchDir, rel, mappings));
  }
  return { ok: true, output: result.stdout, problems, modules: orderByDependencies(modules) };
}

export class TargetPathError extends Error {
  constructor(path: string, reason: string) {
    super(`the target listed a module path LKM Dev refuses (${reason}): ${JSON.stringify(path)}`);
    this.name = 'TargetPathError';
  }
}

const MAX_TARGET_MODULES = 1000;
/** A module file name: what kbuild makes of an obj-m entry (letters, digits, _ and -). */
const KO_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*\.ko$/;

/**
 * The .ko paths a target lists (NUL-separated), each relative and confined: only a module file
 * name, in the folder itself or in one of its source subfolders (synced from here). Anything else —
 * `..`, absolute paths, odd characters, unknown folders — is refused: these names become local paths.
 */
export function targetModulePaths(findOutput: string, sourceFiles: string[]): string[] {
  const folders = new Set(['.', ...sourceFiles.map((f) => path.posix.dirname(f))]);
  const paths = findOutput.split('\0').filter(Boolean).map((p) => p.replace(/^\.\//, ''));
  if (paths.length > MAX_TARGET_MODULES) throw new TargetPathError(`${paths.length} files`, `more than ${MAX_TARGET_MODULES} modules`);
  for (const rel of paths) {
    if (!KO_NAME.test(path.posix.basename(rel))) throw new TargetPathError(rel, 'not a module file name');
    if (!folders.has(path.posix.dirname(rel))) throw new TargetPathError(rel, 'not in the module folder or one of its source folders');
  }
  return paths;
}

const BTF_NOTICE = /^Skipping BTF generation for /;

/** Streams output line by line with build paths replaced by local ones (so terminals and problem matchers link the workspace files). */
function mappedLines(mappings: PathMapping[], output: (text: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    const end = pending.lastIndexOf('\n');
    if (end < 0) return;
    let text = pending.slice(0, end + 1);
    pending = pending.slice(end + 1);
    for (const m of mappings) text = text.split(m.from.replace(/\/+$/, '')).join(m.to);
    // kbuild's BTF notice is noise for out-of-tree modules (headers ship no vmlinux).
    text = text.split('\n').filter((line) => !BTF_NOTICE.test(line)).join('\n');
    if (text) output(text);
  };
}

function describeModule(buildRoot: string, relPath: string, mappings: PathMapping[]): BuiltModule {
  const koPath = path.join(buildRoot, relPath);
  const info = readModuleInfo(koPath);
  return { name: info.name, koPath, relPath, buildRoot, info, mappings };
}

/** Workspace modules with their dependencies among them first (load order; unload is the reverse). */
export function orderByDependencies(modules: BuiltModule[]): BuiltModule[] {
  const ordered: BuiltModule[] = [];
  const visit = (m: BuiltModule, chain: string[]) => {
    if (ordered.includes(m)) return;
    if (chain.includes(m.name)) throw new Error(`module dependency cycle: ${[...chain, m.name].join(' -> ')}`);
    for (const dep of m.info.depends) {
      const local = modules.find((x) => x.name === dep);
      if (local) visit(local, [...chain, m.name]);
    }
    ordered.push(m);
  };
  [...modules].sort((a, b) => a.name.localeCompare(b.name)).forEach((m) => visit(m, []));
  return ordered;
}

/**
 * The modules to act on: those named (all when none is), each with the folder's modules it depends
 * on, in load order. A name the folder does not build is a usage error listing the ones it does.
 */
export function selectModules(modules: BuiltModule[], names: string[] = []): BuiltModule[] {
  if (names.length === 0) return modules;
  const byName = new Map(modules.map((m) => [m.name, m]));
  const wanted = new Set<string>();
  const add = (name: string) => {
    const module = byName.get(name.replace(/-/g, '_'));
    if (!module) throw new UsageError(`this folder builds no module ${name} (it builds: ${modules.map((m) => m.name).join(', ')})`);
    if (wanted.has(module.name)) return;
    wanted.add(module.name);
    module.info.depends.filter((d) => byName.has(d)).forEach(add);
  };
  names.forEach(add);
  return modules.filter((m) => wanted.has(m.name));
}

/** Local builds: copy the built modules into remoteDir (one tar stream). */
export async function uploadModules(target: Target, modules: BuiltModule[], ctx: StepContext): Promise<void> {
  if (target.build !== 'local' || modules.length === 0) return;
  await step('copy modules', target.name, ctx, async () => {
    await tarToRemote(target, modules[0].buildRoot, modules.map((m) => m.relPath), ctx);
  });
}

// ---------------------------------------------------------------------------------------------
// Load, unload, kernel log

export type LoadAction = 'load' | 'unload' | 'reload';

export interface LoadResult {
  ok: boolean;
  action: LoadAction;
  exitCode: number;
  /** What insmod/rmmod printed. */
  messages: string;
  /** Kernel log lines of this action (since its mark). */
  log: string[];
  problems: Problem[];
  /** The module that failed to load or unload. */
  failedModule?: string;
  failedStep?: 'insmod' | 'rmmod';
}

const KLOG_SEPARATOR = '@@LKM-KLOG@@';
/** The marker lines this tool writes to /dev/kmsg, hidden from log views. */
const MARK_LINE = /lkm-dev-mark-[0-9a-f]{12}/;

function sudoWrap(target: Target, script: string): string {
  return target.sudo ? `sudo -n sh -c ${shellQuote(script)}` : script;
}

/** One round trip: mark the kernel log, unload and/or load, print this action's log lines. */
export function loadScript(action: LoadAction, modules: Array<{ name: string; remotePath: string; args: string[] }>, mark: string): string {
  const lines = [`mark=${shellQuote(mark)}`, 'echo "$mark" > /dev/kmsg', 'rc=0'];
  if (action !== 'load') {
    for (const m of [...modules].reverse()) {
      const name = shellQuote(m.name);
      lines.push(`if [ $rc = 0 ] && grep -q "^"${name}" " /proc/modules; then rmmod ${name} 2>&1 || { rc=$?; echo "@@LKM-FAILED rmmod "${name}; }; fi`);
    }
  }
  if (action !== 'unload') {
    for (const m of modules) {
      lines.push(`if [ $rc = 0 ]; then ${shellCommand(['insmod', m.remotePath, ...m.args])} 2>&1 || { rc=$?; echo "@@LKM-FAILED insmod "${shellQuote(m.name)}; }; fi`);
    }
  }
  lines.push(`echo ${KLOG_SEPARATOR}`, 'dmesg | sed -n "/$mark/,\\$p"', 'exit $rc');
  // One compound command: sh reads all of it from stdin before running any line.
  return `{\n${lines.join('\n')}\n}\n`;
}

export interface LoadOptions extends StepContext {
  /** Parameter values per module name (validated against each module's parm: entries). */
  params?: Record<string, ParamValue[]>;
  /** How long insmod/rmmod may take before the target counts as hung (default STEP_TIMEOUTS_MS.load). */
  timeoutMs?: number;
}

export async function loadModules(target: Target, action: LoadAction, modules: BuiltModule[], options: LoadOptions): Promise<LoadResult> {
  if (modules.length === 0) throw new StepError(action, target.name, new Error('no .ko module was built in this folder'));
  const args = insmodArguments(modules, options.params);
  const plan = modules.map((m) => ({ name: m.name, remotePath: path.posix.join(target.remoteDir, m.relPath), args: args.get(m.name)! }));
  return step(action, target.name, options, async () => {
    const mark = `lkm-dev-mark-${randomBytes(6).toString('hex')}`; // matches MARK_LINE
    const since = target.guest ? consoleOffset(target.guest) : 0;
    const startedAt = Date.now();
    let result;
    try {
      // The script goes through stdin: the command line stays the same size for any number of modules.
      const script = loadScript(action, plan, mark);
      // One load at a time per target: two reloads of one module would meet as "File exists".
      result = await withLock(targetLock(target, 'modules'), `the modules of ${target.name}`, lockOptions(options, 300_000), () =>
        target.connection.exec(target.sudo ? 'sudo -n sh -s' : 'sh -s', { timeoutMs: options.timeoutMs ?? STEP_TIMEOUTS_MS.load, signal: options.signal, input: script }),
      );
    } catch (error) {
      if (error instanceof SshError) throw await targetLost(target, error, since, startedAt);
      throw error;
    }
    const at = result.stdout.lastIndexOf(`${KLOG_SEPARATOR}\n`);
    // ssh's own 255 before the script's end: the connection died under the load (a panic, a hang
    // that outlived ServerAlive), not a failed insmod.
    if (result.code === 255 && at < 0) {
      const lost = `${target.name}: the connection was lost during ${action}${result.stderr.trim() ? ` (${result.stderr.trim().split('\n').pop()})` : ''}`;
      throw await targetLost(target, new SshError('transport', lost), since, startedAt);
    }
    const messages = at >= 0 ? result.stdout.slice(0, at) : result.stdout;
    const log = (at >= 0 ? result.stdout.slice(at + KLOG_SEPARATOR.length + 1) : '').split('\n').filter((l) => l && !l.includes(mark));
    const failed = /@@LKM-FAILED (insmod|rmmod) (\S+)/.exec(messages);
    const problems = parseKernelLog(log);
    await decodeFrames(problems.flatMap((p) => p.frames ?? []), modules.map(debugInfo), options.signal);
    locateKernelProblems(problems);
    if (failed?.[1] === 'insmod') problems.unshift(insmodProblem(failed[2], messages, result.code));
    const kernelErrors = problems.some((p) => p.source === 'kernel' && p.severity === 'error');
    return {
      ok: result.code === 0 && !failed && !kernelErrors,
      action,
      exitCode: result.code,
      messages: messages.replace(/@@LKM-FAILED .*\n?/g, ''),
      log,
      problems,
      failedModule: failed?.[2],
      failedStep: failed?.[1] as 'insmod' | 'rmmod' | undefined,
    };
  });
}

/** The error for a target lost during a load; the test VM's serial console tells what happened to it. */
async function targetLost(target: Target, error: SshError, since: number, startedAt: number): Promise<Error> {
  if (!target.guest) return error;
  const { report, exited } = await diagnoseLostGuest(target.guest, since, startedAt);
  const state = exited ? 'The test VM stopped' : 'The test VM no longer answers';
  const hint = exited ? 'Start it again with: lkm vm start' : 'Restart it with: lkm vm stop && lkm vm start';
  return new Error(`${error.message}\n${state}.${report ? ` Last console output of the test VM:\n${report}` : ''}\n${hint} (lkm run does it by itself)`);
}

/** Validated insmod arguments per module; throws ParamError for a parameter the modules do not declare or accept. */
export function insmodArguments(modules: BuiltModule[], params: Record<string, ParamValue[]> = {}): Map<string, string[]> {
  for (const name of Object.keys(params)) {
    if (!modules.some((m) => m.name === name)) throw new ParamError(`parameters given for ${name}, which this folder does not build (it builds: ${modules.map((m) => m.name).join(', ')})`);
  }
  return new Map(modules.map((m) => [m.name, validateParams(m.name, m.info.params, params[m.name] ?? [])]));
}

function insmodProblem(module: string, messages: string, code: number): Problem {
  const text = messages.replace(/@@LKM-FAILED .*\n?/g, '').trim().split('\n').pop() || (code === 137 ? 'insmod was killed (the module crashed in its init)' : `insmod exited with ${code}`);
  return { source: 'kernel', severity: 'error', message: `insmod ${module}: ${text}`, module };
}

function debugInfo(m: BuiltModule): ModuleDebugInfo {
  return { name: m.name, koPath: m.koPath, mappings: m.mappings };
}

/** The module's lines of the kernel log (those naming it, and reports that point into it). */
export function filterLogForModule(lines: string[], moduleName: string): string[] {
  const reports = parseKernelLog(lines).filter((p) => p.module === moduleName);
  const reportLines = new Set(reports.flatMap((p) => p.report ?? []));
  const names = [moduleName, moduleName.replace(/_/g, '-')];
  return lines.filter((l) => names.some((n) => l.includes(n)) || reportLines.has(stripTimestamp(l)));
}

/** The kernel log (whole buffer); `follow` streams new lines from /dev/kmsg until cancelled. */
export async function readKernelLog(target: Target, ctx: StepContext & { follow?: boolean; onLine?: (line: string) => void }): Promise<string[]> {
  return step('kernel log', target.name, ctx, async () => {
    if (!ctx.follow) {
      const result = await remote(target, sudoWrap(target, 'dmesg'), ctx);
      return result.stdout.split('\n').filter((l) => l && !MARK_LINE.test(l));
    }
    const lines: string[] = [];
    let pending = '';
    // /dev/kmsg records: "prio,seq,usec,flags;message"; continuation lines start with a space.
    const onStdout = (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const record of parts) {
        const m = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(record);
        if (!m) continue;
        const line = `[${(Number(m[1]) / 1e6).toFixed(6).padStart(12)}] ${m[2]}`;
        if (MARK_LINE.test(line)) continue;
        lines.push(line);
        ctx.onLine?.(line);
      }
    };
    await target.connection
      .exec(sudoWrap(target, 'cat /dev/kmsg'), { timeoutMs: 24 * 3600_000, signal: ctx.signal, onStdout })
      .catch((error) => {
        if (!(error instanceof CancelledError)) throw error;
      });
    return lines;
  });
}

/** `modinfo`-style text for a built module. */
export function formatModinfo(file: string, info: KernelModuleInfo): string {
  const width = Math.max(8, ...info.entries.map(([k]) => k.length + 1));
  const lines = [`${'filename:'.padEnd(width + 1)}${file}`];
  for (const [key, value] of info.entries) {
    if (key === 'parmtype' || key === 'parm') continue;
    lines.push(`${`${key}:`.padEnd(width + 1)}${value}`);
  }
  for (const p of info.params) lines.push(`${'parm:'.padEnd(width + 1)}${p.name}:${p.description} (${p.type})`);
  return lines.join('\n');
}

/** Loaded modules on the target (`lsmod`). */
export async function listLoadedModules(target: Target, ctx: StepContext): Promise<string> {
  return step('lsmod', target.name, ctx, async () => (await remote(target, sudoWrap(target, 'lsmod'), ctx)).stdout);
}
