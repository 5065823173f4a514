import { randomUUID } from 'node:crypto';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import { type Problem, SERVER_VERSION_HEADER } from '@outpost/sdk/contracts';
import { SERVER_VERSION } from './server-version.js';

/**
 * Problems the HTTP server answers itself, before or instead of the app: parser errors, timeouts,
 * a full server. Same shape as http/problems.ts gives every app error (RFC 9457, `code` stable).
 */
const RAW_PROBLEMS = {
  malformed_request: { status: 400, title: 'Malformed request' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  expectation_failed: { status: 417, title: 'Expectation failed' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const;

export type RawProblemCode = keyof typeof RAW_PROBLEMS;

export interface RawProblem {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The problem as status, headers and body; the connection always closes after it. */
export function rawProblem(code: RawProblemCode, detail: string, headers: Record<string, string> = {}): RawProblem {
  const { status, title } = RAW_PROBLEMS[code];
  const requestId = randomUUID();
  const problem: Problem = { type: `urn:outpost:problem:${code}`, title, status, detail, code, requestId };
  const body = JSON.stringify(problem);
  return {
    status,
    body,
    headers: {
      'content-type': 'application/problem+json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-request-id': requestId,
      [SERVER_VERSION_HEADER]: SERVER_VERSION,
      ...headers,
      connection: 'close',
    },
  };
}

/** A whole HTTP/1.1 response, for writing straight to a socket the parser gave up on. */
export function rawProblemResponse(problem: RawProblem): string {
  const head = [`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`];
  for (const [name, value] of Object.entries(problem.headers)) head.push(`${name}: ${value}`);
  return `${head.join('\r\n')}\r\n\r\n${problem.body}`;
}

/** Answers a request the app never sees with the problem. */
export function sendRawProblem(res: ServerResponse, problem: RawProblem): void {
  res.writeHead(problem.status, problem.headers);
  res.end(problem.body);
}
