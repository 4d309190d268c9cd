// Host entries of an OpenSSH client config, as offered by "LKM: Add SSH Target…".
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSshHosts } from '../../client/src/core/targets/sshHosts';

test('concrete Host aliases with their user, port and host name; wildcards, negations and Match blocks are not hosts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lkm-ssh-config-'));
  mkdirSync(path.join(dir, 'config.d'));
  writeFileSync(path.join(dir, 'config.d', 'lab.conf'), 'Host lab-board\n  HostName 10.0.0.7\n  User root\n');
  writeFileSync(path.join(dir, 'config.d', 'ignored.txt'), 'Host not-included\n');
  writeFileSync(path.join(dir, 'config'), [
    '# comment',
    'Host board board-alias "quoted name"',
    '    HostName board.lan',
    '    User=me',
    '    Port 2222',
    '    Port 3333',
    'Host *.example.com !bastion',
    '    User nobody',
    'Match host foo',
    '    User matched',
    'Include config.d/*.conf',
    'Host board',
    '    User second',
  ].join('\n'));
  assert.deepEqual(readSshHosts(path.join(dir, 'config')), [
    { alias: 'board', hostName: 'board.lan', user: 'me', port: 2222 },
    { alias: 'board-alias', hostName: 'board.lan', user: 'me', port: 2222 },
    { alias: 'quoted name', hostName: 'board.lan', user: 'me', port: 2222 },
    { alias: 'lab-board', hostName: '10.0.0.7', user: 'root' },
  ]);
});

test('no config, or one that is not a regular file, gives no hosts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lkm-ssh-config-'));
  assert.deepEqual(readSshHosts(path.join(dir, 'missing')), []);
  assert.deepEqual(readSshHosts(dir), []);
});
