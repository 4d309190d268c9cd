// Drives the code-server workbench in chromium the way a person does (keyboard, visible widgets), for
// the UI end-to-end run. Selectors are VS Code's own widget classes (measured on VS Code 1.139.1).
import * as assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { installExtension, launchChromium, writeUserSettings, repoRoot, scratchDir, startCodeServer, type RunningCodeServer } from './codeServer';

export const SELECTORS = {
  workbench: '.monaco-workbench',
  editorText: '.editor-instance .monaco-editor .view-lines',
  activeEditor: '.editor-group-container.active .monaco-editor',
  squiggle: '.squiggly-error, .squiggly-warning, .squiggly-info',
  hover: '.monaco-hover:not(.hidden)',
  quickInput: '.quick-input-widget .quick-input-box input',
  quickInputRow: '.quick-input-widget .quick-input-list .monaco-list-row',
  problemsRow: '.markers-panel .monaco-list-row',
  notification: '.notifications-toasts .notification-list-item-message',
  outputText: '.output-view .view-lines',
  lightBulb: '.lightBulbWidget',
  actionWidgetRow: '.action-widget .monaco-list-row.action',
} as const;


export const SCREENSHOT_DIR = path.join(repoRoot(), 'test-results', 'editor', 'ui');

export interface WorkbenchOptions {
  vsix: string;
  /** A folder under test/editor/ copied to a scratch place, so edits leave the repository clean. */
  workspaceFixture: string;
  settings?: Record<string, unknown>;
}

export class Workbench {
  private constructor(
    readonly page: Page,
    readonly workspace: string,
    private readonly server: RunningCodeServer,
    private readonly browser: BrowserContext,
    private readonly scratch: string,
  ) {}

  static async open(options: WorkbenchOptions): Promise<Workbench> {
    const scratch = scratchDir('ui');
    const userDataDir = path.join(scratch, 'user-data');
    const extensionsDir = path.join(scratch, 'extensions');
    const workspace = path.join(scratch, 'workspace');
    mkdirSync(extensionsDir, { recursive: true });
    writeUserSettings(userDataDir, options.settings);
    cpSync(path.join(repoRoot(), 'test', 'editor', options.workspaceFixture), workspace, { recursive: true });
    installExtension(options.vsix, { userDataDir, extensionsDir });
    let server: RunningCodeServer | undefined;
    let browser: BrowserContext | undefined;
    try {
      server = await startCodeServer({ userDataDir, extensionsDir });
      browser = await launchChromium(path.join(scratch, 'chromium'));
      const page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(20_000);
      await page.goto(`${server.origin}/?folder=${encodeURIComponent(workspace)}`, { timeout: 30_000 });
      await page.locator(SELECTORS.workbench).waitFor();
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      return new Workbench(page, workspace, server, browser, scratch);
    } catch (error) {
      await browser?.close().catch(() => undefined);
      await server?.stop();
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /**
   * F1, then the typed text; the first row matching `rowText` is chosen with Enter. The palette lists
   * what is registered when it opens, and extensions register while the workbench starts: like a
   * person, close it and look again until the row shows up.
   */
  private async quickInput(text: string, rowText: string | RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const input = this.page.locator(SELECTORS.quickInput);
    const row = this.page.locator(SELECTORS.quickInputRow).filter({ hasText: rowText }).first();
    for (;;) {
      await this.page.keyboard.press('F1');
      await input.waitFor();
      await input.fill(text);
      try {
        await row.waitFor({ timeout: 3_000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`no "${rowText}" in the quick input for "${text}" within ${timeoutMs / 1000} s: ${(error as Error).message}`);
        await this.page.keyboard.press('Escape');
      }
    }
    await this.page.keyboard.press('Enter');
  }

  async runCommand(title: string): Promise<void> {
    await this.quickInput(`>${title}`, title);
  }

  /** Opens a workspace file through Quick Open and waits until its text is on screen. */
  async openFile(relativePath: string, expectedText: string): Promise<Locator> {
    await this.quickInput(relativePath, path.basename(relativePath));
    const text = this.page.locator(SELECTORS.editorText).filter({ hasText: expectedText });
    await text.waitFor();
    return text;
  }

  /** The visible editor's text as the user sees it (non-breaking spaces normalised). */
  async editorText(): Promise<string> {
    const text = await this.page.locator(SELECTORS.editorText).first().innerText();
    return text.replace(/\u00a0/g, ' ');
  }

  /** The first squiggle of the active editor, once the server has published one. */
  async waitForSquiggle(timeoutMs = 30_000): Promise<Locator> {
    const squiggle = this.page.locator(`${SELECTORS.activeEditor} ${SELECTORS.squiggle}`).first();
    await squiggle.waitFor({ timeout: timeoutMs });
    return squiggle;
  }

  /** Centre of a decoration: squiggles lie under the text layer, so the mouse goes to coordinates. */
  async centreOf(element: Locator): Promise<{ x: number; y: number }> {
    const box = await element.boundingBox();
    assert.ok(box, 'the element is not visible');
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  }

  async hoverText(element: Locator): Promise<string> {
    const { x, y } = await this.centreOf(element);
    await this.page.mouse.move(x, y);
    const hover = this.page.locator(SELECTORS.hover).first();
    await hover.waitFor();
    return hover.innerText();
  }

  async openProblems(): Promise<Locator> {
    await this.runCommand('View: Focus Problems');
    return this.page.locator(SELECTORS.problemsRow);
  }
}
