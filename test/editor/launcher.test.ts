// The launcher's half of runTests' executable contract: what it accepts and the URL it opens.
// (The whole contract runs for real in `npm run test:editor`.)
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLaunchArgs, workbenchTestUrl } from './harness/launcher';

const runTestsArgv = [
  '/tmp/ws',
  '--user-data-dir=/tmp/ud',
  '--extensions-dir=/tmp/ext',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-updates',
  '--skip-welcome',
  '--skip-release-notes',
  '--disable-workspace-trust',
  '--extensionTestsPath=/repo/out/test/editor/suite/index.js',
  '--extensionDevelopmentPath=/repo',
];

test('accepts exactly what @vscode/test-electron runTests passes', () => {
  assert.deepEqual(parseLaunchArgs(runTestsArgv), {
    extensionDevelopmentPaths: ['/repo'],
    extensionTestsPath: '/repo/out/test/editor/suite/index.js',
    userDataDir: '/tmp/ud',
    extensionsDir: '/tmp/ext',
    folder: '/tmp/ws',
  });
});

test('accepts space-separated values and several development paths', () => {
  const request = parseLaunchArgs(['--extensionDevelopmentPath', '/a', '--extensionDevelopmentPath=/b', '--extensionTestsPath', '/t.js']);
  assert.deepEqual(request.extensionDevelopmentPaths, ['/a', '/b']);
  assert.equal(request.folder, undefined);
});

test('rejects bad invocations with the reason', () => {
  assert.throws(() => parseLaunchArgs(['--extensionTestsPath=/t.js']), /--extensionDevelopmentPath is required/);
  assert.throws(() => parseLaunchArgs(['--extensionDevelopmentPath=/a']), /exactly one --extensionTestsPath/);
  assert.throws(() => parseLaunchArgs([...runTestsArgv, '--inspect-extensions=9229']), /unsupported option --inspect-extensions/);
  assert.throws(() => parseLaunchArgs([...runTestsArgv, '/tmp/other']), /at most one folder/);
  assert.throws(() => parseLaunchArgs(['--extensionTestsPath']), /needs a value/);
});

test('the workbench URL carries the run as vscode-remote URIs of the page authority', () => {
  const url = new URL(workbenchTestUrl('http://127.0.0.1:4711', parseLaunchArgs(runTestsArgv)));
  assert.equal(url.origin, 'http://127.0.0.1:4711');
  assert.equal(url.searchParams.get('folder'), '/tmp/ws');
  assert.deepEqual(JSON.parse(url.searchParams.get('payload')!), [
    ['extensionDevelopmentPath', 'vscode-remote://127.0.0.1:4711/repo'],
    ['extensionTestsPath', 'vscode-remote://127.0.0.1:4711/repo/out/test/editor/suite/index.js'],
    ['skipWelcome', 'true'],
  ]);
});
