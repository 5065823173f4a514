import { type BatchItemError, type ErrorCode, type FieldError, type Problem, statusForCode } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import { DomainError, notFound as missing } from './domain-error.js';

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Validation failed',
  unprocessable: 'Unprocessable content',
  malformed_json: 'Malformed JSON',
  unauthenticated: 'Unauthenticated',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  stale_attempt: 'Stale attempt',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  quota_exceeded: 'Quota exceeded',
  method_not_allowed: 'Method not allowed',
  client_too_old: 'Upgrade required',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
};

/**
 * The error the HTTP boundary turns into a problem response; a DomainError is mapped to one
 * (fromDomainError), anything else is a 500. Code under routes/ and http/ throws it for what it
 * decides about the request; code below them throws DomainError.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? TITLES[code], { cause: options.cause });
    this.status = statusForCode(code);
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

/**
 * A domain error as the HTTP edge answers it: its code is the contract's (and so is the status),
 * its detail and field errors pass through unchanged, and an unauthenticated one that asks for a
 * credential names the scheme in WWW-Authenticate.
 */
export function fromDomainError(error: DomainError): ApiError {
  return new ApiError(error.code, error.detail, {
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.challenge ? { headers: { 'www-authenticate': error.challenge } } : {}),
    ...(error.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(error.retryAfterSeconds) } } : {}),
    cause: error,
  });
}

/** One failed item of a batch answer, for a domain error raised about that item alone. */
export function batchItemError(error: DomainError): BatchItemError {
  return { status: statusForCode(error.code), code: error.code, detail: error.detail };
}

/** The contract's code of an error on its way to the edge, or null for one the edge would answer with a 500. */
export function errorCode(error: unknown): ErrorCode | null {
  if (error instanceof ApiError) return error.code;
  if (error instanceof DomainError) return error.code;
  return null;
}

/** A route's own 404, worded as the services word theirs. */
export function notFound(what: string): ApiError {
  return fromDomainError(missing(what));
}

/** `body.logs.3.seq` from a zod issue path under `prefix`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
}

export function zodFieldErrors(prefix: string, error: z.ZodError): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One entry per unknown field, so the path names the field the client should drop.
      for (const key of issue.keys) errors.push({ path: fieldPath(prefix, [...issue.path, key]), message: 'unknown field' });
      continue;
    }
    errors.push({ path: fieldPath(prefix, issue.path), message: issue.message });
  }
  return errors;
}

export function validationError(prefix: string, error: z.ZodError): ApiError {
  return new ApiError('validation_failed', `the request ${prefix || 'input'} is invalid`, {
    errors: zodFieldErrors(prefix, error),
  });
}

export function problemBody(error: ApiError, instance: string, requestId: string): Problem {
  return {
    type: `urn:outpost:problem:${error.code}`,
    title: TITLES[error.code],
    status: error.status,
    ...(error.detail ? { detail: error.detail } : {}),
    code: error.code,
    instance,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}
