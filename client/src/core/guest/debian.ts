// The Debian guest: the built-in guest's kernel booting a Debian userland from a disk image, reached
// as a user's own VM is — OpenSSH's sshd, a non-root login user with passwordless sudo, gcc, make
// and the headers of its own kernel (so `build: "remote"` compiles there). Built once per kernel
// version with mmdebstrap from the archives this machine's apt uses, into
//   <cache>/guest/<version>-debian/rootfs.img       ext4 root file system (booted with snapshot=on: never written)
//   <cache>/guest/<version>-debian/initrd.cpio      the built-in guest's initramfs + disk modules + an /init that switches root
//   <cache>/guest/<version>-debian/id_ed25519       the login user's key (stable: users' ssh configs name it)
//   <cache>/guest/<version>-debian/known_hosts      the image's host key, pinned under HOST_KEY_ALIAS
// No systemd: busybox init runs a setup script (mounts, eth0) and respawns sshd.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runChecked, runProcess } from '../targets/process';
import { BOOT_MODULES, cacheRoot, concatenateFiles, fetchPackages, INSTALL_HINT, moduleLoadOrder, packCpio, prepareGuestImage, READY_MARKER, type GuestImage, type Log } from './image';

/** Bumped whenever the root file system's contents change, so stale caches are rebuilt. */
const DEBIAN_RECIPE = 1;
/** The same for the initrd alone (rebuilt in seconds, without the root file system). */
const INITRD_RECIPE = 2;
export const DEBIAN_USER = 'lkm';
export const DEBIAN_HOST_ALIAS = 'lkm-debian';
/** Modules the initramfs loads before mounting the root disk (Debian builds them as modules; ext4 asks the crypto API for crc32c at mount). */
const DISK_MODULES = ['virtio_blk', 'crc32c_generic', 'ext4'];
/** Free space left on the root file system for builds (the disk is a sparse file). */
const ROOTFS_SIZE = '3G';
const BUSYBOX_IN_ROOT = '/usr/local/lib/lkm/busybox';

export interface DebianImage extends GuestImage {
  rootDisk: string;
  initrd: string;
  keyFile: string;
  knownHostsFile: string;
  user: string;
  /** Seconds the image took to build (for the README's numbers). */
  buildSeconds?: number;
}

function debianImageDir(kernelVersion: string): string {
  return path.join(cacheRoot(), 'guest', `${kernelVersion}-debian`);
}

/** Returns the cached Debian image for the built-in guest's kernel, building it first when missing or stale. */
export async function prepareDebianImage(log: Log = () => undefined): Promise<DebianImage> {
  const base = await prepareGuestImage(log);
  const dir = debianImageDir(base.kernelVersion);
  const files = { rootDisk: path.join(dir, 'rootfs.img'), initrd: path.join(dir, 'initrd.cpio'), keyFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts') };
  const stamp = path.join(dir, 'image.json');
  const recorded = existsSync(stamp) ? (JSON.parse(readFileSync(stamp, 'utf8')) as ImageStamp) : undefined;
  const image = (): DebianImage => ({ ...base, ...files, dir, user: DEBIAN_USER, buildSeconds: recorded?.buildSeconds });
  if (recorded?.recipe === DEBIAN_RECIPE && Object.values(files).every((f) => existsSync(f))) {
    if (recorded.initrdRecipe !== INITRD_RECIPE) await refreshInitrd(base, dir, stamp, recorded);
    return image();
  }
  await buildDebianImage(base, dir, log);
  return prepareDebianImage(log);
}

interface ImageStamp {
  recipe: number;
  initrdRecipe: number;
  kernelVersion: string;
  builtAt: string;
  buildSeconds: number;
}

/** A new initrd beside a current root file system (renamed into place: a booting guest keeps the old file). */
async function refreshInitrd(base: GuestImage, dir: string, stamp: string, recorded: ImageStamp): Promise<void> {
  const work = `${dir}.initrd-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    await buildInitrd(base, work, path.join(work, 'initrd.cpio'));
    renameSync(path.join(work, 'initrd.cpio'), path.join(dir, 'initrd.cpio'));
    writeFileSync(stamp, JSON.stringify({ ...recorded, initrdRecipe: INITRD_RECIPE }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildDebianImage(base: GuestImage, dir: string, log: Log): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('building the Debian guest image needs root (mmdebstrap --mode=root keeps the owners of the files it installs): run lkm as root for the first start, or reach a VM of your own through lkm.targets');
  }
  log(`Building the Debian guest image for ${base.kernelVersion} in ${dir} (once; a few minutes) ...`);
  const began = Date.now();
  // Built in a private folder and renamed into place, so a concurrent start never sees half an image.
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    const keys = await generateKeys(work);
    const overlay = await writeRootOverlay(work, keys.userPublicKey, keys.hostKeyDir);
    const rootDir = path.join(work, 'root');
    await mmdebstrap(base.kernelVersion, rootDir, overlay, log);
    await runChecked('mke2fs', ['-q', '-t', 'ext4', '-O', '^metadata_csum,^has_journal', '-L', 'lkm-debian', '-d', rootDir, path.join(work, 'rootfs.img'), ROOTFS_SIZE], { timeoutMs: 600_000 });
    await buildInitrd(base, work, path.join(work, 'initrd.cpio'));
    writeFileSync(path.join(work, 'known_hosts'), `${DEBIAN_HOST_ALIAS} ${keys.hostPublicKey}\n`);
    for (const scratch of ['root', 'overlay', 'hostkeys', 'pkg', 'initramfs']) rmSync(path.join(work, scratch), { recursive: true, force: true });
    const buildSeconds = Math.round((Date.now() - began) / 1000);
    const stamp: ImageStamp = { recipe: DEBIAN_RECIPE, initrdRecipe: INITRD_RECIPE, kernelVersion: base.kernelVersion, builtAt: new Date().toISOString(), buildSeconds };
    writeFileSync(path.join(work, 'image.json'), JSON.stringify(stamp));
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
    log(`Debian guest image ready (${buildSeconds} s).`);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** The login user's key pair and the image's host key (ed25519), both generated here. */
async function generateKeys(work: string): Promise<{ userPublicKey: string; hostKeyDir: string; hostPublicKey: string }> {
  const keyFile = path.join(work, 'id_ed25519');
  await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${DEBIAN_USER}@${DEBIAN_HOST_ALIAS}`, '-f', keyFile], { timeoutMs: 10_000 });
  const hostKeyDir = path.join(work, 'hostkeys');
  mkdirSync(hostKeyDir, { mode: 0o700 });
  const hostKey = path.join(hostKeyDir, 'ssh_host_ed25519_key');
  await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', DEBIAN_HOST_ALIAS, '-f', hostKey], { timeoutMs: 10_000 });
  const publicKey = (file: string) => readFileSync(file, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return { userPublicKey: publicKey(`${keyFile}.pub`), hostKeyDir, hostPublicKey: publicKey(`${hostKey}.pub`) };
}

/** Files copied over the Debian root: init, sshd and sudo settings, the host key, the user's authorized key. */
async function writeRootOverlay(work: string, userPublicKey: string, hostKeyDir: string): Promise<string> {
  const root = path.join(work, 'overlay');
  const put = (relative: string, text: string, mode = 0o644) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode });
    chmodSync(file, mode);
  };
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error(`busybox not found: ${INSTALL_HINT}`);
  mkdirSync(path.join(root, path.dirname(BUSYBOX_IN_ROOT).slice(1)), { recursive: true });
  copyFileSync(busybox, path.join(root, BUSYBOX_IN_ROOT.slice(1)));
  chmodSync(path.join(root, BUSYBOX_IN_ROOT.slice(1)), 0o755);
  // busybox init: reaps orphans as PID 1, runs the setup once, keeps sshd running.
  put('etc/inittab', `::sysinit:/usr/local/lib/lkm/setup\n::respawn:/usr/sbin/sshd -D -e\n`);
  put('usr/local/lib/lkm/setup', [
    '#!/bin/sh',
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm',
    'mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && chmod 755 /run/sshd',
    'mount -t tmpfs tmpfs /tmp',
    'hostname lkm-debian',
    'ip link set lo up',
    // QEMU user networking is fixed: no DHCP round trip needed.
    'ip addr add 10.0.2.15/24 dev eth0',
    'ip link set eth0 up',
    'ip route add default via 10.0.2.2',
    `echo ${READY_MARKER}`,
    '',
  ].join('\n'), 0o755);
  put('etc/hostname', 'lkm-debian\n');
  put('etc/hosts', '127.0.0.1 localhost\n127.0.1.1 lkm-debian\n');
  put('etc/ssh/sshd_config.d/lkm.conf', [
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    `AllowUsers ${DEBIAN_USER}`,
    '',
  ].join('\n'));
  put(`etc/sudoers.d/${DEBIAN_USER}`, `${DEBIAN_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, 0o440);
  put('etc/ssh/ssh_host_ed25519_key', readFileSync(path.join(hostKeyDir, 'ssh_host_ed25519_key'), 'utf8'), 0o600);
  put('etc/ssh/ssh_host_ed25519_key.pub', readFileSync(path.join(hostKeyDir, 'ssh_host_ed25519_key.pub'), 'utf8'));
  put(`home/${DEBIAN_USER}/.ssh/authorized_keys`, `${userPublicKey}\n`, 0o600);
  return root;
}

/** The `deb URI SUITE COMPONENTS` entries of this machine's apt sources for its own release (one-line and deb822 files). */
export function hostArchiveLines(codename: string, aptDir = '/etc/apt'): string[] {
  const lines: string[] = [];
  const add = (types: string[], uris: string[], suites: string[], components: string[]) => {
    if (!types.includes('deb')) return;
    for (const uri of uris) for (const suite of suites) if (suite === codename || suite.startsWith(`${codename}-`)) lines.push(`deb ${uri} ${suite} ${components.join(' ')}`);
  };
  const listFiles = [path.join(aptDir, 'sources.list')];
  const dropIns = existsSync(path.join(aptDir, 'sources.list.d')) ? readdirSync(path.join(aptDir, 'sources.list.d')).sort().map((n) => path.join(aptDir, 'sources.list.d', n)) : [];
  for (const file of [...listFiles, ...dropIns.filter((f) => f.endsWith('.list'))].filter((f) => existsSync(f))) {
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      // deb [options] uri suite components...
      const m = /^\s*(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(raw.replace(/#.*/, ''));
      if (m) add([m[1]], [m[2]], [m[3]], m[4].split(/\s+/).filter(Boolean));
    }
  }
  for (const file of dropIns.filter((f) => f.endsWith('.sources'))) {
    for (const stanza of readFileSync(file, 'utf8').split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza.replace(/^#.*$/gm, ''))?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
      if (field('Enabled')[0]?.toLowerCase() === 'no') continue;
      add(field('Types'), field('URIs'), field('Suites'), field('Components'));
    }
  }
  return [...new Set(lines)];
}

function hostCodename(): string {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const codename = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(osRelease)?.[1];
  if (!codename) throw new Error('cannot tell this machine\'s Debian release (no VERSION_CODENAME in /etc/os-release): the Debian guest is built from the archives of a Debian host');
  return codename;
}

/** The Debian root file system, with the overlay synced in and the login user created. */
async function mmdebstrap(kernelVersion: string, rootDir: string, overlay: string, log: Log): Promise<void> {
  const codename = hostCodename();
  const archives = hostArchiveLines(codename);
  if (archives.length === 0) throw new Error(`no "${codename}" archive in this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/)`);
  const packages = ['openssh-server', 'sudo', 'gcc', 'make', 'libc6-dev', 'kmod', `linux-headers-${kernelVersion}`, 'iproute2', 'rsync'];
  const user = DEBIAN_USER;
  const args = [
    '--mode=root', '--format=directory', '--variant=minbase', `--include=${packages.join(',')}`,
    // Documentation and translations are dead weight in a test guest.
    '--dpkgopt=path-exclude=/usr/share/man/*', '--dpkgopt=path-exclude=/usr/share/doc/*', '--dpkgopt=path-exclude=/usr/share/locale/*', '--dpkgopt=path-exclude=/usr/share/info/*',
    // openssh-server's own host keys are replaced by the pinned one.
    '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
    `--customize-hook=chroot "$1" useradd --create-home --shell /bin/bash ${user}`,
    // '*': no password can log in, yet the account is not locked (sshd refuses locked accounts even for keys).
    `--customize-hook=chroot "$1" usermod --password '*' ${user}`,
    `--customize-hook=sync-in ${overlay} /`,
    `--customize-hook=chroot "$1" chown -R ${user}:${user} /home/${user}`,
    `--customize-hook=chmod 700 "$1"/home/${user}/.ssh`,
    '--customize-hook=rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*',
    codename, rootDir, ...archives,
  ];
  log(`mmdebstrap ${codename} (${archives.length} archive line(s) from this machine's apt sources)`);
  const result = await runProcess('mmdebstrap', args, { timeoutMs: 1_200_000, onStderr: (t) => t.split('\n').filter((l) => /^I: (running|downloading|installing|extracting)/.test(l)).forEach((l) => log(l)) });
  if (result.timedOut) throw new Error('mmdebstrap timed out after 20 min');
  if (result.code !== 0) {
    const missing = /ENOENT|not found/.test(result.stderr) ? ` (${INSTALL_HINT})` : '';
    throw new Error(`mmdebstrap failed (exit ${result.code})${missing}: ${result.stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
}

/** The built-in initramfs, the disk modules and an /init that mounts the root disk and switches to it. */
async function buildInitrd(base: GuestImage, work: string, output: string): Promise<void> {
  const packages = await fetchPackages(base.kernelVersion, work, () => undefined);
  const root = path.join(work, 'initramfs');
  const moduleDir = path.join(root, 'lib', 'disk-modules');
  mkdirSync(moduleDir, { recursive: true });
  const order = moduleLoadOrder(packages.moduleRoot, [...BOOT_MODULES, ...DISK_MODULES]);
  for (const m of order) copyFileSync(m.path, path.join(moduleDir, `${m.name}.ko`));
  // Replaces the built-in guest's /init (a later archive's file wins). Modules stay loaded across
  // switch_root: the Debian side only configures eth0.
  const init = [
    '#!/bin/sh',
    'export PATH=/bin:/usr/bin:/usr/sbin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    ...order.map((m) => `insmod /lib/disk-modules/${m.name}.ko`),
    'mkdir -p /newroot',
    // virtio_blk probes asynchronously: wait (bounded) for the disk node.
    'n=0; while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done',
    // -no-reboot turns the reboot into QEMU's exit: the start fails at once with this console.
    'mount -t ext4 -o rw /dev/vda /newroot || { echo "LKM: cannot mount the root disk /dev/vda"; reboot -f; }',
    'mount --move /dev /newroot/dev',
    'umount /proc /sys',
    `exec switch_root /newroot ${BUSYBOX_IN_ROOT} init`,
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'init'), init, { mode: 0o755 });
  const overlay = path.join(work, 'disk.cpio');
  await packCpio(root, overlay);
  concatenateFiles([base.baseInitramfs, overlay], output);
  rmSync(overlay, { force: true });
}
