import { type CallFailure, describeTlsFailure, failureCode, isAccessRefused } from '@outpost/sdk/client-core';
import { compareVersions, formatVersion, parseVersion } from '@outpost/sdk/contracts';
import { CliError, EXIT } from './cli-error.js';

// The error classes live apart from the API's failure translation so that what runs before a
// command is chosen (parsing, help, completion) loads no zod schema.
export { CliError, EXIT, type ExitCode, UsageError } from './cli-error.js';

/** Turns a failed API call into a CliError with the problem's title, detail and field paths. */
export function apiFailure(failure: CallFailure, what: string, apiUrl: string): CliError {
  switch (failure.kind) {
    case 'network_error':
      return networkFailure(failure.cause, failure.message, what, apiUrl);
    case 'invalid_response':
      return new CliError(`${what}: the API answered with an unexpected response (HTTP ${failure.status})`, EXIT.failed, [
        failure.message,
      ]);
    case 'http_error': {
      const problem = failure.problem;
      // The server no longer supports this CLI's version: its one line names the upgrade.
      if (failureCode(failure) === 'client_too_old') {
        return new CliError(
          problem?.detail ?? `this CLI is too old for the API at ${apiUrl}: upgrade it with \`npm install -g @outpost/cli\``,
          EXIT.unreachable,
        );
      }
      const title = problem?.title ?? `HTTP ${failure.status}`;
      const details: string[] = [];
      if (problem?.detail) details.push(problem.detail);
      for (const e of problem?.errors ?? []) details.push(`${e.path || '(body)'}: ${e.message}`);
      if (problem?.requestId) details.push(`request id: ${problem.requestId}`);
      if (failureCode(failure) === 'unauthenticated')
        details.push('check OUTPOST_API_KEY (or --api-key): the API did not accept it');
      const suffix = apiSuffix(apiUrl);
      if (failure.status === 404 && suffix)
        details.push(
          `the API URL ends in ${suffix}, and the CLI adds /api/v1 itself: drop the suffix (${apiUrl.slice(0, -suffix.length)})`,
        );
      return new CliError(`${what}: ${title}`, isAccessRefused(failure) ? EXIT.unreachable : EXIT.failed, details);
    }
  }
}

/**
 * One line for a failure that may come from a server older than this CLI: a route it does not have
 * (404 `not_found` naming no route) or a field it does not know (400 with "unknown field"). The
 * server's version is its `outpost-server-version`; a server without one predates 0.2.0. Null when
 * the server is not older, the failure is another, or the answer came from no Outpost server.
 */
export function olderServerNote(
  failure: CallFailure,
  serverVersion: string | null | undefined,
  cliVersion: string,
): string | null {
  if (failure.kind !== 'http_error' || !failure.problem || serverVersion === undefined) return null;
  const code = failureCode(failure);
  const unknownRoute = code === 'not_found' && /^no route /.test(failure.problem.detail ?? '');
  const unknownField = code === 'validation_failed' && (failure.problem.errors ?? []).some((e) => e.message === 'unknown field');
  if (!unknownRoute && !unknownField) return null;
  const cli = parseVersion(cliVersion);
  if (!cli) return null;
  const server = parseVersion(serverVersion);
  if (server && compareVersions(server, cli) >= 0) return null;
  const range = server ? `^${server.major}.${server.minor}` : '^0.1';
  return `note: the server runs Outpost ${server ? formatVersion(server) : 'older than 0.2.0'}, older than this CLI (${cliVersion}), and may not know this yet: upgrade the server, or use \`npm install -g @outpost/cli@${range}\``;
}

/** A call that reached no answer: a TLS refusal in one line with what to do, anything else with its own message. */
export function networkFailure(cause: unknown, message: string, what: string, apiUrl: string): CliError {
  const tls = describeTlsFailure(cause);
  if (tls) return new CliError(`${what}: ${tls.message}`, EXIT.unreachable, [tls.hint], { cause });
  return new CliError(`${what}: cannot reach the API at ${apiUrl}`, EXIT.unreachable, [innermostMessage(cause) ?? message], {
    cause,
  });
}

/**
 * `/api` (or `/api/v1`) at the end of an API URL, which users copy from the routes they see: the
 * CLI adds `/api/v1` itself, so the requests go to `/api/api/v1/…` and find no route.
 */
export function apiSuffix(apiUrl: string): string | null {
  let path: string;
  try {
    path = new URL(apiUrl).pathname.replace(/\/+$/, '');
  } catch {
    return null;
  }
  const suffix = /\/api(\/v1)?$/.exec(path)?.[0];
  return suffix ? apiUrl.slice(apiUrl.replace(/\/+$/, '').length - suffix.length) : null;
}

/** The message of the error at the end of `cause` chains: fetch says "fetch failed" and puts "connect ECONNREFUSED …" in its cause. */
function innermostMessage(error: unknown): string | null {
  let message: string | null = null;
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) message = e.message;
  return message;
}
