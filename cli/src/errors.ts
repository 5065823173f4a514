import { type CallFailure, failureCode, isAccessRefused } from '@outpost/sdk/client';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** A run ended in a state other than COMPLETED, or an operation failed. */
  failed: 1,
  /** The command line or the project's configuration is wrong. */
  usage: 2,
  /** The API (or a registry) cannot be reached, or it refused the credentials. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as a short message and an exit code, never as a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Extra lines printed under the message: problem details, field paths, hints. */
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class UsageError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, EXIT.usage, details);
  }
}

/** Turns a failed API call into a CliError with the problem's title, detail and field paths. */
export function apiFailure(failure: CallFailure, what: string, apiUrl: string): CliError {
  switch (failure.kind) {
    case 'network_error':
      return new CliError(`${what}: cannot reach the API at ${apiUrl}`, EXIT.unreachable, [failure.message], {
        cause: failure.cause,
      });
    case 'invalid_response':
      return new CliError(`${what}: the API answered with an unexpected response (HTTP ${failure.status})`, EXIT.failed, [
        failure.message,
      ]);
    case 'http_error': {
      const problem = failure.problem;
      const title = problem?.title ?? `HTTP ${failure.status}`;
      const details: string[] = [];
      if (problem?.detail) details.push(problem.detail);
      for (const e of problem?.errors ?? []) details.push(`${e.path || '(body)'}: ${e.message}`);
      if (problem?.requestId) details.push(`request id: ${problem.requestId}`);
      if (failureCode(failure) === 'unauthenticated')
        details.push('check OUTPOST_API_KEY (or --api-key): the API did not accept it');
      return new CliError(`${what}: ${title}`, isAccessRefused(failure) ? EXIT.unreachable : EXIT.failed, details);
    }
  }
}
