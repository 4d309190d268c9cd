// Satisfies the executable contract of @vscode/test-electron's `runTests({ vscodeExecutablePath })`
// (and @vscode/test-cli's `useInstallation.fromPath`) with code-server: it is spawned with
// `--extensionDevelopmentPath=… --extensionTestsPath=… --user-data-dir=… --extensions-dir=… [folder]`
// and exits with the test run's exit code. The workbench starts the run from the `payload` URL
// parameter and reports back through `codeAutomationLog`/`codeAutomationExit`, the mechanism of VS
// Code's own browser integration tests. Every way it can fail ends in exit code 1 with the reason.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import { launchChromium, repoRoot, scratchDir, startCodeServer, withTimeout, writeUserSettings, type RunningCodeServer } from './codeServer';
import type { BrowserContext } from 'playwright-core';

export interface LaunchRequest {
  extensionDevelopmentPaths: string[];
  extensionTestsPath: string;
  userDataDir?: string;
  extensionsDir?: string;
  folder?: string;
}

// Electron/desktop flags runTests always passes; they have no meaning for a browser workbench.
const DESKTOP_ONLY_FLAGS = new Set([
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-updates',
  '--skip-welcome',
  '--skip-release-notes',
  '--disable-workspace-trust',
  '--disable-extensions',
  '--new-window',
]);
const VALUE_FLAGS = ['--extensionDevelopmentPath', '--extensionTestsPath', '--user-data-dir', '--extensions-dir'] as const;

export function parseLaunchArgs(argv: string[]): LaunchRequest {
  const values: Record<(typeof VALUE_FLAGS)[number], string[]> = {
    '--extensionDevelopmentPath': [],
    '--extensionTestsPath': [],
    '--user-data-dir': [],
    '--extensions-dir': [],
  };
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inlineValue] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
      const value = inlineValue ?? argv[++i];
      if (!value) throw new Error(`${flag} needs a value`);
      values[flag as (typeof VALUE_FLAGS)[number]].push(path.resolve(value));
    } else if (DESKTOP_ONLY_FLAGS.has(flag)) {
      continue;
    } else if (arg.startsWith('-')) {
      throw new Error(`unsupported option ${arg} (supported: ${VALUE_FLAGS.join(', ')}, a folder, and the desktop-only flags runTests passes)`);
    } else {
      positionals.push(path.resolve(arg));
    }
  }
  if (values['--extensionDevelopmentPath'].length === 0) throw new Error('--extensionDevelopmentPath is required');
  if (values['--extensionTestsPath'].length !== 1) throw new Error('exactly one --extensionTestsPath is required');
  if (positionals.length > 1) throw new Error(`at most one folder to open, got ${positionals.join(', ')}`);
  return {
    extensionDevelopmentPaths: values['--extensionDevelopmentPath'],
    extensionTestsPath: values['--extensionTestsPath'][0]!,
    userDataDir: values['--user-data-dir'].at(-1),
    extensionsDir: values['--extensions-dir'].at(-1),
    folder: positionals[0],
  };
}

/** The workbench URL that starts the test run; paths become vscode-remote URIs of the page's authority. */
export function workbenchTestUrl(origin: string, request: LaunchRequest): string {
  const authority = new URL(origin).host;
  const remote = (file: string) => `vscode-remote://${authority}${encodeURI(file)}`;
  const payload = [
    ...request.extensionDevelopmentPaths.map((p) => ['extensionDevelopmentPath', remote(p)]),
    ['extensionTestsPath', remote(request.extensionTestsPath)],
    ['skipWelcome', 'true'],
  ];
  const folder = request.folder ? `folder=${encodeURIComponent(request.folder)}&` : '';
  return `${origin}/?${folder}payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

// Workbench chatter unrelated to the extension (features that need an account or the network).
const WORKBENCH_NOISE =
  /^(\[[\w :-]+\] |Resolving connection token|Resolved connection token|Creating a socket|(Ignoring fetching|Updating) additional builtin extensions|Timed out waiting for authentication provider|Creation of workbench contribution)/;
const verbose = process.env.LKM_EDITOR_VERBOSE === '1';
function runTimeoutMs(): number {
  const seconds = Number(process.env.LKM_EDITOR_RUN_TIMEOUT_S ?? 300);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`LKM_EDITOR_RUN_TIMEOUT_S must be a positive number of seconds, got "${process.env.LKM_EDITOR_RUN_TIMEOUT_S}"`);
  }
  return seconds * 1000;
}

function resultsDir(): string {
  const dir = path.join(repoRoot(), 'test-results', 'editor');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function runInCodeServer(request: LaunchRequest): Promise<number> {
  const timeoutMs = runTimeoutMs();
  const scratch = scratchDir('launcher');
  const userDataDir = request.userDataDir ?? path.join(scratch, 'user-data');
  const extensionsDir = request.extensionsDir ?? path.join(scratch, 'extensions');
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir);

  let server: RunningCodeServer | undefined;
  let browser: BrowserContext | undefined;
  try {
    server = await startCodeServer({ userDataDir, extensionsDir, smokeTestDriver: true });
    browser = await launchChromium(path.join(scratch, 'chromium'));
    const page = browser.pages()[0] ?? (await browser.newPage());
    let reportExit!: (code: number) => void;
    const exitCode = new Promise<number>((resolve) => (reportExit = resolve));
    // Everything the workbench and the extension host print goes to the log file; the terminal gets
    // all but the workbench's own start-up chatter.
    const consoleLog = path.join(resultsDir(), 'workbench-console.log');
    writeFileSync(consoleLog, '');
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      // console.* arguments: mocha's reporter passes printf-style format strings.
      const line = format(...args);
      appendFileSync(consoleLog, `${type}: ${line}\n`);
      if (WORKBENCH_NOISE.test(line) && !verbose) return;
      (type === 'error' || type === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => reportExit(code));
    page.on('pageerror', (error) => process.stderr.write(`[workbench page error] ${error.message}\n`));
    const pageClosed = new Promise<never>((_, reject) => page.once('close', () => reject(new Error('the workbench page closed before the tests finished'))));
    // Closing the browser on the way out rejects it too; only the race below is interested.
    pageClosed.catch(() => undefined);
    await page.goto(workbenchTestUrl(server.origin, request), { timeout: 30_000 });
    try {
      return await withTimeout(Promise.race([exitCode, pageClosed]), timeoutMs, 'the extension test run did not finish');
    } catch (error) {
      const shot = path.join(resultsDir(), 'launcher-failure.png');
      await page.screenshot({ path: shot }).catch(() => undefined);
      throw new Error(`${(error as Error).message}; workbench screenshot: ${shot}`);
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let code: number;
  try {
    code = await runInCodeServer(parseLaunchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(`code-server-launcher: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  }
  process.exit(code);
}

if (require.main === module) void main();
