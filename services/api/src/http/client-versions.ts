/**
 * Which client versions this server serves, and the middleware that applies it (docs/versions.md).
 *
 * The policy: a server supports clients of its own minor version and of the minor before it, and
 * any newer client of the same major (0.2.x serves 0.1.x, 0.2.x and 0.3.x; from 1.0, 1.4.x serves
 * 1.3.x and newer 1.x). A client older than that — it names its version in `outpost-version` — is
 * answered `426 Upgrade Required`, a `client_too_old` problem whose detail is one line naming the
 * client, its version, the oldest supported and the command that upgrades it. A request without the
 * header (curl, scripts, clients before 0.2.0) is served as before, and so is one whose header is
 * not a version. A client newer than the server is served: it is the one that knows both.
 *
 * Every answer, errors, probes and the dashboard included, carries `outpost-server-version`.
 */
import {
  API_PREFIX,
  CLIENT_VERSION_HEADER,
  compareVersions,
  formatVersion,
  parseClientAgent,
  parseVersion,
  SERVER_VERSION_HEADER,
  type Version,
} from '@outpost/sdk/contracts';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';
import type { AppEnv } from './env.js';
import { problemResponse } from './problems.js';
import { SERVER_VERSION } from './server-version.js';

export { SERVER_VERSION } from './server-version.js';

/** The oldest client version `server` supports: the previous minor of its major (or its own minor at x.0). */
export function oldestSupported(server: Version): Version {
  return { major: server.major, minor: Math.max(0, server.minor - 1), patch: 0 };
}

export type ClientVerdict = 'supported' | 'too_old' | 'newer';

/** What `server` does with a client of version `client`. */
export function judgeClient(server: Version, client: Version): ClientVerdict {
  if (compareVersions(client, oldestSupported(server)) < 0) return 'too_old';
  if (client.major > server.major || (client.major === server.major && client.minor > server.minor)) return 'newer';
  return 'supported';
}

/** The packages of the clients, and how each is upgraded. */
const upgradeCli = (range: string) => `npm install -g @outpost/cli@${range}`;
const UPGRADES: Record<string, (range: string) => string> = {
  cli: upgradeCli,
  worker: (range) => `npm install -g @outpost/worker@${range}`,
  sdk: (range) => `npm install @outpost/sdk@${range}`,
};

/** The one-line detail of a `client_too_old` refusal. */
export function tooOldDetail(server: Version, client: Version, name: string | null): string {
  const range = `^${server.major}.${server.minor}`;
  const known = name ? UPGRADES[name] : undefined;
  const upgrade = (known ?? upgradeCli)(range);
  const who = known ? `outpost-${name}` : 'this Outpost client';
  return `${who} ${formatVersion(client)} is too old for this server (${formatVersion(server)}), which supports ${formatVersion(oldestSupported(server))} and newer: upgrade it with \`${upgrade}\``;
}

/**
 * Sets `outpost-server-version` on every answer and refuses API requests of clients older than the
 * policy supports, before authentication: an old worker learns it is too old even with a good key.
 */
export function clientVersions(serverVersion: string = SERVER_VERSION): MiddlewareHandler<AppEnv> {
  const server = parseVersion(serverVersion);
  return async (c, next) => {
    const client = server && c.req.path.startsWith(API_PREFIX) ? parseVersion(c.req.header(CLIENT_VERSION_HEADER)) : null;
    if (server && client && judgeClient(server, client) === 'too_old') {
      const name = parseClientAgent(c.req.header('user-agent'))?.name ?? null;
      const detail = tooOldDetail(server, client, name);
      c.get('logger')?.warn({ clientVersion: formatVersion(client), client: name }, 'refused a client too old: %s', detail);
      const refusal = problemResponse(c, new ApiError('client_too_old', detail));
      refusal.headers.set(SERVER_VERSION_HEADER, serverVersion);
      return refusal;
    }
    await next();
    c.res.headers.set(SERVER_VERSION_HEADER, serverVersion);
  };
}
