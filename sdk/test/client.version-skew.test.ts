import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as z from 'zod';
import { parseAnswer, type UnknownValue } from '../src/client/answers.js';
import { OutpostClient } from '../src/client/index.js';
import { isKnownValue, type Open, openValue, Role } from '../src/contracts/index.js';
import { SDK_VERSION } from '../src/version.js';

/** A whoami answer as a newer server gives it: a field, a principal kind and a role this client has never heard of. */
const NEWER_WHOAMI = {
  workspace: { id: '00000000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme', createdAt: '2026-01-01T00:00:00.000Z' },
  principal: { kind: 'service_account', id: 'sa-1', role: 'auditor', scopes: ['read'] },
  region: 'eu-west',
};

describe('an SDK client against a newer server, over HTTP', () => {
  let server: Server;
  let url: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'outpost-server-version': '0.3.0' });
      res.end(JSON.stringify(NEWER_WHOAMI));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('keeps unknown enum values as the strings they are, leaves out unknown fields, and reports the values', async () => {
    const reported: { route: string; values: UnknownValue[] }[] = [];
    const client = new OutpostClient({
      baseUrl: url,
      token: 'op_key',
      onUnknownValues: (route, values) => reported.push({ route, values }),
    });
    try {
      const result = await client.call('whoami', {});
      if (!result.ok) throw new Error(`expected the answer to be read, got ${JSON.stringify(result)}`);
      expect(result.data.principal).toEqual({ kind: 'service_account', id: 'sa-1', role: 'auditor' });
      expect(result.data).not.toHaveProperty('region');
      expect(reported).toEqual([
        {
          route: 'whoami',
          values: [
            { path: ['principal', 'kind'], value: 'service_account', known: ['api_key', 'run_token', 'session'] },
            { path: ['principal', 'role'], value: 'auditor', known: Role.options },
          ],
        },
      ]);
    } finally {
      await client.close();
    }
  });

  test('names itself on every request: outpost-version and outpost-sdk/<version>, or the identity it is given', async () => {
    seen.length = 0;
    const sdk = new OutpostClient({ baseUrl: url, token: 'op_key' });
    const worker = new OutpostClient({ baseUrl: url, token: 'op_key', identity: { name: 'worker', version: '0.1.7' } });
    try {
      await sdk.call('whoami', {});
      await sdk.withToken('op_other').call('whoami', {});
      await worker.call('whoami', {});
    } finally {
      await sdk.close();
      await worker.close();
    }
    expect(SDK_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(seen.map((h) => [h['outpost-version'], h['user-agent']])).toEqual([
      [SDK_VERSION, `outpost-sdk/${SDK_VERSION}`],
      [SDK_VERSION, `outpost-sdk/${SDK_VERSION}`],
      ['0.1.7', 'outpost-worker/0.1.7'],
    ]);
  });
});

describe('what parseAnswer forgives and what it does not', () => {
  const Kind = z.enum(['a', 'b']);
  const Answer = z.strictObject({
    items: z.array(z.strictObject({ kind: Kind, next: Kind.nullable() })),
    version: z.literal(1),
  });

  test('unknown values anywhere in a list are kept in place, the known ones untouched', () => {
    const parsed = parseAnswer(Answer, {
      items: [
        { kind: 'a', next: 'c' },
        { kind: 'd', next: null },
      ],
      version: 1,
    });
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual({
      items: [
        { kind: 'a', next: 'c' },
        { kind: 'd', next: null },
      ],
      version: 1,
    });
  });

  test('the answer it was given is not changed', () => {
    const answer = { items: [{ kind: 'z', next: 'a' }], version: 1, extra: true };
    parseAnswer(Answer, answer);
    expect(answer).toEqual({ items: [{ kind: 'z', next: 'a' }], version: 1, extra: true });
  });

  test('a value of the wrong type, a different literal or an unknown variant of a tagged union still fails', () => {
    expect(parseAnswer(Answer, { items: [{ kind: 3, next: null }], version: 1 }).success).toBe(false);
    expect(parseAnswer(Answer, { items: [], version: 2 }).success).toBe(false);
    const Tagged = z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('x') }),
      z.strictObject({ type: z.literal('y') }),
    ]);
    expect(parseAnswer(Tagged, { type: 'w' }).success).toBe(false);
  });

  test('an unknown value longer than a word is not kept', () => {
    expect(parseAnswer(Answer, { items: [{ kind: 'x'.repeat(500), next: null }], version: 1 }).success).toBe(false);
  });
});

describe('types that stay honest about values a client does not know', () => {
  type Kind = 'a' | 'b';
  const KINDS: readonly Kind[] = ['a', 'b'];

  test('an Open value is not the enum until checked against the known values', () => {
    const answered: Open<Kind> = openValue<Kind>('a');
    // @ts-expect-error an answer's value may be one this client does not know
    const unchecked: Kind = answered;
    expect(unchecked).toBe('a');
    const seen = 'c' as Open<Kind>;
    expect(isKnownValue(KINDS, answered)).toBe(true);
    expect(isKnownValue(KINDS, seen)).toBe(false);
    if (isKnownValue(KINDS, answered)) {
      const checked: Kind = answered;
      expect(checked).toBe('a');
    }
  });

  test('a switch over an Open value must say what it does with an unknown one', () => {
    // @ts-expect-error without a default branch the function may end without a value
    function withoutDefault(kind: Open<Kind>): string {
      switch (kind) {
        case 'a':
          return 'A';
        case 'b':
          return 'B';
      }
    }
    function withDefault(kind: Open<Kind>): string {
      switch (kind) {
        case 'a':
          return 'A';
        case 'b':
          return 'B';
        default:
          return `(${kind})`;
      }
    }
    expect(withoutDefault('a')).toBe('A');
    expect(withDefault('z' as Open<Kind>)).toBe('(z)');
  });
});
