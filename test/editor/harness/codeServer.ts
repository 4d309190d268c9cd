// The one way both editor-test layers get a real VS Code here: code-server (VS Code 1.139.1 with a
// Node extension host, provisioned by scripts/provision-editor.sh) bound to loopback, isolated from
// the home folder, and Debian's chromium driven by playwright-core on its workbench page.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.LKM_CHROMIUM ?? '/usr/bin/chromium';
const HEALTH_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const INSTALL_TIMEOUT_MS = 120_000;

/** The repository root, found from this file whether it runs from source (tsx) or bundled in out/. */
export function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'lkm-dev') return dir;
  }
  throw new Error(`cannot find the lkm-dev repository above ${__dirname}`);
}

export interface EditorInstallation {
  node: string;
  codeServerEntry: string;
}

/** Where provisioning put Node 24 and code-server; throws with the fix when they are missing. */
export function locateEditor(): EditorInstallation {
  let node = process.env.LKM_EDITOR_NODE;
  let codeServerEntry = process.env.LKM_EDITOR_CODE_SERVER;
  if (!node || !codeServerEntry) {
    const script = path.join(repoRoot(), 'scripts', 'provision-editor.sh');
    const printed = spawnSync('bash', [script, '--print'], { encoding: 'utf8', timeout: 10_000 });
    if (printed.status !== 0) throw new Error(`${script} --print failed: ${printed.stderr || printed.error?.message}`);
    const value = (key: string) => /^(\w+)=(.*)$/m.exec(printed.stdout.split('\n').find((l) => l.startsWith(`${key}=`)) ?? '')?.[2];
    node ??= value('LKM_EDITOR_NODE');
    codeServerEntry ??= value('LKM_EDITOR_CODE_SERVER');
  }
  for (const [what, file] of [['Node 24', node], ['code-server', codeServerEntry]] as const) {
    if (!file || !existsSync(file)) {
      throw new Error(`${what} is not installed (${file ?? 'no path'}): run scripts/provision-editor.sh first`);
    }
  }
  return { node: node!, codeServerEntry: codeServerEntry! };
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A fresh scratch folder for one run (profiles, XDG homes, browser profile). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `lkm-editor-${prefix}-`));
}

export interface CodeServerOptions {
  userDataDir: string;
  extensionsDir: string;
  /** Lets the page's `payload` parameter start an extension test run (VS Code's own browser tests). */
  smokeTestDriver?: boolean;
  /** Echo code-server's output as it comes (LKM_EDITOR_VERBOSE=1 sets it too). */
  verbose?: boolean;
}

export interface RunningCodeServer {
  port: number;
  origin: string;
  /** Output so far, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function isolatedEnv(scratch: string): NodeJS.ProcessEnv {
  // code-server writes config.yaml and state under XDG homes: keep them out of the user's home.
  return {
    ...process.env,
    XDG_DATA_HOME: path.join(scratch, 'data'),
    XDG_CONFIG_HOME: path.join(scratch, 'config'),
    XDG_CACHE_HOME: path.join(scratch, 'cache'),
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
    // The extension's own cache (the test guest's image) stays where the user's is: rebuilding it
    // in every scratch home would cost ~40 s a run.
    LKM_CACHE_DIR: process.env.LKM_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'lkm-dev'),
  };
}

function commonArgs(options: CodeServerOptions): string[] {
  return [
    '--user-data-dir', options.userDataDir,
    '--extensions-dir', options.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
  ];
}

export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const editor = locateEditor();
  const port = await freeLoopbackPort();
  const scratch = path.join(options.userDataDir, '..', 'xdg');
  mkdirSync(scratch, { recursive: true });
  const args = [
    editor.codeServerEntry,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    ...commonArgs(options),
    '--disable-workspace-trust',
    '--ignore-last-opened',
    // The default keeps a closed page's extension host alive for 3 hours.
    '--reconnection-grace-time', '5',
    ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
  ];
  const verbose = options.verbose ?? process.env.LKM_EDITOR_VERBOSE === '1';
  // Its own process group, so stop() reaches the extension hosts and language servers it starts.
  const child = spawn(editor.node, args, { env: isolatedEnv(scratch), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (verbose) process.stderr.write(`[code-server] ${chunk}`);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exited (${code ?? signal})`)));
  const spawnFailed = new Promise<string>((resolve) => child.once('error', (error) => resolve(`failed to start: ${error.message}`)));

  const running: RunningCodeServer = {
    port,
    origin: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => stopProcessGroup(child),
  };
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let failure: string | undefined;
  void Promise.race([exited, spawnFailed]).then((reason) => (failure = reason));
  while (!failure) {
    try {
      const response = await fetch(`${running.origin}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return running;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      failure = `did not answer /healthz within ${HEALTH_TIMEOUT_MS / 1000} s`;
      break;
    }
    await sleep(100);
  }
  await running.stop();
  throw new Error(`code-server ${failure}; its output:\n${output}`);
}

async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup('SIGTERM');
    await Promise.race([exited, sleep(STOP_GRACE_MS)]);
  }
  // Even after code-server itself has exited, its extension hosts, language servers and test guests
  // may live on in its process group: end them all.
  signalGroup('SIGKILL');
}

// A fresh profile as a user would have it, less what covers the editor or waits on accounts and
// the network (the chat view waits ~10 s for a GitHub sign-in that cannot happen here).
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.ignoreRecommendations': true,
  'editor.hover.delay': 150,
  'editor.minimap.enabled': false,
};

/** Writes the profile's settings.json unless the caller's profile already has one. */
export function writeUserSettings(userDataDir: string, overrides: Record<string, unknown> = {}): void {
  const file = path.join(userDataDir, 'User', 'settings.json');
  if (existsSync(file)) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...USER_SETTINGS, ...overrides }, null, 2));
}

/** Installs a packaged extension into the given profile, the way a user's `code --install-extension` does. */
export function installExtension(vsix: string, options: CodeServerOptions): void {
  const editor = locateEditor();
  const scratch = path.join(options.userDataDir, '..', 'xdg');
  mkdirSync(scratch, { recursive: true });
  const result = spawnSync(editor.node, [editor.codeServerEntry, ...commonArgs(options), '--install-extension', vsix], {
    env: isolatedEnv(scratch),
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (result.status !== 0) {
    const reason = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    throw new Error(`installing ${vsix} into code-server failed (${reason}):\n${result.stdout}${result.stderr}`);
  }
}

/** Headless Debian chromium with a fresh profile (playwright-core downloads no browser of its own). */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium (scripts/provision-editor.sh does)`);
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1400, height: 900 },
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or rejects with `message` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const limit = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    timer = setTimeout(() => reject(new Error(`${message} (timed out after ${limit})`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
