// The unlock quick fix is offered only where the analysis is certain of the path: every path through
// the leaking exit holds the lock, no merge blurred it, and no called module function may release it
// (where one does, an inserted unlock could be a double unlock).
import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Analyzer, TextWorkspaceIndex } from '../../server/src/engine';
import type { Finding } from '../../server/src/analysis/model';

let analyzer: Analyzer;

function lockFindings(text: string): Finding[] {
  const file = analyzer.analyze(analyzer.parse('/m/m.c', text, {}));
  try {
    const module = { name: 'm', dir: '/m', files: ['/m/m.c'] };
    return analyzer.lintModule(module, [file], undefined, new TextWorkspaceIndex()).filter((f) => f.rule === 'lock-imbalance');
  } finally {
    file.parsed.tree.delete();
  }
}

const HEADER = 'struct p { struct mutex m; int n; };\n';

describe('lock-imbalance quick fixes', () => {
  before(async () => {
    analyzer = await Analyzer.create();
  });

  test('a leaking return that every path reaches holding the lock gets the unlock fix', () => {
    const [leak, ...rest] = lockFindings(`${HEADER}int f(struct p *p) {\n\tmutex_lock(&p->m);\n\tif (p->n < 0)\n\t\treturn -EIO;\n\tmutex_unlock(&p->m);\n\treturn 0;\n}\n`);
    assert.equal(rest.length, 0);
    assert.equal(leak?.range.start.line, 4);
    assert.equal(leak?.fixes?.[0]?.title, 'Release &p->m before returning');
  });

  test('no unlock fix where a called module function may release the lock', () => {
    // g() drops the caller's mutex when it fails; f() misreads g()'s result (0 is success): the leak
    // is real on the `p->n` path, but an unlock inserted after g()'s failure would be a double unlock.
    const text = `${HEADER}static int g(struct p *p) {\n\tif (p->n) {\n\t\tmutex_unlock(&p->m);\n\t\treturn -EINTR;\n\t}\n\treturn 0;\n}\n`
      + `int f(struct p *p) {\n\tmutex_lock(&p->m);\n\tif (g(p))\n\t\treturn -EINTR;\n\tif (p->n > 9)\n\t\treturn -EIO;\n\tmutex_unlock(&p->m);\n\treturn 0;\n}\n`;
    const findings = lockFindings(text);
    assert.deepEqual(findings.map((f) => f.range.start.line), [13]);
    assert.equal(findings[0]!.fixes, undefined);
  });

  test('a leaking goto gets the fix before the jump, though other paths reach its exit unlocked', () => {
    const text = `${HEADER}int f(struct p *p, int x) {\n\tint ret = 0;\n\tif (x)\n\t\tgoto out;\n\tmutex_lock(&p->m);\n\tif (p->n < 0) {\n\t\tret = -EIO;\n\t\tgoto out;\n\t}\n\tmutex_unlock(&p->m);\nout:\n\treturn ret;\n}\n`;
    const findings = lockFindings(text);
    assert.deepEqual(findings.map((f) => f.range.start.line), [8]);
    assert.equal(findings[0]!.fixes?.[0]?.title, 'Release &p->m before jumping');
  });
});
