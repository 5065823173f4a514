import {
  type CallFailure,
  type CallInput,
  type CallOutput,
  type CallResult,
  ClientCore,
  type Transport,
} from '@outpost/sdk/client-core';
import { CSRF_COOKIE, CSRF_HEADER, type RouteName, SESSION_COOKIE } from '@outpost/sdk/contracts';
import { CLI_IDENTITY } from './api.js';
import { type CommandContext, stringOption } from './command.js';
import { apiFailure, CliError, networkFailure, UsageError } from './errors.js';
import { resolveApiUrl } from './settings.js';

/*
 * Organisation routes act for a person signed in with their password, from a session in one of the
 * organisation's workspaces (docs/organisations.md, "What acts on an organisation"): an API key
 * belongs to one workspace and has no person, so it cannot carry an organisation role. The commands
 * that manage an organisation therefore sign in as the person (OUTPOST_EMAIL, OUTPOST_PASSWORD), move
 * the session into the organisation when it opened elsewhere, act, and sign out again, so no session
 * outlives the command.
 */

/** How long one call may take before it fails as a network error, as for API-key calls. */
const REQUEST_TIMEOUT_MS = 30_000;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The session's two cookies, taken from each answer's Set-Cookie as a browser would. */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(setCookie: string): void {
    const [pair = '', ...attributes] = setCookie.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    if (name !== SESSION_COOKIE && name !== CSRF_COOKIE) return;
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
    if (expired || value === '') this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }

  get signedIn(): boolean {
    return this.#cookies.has(SESSION_COOKIE);
  }

  headers(method: string): Record<string, string> {
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const csrf = this.#cookies.get(CSRF_COOKIE);
    return {
      ...(cookie ? { cookie } : {}),
      ...(MUTATING.has(method) && csrf ? { [CSRF_HEADER]: csrf } : {}),
    };
  }
}

/** The API as one signed-in person reaches it; `close()` signs out. */
export class PersonApi {
  readonly url: string;
  readonly #jar = new CookieJar();
  readonly #client: ClientCore;

  constructor(url: string) {
    this.url = url;
    const jar = this.#jar;
    const transport: Transport = async (request) => {
      const res = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal,
        // Never resent elsewhere: a redirected sign-in would carry the password to the redirect's host.
        redirect: 'manual',
      });
      for (const line of res.headers.getSetCookie()) jar.take(line);
      const text = await res.text();
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text };
    };
    this.#client = new ClientCore({
      baseUrl: url,
      transport,
      requestHeaders: (method) => jar.headers(method),
      timeoutMs: REQUEST_TIMEOUT_MS,
      identity: CLI_IDENTITY,
    });
  }

  attempt<N extends RouteName>(name: N, input: CallInput<N>): Promise<CallResult<CallOutput<N>>> {
    return this.#client.call(name, input);
  }

  /** `what` names the operation in an error message, e.g. "cannot list the groups". */
  async call<N extends RouteName>(name: N, input: CallInput<N>, what: string): Promise<CallOutput<N>> {
    const result = await this.#client.call(name, input);
    if (!result.ok) throw personFailure(result, what, this.url);
    return result.data;
  }

  /** Ends the session; a failure to is not the command's failure (the session ends on its own). */
  async close(): Promise<void> {
    if (this.#jar.signedIn) await this.#client.call('authSessionDelete', {}).catch(() => undefined);
  }
}

/**
 * A failed call as one line and its details, with `unauthenticated` as the hint to a 401 in place of
 * the API key's (which this caller does not use).
 */
function personFailure(
  failure: CallFailure,
  what: string,
  url: string,
  unauthenticated = 'the session ended: run the command again',
): CliError {
  if (failure.kind === 'network_error') return networkFailure(failure.cause, failure.message, what, url);
  const error = apiFailure(failure, what, url);
  const details = error.details.filter((line) => !line.includes('OUTPOST_API_KEY'));
  if (failure.kind === 'http_error' && failure.status === 401) details.push(unauthenticated);
  return new CliError(error.message, error.exitCode, details);
}

/**
 * Signs in as the person named by OUTPOST_EMAIL and OUTPOST_PASSWORD with a session in a workspace of
 * organisation `org` (`--workspace` names which, when the person can open several), runs `act` with
 * it, and signs out whatever happens.
 */
export async function asPerson<T>(ctx: CommandContext, org: string, act: (api: PersonApi) => Promise<T>): Promise<T> {
  const email = ctx.env.OUTPOST_EMAIL?.trim();
  const password = ctx.env.OUTPOST_PASSWORD;
  if (!email || !password) {
    throw new UsageError('no person to sign in as: set OUTPOST_EMAIL and OUTPOST_PASSWORD', [
      'organisation commands act for a person signed in with their password; an API key belongs to one workspace and has no person',
    ]);
  }
  const api = new PersonApi(resolveApiUrl(stringOption(ctx.values, 'api-url'), ctx.env));
  try {
    await signIn(api, { email, password }, org, stringOption(ctx.values, 'workspace'));
    return await act(api);
  } finally {
    await api.close();
  }
}

async function signIn(
  api: PersonApi,
  credentials: { email: string; password: string },
  org: string,
  workspace: string | undefined,
): Promise<void> {
  const what = `cannot sign in as ${credentials.email}`;
  let opened = await api.attempt('authPasswordSignIn', { body: { ...credentials, ...(workspace ? { workspace } : {}) } });
  // A person who can open several workspaces names one; a workspace named like its organisation is
  // the usual one (every organisation from before organisations has one), so that is tried first.
  const several = !opened.ok && opened.kind === 'http_error' && opened.problem?.errors?.some((e) => e.path === 'body.workspace');
  if (several && workspace === undefined) {
    opened = await api.attempt('authPasswordSignIn', { body: { ...credentials, workspace: org } });
    if (!opened.ok && opened.kind === 'http_error' && opened.status === 403) {
      throw new UsageError(`${what}: you can open several workspaces; name one of "${org}" with --workspace <slug>`);
    }
  }
  if (!opened.ok) throw personFailure(opened, what, api.url, 'check OUTPOST_EMAIL and OUTPOST_PASSWORD');
  if (opened.data.organisation === undefined || opened.data.organisation.slug === org) return;
  // The session opened in another organisation's workspace: an organisation is acted on from one of
  // its own, so the session moves to the first of its workspaces the person can open.
  const mine = await api.call('organisationsList', {}, what);
  const target = mine.items.find((o) => o.slug === org)?.workspaces.find((w) => w.archivedAt === null);
  // An organisation the person is not in is left to the route to answer, as for a missing one.
  if (!target) return;
  await api.call('authSessionSwitch', { body: { workspace: target.slug } }, `${what} in a workspace of "${org}"`);
}
