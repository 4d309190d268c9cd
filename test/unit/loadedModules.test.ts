// Parsing what the Modules view's one remote command prints (/proc/modules, then sysfs parameters).
// The command itself runs in the test guest in the UI run (test/editor/ui), after Build and Load.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLoadedModules } from '../../client/src/core/targets/loadedModules';

test('modules with their users, state and parameter values; parameters of modules not in /proc/modules are dropped', () => {
  const output = [
    'lkm_hello 16384 0 - Live 0xffffffffc0200000 (O)',
    'dep_user 12288 1 lkm_hello,other, Live 0x0000000000000000',
    'garbage line',
    '--- lkm parameters ---',
    'lkm_hello\twhom\tworld',
    'lkm_hello\tcount\t3',
    'builtin_thing\tdebug\tN',
    '',
  ].join('\n');
  assert.deepEqual(parseLoadedModules(output), [
    { name: 'dep_user', size: 12288, refcount: 1, usedBy: ['lkm_hello', 'other'], state: 'Live', params: [] },
    { name: 'lkm_hello', size: 16384, refcount: 0, usedBy: [], state: 'Live', params: [{ name: 'whom', value: 'world' }, { name: 'count', value: '3' }] },
  ]);
});
