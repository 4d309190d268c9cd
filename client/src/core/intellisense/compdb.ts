// The module folder's compilation database (`compile_commands.json`), from the command lines kbuild
// ran in the private build mirror, with the mirror's paths turned back into the folder's and the
// flags clang rejects removed — so clangd (which looks for compile_commands.json in each file's
// folder and its parents) and the C/C++ extension's provider see the target kernel's headers.
// One file is written into the user's folder: compile_commands.json. No vscode import.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { activeTargetKernel } from '../targets/kdir';
import type { TargetSettings } from '../targets/config';
import { formatProblem } from '../targets/problems';
import { buildLocally, buildMirrorDir, type BuildResult, type StepContext } from '../targets/session';
import { clangCompatibleArguments } from './clangFlags';
import { readKbuildCommands, type KbuildCommand } from './kbuildCommands';

export const COMPILE_DATABASE = 'compile_commands.json';
const MAX_DATABASE_BYTES = 32 * 1024 * 1024;

/** An entry of compile_commands.json (the `arguments` form: no shell quoting to get wrong). */
export type CompileCommand = KbuildCommand;

export interface WrittenDatabase {
  file: string;
  entries: CompileCommand[];
  /** False when the file already had this content (clangd then has nothing to reload). */
  changed: boolean;
}

/** The folder's entries from a build folder's `.cmd` files: build paths mapped, GCC-only flags removed. */
export function databaseFromBuild(buildDir: string, localDir: string, kdir: string): CompileCommand[] {
  const buildPath = new RegExp(`${buildDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$)`, 'g');
  const toLocal = (text: string) => text.replace(buildPath, () => localDir);
  return readKbuildCommands(buildDir, kdir)
    .map((c) => ({ ...c, file: toLocal(c.file), arguments: clangCompatibleArguments(c.arguments.map(toLocal)) }))
    // Generated sources (`*.mod.c`) and files since deleted from the folder have no source to edit.
    .filter((c) => isInside(c.file, localDir) && existsSync(c.file));
}

/** Writes DIR/compile_commands.json (atomically, and only when its content changes). */
export function writeCompileDatabase(localDir: string, entries: CompileCommand[]): WrittenDatabase {
  const file = path.join(localDir, COMPILE_DATABASE);
  const text = `${JSON.stringify(entries, null, 2)}\n`;
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return { file, entries, changed: false };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
  return { file, entries, changed: true };
}

/**
 * `lkm compdb` and "LKM: Write Compilation Database": builds the folder on this machine against kdir
 * (the same incremental build as the loop's, in the same mirror) and writes the database from it.
 */
export async function generateCompileDatabase(localDir: string, kdir: string, ctx: StepContext): Promise<WrittenDatabase & { build: BuildResult }> {
  const dir = path.resolve(localDir);
  const build = await buildLocally(kdir, dir, ctx);
  const entries = databaseFromBuild(buildMirrorDir(dir, kdir), dir, kdir);
  if (!entries.length) {
    const firstError = build.problems.find((p) => p.severity === 'error');
    throw new Error(build.ok
      ? `the build of ${dir} compiled no C file of the folder`
      : `no C file of ${dir} has compiled yet, so kbuild recorded no command line: fix the build errors first${firstError ? ` (${formatProblem(firstError, dir)})` : ''}`);
  }
  return { ...writeCompileDatabase(dir, entries), build };
}

/** After a build on this machine: the database from that build's command lines (none compiled: nothing written). */
export function refreshCompileDatabase(localDir: string, kdir: string): WrittenDatabase | undefined {
  const dir = path.resolve(localDir);
  const mirror = buildMirrorDir(dir, kdir);
  if (!existsSync(mirror)) return undefined;
  const entries = databaseFromBuild(mirror, dir, kdir);
  return entries.length ? writeCompileDatabase(dir, entries) : undefined;
}

/** The kdir the database is made against: the active (or named) target's, as the linter resolves it. */
export async function compileDatabaseKdir(settings: TargetSettings, targetName?: string): Promise<string> {
  const kernel = await activeTargetKernel(() => ({ ...settings, activeTarget: targetName ?? settings.activeTarget }));
  if (kernel.kind === 'invalid') throw new Error(kernel.problem);
  if (!kernel.kdir) {
    throw new Error(kernel.kind === 'ssh'
      ? `target ${kernel.name} names no kdir: compile_commands.json needs the target kernel's build dir on this machine (set "kdir" in its lkm.targets entry)`
      : `no kernel headers for the test VM: ${kernel.problem}`);
  }
  if (!existsSync(path.join(kernel.kdir, 'Makefile'))) throw new Error(`kdir ${kernel.kdir} is not a kernel build dir on this machine (no Makefile)`);
  return kernel.kdir;
}

/** The database at DIR (or undefined when there is none); a malformed one is an error naming the file. */
export function readCompileDatabase(dir: string): CompileCommand[] | undefined {
  const file = path.join(dir, COMPILE_DATABASE);
  if (!existsSync(file)) return undefined;
  if (statSync(file).size > MAX_DATABASE_BYTES) throw new Error(`${file} is over ${MAX_DATABASE_BYTES >> 20} MB`);
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${file}: not a JSON array`);
  return raw.filter(isCompileCommand).map((c) => ({ ...c, file: path.resolve(c.directory, c.file) }));
}

function isCompileCommand(value: unknown): value is CompileCommand {
  const c = value as Partial<CompileCommand>;
  return typeof c?.file === 'string' && typeof c.directory === 'string' && Array.isArray(c.arguments) && c.arguments.every((a) => typeof a === 'string');
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
