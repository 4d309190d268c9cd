// The user's files, found and read safely: which files are a module's C sources, finding them under a
// folder, and the one reader of user files (sources, Makefiles, Kbuild, Kconfig, Module.symvers,
// headers). Shared by the CLI and the language server.
//
// A workspace may hold anything: a FIFO named `x.c` (opening it blocks forever), a link to /dev/zero
// (reading it never ends), a sparse 1 GB file, symlink loops. Only regular files are read, their size
// is checked before reading, and no more than the limit is ever read; folders are walked by real path.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Files larger than this are not read: generated tables, firmware blobs, sparse files. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Why a file was not read: it is not a regular file, or it is over the size limit. */
export class FileRefused {
  constructor(readonly file: string, readonly reason: string) {}
}

/**
 * The text of `file` when it is a regular file of at most `maxBytes`, else why not. Never blocks on a
 * FIFO, never reads more than `maxBytes + 1` bytes (a file that grows or lies about its size is
 * refused too). I/O errors (no such file, no permission) are thrown as usual.
 */
export function readTextFileBounded(file: string, maxBytes: number, encoding: BufferEncoding = 'utf8'): string | FileRefused {
  // Look before opening: open() of a FIFO waits for a writer.
  const refusal = refusalFor(file, fs.statSync(file), maxBytes);
  if (refusal) return refusal;
  // O_NONBLOCK: a FIFO swapped in after the stat still cannot block the open.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    // The descriptor is what will be read: check it again.
    const stat = fs.fstatSync(fd);
    const changed = refusalFor(file, stat, maxBytes);
    if (changed) return changed;
    const bytes = readAtMost(fd, maxBytes + 1, stat.size);
    return bytes.length > maxBytes ? new FileRefused(file, `grew while read, over the ${size(maxBytes)} limit`) : bytes.toString(encoding);
  } finally {
    fs.closeSync(fd);
  }
}

/** `readTextFileBounded` for files that may be absent: undefined when absent, unreadable or refused (told to `onRefusal`). */
export function readTextIfPresent(file: string, maxBytes = MAX_FILE_BYTES, onRefusal?: (refusal: FileRefused) => void, encoding: BufferEncoding = 'utf8'): string | undefined {
  let text: string | FileRefused;
  try {
    text = readTextFileBounded(file, maxBytes, encoding);
  } catch {
    return undefined;
  }
  if (typeof text === 'string') return text;
  onRefusal?.(text);
  return undefined;
}

function refusalFor(file: string, stat: fs.Stats, maxBytes: number): FileRefused | undefined {
  if (!stat.isFile()) return new FileRefused(file, `not a regular file (${kindOf(stat)})`);
  return stat.size > maxBytes ? new FileRefused(file, `${size(stat.size)} is over the ${size(maxBytes)} limit`) : undefined;
}

function size(bytes: number): string {
  return bytes < 1048576 ? `${bytes} bytes` : `${+(bytes / 1048576).toFixed(1)} MB`;
}

/** What kind of non-regular file this is, for messages. */
export function kindOf(entry: fs.Stats | fs.Dirent): string {
  if (entry.isFIFO()) return 'a FIFO';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isSocket()) return 'a socket';
  if (entry.isDirectory()) return 'a directory';
  return 'not a file';
}

/** Up to `limit` bytes from `fd`, in a buffer grown as needed (the size hint may be wrong). */
function readAtMost(fd: number, limit: number, sizeHint: number): Buffer {
  let buffer = Buffer.allocUnsafe(Math.min(limit, Math.max(sizeHint + 1, 64 * 1024)));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length >= limit) break;
      const bigger = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
  }
  return buffer.subarray(0, length);
}

/** A C source of the module: not kbuild's generated `*.mod.c`. */
export function isModuleSource(file: string): boolean {
  return file.endsWith('.c') && !file.endsWith('.mod.c');
}

export interface FindOptions {
  /** Folder levels (1: the folder itself). */
  depth?: number;
  /** Most files returned. */
  limit?: number;
  /** Receives the `.c` names that are not regular files (a FIFO, a link to a device), with why. */
  skipped?: FileRefused[];
}

/**
 * Module sources under `dir`, skipping hidden folders and node_modules. Each real folder and each real
 * file is visited once, whatever links lead to it (a link to `.` or two folders linking to each other
 * end there); a file is named by its path without links when the walk finds one. Unreadable folders
 * are skipped.
 */
export function findSources(dir: string, { depth = Infinity, limit = Infinity, skipped }: FindOptions = {}): string[] {
  const found: string[] = [];
  const seenFolders = new Set<string>();
  const seenFiles = new Set<string>();
  // Folders reached through a link are walked after every plain one, so that plain paths win.
  const linked: Array<{ folder: string; level: number }> = [];
  const visit = (folder: string, level: number) => {
    const real = realPath(folder);
    if (real === undefined || seenFolders.has(real)) return;
    seenFolders.add(real);
    for (const entry of plainFirst(sortedEntries(folder))) {
      if (found.length >= limit) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(folder, entry.name);
      const isLink = entry.isSymbolicLink();
      const stat = isLink ? statOrUndefined(full) : entry;
      if (stat?.isDirectory()) {
        if (level >= depth) continue;
        if (isLink) linked.push({ folder: full, level: level + 1 });
        else visit(full, level + 1);
      } else if (stat && isModuleSource(entry.name)) {
        if (!stat.isFile()) skipped?.push(new FileRefused(full, `not a regular file (${kindOf(stat)})`));
        else if (addNew(seenFiles, isLink ? realPath(full) : path.join(real, entry.name))) found.push(full);
      }
    }
  };
  visit(dir, 1);
  while (linked.length > 0 && found.length < limit) {
    const next = linked.shift()!;
    visit(next.folder, next.level);
  }
  return found;
}

function sortedEntries(folder: string): fs.Dirent[] {
  try {
    return fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

/** Plain entries before links, so that a file linked beside itself is named by its plain name. */
function plainFirst(entries: fs.Dirent[]): fs.Dirent[] {
  return [...entries.filter((entry) => !entry.isSymbolicLink()), ...entries.filter((entry) => entry.isSymbolicLink())];
}

function addNew(set: Set<string>, key: string | undefined): boolean {
  if (key === undefined || set.has(key)) return false;
  set.add(key);
  return true;
}

/** The path without links, or undefined for a dangling link or a link loop. */
export function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync.native(file);
  } catch {
    return undefined;
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Every `.h` below `dirs`, read with the bounded reader (what cannot be read is skipped): `visit` gets its
 * text, its path and the dir it was found under. Shared by the kdir's header index and its sleep scan.
 */
export function forEachHeader(dirs: readonly string[], visit: (text: string, file: string, root: string) => void): void {
  const walk = (dir: string, root: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, root);
      // A linked header is read through its link; the bounded reader refuses what is not a regular file.
      else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith('.h')) {
        const text = readTextIfPresent(full);
        if (text !== undefined) visit(text, full, root);
      }
    }
  };
  for (const dir of dirs) walk(dir, dir);
}
