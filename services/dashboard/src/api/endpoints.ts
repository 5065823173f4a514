import { routes } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import {
  AuthSessionCreateRequest,
  AuthSessionCreateResponse,
  AuthSessionDeleteResponse,
  StatsOverviewQuery,
  StatsOverviewResponse,
} from './extra-contracts.js';

/** The shape of one endpoint, a subset of the shared `RouteDef` that the browser client needs. */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under /api/v1 with `:name` parameters. */
  path: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
}

function endpoint<const T extends Endpoint>(def: T): T {
  return def;
}

/** Routes the dashboard calls that are not in the shared route table (see extra-contracts.ts). */
export const extraEndpoints = {
  authSessionCreate: endpoint({
    method: 'POST',
    path: '/auth/session',
    body: AuthSessionCreateRequest,
    response: AuthSessionCreateResponse,
  }),
  authSessionDelete: endpoint({ method: 'DELETE', path: '/auth/session', response: AuthSessionDeleteResponse }),
  statsOverview: endpoint({ method: 'GET', path: '/stats/overview', query: StatsOverviewQuery, response: StatsOverviewResponse }),
} as const;

/** Path of the flow-run event stream (Server-Sent Events), relative to the API root. */
export const RUN_EVENTS_PATH = '/flow-runs/events';

export const endpoints = { ...routes, ...extraEndpoints };
export type Endpoints = typeof endpoints;
export type EndpointName = keyof Endpoints;
