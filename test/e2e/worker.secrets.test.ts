import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, workerEnv } from '../support/worker-process.js';

// Characters that make each encoding differ from the raw text: a slash, a plus, a dollar, a space, non-ASCII.
const SECRET = 'Pg$ecret/with+chars ünd-7f3a91';

/** Every form the flow prints the secret in, plus the stable inner part of its base64 at any alignment. */
function forms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [
    secret,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    // Any 12 characters from the middle of the base64 of the secret embedded in other text.
    Buffer.from(`x${secret}`).toString('base64').slice(4, 16),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    'Pg$ecret',
    'with+chars',
  ];
}

describe('worker: secrets stay home', () => {
  let scratch: string;
  let plane: Plane;
  let worker: WorkerProcess;
  let runId: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-secrets-'));
    const source = await buildWorkerFlows(join(scratch, 'bundle'));
    plane = await Plane.start();
    // The secret lives in a mounted secrets directory on the worker's side only.
    const secretsDir = join(scratch, 'secrets');
    mkdirSync(secretsDir);
    writeFileSync(join(secretsDir, 'DB_PASSWORD'), `${SECRET}\n`, { mode: 0o600 });
    const deploymentId = await plane.deploy('leak', source, {
      jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
    });
    worker = startWorkerProcess(
      ['--pool', 'default', '--secrets-dir', secretsDir, '--heartbeat-interval', '1s', '--poll-wait', '1s'],
      {
        ...workerEnv({ url: plane.server.url, key: await plane.server.createKey('worker', ['default']) }, scratch),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
      },
    );
    runId = await plane.run(deploymentId);
  });

  afterAll(async () => {
    await worker?.stop();
    await plane?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the flow with the secret and records its failure, masked', async () => {
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('FAILED');
    expect(run.state.message).toContain('could not connect with password ***');
    const text = unwrap(await plane.owner.call('logsRead', { params: { id: runId } }))
      .items.map((l) => l.message)
      .join('\n');
    expect(text).toContain('raw: ***');
    expect(text).toContain('base64: ***');
    expect(text).toContain('url: postgres://app:***@db.internal/app');
  });

  it('leaves no form of the secret in any table of the control plane database', async () => {
    await plane.settled(runId);
    const sql = plane.server.sql;
    const tables = await sql<Array<{ name: string }>>`
      SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
      FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`;
    expect(tables.length).toBeGreaterThan(5);
    let dump = '';
    for (const { name } of tables) {
      const rows = await sql.unsafe<Array<{ row: string }>>(`SELECT t::text AS row FROM ${name} t`);
      dump += rows.map((r) => r.row).join('\n');
    }
    // The dump holds the run and its masked lines: it is the right database.
    expect(dump).toContain(runId);
    expect(dump).toContain('raw: ***');
    for (const form of forms(SECRET)) expect(dump, `the database holds "${form}"`).not.toContain(form);
    // The worker's own log does not carry it either.
    for (const form of forms(SECRET)) expect(worker.output()).not.toContain(form);
  });
});
