// `npm run test:editor`: tests the extension inside a real VS Code (code-server 4.139.1 = VS Code
// 1.139.1, provisioned by scripts/provision-editor.sh), in two layers:
//   host — the integration suite (test/editor/suite, mocha in the extension host) started through
//          @vscode/test-electron's runTests with scripts/code-server-launcher as the executable, once
//          per fixture workspace (test/editor/workspace*);
//   ui   — playwright-core drives Debian's chromium against code-server with the packaged .vsix
//          installed (test/editor/ui), saving screenshots in test-results/editor/.
// It never skips: if the editor cannot be provisioned or started, it fails and says why.
//
// Usage: node scripts/test-editor.mjs [--layer host|ui] [--skip-build] [--build-only]
// Environment: LKM_VSCODE_EXECUTABLE runs the host layer with another VS Code executable instead of
// the code-server launcher ('download': runTests downloads desktop VS Code, where the network
// allows); LKM_EDITOR_GREP filters extension-host tests; LKM_EDITOR_VERBOSE=1 echoes code-server.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { runTests } from '@vscode/test-electron';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const outDir = path.join(root, 'out', 'test', 'editor');
const { values: options } = parseArgs({
  options: {
    layer: { type: 'string', multiple: true },
    'skip-build': { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
  },
});
const layers = options.layer ?? ['host', 'ui'];
for (const layer of layers) {
  if (!['host', 'ui'].includes(layer)) fail(`unknown --layer ${layer} (host or ui)`);
}

function fail(message) {
  console.error(`test-editor: ${message}`);
  process.exit(1);
}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail(`${what} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
}

async function bundleTests() {
  const suiteDir = path.join(root, 'test', 'editor', 'suite');
  const suiteEntries = readdirSync(suiteDir)
    .filter((f) => f === 'index.ts' || f.endsWith('.suite.ts') || f.endsWith('.activation.ts'))
    .map((f) => [`suite/${f.replace(/\.ts$/, '')}`, path.join(suiteDir, f)]);
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: Object.fromEntries([...suiteEntries, ['launcher', path.join(root, 'test', 'editor', 'harness', 'launcher.ts')]]),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    // Loaded from node_modules at run time: the host provides vscode; mocha must be the one instance
    // whose globals the suite files register with; playwright-core loads its own parts dynamically.
    external: ['vscode', 'mocha', 'playwright-core'],
    // As scripts/build.mjs: suites that import the client's core bundle jsonc-parser's ESM entry.
    alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
    logLevel: 'warning',
  });
}

const timings = [];
async function timed(name, step) {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

// Each fixture workspace with the suites that run in it (matched by file suffix in suite/index.ts).
const HOST_RUNS = [
  { workspace: 'workspace', suites: '.suite.js' },
  { workspace: 'workspace-c-only', suites: '.activation.js' },
];

async function runHostLayer({ workspace: fixture, suites }) {
  // A copy of the fixture workspace: quick-fix tests edit files, and the repository stays clean.
  const scratch = mkdtempSync(path.join(tmpdir(), 'lkm-editor-host-'));
  const workspace = path.join(scratch, 'workspace');
  cpSync(path.join(root, 'test', 'editor', fixture), workspace, { recursive: true });
  try {
    await runTests({
      // 'download' lets runTests fetch desktop VS Code, where that is possible.
      vscodeExecutablePath:
        process.env.LKM_VSCODE_EXECUTABLE === 'download'
          ? undefined
          : (process.env.LKM_VSCODE_EXECUTABLE ?? path.join(root, 'scripts', 'code-server-launcher')),
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(outDir, 'suite', 'index.js'),
      launchArgs: [workspace, `--user-data-dir=${path.join(scratch, 'user-data')}`, `--extensions-dir=${path.join(scratch, 'extensions')}`],
      extensionTestsEnv: { LKM_EDITOR_GREP: process.env.LKM_EDITOR_GREP ?? '', LKM_EDITOR_SUITES: suites },
    });
  } catch (error) {
    // fail() exits at once: clean up first.
    rmSync(scratch, { recursive: true, force: true });
    fail(`extension-host suite in ${fixture}: ${error instanceof Error ? error.message : String(error)}`);
  }
  rmSync(scratch, { recursive: true, force: true });
}

function runUiLayer() {
  run('npm', ['run', '--silent', 'package'], 'packaging the .vsix');
  const uiTests = readdirSync(path.join(root, 'test', 'editor', 'ui'))
    .filter((f) => f.endsWith('.e2e.ts'))
    .map((f) => path.join('test', 'editor', 'ui', f));
  if (uiTests.length === 0) fail('no test/editor/ui/*.e2e.ts files');
  run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...uiTests], 'the UI end-to-end run');
}

if (!options['skip-build']) await timed('build', () => run('npm', ['run', '--silent', 'build'], 'npm run build'));
await timed('bundle tests', bundleTests);
if (options['build-only']) process.exit(0);
await timed('provision', () => run('bash', [path.join(root, 'scripts', 'provision-editor.sh')], 'provisioning the editor'));
if (layers.includes('host')) for (const run of HOST_RUNS) await timed(`host layer (${run.workspace})`, () => runHostLayer(run));
if (layers.includes('ui')) await timed('ui layer', runUiLayer);
console.log(`test-editor: done (${timings.join(', ')})`);
