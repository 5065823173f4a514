import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../src/redact.js';

const SECRET = 'hunter2-Sup3r/s3cret+value';
const OTHER = 'sk_live_0ther-S3cret';

describe('Redactor.redactJson on object keys', () => {
  const redactor = new Redactor([SECRET, OTHER]);

  it('masks a key that is a secret as well as the value that is one', () => {
    const out = redactor.redactJson({ [SECRET]: 1, value: SECRET });
    expect(out).toEqual({ [REDACTED]: 1, value: REDACTED });
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('masks only the secret inside a longer key, keeping the rest of its name', () => {
    expect(redactor.redactJson({ [`token-${SECRET}-prod`]: true })).toEqual({ [`token-${REDACTED}-prod`]: true });
  });

  it('masks keys holding the secret base64-encoded, URL-encoded, hex-encoded or JSON-escaped', () => {
    const quoted = 'pa"ss\\word with space';
    const r = new Redactor([quoted, SECRET]);
    const keys = {
      b64: `basic ${Buffer.from(SECRET).toString('base64')}`,
      b64url: `t=${Buffer.from(SECRET).toString('base64url')}`,
      url: `pg://app:${encodeURIComponent(SECRET)}@db`,
      hex: `hex ${Buffer.from(SECRET).toString('hex')}`,
      json: `pw ${JSON.stringify(quoted).slice(1, -1)}`,
    };
    const out = r.redactJson(Object.fromEntries(Object.entries(keys).map(([name, key]) => [key, name])));
    expect(out).toEqual({
      [`basic ${REDACTED}`]: 'b64',
      [`t=${REDACTED}`]: 'b64url',
      [`pg://app:${REDACTED}@db`]: 'url',
      [`hex ${REDACTED}`]: 'hex',
      [`pw ${REDACTED}`]: 'json',
    });
  });

  it('masks keys at every depth, inside arrays and nested objects', () => {
    const out = redactor.redactJson({
      rows: [{ [SECRET]: { [`inner-${OTHER}`]: [SECRET, { [OTHER]: 'x' }] } }],
      plain: { nested: { [SECRET]: null } },
    });
    expect(out).toEqual({
      rows: [{ [REDACTED]: { [`inner-${REDACTED}`]: [REDACTED, { [REDACTED]: 'x' }] } }],
      plain: { nested: { [REDACTED]: null } },
    });
  });

  it('keeps both entries when two keys become the same once masked, numbering the later one', () => {
    const out = redactor.redactJson({ [SECRET]: 1, [OTHER]: 2, [`a-${SECRET}`]: 3, [`a-${OTHER}`]: 4 });
    expect(out).toEqual({ [REDACTED]: 1, [`${REDACTED}#2`]: 2, [`a-${REDACTED}`]: 3, [`a-${REDACTED}#2`]: 4 });
  });

  it('never renames a key that held no secret when a masked key would take its name', () => {
    const out = redactor.redactJson({ [SECRET]: 'masked', [REDACTED]: 'literal', [`${REDACTED}#2`]: 'also literal' });
    expect(out).toEqual({ [REDACTED]: 'literal', [`${REDACTED}#2`]: 'also literal', [`${REDACTED}#3`]: 'masked' });
  });

  it('leaves numbers, booleans and null as they are, under masked keys too', () => {
    const out = redactor.redactJson({ [SECRET]: 42, flag: false, none: null, list: [1.5, true] });
    expect(out).toEqual({ [REDACTED]: 42, flag: false, none: null, list: [1.5, true] });
  });

  it('keeps a key named __proto__ as an entry of the object', () => {
    const parsed = JSON.parse(`{"__proto__": {"${SECRET}": "${SECRET}"}}`) as Record<string, unknown>;
    const out = redactor.redactJson(parsed);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"${REDACTED}":"${REDACTED}"}}`);
  });

  it('returns keys without a secret unchanged', () => {
    const data = { rows: 3, columns: ['id', 'name'], 'tok-3': 'x' };
    expect(redactor.redactJson(data)).toEqual(data);
  });

  it('tells whether a key or value anywhere in a JSON value holds a secret', () => {
    expect(redactor.jsonHoldsSecret({ run: 1, id: ['a', { [`x${SECRET}`]: 1 }] })).toBe(true);
    expect(redactor.jsonHoldsSecret({ run: [Buffer.from(OTHER).toString('base64')] })).toBe(true);
    expect(redactor.jsonHoldsSecret({ run: 1, id: ['a', { b: 'c' }] })).toBe(false);
    expect(redactor.holdsSecret(`x-${SECRET}`)).toBe(true);
    expect(redactor.holdsSecret('run-42')).toBe(false);
  });
});
