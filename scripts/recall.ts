// Recall on real bugs: lints every case of test/recall/cases (a real upstream fix reversed into the Linux 6.1
// source) with the built CLI, on a copy of the module with the bug put back and on a copy of the fixed code,
// and reports per case whether the bug is found at the line the case names.
//
// A case is
//   found      a finding of the case's rule at an expected (or accepted) line, ±1 line (a report may start on the
//              statement or on the line of its call), that the fixed code does not also get;
//   survives   found there, but the fixed code gets that finding too: it is not caused by the bug, so it is no
//              detection;
//   elsewhere  not at those lines, but the bug brings other new findings of the rule in the patched files (the
//              detail marks those whose message names an expected line: the bug reported at its atomic caller);
//   missed     nothing new of the rule.
// Exit status 1 only when a case cannot be run (its patch no longer applies, the CLI fails), never for misses.
//
// Usage: npm run recall -- [--cli PATH/bin/lkm-lint.js] [--kdir DIR] [--json FILE] [CASE ...]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { debianKdir, linuxSourceWith } from '../test/corpus/linuxSource';
import {
  applyPatch, copyModule, loadCases, mapOldLineToNew, topFolders, type Location, type RecallCase,
} from '../test/recall/recallCases';

const ROOT = path.join(__dirname, '..');
const LINE_TOLERANCE = 1;
const CONCURRENCY = 2;

interface Options {
  cli: string;
  kdir: string;
  json?: string;
  only: string[];
}

interface JsonFinding {
  file: string;
  line: number;
  rule: string;
  message: string;
}

type Status = 'found' | 'survives' | 'elsewhere' | 'missed' | 'error';

interface CaseResult {
  name: string;
  bugClass: string;
  rule: string;
  title: string;
  status: Status;
  /** Expected/accepted locations that got a finding, as FILE:LINE. */
  hits: string[];
  /** New findings of the rule elsewhere in the patched files, as FILE:LINE. */
  elsewhere: string[];
  error?: string;
  seconds: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { cli: path.join(ROOT, 'bin', 'lkm-lint.js'), kdir: '', only: [] };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--cli') options.cli = path.resolve(value());
    else if (argv[i] === '--kdir') options.kdir = path.resolve(value());
    else if (argv[i] === '--json') options.json = path.resolve(value());
    else if (argv[i].startsWith('-')) throw new Error(`unknown option ${argv[i]}`);
    else options.only.push(argv[i]);
  }
  options.kdir ||= debianKdir();
  if (!fs.existsSync(options.cli)) throw new Error(`${options.cli} is missing (npm run build in that checkout)`);
  return options;
}

/** Runs the CLI on `dir` (relative to `cwd`); stdout goes to a file, as a pipe may cut long output. */
function lint(options: Options, cwd: string, dir: string): Promise<JsonFinding[]> {
  const outFile = path.join(cwd, '..', `${path.basename(cwd)}.json`);
  const out = fs.openSync(outFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.cli, '--kdir', options.kdir, '--format', 'json', '-j', '1', dir], {
      cwd, stdio: ['ignore', out, 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(out);
      const text = fs.readFileSync(outFile, 'utf8');
      // The CLI exits 1 when it reports errors; only output that is not JSON is a failure to run.
      try {
        resolve(JSON.parse(text) as JsonFinding[]);
      } catch {
        reject(new Error(`${options.cli} exited ${code} without JSON: ${stderr.trim().slice(0, 500)}`));
      }
    });
  });
}

const near = (finding: JsonFinding, location: Location) =>
  finding.file === location.file && Math.abs(finding.line - location.line) <= LINE_TOLERANCE;
const where = (finding: { file: string; line: number }) => `${finding.file}:${finding.line}`;

/** Lints the buggy and the fixed copy of the case's module and classifies the result. */
async function runCase(options: Options, sourceRoot: string, recallCase: RecallCase): Promise<CaseResult> {
  const started = Date.now();
  const result: CaseResult = {
    name: recallCase.name, bugClass: recallCase.bugClass, rule: recallCase.rule, title: recallCase.title,
    status: 'error', hits: [], elsewhere: [], seconds: 0,
  };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `lkm-recall-${recallCase.name}-`));
  try {
    const buggy = path.join(work, 'buggy');
    const fixed = path.join(work, 'fixed');
    copyModule(sourceRoot, recallCase, buggy);
    copyModule(sourceRoot, recallCase, fixed);
    const problem = applyPatch(recallCase, buggy);
    if (problem) throw new Error(problem);
    const buggyFindings = (await lint(options, buggy, recallCase.moduleDir)).filter((f) => f.rule === recallCase.rule);
    const fixedFindings = (await lint(options, fixed, recallCase.moduleDir)).filter((f) => f.rule === recallCase.rule);
    classify(recallCase, buggyFindings, fixedFindings, result);
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    result.seconds = (Date.now() - started) / 1000;
  }
  return result;
}

function classify(recallCase: RecallCase, buggy: JsonFinding[], fixed: JsonFinding[], result: CaseResult): void {
  // The fixed code's findings, moved to the patched file's lines, so that both runs compare line by line.
  const fixedMoved = fixed.map((f) => ({ ...f, line: mapOldLineToNew(recallCase.files.find((p) => p.file === f.file), f.line) }));
  const patchedFiles = new Set(recallCase.files.map((p) => p.file));
  const targets = [...recallCase.expect, ...recallCase.accept];
  const hitTargets = targets.filter((t) => buggy.some((f) => near(f, t)));
  result.hits = hitTargets.map(where);
  const isNew = (f: JsonFinding) => !fixedMoved.some((g) => g.file === f.file && Math.abs(g.line - f.line) <= LINE_TOLERANCE);
  result.elsewhere = buggy.filter((f) => patchedFiles.has(f.file) && isNew(f) && !targets.some((t) => near(f, t)))
    .map((f) => where(f) + citedExpectation(recallCase, f));
  if (hitTargets.length === 0) result.status = result.elsewhere.length > 0 ? 'elsewhere' : 'missed';
  else result.status = hitTargets.some((t) => !fixedMoved.some((g) => near(g, t))) ? 'found' : 'survives';
}

/**
 * A report elsewhere whose message names an expected line of its file ("… may sleep (kcalloc …, line 1070 via …)
 * but runs in NAPI poll …") is the same bug reported at the atomic caller: say so beside it (the status stays
 * `elsewhere`, as the message's wording is the CLI's, not a contract).
 */
function citedExpectation(recallCase: RecallCase, finding: JsonFinding): string {
  const cited = [...finding.message.matchAll(/\bline (\d+)/g)].map((m) => Number(m[1]));
  const hit = recallCase.expect.find((e) => e.file === finding.file && cited.includes(e.line));
  return hit ? ` (names line ${hit.line})` : '';
}

/** Runs `task` over `items`, `limit` at a time, keeping the order of the results. */
async function inPool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function printTable(results: CaseResult[], seconds: number): void {
  const rows = results.map((r) => [
    r.name, r.bugClass, r.status, r.hits.join(' ') || '-',
    r.error ?? (r.elsewhere.length ? `new elsewhere: ${abbreviate(r.elsewhere)}` : ''),
  ]);
  const header = ['case', 'class', 'status', 'reported at', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.slice().map((row) => (i < 4 ? row[i].length : 0))));
  const format = (row: string[]) => row.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]) : cell)).join('  ').trimEnd();
  console.log(format(header));
  for (const row of rows) console.log(format(row));
  console.log('');
  for (const bugClass of [...new Set(results.map((r) => r.bugClass))].sort()) printTotals(bugClass, results.filter((r) => r.bugClass === bugClass));
  printTotals('all', results);
  console.log(`(line tolerance ±${LINE_TOLERANCE}; ${results.length} cases in ${seconds.toFixed(0)} s, ${CONCURRENCY} at a time)`);
}

/** The first few items, and how many more (the full list is in the --json output). */
function abbreviate(items: string[], shown = 3): string {
  return items.slice(0, shown).join(', ') + (items.length > shown ? ` … ${items.length - shown} more` : '');
}

function printTotals(label: string, results: CaseResult[]): void {
  const count = (status: Status) => results.filter((r) => r.status === status).length;
  console.log(`${label.padEnd(16)} found ${count('found')}/${results.length}` +
    `  survives-the-fix ${count('survives')}  elsewhere ${count('elsewhere')}  missed ${count('missed')}` +
    (count('error') ? `  ERRORS ${count('error')}` : ''));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const all = loadCases();
  const unknown = options.only.filter((name) => !all.some((c) => c.name === name));
  if (unknown.length) throw new Error(`no such case: ${unknown.join(', ')}`);
  const cases = options.only.length ? all.filter((c) => options.only.includes(c.name)) : all;
  const sourceRoot = linuxSourceWith(topFolders(cases));
  console.log(`recall: ${cases.length} cases, CLI ${options.cli}, kdir ${options.kdir}\n`);
  const started = Date.now();
  const results = await inPool(cases, CONCURRENCY, (c) => runCase(options, sourceRoot, c));
  printTable(results, (Date.now() - started) / 1000);
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
  if (results.some((r) => r.status === 'error')) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`recall: ${(error as Error).message}`);
  process.exit(1);
});
