import {
  type CallFailure,
  type CallInput,
  type CallOutput,
  type CallResult,
  ClientCore,
  type ClientIdentity,
  fetchTransport,
  identityHeaders,
} from '@outpost/sdk/client-core';
import type { RouteName } from '@outpost/sdk/contracts';
import { apiFailure, CliError, EXIT, networkFailure, olderServerNote } from './errors.js';
import { cliVersion } from './packages.js';
import type { ApiSettings } from './settings.js';

/** How the CLI names itself to the API: `outpost-version` and `outpost-cli/<version>` (docs/versions.md). */
export const CLI_IDENTITY: ClientIdentity = { name: 'cli', version: cliVersion() };

/** How long one call may take before it fails as a network error. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The CLI's view of the API: each call either returns its data or throws a CliError with an exit code. */
export class Api {
  readonly url: string;
  readonly client: ClientCore;
  readonly #key: string;
  /** The `outpost-server-version` of the last answer: undefined before one, null when it carried none. */
  #serverVersion: string | null | undefined;

  constructor(settings: ApiSettings) {
    this.url = settings.apiUrl;
    this.#key = settings.apiKey;
    // Node's own fetch rather than the SDK's undici client: a command makes a few calls, and
    // importing undici would add about 90 ms to every start.
    const headers = { authorization: `Bearer ${settings.apiKey}` };
    this.client = new ClientCore({
      baseUrl: settings.apiUrl,
      transport: fetchTransport(),
      requestHeaders: () => headers,
      timeoutMs: REQUEST_TIMEOUT_MS,
      identity: CLI_IDENTITY,
      onServerVersion: (version) => {
        this.#serverVersion = version;
      },
    });
  }

  /** `what` names the operation in an error message, e.g. "cannot list runs". */
  async call<N extends RouteName>(name: N, input: CallInput<N>, what: string): Promise<CallOutput<N>> {
    const result = await this.client.call(name, input);
    if (!result.ok) throw this.failure(result, what);
    return result.data;
  }

  /**
   * A failed call as the CLI reports it; when the server is older than this CLI and the failure is
   * one an older server gives to what it does not know (no such route, an unknown field), one more
   * line says so.
   */
  failure(result: CallFailure, what: string): CliError {
    const error = apiFailure(result, what, this.url);
    const note = olderServerNote(result, this.#serverVersion, CLI_IDENTITY.version);
    return note ? new CliError(error.message, error.exitCode, [...error.details, note], { cause: error.cause }) : error;
  }

  /** The raw result, for callers that treat some failures (a 404, say) as an answer. */
  attempt<N extends RouteName>(name: N, input: CallInput<N>): Promise<CallResult<CallOutput<N>>> {
    return this.client.call(name, input);
  }

  /**
   * A Server-Sent Events, NDJSON or CSV route opened with the key (the typed client answers one JSON body per
   * call); `what` names it in errors. The caller reads the body and aborts `signal` to stop.
   */
  async openStream(
    path: string,
    what: string,
    signal: AbortSignal,
    accept: 'text/event-stream' | 'application/x-ndjson' | 'text/csv' = 'text/event-stream',
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1${path}`, {
        headers: { authorization: `Bearer ${this.#key}`, accept, ...identityHeaders(CLI_IDENTITY) },
        signal,
      });
    } catch (error) {
      throw networkFailure(error, (error as Error).message, what, this.url);
    }
    if (!res.ok) {
      const text = await res.text();
      let detail = text;
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
      } catch {}
      throw new CliError(
        `${what}: ${res.status} ${detail}`,
        res.status === 401 || res.status === 403 ? EXIT.unreachable : EXIT.failed,
      );
    }
    return res;
  }

  /** Where the dashboard shows a run: its hash route under the API's origin, which serves the dashboard. */
  runUrl(runId: string): string {
    return `${new URL(this.url).origin}/#/runs/${runId}`;
  }

  /** Where the dashboard shows a deployment: its page lists its runs and its backfills with their progress. */
  deploymentUrl(deploymentId: string): string {
    return `${new URL(this.url).origin}/#/deployments/${encodeURIComponent(deploymentId)}`;
  }

  /** Nothing to release: fetch's idle connections do not keep the process alive. */
  async close(): Promise<void> {}
}
