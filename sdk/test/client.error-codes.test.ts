import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallFailure,
  failureCode,
  isAccessRefused,
  isRefusal,
  OutpostApiError,
  OutpostClient,
  unwrap,
} from '../src/client/index.js';
import { codeForStatus } from '../src/contracts/index.js';

/** The answer the test server gives, chosen by the run id the call names. */
const ANSWERS: Record<string, { status: number; type: string; body: string }> = {
  '00000000-0000-4000-8000-000000000001': {
    status: 409,
    type: 'application/problem+json',
    body: JSON.stringify({
      type: 'urn:outpost:problem:stale_attempt',
      title: 'Stale attempt',
      status: 409,
      code: 'stale_attempt',
    }),
  },
  '00000000-0000-4000-8000-000000000002': { status: 404, type: 'text/html', body: '<h1>Not Found</h1>' },
  '00000000-0000-4000-8000-000000000003': { status: 409, type: 'text/html', body: '<h1>Conflict</h1>' },
  '00000000-0000-4000-8000-000000000004': {
    status: 403,
    type: 'application/problem+json',
    body: JSON.stringify({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'a_code_from_a_newer_server' }),
  },
  '00000000-0000-4000-8000-000000000005': {
    status: 429,
    type: 'application/problem+json',
    body: JSON.stringify({
      type: 'urn:outpost:problem:rate_limited',
      title: 'Too many requests',
      status: 429,
      code: 'rate_limited',
    }),
  },
};

describe('the code of a failed call', () => {
  let server: Server;
  let client: OutpostClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const answer = ANSWERS[req.url?.split('/').pop() ?? ''] ?? { status: 500, type: 'text/plain', body: 'no answer' };
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OutpostClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'op_x' });
  });

  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  async function fail(id: string): Promise<CallFailure> {
    const result = await client.call('flowRunsGet', { params: { id } });
    if (result.ok) throw new Error('the call was expected to fail');
    return result;
  }

  it('is the problem’s code when the answer carries one the contract knows', async () => {
    const failure = await fail('00000000-0000-4000-8000-000000000001');
    expect(failureCode(failure)).toBe('stale_attempt');
    expect(isRefusal(failure)).toBe(true);
    expect(isAccessRefused(failure)).toBe(false);
  });

  it('is the one code a status stands for when the answer carries no problem, and null where the status stands for several', async () => {
    expect(failureCode(await fail('00000000-0000-4000-8000-000000000002'))).toBe('not_found');
    expect(failureCode(await fail('00000000-0000-4000-8000-000000000003'))).toBeNull();
    expect(codeForStatus(409)).toBeNull();
    expect(codeForStatus(400)).toBeNull();
    expect(codeForStatus(401)).toBe('unauthenticated');
  });

  it('falls back on the status for a code the contract does not know, so a refused key is still a refused key', async () => {
    const failure = await fail('00000000-0000-4000-8000-000000000004');
    expect(failureCode(failure)).toBe('forbidden');
    expect(isAccessRefused(failure)).toBe(true);
  });

  it('reads a rate limit as a failure a retry may fix, not as a refusal', async () => {
    const failure = await fail('00000000-0000-4000-8000-000000000005');
    expect(failureCode(failure)).toBe('rate_limited');
    expect(isRefusal(failure)).toBe(false);
  });

  it('is the code of the error unwrap throws', async () => {
    const result = await client.call('flowRunsGet', { params: { id: '00000000-0000-4000-8000-000000000001' } });
    let thrown: unknown;
    try {
      unwrap(result);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OutpostApiError);
    expect((thrown as OutpostApiError).code).toBe('stale_attempt');
    expect((thrown as OutpostApiError).status).toBe(409);
  });

  it('is null for a call that never reached the API', () => {
    expect(failureCode({ ok: false, kind: 'network_error', message: 'ECONNREFUSED', cause: null })).toBeNull();
  });
});
