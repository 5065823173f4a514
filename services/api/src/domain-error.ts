import type { DomainErrorCode, FieldError } from '@outpost/sdk/contracts';

/**
 * What went wrong, in the contract's words, for code that knows nothing of HTTP: services, db
 * modules and the background loops throw it, and only the HTTP edge turns it into a problem
 * response (errors.ts, fromDomainError). A loop that runs a service catches it by code.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly errors: FieldError[] | undefined;
  /** For `unauthenticated`: the credential scheme the caller should present, when the credential itself was missing or refused. */
  readonly challenge: 'Bearer' | undefined;
  /** For `quota_exceeded` and `unavailable`: when a retry can succeed, sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: DomainErrorCode,
    readonly detail: string,
    options: { errors?: FieldError[]; challenge?: 'Bearer'; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.errors = options.errors;
    this.challenge = options.challenge;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function notFound(what: string): DomainError {
  return new DomainError('not_found', `${what} not found`);
}

/** A credential that is missing, unknown, revoked or expired: the caller is asked for a bearer token. */
export function credentialRefused(detail: string): DomainError {
  return new DomainError('unauthenticated', detail, { challenge: 'Bearer' });
}

/** True for a DomainError with this code, the test a caller uses to step over an expected refusal. */
export function isDomainError(error: unknown, code: DomainErrorCode): error is DomainError {
  return error instanceof DomainError && error.code === code;
}
