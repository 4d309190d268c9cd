// The Debian guest's archive lines come from this machine's apt sources (one-line .list and deb822
// .sources files), for its own release only — never a hard-coded mirror.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostArchiveLines } from '../../client/src/core/guest/debian';

describe('Debian guest archive lines', () => {
  it('reads one-line and deb822 sources of the host release, skipping deb-src, disabled stanzas and other releases', () => {
    const apt = mkdtempSync(path.join(tmpdir(), 'lkm-apt-'));
    mkdirSync(path.join(apt, 'sources.list.d'));
    writeFileSync(path.join(apt, 'sources.list'), [
      '# comment',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib',
      'deb-src http://mirror.example/debian bookworm main',
      'deb http://other.example/ubuntu jammy main',
      '',
    ].join('\n'));
    writeFileSync(path.join(apt, 'sources.list.d', 'debian.sources'), [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://deb.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb deb-src',
      'URIs: http://deb.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://disabled.example/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
    ].join('\n'));
    writeFileSync(path.join(apt, 'sources.list.d', 'nodesource.sources.disabled-by-farm'), 'Types: deb\nURIs: http://x.example\nSuites: bookworm\nComponents: main\n');
    assert.deepEqual(hostArchiveLines('bookworm', apt), [
      'deb http://mirror.example/debian bookworm main contrib',
      'deb http://deb.example/debian bookworm main',
      'deb http://deb.example/debian bookworm-updates main',
      'deb http://deb.example/debian-security bookworm-security main',
    ]);
    assert.deepEqual(hostArchiveLines('trixie', apt), []);
  });
});
