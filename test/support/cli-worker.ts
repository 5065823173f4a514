import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { type Spawned, spawnCli } from './processes.js';

/**
 * `outpost worker start` on the `default` pool as a real process, as a user starts it: with a worker
 * key of `server` (a fresh one unless `key` is given), its cache and spool in `scratch` (`cache` and
 * `spool`, or `cache-<name>` and `spool-<name>` for a named worker), polling with `--poll-wait`
 * (1s unless `pollWait` says otherwise). `args` go after those; `env` adds to the API's address and key.
 */
export async function startCliWorker(
  server: TestServer,
  scratch: string,
  options: { key?: string; name?: string; pollWait?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<Spawned> {
  const key = options.key ?? (await server.createKey('worker', ['default']));
  const suffix = options.name ? `-${options.name}` : '';
  return spawnCli(
    [
      'worker',
      'start',
      '--pool',
      'default',
      ...(options.name ? ['--name', options.name] : []),
      '--poll-wait',
      options.pollWait ?? '1s',
      '--cache-dir',
      join(scratch, `cache${suffix}`),
      '--spool-dir',
      join(scratch, `spool${suffix}`),
      ...(options.args ?? []),
    ],
    { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: key, ...options.env },
  );
}
