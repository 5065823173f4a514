import { describe, expect, test } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../src/auth/passwords.js';
import { SecretBox } from '../src/db/secret-box.js';

const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashing', () => {
  test('verifies the right password and refuses a wrong one; two hashes of one password differ', async () => {
    const a = await hashPassword('correct horse battery', CHEAP);
    const b = await hashPassword('correct horse battery', CHEAP);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(await verifyPassword('correct horse battery', a, CHEAP)).toEqual({ ok: true, rehash: false });
    expect(await verifyPassword('correct horse batterY', a, CHEAP)).toEqual({ ok: false, rehash: false });
  });

  test('asks for a re-hash when the stored parameters are weaker than the current ones', async () => {
    const weak = await hashPassword('correct horse battery', CHEAP);
    expect(await verifyPassword('correct horse battery', weak, { ...CHEAP, N: 2 ** 11 })).toEqual({ ok: true, rehash: true });
  });

  test('a missing account or a corrupt hash is a plain refusal, after the same work as a real check', async () => {
    expect(await verifyPassword('anything at all', null, CHEAP)).toEqual({ ok: false, rehash: false });
    expect(await verifyPassword('anything at all', 'scrypt$3$8$1$abc$def', CHEAP)).toEqual({ ok: false, rehash: false });
    expect(await verifyPassword('anything at all', 'plain-text', CHEAP)).toEqual({ ok: false, rehash: false });
  });

  test('judges new passwords by length and plain sense, not by composition rules', () => {
    expect(passwordProblem('short', 'a@b.co')).toMatch(/at least 12/);
    expect(passwordProblem('aaaaaaaaaaaaaaaa', 'a@b.co')).toMatch(/repetitive/);
    expect(passwordProblem('ada@example.com', 'Ada@Example.com')).toMatch(/email/);
    expect(passwordProblem(`${'x'.repeat(200)}${'é'.repeat(40)}yzw`, 'a@b.co')).toMatch(/256 bytes/);
    expect(passwordProblem('a long passphrase of words', 'a@b.co')).toBeNull();
  });
});

describe('secret box', () => {
  test('opens what it sealed for the same context only, and nothing under another key or tampered', () => {
    const box = new SecretBox('k'.repeat(40));
    const sealed = box.seal('client-secret', 'workspace-1');
    expect(sealed).not.toContain('client-secret');
    expect(box.open(sealed, 'workspace-1')).toBe('client-secret');
    expect(box.open(sealed, 'workspace-2')).toBeNull();
    expect(new SecretBox('j'.repeat(40)).open(sealed, 'workspace-1')).toBeNull();
    const [v, iv, data, tag] = sealed.split('.') as [string, string, string, string];
    expect(box.open([v, iv, data, tag.slice(0, 8)].join('.'), 'workspace-1')).toBeNull();
    expect(box.open('garbage', 'workspace-1')).toBeNull();
    expect(() => new SecretBox('too short')).toThrow(/32 characters/);
  });
});
