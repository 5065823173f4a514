import { Id, Name, Timestamp } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { apiKeyId, poolScope } from '../http/scope.js';
import { completeSensorTick } from './complete-tick.js';
import { claimSensorTicks, getSensor, listSensors, listSensorTicks, makeSensorDue, setSensorPaused } from './db/sensors.js';

const SensorCursor = z.tuple([Name, Id]);
const TickCursor = z.tuple([Timestamp, Id]);

/** The longest a worker may evaluate one tick: as long as a run's lease, at least 10 s. */
const tickTimeoutSeconds = (leaseSeconds: number) => Math.max(10, leaseSeconds);

export const sensorHandlers = {
  sensorsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, SensorCursor);
    const rows = await listSensors(deps.sql, principal.workspaceId, { deployment: query.deployment, after }, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.name, last.id]);
    return { items, nextCursor };
  },

  sensorsGet: async ({ params, principal, deps }) => {
    const sensor = await getSensor(deps.sql, principal.workspaceId, params.id);
    if (!sensor) throw notFound('sensor');
    return sensor;
  },

  sensorsTicks: async ({ params, query, principal, deps }) => {
    // A malformed cursor is the request's fault whichever sensor it names: checked first.
    const before = decodeCursor(query.cursor, TickCursor);
    if (!(await getSensor(deps.sql, principal.workspaceId, params.id))) throw notFound('sensor');
    const rows = await listSensorTicks(
      deps.sql,
      principal.workspaceId,
      params.id,
      { status: query.status, before },
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.startedAt, last.id]);
    return { items, nextCursor };
  },

  sensorsPause: async ({ params, principal, deps }) => {
    if (!(await setSensorPaused(deps.sql, principal.workspaceId, params.id, true))) throw notFound('sensor');
    return (await getSensor(deps.sql, principal.workspaceId, params.id))!;
  },

  sensorsResume: async ({ params, principal, deps }) => {
    if (!(await setSensorPaused(deps.sql, principal.workspaceId, params.id, false))) throw notFound('sensor');
    return (await getSensor(deps.sql, principal.workspaceId, params.id))!;
  },

  sensorsTickNow: async ({ params, principal, deps }) => {
    if (!(await makeSensorDue(deps.sql, principal.workspaceId, params.id))) throw notFound('sensor');
    return (await getSensor(deps.sql, principal.workspaceId, params.id))!;
  },

  sensorTicksClaim: async ({ params, body, principal, deps }) => {
    const ticks = await claimSensorTicks(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      workerId: body.workerId,
      keyId: apiKeyId(principal),
      labels: body.labels ?? {},
      limit: body.limit,
      timeoutSeconds: tickTimeoutSeconds(deps.leaseSeconds),
    });
    return { ticks };
  },

  sensorTicksComplete: async ({ params, body, principal, deps }) => {
    return completeSensorTick(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      tickId: params.id,
      keyId: apiKeyId(principal),
      request: body,
    });
  },
} satisfies Pick<
  Handlers,
  | 'sensorsList'
  | 'sensorsGet'
  | 'sensorsTicks'
  | 'sensorsPause'
  | 'sensorsResume'
  | 'sensorsTickNow'
  | 'sensorTicksClaim'
  | 'sensorTicksComplete'
>;
