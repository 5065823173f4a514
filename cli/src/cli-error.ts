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
