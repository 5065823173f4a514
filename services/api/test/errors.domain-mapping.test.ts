import { type AddressInfo, connect, createServer } from 'node:net';
import { DomainErrorCode, ErrorCode, statusForCode } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { credentialRefused, DomainError, notFound } from '../src/domain-error.js';
import { ApiError, batchItemError, errorCode, fromDomainError, problemBody } from '../src/errors.js';
import { toApiError } from '../src/http/problems.js';

describe('a domain error at the HTTP edge', () => {
  test.each(DomainErrorCode.options)('%s keeps its code and gets the status the contract gives that code', (code) => {
    const answered = toApiError(new DomainError(code, `the ${code} detail`));
    expect(answered).toBeInstanceOf(ApiError);
    expect(answered).toMatchObject({ code, status: statusForCode(code), detail: `the ${code} detail`, errors: undefined });
    const body = problemBody(answered as ApiError, '/api/v1/x', 'req-1');
    expect(body).toMatchObject({
      type: `urn:outpost:problem:${code}`,
      status: statusForCode(code),
      code,
      detail: `the ${code} detail`,
    });
    expect(body).not.toHaveProperty('errors');
  });

  test('every domain code is one of the contract codes, and the edge-only ones are not among them', () => {
    for (const code of DomainErrorCode.options) expect(ErrorCode.options).toContain(code);
    expect(DomainErrorCode.options).not.toContain('internal');
    expect(DomainErrorCode.options).not.toContain('malformed_json');
  });

  test('field errors pass to the problem unchanged and in order', () => {
    const errors = [
      { path: 'body.parameters.n', message: 'must be integer' },
      { path: 'body.tags', message: 'too many' },
    ];
    const body = problemBody(fromDomainError(new DomainError('validation_failed', 'bad input', { errors })), '/p', 'r');
    expect(body.status).toBe(400);
    expect(body.errors).toEqual(errors);
  });

  test('a refused credential asks for a bearer token; other unauthenticated answers name no scheme', () => {
    expect(fromDomainError(credentialRefused('the API key is malformed')).headers).toEqual({ 'www-authenticate': 'Bearer' });
    expect(fromDomainError(new DomainError('unauthenticated', 'the email or password is wrong')).headers).toBeUndefined();
  });

  test('a not-found names what is missing, the same from a service and from a route', () => {
    expect(notFound('flow run').detail).toBe('flow run not found');
    expect(fromDomainError(notFound('flow run'))).toMatchObject({ status: 404, code: 'not_found', detail: 'flow run not found' });
  });

  test('a batch item error carries the code and status of the contract', () => {
    expect(batchItemError(new DomainError('stale_attempt', 'the flow run is at attempt 2'))).toEqual({
      status: 409,
      code: 'stale_attempt',
      detail: 'the flow run is at attempt 2',
    });
  });

  test('the code of an error is read the same from a domain error and from an HTTP one, and is null for anything else', () => {
    expect(errorCode(new DomainError('forbidden', 'no'))).toBe('forbidden');
    expect(errorCode(new ApiError('rate_limited', 'slow down'))).toBe('rate_limited');
    expect(errorCode(new Error('boom'))).toBeNull();
    expect(toApiError(new Error('boom'))).toBeNull();
  });
});

/** The error Node gives a write to a socket whose peer has ended it, as Postgres does when its backend is terminated. */
async function writeAfterPeerEnded(): Promise<Error> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    return await new Promise<Error>((resolve, reject) => {
      client.on('error', resolve);
      // Node ends this side a tick after the peer's end arrives; a write after that is the one postgres.js can make.
      client.on('end', () =>
        setImmediate(() =>
          client.write('SELECT 1', (error) => (error ? resolve(error) : reject(new Error('the write went through')))),
        ),
      );
    });
  } finally {
    server.close();
  }
}

describe('a lost database connection at the HTTP edge', () => {
  test.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'CONNECTION_CLOSED',
    'CONNECTION_ENDED',
    'CONNECTION_DESTROYED',
    'CONNECT_TIMEOUT',
  ])('%s is a 503 that asks the client to retry', (code) => {
    const answered = toApiError(Object.assign(new Error(`lost: ${code}`), { code }));
    expect(answered).toMatchObject({ status: 503, code: 'unavailable', headers: { 'retry-after': '5' } });
  });

  test('a statement written just after Postgres ended the socket is a 503 that asks for a retry, not a 500', async () => {
    const error = await writeAfterPeerEnded();
    expect((error as NodeJS.ErrnoException).code).toBe('EPIPE');
    expect(toApiError(error)).toMatchObject({ status: 503, code: 'unavailable', headers: { 'retry-after': '5' } });
  });
});
