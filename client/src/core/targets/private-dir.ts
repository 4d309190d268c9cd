// Folders only this user may use: ssh's control sockets (whoever can place a socket there can act as
// the master connection to a target) and the private build copies of module sources.
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';

export class PrivateDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivateDirError';
  }
}

/**
 * Creates `dir` 0700, or checks the one that is there: a real folder, owned by this user, writable by
 * no one else (anything another user could have put in it is refused, not trusted). A folder only
 * readable by others is made private.
 */
export function ensurePrivateDir(dir: string, what: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.() ?? stat.uid;
  const fix = 'remove it, or set LKM_CACHE_DIR to a short folder of your own';
  if (!stat.isDirectory()) throw new PrivateDirError(`${what} ${dir} is not a folder (a link or a file is in its place): ${fix}`);
  if (stat.uid !== uid) throw new PrivateDirError(`${what} ${dir} belongs to uid ${stat.uid}, not to you (uid ${uid}): ${fix}`);
  if (stat.mode & 0o022) throw new PrivateDirError(`${what} ${dir} is writable by other users (mode ${(stat.mode & 0o777).toString(8)}): ${fix}`);
  if (stat.mode & 0o077) chmodSync(dir, 0o700);
  return dir;
}
