// Targets library pieces that need no guest: quoting (checked against a real sh), kbuild and kernel
// log parsing, parameter and settings validation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { shellCommand, shellQuote } from '../../client/src/core/targets/quote';
import { mapPath, parseKbuildOutput, parseKernelLog } from '../../client/src/core/targets/problems';
import { parseParamAssignment, validateParams } from '../../client/src/core/targets/params';
import { pickTarget, readWorkspaceTargetSettings, validateRemoteDir, validateTargets } from '../../client/src/core/targets/config';
import { loadScript, listSources, moduleNamesFromMakefile } from '../../client/src/core/targets/session';
import { CancelledError, runProcess } from '../../client/src/core/targets/process';

const HOSTILE = [
  '',
  'plain',
  'two words',
  "it's",
  '"double"',
  '$(touch /tmp/lkm-pwned)',
  '`id`',
  'a;b|c&d>e<f',
  'line1\nline2',
  '\\backslash\\',
  '*?[glob]',
  '~tilde',
  "mixed 'single' \"double\" $HOME\t\ttabs",
  '-n',
];

describe('shellQuote', () => {
  it('round-trips every hostile string through a real POSIX shell unchanged', () => {
    for (const value of HOSTILE) {
      const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
      assert.equal(out, value, `value ${JSON.stringify(value)}`);
    }
  });

  it('keeps argument boundaries when joining a command', () => {
    const args = ['printf', '%s\\0', ...HOSTILE];
    const out = execFileSync('sh', ['-c', shellCommand(args)], { encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), HOSTILE);
  });

  it('rejects NUL bytes, which no shell argument can hold', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });

  it('the load script keeps hostile module paths and parameters as single arguments', () => {
    const script = loadScript('load', [{ name: 'm', remotePath: "dir/$(x) 'q'.ko", args: ['p="a b; rm -rf /"'] }], 'mark1');
    assert.match(script, /insmod 'dir\/\$\(x\) '\\''q'\\''\.ko' 'p="a b; rm -rf \/"'/);
  });
});

describe('kbuild output', () => {
  const mirror = '/home/u/.cache/lkm-dev/build/m-123';
  const local = '/work/mod';

  it('maps compiler diagnostics from the build dir back to local file:line:col', () => {
    const output = [
      'make: Entering directory ...',
      `${mirror}/sub/x.c:8:16: error: 'foo' undeclared (first use in this function)`,
      `${mirror}/sub/x.c:8:16: note: each undeclared identifier is reported only once`,
      `${mirror}/x.h:3:1: warning: no newline at end of file`,
      'Skipping BTF generation for x.ko due to unavailability of vmlinux',
      `ERROR: modpost: "missing_fn" [${mirror}/x.ko] undefined!`,
    ].join('\n');
    const problems = parseKbuildOutput(output, [{ from: mirror, to: local }]);
    assert.equal(problems.length, 3);
    assert.deepEqual([problems[0].file, problems[0].line, problems[0].column, problems[0].severity], ['/work/mod/sub/x.c', 8, 16, 'error']);
    assert.equal(problems[1].severity, 'warning');
    assert.equal(problems[1].file, '/work/mod/x.h');
    assert.equal(problems[2].message, 'modpost: "missing_fn" [/work/mod/x.ko] undefined!');
  });

  it('maps only whole path components', () => {
    assert.equal(mapPath('/r/dir2/a.c', [{ from: '/r/dir', to: '/l' }]), '/r/dir2/a.c');
    assert.equal(mapPath('/r/dir/a.c', [{ from: '/r/dir/', to: '/l' }]), '/l/a.c');
  });
});

describe('kernel log reports', () => {
  it('joins BUG + Oops into one report with its RIP and module frames', () => {
    const log = [
      '[    7.5] lkmt_oops: about to dereference NULL',
      '[    7.5] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '[    7.5] #PF: supervisor read access in kernel mode',
      '[    7.5] Oops: 0000 [#1] PREEMPT SMP NOPTI',
      '[    7.5] RIP: 0010:lkmt_oops_poke+0x18/0x1000 [lkmt_oops]',
      '[    7.5] Call Trace:',
      '[    7.5]  <TASK>',
      '[    7.5]  ? lkmt_oops_helper+0x5/0x20 [lkmt_oops]',
      '[    7.5]  do_one_initcall+0x59/0x220',
      '[    7.5]  </TASK>',
      '[    7.5] RIP: 0033:0x47fbe9',
      '[    7.5] ---[ end trace 0000000000000000 ]---',
      '[    7.6] lkmt_x: Unknown symbol not_exported (err -2)',
      '[    7.7] lkmt_x: loading out-of-tree module taints kernel.',
      '[    7.8] unrelated line',
    ];
    const problems = parseKernelLog(log);
    assert.equal(problems.length, 3);
    const [oops, unknown, taint] = problems;
    assert.equal(oops.severity, 'error');
    assert.match(oops.message, /^BUG: kernel NULL pointer dereference/);
    assert.equal(oops.module, 'lkmt_oops');
    assert.deepEqual(oops.frames!.map((f) => [f.func, f.offset, f.module, f.reliable, f.isFaultingIp]), [
      ['lkmt_oops_poke', 0x18, 'lkmt_oops', true, true],
      ['lkmt_oops_helper', 5, 'lkmt_oops', false, false],
      ['do_one_initcall', 0x59, undefined, true, false],
    ]);
    assert.deepEqual([unknown.severity, unknown.module, unknown.crash], ['error', 'lkmt_x', undefined]);
    assert.equal(oops.crash, true);
    assert.equal(taint.severity, 'info');
    assert.ok(!taint.report!.some((l) => l.includes('unrelated')), 'a taint line is a report of its own');
  });

  it('recognises scheduling while atomic, invalid-context sleeps, lockdep and warnings', () => {
    const problems = parseKernelLog([
      'BUG: scheduling while atomic: insmod/131/0x00000002',
      'BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580',
      'WARNING: possible circular locking dependency detected',
      'WARNING: CPU: 0 PID: 131 at init/main.c:1284 do_one_initcall+0x1d7/0x220',
    ]);
    assert.deepEqual(problems.map((p) => p.severity), ['error', 'error', 'warning', 'warning']);
  });
});

describe('module parameters', () => {
  const declared = [
    { name: 'count', type: 'int', description: '' },
    { name: 'greeting', type: 'charp', description: '' },
    { name: 'verbose', type: 'bool', description: '' },
    { name: 'ids', type: 'array of ushort', description: '' },
  ];

  it('accepts valid values and double-quotes strings with spaces for the kernel', () => {
    const args = validateParams('m', declared, [
      { name: 'count', value: '-3' },
      { name: 'greeting', value: 'hi there' },
      { name: 'verbose', value: 'Y' },
      { name: 'ids', value: '1,0x10,65535' },
    ]);
    assert.deepEqual(args, ['count=-3', 'greeting="hi there"', 'verbose=Y', 'ids=1,0x10,65535']);
  });

  it('rejects unknown names, wrong types, out-of-range numbers and unrepresentable strings', () => {
    assert.throws(() => validateParams('m', declared, [{ name: 'nope', value: '1' }]), /m has no parameter "nope" \(its parameters: count \(int\)/);
    assert.throws(() => validateParams('m', declared, [{ name: 'count', value: '1; reboot' }]), /not an integer/);
    assert.throws(() => validateParams('m', declared, [{ name: 'count', value: '2147483648' }]), /out of range/);
    assert.throws(() => validateParams('m', declared, [{ name: 'ids', value: '1,70000' }]), /ids\[1\].*out of range/);
    assert.throws(() => validateParams('m', declared, [{ name: 'greeting', value: 'a"b' }]), /double quotes/);
    assert.throws(() => validateParams('m', declared, [{ name: 'greeting', value: 'a\nb' }]), /newlines/);
    assert.throws(() => parseParamAssignment('=x'), /name=value/);
  });
});

describe('target settings', () => {
  it('validates targets with messages naming the field', () => {
    assert.deepEqual(validateTargets([{ name: 'board', host: 'me@board', port: 2222 }])[0], {
      name: 'board', host: 'me@board', port: 2222, remoteDir: undefined, build: 'remote', kdir: undefined, sudo: undefined, sshConfig: undefined,
    });
    assert.equal(validateTargets([{ name: 'vm', host: 'lkm-debian', sshConfig: '/home/me/.ssh/lkm.conf' }])[0].sshConfig, '/home/me/.ssh/lkm.conf');
    assert.throws(() => validateTargets([{ name: 'b', host: 'h', sshConfig: 'relative/config' }]), /lkm\.targets\[0\]\.sshConfig must be the absolute path/);
    assert.throws(() => validateTargets([{ name: 'b', host: '-oProxyCommand=x' }]), /lkm\.targets\[0\]\.host/);
    assert.throws(() => validateTargets([{ name: 'b', host: 'h', build: 'local' }]), /kdir is required/);
    assert.throws(() => validateTargets([{ name: 'b', host: 'h', password: 'x' }]), /passwords are not supported/);
    assert.throws(() => validateTargets([{ name: 'test-vm', host: 'h' }]), /reserved/);
    assert.throws(() => validateRemoteDir('../etc'), /\.\./);
    assert.throws(() => validateRemoteDir('/'), /other than \//);
  });

  it('reads lkm.* settings (JSON with comments) from the nearest .vscode/settings.json', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lkm-settings-'));
    mkdirSync(path.join(root, '.vscode'));
    mkdirSync(path.join(root, 'mod'));
    writeFileSync(path.join(root, '.vscode', 'settings.json'), '{\n // a comment\n "lkm.targets": [{ "name": "board", "host": "board" },],\n "lkm.activeTarget": "board",\n "lkm.moduleParams": { "m": { "n": 3 } }\n}\n');
    const settings = readWorkspaceTargetSettings(path.join(root, 'mod'));
    assert.equal(pickTarget(settings)?.host, 'board');
    assert.equal(pickTarget(settings, 'test-vm'), undefined);
    assert.deepEqual(settings.moduleParams, { m: { n: '3' } });
    assert.throws(() => pickTarget(settings, 'nope'), /no target named "nope" \(known: test-vm, board\)/);
  });

  it('lists sources only and reads module names from obj-m', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-src-'));
    writeFileSync(path.join(dir, 'Makefile'), 'obj-m := a-b.o c.o\nc-y := x.o\n');
    for (const f of ['a-b.c', 'a-b.o', 'a-b.ko', '.a-b.o.cmd', 'modules.order', 'Module.symvers', 'a-b.mod.c']) writeFileSync(path.join(dir, f), '');
    assert.deepEqual(listSources(dir), ['Makefile', 'a-b.c']);
    assert.deepEqual(moduleNamesFromMakefile(dir), ['a_b', 'c']);
    assert.throws(() => listSources(tmpdir() + '/does-not-exist-lkm'), /not a folder/);
  });
});

describe('runProcess', () => {
  it('kills a program that runs past its timeout and says so', async () => {
    const began = Date.now();
    const result = await runProcess('sleep', ['10'], { timeoutMs: 300 });
    assert.equal(result.timedOut, true);
    assert.ok(Date.now() - began < 3_000);
  });

  it('is cancelled by its AbortSignal (the Cancel of a progress notification)', async () => {
    const controller = new AbortController();
    const began = Date.now();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(runProcess('sleep', ['10'], { timeoutMs: 10_000, signal: controller.signal }), CancelledError);
    assert.ok(Date.now() - began < 3_000);
  });

  it('returns binary output unchanged', async () => {
    const result = await runProcess('printf', ['\\377\\000\\001'], { timeoutMs: 5_000 });
    assert.deepEqual([...result.stdoutBytes], [0xff, 0, 1]);
  });
});
