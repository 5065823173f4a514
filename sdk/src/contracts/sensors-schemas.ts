import * as z from 'zod';
import { commonSchemas } from './common-schemas.js';
import { lazy } from './lazy.js';

/*
 * Sensors: functions in a deployment's code that a worker of the deployment's pool evaluates on an
 * interval, inside the customer's network. Each evaluation (a tick) returns run requests keyed for
 * de-duplication and a cursor the control plane keeps for the next tick. The control plane never
 * runs sensor code: it hands out due ticks under a lease and records what the worker reports.
 */

/** The shortest interval between two ticks of a sensor. */
export const MIN_SENSOR_INTERVAL_SECONDS = 1;
/** The longest a sensor's cursor may be, in characters. */
export const MAX_SENSOR_CURSOR_LENGTH = 16_384;
/** The most run requests one tick may make. */
export const MAX_SENSOR_RUN_REQUESTS = 500;

/**
 * The schemas of `./sensors.js`, built on the first call and kept: the flow runtime reaches them
 * through this, so importing a flow bundle builds none of them. `./sensors.js` exports each one.
 */
export const sensorSchemas = lazy(() => {
  const { Id, JsonObject, Labels, Name, PageLimit, Tags, Timestamp } = commonSchemas();
  /** A sensor as the deployment's code defines it; `outpost deploy` sends these. */
  const SensorDefinitionInput = z.strictObject({
    name: Name,
    intervalSeconds: z.number().int().min(MIN_SENSOR_INTERVAL_SECONDS).max(86_400),
    description: z.string().max(2000).optional(),
  });

  const SensorCursor = z.string().max(MAX_SENSOR_CURSOR_LENGTH);

  /**
   * One run a tick asks for. Its run key makes it once-only: a run key a sensor requested before
   * (by any tick, on any worker) gives the run it created then, and creates nothing.
   */
  const SensorRunRequest = z.strictObject({
    runKey: z.string().min(1).max(150),
    parameters: JsonObject.optional(),
    tags: Tags.optional(),
  });

  /** What a sensor function returns (after the SDK's defaults). */
  const SensorResult = z.strictObject({
    runRequests: z.array(SensorRunRequest).max(MAX_SENSOR_RUN_REQUESTS).default([]),
    /** Stored for the next tick; absent keeps the stored cursor. */
    cursor: SensorCursor.optional(),
    /** Why the tick asked for nothing; shown on the sensor's page. */
    skipReason: z.string().max(1000).optional(),
  });

  const SensorTickStatus = z.enum(['RUNNING', 'REQUESTED', 'SKIPPED', 'FAILED']);

  /** What became of one run request of a tick. */
  const SensorTickRun = z.strictObject({
    runKey: z.string(),
    flowRunId: Id.nullable(),
    /** False when the run key had already made its run (a repeat changes nothing). */
    created: z.boolean(),
    error: z.string().nullable(),
  });

  const SensorTick = z.strictObject({
    id: Id,
    sensorId: Id,
    status: SensorTickStatus,
    startedAt: Timestamp,
    endedAt: Timestamp.nullable(),
    workerId: Id.nullable(),
    runs: z.array(SensorTickRun),
    skipReason: z.string().nullable(),
    error: z.string().nullable(),
    cursorBefore: z.string().nullable(),
    cursorAfter: z.string().nullable(),
    /** The last lines the sensor logged in this tick (redacted by the worker). */
    logs: z.array(z.string()),
  });

  const Sensor = z.strictObject({
    id: Id,
    name: Name,
    description: z.string().nullable(),
    deploymentId: Id,
    deploymentName: Name,
    flowName: Name,
    workPool: Name,
    intervalSeconds: z.number().int(),
    paused: z.boolean(),
    cursor: z.string().nullable(),
    nextTickAt: Timestamp,
    /** A worker is evaluating it until this time. */
    leaseExpiresAt: Timestamp.nullable(),
    lastTick: z
      .strictObject({
        id: Id,
        status: SensorTickStatus,
        at: Timestamp,
        runCount: z.number().int(),
        skipReason: z.string().nullable(),
        error: z.string().nullable(),
      })
      .nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  });

  const SensorListQuery = z.strictObject({
    deployment: Id.optional(),
    limit: PageLimit,
    cursor: z.string().max(500).optional(),
  });
  const SensorListResponse = z.strictObject({ items: z.array(Sensor), nextCursor: z.string().nullable() });

  const SensorTickListQuery = z.strictObject({
    status: SensorTickStatus.optional(),
    limit: PageLimit,
    cursor: z.string().max(500).optional(),
  });
  const SensorTickListResponse = z.strictObject({ items: z.array(SensorTick), nextCursor: z.string().nullable() });

  // ---- the worker's side ----

  const SensorTickClaimRequest = z.strictObject({
    workerId: Id,
    /** How many ticks the worker can evaluate now. */
    limit: z.number().int().min(1).max(20),
    labels: Labels.optional(),
  });

  /** A due tick, leased to the worker that claimed it until `leaseExpiresAt`. */
  const ClaimedSensorTick = z.strictObject({
    tickId: Id,
    sensor: z.strictObject({
      id: Id,
      name: Name,
      intervalSeconds: z.number().int(),
      cursor: z.string().nullable(),
      lastTickAt: Timestamp.nullable(),
    }),
    deployment: z.strictObject({
      id: Id,
      name: Name,
      flowName: Name,
      source: z.string(),
      entrypoint: z.string(),
      jobVariables: JsonObject,
      /** The customer's signature of the deployment's current version; null when unsigned. */
      signature: z.string().nullable().default(null),
    }),
    leaseExpiresAt: Timestamp,
    /** The worker stops an evaluation that takes longer, and reports the tick FAILED. */
    timeoutSeconds: z.number().int(),
  });

  const SensorTickClaimResponse = z.strictObject({ ticks: z.array(ClaimedSensorTick) });

  const SensorTickCompleteRequest = z.strictObject({
    workerId: Id,
    outcome: z.discriminatedUnion('status', [
      z.strictObject({ status: z.literal('ok'), result: SensorResult }),
      z.strictObject({ status: z.literal('error'), error: z.string().min(1).max(8_000) }),
    ]),
    logs: z.array(z.string().max(2_000)).max(200).default([]),
  });

  const SensorTickParams = z.strictObject({ pool: Name, id: Id });
  return {
    SensorDefinitionInput,
    SensorCursor,
    SensorRunRequest,
    SensorResult,
    SensorTickStatus,
    SensorTickRun,
    SensorTick,
    Sensor,
    SensorListQuery,
    SensorListResponse,
    SensorTickListQuery,
    SensorTickListResponse,
    SensorTickClaimRequest,
    ClaimedSensorTick,
    SensorTickClaimResponse,
    SensorTickCompleteRequest,
    SensorTickParams,
  };
});
