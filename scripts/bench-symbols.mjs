// Benchmark of the symbol layer (server/src/analysis/{symbols,kbuild,kernelTarget}.ts), on real code:
//  1. extractSymbols vs the bare tree-sitter parse of the same files (Linux 6.1 drivers/): totals, MB/s,
//     the ratio (target: symbols ≤ 20% of parse, so the whole lint can stay within 1.5× of it), and the
//     largest driver file (lpfc_sli.c) alone: median of repeated runs (target: well under 25 ms);
//  2. discoverModules over every drivers/ file (Kbuild/Makefile grouping);
//  3. loadKernelTarget on the Debian headers: cold (header index built) and warm (index from cache).
// Usage: node scripts/bench-symbols.mjs [--drivers DIR] [--kdir DIR] [--limit N]   (npm run bench runs it)
//   --limit N lints an even sample of N files instead of all of them.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The measured code is TypeScript: run under tsx (re-launching this script with it when needed).
if (!process.env.LKM_BENCH_UNDER_TSX) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, LKM_BENCH_UNDER_TSX: '1' } });
  process.exit(run.status ?? 1);
}
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const load = (relative) => import(path.join(root, relative));
const { getParser, parseWith } = await load('server/src/parsing/parser.ts');
const { normalize } = await load('server/src/parsing/normalize.ts');
const { extractSymbols } = await load('server/src/analysis/symbols.ts');
const { discoverModules } = await load('server/src/analysis/kbuild.ts');
const { loadKernelTarget } = await load('server/src/analysis/kernelTarget.ts');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
};
const driversDir = option('--drivers', '/work/corpus/linux-source-6.1/drivers');
const kdir = option('--kdir', fs.readdirSync('/usr/src').filter((d) => /^linux-headers-.*-amd64$/.test(d)).map((d) => `/usr/src/${d}`).pop());
const limit = Number(option('--limit', '0'));
if (!fs.existsSync(driversDir)) {
  console.error(`no ${driversDir}: unpack Debian's linux-source (tar xf /usr/src/linux-source-6.1.tar.xz) and pass --drivers`);
  process.exit(2);
}

function cFilesUnder(dir) {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...cFilesUnder(full));
    else if (entry.name.endsWith('.c')) files.push(full);
  }
  return files;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const parser = await getParser();
const all = cFilesUnder(driversDir).sort();
const files = limit > 0 ? all.filter((_, i) => i % Math.ceil(all.length / limit) === 0) : all;

// 1. Parse vs symbols, file by file, in one run.
let bytes = 0;
let parseMs = 0;
let symbolsMs = 0;
let references = 0;
let slowest = { file: '', ms: 0 };
const started = performance.now();
for (const [i, file] of files.entries()) {
  const text = fs.readFileSync(file, 'utf8');
  bytes += text.length;
  const normalized = normalize(text);
  let t = performance.now();
  const tree = parseWith(parser, normalized);
  parseMs += performance.now() - t;
  t = performance.now();
  const symbols = extractSymbols({ path: file, text, normalized, tree });
  const ms = performance.now() - t;
  symbolsMs += ms;
  if (ms > slowest.ms) slowest = { file, ms };
  references += symbols.references.length;
  tree.delete();
  if (process.stderr.isTTY && i % 200 === 0) process.stderr.write(`\r${i}/${files.length} files`);
}
if (process.stderr.isTTY) process.stderr.write('\r');
const mb = bytes / 1048576;
console.log(`drivers: ${files.length} files, ${mb.toFixed(1)} MB (${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
console.log(`  parse   ${(parseMs / 1000).toFixed(2)} s  ${(mb / (parseMs / 1000)).toFixed(2)} MB/s  ${(files.length / (parseMs / 1000)).toFixed(0)} files/s`);
console.log(`  symbols ${(symbolsMs / 1000).toFixed(2)} s  ${(mb / (symbolsMs / 1000)).toFixed(2)} MB/s  ${(files.length / (symbolsMs / 1000)).toFixed(0)} files/s  (${references} references)`);
console.log(`  symbols / parse = ${(symbolsMs / parseMs * 100).toFixed(1)}%  (target ≤ 20%)  slowest: ${path.relative(driversDir, slowest.file)} ${slowest.ms.toFixed(1)} ms`);

const largest = path.join(driversDir, 'scsi/lpfc/lpfc_sli.c');
if (fs.existsSync(largest)) {
  const text = fs.readFileSync(largest, 'utf8');
  const normalized = normalize(text);
  const parses = [];
  const extractions = [];
  for (let run = 0; run < 15; run++) {
    let t = performance.now();
    const tree = parseWith(parser, normalized);
    parses.push(performance.now() - t);
    t = performance.now();
    extractSymbols({ path: largest, text, normalized, tree });
    extractions.push(performance.now() - t);
    tree.delete();
  }
  console.log(`lpfc_sli.c (${(text.length / 1024).toFixed(0)} KB): parse median ${median(parses).toFixed(1)} ms, symbols median ${median(extractions).toFixed(1)} ms (target well under 25 ms)`);
}

// 2. Module discovery.
let t = performance.now();
const modules = discoverModules(all);
console.log(`discoverModules: ${all.length} files → ${modules.length} modules (${modules.filter((m) => m.files.length > 1).length} multi-file) in ${(performance.now() - t).toFixed(0)} ms`);

// 3. Kernel target: cold, then from the cache.
if (kdir) {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-bench-kdir-'));
  t = performance.now();
  const target = loadKernelTarget(kdir, { cacheDir });
  const cold = performance.now() - t;
  t = performance.now();
  loadKernelTarget(kdir, { cacheDir });
  const warm = performance.now() - t;
  const cacheBytes = fs.readdirSync(cacheDir).reduce((sum, f) => sum + fs.statSync(path.join(cacheDir, f)).size, 0);
  console.log(`loadKernelTarget ${kdir}: cold ${cold.toFixed(0)} ms, warm (cached) ${warm.toFixed(0)} ms; ${target.exports.size} exports, ${target.headers.inlines.size} inlines, ${target.headers.macros.size} macros, ${target.headers.functions.size} declared functions; cache ${(cacheBytes / 1048576).toFixed(1)} MB`);
  fs.rmSync(cacheDir, { recursive: true });
} else {
  console.log('loadKernelTarget: no /usr/src/linux-headers-*-amd64 (install linux-headers-amd64 or pass --kdir)');
}
