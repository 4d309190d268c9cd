// The Host entries of an OpenSSH client configuration (~/.ssh/config and the files it Includes), for
// offering them as targets. Only what that needs is read: `Host` names without wildcards or
// negation, and the `User`/`Port`/`HostName` given in their block. ssh itself still reads the
// whole file when it connects.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface SshHostEntry {
  alias: string;
  hostName?: string;
  user?: string;
  port?: number;
}

const MAX_FILE_BYTES = 1 << 20;
const MAX_INCLUDE_DEPTH = 4;

/** `keyword value…` or `keyword=value`, with double-quoted values; comments and blank lines are none. */
function parseLine(line: string): { keyword: string; values: string[] } | undefined {
  const trimmed = line.trim();
  if (!trimmed || trimmed.startsWith('#')) return undefined;
  const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(trimmed);
  if (!match) return undefined;
  const values = [...match[2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  return { keyword: match[1]!.toLowerCase(), values };
}

/** Include's argument: relative to ~/.ssh, with `*`/`?` in the last component. */
function includedFiles(pattern: string, sshDir: string): string[] {
  const full = pattern.startsWith('~/') ? path.join(homedir(), pattern.slice(2)) : path.isAbsolute(pattern) ? pattern : path.join(sshDir, pattern);
  const dir = path.dirname(full);
  const base = path.basename(full);
  if (!/[*?]/.test(base)) return [full];
  if (!existsSync(dir)) return [];
  const regex = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return readdirSync(dir).filter((f) => regex.test(f)).sort().map((f) => path.join(dir, f));
}

/** The concrete Host aliases of `file` (default ~/.ssh/config), in file order, each once. */
export function readSshHosts(file = path.join(homedir(), '.ssh', 'config')): SshHostEntry[] {
  const entries = new Map<string, SshHostEntry>();
  const read = (current: string, depth: number) => {
    if (depth > MAX_INCLUDE_DEPTH || !existsSync(current)) return;
    const stat = statSync(current);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return;
    let block: SshHostEntry[] = [];
    for (const line of readFileSync(current, 'utf8').split('\n')) {
      const parsed = parseLine(line);
      if (!parsed) continue;
      const { keyword, values } = parsed;
      if (keyword === 'host') {
        block = values.filter((v) => !/[*?!]/.test(v)).map((alias) => entries.get(alias) ?? { alias });
        for (const entry of block) entries.set(entry.alias, entry);
      } else if (keyword === 'match') {
        block = [];
      } else if (keyword === 'include') {
        for (const pattern of values) for (const included of includedFiles(pattern, path.dirname(file))) read(included, depth + 1);
      } else if (values[0] !== undefined) {
        // ssh uses the first value it reads for each keyword.
        for (const entry of block) {
          if (keyword === 'hostname') entry.hostName ??= values[0];
          if (keyword === 'user') entry.user ??= values[0];
          if (keyword === 'port' && /^\d+$/.test(values[0])) entry.port ??= Number(values[0]);
        }
      }
    }
  };
  read(file, 0);
  return [...entries.values()];
}
