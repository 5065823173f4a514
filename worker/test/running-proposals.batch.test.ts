import type { TestServer } from '@outpost/api/testing';
import { type CallResult, OutpostClient, unwrap } from '@outpost/sdk/client';
import type { ClaimedRun, RouteName, StateProposalResponse } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunApi } from '../src/executors/run-api.js';
import { RunningProposals } from '../src/executors/running-proposals.js';
import { type RunApiServer, recording, startRunApiServer } from './support/run-api.js';

const logger = pino({ level: 'silent' });

describe('RUNNING proposals at hand-over', () => {
  let api: RunApiServer;
  let owner: OutpostClient;
  let server: TestServer;
  let workerKey: string;
  let deploymentId: string;

  beforeAll(async () => {
    api = await startRunApiServer('handed-over');
    ({ server, owner, workerKey, deploymentId } = api);
  });

  afterAll(async () => {
    await api?.close();
  });

  /** `count` runs created and claimed by a worker of the `default` pool, with the routes the worker's own client called. */
  async function claimedRuns(count: number): Promise<{ worker: OutpostClient; claimed: ClaimedRun[]; routes: RouteName[] }> {
    for (let i = 0; i < count; i++) unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
    const real = new OutpostClient({ baseUrl: server.url, token: workerKey });
    const routes: RouteName[] = [];
    const worker = recording(real, routes);
    const { runs } = unwrap(
      await real.call('claim', { params: { pool: 'default' }, body: { workerId: crypto.randomUUID(), limit: count } }),
    );
    expect(runs).toHaveLength(count);
    return { worker, claimed: runs, routes };
  }

  const apiFor = (worker: OutpostClient, run: ClaimedRun) =>
    new RunApi(worker, run.flowRun.id, run.flowRun.attempt, run.token, logger, new AbortController().signal);

  async function stateOf(id: string): Promise<string> {
    return unwrap(await owner.call('flowRunsGet', { params: { id } })).state.type;
  }

  it('proposes the runs handed over in one turn in one request for all', async () => {
    const { worker, claimed, routes } = await claimedRuns(6);
    const proposals = new RunningProposals(worker, 'default', logger);
    const answers: CallResult<StateProposalResponse>[] = await Promise.all(
      claimed.map((run) => proposals.propose(apiFor(worker, run), 30_000)),
    );
    for (const answer of answers) {
      expect(answer.ok && answer.data.status).toBe('ACCEPT');
      expect(answer.ok && answer.data.state.type).toBe('RUNNING');
    }
    expect(routes.filter((r) => r === 'poolRunsSetStates')).toHaveLength(1);
    expect(routes.filter((r) => r === 'flowRunsSetState')).toHaveLength(0);
    for (const run of claimed) expect(await stateOf(run.flowRun.id)).toBe('RUNNING');
  });

  it('proposes a lone run on its own with its token, and the runs handed over while it is out in one request', async () => {
    const { worker, claimed, routes } = await claimedRuns(4);
    const [lone, ...later] = claimed as [ClaimedRun, ...ClaimedRun[]];
    const proposals = new RunningProposals(worker, 'default', logger);
    const first = proposals.propose(apiFor(worker, lone), 30_000);
    // The next turn: the lone run's request has gone out on its own.
    await new Promise((resolve) => setImmediate(resolve));
    expect(routes).toEqual(['flowRunsSetState']);
    const rest = later.map((run) => proposals.propose(apiFor(worker, run), 30_000));
    for (const answer of await Promise.all([first, ...rest])) expect(answer.ok && answer.data.status).toBe('ACCEPT');
    expect(routes).toEqual(['flowRunsSetState', 'poolRunsSetStates']);
    for (const run of claimed) expect(await stateOf(run.flowRun.id)).toBe('RUNNING');
  });

  it('proposes each run on its own with the same transition when the batch is refused', async () => {
    const { worker, claimed, routes } = await claimedRuns(3);
    // A pool this key may not use: the batch comes back refused as a whole.
    const proposals = new RunningProposals(worker, 'no-such-pool', logger);
    const answers = await Promise.all(claimed.map((run) => proposals.propose(apiFor(worker, run), 30_000)));
    expect(routes.filter((r) => r === 'poolRunsSetStates')).toHaveLength(1);
    for (const answer of answers) expect(answer.ok && answer.data.status).toBe('ACCEPT');
    for (const run of claimed) {
      const { items } = unwrap(await owner.call('flowRunsStates', { params: { id: run.flowRun.id } }));
      // One RUNNING in the history however it got there.
      expect(items.filter((entry) => entry.state.type === 'RUNNING')).toHaveLength(1);
    }
  });

  it('answers a run whose batch was applied but whose answer was lost with the first answer, not a second RUNNING', async () => {
    const { worker, claimed } = await claimedRuns(2);
    const [first, second] = claimed as [ClaimedRun, ClaimedRun];
    const transitionId = crypto.randomUUID();
    const applied = unwrap(
      await worker.call('poolRunsSetStates', {
        params: { pool: 'default' },
        body: {
          items: [{ flowRunId: second.flowRun.id, transitionId, attempt: second.flowRun.attempt, state: { type: 'RUNNING' } }],
        },
      }),
    );
    const replayed = await apiFor(worker, second).proposeState({ type: 'RUNNING' }, 30_000, transitionId);
    expect(replayed.ok && replayed.data).toEqual(applied.items[0]?.answer);
    const { items } = unwrap(await owner.call('flowRunsStates', { params: { id: second.flowRun.id } }));
    expect(items.filter((entry) => entry.state.type === 'RUNNING')).toHaveLength(1);
    expect(await stateOf(first.flowRun.id)).toBe('PENDING');
  });
});
