// lkm-lint on real kernel code: a subset of Linux 6.1 drivers/ (extracted from Debian's linux-source tarball)
// against Debian's linux-headers-amd64 as --kdir, through the built CLI as CI would run it. Checks that it
// does not crash, that the JSON is what the README documents, and that the amount of findings is plausible.
// Fails (does not skip) when the tarball or the headers are missing: .ci/run installs both.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { JsonFinding } from '../../server/src/cli/format';
import { RULES } from '../../server/src/rules';
import { debianKdir, linuxSourceWith } from './linuxSource';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'out', 'server', 'lkm-lint.js');
const SUBSET = ['drivers/char', 'drivers/misc', 'drivers/i2c', 'drivers/input'];
const SEVERITIES = new Set(['error', 'warning', 'info', 'hint']);
const RULE_IDS = new Set(RULES.map((rule) => rule.id));
/**
 * Mature in-tree code should give well under one finding per file. At f64a939 this subset gives 1.42 per
 * file, nearly all unexported-symbol false positives from the workspace index (docs/measurements.md), so the
 * bound sits above that for now; it still catches an explosion like the 6.3 per file of all of drivers/.
 * Lower it to 0.5 once those are fixed.
 */
const MAX_FINDINGS_PER_FILE = 2;

interface SubsetRun {
  sourceRoot: string;
  cFiles: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error: Error | undefined;
}

let subsetRun: SubsetRun | undefined;

/**
 * Lints the subset once, on first use. Done inside the tests rather than in a `before` hook so that a
 * missing tarball or kdir fails every test with its message (a failing hook only cancels them).
 */
function lintSubset(): SubsetRun {
  if (subsetRun) return subsetRun;
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const kdir = debianKdir();
  const sourceRoot = linuxSourceWith(SUBSET);
  const cFiles = SUBSET.reduce((sum, dir) => sum + countCFiles(path.join(sourceRoot, dir)), 0);
  // stdout goes to a file, as a CI job keeps the report: the CLI's exit after writing to a pipe cuts the
  // output at 64–128 KB (reported to the lead; lkmLint.ts exits before the pipe drains).
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-corpus-'));
  const stdout = fs.openSync(path.join(outputDir, 'findings.json'), 'w');
  try {
    const result = spawnSync(process.execPath, [CLI, '--format', 'json', '--kdir', kdir, ...SUBSET], {
      cwd: sourceRoot, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', stdout, 'pipe'], maxBuffer: 64 * 1024 * 1024,
    });
    subsetRun = {
      sourceRoot, cFiles, status: result.status, signal: result.signal, stderr: result.stderr, error: result.error,
      stdout: fs.readFileSync(path.join(outputDir, 'findings.json'), 'utf8'),
    };
  } finally {
    fs.closeSync(stdout);
    fs.rmSync(outputDir, { recursive: true, force: true });
  }
  return subsetRun;
}

describe('lkm-lint on Linux 6.1 drivers/{char,misc,i2c,input} with Debian headers', () => {
  test('exits 0 or 1 without crashing or reporting an internal error', () => {
    const run = lintSubset();
    assert.equal(run.error, undefined, `lkm-lint did not finish: ${run.error?.message}`);
    assert.equal(run.signal, null, `lkm-lint was killed by ${run.signal}`);
    assert.ok(run.status === 0 || run.status === 1, `exit ${run.status}; stderr:\n${run.stderr.slice(0, 4000)}`);
    const internal = run.stderr.split('\n').filter((line) => /internal error/i.test(line));
    assert.deepEqual(internal, [], 'internal errors on stderr');
    assert.ok(run.cFiles > 500, `the subset has only ${run.cFiles} .c files: extraction incomplete?`);
  });

  test('prints valid JSON with every documented field of every finding', () => {
    const run = lintSubset();
    const findings = parseFindings(run.stdout);
    for (const finding of findings) {
      const where = `${finding.file}:${finding.line}`;
      assert.deepEqual(Object.keys(finding).sort(), ['column', 'endColumn', 'endLine', 'file', 'line', 'message', 'rule', 'severity'], where);
      assert.ok(RULE_IDS.has(finding.rule), `${where}: unknown rule ${finding.rule}`);
      assert.ok(SEVERITIES.has(finding.severity), `${where}: unknown severity ${finding.severity}`);
      assert.ok(finding.message.trim().length > 10, `${where}: empty message`);
      assert.ok(SUBSET.some((dir) => finding.file.startsWith(`${dir}/`)), `${where}: not a relative path inside the linted folders`);
      const lines = fs.readFileSync(path.join(run.sourceRoot, finding.file), 'utf8').split('\n').length;
      for (const key of ['line', 'column', 'endLine', 'endColumn'] as const) assert.ok(Number.isInteger(finding[key]) && finding[key] >= 1, `${where}: ${key} ${finding[key]} is not 1-based`);
      assert.ok(finding.endLine <= lines, `${where}: endLine ${finding.endLine} past the file's ${lines} lines`);
      assert.ok(finding.endLine > finding.line || (finding.endLine === finding.line && finding.endColumn >= finding.column), `${where}: range ends before it starts`);
    }
    assert.equal(run.status, findings.some((f) => f.severity === 'error') ? 1 : 0, 'exit code must be 1 exactly when a finding is at error severity');
  });

  test('finds a plausible amount: some findings, from more than one rule, far fewer than the files', () => {
    const run = lintSubset();
    const findings = parseFindings(run.stdout);
    const rules = new Set(findings.map((f) => f.rule));
    assert.ok(findings.length > 0, 'no findings at all on ~950 real driver files');
    assert.ok(rules.size >= 2, `findings from only ${[...rules].join(', ')}`);
    assert.ok(findings.length < run.cFiles * MAX_FINDINGS_PER_FILE, `${findings.length} findings on ${run.cFiles} files: more than ${MAX_FINDINGS_PER_FILE} per file`);
  });
});

function parseFindings(stdout: string): JsonFinding[] {
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(stdout)), `stdout is not JSON: ${stdout.slice(0, 300)}`);
  assert.ok(Array.isArray(parsed), 'the JSON output is not an array');
  return parsed as JsonFinding[];
}

function countCFiles(dir: string): number {
  let count = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) count += countCFiles(path.join(dir, entry.name));
    else if (entry.name.endsWith('.c')) count++;
  }
  return count;
}
