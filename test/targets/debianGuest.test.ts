// The Debian guest reached as a user reaches their own VM: an ssh config that includes the block
// `lkm vm ssh-config --image debian` prints, an lkm.targets entry naming its Host alias, a build on
// the guest (build: "remote"), insmod/rmmod through sudo as the non-root user, the kernel log read
// back — all through the SSH target code and the `lkm` CLI. The image is built once per machine
// (minutes; cached under the tool's cache), each boot starts from it unchanged.
// Needs the guest packages (mmdebstrap among them): bash scripts/install-guest-deps.sh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheRoot } from '../../client/src/core/guest/image';
import { guestRunDir, readGuestState, startGuest, stopGuest, type GuestState } from '../../client/src/core/guest/vm';
import { pickTarget, readWorkspaceTargetSettings } from '../../client/src/core/targets/config';
import { EXIT, runLoop } from '../../client/src/core/targets/loop';
import { listLoadedModules, loadModules, openTarget, readKernelLog, type BuildResult } from '../../client/src/core/targets/session';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures-modules');
const GUEST = `debian-${process.pid}`;

function lkm(cwd: string, ...args: string[]) {
  const env = { ...process.env, LKM_VM_NAME: GUEST, LKM_CACHE_DIR: cacheRoot() };
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/src/cli/lkm.ts'), ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
}

describe('the Debian guest as a remote VM over the user\'s ssh config', { timeout: 1_500_000 }, () => {
  let guest: GuestState;
  let home: string;
  let sshConfig: string;
  let workspace: string;

  before(async () => {
    const began = Date.now();
    guest = await startGuest({ name: GUEST, image: 'debian', log: (l) => console.log(`# ${l}`) });
    console.log(`# Debian guest up ${((Date.now() - began) / 1000).toFixed(1)} s after start (boot to SSH: ${((guest.readyMs ?? 0) / 1000).toFixed(1)} s)`);
    // A HOME-like folder whose ssh config includes the printed block, as a user's ~/.ssh/config would.
    home = mkdtempSync(path.join(tmpdir(), 'lkm-home-'));
    mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    const printed = lkm(ROOT, 'vm', 'ssh-config', '--image', 'debian');
    assert.equal(printed.status, 0, printed.stderr);
    writeFileSync(path.join(home, '.ssh', 'lkm-debian.conf'), printed.stdout);
    sshConfig = path.join(home, '.ssh', 'config');
    writeFileSync(sshConfig, `Include ${path.join(home, '.ssh', 'lkm-debian.conf')}\n\nHost *\n  ServerAliveInterval 30\n`, { mode: 0o600 });
    // A workspace whose settings name the alias, as a user's would.
    workspace = mkdtempSync(path.join(tmpdir(), 'lkm-ws-'));
    for (const name of ['lkmt_hello', 'lkmt_broken']) cpSync(path.join(FIXTURES, name), path.join(workspace, name), { recursive: true });
    mkdirSync(path.join(workspace, '.vscode'));
    const target = { name: 'debian', host: 'lkm-debian', build: 'remote', sudo: true, sshConfig, remoteDir: '.cache/lkm-test/work' };
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'lkm.targets': [target], 'lkm.activeTarget': 'debian' }, null, 2));
  });

  after(async () => {
    await stopGuest(GUEST);
    assert.equal(readGuestState(GUEST), undefined);
    rmSync(guestRunDir(GUEST), { recursive: true, force: true });
  });

  it('prints a Host block with a pinned host key, and ssh reaches the non-root user with passwordless sudo', () => {
    const block = readFileSync(path.join(home, '.ssh', 'lkm-debian.conf'), 'utf8');
    assert.match(block, /^Host lkm-debian\n/);
    for (const line of ['HostName 127.0.0.1', `Port ${guest.port}`, 'User lkm', `IdentityFile ${guest.keyFile}`, `UserKnownHostsFile ${guest.knownHostsFile}`, 'StrictHostKeyChecking yes']) {
      assert.ok(block.includes(`  ${line}\n`), `${line} in\n${block}`);
    }
    assert.doesNotMatch(block, /StrictHostKeyChecking no/i);
    assert.ok(guest.keyFile.startsWith(cacheRoot()) && guest.knownHostsFile.startsWith(cacheRoot()), 'keys live in the tool\'s cache');
    const ssh = spawnSync('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', 'lkm-debian', 'id -un; sudo -n id -u; gcc --version | head -1; ls -d /lib/modules/$(uname -r)/build/'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ssh.status, 0, ssh.stderr);
    const [user, sudoUid, gcc, build] = ssh.stdout.split('\n');
    assert.deepEqual([user, sudoUid], ['lkm', '0']);
    assert.match(gcc, /^gcc .*\b12\./);
    assert.equal(build, `/lib/modules/${guest.kernelVersion}/build/`);
  });

  let built: BuildResult;

  it('builds on the guest, loads with sudo as the non-root user, and reads the kernel log (runLoop, build: "remote")', async () => {
    const folder = path.join(workspace, 'lkmt_hello');
    const config = pickTarget(readWorkspaceTargetSettings(folder));
    assert.equal(config?.host, 'lkm-debian');
    const began = Date.now();
    const result = await runLoop(folder, config, { params: { lkmt_hello: [{ name: 'greeting', value: 'from debian' }] } });
    console.log(`# remote build + load on the Debian guest: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    try {
      assert.equal(result.exitCode, EXIT.loaded, `${result.summary}\n${result.build?.output ?? ''}`);
      assert.ok(result.build!.output.includes('CC [M]'), 'compiled on the guest');
      assert.ok(result.load!.log.some((l) => l.includes('lkmt_hello: greeting=[from debian] 1/1')), result.load!.log.join('\n'));
      const fetched = result.build!.modules[0];
      assert.ok(fetched.koPath.startsWith(cacheRoot()), `the remote-built .ko is fetched back for decoding: ${fetched.koPath}`);
      assert.equal(fetched.info.entries.find(([k]) => k === 'vermagic')?.[1].split(' ')[0], guest.kernelVersion);
      built = result.build!;
    } finally {
      await result.target?.connection.close();
    }
  });

  it('unloads with sudo and reads the whole kernel log (library and lkm log)', async () => {
    const folder = path.join(workspace, 'lkmt_hello');
    const target = await openTarget(pickTarget(readWorkspaceTargetSettings(folder)), folder, {});
    try {
      const unloaded = await loadModules(target, 'unload', built.modules, {});
      assert.ok(unloaded.ok, unloaded.messages);
      assert.ok(unloaded.log.some((l) => l.includes('lkmt_hello: goodbye')), unloaded.log.join('\n'));
      assert.doesNotMatch(await listLoadedModules(target, {}), /^lkmt_hello /m);
      // dmesg is root-only on Debian (kernel.dmesg_restrict): this read went through sudo.
      assert.ok((await readKernelLog(target, {})).some((l) => l.includes('lkmt_hello: greeting=[from debian] 1/1')));
    } finally {
      await target.connection.close();
    }
    const log = lkm(ROOT, 'log', folder);
    assert.equal(log.status, 0, log.stderr);
    assert.match(log.stdout, /lkmt_hello: greeting=\[from debian\] 1\/1/);
  });

  it('shows a compile error of the remote build at the local file:line', async () => {
    const folder = path.join(workspace, 'lkmt_broken');
    const result = await runLoop(folder, pickTarget(readWorkspaceTargetSettings(folder)), {});
    await result.target?.connection.close();
    assert.equal(result.exitCode, EXIT.buildFailed, result.summary);
    const error = result.problems.find((p) => p.severity === 'error');
    assert.equal(error?.file, path.join(folder, 'lkmt_broken.c'));
    assert.equal(error?.line, 8);
    assert.match(error!.message, /undeclared_thing/);
  });
});
