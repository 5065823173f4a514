import { type CallInput, type CallOutput, type CallResult, OutpostClient } from '@outpost/sdk/client';
import type { RouteName } from '@outpost/sdk/contracts';
import { apiFailure } from './errors.js';
import type { ApiSettings } from './settings.js';

/** The CLI's view of the API: each call either returns its data or throws a CliError with an exit code. */
export class Api {
  readonly url: string;
  readonly client: OutpostClient;

  constructor(settings: ApiSettings, client?: OutpostClient) {
    this.url = settings.apiUrl;
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

  /** Where the dashboard shows a run: its hash route under the API's origin, which serves the dashboard. */
  runUrl(runId: string): string {
    return `${new URL(this.url).origin}/#/runs/${runId}`;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
