import type { RouteName, Routes } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import type { Logger } from '../logger.js';

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export type ParamsOf<N extends RouteName> = Routes[N] extends { params: infer P } ? Out<P> : Record<string, never>;
export type QueryOf<N extends RouteName> = Routes[N] extends { query: infer Q } ? Out<Q> : undefined;
export type BodyOf<N extends RouteName> = Routes[N] extends { body: infer B } ? Out<B> : undefined;
export type ResponseOf<N extends RouteName> = z.input<Routes[N]['response']>;

export interface HandlerContext<N extends RouteName> {
  params: ParamsOf<N>;
  query: QueryOf<N>;
  body: BodyOf<N>;
  principal: Principal;
  deps: AppDeps;
  logger: Logger;
  /** A request header, lower-case name. */
  header(name: string): string | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Overrides the route's success status (e.g. 200 for a replayed create). */
  status(code: 200 | 201 | 202 | 204): void;
}

export type Handler<N extends RouteName> = (ctx: HandlerContext<N>) => Promise<ResponseOf<N>>;

/**
 * Routes mounted by code of their own instead of mountRoutes: signing in and out (no credential,
 * cookies), a person's own account (audited in the workspaces it concerns) and event streams (a
 * long-lived response, not one JSON body).
 */
export type CustomRouteName = {
  [N in RouteName]: Routes[N] extends { access: { anonymous: true } } | { access: { person: true } } | { stream: string }
    ? N
    : never;
}[RouteName];

/** One handler per route of the table (but the custom ones); the compiler checks none is missing. */
export type Handlers = { [N in Exclude<RouteName, CustomRouteName>]: Handler<N> };
