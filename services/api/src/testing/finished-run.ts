import { randomUUID } from 'node:crypto';
import { type CallInput, OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import type { TestServer } from './index.js';

type Body<N extends Parameters<OutpostClient['call']>[0]> = CallInput<N> extends { body: infer B } ? B : never;

/** What `seedFinishedRun` makes. The deployment is `train/gpu` in the `default` pool. */
export interface FinishedRunPlan {
  /** The worker that claims the run, and the GPU devices (ids 0, 1, …) it advertises. */
  worker: { name: string; gpus: number; gpuModel: string; memoryGb: number; cpus: number };
  /** The deployment's fields besides its names, pool and the first entrypoint. */
  deployment: Omit<Body<'deploymentsUpsert'>, 'flowName' | 'name' | 'workPool' | 'entrypoint'>;
  run: Body<'deploymentsCreateRun'>;
  /** Where the worker says the attempt ran. */
  environment: Body<'flowRunsReportEnvironment'>;
  /** Deployed again after the run with this entrypoint (and these fields), as happens before someone reproduces it. */
  redeploy: { entrypoint: string } & Partial<FinishedRunPlan['deployment']>;
}

/**
 * A run of a GPU deployment, claimed by a worker that advertised its devices, which reports where the
 * attempt runs and finishes it COMPLETED; then the deployment is redeployed, so the run's manifest and
 * the deployment's current version differ. Returns the run as created.
 */
export async function seedFinishedRun(server: TestServer, owner: OutpostClient, plan: FinishedRunPlan): Promise<FlowRun> {
  const worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker', ['default']) });
  let asRun: OutpostClient | null = null;
  try {
    const workerId = randomUUID();
    const { gpus, gpuModel, memoryGb, cpus } = plan.worker;
    unwrap(
      await worker.call('workersHeartbeat', {
        params: { pool: 'default' },
        body: {
          workerId,
          name: plan.worker.name,
          capacity: gpus,
          runs: [],
          resources: {
            gpus: Array.from({ length: gpus }, (_, id) => ({ id: String(id), model: gpuModel, memoryMb: 81_920 })),
            memoryGb,
            cpus,
          },
        },
      }),
    );
    const deploy = (fields: FinishedRunPlan['redeploy']) =>
      owner.call('deploymentsUpsert', {
        body: { flowName: 'train', name: 'gpu', workPool: 'default', ...plan.deployment, ...fields },
      });
    const { deployment } = unwrap(await deploy({ entrypoint: 'flows/train.js' }));
    const run = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: plan.run })).flowRun;
    const [claimed] = unwrap(await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 1 } })).runs;
    if (!claimed) throw new Error('the run was not claimed');
    asRun = new OutpostClient({ baseUrl: server.url, token: claimed.token });
    unwrap(await asRun.call('flowRunsReportEnvironment', { params: { id: run.id, attempt: '1' }, body: plan.environment }));
    for (const type of ['RUNNING', 'COMPLETED'] as const) {
      unwrap(
        await asRun.call('flowRunsSetState', {
          params: { id: run.id },
          body: { transitionId: randomUUID(), state: { type } },
        }),
      );
    }
    unwrap(await deploy(plan.redeploy));
    return run;
  } finally {
    await asRun?.close();
    await worker.close();
  }
}
