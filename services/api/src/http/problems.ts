import { SCIM_MEDIA_TYPE } from '@outpost/sdk/contracts';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import postgres from 'postgres';
import { DomainError } from '../domain-error.js';
import { ApiError, fromDomainError, problemBody } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AppEnv } from './env.js';
import { isScimPath, scimErrorBody } from './scim-errors.js';

/**
 * Database errors that mean something about the request rather than about the server. Anything
 * else from the database is a 500 (or a 503 when it is unreachable or asks for a retry).
 */
function fromPostgres(error: postgres.PostgresError): ApiError | null {
  switch (error.code) {
    case '23505':
      return new ApiError('conflict', 'an object with this identity already exists', { cause: error });
    case '23503':
      return new ApiError('conflict', 'the request refers to an object that does not exist or is still in use', { cause: error });
    case '40001':
    case '40P01':
      return new ApiError('unavailable', 'the request conflicted with a concurrent one; retry', {
        cause: error,
        headers: { 'retry-after': '1' },
      });
    case '57P01':
    case '57P03':
      return new ApiError('unavailable', 'the database is not available; retry', {
        cause: error,
        headers: { 'retry-after': '5' },
      });
  }
  // Class 22, data exceptions: a value the contract allowed but Postgres cannot store (out of range, NUL in text).
  if (error.code.startsWith('22')) {
    return new ApiError(
      'validation_failed',
      'a value in the request cannot be stored (out of range or an unsupported character)',
      {
        cause: error,
      },
    );
  }
  if (error.code.startsWith('08')) {
    return new ApiError('unavailable', 'the database is not reachable; retry', { cause: error, headers: { 'retry-after': '5' } });
  }
  return null;
}

/**
 * A lost or refused connection to the database, by the code Node or postgres.js gives it. EPIPE is a
 * statement written in the moment between Postgres ending the socket and postgres.js seeing it close.
 */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return fromDomainError(error);
  if (error instanceof postgres.PostgresError) return fromPostgres(error);
  if (error instanceof HTTPException) {
    if (error.status === 413) return new ApiError('payload_too_large', 'the request body is too large');
    if (error.status === 400) return new ApiError('malformed_json', error.message);
    return null;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) {
    return new ApiError('unavailable', 'the database is not reachable; retry', { cause: error, headers: { 'retry-after': '5' } });
  }
  return null;
}

export function problemResponse(c: Context<AppEnv>, error: ApiError): Response {
  const requestId = c.get('requestId') ?? '';
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  c.header('x-request-id', requestId);
  // A directory's SCIM client reads SCIM's own error document (RFC 7644 §3.12), never a problem.
  if (isScimPath(c.req.path)) {
    return c.body(JSON.stringify(scimErrorBody(error)), error.status as 400, { 'content-type': SCIM_MEDIA_TYPE });
  }
  return c.body(JSON.stringify(problemBody(error, c.req.path, requestId)), error.status as 400, {
    'content-type': 'application/problem+json',
  });
}

/** app.onError: known errors become problems; anything else is logged with the request id and answered without details. */
export function handleError(logger: Logger) {
  return (error: Error, c: Context<AppEnv>): Response => {
    const known = toApiError(error);
    const log = c.get('logger') ?? logger;
    if (known) {
      if (known.status >= 500) log.warn({ err: error }, 'request failed: %s', known.code);
      return problemResponse(c, known);
    }
    log.error({ err: error }, 'unexpected error');
    return problemResponse(
      c,
      new ApiError('internal', 'an unexpected error occurred; the request id identifies it in the server logs'),
    );
  };
}
