// The extension-host side of the integration suite, the standard @vscode/test-electron way: VS Code
// loads this file from --extensionTestsPath and awaits run(); mocha runs the suites bundled beside it. The closing summary line is the plain "N passed, N failed" CI reads.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  // Each workspace has its own suites: *.suite.js for test/editor/workspace, <name>.activation.js
  // for the C-only one (scripts/test-editor.mjs says which through LKM_EDITOR_SUITES).
  const suffix = process.env.LKM_EDITOR_SUITES || '.suite.js';
  const files = readdirSync(__dirname).filter((f) => f.endsWith(suffix)).sort();
  if (files.length === 0) throw new Error(`no *${suffix} files in ${__dirname}`);
  const only = process.env.LKM_EDITOR_GREP;
  if (only) mocha.grep(only);
  for (const file of files) mocha.addFile(path.join(__dirname, file));
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
      console.log(`extension-host: ${passes} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else if (passes === 0) reject(new Error('no extension-host test ran'));
      else resolve();
    });
  });
}
