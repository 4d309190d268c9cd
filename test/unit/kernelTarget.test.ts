// loadKernelTarget: Module.symvers, version, config, the header index and resolveCall, on the miniature
// kdir of the fixtures and on the real Debian headers (installed by .ci/run).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { kdirIdentity, loadKernelTarget, parseSymvers, type KernelTarget } from '../../server/src/analysis/kernelTarget';
import { headerSleepingApis } from '../../server/src/analysis/headerSleep';
import { kernelVersion } from '../../server/src/parsing/preprocessor';

const KDIR_MINI = path.join(__dirname, '..', 'fixtures', 'kdir-mini');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kdir-cache-'));

describe('kdir-mini', () => {
  const target = loadKernelTarget(KDIR_MINI, { cacheDir });

  test('release, version code, config, exports', () => {
    assert.equal(target.release, '6.1.0-mini');
    assert.equal(target.versionCode, kernelVersion(6, 1, 192)); // LINUX_VERSION_CODE 393664 in version.h
    assert.equal(target.config?.get('CONFIG_USB'), 'm');
    assert.equal(target.config?.has('CONFIG_DEBUG_LOCK_ALLOC'), false);
    assert.deepEqual(target.exports.get('dma_buf_get'), { gplOnly: true, module: 'vmlinux', namespace: 'DMA_BUF' });
    assert.deepEqual(target.exports.get('usb_register_driver'), { gplOnly: true, module: 'drivers/usb/core/usbcore' });
  });

  test('resolveCall: direct exports, inline and macro chains, unexported declarations, config-decided inlines', () => {
    const kinds = (name: string) => target.resolveCall(name);
    assert.deepEqual(kinds('kfree'), { kind: 'exported', symbol: 'kfree' });
    assert.deepEqual(kinds('sysfs_create_file'), { kind: 'gpl-only', symbol: 'sysfs_create_file_ns', via: ['sysfs_create_file', 'sysfs_create_file_ns'] });
    assert.deepEqual(kinds('pr_info'), { kind: 'exported', symbol: '_printk', via: ['pr_info', 'printk', '_printk'] });
    assert.deepEqual(kinds('usb_register'), { kind: 'gpl-only', symbol: 'usb_register_driver', via: ['usb_register', 'usb_register_driver'] });
    assert.deepEqual(kinds('kallsyms_lookup_name'), { kind: 'not-exported', symbol: 'kallsyms_lookup_name' });
    // Declared only under CONFIG_DEBUG_LOCK_ALLOC, which this kernel does not set: the inline stub is live.
    assert.deepEqual(kinds('lock_debug_helper'), { kind: 'header-only' });
    // CONFIG_KALLSYMS=y decides that the prototype, not the inline stub of the #else, is the truth.
    assert.equal(target.config?.get('CONFIG_KALLSYMS'), 'y');
    // `#if BITS_PER_LONG < 64` is not decided by the configuration: the #else inline may be the real one.
    assert.deepEqual(kinds('get_jiffies_64'), { kind: 'header-only' });
    assert.deepEqual(kinds('KERN_INFO'), { kind: 'header-only' });
    assert.deepEqual(kinds('no_such_thing'), { kind: 'unknown' });
  });

  test('annotations: object-like macros whose bodies are only annotations, to a fixed point', () => {
    const annotations = target.headers.annotations;
    for (const name of ['__init', '__net_init', '__cold', '__fixture_empty_marker']) assert.ok(annotations.has(name), name);
    for (const name of ['fixture_calls_something', 'fixture_constant', '__FIXTURE_EMPTY_UPPER', '__section']) assert.ok(!annotations.has(name), name);
  });

  test('macro summaries: functions a macro defines from an argument, arguments it never uses as values', () => {
    const summaries = target.headers.macroSummaries;
    assert.deepEqual(summaries.get('ENUM_NAME_FN')?.defines, [{ param: 0, prefix: '', suffix: '' }]);
    assert.deepEqual(summaries.get('SHOW_FN')?.defines, [{ param: 0, prefix: '', suffix: '_show' }]);
    assert.deepEqual(summaries.get('DEVICE_ATTR_RO')?.notValues, [0]);
    // Every argument used as a value: nothing to record.
    assert.equal(summaries.has('CALL_IT'), false);
  });

  test('errors: a missing directory and a directory without Module.symvers', () => {
    assert.throws(() => loadKernelTarget(path.join(KDIR_MINI, 'nope')), /kernel build directory .*nope is not readable/);
    assert.throws(() => loadKernelTarget(path.join(KDIR_MINI, 'include')), /has no readable Module\.symvers, so it is not a prepared kernel build directory/);
  });

  test('Module.symvers lines with and without a namespace', () => {
    const exports = parseSymvers('0x1\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tb\tdrivers/x/y\tEXPORT_SYMBOL_GPL\tNS\nbroken line\n');
    assert.deepEqual([...exports], [['a', { gplOnly: false, module: 'vmlinux' }], ['b', { gplOnly: true, module: 'drivers/x/y', namespace: 'NS' }]]);
  });
});

/** Debian's headers for the 6.1 kernel, split in an -amd64 and a -common directory. */
describe('the on-disk caches of a kdir (header index, sleeping APIs)', () => {
  /** A copy of kdir-mini whose index is always cached, with its own cache folder. */
  const copy = () => {
    const kdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kdir-copy-'));
    fs.cpSync(KDIR_MINI, kdir, { recursive: true });
    return { kdir, cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kdir-cache-')) };
  };
  const cacheFileOf = (cacheDir: string) => path.join(cacheDir, fs.readdirSync(cacheDir).find((file) => file.endsWith('.json'))!);
  /** Marks the cached index with a macro no header defines: a load that returns it used the cache. */
  const markCache = (cacheDir: string) => {
    const file = cacheFileOf(cacheDir);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { macros: string[] };
    data.macros.push('LKM_FROM_THE_CACHE');
    fs.writeFileSync(file, JSON.stringify(data));
  };
  const later = (file: string) => fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));

  test('a load of the same kdir uses the cache; a changed .config, autoconf.h or Module.symvers rebuilds it', () => {
    const { kdir, cacheDir } = copy();
    const options = { cacheDir, cacheWorthyMs: 0 };
    assert.equal(loadKernelTarget(kdir, options).headers.functions.has('lock_debug_helper'), false, 'an inline while CONFIG_DEBUG_LOCK_ALLOC is unset');
    markCache(cacheDir);
    assert.ok(loadKernelTarget(kdir, options).headers.macros.has('LKM_FROM_THE_CACHE'), 'the second load reads the cache');
    // Reconfigured: the branch the index took is another one.
    fs.appendFileSync(path.join(kdir, '.config'), 'CONFIG_DEBUG_LOCK_ALLOC=y\n');
    const reconfigured = loadKernelTarget(kdir, options);
    assert.equal(reconfigured.headers.macros.has('LKM_FROM_THE_CACHE'), false, 'a changed .config is a new identity');
    assert.ok(reconfigured.headers.functions.has('lock_debug_helper'), 'indexed again with the new configuration');
    for (const file of ['Module.symvers', 'include/generated/autoconf.h']) {
      const before = kdirIdentity(kdir);
      if (!fs.existsSync(path.join(kdir, file))) fs.writeFileSync(path.join(kdir, file), '#define CONFIG_X86 1\n');
      later(path.join(kdir, file));
      assert.notEqual(kdirIdentity(kdir), before, `${file} is part of the identity`);
      markCache(cacheDir);
      assert.equal(loadKernelTarget(kdir, options).headers.macros.has('LKM_FROM_THE_CACHE'), false, `a rebuilt ${file} is not served from the cache`);
    }
  });

  test('a damaged cache file (cut short, other shapes, not a file) is rebuilt, never trusted', () => {
    const { kdir, cacheDir } = copy();
    const options = { cacheDir, cacheWorthyMs: 0 };
    const fresh = loadKernelTarget(kdir, options);
    const file = cacheFileOf(cacheDir);
    const good = fs.readFileSync(file, 'utf8');
    const damaged = [
      good.slice(0, good.length / 2),
      good.replace(/"macros":\[/, '"macros":[17,'),
      good.replace(/"inlines":\[\[("[^"]*"),\[/, '"inlines":[[$1,{"x":['),
      'null',
    ];
    for (const text of damaged) {
      fs.writeFileSync(file, text);
      const loaded = loadKernelTarget(kdir, options);
      assert.equal(loaded.headers.inlines.size, fresh.headers.inlines.size, text.slice(0, 80));
      assert.ok([...loaded.headers.macros].every((name) => typeof name === 'string'));
    }
    fs.rmSync(file);
    execFileSync('mkfifo', [file]);
    assert.equal(loadKernelTarget(kdir, options).headers.inlines.size, fresh.headers.inlines.size, 'not a regular file: built afresh');
  });

  test('a cache folder keeps the indexes of the kdirs used last, not one per kdir ever seen', () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kdir-cache-'));
    const kdirs = Array.from({ length: 10 }, () => copy().kdir);
    for (const kdir of kdirs) {
      loadKernelTarget(kdir, { cacheDir, cacheWorthyMs: 0 });
      // The first kdir is used again after each other one: it stays.
      loadKernelTarget(kdirs[0]!, { cacheDir, cacheWorthyMs: 0 });
    }
    assert.equal(fs.readdirSync(cacheDir).filter((file) => file.endsWith('.json')).length, 8);
    const cachedKdirs = fs.readdirSync(cacheDir).map((file) => (JSON.parse(fs.readFileSync(path.join(cacheDir, file), 'utf8')) as { identity: string }).identity.split('\n')[0]);
    assert.ok(cachedKdirs.includes(path.resolve(kdirs[9]!)), 'the last one used is kept');
    assert.ok(cachedKdirs.includes(path.resolve(kdirs[0]!)), 'the one used all along is kept');
    assert.equal(cachedKdirs.includes(path.resolve(kdirs[1]!)), false, 'one not used since is gone');
  });

  test('the sleeping APIs derived from the headers follow the kdir identity too', () => {
    const { kdir, cacheDir } = copy();
    const sleepCache = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-sleep-cache-'));
    const derive = () => headerSleepingApis(loadKernelTarget(kdir, { cacheDir }), { cacheDir: sleepCache, cacheWorthyMs: 0 });
    assert.equal(derive().has('lkm_from_the_cache'), false);
    const file = cacheFileOf(sleepCache);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { apis: Array<{ name: string; reason: string }> };
    data.apis.push({ name: 'lkm_from_the_cache', reason: 'marked by the test' });
    fs.writeFileSync(file, JSON.stringify(data));
    assert.ok(derive().has('lkm_from_the_cache'), 'the second derivation reads the cache');
    later(path.join(kdir, '.config'));
    assert.equal(derive().has('lkm_from_the_cache'), false, 'a changed .config is a new identity');
  });
});

function debianKdir(): string | undefined {
  const base = '/usr/src';
  const name = fs.existsSync(base) ? fs.readdirSync(base).filter((entry) => /^linux-headers-.*-amd64$/.test(entry)).sort().pop() : undefined;
  return name ? path.join(base, name) : undefined;
}

describe('real Debian linux-headers-amd64 (installed by .ci/run)', () => {
  const kdir = debianKdir();
  // Not a skip: CI installs the package; a machine without it gets a clear failure.
  test('the headers package is installed', () => {
    assert.ok(kdir, 'no /usr/src/linux-headers-*-amd64: install linux-headers-amd64 (bash .ci/run does)');
  });
  if (!kdir) return;
  let target: KernelTarget;

  test('loads (headers found through the -common directory) and then loads again from the cache', () => {
    target = loadKernelTarget(kdir, { cacheDir });
    assert.match(target.release ?? '', /^6\.1\./);
    assert.ok(target.exports.size > 20000);
    assert.ok(target.headers.inlines.size > 5000, `only ${target.headers.inlines.size} inlines: were the -common headers found?`);
    assert.ok(target.headers.functions.has('kallsyms_lookup_name'));
    assert.equal(target.config?.get('CONFIG_X86_64'), 'y');
    assert.ok(fs.readdirSync(cacheDir).some((file) => file.endsWith('.json')), 'no cache file written');
    const again = loadKernelTarget(kdir, { cacheDir });
    assert.deepEqual([...again.headers.inlines.keys()].length, target.headers.inlines.size);
  });

  test('resolveCall on real kernel APIs', () => {
    assert.deepEqual(target.resolveCall('sysfs_create_file'), { kind: 'gpl-only', symbol: 'sysfs_create_file_ns', via: ['sysfs_create_file', 'sysfs_create_file_ns'] });
    assert.equal(target.resolveCall('_printk').kind, 'exported');
    assert.deepEqual(target.resolveCall('printk'), { kind: 'exported', symbol: '_printk', via: ['printk', '_printk'] });
    assert.equal(target.resolveCall('kallsyms_lookup_name').kind, 'not-exported');
    assert.equal(target.resolveCall('get_jiffies_64').kind, 'header-only'); // prototype only if BITS_PER_LONG < 64
    // Static inlines and macros are never "not exported".
    for (const name of ['spin_lock', 'list_add', 'kzalloc', 'copy_from_user', 'request_irq', 'rcu_dereference', 'container_of']) {
      assert.ok(['exported', 'header-only'].includes(target.resolveCall(name).kind), `${name}: ${JSON.stringify(target.resolveCall(name))}`);
    }
    assert.equal(target.resolveCall('request_irq').symbol, 'request_threaded_irq');
    assert.deepEqual(target.resolveCall('dma_buf_get'), { kind: 'gpl-only', symbol: 'dma_buf_get', namespace: 'DMA_BUF' });
  });
});
