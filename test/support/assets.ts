import { randomUUID } from 'node:crypto';
import { assetCheckEvent } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type {
  AssetDefinitionInput,
  AssetEvent,
  AssetMaterializeRequest,
  AssetMaterializeResponse,
  JsonObject,
} from '@outpost/sdk/contracts';

export interface PlayOptions {
  /** End the run FAILED. */
  failed?: boolean;
  /** Also record the task runs a worker would: one per materialisation or failure reported. */
  taskRuns?: boolean;
}

/**
 * Asset history made through the real API, the way a worker makes it: a deployment of the `assets`
 * flow registers the graph; `assetsMaterialize` creates a run; a worker key claims it, a run token
 * moves it to RUNNING, reports materialisations, failures and check results
 * (`POST /flow-runs/:id/asset-events`), and ends it. The pool is one no real worker polls, so every
 * run waits for this seeder to claim it.
 */
export class AssetSeeder {
  private readonly codeVersions = new Map<string, string>();

  private constructor(
    readonly baseUrl: string,
    readonly owner: OutpostClient,
    readonly pool: string,
    private readonly worker: OutpostClient,
  ) {}

  static async create(
    server: { url: string; createKey(role: 'worker', pools: string[]): Promise<string> },
    owner: OutpostClient,
    pool = `assets-${randomUUID().slice(0, 8)}`,
  ): Promise<AssetSeeder> {
    unwrap(await owner.call('poolsCreate', { body: { name: pool } }));
    const worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker', [pool]) });
    return new AssetSeeder(server.url, owner, pool, worker);
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  /** Registers (or replaces) the graph of deployment `assets/<name>`. */
  async deploy(assets: AssetDefinitionInput[], name = 'warehouse'): Promise<string> {
    for (const a of assets) this.codeVersions.set(a.key, a.codeVersion);
    const { deployment } = unwrap(
      await this.owner.call('deploymentsUpsert', {
        body: {
          flowName: 'assets',
          name,
          source: `oci://127.0.0.1:5000/acme/assets@sha256:${'a'.repeat(64)}`,
          entrypoint: 'assets.js',
          workPool: this.pool,
          assets,
        },
      }),
    );
    return deployment.id;
  }

  materialization(assetKey: string, partitionKey: string | null, metadata: JsonObject = { rows: 10 }): AssetEvent {
    return {
      kind: 'materialization',
      id: randomUUID(),
      assetKey,
      partitionKey,
      codeVersion: this.codeVersions.get(assetKey) ?? 'v1',
      dataVersion: `sha256:${randomUUID().replaceAll('-', '')}`,
      metadata,
      durationMs: 1200,
    };
  }

  failure(assetKey: string, partitionKey: string | null, message = 'source unavailable'): AssetEvent {
    return { kind: 'failure', id: randomUUID(), assetKey, partitionKey, message };
  }

  check(
    assetKey: string,
    checkName: string,
    partitionKey: string | null,
    passed: boolean,
    metadata: JsonObject = {},
  ): AssetEvent {
    return assetCheckEvent(assetKey, checkName, passed, partitionKey, { metadata });
  }

  /**
   * Plays the worker for run `runId`: claims it (it must be the pool's next run), starts it,
   * reports `events(assets, partition)` and ends it COMPLETED, or FAILED when `failed`.
   */
  async play(
    runId: string,
    events: (assets: string[], partition: string | null) => AssetEvent[],
    options: PlayOptions = {},
  ): Promise<void> {
    const { runs } = unwrap(
      await this.worker.call('claim', { params: { pool: this.pool }, body: { workerId: randomUUID(), limit: 1 } }),
    );
    const claimed = runs[0];
    if (!claimed || claimed.flowRun.id !== runId) {
      throw new Error(`expected to claim run ${runId}, got ${claimed?.flowRun.id ?? 'nothing'}`);
    }
    const run = new OutpostClient({ baseUrl: this.baseUrl, token: claimed.token });
    try {
      const state = (type: 'RUNNING' | 'COMPLETED' | 'FAILED') =>
        run.call('flowRunsSetState', {
          params: { id: runId },
          body: { transitionId: randomUUID(), state: { type, ...(type === 'FAILED' ? { message: 'asset failed' } : {}) } },
        });
      const running = unwrap(await state('RUNNING'));
      if (running.status !== 'ACCEPT') throw new Error(`run ${runId} was not started: ${running.status}`);
      const parameters = claimed.flowRun.parameters as { assets?: string[] };
      const list = events(parameters.assets ?? [], claimed.flowRun.partitionKey ?? null);
      if (options.taskRuns) await this.recordTaskRuns(run, runId, claimed.flowRun.attempt, list);
      if (list.length > 0) {
        unwrap(
          await run.call('assetEventsReport', {
            params: { id: runId },
            body: { attempt: claimed.flowRun.attempt, events: list },
          }),
        );
      }
      unwrap(await state(options.failed ? 'FAILED' : 'COMPLETED'));
    } finally {
      await run.close();
    }
  }

  /**
   * One finished task run per materialisation or failure in `events`, named as the SDK names an
   * asset's task run (`key`, or `key [partition]`): COMPLETED for a materialisation, FAILED for a failure.
   */
  private async recordTaskRuns(run: OutpostClient, runId: string, attempt: number, list: AssetEvent[]): Promise<void> {
    for (const e of list) {
      if (e.kind !== 'materialization' && e.kind !== 'failure') continue;
      const name = e.partitionKey ? `${e.assetKey} [${e.partitionKey}]` : e.assetKey;
      const id = randomUUID();
      unwrap(
        await run.call('taskRunsCreate', {
          params: { id: runId },
          body: {
            id,
            flowRunAttempt: attempt,
            name,
            taskKey: e.assetKey,
            dynamicKey: e.partitionKey ?? '',
            state: { type: 'RUNNING' },
          },
        }),
      );
      unwrap(
        await run.call('taskRunsSetState', {
          params: { runId, id },
          body: {
            flowRunAttempt: attempt,
            state: e.kind === 'failure' ? { type: 'FAILED', message: e.message } : { type: 'COMPLETED' },
          },
        }),
      );
    }
  }

  /** Materialises through the API and the worker's path; every selected asset succeeds unless `events` says otherwise. */
  async materialize(
    request: AssetMaterializeRequest,
    events?: (assets: string[], partition: string | null) => AssetEvent[],
    options: PlayOptions = {},
  ): Promise<AssetMaterializeResponse> {
    const answer = unwrap(await this.owner.call('assetsMaterialize', { body: request }));
    if (!answer.flowRunId) throw new Error('expected one run, got a backfill');
    await this.play(answer.flowRunId, events ?? ((assets, p) => assets.map((k) => this.materialization(k, p))), options);
    return answer;
  }
}
