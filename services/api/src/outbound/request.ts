import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  assertAddresses,
  type HostResolver,
  literalHost,
  type OutboundAllowance,
  OutboundRefused,
  resolveHost,
  systemResolver,
} from './address.js';

export interface OutboundRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, connecting and reading the answer included. */
  timeoutMs: number;
  /** Bytes of the answer kept; the rest is read and dropped. */
  maxResponseBytes: number;
  allowance: OutboundAllowance;
  /** Tests inject names that resolve where they choose. @default the system's getaddrinfo */
  resolver?: HostResolver;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The answer was longer than maxResponseBytes. */
  truncated: boolean;
}

/** A request that did not get an answer: unreachable, reset, too slow. The message is for operators and admins. */
export class OutboundFailure extends Error {
  override readonly name = 'OutboundFailure';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The `lookup` the socket uses: it resolves, checks every address, and hands the socket only what
 * it checked, so the check and the connection see the same addresses (no second resolution for a
 * rebinding name to answer differently). The URL's host stays the Host header and the TLS name.
 */
function checkedLookup(allowance: OutboundAllowance, resolver: HostResolver) {
  return (hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback): void => {
    resolveHost(hostname, allowance, resolver).then(
      (resolved) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
        const usable = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved;
        const first = usable[0];
        if (!first) return callback(new OutboundFailure(`${hostname} has no IPv${family} address`), []);
        if (options.all) return callback(null, usable);
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}

/**
 * One HTTP(S) request to a tenant-supplied URL, through the address checks of outbound-address.ts.
 * Redirects are not followed (a 3xx is an answer like any other), so a checked host cannot hand the
 * request on to an unchecked one. Throws OutboundRefused for a refused address and OutboundFailure
 * when no answer came.
 */
export function outboundRequest(target: string | URL, options: OutboundRequestOptions): Promise<OutboundResponse> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.reject(new OutboundRefused('the address is not a URL'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new OutboundRefused(`${url.protocol} URLs are not dialled`));
  }
  // Sockets skip `lookup` for IP literals, so a literal is checked here; names are checked as they resolve.
  const literal = literalHost(url);
  if (literal) {
    try {
      assertAddresses(literal, [literal], options.allowance);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = options.body ?? '';
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        lookup: checkedLookup(options.allowance, options.resolver ?? systemResolver) as never,
        // No pooled socket: a kept-alive connection would skip the next request's check.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = (truncated: boolean) => {
          clearTimeout(timer);
          const all = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: all.subarray(0, options.maxResponseBytes),
            truncated,
          });
        };
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          // Enough read: the rest of an oversized answer is not waited for.
          if (size > options.maxResponseBytes) {
            finish(true);
            res.destroy();
          }
        });
        res.on('end', () => finish(false));
        res.on('error', fail);
      },
    );
    const timer = setTimeout(
      () => req.destroy(new OutboundFailure(`no answer within ${options.timeoutMs / 1000} s`)),
      options.timeoutMs,
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      const known = error instanceof OutboundRefused || error instanceof OutboundFailure;
      reject(known ? error : new OutboundFailure(error.message, { cause: error }));
    }
    req.on('error', fail);
    req.end(body || undefined);
  });
}
