// Issue 11's proof for clangd: every New Module template (made by the New Module code) and the
// multi-file example, checked with Debian's clangd — before the compilation database the folder's
// C files have errors (clangd cannot find <linux/…> headers, so this test can fail), after `lkm compdb`'s
// database none of the folder's files (.c and .h) has an error diagnostic.
// Needs clangd and linux-headers-amd64 (CI installs both); builds on this machine, loads nothing.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestKernelVersion, kernelBuildDir } from '../../client/src/core/guest/image';
import { generateCompileDatabase } from '../../client/src/core/intellisense/compdb';
import { createModule } from '../../client/src/core/scaffold/newModule';
import { moduleTemplates } from '../../client/src/core/scaffold/templates';
import { clangdErrors } from './clangdCheck';

const root = path.resolve(__dirname, '../..');

function sourcesOf(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const relPath = path.join(rel, entry.name);
    if (entry.isDirectory()) return sourcesOf(dir, relPath);
    return /\.[ch]$/.test(entry.name) ? [relPath] : [];
  });
}

describe('clangd finds the target kernel through compile_commands.json', { timeout: 1_800_000 }, () => {
  let kdir: string;
  let work: string;
  const folders = new Map<string, string>();

  before(async () => {
    kdir = kernelBuildDir(await guestKernelVersion());
    work = mkdtempSync(path.join(tmpdir(), 'lkm-compdb-'));
    for (const template of moduleTemplates) {
      const name = `lkmc_${template.id.replace(/-/g, '_')}`;
      folders.set(`template ${template.id}`, createModule({ name, templateId: template.id, parentDir: work, kernelBuildDir: kdir }).moduleDir);
    }
    const example = path.join(work, 'multi-file');
    cpSync(path.join(root, 'examples', 'multi-file'), example, { recursive: true });
    folders.set('examples/multi-file', example);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('covers every template and the example', () => {
    assert.equal(folders.size, moduleTemplates.length + 1);
  });

  for (const label of [...moduleTemplates.map((t) => `template ${t.id}`), 'examples/multi-file']) {
    it(`${label}: errors before the database, none after`, async (t) => {
      const dir = folders.get(label)!;
      const sources = sourcesOf(dir);
      const cFiles = sources.filter((f) => f.endsWith('.c'));
      assert.ok(cFiles.length > 0, `${dir} has no C file`);
      // Without the database clangd cannot find <linux/…> (a C file that includes only the module's
      // own header, such as the multifile template's util.c, may still parse).
      const before = new Map<string, string[]>();
      for (const file of cFiles) before.set(file, (await clangdErrors(path.join(dir, file))).map((e) => e.code));
      assert.ok([...before.values()].some((codes) => codes.includes('pp_file_not_found')), `${label}: clangd found the kernel headers without a database: ${JSON.stringify([...before])}`);

      const written = await generateCompileDatabase(dir, kdir, {});
      assert.ok(written.build.ok, `${label} did not build:\n${written.build.output}`);
      assert.deepEqual(written.entries.map((e) => path.relative(dir, e.file)).sort(), [...cFiles].sort(), 'one database entry per C file');

      for (const file of sources) {
        assert.deepEqual(await clangdErrors(path.join(dir, file)), [], `${label}/${file}: clangd errors with the database`);
      }
      t.diagnostic(`clangd errors before: ${[...before.values()].reduce((n, codes) => n + codes.length, 0)} in ${cFiles.length} C file(s); after: 0 in ${sources.length} file(s)`);
    });
  }
});
