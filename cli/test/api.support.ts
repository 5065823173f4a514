import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
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
