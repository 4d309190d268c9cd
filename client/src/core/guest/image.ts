// Builds the test guest's boot files from the host's distribution packages, once per kernel
// version, into a cache folder outside the repository:
//   <cache>/guest/<version>/vmlinux          ELF kernel (booted through its PVH entry: no BIOS, no decompressor)
//   <cache>/guest/<version>/base.cpio        busybox, dropbear (+ libs), sftp-server, rsync, NIC modules, /init
// The per-boot secrets (root's authorized_keys, dropbear's host key) go in a second small archive
// appended at start (see vm.ts), so the cached image holds no key.
// The host never installs linux-image: its .deb is fetched with `apt-get download` and unpacked here.
import { existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync, statSync, copyFileSync, symlinkSync, chmodSync, rmSync, renameSync, openSync, closeSync, writeSync, realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { runChecked, runProcess } from '../targets/process';
import { readModuleInfo } from '../targets/elf';

/** Bumped whenever the image's contents change, so stale caches are rebuilt. */
const IMAGE_RECIPE = 4;
export const READY_MARKER = 'LKM-GUEST-READY';
/** Modules the guest loads at boot for its network card; their `depends=` are added automatically. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_net'];
export const INSTALL_HINT = 'install the guest packages first: bash scripts/install-guest-deps.sh';

export interface GuestImage {
  kernelVersion: string;
  dir: string;
  vmlinux: string;
  baseInitramfs: string;
  /** Kernel build dir (headers) matching the guest kernel: modules are built against it on the host. */
  kdir: string;
}

export type Log = (line: string) => void;

export function cacheRoot(): string {
  if (process.env.LKM_CACHE_DIR) return path.resolve(process.env.LKM_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'lkm-dev');
}

/**
 * Folder for ssh's ControlMaster sockets. A unix socket path holds at most 108 bytes and ssh appends
 * a 40-character hash, so a deep cache folder falls back to a short per-user folder in /tmp.
 */
export function sshControlDir(): string {
  const preferred = path.join(cacheRoot(), 'ssh');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return preferred.length <= 60 ? preferred : path.join(tmpdir(), `lkm-ssh-${uid}`);
}

/** The kernel version of the installed `linux-headers-amd64` (the guest boots the matching image). */
export async function guestKernelVersion(): Promise<string> {
  if (process.env.LKM_GUEST_KERNEL) return process.env.LKM_GUEST_KERNEL;
  const query = await runProcess('dpkg-query', ['-W', '-f=${Depends}', 'linux-headers-amd64'], { timeoutMs: 10_000 }).catch(() => undefined);
  const fromMeta = query?.code === 0 ? /linux-headers-([^ ,()]+)/.exec(query.stdout)?.[1] : undefined;
  if (fromMeta) return fromMeta;
  const candidates = existsSync('/usr/src')
    ? readdirSync('/usr/src').filter((n) => /^linux-headers-.*-amd64$/.test(n)).map((n) => n.slice('linux-headers-'.length)).sort()
    : [];
  if (candidates.length) return candidates[candidates.length - 1];
  throw new Error(`no linux-headers-amd64 found: ${INSTALL_HINT}`);
}

export function kernelBuildDir(version: string): string {
  for (const dir of [`/lib/modules/${version}/build`, `/usr/src/linux-headers-${version}`]) {
    if (existsSync(path.join(dir, 'Makefile'))) return dir;
  }
  throw new Error(`kernel headers for ${version} not found: ${INSTALL_HINT}`);
}

/** Returns the cached image for the headers' kernel, building it first when missing or stale. */
export async function prepareGuestImage(log: Log = () => undefined): Promise<GuestImage> {
  const kernelVersion = await guestKernelVersion();
  const kdir = kernelBuildDir(kernelVersion);
  const dir = path.join(cacheRoot(), 'guest', kernelVersion);
  const image: GuestImage = { kernelVersion, dir, vmlinux: path.join(dir, 'vmlinux'), baseInitramfs: path.join(dir, 'base.cpio'), kdir };
  const stamp = path.join(dir, 'image.json');
  if (existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).recipe === IMAGE_RECIPE && existsSync(image.vmlinux) && existsSync(image.baseInitramfs)) {
    return image;
  }
  log(`Preparing the test guest image for ${kernelVersion} in ${dir} ...`);
  // Built in a private folder and renamed into place, so a concurrent start never sees half a cache.
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const packages = await fetchPackages(kernelVersion, work, log);
    await extractVmlinux(packages.vmlinuz, path.join(work, 'vmlinux'));
    await buildBaseInitramfs(packages, work, path.join(work, 'base.cpio'));
    writeFileSync(path.join(work, 'image.json'), JSON.stringify({ recipe: IMAGE_RECIPE, kernelVersion, builtAt: new Date().toISOString() }));
    for (const scratch of ['pkg', 'initramfs']) rmSync(path.join(work, scratch), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  log('Test guest image ready.');
  return image;
}

interface PackageFiles {
  vmlinuz: string;
  moduleRoot: string;
  sftpServer: string;
}

/** Uses the host's own kernel image and sftp-server when installed, else unpacks their .debs. */
export async function fetchPackages(version: string, work: string, log: Log): Promise<PackageFiles> {
  const hostImage = `/boot/vmlinuz-${version}`;
  const hostModules = `/lib/modules/${version}/kernel`;
  const hostSftp = ['/usr/lib/openssh/sftp-server', '/usr/lib/sftp-server'].find((p) => existsSync(p));
  const haveImage = existsSync(hostImage) && existsSync(hostModules);
  const wanted: string[] = [];
  if (!haveImage) wanted.push(`linux-image-${version}`);
  if (!hostSftp) wanted.push('openssh-sftp-server');
  const pkgDir = path.join(work, 'pkg');
  const root = path.join(pkgDir, 'root');
  mkdirSync(root, { recursive: true });
  for (const name of wanted) {
    log(`apt-get download ${name}`);
    let result = await runProcess('apt-get', ['download', name], { cwd: pkgDir, timeoutMs: 300_000 });
    // Debian also publishes the same kernel as an "-unsigned" package.
    if (result.code !== 0 && name.startsWith('linux-image-')) {
      result = await runProcess('apt-get', ['download', `${name}-unsigned`], { cwd: pkgDir, timeoutMs: 300_000 });
    }
    if (result.code !== 0) throw new Error(`apt-get download ${name} failed: ${result.stderr.trim().split('\n').pop()} (run apt-get update?)`);
  }
  for (const deb of readdirSync(pkgDir).filter((n) => n.endsWith('.deb'))) {
    await runChecked('dpkg-deb', ['-x', path.join(pkgDir, deb), root], { timeoutMs: 120_000 });
  }
  return {
    vmlinuz: haveImage ? hostImage : path.join(root, 'boot', `vmlinuz-${version}`),
    moduleRoot: haveImage ? hostModules : path.join(root, 'lib', 'modules', version, 'kernel'),
    sftpServer: hostSftp ?? path.join(root, 'usr', 'lib', 'openssh', 'sftp-server'),
  };
}

/** bzImage → ELF vmlinux: decompress the xz payload, as the kernel's scripts/extract-vmlinux does. */
export async function extractVmlinux(bzImage: string, output: string): Promise<void> {
  const data = readFileSync(bzImage);
  const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  for (let at = data.indexOf(magic); at >= 0; at = data.indexOf(magic, at + 1)) {
    const packed = `${output}.xz`;
    writeFileSync(packed, data.subarray(at));
    // --single-stream: stop at the end of the kernel's stream and ignore the bzImage's trailer.
    const result = await runProcess('xz', ['-d', '-f', '--single-stream', packed], { timeoutMs: 60_000 });
    rmSync(packed, { force: true });
    if (result.code === 0 && existsSync(output) && readFileSync(output).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return;
    rmSync(output, { force: true });
  }
  throw new Error(`${bzImage}: no xz-compressed ELF kernel found inside (only xz-compressed kernels are supported)`);
}

async function buildBaseInitramfs(pkg: PackageFiles, work: string, output: string): Promise<void> {
  const root = path.join(work, 'initramfs');
  for (const d of ['bin', 'usr/bin', 'usr/sbin', 'usr/lib', 'etc/dropbear', 'root', 'proc', 'sys', 'dev', 'tmp', 'run', 'var/log', 'lib/guest-modules']) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  symlinkSync('bin', path.join(root, 'sbin'));
  chmodSync(path.join(root, 'root'), 0o700);

  // busybox provides sh, insmod, rmmod, lsmod, dmesg, tar, ...: every applet linked in /bin.
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error(`busybox not found: ${INSTALL_HINT}`);
  copyFileSync(busybox, path.join(root, 'bin', 'busybox'));
  chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  const applets = (await runChecked(busybox, ['--list'], { timeoutMs: 10_000 })).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', path.join(root, 'bin', applet));

  const dropbear = '/usr/sbin/dropbear';
  if (!existsSync(dropbear)) throw new Error(`dropbear not found: ${INSTALL_HINT}`);
  await copyWithLibraries(dropbear, root, 'usr/sbin/dropbear');
  // dropbear's compiled-in SFTP server path (OpenSSH 9's scp speaks SFTP).
  await copyWithLibraries(pkg.sftpServer, root, 'usr/lib/sftp-server');
  // rsync in the guest lets the sync step use rsync there too (the tar stream is the fallback).
  if (existsSync('/usr/bin/rsync')) await copyWithLibraries('/usr/bin/rsync', root, 'usr/bin/rsync');

  const order = moduleLoadOrder(pkg.moduleRoot, BOOT_MODULES);
  for (const m of order) copyFileSync(m.path, path.join(root, 'lib/guest-modules', `${m.name}.ko`));

  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(path.join(root, 'etc/shells'), '/bin/sh\n');
  writeFileSync(path.join(root, 'etc/hostname'), 'lkm-guest\n');
  // busybox init respawns the SSH server; -s: keys only; -E: its log goes to the serial console.
  writeFileSync(path.join(root, 'etc/inittab'), '::respawn:/usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/host_key\n');
  const init = [
    '#!/bin/sh',
    'export PATH=/bin:/usr/bin:/usr/sbin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    'mkdir -p /dev/pts && mount -t devpts devpts /dev/pts',
    'mount -t tmpfs tmpfs /tmp',
    ...order.map((m) => `insmod /lib/guest-modules/${m.name}.ko`),
    'ip link set lo up',
    // QEMU user networking is fixed: no DHCP round trip needed.
    'ip addr add 10.0.2.15/24 dev eth0',
    'ip link set eth0 up',
    'ip route add default via 10.0.2.2',
    'hostname lkm-guest',
    `echo ${READY_MARKER}`,
    'exec /bin/init',
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'init'), init, { mode: 0o755 });
  await packCpio(root, output);
}

/**
 * Packs a folder as a newc cpio archive owned by root (what the kernel unpacks as initramfs).
 * Uncompressed on purpose: inflating under TCG cost more boot time than reading twice the bytes
 * (measured: ready ~40% sooner with a 13 MB plain archive than with its 6 MB gzip).
 */
export async function packCpio(folder: string, output: string): Promise<void> {
  await runChecked('sh', ['-c', 'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet > "$2"', 'sh', folder, output], {
    timeoutMs: 60_000,
  });
}

/** Copies a dynamically linked program with every library `ldd` lists, the ELF interpreter included. */
async function copyWithLibraries(program: string, root: string, destination: string): Promise<void> {
  copyInto(program, root, destination);
  const ldd = await runChecked('ldd', [program], { timeoutMs: 10_000 });
  for (const line of ldd.stdout.split('\n')) {
    const lib = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s/.exec(line)?.[1];
    if (lib) copyInto(lib, root, lib.slice(1));
  }
}

function copyInto(source: string, root: string, relative: string): void {
  const target = path.join(root, relative);
  if (existsSync(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(realpathSync(source), target);
  chmodSync(target, statSync(realpathSync(source)).mode & 0o777);
}

interface ModuleFile {
  name: string;
  path: string;
}

/** The given modules and their dependencies (from each .ko's `depends=`), dependencies first. */
export function moduleLoadOrder(moduleRoot: string, roots: string[]): ModuleFile[] {
  const byName = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ko')) byName.set(entry.name.slice(0, -3).replace(/-/g, '_'), full);
    }
  };
  walk(moduleRoot);
  const order: ModuleFile[] = [];
  const visit = (name: string, chain: string[]) => {
    if (order.some((m) => m.name === name)) return;
    if (chain.includes(name)) throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    const file = byName.get(name);
    if (!file) throw new Error(`kernel module ${name} not found under ${moduleRoot}`);
    for (const dep of readModuleInfo(file).depends) visit(dep, [...chain, name]);
    order.push({ name, path: file });
  };
  for (const r of roots) visit(r, []);
  return order;
}

/** Appends one archive to another (the kernel unpacks concatenated initramfs archives in order). */
export function concatenateFiles(inputs: string[], output: string): void {
  const fd = openSync(output, 'w');
  try {
    for (const input of inputs) writeSync(fd, readFileSync(input));
  } finally {
    closeSync(fd);
  }
}
