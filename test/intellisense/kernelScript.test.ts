// The .cmd reader (core/intellisense/kbuildCommands) against the kernel's own
// scripts/clang-tools/gen_compile_commands.py, taken from Debian's linux-source tarball (the
// headers package does not ship it): on the same module build, the same files and, split by sh,
// the same command lines.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestKernelVersion, kernelBuildDir } from '../../client/src/core/guest/image';
import { readKbuildCommands } from '../../client/src/core/intellisense/kbuildCommands';
import { runProcess } from '../../client/src/core/targets/process';
import { buildLocally, buildMirrorDir } from '../../client/src/core/targets/session';
import { linuxSourceWith } from '../corpus/linuxSource';

const root = path.resolve(__dirname, '../..');

async function shWords(text: string): Promise<string[]> {
  const result = await runProcess('sh', ['-c', 'eval "set -- $0"; printf "%s\\0" "$@"', text], { timeoutMs: 10_000 });
  return result.stdout.split('\0').slice(0, -1);
}

describe("the kernel's gen_compile_commands.py and the .cmd reader agree", { timeout: 900_000 }, () => {
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'lkm-gencc-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('on examples/multi-file', async () => {
    const script = path.join(linuxSourceWith(['scripts/clang-tools']), 'scripts', 'clang-tools', 'gen_compile_commands.py');
    const kdir = kernelBuildDir(await guestKernelVersion());
    const dir = path.join(work, 'multi-file');
    cpSync(path.join(root, 'examples', 'multi-file'), dir, { recursive: true });
    assert.ok((await buildLocally(kdir, dir, {})).ok);
    const mirror = buildMirrorDir(dir, kdir);
    const output = path.join(work, 'kernel.json');
    const run = await runProcess('python3', [script, '-d', mirror, '-o', output], { cwd: kdir, timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const theirs = JSON.parse(readFileSync(output, 'utf8')) as Array<{ file: string; command: string }>;
    const ours = readKbuildCommands(mirror, kdir);
    assert.deepEqual(ours.map((c) => c.file).sort(), theirs.map((c) => c.file).sort());
    assert.ok(ours.length >= 2, 'main.c and lib/stats.c at least');
    for (const entry of theirs) {
      assert.deepEqual(ours.find((c) => c.file === entry.file)?.arguments, await shWords(entry.command), entry.file);
    }
  });
});
