import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/contracts/utf8.js';

describe('utf8Length', () => {
  it("counts the bytes of ASCII, two-, three- and four-byte characters and lone surrogates as Node's Buffer does", () => {
    const samples = [
      '',
      'plain ascii',
      'é and ß',
      '€ 中文',
      '😀 emoji 👩‍👩‍👧',
      'lone \uD800 high',
      'lone \uDC00 low',
      'end \uD83D',
      JSON.stringify({ a: '\u0000\u007f\u0080\u07ff\u0800\uffff' }),
    ];
    for (const text of samples) expect(utf8Length(text), JSON.stringify(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });

  it('agrees with Buffer on every code unit from 0 to 0xFFFF, alone and paired', () => {
    for (let unit = 0; unit <= 0xffff; unit += 1) {
      const alone = String.fromCharCode(unit);
      expect(utf8Length(alone)).toBe(Buffer.byteLength(alone, 'utf8'));
    }
    const pair = String.fromCharCode(0xdbff, 0xdfff);
    expect(utf8Length(pair)).toBe(Buffer.byteLength(pair, 'utf8'));
  });
});
