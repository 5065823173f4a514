import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../src/redact.js';

const SECRET = 'Pä$$/wörd+42 ok';

/** Every way the tests print the secret; each must come out without any trace of it. */
const PRINTED: Array<[string, string]> = [
  ['raw', SECRET],
  ['JavaScript JSON', JSON.stringify({ password: SECRET })],
  ['Python json.dumps', `{"password": "P\\u00e4$$/w\\u00f6rd+42 ok"}`],
  ['PHP json_encode', `{"password":"P\\u00e4$$\\/w\\u00f6rd+42 ok"}`],
  ['URL component', `postgres://app:${encodeURIComponent(SECRET)}@db/app`],
  ['URL component, lowercase hex', `pw=${encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`],
  ['form encoding', `password=${encodeURIComponent(SECRET).replace(/%20/g, '+')}`],
  ['whole URL', `https://example.com/login?next=${encodeURI(SECRET)}`],
  ['base64', Buffer.from(SECRET).toString('base64')],
  ['base64url', Buffer.from(SECRET).toString('base64url')],
  ['base64 inside a longer text', Buffer.from(`user:${SECRET}:end`).toString('base64')],
  ['hex', Buffer.from(SECRET).toString('hex')],
  ['HEX', Buffer.from(SECRET).toString('hex').toUpperCase()],
];

describe('redaction of encoded secrets', () => {
  const redactor = new Redactor([SECRET]);

  for (const [form, text] of PRINTED) {
    it(`masks the secret printed as ${form}`, () => {
      const out = redactor.redact(`before ${text} after`);
      expect(out).toContain(REDACTED);
      expect(out.startsWith('before ')).toBe(true);
      for (const [, other] of PRINTED) if (other.length >= 8) expect(out).not.toContain(other);
      expect(out).not.toContain('w\\u00f6rd');
      expect(out).not.toContain(Buffer.from(SECRET).toString('hex').slice(0, 16));
    });
  }

  it('redacts every string inside an artifact-like JSON value and leaves other values alone', () => {
    const value = {
      title: `run with ${SECRET}`,
      rows: [{ dsn: `postgres://u:${encodeURIComponent(SECRET)}@h` }, 42, true, null],
    };
    expect(redactor.redactJson(value)).toEqual({
      title: `run with ${REDACTED}`,
      rows: [{ dsn: `postgres://u:${REDACTED}@h` }, 42, true, null],
    });
  });
});
