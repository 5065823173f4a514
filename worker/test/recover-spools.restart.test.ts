import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutpostClient } from '@outpost/sdk/client';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseOptions } from '../src/options.js';
import { SpoolRecovery } from '../src/recover-spools.js';
import { LogShipper } from '../src/ship-logs.js';
import { LogServer } from './support/log-server.js';
import { waitFor } from './support/wait.js';

const logger = pino({ level: 'silent' });

describe('spool recovery', () => {
  let server: LogServer;
  let client: OutpostClient;
  let spoolDir: string;

  beforeEach(async () => {
    server = new LogServer();
    await server.start();
    client = new OutpostClient({ baseUrl: server.url, token: 'op_worker_key', timeoutMs: 2_000 });
    spoolDir = mkdtempSync(join(tmpdir(), 'outpost-spool-'));
  });

  afterEach(async () => {
    await client.close();
    await server.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  /** Leaves `count` unacknowledged lines in the spool, as a worker stopped during an outage would. */
  async function leaveSpool(runId: string, count: number): Promise<void> {
    server.plan([], 'fail-503');
    // A connection pool of its own, closed below: a retry already on the wire when the shipper stops
    // is answered (503) before the test changes the plan, instead of landing after it.
    const own = new OutpostClient({ baseUrl: server.url, token: 'op_worker_key', timeoutMs: 2_000 });
    const shipper = new LogShipper({
      runId,
      attempt: 2,
      spoolDir,
      batchSize: 100,
      batchMs: 0,
      logger,
      backoff: { baseMs: 5, maxMs: 20 },
      send: (batch) => own.call('logsWrite', { params: { id: runId }, body: batch }),
    });
    for (let i = 1; i <= count; i++) shipper.push({ level: 'info', message: `spooled ${i}`, stream: 'stdout' });
    await waitFor(() => existsSync(join(spoolDir, `${runId}-2.ndjson`)), 5_000, 'the spool file');
    await waitFor(() => server.requests >= 2, 5_000, 'a retry');
    shipper.stop();
    await own.close();
  }

  it('delivers what an earlier process left in the spool with the worker key, once, and removes the file', async () => {
    const runId = randomUUID();
    await leaveSpool(runId, 40);
    server.plan([], 'ok');
    const options = parseOptions(['--pool', 'p'], {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: 'op_worker_key',
      OUTPOST_WORKER_SPOOL_DIR: spoolDir,
    });
    const recovery = new SpoolRecovery({ client, options, logger, active: () => new Set() });
    recovery.start();
    await recovery.idle();
    await recovery.stop();
    expect(server.seqs(2)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(existsSync(join(spoolDir, `${runId}-2.ndjson`))).toBe(false);
  });

  it('leaves the spool of a run this process is still executing to that run', async () => {
    const runId = randomUUID();
    await leaveSpool(runId, 3);
    server.plan([], 'ok');
    const before = server.requests;
    const options = parseOptions(['--pool', 'p'], {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: 'op_worker_key',
      OUTPOST_WORKER_SPOOL_DIR: spoolDir,
    });
    const recovery = new SpoolRecovery({ client, options, logger, active: () => new Set([`${runId}-2`]) });
    recovery.start();
    await recovery.idle();
    await recovery.stop();
    expect(server.requests).toBe(before);
    expect(existsSync(join(spoolDir, `${runId}-2.ndjson`))).toBe(true);
  });
});
