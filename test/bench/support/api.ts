import { randomUUID } from 'node:crypto';
import type { ServerOptions } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';

export interface BenchApi {
  server: TestServer;
  /** Owner-key client: deployments and runs. */
  owner: OutpostClient;
  /** A worker key limited to pool `default`. */
  workerKey: string;
  /** A deployment on pool `default` whose code is never fetched: claims only need it to exist. */
  deploymentId: string;
  createRun(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real API (in this process, over HTTP on 127.0.0.1) on a fresh database cloned from the
 * migrated template, with one deployment to create runs of. The lease loop is off unless asked
 * for: a benchmark that leaves claimed runs PENDING must not see them crash and come back.
 * Responses are not checked against their contracts: that check is on by default only outside
 * production (tests and development), and the benchmarks measure the production configuration.
 */
export async function startBenchApi(overrides: Partial<ServerOptions> = {}): Promise<BenchApi> {
  const server = await startTestServer({ loops: false, validateResponses: false, ...overrides });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  try {
    const workerKey = await server.createKey('worker', ['default']);
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'bench-noop',
          name: 'default',
          source: `dir:///${randomUUID()}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
        },
      }),
    );
    return {
      server,
      owner,
      workerKey,
      deploymentId: deployment.id,
      createRun: async () =>
        unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun.id,
      close: async () => {
        await owner.close();
        await server.close();
      },
    };
  } catch (error) {
    await owner.close();
    await server.close();
    throw error;
  }
}

/**
 * A worker long-polling pool `default` for one run at a time, as a waiting worker does: each run it
 * claims arrives in `claimed`, keyed by run id, with the `performance.now()` its claim returned at.
 * `stop()` ends the poll and throws if a claim failed meanwhile.
 */
export function longPollingClaimer(baseUrl: string, workerKey: string): { claimed: Rendezvous<number>; stop(): Promise<void> } {
  const worker = new OutpostClient({ baseUrl, token: workerKey });
  const claimed = new Rendezvous<number>();
  const aborted = new AbortController();
  const workerId = randomUUID();
  const polling = (async () => {
    while (!aborted.signal.aborted) {
      const result = await worker.call(
        'claim',
        { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs: 10_000 } },
        { signal: aborted.signal },
      );
      const at = performance.now();
      if (!result.ok) {
        if (aborted.signal.aborted) return;
        throw new Error(`claim failed: ${JSON.stringify(result)}`);
      }
      for (const run of result.data.runs) claimed.arrive(run.flowRun.id, at);
    }
  })();
  // Kept until stop(), so a failed claim is not an unhandled rejection in between.
  const ended = polling.then(
    () => null,
    (error: unknown) => error,
  );
  return {
    claimed,
    stop: async () => {
      aborted.abort();
      const failure = await ended;
      await worker.close();
      if (failure) throw failure;
    },
  };
}

/** Pairs two events that may arrive in either order: a run created and the same run claimed. */
export class Rendezvous<T> {
  private readonly arrived = new Map<string, T>();
  private readonly waiting = new Map<string, (value: T) => void>();

  arrive(key: string, value: T): void {
    const waiter = this.waiting.get(key);
    if (waiter) {
      this.waiting.delete(key);
      waiter(value);
    } else this.arrived.set(key, value);
  }

  wait(key: string, timeoutMs: number): Promise<T> {
    const value = this.arrived.get(key);
    if (value !== undefined) {
      this.arrived.delete(key);
      return Promise.resolve(value);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`${key} did not arrive within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }
}
