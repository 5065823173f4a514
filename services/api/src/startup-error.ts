/**
 * A start-up failure the person starting the server can fix: a port in use, an unreachable or
 * malformed database URL, a data directory it cannot write. Entry points print it as one line,
 * `error: <what happened> — <what to do>`, with no stack trace, and exit non-zero.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    message: string,
    /** What to do about it, in the imperative. */
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The one line to print. */
  line(): string {
    return `${this.message} — ${this.hint}`;
  }
}

export function isStartupError(error: unknown): error is StartupError {
  return error instanceof Error && error.name === 'StartupError' && typeof (error as StartupError).line === 'function';
}
