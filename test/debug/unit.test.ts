// Pieces of the debugger and the frame decoder that need no guest: the GDB/MI parser and the
// reading of addr2line's inline chains.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cQuote, parseMiLine } from '../../client/src/core/debug/mi';
import { parseInlineChains } from '../../client/src/core/targets/decode';

describe('GDB/MI output', () => {
  it('parses a stop record with nested tuples and lists', () => {
    const record = parseMiLine('*stopped,reason="breakpoint-hit",bkptno="2",frame={addr="0x1",func="f",args=[{name="step",value="1"}],file="a.c",line="11"},thread-id="1"');
    assert.equal(record?.kind, '*');
    assert.equal(record?.className, 'stopped');
    assert.deepEqual(record?.results.frame, { addr: '0x1', func: 'f', args: [{ name: 'step', value: '1' }], file: 'a.c', line: '11' });
  });

  it('keeps the token of a result, lists of named results, and gdb\'s brace lists of values', () => {
    const record = parseMiLine('12^done,stack=[frame={level="0"},frame={level="1"}],script={"silent","continue"}');
    assert.equal(record?.token, 12);
    assert.deepEqual(record?.results.stack, [{ frame: { level: '0' } }, { frame: { level: '1' } }]);
    assert.deepEqual(record?.results.script, ['silent', 'continue']);
  });

  it('decodes C escapes in stream records and ignores the prompt', () => {
    assert.equal(parseMiLine('~"Breakpoint 1 at \\"x\\"\\n\\t\\101"')?.text, 'Breakpoint 1 at "x"\n\tA');
    assert.equal(parseMiLine('(gdb) '), undefined);
  });

  it('quotes command arguments so a path cannot end the string', () => {
    assert.equal(cQuote('/a "b"\\c'), '"/a \\"b\\"\\\\c"');
  });
});

describe('addr2line inline chains', () => {
  it('groups each address\'s func/file:line pairs, innermost first, and drops unknown lines', () => {
    const output = [
      '0x0000000000000011',
      '__fortify_strlen',
      '/usr/src/linux-headers-6.1.0-57-common/include/linux/fortify-string.h:196',
      'lkmt_inline_name_len',
      '/build/lkmt_inline.c:16 (discriminator 1)',
      '0x0000000000000040',
      '??',
      '??:0',
      '0x0000000000000009',
      'lkmt_inline_init',
      '/build/lkmt_inline.c:24',
      '',
    ].join('\n');
    assert.deepEqual(parseInlineChains(output), [
      [
        { func: '__fortify_strlen', file: '/usr/src/linux-headers-6.1.0-57-common/include/linux/fortify-string.h', line: 196 },
        { func: 'lkmt_inline_name_len', file: '/build/lkmt_inline.c', line: 16 },
      ],
      [],
      [{ func: 'lkmt_inline_init', file: '/build/lkmt_inline.c', line: 24 }],
    ]);
  });
});
