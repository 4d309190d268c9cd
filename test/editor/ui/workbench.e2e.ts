// UI end-to-end: the packaged .vsix installed into code-server, used through chromium as a person
// would. Screenshots of each step land in test-results/editor/ui/. Run by scripts/test-editor.mjs
// (which packages the .vsix first); LKM_VSIX overrides which package is installed.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../harness/codeServer';
import { SELECTORS, Workbench } from '../harness/workbench';

const vsix = process.env.LKM_VSIX ?? path.join(repoRoot(), 'out', 'lkm-dev.vsix');

describe('LKM Dev in the workbench', () => {
  let workbench: Workbench;

  before(async () => {
    assert.ok(existsSync(vsix), `${vsix} is missing: run npm run package (scripts/test-editor.mjs does)`);
    workbench = await Workbench.open({ vsix, workspaceFixture: 'workspace' });
  });

  after(async () => {
    await workbench?.close();
  });

  test('the installed extension contributes its commands to the palette', async () => {
    await workbench.openFile('hello/hello.c', 'lkm_hello_init');
    await workbench.page.keyboard.press('F1');
    await workbench.page.locator(SELECTORS.quickInput).fill('>LKM: ');
    const rows = workbench.page.locator(SELECTORS.quickInputRow).filter({ hasText: 'LKM: Restart Language Server' });
    await rows.first().waitFor();
    await workbench.screenshot('01-command-palette');
    await workbench.page.keyboard.press('Escape');
  });
});
