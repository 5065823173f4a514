import type { ClaimedSensorTick, SensorResult } from '@outpost/sdk/contracts';
import { type BundleProcessDeps, runBundleProcess } from '../bundle-process.js';

export type SensorEvaluationDeps = BundleProcessDeps;

export type TickOutcome = { status: 'ok'; result: SensorResult } | { status: 'error'; error: string };

/** What the worker reports of a tick: its outcome and its last log lines, secrets masked. */
export interface TickReport {
  outcome: TickOutcome;
  logs: string[];
}

/**
 * Evaluates one claimed tick in a process of its own, loaded from the deployment's code with its
 * job variables (`runBundleProcess`), stopped after the tick's time bound. Resolves with what to
 * report, or null when `stopped` was aborted first (the worker is shutting down: the lease runs out
 * and another worker evaluates the tick again from the same cursor).
 */
export async function evaluateSensorTick(
  tick: ClaimedSensorTick,
  deps: SensorEvaluationDeps,
  stopped: AbortSignal,
): Promise<TickReport | null> {
  const { deployment, sensor } = tick;
  const ran = await runBundleProcess(
    {
      what: 'the sensor',
      code: deployment,
      program: '@outpost/sdk/sensor-runner',
      args: [sensor.name],
      env: {
        OUTPOST_SENSOR_NAME: sensor.name,
        OUTPOST_DEPLOYMENT_ID: deployment.id,
        OUTPOST_SENSOR_TICK: JSON.stringify({ cursor: sensor.cursor, lastTickAt: sensor.lastTickAt }),
      },
      timeoutSeconds: tick.timeoutSeconds,
      answer: (message) => {
        const m = message as { t?: unknown; result?: unknown; error?: unknown } | null;
        if (m?.t === 'sensorResult') return { status: 'ok', result: m.result as SensorResult } as const;
        if (m?.t === 'sensorError' && typeof m.error === 'string') return { status: 'error', error: m.error } as const;
        return null;
      },
    },
    { ...deps, logger: deps.logger.child({ sensorId: sensor.id, tickId: tick.tickId }) },
    stopped,
  );
  if (ran === null) return null;
  const { outcome, logs, redact } = ran;
  if (outcome.status === 'error') return { outcome, logs };
  const answer = outcome.answer;
  if (answer.status === 'error') return { outcome: { status: 'error', error: redact(answer.error).slice(0, 8_000) }, logs };
  return { outcome: redactSensorResult(answer.result, ran), logs };
}

/**
 * A tick's result as it leaves the network: run parameters (keys and values), tags and the skip
 * reason masked. A cursor or a run key that holds a secret fails the tick instead: the control
 * plane hands the cursor back to the next tick and de-duplicates runs by key, so a masked one would
 * change what the sensor does, and an unmasked one would leak the secret.
 */
export function redactSensorResult(
  result: SensorResult,
  redactor: { redact: (text: string) => string; redactJson: <T>(value: T) => T; holdsSecret: (text: string) => boolean },
): TickOutcome {
  const refuse = (what: string): TickOutcome => ({
    status: 'error',
    error: `the sensor's ${what} holds a secret value: it is sent to the control plane as it is, so the tick's result is not reported`,
  });
  if (result.cursor !== undefined && redactor.holdsSecret(result.cursor)) return refuse('cursor');
  if (result.runRequests.some((r) => redactor.holdsSecret(r.runKey))) return refuse('run key');
  return {
    status: 'ok',
    result: {
      ...result,
      runRequests: result.runRequests.map((r) => ({
        ...r,
        ...(r.parameters === undefined ? {} : { parameters: redactor.redactJson(r.parameters) }),
        ...(r.tags === undefined ? {} : { tags: r.tags.map((tag) => redactor.redact(tag)) }),
      })),
      ...(result.skipReason === undefined ? {} : { skipReason: redactor.redact(result.skipReason) }),
    },
  };
}
