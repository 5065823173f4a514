import type { RouteName, Routes } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import type { OrganisationTokenCaller } from '../auth/organisation-tokens.js';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import type { Logger } from '../logger.js';
import type { AuditNote, InlineAudit } from './audit.js';

// Read a schema's output through `_zod`, as z.output does: asking `T extends z.ZodType` compares two
// large classes member by member for every route.
type Out<T> = T extends { _zod: { output: infer O } } ? O : undefined;

export type ParamsOf<N extends RouteName> = Routes[N] extends { params: infer P } ? Out<P> : Record<string, never>;
export type QueryOf<N extends RouteName> = Routes[N] extends { query: infer Q } ? Out<Q> : undefined;
export type BodyOf<N extends RouteName> = Routes[N] extends { body: infer B } ? Out<B> : undefined;

/**
 * What a handler answers with: the route's typed result, which the pipeline checks and sends as
 * JSON (or the JSON media type the route names) — or, for a stream, a text document or a redirect,
 * the `Response` itself.
 */
export type ResponseOf<N extends RouteName> = Routes[N] extends
  | { stream: string }
  | { produces: 'text/plain' | 'text/csv' | 'text/html' | 'text/javascript' }
  | { produces: 'redirect' }
  ? Response
  : z.input<Routes[N]['response']>;

/**
 * The caller: none on an anonymous route (but the live session of one that reads it), nor when an
 * organisation token called a route that takes one (`organisationToken` is then set); the principal
 * everywhere else.
 */
export type CallerOf<N extends RouteName> = Routes[N] extends { access: { anonymous: true } }
  ? Principal | null
  : Routes[N] extends { access: { organisationToken: string } }
    ? Principal | null
    : Principal;

export interface HandlerContext<N extends RouteName> {
  params: ParamsOf<N>;
  query: QueryOf<N>;
  body: BodyOf<N>;
  principal: CallerOf<N>;
  /** The organisation token that called, on a route that takes one (`access.organisationToken`); null otherwise. */
  organisationToken: OrganisationTokenCaller | null;
  deps: AppDeps;
  logger: Logger;
  /** The request's URL as received. */
  url: URL;
  /** A request header, lower-case name. */
  header(name: string): string | undefined;
  /** Every request header, lower-case names (what an inbound webhook's template may read). */
  headers(): Record<string, string>;
  /** The body's bytes as sent, for a route without a `body` schema that must check a signature over them. */
  rawBody(): Promise<Uint8Array>;
  /** The client's address, as the trusted proxies tell it. */
  address: string | null;
  /** Whether the browser talks HTTPS (to us or to the proxy in front): cookies are then Secure. */
  secure: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Overrides the route's success status (e.g. 200 for a replayed create). */
  status(code: 200 | 201 | 202 | 204): void;
  /** Set-Cookie values sent with the answer, whatever it is. */
  setCookies(cookies: readonly string[]): void;
  /** The Location of the answer: where a resource the call made lives (a SCIM create, RFC 7644 §3.3). */
  location(href: string): void;
  /** An audit entry, written with the answer's status (routes whose entry says `audit: 'handler'`); the action is the route's unless given. */
  audit(note: Omit<AuditNote, 'action'> & { action?: string }): void;
  /**
   * The call's audit entry, for a handler that writes it in the statement making its change (one
   * commit instead of two), answered with the route's success status; null when the call is not
   * audited by the pipeline. Once `written`, the middleware does not write it again; a call that
   * does not write it (a replay, an error) is recorded by the middleware as any other.
   */
  auditInStatement(): InlineAudit | null;
}

export type Handler<N extends RouteName> = (ctx: HandlerContext<N>) => Promise<ResponseOf<N>>;

/** What a route's failure may become instead of a problem document (a browser sent back to a page); null keeps the problem. */
export type Recover = (error: unknown, request: { url: URL; header(name: string): string | undefined }) => Response | null;

/** A handler, or a handler with what its failures become. */
export type RouteHandler<N extends RouteName> = Handler<N> | { handle: Handler<N>; recover: Recover };

/** One handler per route of the table; the compiler checks none is missing. */
export type Handlers = { [N in RouteName]: RouteHandler<N> };

/** A 302 to `location`; the pipeline adds the route's cookies and Cache-Control. */
export function redirectTo(location: string): Response {
  return new Response(null, { status: 302, headers: { location } });
}
