import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestServer, TestWorkspace } from '../src/testing/index.js';
import { type Call, client, type Reply, SOURCE } from './helpers.js';

/** A workspace of its own with a pool and a worker key: each test's assets are keyed alone. */
export interface AssetWorld {
  ws: TestWorkspace;
  owner: Call;
  worker: Call;
  pool: string;
}

export async function assetWorld(server: TestServer): Promise<AssetWorld> {
  const ws = await server.createWorkspace();
  const owner = client(server, ws.ownerKey);
  const pool = `assets-${randomUUID().slice(0, 8)}`;
  const created = await owner('POST', '/work-pools', { body: { name: pool } });
  expect(created.status, created.text).toBe(201);
  return { ws, owner, worker: client(server, await ws.createKey('worker')), pool };
}

/** An asset input with a code version of its own unless given. */
export function asset(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, codeVersion: `v1-${key}`, ...extra };
}

export function deployAssets(
  world: AssetWorld,
  assets: Record<string, unknown>[],
  options: { name?: string; flowName?: string; retries?: number } = {},
): Promise<Reply> {
  return world.owner('PUT', '/deployments', {
    body: {
      flowName: options.flowName ?? 'assets',
      name: options.name ?? 'warehouse',
      source: SOURCE,
      entrypoint: 'assets.js',
      workPool: world.pool,
      assets,
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
    },
  });
}

export async function deployed(
  world: AssetWorld,
  assets: Record<string, unknown>[],
  options: { name?: string; retries?: number } = {},
) {
  const res = await deployAssets(world, assets, options);
  expect(res.status, res.text).toBe(200);
  return res.body.deployment as { id: string };
}

export interface HeldAssetRun {
  id: string;
  token: string;
  attempt: number;
  as: Call;
  claimed: Reply['body'];
}

/** Claims `runId` (with whatever else of the pool is due) with the world's worker key, and starts it. */
export async function start(server: TestServer, world: AssetWorld, runId: string): Promise<HeldAssetRun> {
  const res = await world.worker('POST', `/work-pools/${world.pool}/claim`, { body: { workerId: randomUUID(), limit: 50 } });
  expect(res.status, res.text).toBe(200);
  const claimed = res.body.runs.find((r: { flowRun: { id: string } }) => r.flowRun.id === runId);
  expect(claimed, 'the run is claimed').toBeDefined();
  const as = client(server, claimed.token);
  const running = await as('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  expect(running.body.status, running.text).toBe('ACCEPT');
  return { id: runId, token: claimed.token, attempt: claimed.flowRun.attempt, as, claimed };
}

export async function finish(run: HeldAssetRun, type: 'COMPLETED' | 'FAILED' = 'COMPLETED'): Promise<Reply> {
  const res = await run.as('POST', `/flow-runs/${run.id}/set-state`, {
    body: { transitionId: randomUUID(), state: { type, ...(type === 'FAILED' ? { message: 'boom' } : {}) } },
  });
  expect(res.status, res.text).toBe(200);
  return res;
}

export function materialization(assetKey: string, partitionKey: string | null = null, extra: Record<string, unknown> = {}) {
  return {
    kind: 'materialization',
    id: randomUUID(),
    assetKey,
    partitionKey,
    codeVersion: `v1-${assetKey}`,
    dataVersion: `data-${randomUUID().slice(0, 8)}`,
    metadata: { rows: 10 },
    durationMs: 12,
    ...extra,
  };
}

/** A check's result as a run reports it (the same builder as the end-to-end suites'). */
export { assetCheckEvent as checkResult } from '../src/testing/asset-events.js';

export function report(run: HeldAssetRun, events: unknown[], attempt = run.attempt): Promise<Reply> {
  return run.as('POST', `/flow-runs/${run.id}/asset-events`, { body: { attempt, events } });
}

export async function materialize(world: AssetWorld, body: Record<string, unknown>): Promise<Reply> {
  return world.owner('POST', '/assets/materialize', { body });
}

/**
 * Materialises through the whole path a worker takes: the route makes the run, the worker claims
 * and starts it, the run reports `events(assets)` (every selected asset by default) and completes.
 */
export async function materializeAll(
  server: TestServer,
  world: AssetWorld,
  body: Record<string, unknown>,
  events?: (assets: string[], partition: string | null) => unknown[],
): Promise<{ run: HeldAssetRun; assets: string[] }> {
  const res = await materialize(world, body);
  expect(res.status, res.text).toBe(201);
  const run = await start(server, world, res.body.flowRunId);
  const partition = (run.claimed.flowRun.partitionKey as string | null) ?? null;
  const list = events ? events(res.body.assets, partition) : res.body.assets.map((k: string) => materialization(k, partition));
  const reported = await report(run, list);
  expect(reported.status, reported.text).toBe(200);
  await finish(run);
  return { run, assets: res.body.assets };
}

export async function getAsset(world: AssetWorld, key: string): Promise<Reply['body']> {
  const res = await world.owner('GET', `/assets/detail?key=${encodeURIComponent(key)}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

export function paths(res: Reply): string[] {
  return (res.body?.errors ?? []).map((e: { path: string }) => e.path);
}
