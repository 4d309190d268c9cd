// The C/C++ extension provider's answers (core/intellisense/cppConfiguration, read from the written
// compile_commands.json) checked against the kbuild command line of the same file: the `.o.cmd` line
// kbuild wrote, split into words by the real shell. And the answers are enough to compile: gcc given
// only them (include paths, defines, forced includes, compiler args) parses the file without error.
// Builds examples/multi-file on this machine against linux-headers-amd64; loads nothing.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestKernelVersion, kernelBuildDir } from '../../client/src/core/guest/image';
import { generateCompileDatabase, readCompileDatabase, type CompileCommand } from '../../client/src/core/intellisense/compdb';
import { commandForFile, cppConfiguration } from '../../client/src/core/intellisense/cppConfiguration';
import { runProcess } from '../../client/src/core/targets/process';
import { buildMirrorDir } from '../../client/src/core/targets/session';

const root = path.resolve(__dirname, '../..');

/** argv of the compilation in kbuild's `.NAME.o.cmd`, as sh splits it (objtool after ` ; ` dropped). */
async function kbuildArgv(cmdFile: string): Promise<string[]> {
  const line = readFileSync(cmdFile, 'utf8').split('\n')[0];
  const command = line.slice(line.indexOf(':=') + 2).split(' ; ')[0];
  const result = await runProcess('sh', ['-c', 'eval "set -- $0"; printf "%s\\0" "$@"', command], { timeoutMs: 10_000 });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

/** The value of every `FLAG value` / `FLAGvalue` occurrence, in order. */
function valuesOf(argv: string[], flag: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === flag) values.push(argv[i + 1]);
    else if (flag.length === 2 && arg.startsWith(flag)) values.push(arg.slice(2));
  });
  return values;
}

describe('C/C++ extension configuration from the kbuild command line', { timeout: 600_000 }, () => {
  let kdir: string;
  let work: string;
  let dir: string;
  let commands: CompileCommand[];

  before(async () => {
    kdir = kernelBuildDir(await guestKernelVersion());
    work = mkdtempSync(path.join(tmpdir(), 'lkm-cpptools-'));
    dir = path.join(work, 'multi-file');
    cpSync(path.join(root, 'examples', 'multi-file'), dir, { recursive: true });
    const written = await generateCompileDatabase(dir, kdir, {});
    assert.ok(written.build.ok, written.build.output);
    commands = readCompileDatabase(dir) ?? [];
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const [source, cmdFile] of [['main.c', '.main.o.cmd'], ['lib/stats.c', 'lib/.stats.o.cmd']]) {
    it(`${source}: include paths, defines, forced includes, compiler and standard are kbuild's`, async () => {
      const mirror = buildMirrorDir(dir, kdir);
      // kbuild compiled a copy of the folder (the build mirror); the provider answers for the folder itself.
      const toLocal = (arg: string) => arg.split(`${mirror}/`).join(`${dir}/`);
      const argv = (await kbuildArgv(path.join(mirror, cmdFile))).map(toLocal);
      const command = commandForFile(commands, path.join(dir, source));
      assert.ok(command, `no command for ${source}`);
      const config = cppConfiguration(command);

      assert.deepEqual(config.includePath, valuesOf(argv, '-I').map((p) => path.resolve(kdir, p)));
      assert.ok(config.includePath.includes(path.join(dir, 'include')), 'the Kbuild ccflags-y folder, as the workspace path');
      assert.deepEqual(config.defines, valuesOf(argv, '-D'));
      assert.ok(config.defines.includes('KBUILD_MODNAME="lkm_multi"'), 'shell quoting removed as sh removes it');
      assert.deepEqual(config.forcedInclude, valuesOf(argv, '-include').map((p) => path.resolve(kdir, p)));
      const compiler = await runProcess('sh', ['-c', 'command -v "$0"', argv[0]], { timeoutMs: 10_000 });
      assert.equal(config.compilerPath, compiler.stdout.trim());
      assert.equal(config.standard, argv.find((a) => a.startsWith('-std='))?.slice('-std='.length));
      assert.equal(config.intelliSenseMode, 'linux-gcc-x64');
    });
  }

  it('a header gets the flags of the nearest compiled file', () => {
    const header = path.join(dir, 'include', 'lkm_multi.h');
    const forHeader = cppConfiguration(commandForFile(commands, header)!);
    const forMain = cppConfiguration(commandForFile(commands, path.join(dir, 'main.c'))!);
    assert.deepEqual(forHeader.includePath, forMain.includePath);
    assert.deepEqual(forHeader.forcedInclude, forMain.forcedInclude);
  });

  for (const source of ['main.c', 'lib/stats.c', 'include/lkm_multi.h']) {
    it(`${source}: gcc given only the answers parses it without error`, async () => {
      const file = path.join(dir, source);
      const config = cppConfiguration(commandForFile(commands, file)!);
      const args = [
        ...config.compilerArgs,
        ...(config.standard ? [`-std=${config.standard}`] : []),
        ...config.includePath.map((p) => `-I${p}`),
        ...config.defines.map((d) => `-D${d}`),
        ...config.forcedInclude.flatMap((f) => ['-include', f]),
        '-fsyntax-only',
        ...(source.endsWith('.h') ? ['-x', 'c'] : []),
        file,
      ];
      const result = await runProcess(config.compilerPath, args, { cwd: work, timeoutMs: 120_000 });
      assert.equal(result.code, 0, `${config.compilerPath} ${args.join(' ')}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /error:/);
    });
  }
});
