// Real Linux 6.1 sources and headers for the corpus test and the lint benchmark: Debian's linux-source
// tarball (extracted on demand into a cache, only the folders asked for) and linux-headers-amd64 as kdir.
// Both packages are installed by .ci/run; when they are missing this fails with a message saying so.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const LINUX_SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
/** The folder every entry of the tarball sits in. */
const TARBALL_ROOT = 'linux-source-6.1';
const EXTRACT_TIMEOUT_MS = 10 * 60_000;

function cacheRoot(): string {
  return process.env.LKM_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'lkm-dev');
}

/** Debian's headers for a 6.1 amd64 kernel (the newest installed), with the Module.symvers the rules need. */
export function debianKdir(): string {
  const base = '/usr/src';
  const candidates = fs.existsSync(base)
    ? fs.readdirSync(base).filter((name) => /^linux-headers-6\.1\.\S+-amd64$/.test(name)).sort().reverse()
    : [];
  const kdir = candidates.map((name) => path.join(base, name)).find((dir) => fs.existsSync(path.join(dir, 'Module.symvers')));
  if (!kdir) throw new Error('no /usr/src/linux-headers-6.1.*-amd64 with a Module.symvers: apt-get install -y linux-headers-amd64 (bash .ci/run does)');
  return kdir;
}

/**
 * A Linux 6.1 source tree holding at least `folders` (e.g. `drivers/char`), extracted from Debian's tarball
 * into the cache on first use. A folder is only trusted once its extraction finished (a marker file says so).
 */
export function linuxSourceWith(folders: string[]): string {
  const root = path.join(cacheRoot(), 'corpus', TARBALL_ROOT);
  const marker = (folder: string) => path.join(root, `.extracted-${folder.replace(/\//g, '_')}`);
  const missing = folders.filter((folder) => !fs.existsSync(marker(folder)));
  if (missing.length === 0) return root;
  if (!fs.existsSync(LINUX_SOURCE_TARBALL)) {
    throw new Error(`${LINUX_SOURCE_TARBALL} is missing: apt-get install -y linux-source (bash .ci/run does)`);
  }
  fs.mkdirSync(root, { recursive: true });
  const result = spawnSync('tar', [
    '-xJf', LINUX_SOURCE_TARBALL, '-C', path.dirname(root), '--wildcards',
    ...missing.map((folder) => `${TARBALL_ROOT}/${folder}/*`),
  ], { encoding: 'utf8', timeout: EXTRACT_TIMEOUT_MS });
  if (result.error || result.status !== 0) {
    const reason = result.error?.message ?? `exit ${result.status}: ${result.stderr.trim()}`;
    throw new Error(`extracting ${missing.join(', ')} from ${LINUX_SOURCE_TARBALL} failed (${reason})`);
  }
  for (const folder of missing) fs.writeFileSync(marker(folder), `${new Date().toISOString()}\n`);
  return root;
}
