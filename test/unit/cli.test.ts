// lkm-lint as CI runs it: the built CLI (out/server/lkm-lint.js, made by `npm run build`), its formats,
// exit codes, usage errors and bad input.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'out', 'server', 'lkm-lint.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');

function lint(args: string[], cwd = ROOT) {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lkm-lint.js'), '--no-kdir', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function tempModule(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-lint-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const CLEAN = '#include <linux/module.h>\nstatic int __init c_init(void) { return 0; }\nmodule_init(c_init);\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("clean");\n';

describe('lkm-lint CLI', () => {
  test('text output: file:line:col: severity: message [rule], exit 1 on errors', () => {
    const run = lint([path.join(FIXTURES, 'lock-imbalance', 'paths.c')]);
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.ok(lines.length >= 9);
    for (const line of lines) assert.match(line, /^test\/fixtures\/lock-imbalance\/paths\.c:\d+:\d+: (error|warning|info|hint): .+ \[[a-z-]+\]$/);
    assert.ok(lines.some((l) => l.startsWith('test/fixtures/lock-imbalance/paths.c:13:3: error:') && l.endsWith('[lock-imbalance]')));
  });

  test('json: an array of {file, line, column, endLine, endColumn, rule, severity, message}, 1-based', () => {
    const run = lint(['--format', 'json', path.join(FIXTURES, 'sleep-in-atomic', 'locks.c')]);
    assert.equal(run.status, 1, run.stderr);
    const findings = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    const kmalloc = findings.find((f) => f.line === 12 && f.rule === 'sleep-in-atomic');
    assert.deepEqual(Object.keys(kmalloc ?? {}).sort(), ['column', 'endColumn', 'endLine', 'file', 'line', 'message', 'rule', 'severity']);
    assert.equal(kmalloc!.column, 11);
    assert.equal(kmalloc!.endColumn, 18);
    assert.equal(kmalloc!.severity, 'error');
  });

  test('sarif: SARIF 2.1.0 with the rules and one result per finding', () => {
    const file = path.join(FIXTURES, 'sleep-in-atomic', 'locks.c');
    const json = JSON.parse(lint(['--format', 'json', file]).stdout) as unknown[];
    const run = lint(['--format', 'sarif', file]);
    const sarif = JSON.parse(run.stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    const [sarifRun] = sarif.runs;
    assert.deepEqual(sarifRun.tool.driver.rules.map((r: { id: string }) => r.id).sort(), ['lock-imbalance', 'missing-module-description', 'missing-module-license', 'sleep-in-atomic', 'unexported-symbol']);
    assert.equal(sarifRun.results.length, json.length);
    for (const result of sarifRun.results) {
      assert.equal(sarifRun.tool.driver.rules[result.ruleIndex].id, result.ruleId);
      assert.equal(result.locations[0].physicalLocation.artifactLocation.uri, 'test/fixtures/sleep-in-atomic/locks.c');
      assert.ok(result.locations[0].physicalLocation.region.startLine >= 1);
    }
  });

  test('output larger than a pipe buffer arrives whole through a pipe', () => {
    const functions = Array.from({ length: 800 }, (_, i) => `int leak_${i}(int x)\n{\n\tspin_lock(&l);\n\tif (x)\n\t\treturn -EINVAL;\n\tspin_unlock(&l);\n\treturn 0;\n}\n`).join('\n');
    const dir = tempModule({ 'many.c': `${CLEAN}static DEFINE_SPINLOCK(l);\n${functions}` });
    const run = lint(['--format', 'json', dir]);
    assert.equal(run.status, 1, run.stderr);
    assert.ok(run.stdout.length > 65_536, `only ${run.stdout.length} bytes`);
    assert.equal((JSON.parse(run.stdout) as unknown[]).length, 800);
  });

  test('exit 0 when nothing is at error severity; folders are searched recursively', () => {
    const dir = tempModule({ 'clean.c': CLEAN });
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'also.c'), CLEAN.replace(/c_init/g, 'd_init'));
    const run = lint([dir]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /0 finding\(s\) in 2 file\(s\)/);
  });

  test('worker threads give the same findings as one thread', () => {
    const one = JSON.parse(lint(['--format', 'json', '-j', '1', FIXTURES]).stdout);
    const two = JSON.parse(lint(['--format', 'json', '-j', '2', FIXTURES]).stdout);
    assert.ok(one.length > 20);
    assert.deepEqual(two, one);
  });

  test('usage errors exit 2 with a clear message', () => {
    const missing = lint(['/nonexistent/module']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no such file or folder: \/nonexistent\/module/);
    const badKdir = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lkm-lint.js'), '--kdir', '/nonexistent/kdir', path.join(FIXTURES, 'lock-imbalance')], { encoding: 'utf8' });
    assert.equal(badKdir.status, 2);
    assert.match(badKdir.stderr, /cannot use --kdir \/nonexistent\/kdir/);
    const badFormat = lint(['--format', 'xml', FIXTURES]);
    assert.equal(badFormat.status, 2);
    const noArgs = lint([]);
    assert.equal(noArgs.status, 2);
  });

  test('bad input: binary, 20 MB, invalid UTF-8, deep nesting, unterminated comment — no crash', () => {
    const deep = `int f(int x) {\n${'if (x) {\n'.repeat(3000)}spin_lock(&l);\n${'}\n'.repeat(3000)}return 0; }\n`;
    const huge = `${'int a_very_long_table[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };\n'.repeat(340_000)}`;
    const dir = tempModule({
      'binary.c': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3, 0, 0xff]),
      'huge.c': huge,
      'latin1.c': Buffer.concat([Buffer.from('/* caf'), Buffer.from([0xe9, 0xff, 0xfe]), Buffer.from(' */\nint x;\n')]),
      'deep.c': deep,
      'open_comment.c': 'int f(void) { spin_lock(&l); /* never closed\n',
      'garbage.c': '}}}} ((( ;;; #if\n#endif\n#else ))) static static {{ __acquires( ',
    });
    const run = lint([dir]);
    assert.ok(run.status === 0 || run.status === 1, `exit ${run.status}: ${run.stderr}`);
    assert.match(run.stderr, /binary\.c: not linted: binary file/);
    assert.match(run.stderr, /huge\.c: not linted: 19\.8 MB is over the 8 MB limit/);
    assert.doesNotMatch(run.stderr, /internal error/);
  });
});
