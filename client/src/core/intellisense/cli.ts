// `lkm compdb [DIR]`: writes DIR/compile_commands.json for clangd and other clang tools, against the
// active (or --target) target's kernel; and the refresh `lkm build` does after a build on this machine.
import path from 'node:path';
import type { Command } from 'commander';
import { readWorkspaceTargetSettings, TEST_VM_TARGET } from '../targets/config';
import { formatProblems } from '../targets/loop';
import type { Target } from '../targets/session';
import { compileDatabaseKdir, generateCompileDatabase, refreshCompileDatabase, type WrittenDatabase } from './compdb';

function describe(written: WrittenDatabase, ms?: number): string {
  const took = ms === undefined ? '' : ` in ${(ms / 1000).toFixed(1)} s`;
  return `${written.changed ? 'wrote' : 'unchanged:'} ${written.file} (${written.entries.length} file${written.entries.length === 1 ? '' : 's'})${took}`;
}

export function registerIntellisenseCommands(program: Command): void {
  program
    .command('compdb [dir]')
    .description('write DIR/compile_commands.json (for clangd and other clang tools) from a build against the target kernel')
    .option('--target <name>', `target whose kdir to use (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .action(async (dir: string | undefined, opts: { target?: string }) => {
      const folder = path.resolve(dir ?? '.');
      const began = Date.now();
      const kdir = await compileDatabaseKdir(readWorkspaceTargetSettings(folder), opts.target);
      const written = await generateCompileDatabase(folder, kdir, { output: (t) => process.stderr.write(t) });
      for (const line of formatProblems(written.build.problems, process.cwd())) process.stderr.write(`${line}\n`);
      process.stdout.write(`lkm: ${describe(written, Date.now() - began)}\n`);
    });
}

/** After `lkm build`: a build that ran on this machine refreshes the folder's database (see compdb.ts). */
export function refreshAfterBuild(folder: string, target: Target): void {
  if (target.build !== 'local' || !target.kdir) return;
  const written = refreshCompileDatabase(folder, target.kdir);
  if (written) process.stderr.write(`lkm: ${describe(written)}\n`);
}
