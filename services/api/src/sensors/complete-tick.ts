import type { SensorTick, SensorTickCompleteRequest, SensorTickRun } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import type { Sql, TxSql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { createFlowRunId } from '../runs/create-flow-run.js';
import { finishSensorTick, getSensorTick, lockTickSensor, type TickOutcome } from './db/sensors.js';

type CompleteRequest = z.output<typeof SensorTickCompleteRequest>;

/** The idempotency key of a sensor's run request: a run key makes one run of the sensor, ever. */
export function sensorRunKey(sensorId: string, runKey: string): string {
  return `sensor:${sensorId}:${runKey}`;
}

export interface CompleteTickInput {
  workspaceId: string;
  poolId: string;
  tickId: string;
  keyId: string | null;
  request: CompleteRequest;
}

/**
 * A worker's report of one tick, in one transaction: each run request creates its run of the
 * sensor's deployment under the idempotency key `sensor:<sensorId>:<runKey>` (a key used before
 * gives that run and creates nothing), the tick records what became of each, the cursor is stored,
 * the lease ends and the next tick is due an interval from now. Only the holder of the tick's lease
 * may report it: a report that arrives after the lease ran out and another worker took the sensor
 * over is refused (409), and that worker's evaluation, from the same cursor, asks for the same keys.
 *
 * A run request that fails (parameters its deployment refuses) leaves the others standing, fails the
 * tick with the reason, and keeps the cursor where it was, so the next tick asks again rather than
 * stepping past what it could not start.
 *
 * A tick claimed before its workspace was archived may still be reported (the route is taken while
 * archived, like the other reports of work under way), but an archived workspace takes no new work:
 * its run requests start nothing, and the cursor stays where it was, so the sensor asks for them
 * again on its first tick once the workspace is restored.
 */
export async function completeSensorTick(sql: Sql, input: CompleteTickInput): Promise<SensorTick> {
  const { workspaceId, tickId, request } = input;
  await sql.begin(async (tx) => {
    const held = await lockTickSensor(tx, workspaceId, tickId);
    if (!held || held.poolId !== input.poolId) throw notFound('sensor tick');
    if (held.tickStatus !== 'RUNNING' || held.leaseTickId !== tickId) {
      throw new DomainError('conflict', 'this tick is over: its lease ran out and the sensor was evaluated again');
    }
    if (held.leaseWorkerId !== request.workerId || (held.leaseKeyId !== null && held.leaseKeyId !== input.keyId)) {
      throw new DomainError('conflict', 'this tick is leased to another worker');
    }
    const outcome =
      request.outcome.status === 'error'
        ? failed(held.cursor, request.outcome.error, request.logs)
        : held.archived && request.outcome.result.runRequests.length > 0
          ? notStarted(held.cursor, new Set(request.outcome.result.runRequests.map((r) => r.runKey)).size, request.logs)
          : await requestRuns(tx, { workspaceId, sensorId: held.sensorId, deploymentId: held.deploymentId }, held.cursor, {
              result: request.outcome.result,
              logs: request.logs,
            });
    await finishSensorTick(tx, {
      workspaceId,
      sensorId: held.sensorId,
      tickId,
      intervalSeconds: held.intervalSeconds,
      outcome,
    });
  });
  const tick = await getSensorTick(sql, workspaceId, tickId);
  if (!tick) throw new Error(`sensor tick ${tickId} vanished after it was completed`);
  return tick;
}

function failed(cursor: string | null, error: string, logs: string[]): TickOutcome {
  return { status: 'FAILED', runs: [], skipReason: null, error, cursorAfter: cursor, logs };
}

/** The outcome of a tick whose run requests an archived workspace does not start: nothing moves. */
function notStarted(cursor: string | null, requests: number, logs: string[]): TickOutcome {
  return {
    status: 'SKIPPED',
    runs: [],
    skipReason: `the workspace is archived: ${requests} run request${requests === 1 ? ' was' : 's were'} not started, and the sensor asks again once it is restored`,
    error: null,
    cursorAfter: cursor,
    logs,
  };
}

async function requestRuns(
  tx: TxSql,
  sensor: { workspaceId: string; sensorId: string; deploymentId: string },
  cursorBefore: string | null,
  reported: { result: Extract<CompleteRequest['outcome'], { status: 'ok' }>['result']; logs: string[] },
): Promise<TickOutcome> {
  const { result, logs } = reported;
  const runs: SensorTickRun[] = [];
  const seen = new Set<string>();
  for (const request of result.runRequests) {
    // Two requests with one key in a tick are one request: the first wins, as across ticks.
    if (seen.has(request.runKey)) continue;
    seen.add(request.runKey);
    try {
      // A savepoint per request: one the deployment refuses leaves the transaction usable for the rest.
      const made = await tx.savepoint((sp) =>
        createFlowRunId(sp, {
          workspaceId: sensor.workspaceId,
          deploymentId: sensor.deploymentId,
          request: {
            ...(request.parameters ? { parameters: request.parameters } : {}),
            ...(request.tags ? { tags: request.tags } : {}),
          },
          idempotencyKey: sensorRunKey(sensor.sensorId, request.runKey),
        }),
      );
      runs.push({ runKey: request.runKey, flowRunId: made.id, created: made.created, error: null });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const fields = error.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
      runs.push({
        runKey: request.runKey,
        flowRunId: null,
        created: false,
        error: fields ? `${error.detail} (${fields})` : error.detail,
      });
    }
  }
  const refused = runs.filter((r) => r.error !== null);
  if (refused.length > 0) {
    const first = refused[0]!;
    return {
      status: 'FAILED',
      runs,
      skipReason: null,
      error: `${refused.length} of ${runs.length} run request${runs.length === 1 ? '' : 's'} refused; run key '${first.runKey}': ${first.error}`,
      cursorAfter: cursorBefore,
      logs,
    };
  }
  return {
    status: runs.length > 0 ? 'REQUESTED' : 'SKIPPED',
    runs,
    skipReason: runs.length > 0 ? null : (result.skipReason ?? 'no run requested'),
    error: null,
    cursorAfter: result.cursor ?? cursorBefore,
    logs,
  };
}
