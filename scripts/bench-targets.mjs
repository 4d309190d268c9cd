// Benchmarks the target loop on the built-in QEMU test guest (needs `npm run build` first and the
// guest packages: bash scripts/install-guest-deps.sh).
//  1. boot → SSH ready, median over --boots runs (target: < 6 s under TCG);
//  2. the one-click loop after an edit — `lkm run examples/hello` (build → copy → reload → log) —
//     against the same steps as raw commands on the same guest: make, scp, ssh insmod, ssh dmesg
//     (plain connections, as a hand-written script does, and multiplexed ones, the fairest
//     baseline); medians over --runs runs, interleaved (targets: warm loop < 2 s, overhead < 10%).
// Usage: node scripts/bench-targets.mjs [--runs 7] [--boots 3]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('runs', 7);
const boots = arg('boots', 3);
const vmName = `bench-${process.pid}`;
const env = { ...process.env, LKM_VM_NAME: vmName };
const cache = process.env.LKM_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'lkm-dev');
const lkm = path.join(root, 'bin', 'lkm.js');
const example = path.join(root, 'examples', 'hello');

function run(command, args, options = {}) {
  const began = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', env, timeout: 120_000, ...options });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  return { ms, stdout: result.stdout };
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

function stopVm() {
  spawnSync(process.execPath, [lkm, 'vm', 'stop'], { env, timeout: 30_000 });
}
process.on('exit', stopVm);
process.on('SIGINT', () => process.exit(130));

// 1. Boot to ready.
const bootTimes = [];
for (let i = 0; i < boots; i++) {
  const out = run(process.execPath, [lkm, 'vm', 'start']).stdout;
  bootTimes.push(Number(/ready in ([\d.]+) s/.exec(out)[1]) * 1000);
  if (i < boots - 1) stopVm();
}
const state = JSON.parse(readFileSync(path.join(cache, 'vm', vmName, 'state.json'), 'utf8'));
console.log(`boot → ready (TCG=${state.accel === 'tcg'}): median ${fmt(median(bootTimes))} over ${boots} [${bootTimes.map(fmt).join(', ')}]`);

// 2. Loop vs raw commands.
const sshOpts = (multiplex) => [
  '-F', '/dev/null', '-o', `IdentityFile=${state.keyFile}`, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${state.knownHostsFile}`,
  '-o', 'HostKeyAlias=lkm-test-guest', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
  ...(multiplex ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${path.join(tmpdir(), `lkm-bench-${process.pid}-%C`)}`, '-o', 'ControlPersist=60'] : []),
];
const rawDir = mkdtempSync(path.join(tmpdir(), 'lkm-bench-raw-'));
cpSync(example, rawDir, { recursive: true });
const touch = (dir) => {
  const now = new Date();
  utimesSync(path.join(dir, 'hello.c'), now, now);
};
function rawLoop(multiplex) {
  const opts = sshOpts(multiplex);
  const dest = 'root@127.0.0.1';
  touch(rawDir);
  let total = 0;
  total += run('make', ['-C', state.kdir, `M=${rawDir}`, 'modules'], { stdio: 'ignore' }).ms;
  total += run('scp', [...opts, '-P', String(state.port), '-q', path.join(rawDir, 'lkm_hello.ko'), `${dest}:/root/raw_hello.ko`]).ms;
  total += run('ssh', [...opts, '-p', String(state.port), dest, 'rmmod lkm_hello 2>/dev/null; echo RAWMARK > /dev/kmsg; insmod /root/raw_hello.ko']).ms;
  const log = run('ssh', [...opts, '-p', String(state.port), dest, "dmesg | sed -n '/RAWMARK/,$p'"]);
  if (!log.stdout.includes('lkm_hello: hello')) throw new Error(`raw loop: no log line:\n${log.stdout}`);
  return total + log.ms;
}
function oneClick() {
  touch(example);
  const result = run(process.execPath, [lkm, 'run', example]);
  if (!/lkm_hello: hello/.test(result.stdout)) throw new Error(`lkm run: no log line:\n${result.stdout}`);
  return result.ms;
}
oneClick(); // warm both paths once (first build, first connection)
rawLoop(true);
const loop = [];
const rawPlain = [];
const rawMux = [];
for (let i = 0; i < runs; i++) {
  loop.push(oneClick());
  rawPlain.push(rawLoop(false));
  rawMux.push(rawLoop(true));
}
spawnSync('ssh', [...sshOpts(true), '-p', String(state.port), '-O', 'exit', 'root@127.0.0.1'], { stdio: 'ignore' });
rmSync(rawDir, { recursive: true, force: true });
const m = { loop: median(loop), rawPlain: median(rawPlain), rawMux: median(rawMux) };
const overhead = (m.loop / m.rawMux - 1) * 100;
console.log(`warm edit → build → load → log, medians over ${runs} runs:`);
console.log(`  lkm run (one click, incl. node start-up)  ${fmt(m.loop)}   target < 2 s: ${m.loop < 2000 ? 'met' : 'MISSED'}`);
console.log(`  raw make+scp+ssh+ssh, plain connections   ${fmt(m.rawPlain)}`);
console.log(`  raw make+scp+ssh+ssh, multiplexed         ${fmt(m.rawMux)}`);
console.log(`  overhead vs multiplexed raw: ${overhead.toFixed(1)}%   vs plain raw: ${((m.loop / m.rawPlain - 1) * 100).toFixed(1)}%   target < 10%: ${overhead < 10 ? 'met' : 'MISSED'}`);
