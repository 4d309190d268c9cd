// Which files are a module's C sources, and finding them under a folder: shared by the CLI and the
// language server.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A C source of the module: not kbuild's generated `*.mod.c`. */
export function isModuleSource(file: string): boolean {
  return file.endsWith('.c') && !file.endsWith('.mod.c');
}

/**
 * Module sources under `dir`, in sorted order, skipping hidden folders and node_modules; at most
 * `depth` folder levels (1: `dir` itself) and `limit` files. Unreadable folders are skipped.
 */
export function findSources(dir: string, depth = Infinity, limit = Infinity): string[] {
  const found: string[] = [];
  const visit = (current: string, level: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(current, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return;
    }
    for (const entry of entries) {
      if (found.length >= limit) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(current, entry.name);
      const stat = entry.isSymbolicLink() ? statOrUndefined(full) : entry;
      if (stat?.isDirectory()) {
        if (level < depth) visit(full, level + 1);
      } else if (stat?.isFile() && isModuleSource(entry.name)) found.push(full);
    }
  };
  visit(dir, 1);
  return found;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
