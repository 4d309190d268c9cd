// Draws a seeded random sample of lkm-lint findings per rule, with the code around each, for checking by
// hand (docs/measurements.md records the verdicts). The same seed and input give the same sample.
// Usage: node scripts/bench-sample.mjs FINDINGS.json [--per-rule 12] [--seed 1] [--root DIR] [--context 6]
//   FINDINGS.json is `lkm-lint --format json` output; file paths in it are relative to --root (default: cwd).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [input, ...rest] = process.argv.slice(2);
if (!input) {
  console.error('usage: node scripts/bench-sample.mjs FINDINGS.json [--per-rule 12] [--seed 1] [--root DIR] [--context 6]');
  process.exit(2);
}
const option = (name, fallback) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : fallback;
};
const perRule = Number(option('per-rule', 12));
const seed = Number(option('seed', 1));
const root = option('root', process.cwd());
const context = Number(option('context', 6));

/** mulberry32: a small, well-mixed seeded PRNG, so a sample can be drawn again. */
function random(seedValue) {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const findings = JSON.parse(readFileSync(input, 'utf8'));
const byRule = new Map();
for (const finding of findings) byRule.set(finding.rule, [...(byRule.get(finding.rule) ?? []), finding]);
for (const [rule, list] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
  const next = random(seed);
  // Partial Fisher–Yates: the first perRule slots become a uniform sample.
  const pool = [...list];
  for (let i = 0; i < Math.min(perRule, pool.length); i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  console.log(`\n################ ${rule}: ${perRule} of ${list.length}`);
  for (const finding of pool.slice(0, perRule)) {
    console.log(`\n=== ${finding.file}:${finding.line}:${finding.column} [${finding.severity}] ${finding.message}`);
    const lines = readFileSync(path.resolve(root, finding.file), 'utf8').split('\n');
    for (let n = Math.max(1, finding.line - context); n <= Math.min(lines.length, finding.line + context); n++) {
      console.log(`${n === finding.line ? '>' : ' '}${String(n).padStart(6)}  ${lines[n - 1]}`);
    }
  }
}
