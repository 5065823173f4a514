import { randomUUID } from 'node:crypto';
import type { CallResult, OutpostClient } from '@outpost/sdk/client';
import { MAX_BATCH_RUNS, type StateProposalResponse } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import type { RunApi } from './run-api.js';

/** A RUNNING proposal waiting for the request in flight to come back. */
interface Queued {
  api: RunApi;
  transitionId: string;
  deadlineMs: number;
  resolve: (answer: Promise<CallResult<StateProposalResponse>>) => void;
}

/**
 * The RUNNING proposals a worker makes as it hands runs over (RunReport.proposeRunningEarly), one
 * request at a time: a run handed over while none is in flight is proposed at the end of the event
 * loop's turn, on its own with the run's token when it is the only one, together with the others
 * handed over in the same turn when not; runs handed over while one is in flight wait for it, and then
 * go together in one `POST /work-pools/:pool/runs/set-states` with the worker's key. A burst (a
 * claim of many runs, a thousand schedules due in one second) thus costs a few requests and
 * transactions instead of one per run, while a lone run waits for nothing but the end of its turn.
 *
 * The batch is only a shortcut. A run whose item comes back with an error, or whose batch fails as
 * a whole, is proposed again on its own with the same transition id: the API answers a repeated
 * transition with its first answer, so a batch that was applied but whose answer was lost changes
 * nothing twice, and an older server without the route still gets every proposal.
 */
export class RunningProposals {
  readonly #queue: Queued[] = [];
  #inFlight = false;

  constructor(
    private readonly client: OutpostClient,
    private readonly pool: string,
    private readonly logger: Logger,
  ) {}

  propose(api: RunApi, deadlineMs: number): Promise<CallResult<StateProposalResponse>> {
    const transitionId = randomUUID();
    const queued = new Promise<CallResult<StateProposalResponse>>((resolve) =>
      this.#queue.push({ api, transitionId, deadlineMs, resolve }),
    );
    if (!this.#inFlight) {
      // Sent once the runs handed over in this turn of the event loop are in (a claim's runs, the
      // prefetched runs due at one moment): together if there are several, on its own if not.
      this.#inFlight = true;
      setImmediate(this.#next);
    }
    return queued;
  }

  /** Sends what queued meanwhile, then whatever queues while that is out, until nothing waits. */
  readonly #next = (): void => {
    const taken = this.#queue.splice(0, MAX_BATCH_RUNS);
    if (taken.length === 0) {
      this.#inFlight = false;
      return;
    }
    const sent = taken.length === 1 ? answerAlone(taken[0] as Queued) : this.#together(taken);
    sent.then(this.#next, this.#next);
  };

  async #together(batch: Queued[]): Promise<unknown> {
    // A client call answers failures rather than throwing; were it to throw, every run goes on its own.
    const result = await this.client
      .call('poolRunsSetStates', {
        params: { pool: this.pool },
        body: {
          items: batch.map((q) => ({
            flowRunId: q.api.runId,
            transitionId: q.transitionId,
            attempt: q.api.attempt,
            state: { type: 'RUNNING' as const },
          })),
        },
      })
      .catch(() => null);
    const answers = new Map(result?.ok ? result.data.items.map((item) => [item.flowRunId, item.answer]) : []);
    if (!result?.ok)
      this.logger.debug({ runs: batch.length, status: result?.kind ?? 'thrown' }, 'RUNNING proposals of a batch go one by one');
    // Each run on its own where the batch gave no answer; those requests go side by side, as they did before batching.
    return Promise.allSettled(
      batch.map((q) => {
        const answer = answers.get(q.api.runId);
        if (!answer) return answerAlone(q);
        q.resolve(Promise.resolve({ ok: true, status: 200, data: answer }));
        return null;
      }),
    );
  }
}

/** One run's RUNNING, on its own with its token: the path every run took before batching, and the fallback. */
function alone(api: RunApi, deadlineMs: number, transitionId: string): Promise<CallResult<StateProposalResponse>> {
  return api.proposeState({ type: 'RUNNING' }, deadlineMs, transitionId);
}

/** A queued run proposed on its own; its caller gets the answer, or the failure, as it comes. */
function answerAlone(queued: Queued): Promise<CallResult<StateProposalResponse>> {
  const answer = alone(queued.api, queued.deadlineMs, queued.transitionId);
  queued.resolve(answer);
  return answer;
}
