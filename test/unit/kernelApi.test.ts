// Integrity of the kernel API knowledge tables (server/src/kernel-api/), checked against the
// declarations of Linux 6.1 kept in test/fixtures/kernel-api/linux-6.1-prototypes.json (made by
// extract-prototypes.ts in that folder from the 6.1 headers; CI has no kernel source).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { describeApi, describeCallbackField, describeGuardClass } from '../../server/src/kernel-api/apiDocs';
import { CALLBACK_FIELDS, CALLBACK_REGISTRATIONS } from '../../server/src/kernel-api/callbacks';
import { ATOMIC_GFP_MASKS, ATOMIC_REPLACEMENT, NEUTRAL_GFP_MODIFIERS, SLEEPING_GFP_MASKS } from '../../server/src/kernel-api/gfp';
import { ATOMIC_LOCK_CLASSES, GUARD_CLASSES, LOCK_OPERATIONS, type LockClass, type LockOperation } from '../../server/src/kernel-api/locks';
import { SLEEPING_APIS } from '../../server/src/kernel-api/sleeping';

interface Declaration { file: string; line: number; kind: 'function' | 'macro'; params: string[] }
interface Fixture {
  guardClasses: string[];
  gfpDefinitions: Record<string, string>;
  pollTimeoutMacros: Record<string, string[]>;
  functionPointerOwners: Record<string, string[]>;
  structMembers: Record<string, string[]>;
  prototypes: Record<string, Declaration>;
}

const fixture: Fixture = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'fixtures', 'kernel-api', 'linux-6.1-prototypes.json'), 'utf8'),
);

/** Rows for mainline APIs that 6.1 does not have (modules written for newer kernels use them). */
const MAINLINE_ONLY = new Set(['hrtimer_setup', 'local_lock_nested_bh', 'local_unlock_nested_bh']);

/** Classes that track a CPU-wide state and so take no lock argument. */
const CPU_WIDE_CLASSES = new Set<LockClass>(['rcu', 'irq', 'bh', 'preempt']);
const SLEEPING_LOCK_CLASSES = new Set<LockClass>(['mutex', 'rt_mutex', 'rwsem', 'semaphore']);
/** Calls that turn a held write lock into a read lock: two rows each, and they never wait. */
const DOWNGRADES = new Set(['downgrade_write', 'mmap_write_downgrade']);

function declarationOf(name: string): Declaration {
  const declaration = fixture.prototypes[name];
  assert.ok(declaration, `${name} is not declared in the Linux 6.1 headers (typo, or regenerate the fixture)`);
  return declaration;
}

/** The parameter at `index` of `name`'s 6.1 declaration; fails when the index is out of range. */
function parameter(name: string, index: number): { text: string; kind: Declaration['kind'] } {
  const declaration = declarationOf(name);
  const fixed = declaration.params.filter((p) => p !== '...' && !p.endsWith('...'));
  assert.ok(index >= 0 && index < fixed.length,
    `${name}: argument index ${index} is outside its ${fixed.length} parameters (${declaration.params.join(', ')}) at ${declaration.file}:${declaration.line}`);
  return { text: fixed[index]!, kind: declaration.kind };
}

function duplicates(names: readonly string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))].sort();
}

describe('fixture', () => {
  test('holds the 6.1 declarations the tables need', () => {
    assert.ok(Object.keys(fixture.prototypes).length > 600);
    assert.deepEqual(fixture.prototypes['kmalloc']?.params, ['size_t size', 'gfp_t flags']);
    assert.ok(fixture.guardClasses.includes('spinlock_irqsave'));
  });
});

describe('LOCK_OPERATIONS', () => {
  test('names are unique, except the downgrades (a release then an acquire)', () => {
    assert.deepEqual(duplicates(LOCK_OPERATIONS.map((r) => r.name)), [...DOWNGRADES].sort());
    for (const name of DOWNGRADES) {
      const rows = LOCK_OPERATIONS.filter((r) => r.name === name);
      assert.deepEqual(rows.map((r) => [r.op, r.mode]), [['release', 'exclusive'], ['acquire', 'shared']], name);
    }
  });

  test('every name is declared in 6.1 (or is a listed mainline-only API)', () => {
    for (const row of LOCK_OPERATIONS) {
      if (MAINLINE_ONLY.has(row.name)) assert.equal(fixture.prototypes[row.name], undefined, `${row.name} exists in 6.1`);
      else declarationOf(row.name);
    }
  });

  test('lockArg names the lock parameter of the 6.1 prototype', () => {
    const lockType = /spinlock_t|rwlock_t|seqlock_t|struct (mutex|rt_mutex|rw_semaphore|percpu_rw_semaphore|semaphore|srcu_struct|device|pci_dev|mm_struct|sock|sdio_func|i2c_adapter|spi_controller|net_device|netdev_queue) \*/;
    const lockName = /lock|sem|^sl$|^ssp$|^dev$|^mutex$|^_?_?sk$|^d$/;
    let checked = 0;
    for (const row of LOCK_OPERATIONS) {
      if (row.lockArg === undefined || MAINLINE_ONLY.has(row.name)) continue;
      const { text, kind } = parameter(row.name, row.lockArg);
      // A lockMember row takes the object holding the lock (`struct uart_port *`), which must have it.
      if (row.lockMember) assert.match(text, /struct \w+ \*/, `${row.name}: parameter ${row.lockArg} is '${text}'`);
      else if (kind === 'function') assert.match(text, lockType, `${row.name}: parameter ${row.lockArg} is '${text}'`);
      else assert.match(text, lockName, `${row.name}: macro parameter ${row.lockArg} is '${text}'`);
      checked++;
    }
    assert.ok(checked > 100, `only ${checked} lockArg rows checked`);
  });

  test('CPU-wide states take no lock argument; other locks have a lock argument or a global lock name', () => {
    for (const row of LOCK_OPERATIONS) {
      if (CPU_WIDE_CLASSES.has(row.lockClass)) assert.ok(row.lockArg === undefined && row.lockName === undefined, row.name);
      else assert.ok((row.lockArg === undefined) !== (row.lockName === undefined), `${row.name}: exactly one of lockArg and lockName`);
    }
  });

  test('a global lock is taken and released by the same class, mode and variant', () => {
    for (const row of LOCK_OPERATIONS.filter((r) => r.lockName)) {
      const same = LOCK_OPERATIONS.filter((r) => r.lockName === row.lockName && r.mode === row.mode);
      assert.ok(same.some((r) => r.op === 'release') && same.some((r) => r.op !== 'release'), row.name);
      for (const other of same) assert.equal(`${other.lockClass}/${other.variant}`, `${row.lockClass}/${row.variant}`, `${row.name} vs ${other.name}`);
    }
  });

  test('only conditional rows say when they succeed', () => {
    for (const row of LOCK_OPERATIONS) {
      assert.equal(row.successWhen !== undefined, row.op === 'conditional', row.name);
    }
  });

  test('trylocks succeed on non-zero, except down_trylock; interruptible/killable/timeout on zero', () => {
    for (const row of LOCK_OPERATIONS) {
      if (/trylock/.test(row.name)) {
        assert.equal(row.op, 'conditional', row.name);
        assert.equal(row.successWhen, row.name === 'down_trylock' ? 'zero' : 'nonzero', row.name);
      }
      if (/_(interruptible|killable|timeout)(_nested)?$/.test(row.name)) {
        assert.equal(row.op, 'conditional', row.name);
        assert.equal(row.successWhen, 'zero', row.name);
      }
    }
  });

  test('the variant follows the name (_irqsave/_irqrestore, _irq, _bh)', () => {
    // local_lock_nested_bh is taken with BH already disabled: it does not disable them itself.
    const exceptions = new Set(['local_lock_nested_bh', 'local_unlock_nested_bh']);
    for (const row of LOCK_OPERATIONS) {
      if (exceptions.has(row.name)) continue;
      const expected = /_irq_?(save|restore)/.test(row.name) ? 'irqsave'
        : /_irq(_|$)/.test(row.name) ? 'irq'
          : /_bh(_|$)/.test(row.name) ? 'bh' : undefined;
      if (expected) assert.equal(row.variant, expected, row.name);
      else if (!CPU_WIDE_CLASSES.has(row.lockClass)) assert.equal(row.variant, 'plain', row.name);
    }
  });

  test('every release has an acquire of the same class, mode and variant, and vice versa', () => {
    const key = (r: LockOperation) => `${r.lockClass}/${r.mode}/${r.variant}/${r.lockArg === undefined ? r.lockName ?? 'cpu' : 'lock'}`;
    const acquired = new Set(LOCK_OPERATIONS.filter((r) => r.op !== 'release').map(key));
    const released = new Set(LOCK_OPERATIONS.filter((r) => r.op === 'release').map(key));
    for (const row of LOCK_OPERATIONS) {
      if (row.op === 'release') assert.ok(acquired.has(key(row)), `${row.name} releases ${key(row)}, which nothing acquires`);
      else assert.ok(released.has(key(row)), `${row.name} acquires ${key(row)}, which nothing releases`);
    }
  });

  test('the first release of each class/mode/variant is the canonical one (the rules suggest it)', () => {
    const firstRelease = (lockClass: LockClass, mode: string, variant: string) =>
      LOCK_OPERATIONS.find((r) => r.op === 'release' && r.lockClass === lockClass && r.mode === mode && r.variant === variant)?.name;
    const expected: Array<[LockClass, string, string, string]> = [
      ['spinlock', 'exclusive', 'plain', 'spin_unlock'], ['spinlock', 'exclusive', 'irqsave', 'spin_unlock_irqrestore'],
      ['raw_spinlock', 'exclusive', 'irq', 'raw_spin_unlock_irq'], ['rwlock', 'shared', 'bh', 'read_unlock_bh'],
      ['seqlock', 'exclusive', 'plain', 'write_sequnlock'], ['mutex', 'exclusive', 'plain', 'mutex_unlock'],
      ['rwsem', 'shared', 'plain', 'up_read'], ['rwsem', 'exclusive', 'plain', 'up_write'], ['semaphore', 'exclusive', 'plain', 'up'],
      ['rcu', 'shared', 'plain', 'rcu_read_unlock'], ['srcu', 'shared', 'plain', 'srcu_read_unlock'],
      ['irq', 'exclusive', 'irq', 'local_irq_enable'], ['irq', 'exclusive', 'irqsave', 'local_irq_restore'],
      ['bh', 'exclusive', 'bh', 'local_bh_enable'], ['preempt', 'exclusive', 'plain', 'preempt_enable'],
      ['local_lock', 'exclusive', 'irqsave', 'local_unlock_irqrestore'],
    ];
    for (const [lockClass, mode, variant, name] of expected) assert.equal(firstRelease(lockClass, mode, variant), name, `${lockClass}/${mode}/${variant}`);
  });

  test('atomic lock classes are exactly the spinning and CPU-wide ones', () => {
    for (const lockClass of SLEEPING_LOCK_CLASSES) assert.ok(!ATOMIC_LOCK_CLASSES.has(lockClass), lockClass);
    assert.ok(!ATOMIC_LOCK_CLASSES.has('srcu'), 'SRCU readers may sleep');
    for (const lockClass of CPU_WIDE_CLASSES) assert.ok(ATOMIC_LOCK_CLASSES.has(lockClass), lockClass);
  });

  test('sleeping lock acquisitions are in SLEEPING_APIS; trylocks and spinning locks are not', () => {
    const sleeping = new Set(SLEEPING_APIS.map((r) => r.name));
    for (const row of LOCK_OPERATIONS) {
      const blocks = row.op !== 'release' && SLEEPING_LOCK_CLASSES.has(row.lockClass) && !/trylock/.test(row.name) && !DOWNGRADES.has(row.name);
      assert.equal(sleeping.has(row.name), blocks, `${row.name}: ${blocks ? 'blocks but is not' : 'does not block but is'} in SLEEPING_APIS`);
    }
  });
});

describe('GUARD_CLASSES', () => {
  const guards = Object.entries(GUARD_CLASSES);

  test('every lock guard class of the 6.1 headers is known', () => {
    const notLocks = new Set(['migrate', 'no_notify_signal']); // no lock state: migration, signals
    for (const name of fixture.guardClasses) {
      if (!notLocks.has(name)) assert.ok(Object.hasOwn(GUARD_CLASSES, name), `guard class ${name} is missing`);
    }
  });

  test('has no inherited keys', () => {
    for (const key of ['constructor', 'toString', '__proto__']) assert.equal(GUARD_CLASSES[key], undefined, key);
  });

  test('conditional exactly for the _try/_intr/_kill extensions', () => {
    for (const [name, guard] of guards) assert.equal(guard.conditional === true, /_(try|intr|kill)$/.test(name), name);
  });

  test('CPU-wide guards take no lock argument', () => {
    for (const [name, guard] of guards) assert.equal(guard.hasLockArg, !CPU_WIDE_CLASSES.has(guard.lockClass), name);
  });

  test('each guard has a lock operation of the same class, mode and variant', () => {
    for (const [name, guard] of guards) {
      const match = LOCK_OPERATIONS.some((r) => r.op !== 'release' && r.lockClass === guard.lockClass && r.mode === guard.mode && r.variant === guard.variant);
      assert.ok(match, `${name}: no operation takes ${guard.lockClass}/${guard.mode}/${guard.variant}`);
    }
  });

  test('the variant follows the name', () => {
    for (const [name, guard] of guards) {
      const expected = /irqsave/.test(name) ? 'irqsave' : /(^|_)irq(_|$)/.test(name) ? 'irq' : /_bh(_|$)/.test(name) && name !== 'local_lock_nested_bh' ? 'bh' : 'plain';
      assert.equal(guard.variant, expected, name);
    }
  });
});

describe('SLEEPING_APIS', () => {
  test('is broad, with unique names and a reason on every row', () => {
    assert.ok(SLEEPING_APIS.length >= 200, `${SLEEPING_APIS.length} rows`);
    assert.deepEqual(duplicates(SLEEPING_APIS.map((r) => r.name)), []);
    for (const row of SLEEPING_APIS) assert.match(row.reason, /^[a-z].{8,}[^.]$/, `${row.name}: reason '${row.reason}'`);
  });

  test('every name is declared in the 6.1 headers', () => {
    for (const row of SLEEPING_APIS) declarationOf(row.name);
  });

  test('gfpArg is the gfp_t parameter of the 6.1 prototype', () => {
    let checked = 0;
    for (const row of SLEEPING_APIS) {
      if (row.gfpArg === undefined) continue;
      const { text, kind } = parameter(row.name, row.gfpArg);
      if (kind === 'function') assert.match(text, /^gfp_t\b/, `${row.name}: parameter ${row.gfpArg} is '${text}'`);
      else assert.match(text, /gfp|flags|mask|priority/, `${row.name}: macro parameter ${row.gfpArg} is '${text}'`);
      checked++;
    }
    assert.ok(checked >= 60, `only ${checked} gfpArg rows checked`);
  });

  test('a prototype with a gfp_t parameter has its gfpArg set', () => {
    // They sleep whatever the mask: __vmalloc allocates page tables with GFP_KERNEL, the USB
    // helpers use the mask for a bounce buffer and then wait for the transfer.
    const alwaysSleeps = new Set(['__vmalloc', 'usb_control_msg_send', 'usb_control_msg_recv']);
    for (const row of SLEEPING_APIS) {
      const declaration = declarationOf(row.name);
      const gfpIndex = declaration.params.findIndex((p) => /^gfp_t\b/.test(p));
      if (gfpIndex === -1 || declaration.kind !== 'function' || alwaysSleeps.has(row.name)) continue;
      assert.equal(row.gfpArg, gfpIndex, `${row.name} takes a gfp_t at ${gfpIndex}: does it sleep whatever the mask?`);
    }
  });

  test('every polling macro of the 6.1 headers sleeps unless _atomic, and sleepArg is its sleep time', () => {
    const rows = new Map(SLEEPING_APIS.map((r) => [r.name, r]));
    const macros = Object.entries(fixture.pollTimeoutMacros);
    assert.ok(macros.length >= 20, `${macros.length} polling macros`);
    for (const [name, params] of macros) {
      const row = rows.get(name);
      if (name.endsWith('_atomic')) {
        assert.equal(row, undefined, `${name} busy-waits with udelay()`);
        continue;
      }
      assert.ok(row, `${name} polls with usleep_range() but is not in SLEEPING_APIS`);
      // The PHY ones read through the MDIO bus mutex, so they sleep whatever the sleep time.
      if (name.startsWith('phy_')) assert.equal(row.sleepArg, undefined, name);
      else assert.match(params[row.sleepArg ?? -1] ?? '', /^(sleep|delay)_us$/, `${name}: sleepArg ${row.sleepArg} of (${params.join(', ')})`);
    }
  });

  test('nonBlockingFlag names the flags parameter of the 6.1 prototype', () => {
    const rows = SLEEPING_APIS.filter((r) => r.nonBlockingFlag);
    assert.ok(rows.length >= 3);
    for (const row of rows) assert.match(parameter(row.name, row.nonBlockingFlag!.arg).text, /\bint rpmflags$/, row.name);
  });

  test('does not list APIs that never sleep', () => {
    const neverSleep = [
      'udelay', 'mdelay', 'ndelay', 'spin_lock', 'mutex_trylock', 'mutex_unlock', 'down_trylock', 'down_read_trylock',
      'up', 'complete', 'try_wait_for_completion', 'wake_up', 'netdev_alloc_skb', 'dev_alloc_skb', 'del_timer_sync',
      'spi_async', 'clk_enable', 'clk_disable', 'gpiod_set_value', 'kfree', 'schedule_work', 'queue_work', 'mod_timer',
      'mempool_destroy', 'call_usermodehelper', 'hrtimer_cancel', 'tasklet_schedule', 'napi_schedule', 'disable_irq_nosync',
    ];
    const sleeping = new Set(SLEEPING_APIS.map((r) => r.name));
    for (const name of neverSleep) assert.ok(!sleeping.has(name), `${name} does not sleep`);
  });
});

/** Evaluates a 6.1 gfp_types.h mask expression (|, &, ~, parentheses, casts) to its bits. */
function gfpBits(name: string, seen: string[] = []): number {
  const definition = fixture.gfpDefinitions[name];
  assert.ok(definition !== undefined, `${name} is not defined in 6.1 gfp_types.h`);
  assert.ok(!seen.includes(name), `recursive definition of ${name}`);
  const tokens = definition.replace(/\(__force gfp_t\)/g, ' ').match(/0x[0-9a-fA-F]+u?|\d+u?|\w+|[|&~()]/g) ?? [];
  let at = 0;
  const primary = (): number => {
    const token = tokens[at++];
    if (token === '~') return ~primary() >>> 0;
    if (token === '(') {
      const value = orExpression();
      assert.equal(tokens[at++], ')', `unbalanced ${name}: ${definition}`);
      return value;
    }
    assert.ok(token !== undefined, `truncated ${name}: ${definition}`);
    if (/^(0x[0-9a-fA-F]+|\d+)u?$/.test(token)) return Number.parseInt(token.replace(/u$/, ''), token.startsWith('0x') ? 16 : 10);
    return gfpBits(token, [...seen, name]);
  };
  const andExpression = (): number => {
    let value = primary();
    while (tokens[at] === '&') { at++; value = (value & primary()) >>> 0; }
    return value;
  };
  const orExpression = (): number => {
    let value = andExpression();
    while (tokens[at] === '|') { at++; value = (value | andExpression()) >>> 0; }
    return value;
  };
  const value = orExpression();
  assert.equal(at, tokens.length, `unparsed tail in ${name}: ${definition}`);
  return value;
}

describe('gfp masks', () => {
  const allListed = [...SLEEPING_GFP_MASKS, ...ATOMIC_GFP_MASKS, ...NEUTRAL_GFP_MODIFIERS];

  test('the three sets are disjoint', () => {
    assert.deepEqual(duplicates(allListed), []);
  });

  test('every public 6.1 mask is classified', () => {
    const internal = /^___|^__GFP_BITS_|^GFP_ZONEMASK$/;
    for (const name of Object.keys(fixture.gfpDefinitions)) {
      if (!internal.test(name)) assert.ok(allListed.includes(name), `${name} is in no set`);
    }
  });

  test('a mask sleeps exactly when its 6.1 definition includes __GFP_DIRECT_RECLAIM', () => {
    const directReclaim = gfpBits('___GFP_DIRECT_RECLAIM');
    assert.ok(directReclaim > 0);
    for (const name of allListed) {
      const sleeps = (gfpBits(name) & directReclaim) !== 0;
      assert.equal(sleeps, SLEEPING_GFP_MASKS.has(name), `${name}: ${sleeps ? 'includes' : 'lacks'} direct reclaim`);
    }
    assert.ok(ATOMIC_GFP_MASKS.has(ATOMIC_REPLACEMENT));
  });
});

describe('CALLBACK_REGISTRATIONS', () => {
  test('(function, argument) pairs are unique', () => {
    assert.deepEqual(duplicates(CALLBACK_REGISTRATIONS.map((r) => `${r.function}#${r.callbackArg}`)), []);
  });

  test('callbackArg is a function pointer parameter of the 6.1 declaration', () => {
    for (const row of CALLBACK_REGISTRATIONS) {
      if (MAINLINE_ONLY.has(row.function)) {
        assert.equal(fixture.prototypes[row.function], undefined, `${row.function} exists in 6.1`);
        continue;
      }
      const { text, kind } = parameter(row.function, row.callbackArg);
      if (kind === 'function') assert.match(text, /\(\s*\*|\b\w*(handler|func|fn|callback|complete)_t\b/, `${row.function}: parameter ${row.callbackArg} is '${text}'`);
      else assert.match(text, /fn|func|callback|handler|^_?f$|^x$/, `${row.function}: macro parameter ${row.callbackArg} is '${text}'`);
    }
  });

  test('threaded IRQ registrations give the primary handler hard IRQ context and the thread process context', () => {
    for (const name of ['request_threaded_irq', 'devm_request_threaded_irq']) {
      const rows = CALLBACK_REGISTRATIONS.filter((r) => r.function === name).sort((a, b) => a.callbackArg - b.callbackArg);
      assert.deepEqual(rows.map((r) => r.context), ['hardirq', 'process'], name);
    }
  });
});

describe('CALLBACK_FIELDS', () => {
  test('(field, struct) pairs are unique and shared field names carry their struct', () => {
    assert.deepEqual(duplicates(CALLBACK_FIELDS.map((r) => `${r.struct ?? ''}.${r.field}`)), []);
    for (const row of CALLBACK_FIELDS) {
      const sameField = CALLBACK_FIELDS.filter((r) => r.field === row.field);
      if (sameField.length > 1) assert.ok(row.struct, `${row.field} is used by several structs: give the struct`);
    }
  });

  test('uniqueField exactly where no other struct of the 6.1 headers has a function pointer by that name', () => {
    // `fe->callback = fn` of a struct dvb_frontend is no tasklet: a field name alone decides only when unique.
    for (const row of CALLBACK_FIELDS) {
      const owners = fixture.functionPointerOwners[row.field] ?? [];
      assert.ok(owners.includes(row.struct), `struct ${row.struct} has no function pointer ${row.field} (owners: ${owners.join(', ')})`);
      assert.equal(row.uniqueField === true, owners.length === 1, `${row.struct}.${row.field}: owned by ${owners.join(', ')}`);
    }
    assert.ok(fixture.functionPointerOwners['callback']!.length > 5);
  });

  test('every field exists in its 6.1 struct', () => {
    for (const row of CALLBACK_FIELDS) {
      if (!row.struct) continue;
      const members = fixture.structMembers[row.struct];
      assert.ok(members, `struct ${row.struct} is not defined in the 6.1 headers`);
      assert.ok(members.includes(row.field), `struct ${row.struct} has no member ${row.field}`);
    }
  });
});

describe('describeApi', () => {
  test('documents every name of every table', () => {
    const names = new Set([
      ...LOCK_OPERATIONS.map((r) => r.name), ...SLEEPING_APIS.map((r) => r.name), ...CALLBACK_REGISTRATIONS.map((r) => r.function),
      ...SLEEPING_GFP_MASKS, ...ATOMIC_GFP_MASKS, ...NEUTRAL_GFP_MODIFIERS,
    ]);
    for (const name of names) assert.match(describeApi(name) ?? '', new RegExp(`^\\*\\*${name}\\*\\*`), name);
  });

  test('names the matching release of every acquisition', () => {
    for (const row of LOCK_OPERATIONS.filter((r) => r.op !== 'release')) {
      assert.match(describeApi(row.name)!, /(Release|End) with `\w+`/, row.name);
    }
    assert.match(describeApi('spin_lock_irqsave')!, /Release with `spin_unlock_irqrestore`\./);
    assert.match(describeApi('spin_lock_irqsave')!, /atomic/);
    assert.match(describeApi('preempt_disable')!, /End with `preempt_enable`/);
  });

  test('says when and why a call sleeps', () => {
    assert.match(describeApi('mutex_lock')!, /May sleep:\*\* waits for the mutex/);
    assert.match(describeApi('kmalloc')!, /2nd argument/);
    assert.match(describeApi('readl_poll_timeout')!, /unless the 4th argument, the sleep time, is 0/);
    assert.match(describeApi('__pm_runtime_resume')!, /unless the 2nd argument includes `RPM_ASYNC`/);
    assert.match(describeApi('down_trylock')!, /returns 0 when the lock was taken/);
    assert.doesNotMatch(describeApi('down_trylock')!, /May sleep/);
  });

  test('gives each registered callback its context', () => {
    const text = describeApi('request_threaded_irq')!;
    assert.match(text, /2nd argument as a \*\*hard IRQ handler\*\*: it runs in hard interrupt context/);
    assert.match(text, /3rd argument as a \*\*threaded IRQ handler\*\*: it runs in process context/);
  });

  test('knows nothing of other words, including Object.prototype names', () => {
    for (const word of ['not_a_kernel_api', 'toString', 'constructor', '__proto__', '']) assert.equal(describeApi(word), undefined, word);
    assert.equal(describeGuardClass('hasOwnProperty'), undefined);
  });

  test('guard classes and callback fields', () => {
    assert.match(describeGuardClass('spinlock_irqsave')!, /atomic/);
    assert.match(describeGuardClass('mutex_intr')!, /only if taking it succeeds/);
    assert.doesNotMatch(describeGuardClass('mutex')!, /atomic/);
    assert.equal(describeCallbackField('poll'), undefined, 'poll alone is ambiguous (file_operations vs napi_struct)');
    assert.match(describeCallbackField('poll', 'napi_struct')!, /softirq/);
    assert.match(describeCallbackField('hook')!, /nf_hook_ops/);
  });
});
