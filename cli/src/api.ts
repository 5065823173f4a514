import { type CallInput, type CallOutput, type CallResult, OutpostClient } from '@outpost/sdk/client';
import type { RouteName } from '@outpost/sdk/contracts';
import { apiFailure, CliError, EXIT } from './errors.js';
import type { ApiSettings } from './settings.js';

/** The CLI's view of the API: each call either returns its data or throws a CliError with an exit code. */
export class Api {
  readonly url: string;
  readonly client: OutpostClient;
  readonly #key: string;

  constructor(settings: ApiSettings, client?: OutpostClient) {
    this.url = settings.apiUrl;
    this.#key = settings.apiKey;
    this.client = client ?? new OutpostClient({ baseUrl: settings.apiUrl, token: settings.apiKey, userAgent: 'outpost-cli' });
  }

  /** `what` names the operation in an error message, e.g. "cannot list runs". */
  async call<N extends RouteName>(name: N, input: CallInput<N>, what: string): Promise<CallOutput<N>> {
    const result = await this.client.call(name, input);
    if (!result.ok) throw apiFailure(result, what, this.url);
    return result.data;
  }

  /** The raw result, for callers that treat some failures (a 404, say) as an answer. */
  attempt<N extends RouteName>(name: N, input: CallInput<N>): Promise<CallResult<CallOutput<N>>> {
    return this.client.call(name, input);
  }

  /**
   * A Server-Sent Events route opened with the key (the typed client answers one JSON body per
   * call); `what` names it in errors. The caller reads the body and aborts `signal` to stop.
   */
  async openStream(path: string, what: string, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1${path}`, {
        headers: { authorization: `Bearer ${this.#key}`, accept: 'text/event-stream', 'user-agent': 'outpost-cli' },
        signal,
      });
    } catch (error) {
      throw new CliError(`${what}: cannot reach the API at ${this.url}`, EXIT.unreachable, [(error as Error).message]);
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

  close(): Promise<void> {
    return this.client.close();
  }
}
