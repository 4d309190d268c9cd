// The recall corpus: real upstream Linux fixes, each reversed into the Linux 6.1 source as a patch
// (test/recall/cases/NAME.patch) that turns the fixed code back into the buggy code. A header of `# key: value`
// lines before the diff names the fix and where the bug must be reported. Shared by scripts/recall.ts (which
// lints every case) and recall.test.ts (which checks that the corpus is well-formed).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CASES_DIR = path.join(__dirname, 'cases');
export const CLASSES = ['sleep-in-atomic', 'lock-imbalance'] as const;
export type BugClass = (typeof CLASSES)[number];

/** A line of a file, the file relative to the source root. Lines are 1-based. */
export interface Location {
  file: string;
  line: number;
}

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The hunk's body lines, each starting with ' ', '-' or '+'. */
  body: string[];
}

export interface FilePatch {
  /** Path relative to the source root (the `b/` side without its prefix). */
  file: string;
  hunks: Hunk[];
}

export interface RecallCase {
  name: string;
  title: string;
  source: string;
  bugClass: BugClass;
  rule: string;
  /** Where the bug is: the sleeping call, the leaking return/goto, the bad unlock (in the patched file). */
  expect: Location[];
  /** Other places whose report names the same bug, e.g. the call under the lock that reaches the sleep. */
  accept: Location[];
  note: string;
  patchPath: string;
  files: FilePatch[];
  /** The folder holding the module, relative to the source root: the patched file's folder. */
  moduleDir: string;
}

/** Every case of the corpus, sorted by name. Throws on a malformed case file, naming it. */
export function loadCases(dir = CASES_DIR): RecallCase[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith('.patch')).sort()
    .map((name) => parseCase(path.join(dir, name)));
}

export function parseCase(patchPath: string): RecallCase {
  const name = path.basename(patchPath, '.patch');
  const text = fs.readFileSync(patchPath, 'utf8');
  const header = parseHeader(text);
  const one = (key: string): string => {
    const values = header.get(key) ?? [];
    if (values.length !== 1) throw new Error(`${patchPath}: needs exactly one "# ${key}:" line, has ${values.length}`);
    return values[0];
  };
  const bugClass = one('class');
  if (!(CLASSES as readonly string[]).includes(bugClass)) throw new Error(`${patchPath}: unknown class ${bugClass}`);
  const files = parseUnifiedDiff(text);
  if (files.length === 0) throw new Error(`${patchPath}: no diff`);
  const expect = (header.get('expect') ?? []).map((value) => parseLocation(value, patchPath));
  if (expect.length === 0) throw new Error(`${patchPath}: no "# expect: FILE:LINE" line`);
  return {
    name, title: one('title'), source: one('source'), bugClass: bugClass as BugClass, rule: one('rule'), note: one('note'),
    expect, accept: (header.get('accept') ?? []).map((value) => parseLocation(value, patchPath)),
    patchPath, files, moduleDir: path.posix.dirname(files[0].file),
  };
}

function parseHeader(text: string): Map<string, string[]> {
  const header = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const match = /^#\s*([a-z]+):\s*(.*)$/.exec(line);
    if (!match) continue;
    header.set(match[1], [...(header.get(match[1]) ?? []), match[2].trim()]);
  }
  return header;
}

function parseLocation(value: string, patchPath: string): Location {
  const match = /^(\S+):(\d+)$/.exec(value);
  if (!match) throw new Error(`${patchPath}: "${value}" is not FILE:LINE`);
  return { file: match[1], line: Number(match[2]) };
}

/** The files and hunks of a unified diff (`--- a/X` / `+++ b/X` / `@@ -o,n +o,n @@`). */
export function parseUnifiedDiff(text: string): FilePatch[] {
  const files: FilePatch[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('+++ ')) {
      files.push({ file: lines[i].slice(4).trim().replace(/^b\//, ''), hunks: [] });
      continue;
    }
    const match = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]);
    if (!match || files.length === 0) continue;
    const hunk: Hunk = {
      oldStart: Number(match[1]), oldLines: match[2] === undefined ? 1 : Number(match[2]),
      newStart: Number(match[3]), newLines: match[4] === undefined ? 1 : Number(match[4]), body: [],
    };
    let oldLeft = hunk.oldLines;
    let newLeft = hunk.newLines;
    while ((oldLeft > 0 || newLeft > 0) && i + 1 < lines.length) {
      const line = lines[++i];
      hunk.body.push(line);
      if (line.startsWith('-')) oldLeft--;
      else if (line.startsWith('+')) newLeft--;
      else if (!line.startsWith('\\')) { oldLeft--; newLeft--; }
    }
    files[files.length - 1].hunks.push(hunk);
  }
  return files;
}

/** True when `line` (patched-file coordinates) lies inside one of the hunks of `file`. */
export function insideHunk(files: FilePatch[], location: Location): boolean {
  return files.some((patch) => patch.file === location.file && patch.hunks.some(
    (hunk) => location.line >= hunk.newStart && location.line < hunk.newStart + hunk.newLines));
}

/**
 * Maps a line of the unpatched (fixed) file to the patched file. Unchanged lines move by the hunks above them;
 * a line the patch replaces maps to the replacement at the same position in its block (or to the line after
 * the block when the block only deletes), so a finding on a changed statement is compared with its new form.
 */
export function mapOldLineToNew(patch: FilePatch | undefined, oldLine: number): number {
  if (!patch) return oldLine;
  let shift = 0;
  for (const hunk of patch.hunks) {
    if (oldLine < hunk.oldStart) break;
    if (oldLine >= hunk.oldStart + hunk.oldLines) {
      shift += hunk.newLines - hunk.oldLines;
      continue;
    }
    return mapInsideHunk(hunk, oldLine);
  }
  return oldLine + shift;
}

function mapInsideHunk(hunk: Hunk, oldLine: number): number {
  let oldAt = hunk.oldStart;
  let newAt = hunk.newStart;
  for (let i = 0; i < hunk.body.length; i++) {
    const line = hunk.body[i];
    if (line.startsWith('-')) {
      // A block of removed lines followed by added ones: pair them up by position.
      const removed = countRun(hunk.body, i, '-');
      const added = countRun(hunk.body, i + removed, '+');
      if (oldLine < oldAt + removed) return newAt + Math.min(oldLine - oldAt, Math.max(added - 1, 0));
      oldAt += removed;
      newAt += added;
      i += removed + added - 1;
    } else if (line.startsWith('+')) {
      newAt++;
    } else if (!line.startsWith('\\')) {
      if (oldAt === oldLine) return newAt;
      oldAt++;
      newAt++;
    }
  }
  return newAt;
}

function countRun(body: string[], from: number, prefix: string): number {
  let n = 0;
  while (from + n < body.length && body[from + n].startsWith(prefix)) n++;
  return n;
}

/**
 * The folders to copy so that the module can be linted on its own: the module's folder (its files, not its
 * subfolders, which are other modules) and the subfolders its Kbuild names objects in (`foo-y += en/x.o`).
 */
export function moduleFolders(sourceRoot: string, moduleDir: string): string[] {
  const folders = new Set([moduleDir]);
  for (const name of ['Kbuild', 'Makefile']) {
    const makefile = path.join(sourceRoot, moduleDir, name);
    if (!fs.existsSync(makefile)) continue;
    for (const match of fs.readFileSync(makefile, 'utf8').matchAll(/(?:^|[\s=])((?:[\w.-]+\/)+)[\w.-]+\.o\b/gm)) {
      const sub = path.posix.normalize(path.posix.join(moduleDir, match[1]));
      if (!sub.startsWith('..') && fs.existsSync(path.join(sourceRoot, sub))) folders.add(sub.replace(/\/$/, ''));
    }
  }
  return [...folders].sort();
}

/**
 * Copies the case's module into `copyRoot`, laid out as in the source tree: the module's folders (files only),
 * and links to the files of every folder above it and to include/ and arch/, so that includes such as
 * "../foo.h" and <linux/...> from the source tree resolve as they would in the tree.
 */
export function copyModule(sourceRoot: string, recallCase: RecallCase, copyRoot: string): void {
  for (const folder of moduleFolders(sourceRoot, recallCase.moduleDir)) copyFiles(path.join(sourceRoot, folder), path.join(copyRoot, folder));
  for (let dir = path.posix.dirname(recallCase.moduleDir); dir !== '.'; dir = path.posix.dirname(dir)) {
    linkFiles(path.join(sourceRoot, dir), path.join(copyRoot, dir));
  }
  for (const top of ['include', 'arch']) {
    if (fs.existsSync(path.join(sourceRoot, top))) fs.symlinkSync(path.join(sourceRoot, top), path.join(copyRoot, top));
  }
}

function copyFiles(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.isFile()) fs.copyFileSync(path.join(from, entry.name), path.join(to, entry.name));
  }
}

function linkFiles(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const target = path.join(to, entry.name);
    if (entry.isFile() && !fs.existsSync(target)) fs.symlinkSync(path.join(from, entry.name), target);
  }
}

/** Applies the case's patch inside `copyRoot` with `git apply` (no fuzz). Returns git's complaint, or undefined. */
export function applyPatch(recallCase: RecallCase, copyRoot: string): string | undefined {
  const result = spawnSync('git', ['apply', '--verbose', '-p1', path.resolve(recallCase.patchPath)], {
    cwd: copyRoot, encoding: 'utf8',
    // git apply outside a repository applies relative to the working directory; never look for one above it.
    env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(copyRoot) },
  });
  if (result.error) return result.error.message;
  return result.status === 0 ? undefined : `git apply failed (exit ${result.status}): ${result.stderr.trim()}`;
}

/** The case's top-level source folders (drivers, net, sound, …), for extracting them from the tarball. */
export function topFolders(cases: RecallCase[]): string[] {
  return [...new Set(cases.map((c) => c.moduleDir.split('/')[0]))].sort();
}
