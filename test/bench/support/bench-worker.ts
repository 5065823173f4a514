import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestServer } from '@outpost/api/testing';
import { type Spawned, spawnCli } from '../../support/processes.js';

/**
 * `outpost worker start` on pool `default`, its cache, spool and result storage under `scratch`,
 * logging warnings only; `args` add flags (`--trust-key …`).
 */
export function startBenchWorker(server: TestServer, key: string, scratch: string, prestart = 0, args: string[] = []): Spawned {
  return spawnCli(
    [
      'worker',
      'start',
      '--pool',
      'default',
      '--cache-dir',
      join(scratch, 'cache'),
      '--spool-dir',
      join(scratch, 'spool'),
      '--result-storage',
      pathToFileURL(join(scratch, 'results')).href,
      '--prestart',
      String(prestart),
      '--log-level',
      'warn',
      ...args,
    ],
    { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: key },
  );
}
