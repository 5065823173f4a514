import type { ApiFailure } from '../src/api/client.js';

/** The API refusing a request with `status` and these field errors, as the client returns it. */
export function refused(status: number, errors: { path: string; message: string }[]): ApiFailure {
  return {
    ok: false,
    kind: 'http_error',
    status,
    problem: { type: 'about:blank', title: 'Invalid request', status, code: 'validation_failed', errors },
  } as ApiFailure;
}
