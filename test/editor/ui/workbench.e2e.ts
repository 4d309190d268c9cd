// UI end-to-end: the packaged .vsix installed into code-server, used through chromium as a person
// would. Screenshots of each step land in test-results/editor/ui/. Run by scripts/test-editor.mjs
// (which packages the .vsix first); LKM_VSIX overrides which package is installed.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopGuest } from '../../../client/src/core/guest/vm';
import { repoRoot } from '../harness/codeServer';
import { SELECTORS, Workbench } from '../harness/workbench';

const GUEST = `ui-${process.pid}`;
const vsix = process.env.LKM_VSIX ?? path.join(repoRoot(), 'out', 'lkm-dev.vsix');

// Every wait inside has its own deadline; these bound a step, and the run, as a whole.
const STEP = { timeout: 120_000 };
const GUEST_STEP = { timeout: 300_000 };

/**
 * After a terminal test: the session ends (ssh exits, the terminal goes), then a click in the active
 * editor, as a person would — F1 is the terminal's while it has focus.
 */
async function backToEditor(workbench: Workbench): Promise<void> {
  // Whether VS Code then removes the terminal or keeps it showing the exit depends on its settings:
  // give it the time to do either, and what matters below is only where the focus is.
  await workbench.page.locator('.terminal-wrapper.active').waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
  await workbench.page.locator(`${SELECTORS.activeEditor} .view-lines`).first().click();
  await workbench.page.keyboard.press('Escape');
}

describe('LKM Dev in the workbench', { timeout: 900_000 }, () => {
  let workbench: Workbench;

  before(async () => {
    // Its own test guest ($LKM_VM_NAME reaches the extension through code-server's environment), so
    // a developer's or another run's guest is neither used nor disturbed; stopped in after().
    process.env.LKM_VM_NAME = GUEST;
    assert.ok(existsSync(vsix), `${vsix} is missing: run npm run package (scripts/test-editor.mjs does)`);
    // The terminal's DOM renderer keeps its rows as text the test can read (no GPU here anyway).
    workbench = await Workbench.open({ vsix, workspaceFixture: 'workspace', settings: { 'terminal.integrated.gpuAcceleration': 'off' } });
  }, STEP);

  after(async () => {
    await workbench?.close();
    await stopGuest(GUEST);
  }, STEP);

  test('the installed extension contributes its commands to the palette', STEP, async () => {
    await workbench.openFile('hello/hello.c', 'lkm_hello_init');
    await workbench.page.keyboard.press('F1');
    await workbench.page.locator(SELECTORS.quickInput).fill('>LKM: ');
    const rows = workbench.page.locator(SELECTORS.quickInputRow).filter({ hasText: 'LKM: Restart Language Server' });
    await rows.first().waitFor();
    await workbench.screenshot('01-command-palette');
    await workbench.page.keyboard.press('Escape');
  });

  test('the walkthrough: make a module, build it, load it, see the log', STEP, async () => {
    const { page } = workbench;
    await workbench.runCommand('Welcome: Open Walkthrough...');
    await page.locator(SELECTORS.quickInputRow).filter({ hasText: 'Get started with kernel modules' }).first().click();
    for (const step of ['Make a module', 'Choose where it runs', 'Build and load it', 'See the kernel log']) await page.locator('.gettingStartedContainer').getByText(step, { exact: true }).first().waitFor();
    // Only for the picture: the step's markdown renders in a nested webview frame, given a moment to
    // show (what the test asserts is above; a missing frame must not fail it).
    await page.frameLocator('.getting-started-media iframe').frameLocator('iframe').getByText('asks for a name').first().waitFor({ timeout: 15_000 }).catch(() => undefined);
    await workbench.screenshot('00-walkthrough');
    await workbench.runCommand('View: Close All Editors');
  });

  test('a rule violation shows a squiggle, a hover with the rule id and a Problems row', STEP, async () => {
    await workbench.openFile('nolicense/nolicense.c', 'lkm_e2e_nolicense_init');
    const squiggle = await workbench.waitForSquiggle();
    await workbench.screenshot('02-squiggle');
    const hover = await workbench.hoverText(squiggle);
    assert.match(hover, /missing-module-license/);
    await workbench.screenshot('03-hover');
    await workbench.page.keyboard.press('Escape');
    const rows = await workbench.openProblems();
    const row = rows.filter({ hasText: 'missing-module-license' }).first();
    await row.waitFor();
    assert.match(await row.innerText(), /lkm/);
    await workbench.screenshot('04-problems');
  });

  test('the hover of a sleep-in-atomic squiggle names the rule and the held lock', STEP, async () => {
    await workbench.openFile('atomic/atomic.c', 'lkm_e2e_atomic_init');
    const squiggle = await workbench.waitForSquiggle();
    const hover = await workbench.hoverText(squiggle);
    assert.match(hover, /sleep-in-atomic/);
    assert.match(hover, /msleep\(\)[\s\S]*lkm_e2e_atomic_lock/);
    await workbench.screenshot('03b-hover-sleep-in-atomic');
    await workbench.page.keyboard.press('Escape');
  });

  test('the quick fix from the light bulb adds the license and clears the squiggle', STEP, async () => {
    await workbench.openFile('nolicense/nolicense.c', 'lkm_e2e_nolicense_init');
    const squiggle = await workbench.waitForSquiggle();
    const { x, y } = await workbench.centreOf(squiggle);
    await workbench.page.mouse.click(x, y);
    const lightBulb = workbench.page.locator(`${SELECTORS.activeEditor} ${SELECTORS.lightBulb}`);
    await lightBulb.waitFor();
    await lightBulb.click();
    const fix = workbench.page.locator(SELECTORS.actionWidgetRow).filter({ hasText: /license/i }).first();
    await fix.waitFor();
    await workbench.screenshot('05-light-bulb');
    await fix.click();
    await workbench.page.locator(SELECTORS.editorText).filter({ hasText: /MODULE_LICENSE\("/ }).waitFor();
    await workbench.page.locator(`${SELECTORS.activeEditor} ${SELECTORS.squiggle}`).waitFor({ state: 'detached', timeout: 30_000 });
    await workbench.screenshot('06-fixed');
  });

  test('LKM: Build and Load runs the module in the test guest and shows its log line', GUEST_STEP, async () => {
    await workbench.openFile('hello/hello.c', 'lkm_hello_init');
    await workbench.runCommand('LKM: Build and Load');
    // A cold guest image takes ~40 s to assemble, a warm boot ~4 s, the load itself ~1 s.
    const logLine = workbench.page.locator(SELECTORS.outputText).filter({ hasText: 'lkm_hello: loaded' });
    try {
      await logLine.waitFor({ timeout: 240_000 });
    } catch (error) {
      await workbench.screenshot('07-build-and-load-failed');
      const notifications = await workbench.page.locator(SELECTORS.notification).allInnerTexts();
      throw new Error(`no "lkm_hello: loaded" in the LKM Kernel Log (notifications: ${notifications.join(' | ') || 'none'}): ${(error as Error).message}`);
    }
    await workbench.screenshot('07-kernel-log');
  });

  test('the LKM status item names the target and the running test VM; a click opens the actions', STEP, async () => {
    const { page } = workbench;
    const item = page.locator('.statusbar-item').filter({ hasText: 'test-vm (running)' }).first();
    await item.waitFor({ timeout: 30_000 });
    await workbench.screenshot('11-status-item');
    await item.click();
    const rows = page.locator(SELECTORS.quickInputRow);
    for (const action of ['Build and Load', 'Select Target', 'Stop Test VM', 'Open Guest Shell', 'Loaded Modules']) await rows.filter({ hasText: action }).first().waitFor();
    await workbench.screenshot('12-status-actions');
    await rows.filter({ hasText: 'Loaded Modules' }).first().click();
  });

  test('the Modules view lists the loaded module; Unload and Build and Load inline, and it refreshes after each', GUEST_STEP, async () => {
    const { page } = workbench;
    const pane = page.locator('.pane').filter({ has: page.locator('.pane-header', { hasText: 'LKM Modules' }) });
    const hello = pane.locator('.monaco-list-row').filter({ hasText: /^hello/ }).first();
    await hello.filter({ hasText: 'live' }).waitFor({ timeout: 60_000 });
    // The workspace's other modules are there too, not loaded.
    await pane.locator('.monaco-list-row').filter({ hasText: 'atomic' }).filter({ hasText: 'not loaded' }).first().waitFor();
    await workbench.screenshot('13-modules-view');
    await hello.hover();
    await hello.locator('.action-label[aria-label="Unload"]').click();
    await hello.filter({ hasText: 'not loaded' }).waitFor({ timeout: 60_000 });
    await hello.hover();
    await hello.locator('.action-label[aria-label="Build and Load"]').click();
    await hello.filter({ hasText: 'live' }).waitFor({ timeout: 120_000 });
  });

  test('LKM: Open Guest Shell opens a shell on the test VM', STEP, async () => {
    const { page } = workbench;
    await workbench.runCommand('LKM: Open Guest Shell');
    const terminal = page.locator('.terminal-wrapper.active .xterm-rows');
    await terminal.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    await page.keyboard.type('echo lkm-shell-$((6*7)) $(uname -r)\n');
    await terminal.filter({ hasText: 'lkm-shell-42' }).waitFor({ timeout: 30_000 });
    await workbench.screenshot('14-guest-shell');
    await page.keyboard.type('exit\n');
    await backToEditor(workbench);
  });

  test('LKM: Run Program in Guest builds the folder\'s userspace program and runs it there', GUEST_STEP, async () => {
    const { page } = workbench;
    await workbench.openFile('hello/hello.c', 'lkm_hello_init');
    await workbench.runCommand('LKM: Run Program in Guest…');
    const terminal = page.locator('.terminal-wrapper.active .xterm-rows');
    await terminal.filter({ hasText: 'hello_user: running on Linux' }).waitFor({ timeout: 120_000 });
    await terminal.filter({ hasText: 'exited with 0' }).waitFor();
    await workbench.screenshot('15-run-in-guest');
    await page.keyboard.press('Enter');
    await backToEditor(workbench);
  });

  test('LKM: Build and Load of a module that does not compile puts the error in Problems', GUEST_STEP, async () => {
    await workbench.openFile('broken/broken.c', 'lkm_e2e_broken_init');
    await workbench.runCommand('LKM: Build and Load');
    const rows = await workbench.openProblems();
    const compilerError = rows.filter({ hasText: 'lkm_e2e_undeclared_value' }).filter({ hasText: /\[Ln 7, Col \d+\]/ }).first();
    try {
      await compilerError.waitFor({ timeout: 240_000 });
    } catch (error) {
      await workbench.screenshot('08-build-error-failed');
      throw new Error(`no compiler error for broken.c line 7 in Problems: ${(error as Error).message}`);
    }
    assert.match(await compilerError.innerText(), /kbuild/);
    await workbench.screenshot('08-build-error-problems');
  });

  test('LKM: New Module… scaffolds a module that is lint-clean and loads in the test guest', GUEST_STEP, async () => {
    const { page } = workbench;
    await workbench.runCommand('LKM: New Module…');
    const input = page.locator(SELECTORS.quickInput);
    await page.locator('.quick-input-widget').filter({ hasText: 'New Module (1/2)' }).waitFor();
    await input.fill('lkm_e2e_new');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').filter({ hasText: 'New Module (2/2)' }).waitFor();
    await input.fill('skeleton');
    await page.locator(SELECTORS.quickInputRow).filter({ hasText: 'Module skeleton' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator(SELECTORS.editorText).filter({ hasText: 'lkm_e2e_new_init' }).waitFor();
    assert.ok(existsSync(path.join(workbench.workspace, 'lkm_e2e_new', 'lkm_e2e_new.c')), 'the module source was not created');
    await workbench.screenshot('09-new-module');

    await workbench.runCommand('LKM: Build and Load');
    // A string, not a regular expression: the editor renders spaces as no-break spaces, which only
    // Playwright's text matching normalises.
    try {
      await page.locator(SELECTORS.outputText).filter({ hasText: '--- lkm_e2e_new loaded on' }).waitFor({ timeout: 240_000 });
    } catch (error) {
      await workbench.screenshot('10-new-module-failed');
      throw error;
    }
    // The language server has had the whole build to lint the new file: a template must be clean.
    assert.equal(await page.locator(`${SELECTORS.activeEditor} ${SELECTORS.squiggle}`).count(), 0, 'the new module has lint findings');
    await workbench.screenshot('10-new-module-loaded');
  });
});
