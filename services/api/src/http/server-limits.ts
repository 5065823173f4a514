import { readFileSync } from 'node:fs';

/** How long clients may take and how many connections one API process serves. */
export interface HttpLimits {
  /**
   * Time a client has to send a request's headers, counted from the moment it connected (or began
   * the request, on a kept-alive connection). Slowloris connections are cut here. @default 20000
   */
  headersTimeoutMs: number;
  /**
   * Time a client has to send a whole request, headers and body. Only receiving counts: a response
   * that takes longer (a long-poll claim, the event stream) is not cut. @default 120000
   */
  requestTimeoutMs: number;
  /** How long a kept-alive connection may sit idle between requests. @default 65000 */
  keepAliveTimeoutMs: number;
  /**
   * Requests served at once, one per connection; lowered to fit the process's open-files limit.
   * Idle connections beyond it are closed, longest idle first. @default 10000
   */
  maxConnections: number;
}

/*
 * Node's defaults (60 s for headers, 300 s for a request, 5 s keep-alive, no cap) let ~20,600 idle
 * connections exhaust the file descriptors of a production process.
 *
 * - Headers: a client sends its headers in one or two packets; 20 s covers a slow mobile link many
 *   times over, as Apache's mod_reqtimeout does (header=20-40).
 * - Request: the largest body any route accepts is 5 MiB (a log batch); 120 s lets it through at
 *   45 KB/s, while a slow-body client holds a request slot for two minutes at most.
 * - Keep-alive: longer than the 60 s idle timeout of common load balancers (AWS ALB's default),
 *   so the balancer, not the API, closes an idle pooled connection and never races a request.
 * - Connections: an idle connection costs ~2 KB of memory (800 idle connections added 1.7 MB RSS
 *   to an API process), so 10,000 is cheap; the open-files limit is usually the tighter bound.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 10_000,
};

/**
 * Connections admitted beyond `maxConnections` so that /healthz and /readyz are answered when every
 * slot is serving a request (long-polls, event streams): other requests on them get a 503. Sixteen
 * is more than the probes of a kubelet and a load balancer open at once.
 */
export const PROBE_HEADROOM = 16;

/**
 * Open files the process keeps for everything but client connections. An idle API process holds
 * 30; after 300 concurrent requests it held 46 (a pool of 20 Postgres connections, the LISTEN
 * connection, loop leaders, stdio, epoll and event fds). 128 leaves room for static files being
 * read, an embedded Postgres's pipes and DNS lookups.
 */
export const RESERVED_OPEN_FILES = 128;

/**
 * How often Node checks the headers and request timeouts. Its default, 30 s, would let a slowloris
 * connection live up to 50 s past a 20 s headers timeout; walking even 10,000 connections once a
 * second costs well under a millisecond.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * The limit on open files of this process (Linux), or null when it cannot be read. Node raises its
 * soft limit to the hard one as it starts, so this is in effect the hard limit (`ulimit -Hn`).
 */
export function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === 'unlimited') return null;
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

export interface ResolvedHttpLimits extends HttpLimits {
  /** The maxConnections asked for, before fitting it to the open-files limit. */
  requestedMaxConnections: number;
  /** The process's open-files limit when it could be read. */
  openFiles: number | null;
}

/**
 * Fills in the defaults and fits maxConnections to the open-files limit: every admitted connection
 * is a descriptor, and running out of them stops accepts, Postgres connections and file reads alike.
 */
export function resolveHttpLimits(options: Partial<HttpLimits> = {}, openFiles = openFilesLimit()): ResolvedHttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`http.${name} must be a whole number ≥ 1, got ${value}`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(
      `http.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed http.requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  const fits = openFiles === null ? Number.POSITIVE_INFINITY : openFiles - RESERVED_OPEN_FILES - PROBE_HEADROOM;
  return {
    ...limits,
    maxConnections: Math.max(1, Math.min(limits.maxConnections, fits)),
    requestedMaxConnections: limits.maxConnections,
    openFiles,
  };
}
