// The loop against a real QEMU guest over real ssh, through the client's own transport code.
// One guest for the whole file (its own instance name, so a developer's `lkm vm` is untouched),
// stopped in `after`. Needs the guest packages: bash scripts/install-guest-deps.sh.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestEndpoint, readGuestState, restartGuest, startGuest, stopGuest, type GuestState } from '../../client/src/core/guest/vm';
import { cacheRoot } from '../../client/src/core/guest/image';
import { EXIT, runLoop } from '../../client/src/core/targets/loop';
import { build, loadModules, openTarget, readKernelLog, syncSources, uploadModules, type Target } from '../../client/src/core/targets/session';
import { SshConnection, SshError } from '../../client/src/core/targets/ssh';
import { shellQuote } from '../../client/src/core/targets/quote';
import { manyModulesFolder } from './many-modules';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures-modules');
const GUEST = `test-${process.pid}`;

/** `lkm run …` as a separate process (runs in parallel); its exit code and all it printed. */
function cliRun(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/src/cli/lkm.ts'), 'run', ...args], { cwd: ROOT, env });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('targets on the QEMU test guest', { timeout: 1_500_000 }, () => {
  let guest: GuestState;
  let target: Target;

  const open = async () => {
    await target?.connection.close();
    target = await openTarget(undefined, path.join(FIXTURES, 'lkmt_hello'), { guestName: GUEST });
  };
  const sh = async (command: string) => target.connection.exec(command, { timeoutMs: 10_000 });

  before(async () => {
    guest = await startGuest({ name: GUEST, log: (l) => console.log(`# ${l}`) });
    await open();
  });

  after(async () => {
    await target?.connection.close();
    await stopGuest(GUEST);
    assert.equal(readGuestState(GUEST), undefined);
  });

  it('builds and loads a module with parameters and reads its log line', async () => {
    const result = await runLoop(path.join(FIXTURES, 'lkmt_hello'), undefined, {
      target,
      params: { lkmt_hello: [{ name: 'greeting', value: 'hi there' }, { name: 'count', value: '2' }] },
    });
    assert.equal(result.exitCode, EXIT.loaded, result.summary);
    assert.ok(result.load!.log.some((l) => l.includes('lkmt_hello: greeting=[hi there] 2/2')), result.load!.log.join('\n'));
    assert.match((await sh('grep ^lkmt_hello /proc/modules')).stdout, /^lkmt_hello /);
  });

  it('reloads: the old instance is unloaded first and only this load is reported', async () => {
    const result = await runLoop(path.join(FIXTURES, 'lkmt_hello'), undefined, { target });
    assert.equal(result.exitCode, EXIT.loaded, result.summary);
    assert.deepEqual(result.load!.log.map((l) => l.replace(/^\[[^\]]*\] /, '')), ['lkmt_hello: goodbye', 'lkmt_hello: greeting=[hello] 1/1']);
  });

  it('unloads', async () => {
    const built = await build(target, path.join(FIXTURES, 'lkmt_hello'), {});
    const result = await loadModules(target, 'unload', built.modules, {});
    assert.ok(result.ok, result.messages);
    assert.ok(result.log.some((l) => l.includes('lkmt_hello: goodbye')));
    assert.equal((await sh('grep -c ^lkmt_hello /proc/modules')).stdout.trim(), '0');
  });

  it('follows the kernel log live until cancelled', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const following = readKernelLog(target, {
      follow: true,
      signal: controller.signal,
      onLine: (line) => {
        seen.push(line);
        if (line.includes('lkmt_hello: greeting=[followed]')) controller.abort();
      },
    });
    const built = await build(target, path.join(FIXTURES, 'lkmt_hello'), {});
    await uploadModules(target, built.modules, {});
    const loaded = await loadModules(target, 'reload', built.modules, { params: { lkmt_hello: [{ name: 'greeting', value: 'followed' }] } });
    assert.ok(loaded.ok, loaded.messages);
    const timer = setTimeout(() => controller.abort(), 10_000);
    await following;
    clearTimeout(timer);
    assert.ok(seen.some((l) => /^\[\s*\d+\.\d+\] lkmt_hello: greeting=\[followed\] 1\/1$/.test(l)), seen.slice(-5).join('\n'));
    assert.ok(!seen.some((l) => l.includes('lkm-dev-mark-')), 'load marks are hidden');
  });

  it('loads the modules of one folder in dependency order and unloads them in reverse', async () => {
    const folder = path.join(FIXTURES, 'lkmt_pair');
    const built = await build(target, folder, {});
    assert.ok(built.ok, built.output);
    assert.deepEqual(built.modules.map((m) => m.name), ['lkmt_pair_zbase', 'lkmt_pair_user']);
    await uploadModules(target, built.modules, {});
    const loaded = await loadModules(target, 'reload', built.modules, {});
    assert.ok(loaded.ok, loaded.messages);
    assert.ok(loaded.log.some((l) => l.includes('lkmt_pair_user: answer 42')), loaded.log.join('\n'));
    const unloaded = await loadModules(target, 'unload', built.modules, {});
    assert.ok(unloaded.ok, unloaded.messages);
    assert.deepEqual(unloaded.log.map((l) => l.replace(/^\[[^\]]*\] /, '')), ['lkmt_pair_user: down', 'lkmt_pair_zbase: down']);
    // Without its dependency the kernel refuses the module: an Unknown symbol problem, not a crash.
    const alone = await loadModules(target, 'load', built.modules.filter((m) => m.name === 'lkmt_pair_user'), {});
    assert.equal(alone.ok, false);
    assert.equal(alone.failedStep, 'insmod');
    const unknown = alone.problems.find((p) => /Unknown symbol lkmt_pair_answer/.test(p.message));
    assert.ok(unknown, alone.problems.map((p) => p.message).join('\n'));
    assert.deepEqual([unknown.severity, unknown.module, unknown.crash], ['error', 'lkmt_pair_user', undefined]);
  });

  it('maps a compile error to the local file and line', async () => {
    const result = await runLoop(path.join(FIXTURES, 'lkmt_broken'), undefined, { target });
    assert.equal(result.exitCode, EXIT.buildFailed);
    const error = result.problems.find((p) => p.severity === 'error');
    assert.equal(error?.file, path.join(FIXTURES, 'lkmt_broken', 'lkmt_broken.c'));
    assert.equal(error?.line, 8);
    assert.match(error!.message, /undeclared_thing/);
  });

  it("captures the kernel's own BUG line for a sleep in atomic context, at the source line", async () => {
    const result = await runLoop(path.join(FIXTURES, 'lkmt_atomic'), undefined, { target });
    assert.equal(result.exitCode, EXIT.kernelError, result.summary);
    const bug = result.problems.find((p) => p.message.startsWith('BUG: scheduling while atomic'));
    assert.ok(bug, result.problems.map((p) => p.message).join('\n'));
    assert.equal(bug.severity, 'error');
    assert.equal(bug.file, path.join(FIXTURES, 'lkmt_atomic', 'lkmt_atomic.c'));
    assert.equal(bug.line, 13);
  });

  it('detects an oops in init, decodes the faulting frame, keeps the guest reachable, and restarts it', async () => {
    const result = await runLoop(path.join(FIXTURES, 'lkmt_oops'), undefined, { target });
    assert.equal(result.exitCode, EXIT.kernelError, result.summary);
    const oops = result.problems.find((p) => p.message.startsWith('BUG: kernel NULL pointer dereference'));
    assert.ok(oops, result.problems.map((p) => p.message).join('\n'));
    const rip = oops.frames!.find((f) => f.isFaultingIp);
    assert.equal(rip?.func, 'lkmt_oops_poke');
    assert.equal(rip?.file, path.join(FIXTURES, 'lkmt_oops', 'lkmt_oops.c'));
    assert.equal(rip?.line, 10);
    assert.equal((await sh('echo alive')).stdout, 'alive\n');
    // The crashed module is stuck in "Loading"; a restart gives a clean guest.
    await target.connection.close();
    guest = await restartGuest({ name: GUEST });
    await open();
    assert.equal((await sh('grep -c lkmt_oops /proc/modules || true')).stdout.trim(), '0');
  });

  it('detects a guest that stops answering, reports its console, and restarts it', async () => {
    const built = await build(target, path.join(FIXTURES, 'lkmt_hang'), {});
    assert.ok(built.ok, built.output);
    await uploadModules(target, built.modules, {});
    const began = Date.now();
    await assert.rejects(loadModules(target, 'load', built.modules, { timeoutMs: 8_000 }), (e: unknown) => {
      const message = (e as Error).message;
      assert.match(message, /^load on test-vm failed: .*no answer within 8 s/);
      assert.match(message, /Last console output of the test VM:\n[^]*lkmt_hang: spinning/);
      assert.match(message, /Restart it with: lkm vm stop && lkm vm start/);
      return true;
    });
    assert.ok(Date.now() - began < 20_000);
    await target.connection.close();
    guest = await restartGuest({ name: GUEST });
    await open();
    assert.equal((await sh('echo back')).stdout, 'back\n');
  });

  it('passes hostile file names, remote paths and parameter values through without injection', async () => {
    const hostileDir = mkdtempSync(path.join(tmpdir(), "lkm dir $(touch pwned-local) 'q' "));
    cpSync(path.join(FIXTURES, 'lkmt_hello'), hostileDir, { recursive: true });
    const oddName = "we ird;$(touch pwned-name)`id`'\"x.h";
    writeFileSync(path.join(hostileDir, oddName), '/* synced as is */\n');
    for (const method of ['rsync', 'tar'] as const) {
      const remoteDir = `.cache/lkm t/$(touch /tmp/pwned-dir);'x' "y" ${method}`;
      const hostile: Target = { ...target, remoteDir };
      const synced = await syncSources(hostile, hostileDir, {}, method);
      assert.equal(synced.method, method);
      const listed = await sh(`ls -A -- ${shellQuote(remoteDir)}`);
      assert.deepEqual(listed.stdout.split('\n').filter(Boolean).sort(), ['Makefile', 'lkmt_hello.c', oddName].sort());
      const built = await build(hostile, hostileDir, {});
      assert.ok(built.ok, built.output);
      await uploadModules(hostile, built.modules, {});
      const value = "$(touch /tmp/pwned-param); `id` | & 'q'";
      const loaded = await loadModules(hostile, 'reload', built.modules, { params: { lkmt_hello: [{ name: 'greeting', value }] } });
      assert.ok(loaded.ok, `${loaded.messages}\n${loaded.log.join('\n')}`);
      assert.ok(loaded.log.some((l) => l.includes(`greeting=[${value}]`)), loaded.log.join('\n'));
    }
    const pwned = await sh('find / /tmp -xdev \\( -name pwned-name -o -name pwned-dir -o -name pwned-param \\) 2>/dev/null; true');
    assert.equal(pwned.stdout, '', 'no command in a name, path or value ran on the guest');
    for (const where of [hostileDir, ROOT, tmpdir()]) {
      for (const name of ['pwned-name', 'pwned-dir', 'pwned-param', 'pwned-local']) assert.ok(!existsSync(path.join(where, name)), `nor on the host: ${where}/${name}`);
    }
  });

  it('runs the CLI loop: exit 0 with the log line, exit 1 with file:line:col for a compile error', () => {
    const env = { ...process.env, LKM_VM_NAME: GUEST, LKM_CACHE_DIR: cacheRoot() };
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/src/cli/lkm.ts'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    const ok = cli('run', 'test/fixtures-modules/lkmt_hello', '--param', 'greeting=from cli');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /lkmt_hello: greeting=\[from cli\] 1\/1/);
    const broken = cli('run', 'test/fixtures-modules/lkmt_broken');
    assert.equal(broken.status, EXIT.buildFailed, broken.stderr);
    assert.match(broken.stderr, /^test\/fixtures-modules\/lkmt_broken\/lkmt_broken\.c:8:\d+: error: .*undeclared_thing/m);
    const badParam = cli('run', 'test/fixtures-modules/lkmt_hello', '--param', 'nosuch=1');
    assert.notEqual(badParam.status, 0);
    assert.match(badParam.stderr, /lkmt_hello has no parameter "nosuch"/);
    const status = cli('vm', 'status');
    assert.equal(status.status, 0, status.stdout);
    assert.ok(readGuestState(GUEST), 'the CLI reused the running guest and left it running');
  });

  it('refuses module paths a hostile remote-build target lists, writing nothing outside the fetch folder', async () => {
    const escape = `lkm-escape-${process.pid}.ko`;
    const climb = `${'../'.repeat(16)}tmp/${escape}`;
    const make = (await sh('command -v make || echo /usr/bin/make')).stdout.trim();
    await sh(`echo pwned > /tmp/${escape}; if [ -e ${make} ]; then mv ${make} ${make}.orig; fi`);
    try {
      // The target's make "succeeds" and lists a module that climbs out of the folder.
      await target.connection.exec(`cat > ${make} && chmod +x ${make}`, { timeoutMs: 10_000, input: `#!/bin/sh\necho '${climb}' > modules.order\n` });
      const hostile: Target = { ...target, build: 'remote', kdir: '/nonexistent' };
      const outcome = await build(hostile, path.join(FIXTURES, 'lkmt_hello'), {}).then((r) => `built: ${r.ok} ${r.output}`, (e: Error) => e.message);
      assert.match(outcome, /^build on test-vm failed: the target listed a module path LKM Dev refuses \(not in the module folder or one of its source folders\): "(\.\.\/)+tmp\/lkm-escape-\d+\.ko"$/);
      assert.ok(!existsSync(path.join('/tmp', escape)), 'nothing written on this machine');
    } finally {
      await sh(`rm -f /tmp/${escape} ${make}; if [ -e ${make}.orig ]; then mv ${make}.orig ${make}; fi`);
    }
  });

  it('sync removes from the target what the folder no longer has', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-resync-'));
    cpSync(path.join(FIXTURES, 'lkmt_hello'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'Kbuild'), 'obj-m := lkmt_hello.o\n');
    const resync: Target = { ...target, remoteDir: `.cache/lkm-resync-${process.pid}` };
    await syncSources(resync, dir, {}, 'tar');
    assert.equal((await sh(`ls ${resync.remoteDir}/Kbuild`)).code, 0);
    rmSync(path.join(dir, 'Kbuild'));
    await syncSources(resync, dir, {}, 'tar');
    assert.deepEqual((await sh(`ls -A ${resync.remoteDir}`)).stdout.split('\n').filter(Boolean).sort(), ['Makefile', 'lkmt_hello.c']);
  });

  it('several simultaneous lkm runs on one target all load (shared SSH master, one build copy, one load at a time)', async () => {
    const env = { ...process.env, LKM_VM_NAME: GUEST, LKM_CACHE_DIR: cacheRoot() };
    const runs = await Promise.all([1, 2, 3, 4].map((i) => cliRun(env, 'test/fixtures-modules/lkmt_hello', '--param', `count=${i}`)));
    runs.forEach((run, i) => {
      assert.equal(run.code, EXIT.loaded, run.out);
      assert.match(run.out, new RegExp(`lkmt_hello: greeting=\\[hello\\] ${i + 1}/${i + 1}`));
    });
    assert.equal((await sh('echo still')).stdout, 'still\n', 'the shared master still serves this test');
  });

  it('simultaneous lkm runs with the test VM down: one boots it, all load, the VM stops after the last', async () => {
    const name = `${GUEST}-trio`;
    const env = { ...process.env, LKM_VM_NAME: name, LKM_CACHE_DIR: cacheRoot() };
    try {
      const runs = await Promise.all([1, 2, 3].map((i) => cliRun(env, 'test/fixtures-modules/lkmt_hello', '--param', `count=${i}`)));
      runs.forEach((run) => assert.equal(run.code, EXIT.loaded, run.out));
      assert.equal(runs.filter((run) => /Booting the test VM/.test(run.out)).length, 1, runs.map((run) => run.out).join('\n----\n'));
      assert.equal(readGuestState(name), undefined, 'the run that booted the VM stopped it after the others');
    } finally {
      await stopGuest(name);
    }
  });

  it('loads a folder of 41 modules, and one module with what it depends on', { timeout: 900_000 }, async () => {
    const dir = manyModulesFolder(40);
    const all = await runLoop(dir, undefined, { target });
    assert.equal(all.exitCode, EXIT.loaded, all.summary);
    assert.equal(all.load!.log.filter((l) => /: up$/.test(l)).length, 41, all.load!.log.join('\n'));
    const one = await runLoop(dir, undefined, { target, modules: ['m01'] });
    assert.equal(one.exitCode, EXIT.loaded, one.summary);
    assert.deepEqual(one.load!.log.filter((l) => /: up$/.test(l)).map((l) => l.replace(/^\[[^\]]*\] /, '')), ['m00: up', 'm01: up']);
  });

  it('rejects a wrong host key with a clear error, for the pinned guest and for a user target', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-hostkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other')]);
    const otherKey = execFileSync('cat', [path.join(dir, 'other.pub')], { encoding: 'utf8' }).split(' ').slice(0, 2).join(' ');
    const wrongKnownHosts = path.join(dir, 'known_hosts');
    writeFileSync(wrongKnownHosts, `lkm-test-guest ${otherKey}\n[127.0.0.1]:${guest.port} ${otherKey}\n`);
    const endpoint = guestEndpoint(guest);
    const args = endpoint.extraArgs!.map((a) => (a.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${wrongKnownHosts}` : a));
    const pinned = new SshConnection({ ...endpoint, extraArgs: args }, { controlDir: dir, connectTimeoutSec: 5 });
    const began = Date.now();
    await assert.rejects(pinned.exec('true', { timeoutMs: 15_000 }), (e: unknown) => e instanceof SshError && e.kind === 'host-key' && /restart the test VM/.test(e.message));
    // A user target (no HostKeyAlias), with a changed and with an unknown key: the message says
    // how to accept the key; nothing accepts it.
    const emptyKnownHosts = path.join(dir, 'empty_known_hosts');
    writeFileSync(emptyKnownHosts, '');
    for (const knownHosts of [wrongKnownHosts, emptyKnownHosts]) {
      const userArgs = ['-F', '/dev/null', '-o', `IdentityFile=${guest.keyFile}`, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'];
      const user = new SshConnection({ label: 'board', host: 'root@127.0.0.1', port: guest.port, extraArgs: userArgs }, { controlDir: dir, connectTimeoutSec: 5 });
      await assert.rejects(user.open(), (e: unknown) => {
        assert.ok(e instanceof SshError && e.kind === 'host-key', String(e));
        assert.match(e.message, new RegExp(`ssh -p ${guest.port} root@127\\.0\\.0\\.1 true`));
        assert.match(e.message, /ssh-keygen -R '\[127\.0\.0\.1\]:\d+'/);
        return true;
      });
    }
    assert.ok(Date.now() - began < 15_000, 'host key errors come at once');
  });

  it('never outlives its owner: a guest whose starting process is killed stops by itself', async () => {
    const name = `${GUEST}-orphan`;
    const script = `require(${JSON.stringify(path.join(ROOT, 'client/src/core/guest/vm.ts'))}).startGuest({ name: ${JSON.stringify(name)} }).then((s) => { console.log('PID ' + s.pid); setInterval(() => {}, 1000); });`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const qemuPid = await new Promise<number>((resolve, reject) => {
        let out = '';
        owner.stdout!.on('data', (chunk) => {
          out += chunk;
          const m = /PID (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        owner.on('exit', (code) => reject(new Error(`owner exited early (${code})`)));
      });
      assert.ok(readGuestState(name));
      owner.kill('SIGKILL');
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && readGuestState(name)) await new Promise((r) => setTimeout(r, 200));
      assert.equal(readGuestState(name), undefined, `QEMU ${qemuPid} still runs after its owner died`);
    } finally {
      owner.kill('SIGKILL');
      await stopGuest(name);
    }
  });

  it('reports an unreachable target within its timeouts: refused port and a silent server', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-unreach-'));
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    let began = Date.now();
    await assert.rejects(
      openTarget({ name: 'gone', host: '127.0.0.1', port: closed, build: 'remote' }, FIXTURES, {}),
      (e: unknown) => /connect on gone failed: .*refused the connection/.test(String((e as Error).message)),
    );
    assert.ok(Date.now() - began < 5_000);
    // Accepts TCP but never sends an SSH banner: the connect timeout must end it.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const conn = new SshConnection({ label: 'silent', host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, extraArgs: ['-F', '/dev/null'] }, { controlDir: dir, connectTimeoutSec: 2 });
      began = Date.now();
      await assert.rejects(conn.open(), (e: unknown) => e instanceof SshError && /silent: .*(did not answer|no SSH session|cannot reach)/.test(e.message));
      assert.ok(Date.now() - began < 15_000, `took ${Date.now() - began} ms`);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});
