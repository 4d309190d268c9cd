// Guest faults during a load, through the `lkm` CLI on a real QEMU guest: a hang (preemption off),
// a spin with interrupts off and a panic each end with exit 5 and the console's report; `lkm vm
// status` tells a hung guest from a running one; the console of a crashed boot survives the next
// boot as serial.log.1. Needs the guest packages: bash scripts/install-guest-deps.sh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheRoot } from '../../client/src/core/guest/image';
import { consoleOffset, guestRunDir, lastConsoleReport, readGuestState, stopGuest } from '../../client/src/core/guest/vm';
import { EXIT } from '../../client/src/core/targets/loop';

const ROOT = path.resolve(__dirname, '..', '..');
const GUEST = `faults-${process.pid}`;

function lkm(...args: string[]) {
  const env = { ...process.env, LKM_VM_NAME: GUEST, LKM_CACHE_DIR: cacheRoot() };
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/src/cli/lkm.ts'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 150_000 });
}

const fixture = (name: string) => `test/fixtures-modules/${name}`;

describe('console reports', () => {
  const log = (text: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lkm-console-')), 'serial.log');
    writeFileSync(file, text);
    return { serialLog: file };
  };

  it('recognises rcu_preempt and rcu_sched stalls, lockups, panics and NMIs', () => {
    for (const line of [
      'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      'rcu: INFO: rcu_sched detected stalls on CPUs/tasks:',
      'rcu: INFO: rcu_preempt self-detected stall on CPU',
      'watchdog: BUG: soft lockup - CPU#0 stuck for 13s! [insmod:107]',
      'NMI watchdog: Watchdog detected hard LOCKUP on cpu 1',
      'Kernel panic - not syncing: NMI: Not continuing',
      'Uhhuh. NMI received for unknown reason 31 on CPU 0.',
    ]) {
      const state = log(`[    1.0] booting\n[    2.0] quiet line\n[    3.0] ${line}\n[    3.1] detail\n`);
      assert.match(lastConsoleReport(state), new RegExp(`^\\[    3\\.0\\] ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), line);
    }
  });

  it('after an offset, gives the first report written since (the cause), with the lines before it', () => {
    const before = '[ 1.0] BUG: an older report\n[ 1.1] old detail\n';
    const state = log(`${before}[ 5.0] mark\n[ 5.1] lkmt_x: spinning\n[ 9.0] watchdog: BUG: soft lockup - CPU#0 stuck for 13s!\n[ 9.1] RIP: lkmt_x_init\n[20.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n`);
    const report = lastConsoleReport(state, 40, Buffer.byteLength(before));
    assert.match(report, /^\[ 5\.0\] mark\n\[ 5\.1\] lkmt_x: spinning\n\[ 9\.0\] watchdog: BUG: soft lockup/);
    assert.doesNotMatch(report, /older report/);
    assert.match(lastConsoleReport(state), /^\[20\.0\] rcu: INFO: rcu_preempt/, 'without an offset: the last report');
  });
});

describe('guest faults during a load', { timeout: 400_000 }, () => {
  after(async () => {
    await stopGuest(GUEST);
    rmSync(guestRunDir(GUEST), { recursive: true, force: true });
  });

  it('a hang with preemption off: exit 5 with the lockup report; status says not responding', () => {
    assert.equal(lkm('vm', 'start').status, 0);
    const run = lkm('run', fixture('lkmt_hang'), '--keep-vm');
    assert.equal(run.status, EXIT.targetError, run.stderr);
    assert.match(run.stderr, /reload on test-vm failed: .*(connection was lost|no answer)/);
    assert.match(run.stderr, /The test VM no longer answers\. Last console output of the test VM:\n[^]*lkmt_hang: spinning\n.*(soft lockup|rcu_preempt detected stalls)/);
    assert.match(run.stderr, /RIP: 0010:lkmt_hang_init\+/);
    assert.match(run.stderr, /Restart it with: lkm vm stop && lkm vm start/);
    const status = lkm('vm', 'status');
    assert.equal(status.status, 1);
    assert.match(status.stdout, /^Test VM not responding: .*Restart it with: lkm vm stop && lkm vm start/);
    assert.doesNotMatch(status.stdout, /Test VM running/);
  });

  it('a spin with interrupts off: the next run restarts the hung guest; an NMI shows where it spins; exit 5', () => {
    const hungConsole = readFileSync(readGuestState(GUEST)!.serialLog, 'utf8');
    assert.match(hungConsole, /lkmt_hang: spinning/);
    const run = lkm('run', fixture('lkmt_irqoff'), '--keep-vm');
    assert.equal(run.status, EXIT.targetError, run.stderr);
    assert.match(run.stdout + run.stderr, /The test VM is not responding \(hung by an earlier load\?\): restarting it\./);
    assert.match(run.stderr, /The test VM stopped\. Last console output of the test VM:\n[^]*lkmt_irqoff: spinning with interrupts off\n.*NMI received for unknown reason/);
    assert.match(run.stderr, /Kernel panic - not syncing: NMI: Not continuing/);
    assert.match(run.stderr, /RIP: 0010:lkmt_irqoff_init\+/);
    assert.match(run.stderr, /Start it again with: lkm vm start/);
    // The hung guest kept writing (lockup reports) until the restart: the kept console begins with what it had.
    assert.ok(readFileSync(path.join(guestRunDir(GUEST), 'serial.log.1'), 'utf8').startsWith(hungConsole), 'the hung boot console is kept');
    const status = lkm('vm', 'status');
    assert.equal(status.status, 1);
    assert.match(status.stdout, /^The test VM is not running\./);
  });

  it('a panic: exit 5 with the panic text, which the next boot keeps in serial.log.1', () => {
    const run = lkm('run', fixture('lkmt_panic'), '--keep-vm');
    assert.equal(run.status, EXIT.targetError, run.stderr);
    assert.match(run.stderr, /The test VM stopped\. Last console output of the test VM:\n[^]*Kernel panic - not syncing: lkmt_panic: stopping the guest on purpose\n[^]*lkmt_panic_init\+/);
    assert.equal(readGuestState(GUEST), undefined, 'QEMU exits on a panic');
    const start = lkm('vm', 'start');
    assert.equal(start.status, 0, start.stderr);
    const previous = readFileSync(path.join(guestRunDir(GUEST), 'serial.log.1'), 'utf8');
    assert.match(previous, /Kernel panic - not syncing: lkmt_panic: stopping the guest on purpose/);
    const state = readGuestState(GUEST)!;
    assert.ok(consoleOffset(state) > 0);
    assert.doesNotMatch(readFileSync(state.serialLog, 'utf8'), /lkmt_panic/);
    const status = lkm('vm', 'status');
    assert.equal(status.status, 0, status.stdout);
    assert.match(status.stdout, /^Test VM running/);
  });
});
