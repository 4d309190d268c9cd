// Benchmarks scaffolding from a terminal (needs `npm run build` first and linux-headers-amd64):
//  1. `lkm new NAME --template chrdev` end to end — process start, the kernel-header scan that refuses
//     names clashing with kernel symbols, writing the folder (target: median < 2 s: "in seconds");
//  2. the same with --kdir pointing at an empty folder (no header scan), to show what the scan costs;
//  3. `lkm new --list` (process start alone).
// Usage: node scripts/bench-scaffold.mjs [--runs 7]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const runsIndex = process.argv.indexOf('--runs');
const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : 7;
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
const lkm = path.join(root, 'bin', 'lkm.js');
const work = mkdtempSync(path.join(tmpdir(), 'lkm-bench-scaffold-'));
const emptyKdir = mkdtempSync(path.join(tmpdir(), 'lkm-bench-kdir-'));

function timed(args) {
  const began = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [lkm, ...args], { encoding: 'utf8', timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (result.status !== 0) throw new Error(`lkm ${args.join(' ')} failed: ${result.stderr || result.error}`);
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

try {
  const withScan = [];
  const withoutScan = [];
  const list = [];
  for (let run = 0; run < runs; run++) {
    withScan.push(timed(['new', `lkm_bench_${run}`, '--template', 'chrdev', '--dir', work]));
    withoutScan.push(timed(['new', `lkm_bench_noscan_${run}`, '--template', 'chrdev', '--dir', work, '--kdir', emptyKdir]));
    list.push(timed(['new', '--list']));
  }
  const rows = [
    ['lkm new (with the kernel-header clash check)', median(withScan), 2000],
    ['lkm new (no kernel headers to check)', median(withoutScan)],
    ['lkm new --list', median(list)],
  ];
  for (const [what, ms, target] of rows) {
    console.log(`${what}: median ${ms.toFixed(0)} ms over ${runs} runs${target ? ` (target < ${target} ms: ${ms < target ? 'met' : 'MISSED'})` : ''}`);
  }
  if (rows.some(([, ms, target]) => target && ms >= target)) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(emptyKdir, { recursive: true, force: true });
}
