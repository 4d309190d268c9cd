// Runs in test/editor/workspace-c-only (no Kbuild, no Makefile), so nothing but opening a C file can
// activate the extension: this pins the onLanguage:c activation event itself.
import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import { lkmExtension, openFixture, waitFor } from './helpers';

suite('activation without a Kbuild', () => {
  test('the extension stays inactive until a C file opens, then activates', async () => {
    const extension = lkmExtension();
    assert.equal(extension.isActive, false, 'active before any C file was opened: an activation event fires too eagerly');
    const { document } = await openFixture('plain.c');
    assert.equal(document.languageId, 'c');
    await waitFor('activation by opening a C file', () => (extension.isActive ? true : undefined));
    await extension.activate();
  });
});
