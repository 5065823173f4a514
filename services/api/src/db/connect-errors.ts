import { StartupError } from '../startup-error.js';

const EXAMPLE_URL = 'postgres://user:password@host:5432/database';

/** Fails with one line when `url` is not a Postgres connection URL, before anything connects. */
export function assertDatabaseUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StartupError('DATABASE_URL is not a URL', `set it to a Postgres URL such as ${EXAMPLE_URL}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StartupError(
      `DATABASE_URL starts with "${parsed.protocol}//", not postgres://`,
      `set it to a Postgres URL such as ${EXAMPLE_URL}`,
    );
  }
  if (!parsed.hostname) throw new StartupError('DATABASE_URL names no host', `set it to a Postgres URL such as ${EXAMPLE_URL}`);
}

/** Where a URL points, without its password, for messages. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${parsed.hostname}:${parsed.port || '5432'}/${database}`;
  } catch {
    return 'the database';
  }
}

/**
 * Turns the errors a first connection can end in into one line a person can act on; anything
 * else is returned unchanged.
 */
export function connectFailure(error: unknown, url: string): unknown {
  const where = describeDatabase(url);
  const e = error as { code?: string; errno?: string; message?: string };
  const code = e.code ?? e.errno;
  switch (code) {
    case 'ECONNREFUSED':
      return new StartupError(
        `cannot reach the database at ${where} (connection refused)`,
        'start Postgres there, or fix DATABASE_URL',
        { cause: error },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`cannot reach the database at ${where} (unknown host)`, 'fix the host in DATABASE_URL', {
        cause: error,
      });
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StartupError(
        `cannot reach the database at ${where} (no answer)`,
        'check that Postgres runs there and that the network lets this machine reach it, or fix DATABASE_URL',
        { cause: error },
      );
    case '28P01':
    case '28000':
      return new StartupError(
        `the database at ${where} refused the credentials in DATABASE_URL`,
        'fix the user name and password in DATABASE_URL',
        { cause: error },
      );
    case '3D000':
      return new StartupError(`the database ${where} does not exist`, 'create it (createdb) or fix DATABASE_URL', {
        cause: error,
      });
    default:
      return error;
  }
}
