import { describe, expect, test } from 'vitest';
import { TEST_RATE_LIMITS } from '../src/testing/index.js';
import { client, useServer } from './helpers.js';
import { addPerson, PASSWORD, post } from './users.support.js';

let next = 0;

// Per account and address 3, per account (every address together) 12: small numbers with the
// production ratio's shape, so a test needs few scrypt checks.
const LIMITS = { ...TEST_RATE_LIMITS, signInAttemptsPerAccountAddress: 3, signInAttemptsPerAccount: 12 };

// One trusted proxy hop: attacker and owner speak from addresses of their own through X-Forwarded-For.
const api = useServer({ loops: false, rateLimits: LIMITS, trustedProxyHops: 1 });

function address(): string {
  next += 1;
  return `198.51.100.${next}`;
}

const signIn = (email: string, password: string, from: string) =>
  post(api.server, '/auth/password', { email, password }, { 'x-forwarded-for': from });

describe('password attempts are counted per account and address, with a higher per-account backstop', () => {
  test('an attacker who used up their attempts on an account does not keep its owner out', async () => {
    const { email } = await addPerson(api.server, client(api.server, api.server.ownerKey), 'viewer');
    const attacker = address();
    for (let i = 0; i < 3; i++) expect((await signIn(email, `wrong guess number ${i}`, attacker)).status).toBe(401);
    const blocked = await signIn(email, PASSWORD, attacker);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(60);
    // The owner, at their own address, signs in as usual — and the attacker is still refused.
    expect((await signIn(email, PASSWORD, address())).status).toBe(200);
    expect((await signIn(email, PASSWORD, attacker)).status).toBe(429);
  });

  test('a guessing attack spread over many addresses is still stopped by the per-account backstop', async () => {
    const { email } = await addPerson(api.server, client(api.server, api.server.ownerKey), 'viewer');
    // Two guesses from each of six addresses: no address reaches its own limit, the account's 12 are used up.
    for (let i = 0; i < 6; i++) {
      const from = address();
      for (let j = 0; j < 2; j++) expect((await signIn(email, `guess ${i}-${j} of many`, from)).status).toBe(401);
    }
    const fresh = await signIn(email, PASSWORD, address());
    expect(fresh.status).toBe(429);
    expect(fresh.body.code).toBe('rate_limited');
    // Other accounts are not affected by this one's backstop.
    const other = await addPerson(api.server, client(api.server, api.server.ownerKey), 'viewer');
    expect((await signIn(other.email, PASSWORD, address())).status).toBe(200);
  });

  test('a password change counts against the same allowances as a sign-in', async () => {
    const { email } = await addPerson(api.server, client(api.server, api.server.ownerKey), 'viewer');
    const attacker = address();
    for (let i = 0; i < 3; i++) {
      const res = await post(
        api.server,
        '/auth/password/change',
        { email, currentPassword: `not it ${i} at all`, newPassword: 'a brand new passphrase' },
        { 'x-forwarded-for': attacker },
      );
      expect(res.status).toBe(401);
    }
    expect((await signIn(email, PASSWORD, attacker)).status).toBe(429);
    expect((await signIn(email, PASSWORD, address())).status).toBe(200);
  });
});
