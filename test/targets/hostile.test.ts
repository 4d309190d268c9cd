// The hostile-target review's findings, each reproduced without a guest: what a target answers, how
// targets are named and where the tool writes must never let a target (or a bad setting) reach
// outside the tool's own folders or the terminal's plain text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError, validateRemoteDir, validateTargets } from '../../client/src/core/targets/config';
import { manyModulesFolder } from './many-modules';
import { guestKdir } from '../../client/src/core/targets/kdir';
import { LockTimeoutError, withLock } from '../../client/src/core/targets/lock';
import { buildLocally, moduleNamesFromMakefile, moduleOfSource, selectModules, TargetPathError, targetModulePaths } from '../../client/src/core/targets/session';
import { EXIT } from '../../client/src/core/targets/loop';
import { terminalSafe } from '../../client/src/core/targets/terminal';
import { PrivateDirError } from '../../client/src/core/targets/private-dir';
import { SshConnection } from '../../client/src/core/targets/ssh';

const ROOT = path.resolve(__dirname, '..', '..');
/** Modules here are built (never loaded) against the headers the test guest's modules use, as lkm run does. */
const kdirOfGuest = guestKdir;
/** The lkm CLI as a user runs it, with a guest name no guest has (nothing here boots one). */
function lkm(...args: string[]) {
  const env = { ...process.env, LKM_VM_NAME: `hostile-${process.pid}` };
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/src/cli/lkm.ts'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
}

describe('module paths a target lists (remote builds)', () => {
  const sources = ['Makefile', 'a.c', 'sub/b.c', 'sub/Kbuild'];

  it('accepts module files in the folder and in its source folders', () => {
    assert.deepEqual(targetModulePaths('./a.ko\0./sub/b-x.ko\0', sources), ['a.ko', 'sub/b-x.ko']);
    assert.deepEqual(targetModulePaths('', sources), []);
  });

  it('refuses every path that would leave the fetch folder or is not a module name, naming it', () => {
    for (const hostile of ['../../../../tmp/x.ko', './../x.ko', '/tmp/x.ko', 'sub/../../x.ko', 'other/x.ko', 'a.ko\n../../x.ko', '.hidden.ko', 'x.ko.sh', '-rf.ko', 'sub/./x.ko']) {
      assert.throws(() => targetModulePaths(`./a.ko\0${hostile}\0`, sources), (e: unknown) => e instanceof TargetPathError && e.message.includes(JSON.stringify(hostile.replace(/^\.\//, ''))), hostile);
    }
  });

  it('refuses an unbounded answer', () => {
    assert.throws(() => targetModulePaths('a.ko\0'.repeat(1001), sources), /more than 1000 modules/);
  });
});

describe('target host names', () => {
  it('accepts aliases, DNS names, user@host and IP addresses', () => {
    for (const host of ['board', 'lkm-debian', 'me@board.lan', 'dev_vm.example.org', '192.168.1.7', 'root@127.0.0.1', '::1', 'u@fe80::1']) {
      assert.equal(validateTargets([{ name: 't', host }])[0].host, host);
    }
  });

  it('refuses shell, ssh and rsync syntax with a message naming the setting', () => {
    const hostile = ['-oProxyCommand=touch /tmp/x', '-J', 'a;b', 'h$(id)', 'h`id`', 'a b', 'a\tb', 'a\nb', 'me@-oX', '@host', 'a|b', 'a&b', 'h%n', "h'x", 'h:/tmp', 'a@b@c', '', 'h/x'];
    for (const host of hostile) {
      assert.throws(() => validateTargets([{ name: 't', host }]), /lkm\.targets\[0\]\.host must be an ssh config alias, a host name or an IP address/, JSON.stringify(host));
    }
  });
});

describe('target text on the terminal', () => {
  it('escapes CSI, OSC 52, C1 and other controls; keeps newlines and tabs', () => {
    const osc52 = '\x1b]52;c;cHduZWQ=\x07';
    assert.equal(terminalSafe(`a\tb\nc${osc52}d`), 'a\tb\nc\\x1b]52;c;cHduZWQ=\\x07d');
    assert.equal(terminalSafe('\x1b[2J\x1b[31mred\r\x9b0m\x00\x7f\u202eevil'), '\\x1b[2J\\x1b[31mred\\x0d\\x9b0m\\x00\\x7f\\u{202e}evil');
    assert.equal(terminalSafe('ünïcode → ok'), 'ünïcode → ok');
  });

  it('lkm run prints no escape sequence a compile error carries (gcc echoes the source line raw)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-esc-'));
    writeFileSync(path.join(dir, 'Makefile'), 'obj-m := esc.o\n');
    writeFileSync(path.join(dir, 'esc.c'), '#error "title\x1b]0;pwned\x07 clip\x1b]52;c;cHduZWQ=\x07 csi\x1b[2J"\n');
    const run = lkm('run', dir);
    assert.equal(run.status, EXIT.buildFailed, run.stderr);
    assert.match(run.stderr, /esc\.c:1:\d+: error: .*title\\x1b\]0;pwned\\x07 clip\\x1b\]52;c;cHduZWQ=\\x07/);
    assert.ok(!/[\x1b\x07\x9b]/.test(run.stdout + run.stderr), JSON.stringify(run.stdout + run.stderr));
  });
});

describe('the SSH control socket folder', () => {
  const connect = (controlDir: string) => new SshConnection({ label: 't', host: 'board' }, { controlDir });

  it('is created 0700', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'lkm-ctl-')), 'ssh');
    connect(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it('refuses a folder of another user, one others can write, and a link; makes a readable one private', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'lkm-ctl-'));
    const foreign = path.join(base, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    // Tests run as root here, so chown can hand the folder to nobody; as another user this folder
    // is made by creating it as that user.
    if (process.getuid?.() === 0) {
      chownSync(foreign, 65534, 65534);
      assert.throws(() => connect(foreign), (e: unknown) => e instanceof PrivateDirError && /belongs to uid 65534, not to you/.test(e.message));
    }
    const open = path.join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    assert.throws(() => connect(open), /writable by other users \(mode 777\): remove it, or set LKM_CACHE_DIR/);
    symlinkSync(open, path.join(base, 'link'));
    assert.throws(() => connect(path.join(base, 'link')), /is not a folder \(a link or a file is in its place\)/);
    const readable = path.join(base, 'readable');
    mkdirSync(readable);
    chmodSync(readable, 0o755);
    connect(readable);
    assert.equal(statSync(readable).mode & 0o777, 0o700);
  });
});

describe('remoteDir', () => {
  it('accepts dedicated work folders', () => {
    for (const dir of ['lkm-work', 'src/mods/lkm', '.cache/lkm-dev/work/m-1', '/tmp/lkm-work', '/home/me/lkm', '/root/lkm', '/srv/lkm/w', '/opt/work']) assert.equal(validateRemoteDir(dir), dir);
  });

  it('refuses system and sensitive folders, saying what to use instead', () => {
    const refused = ['/', '/etc', '/etc/modprobe.d', '/usr/local/bin', '/bin', '/boot', '/lib/modules/x', '/lib64', '/proc/sys', '/sys', '/dev/shm', '/var/lib', '/root', '/home', '/home/me', '/tmp',
      '.ssh', '.ssh/x', '/root/.ssh', '/home/me/.ssh', '.config/autostart', '.', './', '.cache', '~/x', 'a/../../etc', '/home/me/../../etc'];
    for (const dir of refused) assert.throws(() => validateRemoteDir(dir), /use a dedicated work folder such as lkm-work|must not contain "\.\."/, dir);
    assert.throws(() => validateTargets([{ name: 't', host: 'h', remoteDir: '/etc' }]), /lkm\.targets\[0\]\.remoteDir "\/etc" is a system folder \(\/etc\); use a dedicated work folder/);
  });
});

describe('the private build copy', { timeout: 180_000 }, () => {

  it('is private, and follows renames and deletions of the folder (a deleted Kbuild is not built again)', async () => {
    const cache = mkdtempSync(path.join(tmpdir(), 'lkm-cache-'));
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-prune-'));
    const module = (name: string) => `#include <linux/module.h>\nstatic int __init i(void) { return 0; }\nstatic void __exit e(void) {}\nmodule_init(i);\nmodule_exit(e);\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("${name}");\n`;
    writeFileSync(path.join(dir, 'Makefile'), 'obj-m := one.o\n');
    writeFileSync(path.join(dir, 'Kbuild'), 'obj-m := two.o\n');
    writeFileSync(path.join(dir, 'one.c'), module('one'));
    writeFileSync(path.join(dir, 'two.c'), module('two'));
    const previous = process.env.LKM_CACHE_DIR;
    process.env.LKM_CACHE_DIR = cache;
    try {
      const first = await buildLocally(await kdirOfGuest(), dir, {});
      assert.ok(first.ok, first.output);
      assert.deepEqual(first.modules.map((m) => m.name), ['two']);
      const copy = first.modules[0].buildRoot;
      assert.equal(statSync(copy).mode & 0o777, 0o700, 'the build copy is private');
      rmSync(path.join(dir, 'Kbuild'));
      renameSync(path.join(dir, 'one.c'), path.join(dir, 'uno.c'));
      writeFileSync(path.join(dir, 'Makefile'), 'obj-m := uno.o\n');
      const second = await buildLocally(await kdirOfGuest(), dir, {});
      assert.ok(second.ok, second.output);
      assert.deepEqual(second.modules.map((m) => m.name), ['uno'], 'the Kbuild deleted from the folder is gone from the copy, and two.ko is not reported');
      assert.ok(!existsSync(path.join(copy, 'Kbuild')) && !existsSync(path.join(copy, 'one.c')));
    } finally {
      if (previous === undefined) delete process.env.LKM_CACHE_DIR;
      else process.env.LKM_CACHE_DIR = previous;
    }
  });
});

describe('exit codes as the README documents them', { timeout: 120_000 }, () => {
  const folder = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-exit-'));
    writeFileSync(path.join(dir, 'Makefile'), 'obj-m := m.o\n');
    writeFileSync(path.join(dir, 'm.c'), '');
    return dir;
  };

  it('2 for an unknown option, a missing argument, an unknown target or a folder without Makefile', () => {
    const dir = folder();
    for (const args of [['run', '--nosuch', dir], ['build', '--bogus'], ['run'], ['run', dir, '--target', 'nosuch']]) {
      const result = lkm(...args);
      assert.equal(result.status, EXIT.usage, `${args.join(' ')}: ${result.stderr}`);
    }
    const empty = mkdtempSync(path.join(tmpdir(), 'lkm-empty-'));
    const noMakefile = lkm('run', empty);
    assert.equal(noMakefile.status, EXIT.usage, noMakefile.stderr);
    assert.match(noMakefile.stderr, /has no Makefile or Kbuild: not a kernel module folder/);
  });

  it('5 for an unreachable target, from build, load and run alike', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const dir = folder();
    mkdirSync(path.join(dir, '.vscode'));
    writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'lkm.targets': [{ name: 'gone', host: '127.0.0.1', port, build: 'remote' }] }));
    for (const command of ['build', 'load', 'run']) {
      const result = lkm(command, dir, '--target', 'gone');
      assert.equal(result.status, EXIT.targetError, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /gone: 127\.0\.0\.1 port \d+ refused the connection/);
    }
  });
});

describe('a folder of many modules', { timeout: 900_000 }, () => {
  it('names the module of a source file, selects one module with its dependencies, and refuses an unknown one', async () => {
    const dir = manyModulesFolder(40);
    assert.equal(moduleOfSource(dir, path.join(dir, 'm07.c')), 'm07');
    assert.equal(moduleOfSource(dir, path.join(dir, 'part2.c')), 'multi');
    assert.equal(moduleOfSource(dir, path.join(dir, 'nothing.c')), undefined);
    assert.equal(moduleNamesFromMakefile(dir).length, 41);
    const built = await buildLocally(await kdirOfGuest(), dir, {});
    assert.ok(built.ok, built.output.slice(-3000));
    assert.equal(built.modules.length, 41);
    assert.deepEqual(selectModules(built.modules, ['m01']).map((m) => m.name), ['m00', 'm01']);
    assert.deepEqual(selectModules(built.modules, ['m07', 'multi']).map((m) => m.name), ['m07', 'multi']);
    assert.equal(selectModules(built.modules).length, 41);
    assert.throws(() => selectModules(built.modules, ['nope']), (e: unknown) => e instanceof UsageError && /this folder builds no module nope \(it builds: m00, m01, /.test(e.message));
    // The same from the CLI, after the (now cached) build and before any guest: a usage error.
    const run = lkm('run', dir, '--module', 'nope');
    assert.equal(run.status, EXIT.usage, run.stderr);
    assert.match(run.stderr, /this folder builds no module nope/);
  });
});

describe('concurrent runs', { timeout: 600_000 }, () => {
  it('builds of one folder wait for each other instead of racing in the shared build copy', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-race-'));
    cpSync(path.join(ROOT, 'test', 'fixtures-modules', 'lkmt_hello'), dir, { recursive: true });
    const kdir = await kdirOfGuest();
    const waits: string[] = [];
    const builds = await Promise.all([1, 2, 3].map(() => buildLocally(kdir, dir, { output: (t) => { if (t.startsWith('waiting for')) waits.push(t); } })));
    for (const built of builds) {
      assert.ok(built.ok, built.output.slice(-2000));
      assert.deepEqual(built.modules.map((m) => m.name), ['lkmt_hello']);
    }
    assert.equal(waits.length, 2, 'two builds said they waited');
    assert.match(waits[0], /^waiting for another lkm run \(pid \d+\) using the build copy of /);
  });

  it('a lock held past the wait is a named timeout; one whose holder died is taken over', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lkm-lock-')), 'x.lock');
    const holder = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    writeFileSync(file, `${holder.stdout.trim()}\n`); // that shell has exited: a stale lock
    assert.equal(await withLock(file, 'the thing', { timeoutMs: 1_000 }, async () => 'ran'), 'ran');
    assert.ok(!existsSync(file), 'released');
    writeFileSync(file, `${process.ppid}\n`); // a live process holds it
    const began = Date.now();
    await assert.rejects(withLock(file, 'the thing', { timeoutMs: 500 }, async () => 'ran'), (e: unknown) => e instanceof LockTimeoutError && new RegExp(`^the thing is in use by another lkm run \\(pid ${process.ppid}\\); gave up after \\d+ s$`).test(e.message));
    assert.ok(Date.now() - began < 3_000);
  });
});
