/**
 * Why a bundle operation failed, stable enough to branch on:
 * - `integrity`: a digest or size did not match what the pinned reference promised.
 * - `unreachable`: the registry or directory could not be reached, or answered with a server error.
 * - `unauthorized`: the registry refused the credentials (or demanded some and none were given).
 * - `not_found`: the manifest, blob or directory does not exist.
 * - `invalid`: bad input — a malformed reference, a missing entrypoint, an unsafe path in a bundle.
 */
export type BundleErrorCode = 'integrity' | 'unreachable' | 'unauthorized' | 'not_found' | 'invalid';

/** The one error type of `@outpost/sdk/bundle`. Messages never contain credentials. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  readonly code: BundleErrorCode;

  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
