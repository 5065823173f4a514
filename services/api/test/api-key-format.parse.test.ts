import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, parseApiKey } from '../src/auth/api-key-format.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Replaces the character at `index` with a different base62 character. */
function mutate(key: string, index: number): string {
  const current = key[index]!;
  const next = BASE62[(BASE62.indexOf(current) + 1 + (index % 61)) % 62]!;
  return key.slice(0, index) + next + key.slice(index + 1);
}

describe('api key format', () => {
  it('generates op_ keys of 41 base62 characters whose display prefix is their first 10 characters', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^op_[0-9A-Za-z]{38}$/);
    expect(prefix).toBe(key.slice(0, 10));
    expect(hash).toBe(hashApiKey(key));
  });

  it('parses every generated key to the hash it was stored under', () => {
    for (let i = 0; i < 200; i++) {
      const { key, hash } = generateApiKey();
      expect(parseApiKey(key)).toEqual({ hash });
    }
  });

  it('never generates the same key twice in a large sample', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateApiKey().key));
    expect(keys.size).toBe(2000);
  });

  it('draws body characters evenly from the whole base62 alphabet', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const ch of generateApiKey().key.slice(3, 35)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    // 64,000 draws, ~1,032 per character; a biased modulo would skew the first 8 characters by ~25 %.
    expect(counts.size).toBe(62);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(850);
      expect(count).toBeLessThan(1220);
    }
  });

  it('accepts a key built by hand to the published format, so the format stays stable', () => {
    // CRC32('abcdefghijklmnopqrstuvwxyz012345') = 0x624d474c = 1nc0VA in six base62 digits.
    expect(parseApiKey('op_abcdefghijklmnopqrstuvwxyz0123451nc0VA')).not.toBeNull();
    expect(parseApiKey('op_abcdefghijklmnopqrstuvwxyz0123451nc0VB')).toBeNull();
  });

  it('rejects a key with any single character changed, in the body or the checksum', () => {
    const { key } = generateApiKey();
    for (let index = 3; index < key.length; index++) {
      const changed = mutate(key, index);
      expect(changed).not.toBe(key);
      expect(parseApiKey(changed), `changed at ${index}`).toBeNull();
    }
  });

  it('rejects keys with a wrong prefix, length or alphabet', () => {
    const { key } = generateApiKey();
    expect(parseApiKey(`xp_${key.slice(3)}`)).toBeNull();
    expect(parseApiKey(`OP_${key.slice(3)}`)).toBeNull();
    expect(parseApiKey(key.slice(0, -1))).toBeNull();
    expect(parseApiKey(`${key}0`)).toBeNull();
    expect(parseApiKey(`${key.slice(0, 10)}-${key.slice(11)}`)).toBeNull();
    expect(parseApiKey(`${key.slice(0, 10)}é${key.slice(11)}`)).toBeNull();
    expect(parseApiKey('')).toBeNull();
  });

  it('does not trim surrounding whitespace', () => {
    const { key } = generateApiKey();
    expect(parseApiKey(` ${key}`)).toBeNull();
    expect(parseApiKey(`${key}\n`)).toBeNull();
  });

  it('hashes keys to stable 64-character sha256 hex', () => {
    const { key } = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey('op_a')).toBe('836510f391491616547dc533c2e00ba800b4c7eff86fb46ff0fae3d5cd69baa6');
  });
});
