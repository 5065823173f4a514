import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, secretForms } from '../src/redact.js';

const SECRET = 'hunter2-Sup3r/s3cret+value';

describe('Redactor', () => {
  const redactor = new Redactor([SECRET]);

  it('replaces the raw value wherever it appears in a line', () => {
    expect(redactor.redact(`password=${SECRET} and again ${SECRET}.`)).toBe(`password=${REDACTED} and again ${REDACTED}.`);
  });

  it('replaces the standard and url-safe base64 forms of the value', () => {
    const std = Buffer.from(SECRET).toString('base64');
    const urlSafe = Buffer.from(SECRET).toString('base64url');
    expect(std).not.toBe(urlSafe);
    expect(redactor.redact(`basic ${std}`)).toBe(`basic ${REDACTED}`);
    expect(redactor.redact(`token=${urlSafe}`)).toBe(`token=${REDACTED}`);
  });

  it('finds the value inside the base64 of a longer text at every byte alignment', () => {
    for (const prefix of ['', 'u', 'us', 'use', 'user:', 'admin-user:']) {
      const encoded = Buffer.from(`${prefix}${SECRET}@db.internal:5432`).toString('base64');
      const line = `Authorization: Basic ${encoded}`;
      const out = redactor.redact(line);
      expect(out, `prefix "${prefix}"`).toContain(REDACTED);
      // Whatever survives around the mask must not decode back to the secret.
      expect(Buffer.from(out.replace('Authorization: Basic ', '').replace(REDACTED, ''), 'base64').toString()).not.toContain(
        SECRET,
      );
      expect(out.length).toBeLessThan(line.length);
    }
  });

  it('replaces the URL-encoded and JSON-escaped forms', () => {
    const quoted = 'pa"ss\\word with space';
    const r = new Redactor([quoted]);
    expect(r.redact(`postgres://app:${encodeURIComponent(quoted)}@db/x`)).toBe(`postgres://app:${REDACTED}@db/x`);
    expect(r.redact(`form: pw=${encodeURIComponent(quoted).replace(/%20/g, '+')}`)).toBe(`form: pw=${REDACTED}`);
    expect(r.redact(JSON.stringify({ password: quoted }))).toBe(`{"password":"${REDACTED}"}`);
  });

  it('masks each line of a multi-line secret, since logs arrive one line at a time', () => {
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';
    const r = new Redactor([pem]);
    expect(r.redact('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe(REDACTED);
  });

  it('leaves values shorter than four characters alone instead of shredding ordinary text', () => {
    const r = new Redactor(['abc', 'x', '']);
    expect(r.size).toBe(0);
    expect(r.redact('abc abcdef x marks the spot')).toBe('abc abcdef x marks the spot');
    expect(secretForms('abc')).toEqual([]);
  });

  it('does not alter text that contains no secret', () => {
    const line = 'epoch 3: loss=0.0412 accuracy=0.981 (2048 samples)';
    expect(redactor.redact(line)).toBe(line);
  });

  it('redacts string values inside JSON state data and leaves keys that hold no secret as they are', () => {
    const data = { message: `failed with ${SECRET}`, nested: [SECRET, 3, null], [SECRET.slice(0, 3)]: true };
    expect(redactor.redactJson(data)).toEqual({ message: `failed with ${REDACTED}`, nested: [REDACTED, 3, null], hun: true });
  });
});
