// Linter benchmark on real kernel C (Linux 6.1 drivers/), in one run on the same files:
//  1. bare tree-sitter parse vs the full lint (normalise → parse → analyse → rules, exactly as the CLI's
//     lintModuleFromDisk does, single-threaded), interleaved module by module so the noise of a shared
//     machine falls on both alike; files/s, MB/s, the lint/parse ratio (target ≤ 1.5×), findings per rule,
//     and how many function definitions the analysis could not model;
//  2. the parallel CLI (`lkm-lint --format json --kdir …`) on the same folder: wall time, peak RSS;
//  3. keystroke → diagnostics in the real language server over stdio, with lkm.lint.debounceMs = 0
//     (target p95 < 30 ms), on the largest .c file of drivers/ and on the largest one with many functions;
//  4. cold CLI, as a user runs it: `lkm-lint --kdir … --format json` as a fresh process on ~2,000 files of
//     drivers/ (whole folders, chosen by a hash of their path), with the default jobs and with -j 1,
//     against a fresh process that only reads and parses the files the lint parses (those and their
//     modules' other files) with web-tree-sitter on one
//     thread, interleaved, --runs times: medians, ratios (target ≤ 1.5× for the default jobs), CPU use
//     (a second core really used shows as CPU time above the wall time) and peak RSS, with the load average;
//  5. first diagnostics: the language server started as the editor starts it, a small module open, the
//     kdir configured (its caches warm): process start → first publishDiagnostics, and → the diagnostics
//     checked against the kdir, median of --runs fresh servers; the floor is a minimal server of the same
//     library (vscode-languageserver) that publishes empty diagnostics on open, in the same run.
// Writes bench-results/lint.json. Needs `npm run build` (the CLI and the server run from out/).
// Usage: node out/bench/bench-lint.js [CORPUS] [--kdir DIR] [--sample K] [--edits N]
//          [--sections lint,cli,keystroke,cold,first] [--runs N (cold)] [--cold-files N] [--windows N (first)]
//   CORPUS (or $LKM_CORPUS; default /work/corpus/linux-source-6.1) holds drivers/; when absent, drivers/ is
//   extracted from /usr/src/linux-source-6.1.tar.xz into the cache. --sample K lints every K-th module only
//   (quick runs while developing; the figures are then not the drivers/ figures).
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, ExitNotification,
  InitializedNotification, InitializeRequest, LogMessageNotification, PublishDiagnosticsNotification,
  RegistrationRequest, ShowMessageNotification, ShowMessageRequest, ShutdownRequest,
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import type { Node } from 'web-tree-sitter';
import { functionDefinitions } from '../server/src/analysis/functionAnalysis';
import { discoverModules } from '../server/src/analysis/kbuild';
import { loadKernelTarget, readConfig } from '../server/src/analysis/kernelTarget';
import type { ParsedFile } from '../server/src/analysis/model';
import { lintModuleFromDisk } from '../server/src/cli/lintRun';
import { findSources } from '../server/src/sources';
import { Analyzer, readSource, SourceRejected, TextWorkspaceIndex } from '../server/src/engine';
import { getParser } from '../server/src/parsing/parser';
import { RULES } from '../server/src/rules';
import type { Rule } from '../server/src/rules/rule';
import { debianKdir, linuxSourceWith } from '../test/corpus/linuxSource';

// Run from its bundle (out/bench, see build.mjs) so the lint is timed as shipped: tsx's per-module
// export getters would tax every cross-module call of the lint and none of tree-sitter's.
const root = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'out' ? '../..' : '..');
const MB = 1024 * 1024;
const TARGET_RATIO = 1.5;
const TARGET_KEYSTROKE_P95_MS = 30;
const TARGET_FIRST_DIAGNOSTICS_MS = 500;
/** Keystrokes at this many points (typed and deleted) before the measured ones. */
const WARM_UP_POINTS = 5;
const CLI_TIMEOUT_MS = 40 * 60_000;
const FIRST_LINT_TIMEOUT_MS = 120_000;
const EDIT_TIMEOUT_MS = 30_000;

interface Options {
  corpus: string;
  kdir: string;
  sample: number;
  edits: number;
  sections: Set<string>;
  runs: number;
  coldFiles: number;
  windows: number;
}

const SECTIONS = ['lint', 'cli', 'keystroke', 'cold', 'first'];

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      flags.set(arg.slice(2), value);
    } else positional.push(arg);
  }
  const known = new Set(['kdir', 'sample', 'edits', 'sections', 'runs', 'cold-files', 'windows']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new Error(`unknown option --${flag}`);
  const positiveInteger = (name: string, fallback: number) => {
    const value = Number(flags.get(name) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} expects a positive integer`);
    return value;
  };
  const sections = new Set((flags.get('sections') ?? SECTIONS.join(',')).split(','));
  for (const section of sections) if (!SECTIONS.includes(section)) throw new Error(`unknown section ${section}`);
  let corpus = positional[0] ?? process.env.LKM_CORPUS ?? '/work/corpus/linux-source-6.1';
  if (!fs.existsSync(path.join(corpus, 'drivers'))) {
    console.log(`${corpus}/drivers is absent: extracting drivers/ from the linux-source tarball into the cache…`);
    corpus = linuxSourceWith(['drivers']);
  }
  return {
    corpus, kdir: flags.get('kdir') ?? debianKdir(), sample: positiveInteger('sample', 1), edits: positiveInteger('edits', 200), sections,
    runs: positiveInteger('runs', 3), coldFiles: positiveInteger('cold-files', 2000), windows: positiveInteger('windows', 10),
  };
}

/** CPU time of this process (user + system) in ms: on a shared machine it does not count time spent waiting for a core. */
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : value < 1000 ? 1 : 0)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;
const pct = (part: number, whole: number) => `${whole ? ((100 * part) / whole).toFixed(2) : '0.00'}%`;
const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

function countByRule(rules: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const rule of rules.sort()) counts[rule] = (counts[rule] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------------
// 1. Bare parse vs full lint, single-threaded.

interface FunctionShare {
  definitions: number;
  withParseError: number;
  /** Definitions analyzeFunctions dropped (no declarator, name or body found). */
  notModelled: number;
  withLockAnalysis: number;
  lockAnalysisTruncated: number;
}

async function benchParseVsLint(files: string[], kdir: string, sample: number) {
  const target = loadKernelTarget(kdir);
  const allModules = discoverModules(files);
  const modules = allModules.filter((_, index) => index % sample === 0);
  // The CLI's workspace index, built the same way before linting (its cost is reported, not compared).
  const indexStarted = performance.now();
  const workspace = new TextWorkspaceIndex();
  for (const module of modules) {
    for (const file of module.files) {
      try {
        workspace.addModuleFile(module.name, file, fs.readFileSync(file, 'latin1'));
      } catch {
        // Unreadable: reported by the lint.
      }
    }
  }
  const indexMs = performance.now() - indexStarted;
  const parser = await getParser();
  const analyzer = await Analyzer.create();

  // A first pass, not compared with the parse, wraps the lint's stages with CPU clocks and counts what the
  // analysis could not model as a side effect of analyze(); it also warms up both sides (JIT, the target's
  // lazily read headers). The timed pass then runs the lint as shipped, module by module against the parse.
  const functions: FunctionShare = { definitions: 0, withParseError: 0, notModelled: 0, withLockAnalysis: 0, lockAnalysisTruncated: 0 };
  const truncatedExamples: string[] = [];
  let countingMs = 0;
  let countingCpuMs = 0;
  // Where the lint's CPU time goes, by stage (wrapping costs a clock read per call).
  const stages = { normalizeAndParse: 0, treeSitterParse: 0, analyze: 0, rules: 0 };
  // Adds the CPU time of every call of analyzer[method] to stages[stage].
  const timeStage = <M extends 'parse' | 'parseNormalized' | 'lintModule'>(method: M, stage: keyof typeof stages) => {
    const original = analyzer[method].bind(analyzer) as (...args: unknown[]) => unknown;
    (analyzer as unknown as Record<M, (...args: unknown[]) => unknown>)[method] = (...args: unknown[]) => {
      const started = cpuMs();
      try {
        return original(...args);
      } finally {
        stages[stage] += cpuMs() - started;
      }
    };
  };
  const ruleMs: Record<string, number> = {};
  const originals = { parse: analyzer.parse, parseNormalized: analyzer.parseNormalized, lintModule: analyzer.lintModule, analyze: analyzer.analyze };
  const ruleChecks = new Map(RULES.map((rule) => [rule, rule.check]));
  const removeStageClocks = () => {
    Object.assign(analyzer, originals);
    for (const [rule, check] of ruleChecks) rule.check = check;
  };
  const installStageClocks = () => {
    timeStage('parse', 'normalizeAndParse');
    timeStage('parseNormalized', 'treeSitterParse');
    timeStage('lintModule', 'rules');
    for (const rule of RULES) {
      const check = rule.check.bind(rule);
      ruleMs[rule.id] = 0;
      rule.check = (...args: Parameters<Rule['check']>) => {
        const started = cpuMs();
        try {
          check(...args);
        } finally {
          ruleMs[rule.id]! += cpuMs() - started;
        }
      };
    }
    const analyze = analyzer.analyze.bind(analyzer);
    analyzer.analyze = (parsed: ParsedFile) => {
      const analyzeStarted = cpuMs();
      const analyzed = analyze(parsed);
      const started = cpuMs();
      const startedWall = performance.now();
      stages.analyze += started - analyzeStarted;
      const definitions: Node[] = functionDefinitions(parsed);
      functions.definitions += definitions.length;
      functions.withParseError += definitions.filter((node) => node.hasError).length;
      functions.notModelled += definitions.length - analyzed.functions.length;
      for (const fn of analyzed.functions) {
        if (!fn.locks) continue;
        functions.withLockAnalysis++;
        if (fn.locks.truncated) {
          functions.lockAnalysisTruncated++;
          if (truncatedExamples.length < 20) truncatedExamples.push(`${path.relative(root, parsed.path)}:${fn.nameNode.startPosition.row + 1} ${fn.name}`);
        }
      }
      countingCpuMs += cpuMs() - started;
      countingMs += performance.now() - startedWall;
      return analyzed;
    };
  };

  // Warm the page cache so neither side pays for the disk.
  for (const module of modules) for (const file of module.files) fs.readFileSync(file);
  process.stderr.write('  lint by stage: an instrumented first pass\n');
  installStageClocks();
  const instrumentedStarted = cpuMs();
  for (const module of modules) lintModuleFromDisk(analyzer, module, target, workspace, {});
  const instrumentedCpu = cpuMs() - instrumentedStarted - countingCpuMs;
  removeStageClocks();
  for (const module of modules) for (const file of module.files) parser.parse(fs.readFileSync(file, 'utf8'))?.delete();

  let parseMs = 0;
  let lintMs = 0;
  let parseCpu = 0;
  let lintCpu = 0;
  let filesProcessed = 0;
  let bytes = 0;
  const rules: string[] = [];
  const problems: string[] = [];
  const settings = {};
  const tenth = Math.max(1, Math.ceil(modules.length / 10));
  for (const [index, module] of modules.entries()) {
    if (index > 0 && index % tenth === 0) process.stderr.write(`  parse vs lint: ${Math.round((100 * index) / modules.length)}% of ${modules.length} modules\n`);
    const parseStarted = performance.now();
    const parseStartedCpu = cpuMs();
    for (const file of module.files) {
      let text: string;
      try {
        text = readSource(file);
      } catch (error) {
        if (error instanceof SourceRejected) continue;
        throw error;
      }
      const tree = parser.parse(text);
      if (!tree) throw new Error(`tree-sitter returned no tree for ${file}`);
      tree.delete();
      filesProcessed++;
      bytes += Buffer.byteLength(text);
    }
    parseMs += performance.now() - parseStarted;
    parseCpu += cpuMs() - parseStartedCpu;
    const lintStarted = performance.now();
    const lintStartedCpu = cpuMs();
    const result = lintModuleFromDisk(analyzer, module, target, workspace, settings);
    lintMs += performance.now() - lintStarted;
    lintCpu += cpuMs() - lintStartedCpu;
    rules.push(...result.findings.map((finding) => finding.rule));
    problems.push(...result.problems.map((problem) => `${path.relative(root, problem.file)}: ${problem.message.split('\n')[0]}`));
  }

  const uniqueFiles = new Set(modules.flatMap((module) => module.files)).size;
  return {
    modules: modules.length,
    uniqueFiles,
    filesProcessed,
    megabytes: bytes / MB,
    workspaceIndexMs: indexMs,
    parse: { wallMs: parseMs, cpuMs: parseCpu, filesPerSecond: filesProcessed / (parseMs / 1000), megabytesPerSecond: bytes / MB / (parseMs / 1000) },
    lint: { wallMs: lintMs, cpuMs: lintCpu, filesPerSecond: filesProcessed / (lintMs / 1000), megabytesPerSecond: bytes / MB / (lintMs / 1000) },
    ratio: lintMs / parseMs,
    cpuRatio: lintCpu / parseCpu,
    lintStagesMs: {
      normalize: stages.normalizeAndParse - stages.treeSitterParse,
      treeSitterParse: stages.treeSitterParse,
      analyze: stages.analyze,
      rules: stages.rules,
      ...Object.fromEntries(Object.entries(ruleMs).map(([id, spent]) => [`  of which ${id}`, spent])),
      [`  of which call graph and the rest of lintModule`]: stages.rules - Object.values(ruleMs).reduce((sum, spent) => sum + spent, 0),
      readAndOther: instrumentedCpu - stages.normalizeAndParse - stages.analyze - stages.rules,
    },
    countingMs,
    countingCpuMs,
    instrumentedLintCpuMs: instrumentedCpu,
    findings: rules.length,
    findingsPerRule: countByRule(rules),
    problems,
    functions,
    truncatedExamples,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    // Where the memory is at the end: the JS heap, and array buffers (web-tree-sitter's wasm memory is one).
    memoryAtEndMB: Object.fromEntries(Object.entries(process.memoryUsage()).map(([kind, bytes]) => [kind, Math.round(bytes / MB)])),
  };
}

// ---------------------------------------------------------------------------------------------------
// 2. The parallel CLI.

const RSS_PROBE = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nLKM_BENCH_MAXRSS_KB="+process.resourceUsage().maxRSS+"\\n"))';

async function benchCli(inputs: string[], kdir: string, outputFile: string) {
  const cli = path.join(root, 'out', 'server', 'lkm-lint.js');
  fs.mkdirSync(path.dirname(outputFile), { recursive: true });
  const stdout = fs.openSync(outputFile, 'w');
  const stderrFile = `${outputFile}.stderr`;
  const stderr = fs.openSync(stderrFile, 'w');
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', RSS_PROBE, cli, '--format', 'json', '--kdir', kdir, ...inputs], { stdio: ['ignore', stdout, stderr] });
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  fs.closeSync(stdout);
  fs.closeSync(stderr);
  const errors = fs.readFileSync(stderrFile, 'utf8');
  if (signal) throw new Error(`lkm-lint was killed (${signal}) after ${seconds(wallMs)}${signal === 'SIGKILL' ? ` (timeout ${seconds(CLI_TIMEOUT_MS)})` : ''}`);
  if (code !== 0 && code !== 1) throw new Error(`lkm-lint exited with ${code}: ${errors.slice(0, 2000)}`);
  const internalErrors = errors.split('\n').filter((line) => /internal error/i.test(line));
  const findings = JSON.parse(fs.readFileSync(outputFile, 'utf8')) as Array<{ rule: string }>;
  const rssKb = Number(/LKM_BENCH_MAXRSS_KB=(\d+)/.exec(errors)?.[1] ?? NaN);
  return { exitCode: code, wallMs, findings: findings.length, findingsPerRule: countByRule(findings.map((f) => f.rule)), internalErrors, peakRssMB: rssKb / 1024, output: path.relative(root, outputFile) };
}

// ---------------------------------------------------------------------------------------------------
// 3. Keystroke → diagnostics in the language server.

interface EditPoint {
  line: number;
  character: number;
}

/**
 * Where to type: just before the `;` ending a statement line inside a function body, spread evenly over
 * the file; in a file without functions (a data table), before the `,`/`;` ending any line.
 */
async function editPoints(text: string, count: number): Promise<{ points: EditPoint[]; inFunctions: boolean }> {
  const parser = await getParser();
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  const bodyLines = new Set<number>();
  try {
    for (const definition of tree.rootNode.descendantsOfType('function_definition')) {
      const body = definition?.childForFieldName('body');
      if (!body) continue;
      for (let row = body.startPosition.row + 1; row < body.endPosition.row; row++) bodyLines.add(row);
    }
  } finally {
    tree.delete();
  }
  const lines = text.split('\n');
  const endsWith = (pattern: RegExp) => lines.flatMap((line, row) => {
    const match = pattern.exec(line);
    return match ? [{ line: row, character: match.index }] : [];
  });
  let candidates = endsWith(/;\s*$/).filter((point) => bodyLines.has(point.line));
  const inFunctions = candidates.length >= count;
  if (!inFunctions) candidates = endsWith(/[;,]\s*$/);
  if (candidates.length === 0) throw new Error('no line ending in ; or , to type on');
  return { points: Array.from({ length: count }, (_, i) => candidates[Math.floor((i * candidates.length) / count)]!), inFunctions };
}

async function benchKeystrokes(file: string, kdir: string, edits: number, corpusRoot: string) {
  const server = path.join(root, 'out', 'server', 'server.js');
  // LKM_BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=DIR`) profiles the server under the benchmark.
  const nodeArgs = process.env.LKM_BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, server, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let serverStderr = '';
  child.stderr.on('data', (chunk: Buffer) => (serverStderr += chunk.toString()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const uri = pathToFileURL(file).href;
  const dirUri = pathToFileURL(path.dirname(file)).href;
  const serverLintMs: number[] = [];
  /** Per lint after a change: from the change's arrival to its diagnostics written (debounce, lint, encoding). */
  const serverWrittenMs: number[] = [];
  const logErrors: string[] = [];
  let waiting: ((at: number) => void) | undefined;
  let targetLoaded: (() => void) | undefined;
  connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) => (item.section === 'lkm' ? { kdir, lint: { enable: true, debounceMs: 0, severity: {} } } : null)));
  connection.onRequest(RegistrationRequest.type, () => undefined);
  connection.onRequest(ShowMessageRequest.type, () => null);
  connection.onNotification(ShowMessageNotification.type, (params) => {
    logErrors.push(params.message);
  });
  connection.onNotification(LogMessageNotification.type, (params) => {
    const lint = /linted .* in ([\d.]+) ms/.exec(params.message);
    if (lint) {
      serverLintMs.push(Number(lint[1]));
      serverWrittenMs.push(Number(/([\d.]+) ms from the change to the diagnostics written/.exec(params.message)?.[1] ?? NaN));
    }
    else if (params.message.startsWith('target kernel:')) targetLoaded?.();
    else if (params.type === 1) logErrors.push(params.message.split('\n')[0]!);
  });
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    if (params.uri === uri && waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(performance.now());
    }
  });
  connection.listen();
  const diagnosticsAfter = (send: () => void, timeoutMs: number, what: string) => new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no diagnostics ${timeoutMs / 1000} s after ${what}; server stderr: ${serverStderr.slice(-2000)}`)), timeoutMs);
    waiting = (at) => {
      clearTimeout(timer);
      resolve(at);
    };
    send();
  });
  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: dirUri,
      workspaceFolders: [{ uri: dirUri, name: path.basename(path.dirname(file)) }],
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
    });
    // The server loads the kdir (Module.symvers, header index) once; wait for it so the first lint is the lint alone.
    const targetStarted = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not log "target kernel:" ${FIRST_LINT_TIMEOUT_MS / 1000} s after initialized; errors: ${logErrors.join(' | ')}`)), FIRST_LINT_TIMEOUT_MS);
      targetLoaded = () => {
        clearTimeout(timer);
        resolve();
      };
      void connection.sendNotification(InitializedNotification.type, {});
    });
    const targetLoadMs = performance.now() - targetStarted;
    const text = fs.readFileSync(file, 'utf8');
    let version = 1;
    const openStarted = performance.now();
    const openedAt = await diagnosticsAfter(() => void connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'c', version, text },
    }), FIRST_LINT_TIMEOUT_MS, 'didOpen');
    const firstLintMs = openedAt - openStarted;
    const lintsBeforeOpen = serverLintMs.length;
    const { points, inFunctions } = await editPoints(text, Math.ceil(edits / 2));
    // The first keystrokes after opening also pay for compiling the incremental path (JIT): they are
    // reported apart (coldMs), and the percentiles are of the keystrokes after them.
    const warmUp = points.filter((_, index) => index % Math.max(1, Math.floor(points.length / WARM_UP_POINTS)) === 0).slice(0, WARM_UP_POINTS);
    const latencies: number[] = [];
    const coldMs: number[] = [];
    for (const [round, point] of [...warmUp.map((p) => ['warm-up', p] as const), ...points.map((p) => ['measured', p] as const)]) {
      // Type a character, then delete it: two versions, each waited for.
      for (const change of [
        { range: { start: point, end: point }, text: 'x' },
        { range: { start: point, end: { line: point.line, character: point.character + 1 } }, text: '' },
      ]) {
        version++;
        const sent = performance.now();
        const received = await diagnosticsAfter(() => void connection.sendNotification(DidChangeTextDocumentNotification.type, {
          textDocument: { uri, version }, contentChanges: [change],
        }), EDIT_TIMEOUT_MS, `didChange version ${version}`);
        (round === 'warm-up' ? coldMs : latencies).push(received - sent);
      }
    }
    // The server logs each lint's duration just after publishing its diagnostics: wait for the last log.
    const expectedLints = lintsBeforeOpen + 1 + coldMs.length + latencies.length;
    for (let waited = 0; serverLintMs.length < expectedLints && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const firstServerLintMs = serverLintMs[lintsBeforeOpen];
    const perEditServerMs = serverLintMs.slice(lintsBeforeOpen + 1 + coldMs.length);
    const perEditWrittenMs = serverWrittenMs.slice(lintsBeforeOpen + 1 + coldMs.length).filter((value) => !Number.isNaN(value));
    return {
      file: path.relative(corpusRoot, file),
      absoluteFile: file,
      megabytes: Buffer.byteLength(text) / MB,
      lines: text.split('\n').length,
      editsInFunctionBodies: inFunctions,
      targetLoadMs,
      firstLintMs,
      firstServerLintMs,
      edits: latencies.length,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      maxMs: Math.max(...latencies),
      coldMs,
      serverLintP50Ms: percentile(perEditServerMs, 50),
      serverLintP95Ms: percentile(perEditServerMs, 95),
      serverWrittenP50Ms: percentile(perEditWrittenMs, 50),
      serverWrittenP95Ms: percentile(perEditWrittenMs, 95),
      serverErrors: logErrors,
    };
  } finally {
    const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', () => resolve())));
    try {
      await Promise.race([connection.sendRequest(ShutdownRequest.type), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await connection.sendNotification(ExitNotification.type);
    } catch {
      // The server is gone already.
    }
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killTimer);
    connection.dispose();
  }
}

/** The largest .c file, and the largest one with many function definitions (body braces alone on a line). */
function keystrokeFiles(files: string[]): string[] {
  const bySize = files.map((file) => ({ file, size: fs.statSync(file).size })).sort((a, b) => b.size - a.size);
  const largest = bySize[0]!.file;
  const withFunctions = bySize.find(({ file }) => (fs.readFileSync(file, 'latin1').match(/^\{$/gm)?.length ?? 0) >= 50)?.file;
  return withFunctions && withFunctions !== largest ? [largest, withFunctions] : [largest];
}

// ---------------------------------------------------------------------------------------------------
// 4. The cold CLI against a cold bare parse, fresh processes.

/** Prints, as the process exits, its peak RSS and CPU time (all threads) on stderr. */
const USAGE_PROBE = 'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("\\nLKM_BENCH_USAGE="+u.maxRSS+","+(u.userCPUTime+u.systemCPUTime)+"\\n")})';

interface ProcessRun { wallMs: number; cpuMs: number; peakRssMB: number; exitCode: number | null }

/** Runs `node args…` as a fresh process, stdout to `stdoutFile`; its wall time, CPU time and peak RSS. */
async function runFresh(args: string[], stdoutFile: string): Promise<ProcessRun> {
  const stdout = fs.openSync(stdoutFile, 'w');
  let stderr = '';
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', USAGE_PROBE, ...args], { stdio: ['ignore', stdout, 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  fs.closeSync(stdout);
  const usage = /LKM_BENCH_USAGE=(\d+),(\d+)/.exec(stderr);
  if (!usage) throw new Error(`node ${args[0]} ended (${exitCode}) without its usage line: ${stderr.slice(-2000)}`);
  return { wallMs, cpuMs: Number(usage[2]) / 1000, peakRssMB: Number(usage[1]) / 1024, exitCode };
}

/**
 * About `count` files of drivers/: whole folders (a module's files together), taken in the order of a
 * hash of their path, so the subset is the same on every machine and spread over all of drivers/.
 */
function coldSubset(files: string[], driversRoot: string, count: number): string[] {
  const byFolder = new Map<string, string[]>();
  for (const file of files) {
    const folder = path.dirname(file);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  const hash = (folder: string) => crypto.createHash('sha1').update(path.relative(driversRoot, folder)).digest('hex');
  const folders = [...byFolder.keys()].map((folder) => ({ folder, hash: hash(folder) })).sort((a, b) => a.hash.localeCompare(b.hash));
  const chosen: string[] = [];
  for (const { folder } of folders) {
    if (chosen.length >= count) break;
    chosen.push(...byFolder.get(folder)!);
  }
  return chosen.sort();
}

/** `node bench-lint.js --bare-parse LIST`: reads (as the lint does) and parses each file of LIST, one thread. */
async function bareParse(listFile: string): Promise<void> {
  const parser = await getParser();
  for (const file of fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean)) {
    let text: string;
    try {
      text = readSource(file);
    } catch (error) {
      if (error instanceof SourceRejected) continue;
      throw error;
    }
    const tree = parser.parse(text);
    if (!tree) throw new Error(`tree-sitter returned no tree for ${file}`);
    tree.delete();
  }
}

async function benchColdCli(files: string[], kdir: string, runs: number) {
  const results = path.join(root, 'bench-results');
  fs.mkdirSync(results, { recursive: true });
  // lkm-lint lints whole modules: a file given brings its module's other files (amdgpu's 697 for one
  // of them). The bare parse parses what the lint parses, so the ratio compares the same work.
  const linted = [...new Set(discoverModules(files, undefined, readConfig(kdir)).flatMap((module) => module.files))].sort();
  const list = path.join(results, 'cold-files.txt');
  fs.writeFileSync(list, `${linted.join('\n')}\n`);
  const cli = path.join(root, 'out', 'server', 'lkm-lint.js');
  const variants: Record<string, string[]> = {
    bare: [__filename, '--bare-parse', list],
    default: [cli, '--format', 'json', '--kdir', kdir, ...files],
    'j1': [cli, '-j', '1', '--format', 'json', '--kdir', kdir, ...files],
  };
  // The page cache, the kdir caches: warm, as for a user's second run.
  for (const file of linted) fs.readFileSync(file);
  await runFresh([cli, '--format', 'json', '--kdir', kdir, files[0]!], path.join(results, 'cold-warm-up.json'));
  const samples: Record<string, ProcessRun[]> = { bare: [], default: [], j1: [] };
  const loadAverages = [os.loadavg()[0]!];
  for (let run = 0; run < runs; run++) {
    // Interleaved: a burst of load from elsewhere falls on all three alike.
    for (const [name, args] of Object.entries(variants)) {
      const sample = await runFresh(args, path.join(results, `cold-${name}.json`));
      const allowed = name === 'bare' ? [0] : [0, 1];
      if (!allowed.includes(sample.exitCode ?? -1)) throw new Error(`${name} exited with ${sample.exitCode}`);
      samples[name]!.push(sample);
      process.stderr.write(`  cold run ${run + 1}/${runs} ${name}: ${seconds(sample.wallMs)} wall, ${seconds(sample.cpuMs)} CPU, ${sample.peakRssMB.toFixed(0)} MB\n`);
    }
    loadAverages.push(os.loadavg()[0]!);
  }
  const sameFindings = fs.readFileSync(path.join(results, 'cold-default.json'), 'utf8') === fs.readFileSync(path.join(results, 'cold-j1.json'), 'utf8');
  const summary = (name: string) => {
    const runsOf = samples[name]!;
    return {
      wallMs: percentile(runsOf.map((r) => r.wallMs), 50), cpuMs: percentile(runsOf.map((r) => r.cpuMs), 50),
      peakRssMB: Math.max(...runsOf.map((r) => r.peakRssMB)), walls: runsOf.map((r) => Math.round(r.wallMs)),
    };
  };
  const bare = summary('bare');
  const lintDefault = summary('default');
  const lintJ1 = summary('j1');
  return {
    files: files.length, lintedFiles: linted.length, megabytes: linted.reduce((sum, file) => sum + fs.statSync(file).size, 0) / MB, runs, jobs: os.availableParallelism(),
    bare, default: lintDefault, j1: lintJ1,
    ratioDefault: lintDefault.wallMs / bare.wallMs, ratioJ1: lintJ1.wallMs / bare.wallMs,
    // Above 1: more than one core at work.
    cpuPerWallDefault: lintDefault.cpuMs / lintDefault.wallMs,
    sameFindings, loadAverages,
  };
}

// ---------------------------------------------------------------------------------------------------
// 5. First diagnostics: a fresh language server, a small module open.

interface StartupRun { firstMs: number; withTargetMs?: number; log: string[] }

/**
 * Starts `server` as the editor does (a fresh process), initializes it for `folder` with `file` open,
 * and times from the spawn to the first publishDiagnostics of `file` and, for LKM Dev's server, to the
 * first one after it said which kernel it checks against.
 */
async function startupRun(server: string, folder: string, file: string, kdir: string, env: NodeJS.ProcessEnv, waitForTarget: boolean): Promise<StartupRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const uri = pathToFileURL(file).href;
  const log: string[] = [];
  let targetSaid = false;
  let firstMs: number | undefined;
  let done: (() => void) | undefined;
  connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) => (item.section === 'lkm' ? { kdir, lint: { enable: true, debounceMs: 150, severity: {} } } : null)));
  connection.onRequest(RegistrationRequest.type, () => undefined);
  connection.onNotification(LogMessageNotification.type, (params) => {
    if (params.message.startsWith('start-up:')) log.push(params.message);
  });
  connection.onNotification('lkm/kernelTarget', () => {
    targetSaid = true;
  });
  const finished = new Promise<number | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no diagnostics for ${file} ${FIRST_LINT_TIMEOUT_MS / 1000} s after the start; stderr: ${stderr.slice(-2000)}`)), FIRST_LINT_TIMEOUT_MS);
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      if (params.uri !== uri) return;
      const at = performance.now() - started;
      firstMs ??= at;
      if (waitForTarget && !targetSaid) return;
      clearTimeout(timer);
      resolve(waitForTarget ? at : undefined);
    });
    done = () => clearTimeout(timer);
  });
  connection.listen();
  try {
    const folderUri = pathToFileURL(folder).href;
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid, rootUri: folderUri, workspaceFolders: [{ uri: folderUri, name: path.basename(folder) }],
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
    });
    // As VS Code does: the documents already open follow `initialized` at once.
    void connection.sendNotification(InitializedNotification.type, {});
    void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text: fs.readFileSync(file, 'utf8') } });
    const withTargetMs = await finished;
    return { firstMs: firstMs!, ...(withTargetMs !== undefined ? { withTargetMs } : {}), log };
  } finally {
    done?.();
    const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', () => resolve())));
    try {
      await Promise.race([connection.sendRequest(ShutdownRequest.type), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await connection.sendNotification(ExitNotification.type);
    } catch {
      // The server is gone already.
    }
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killTimer);
    connection.dispose();
  }
}

async function benchFirstDiagnostics(kdir: string, windows: number) {
  const server = path.join(root, 'out', 'server', 'server.js');
  const floorServer = path.join(root, 'scripts', 'bench-floor-server.mjs');
  // A fresh copy of the hello module, as "LKM: New Module" leaves one.
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-bench-first-'));
  fs.cpSync(path.join(root, 'examples', 'hello'), folder, { recursive: true });
  const file = path.join(folder, 'hello.c');
  try {
    // Once with empty caches (a kdir's first use ever), which also fills the real ones for the rest.
    const emptyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-bench-cache-'));
    const firstEver = await startupRun(server, folder, file, kdir, { ...process.env, XDG_CACHE_HOME: emptyCache }, true);
    fs.rmSync(emptyCache, { recursive: true, force: true });
    await startupRun(server, folder, file, kdir, process.env, true);
    const lkm: StartupRun[] = [];
    const floor: StartupRun[] = [];
    const loadAverages = [os.loadavg()[0]!];
    for (let window = 0; window < windows; window++) {
      floor.push(await startupRun(floorServer, folder, file, kdir, process.env, false));
      lkm.push(await startupRun(server, folder, file, kdir, process.env, true));
    }
    loadAverages.push(os.loadavg()[0]!);
    const median = (runs: StartupRun[], pick: (r: StartupRun) => number | undefined) => percentile(runs.map(pick).filter((v): v is number => v !== undefined), 50);
    return {
      windows,
      firstMs: median(lkm, (r) => r.firstMs), withTargetMs: median(lkm, (r) => r.withTargetMs), floorMs: median(floor, (r) => r.firstMs),
      firstRuns: lkm.map((r) => Math.round(r.firstMs)), floorRuns: floor.map((r) => Math.round(r.firstMs)),
      firstEver: { firstMs: firstEver.firstMs, withTargetMs: firstEver.withTargetMs, log: firstEver.log },
      exampleLog: lkm[Math.floor(lkm.length / 2)]?.log ?? [],
      loadAverages,
    };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.argv[2] === '--bare-parse') return bareParse(process.argv[3]!);
  const options = parseOptions(process.argv.slice(2));
  for (const built of ['lkm-lint.js', 'server.js']) {
    if (!fs.existsSync(path.join(root, 'out', 'server', built))) throw new Error(`out/server/${built} is missing: run npm run build first`);
  }
  const drivers = path.join(options.corpus, 'drivers');
  const allFiles = findSources(drivers);
  const sampledFiles = options.sample === 1 ? allFiles : discoverModules(allFiles).filter((_, i) => i % options.sample === 0).flatMap((m) => m.files);
  const results: Record<string, unknown> = {
    date: new Date().toISOString(), corpus: options.corpus, kdir: options.kdir, sample: options.sample, node: process.version,
    targets: { lintParseRatio: TARGET_RATIO, keystrokeP95Ms: TARGET_KEYSTROKE_P95_MS, firstDiagnosticsMs: TARGET_FIRST_DIAGNOSTICS_MS },
  };
  const failures: string[] = [];
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    if (!options.sections.has(name)) return undefined;
    try {
      const value = await run();
      results[name] = value;
      return value;
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
      console.error(`bench-lint: section ${name} failed: ${(error as Error).stack ?? error}`);
      return undefined;
    }
  };
  console.log(`corpus: ${drivers} (${allFiles.length} .c files${options.sample > 1 ? `, every ${options.sample}th module: ${sampledFiles.length} files` : ''}); kdir ${options.kdir}`);

  const lint = await section('lint', () => benchParseVsLint(allFiles, options.kdir, options.sample));
  if (lint) {
    console.log(`\n== parse vs lint, one thread, ${lint.filesProcessed} files (${lint.uniqueFiles} distinct) in ${lint.modules} modules, ${lint.megabytes.toFixed(1)} MB ==`);
    console.log(table([
      ['', 'wall', 'CPU', 'files/s', 'MB/s', 'MB/CPU-s'],
      ...([['bare tree-sitter parse', lint.parse], ['full lint (lintModuleFromDisk)', lint.lint]] as const).map(([name, side]) => [
        name, seconds(side.wallMs), seconds(side.cpuMs), side.filesPerSecond.toFixed(0), side.megabytesPerSecond.toFixed(2), (lint.megabytes / (side.cpuMs / 1000)).toFixed(2),
      ]),
    ]));
    console.log(`lint/parse ratio: ${lint.ratio.toFixed(2)}× wall, ${lint.cpuRatio.toFixed(2)}× CPU (target ≤ ${TARGET_RATIO}×: ${verdict(lint.ratio <= TARGET_RATIO)} wall, ${verdict(lint.cpuRatio <= TARGET_RATIO)} CPU)`);
    console.log(table([['lint by stage (CPU)', 'time', 'share'], ...Object.entries(lint.lintStagesMs).map(([stage, spent]) => [stage, seconds(spent), pct(spent, lint.instrumentedLintCpuMs)])]));
    console.log(`workspace index (before linting, as the CLI): ${seconds(lint.workspaceIndexMs)}; function counting taken out of the lint time: ${seconds(lint.countingMs)}`);
    console.log(`peak RSS of this process after both: ${lint.peakRssMB.toFixed(0)} MB (at the end, MB: ${Object.entries(lint.memoryAtEndMB).map(([kind, mb]) => `${kind} ${mb}`).join(', ')})`);
    const f = lint.functions;
    console.log(table([
      ['function definitions', 'count', 'share'],
      ['found (top level)', String(f.definitions), '100%'],
      ['with a parse error in their subtree', String(f.withParseError), pct(f.withParseError, f.definitions)],
      ['not modelled (no name/declarator/body)', String(f.notModelled), pct(f.notModelled, f.definitions)],
      ['with lock analysis', String(f.withLockAnalysis), pct(f.withLockAnalysis, f.definitions)],
      ['lock analysis truncated', String(f.lockAnalysisTruncated), `${pct(f.lockAnalysisTruncated, f.definitions)} (${pct(f.lockAnalysisTruncated, f.withLockAnalysis)} of analysed)`],
    ]));
    console.log(`findings: ${lint.findings} — ${Object.entries(lint.findingsPerRule).map(([rule, n]) => `${rule} ${n}`).join(', ')}`);
    if (lint.problems.length > 0) console.log(`file problems: ${lint.problems.length}, e.g.\n  ${lint.problems.slice(0, 5).join('\n  ')}`);
    if (lint.problems.some((p) => /internal error/.test(p))) failures.push('lint: internal errors while analysing (see problems)');
  }

  const cli = await section('cli', () => benchCli(options.sample === 1 ? [drivers] : sampledFiles, options.kdir, path.join(root, 'bench-results', 'lint-cli-findings.json')));
  if (cli) {
    const megabytes = lint?.megabytes;
    console.log(`\n== parallel CLI (lkm-lint --format json, ${os.availableParallelism()} jobs) ==`);
    console.log(`wall ${seconds(cli.wallMs)}, ${(sampledFiles.length / (cli.wallMs / 1000)).toFixed(0)} files/s${megabytes ? `, ${(megabytes / (cli.wallMs / 1000)).toFixed(2)} MB/s` : ''}, exit ${cli.exitCode}, peak RSS ${cli.peakRssMB.toFixed(0)} MB${lint ? `; speed-up over the one-thread lint ${(lint.lint.wallMs / cli.wallMs).toFixed(2)}×` : ''}`);
    console.log(`findings: ${cli.findings} — ${Object.entries(cli.findingsPerRule).map(([rule, n]) => `${rule} ${n}`).join(', ')} (${cli.output})`);
    if (cli.internalErrors.length > 0) {
      console.log(`internal errors: ${cli.internalErrors.length}, e.g. ${cli.internalErrors[0]}`);
      failures.push(`cli: ${cli.internalErrors.length} internal error line(s)`);
    }
    if (lint && JSON.stringify(lint.findingsPerRule) !== JSON.stringify(cli.findingsPerRule)) {
      console.log('note: the CLI and the one-thread lint found different counts per rule');
    }
  }

  const keystroke = await section('keystroke', async () => {
    const runs = [];
    for (const file of keystrokeFiles(allFiles)) runs.push(await benchKeystrokes(file, options.kdir, options.edits, options.corpus));
    return runs;
  });
  if (keystroke) {
    console.log(`\n== keystroke → publishDiagnostics, language server over stdio, debounceMs 0 ==`);
    console.log(table([
      ['file', 'size', 'kdir load', 'first lint', 'first keystrokes (median / max)', 'edits', 'p50', 'p95', 'max', 'server: edit + module lint p50/p95', 'server: change in → diagnostics out p50/p95', `p95 < ${TARGET_KEYSTROKE_P95_MS} ms`],
      ...keystroke.map((k) => [
        `${k.file}${k.editsInFunctionBodies ? '' : ' (no functions: edits in data)'}`,
        `${k.megabytes.toFixed(2)} MB`, ms(k.targetLoadMs), ms(k.firstLintMs), `${k.coldMs.length}: ${ms(percentile(k.coldMs, 50))} / ${ms(Math.max(...k.coldMs))}`, String(k.edits), ms(k.p50Ms), ms(k.p95Ms), ms(k.maxMs),
        `${ms(k.serverLintP50Ms)} / ${ms(k.serverLintP95Ms)}`, `${ms(k.serverWrittenP50Ms)} / ${ms(k.serverWrittenP95Ms)}`, verdict(k.p95Ms < TARGET_KEYSTROKE_P95_MS),
      ]),
    ]));
    console.log(`(after ${WARM_UP_POINTS * 2} first keystrokes, reported apart: they also pay for compiling the incremental path)`);
    for (const k of keystroke) if (k.serverErrors.length > 0) console.log(`server errors on ${k.file}: ${k.serverErrors.slice(0, 3).join(' | ')}`);
  }

  const cold = await section('cold', () => benchColdCli(coldSubset(allFiles, drivers, options.coldFiles), options.kdir, options.runs));
  if (cold) {
    console.log(`\n== cold CLI: fresh processes on ${cold.files} files of drivers/ given, ${cold.lintedFiles} linted with their modules' other files (${cold.megabytes.toFixed(1)} MB, parsed by both sides), median of ${cold.runs} interleaved runs ==`);
    console.log(table([
      ['', 'wall (median)', 'CPU (median)', 'CPU/wall', 'peak RSS', 'ratio to the bare parse', 'walls (ms)'],
      ...([['bare parse (web-tree-sitter, one thread)', cold.bare], [`lkm-lint, default jobs (${cold.jobs})`, cold.default], ['lkm-lint -j 1', cold.j1]] as const).map(([name, side]) => [
        name, seconds(side.wallMs), seconds(side.cpuMs), (side.cpuMs / side.wallMs).toFixed(2), `${side.peakRssMB.toFixed(0)} MB`, `${(side.wallMs / cold.bare.wallMs).toFixed(2)}×`, side.walls.join(' '),
      ]),
    ]));
    console.log(`default jobs: ${cold.ratioDefault.toFixed(2)}× the bare parse (target ≤ ${TARGET_RATIO}×: ${verdict(cold.ratioDefault <= TARGET_RATIO)}); -j 1: ${cold.ratioJ1.toFixed(2)}×; findings of the default jobs and -j 1 ${cold.sameFindings ? 'identical' : 'DIFFER'}; load average (1 min) ${cold.loadAverages.map((l) => l.toFixed(1)).join(' → ')}`);
    if (!cold.sameFindings) failures.push('cold: the default jobs and -j 1 found different things');
  }

  const first = await section('first', () => benchFirstDiagnostics(options.kdir, options.windows));
  if (first) {
    console.log(`\n== first diagnostics: a fresh language server, examples/hello open, kdir ${options.kdir}, median of ${first.windows} ==`);
    console.log(table([
      ['', 'first publishDiagnostics', 'checked against the kdir'],
      ['floor: a server that publishes nothing (vscode-languageserver)', ms(first.floorMs), ''],
      ['LKM Dev, kdir caches warm', ms(first.firstMs), ms(first.withTargetMs)],
      ['LKM Dev, first use of the kdir (empty caches), once', ms(first.firstEver.firstMs), first.firstEver.withTargetMs !== undefined ? ms(first.firstEver.withTargetMs) : ''],
    ]));
    console.log(`LKM Dev over the floor: +${ms(first.firstMs - first.floorMs)} (target: under ${TARGET_FIRST_DIAGNOSTICS_MS} ms from the start, activation included: ${verdict(first.firstMs < TARGET_FIRST_DIAGNOSTICS_MS)} for the server's part); runs (ms) ${first.firstRuns.join(' ')}, floor ${first.floorRuns.join(' ')}; load average (1 min) ${first.loadAverages.map((l) => l.toFixed(1)).join(' → ')}`);
    console.log(`where the time went (median run):\n  ${first.exampleLog.join('\n  ')}`);
  }

  fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  const output = path.join(root, 'bench-results', 'lint.json');
  fs.writeFileSync(output, `${JSON.stringify({ ...results, failures }, null, 2)}\n`);
  console.log(`\nfigures written to ${path.relative(root, output)}`);
  if (failures.length > 0) {
    console.error(`bench-lint: ${failures.length} section(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`bench-lint: ${(error as Error).message}`);
  process.exitCode = 2;
});
