// `npm run bench` (after the build): every benchmark of the project, one section after the other. Each
// section prints its own figures; a failing section is reported and the others still run; the exit code
// is non-zero when any section failed.
// Usage: node scripts/bench.mjs [arguments for bench-lint, e.g. --sample 20]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const SECTION_TIMEOUT_MS = 60 * 60_000;
const packageScripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts ?? {};
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const sections = [
  { name: 'lint (parse vs lint, CLI, keystroke)', command: process.execPath, args: ['out/bench/bench-lint.js', ...process.argv.slice(2)] },
  existsSync(path.join(root, 'scripts', 'bench-targets.mjs'))
    && { name: 'targets (test guest boot, build-and-load loop)', command: process.execPath, args: ['scripts/bench-targets.mjs'] },
  existsSync(path.join(root, 'scripts', 'bench-symbols.mjs'))
    && { name: 'symbols (extractSymbols vs parse, module discovery, kdir load)', command: process.execPath, args: ['scripts/bench-symbols.mjs'] },
  existsSync(path.join(root, 'scripts', 'bench-scaffold.mjs'))
    && { name: 'scaffolding (lkm new)', command: process.execPath, args: ['scripts/bench-scaffold.mjs'] },
  packageScripts['bench:editor'] && { name: 'editor (npm run bench:editor)', command: npm, args: ['run', 'bench:editor'] },
].filter(Boolean);

const outcomes = [];
for (const section of sections) {
  console.log(`\n######## ${section.name}\n`);
  const started = Date.now();
  const result = spawnSync(section.command, section.args, { cwd: root, stdio: 'inherit', timeout: SECTION_TIMEOUT_MS });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const failure = result.error ? result.error.message : result.status !== 0 ? `exit ${result.status ?? result.signal}` : undefined;
  outcomes.push({ name: section.name, seconds, failure });
}

console.log('\n######## summary');
for (const { name, seconds, failure } of outcomes) console.log(`${failure ? 'FAILED' : 'ok    '}  ${name} (${seconds} s)${failure ? `: ${failure}` : ''}`);
if (outcomes.some((o) => o.failure)) process.exit(1);
