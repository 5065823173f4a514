import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { type CallInput, OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Deployment, DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import { afterAll, beforeAll } from 'vitest';
import { type CliResult, outpostOn } from './cli.support.js';

/** A test API started for one test file, with a client holding its owner key. */
export interface TestApi {
  readonly server: TestServer;
  readonly owner: OutpostClient;
  /** `outpost <args>` against the API as its owner. */
  outpost(...args: string[]): Promise<CliResult>;
}

/**
 * Starts a test API (without its background loops unless `options` ask for them) and an owner
 * client before the file's tests, runs `seed` against them, and closes both after the tests.
 */
export function useTestApi(
  seed?: (api: TestApi) => Promise<void>,
  options: Parameters<typeof startTestServer>[0] = { loops: false },
): TestApi {
  let server: TestServer | undefined;
  let owner: OutpostClient | undefined;
  const api: TestApi = {
    get server() {
      if (!server) throw new Error('the test API is not started yet: use it inside a test or hook');
      return server;
    },
    get owner() {
      if (!owner) throw new Error('the test API is not started yet: use it inside a test or hook');
      return owner;
    },
    outpost: (...args) => outpostOn(api.server, args),
  };
  beforeAll(async () => {
    server = await startTestServer(options);
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    await seed?.(api);
  }, 120_000);
  afterAll(async () => {
    await owner?.close();
    await server?.close();
  });
  return api;
}

/**
 * Registers a deployment whose code is a fresh local directory (`dir:///<uuid>`, entrypoint
 * `flow.mjs`, pool `default`); `body` names it and adds or overrides fields.
 */
export async function deployFromDir(
  owner: OutpostClient,
  body: Pick<DeploymentUpsertRequest, 'flowName' | 'name'> & Partial<DeploymentUpsertRequest>,
): Promise<Deployment> {
  const { deployment } = unwrap(
    await owner.call('deploymentsUpsert', {
      body: { source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default', ...body },
    }),
  );
  return deployment;
}

/**
 * One run of the assets flow the way a worker makes it: `owner` asks to materialise `body`, `worker`
 * claims the run from pool `default`, and the run starts, reports `events` and ends as `end` says
 * (completed unless told). Returns the run's id.
 */
export async function materializeThrough(
  server: Pick<TestServer, 'url'>,
  owner: OutpostClient,
  worker: OutpostClient,
  body: Record<string, unknown>,
  events: unknown[],
  end: { type: 'COMPLETED' | 'FAILED'; message?: string } = { type: 'COMPLETED' },
): Promise<string> {
  const made = unwrap(await owner.call('assetsMaterialize', { body: body as never }));
  const runId = made.flowRunId as string;
  const { runs } = unwrap(
    await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 5 } }),
  );
  const claimed = runs.find((r) => r.flowRun.id === runId);
  if (!claimed) throw new Error('the materialise run was not claimed');
  const asRun = new OutpostClient({ baseUrl: server.url, token: claimed.token });
  try {
    const state = (state: { type: 'RUNNING' | 'COMPLETED' | 'FAILED'; message?: string }) =>
      asRun.call('flowRunsSetState', { params: { id: runId }, body: { transitionId: randomUUID(), state } });
    unwrap(await state({ type: 'RUNNING' }));
    unwrap(
      await asRun.call('assetEventsReport', {
        params: { id: runId },
        body: { attempt: claimed.flowRun.attempt, events: events as never },
      }),
    );
    unwrap(await state(end));
  } finally {
    await asRun.close();
  }
  return runId;
}

/**
 * Registers deployment `name` of the assets flow (entrypoint `assets.js`, pool `default`) with its
 * asset graph, the way `outpost deploy` registers it.
 */
export async function deployAssets(
  owner: OutpostClient,
  name: string,
  source: string,
  assets: NonNullable<CallInput<'deploymentsUpsert'>['body']['assets']>,
): Promise<void> {
  unwrap(
    await owner.call('deploymentsUpsert', {
      body: { flowName: 'assets', name, source, entrypoint: 'assets.js', workPool: 'default', assets },
    }),
  );
}
