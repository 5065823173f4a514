import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Sensor } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker } from '../support/cli-worker.js';
import { runCli, type Spawned } from '../support/processes.js';
import { writeProject } from '../support/project.js';

/*
 * A sensor end to end, every part real: `outpost deploy` registers the sensor the entrypoint
 * defines, a worker started by the CLI evaluates it in a process of its own from the pulled bundle,
 * and the API turns its run requests into runs. The sensor reads a local directory and asks for one
 * run per new file (run key = file name, cursor = the last file it asked for). A worker killed while
 * it evaluates a tick that has seen a new file, then replaced by another, does not repeat any file.
 */

const CONFIG = (inbox: string, control: string) => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'inbox',
  registry: 'oci-layout:./registry',
  deployments: [
    { name: 'files', flow: 'ingest', entrypoint: 'inbox.ts', pool: 'default',
      jobVariables: { env: { INBOX_DIR: '${inbox}', CONTROL_DIR: '${control}' } } },
  ],
});
`;

const INBOX = `import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { flow, log, sensor, z } from '@outpost/sdk';

export const ingest = flow({ name: 'ingest', params: z.object({ file: z.string() }) }, async ({ file }) => {
  log.info('ingesting %s', file);
});

export const inbox = sensor({ name: 'inbox', intervalSeconds: 1, description: 'one run per new file' }, async (ctx) => {
  const inboxDir = process.env.INBOX_DIR!;
  const control = process.env.CONTROL_DIR!;
  const files = (await readdir(inboxDir)).filter((f) => ctx.cursor === null || f > ctx.cursor).sort();
  if (files.length === 0) return { skipReason: 'no new files after ' + (ctx.cursor ?? 'the start') };
  ctx.log.info('new files: %s', files.join(', '));
  // The test holds the sensor here, after it has seen the new files and before it reports them.
  if (existsSync(join(control, 'HOLD'))) {
    await writeFile(join(control, 'holding'), files.join(','));
    for (;;) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { runRequests: files.map((file) => ({ runKey: file, parameters: { file } })), cursor: files.at(-1) };
});
`;

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  context = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('sensors: a worker evaluates a directory sensor and a restart repeats no file', () => {
  let server: TestServer;
  let scratch: string;
  let project: string;
  let inbox: string;
  let control: string;
  let env: Record<string, string>;
  let workerKey: string;
  let client: OutpostClient;
  const workers: Spawned[] = [];

  const startWorker = async (name: string): Promise<Spawned> => {
    const worker = await startCliWorker(server, scratch, {
      key: workerKey,
      name,
      args: ['--sensors', '1'],
      env: { OUTPOST_WORKER_SENSOR_POLL: '200ms' },
    });
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    // A short lease: the tick a killed worker held is taken over after twice the tick's time bound (10 s).
    server = await startTestServer({ leaseSeconds: 5 });
    scratch = await mkdtemp(join(tmpdir(), 'outpost-e2e-sensors-'));
    project = join(scratch, 'inbox');
    inbox = join(scratch, 'inbox-files');
    control = join(scratch, 'control');
    await mkdir(inbox, { recursive: true });
    await mkdir(control, { recursive: true });
    env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    workerKey = await server.createKey('worker', ['default']);
    await writeProject(project, { 'outpost.config.ts': CONFIG(inbox, control), 'inbox.ts': INBOX });
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await client?.close();
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const sensor = async (): Promise<Sensor> => {
    const items = unwrap(await client.call('sensorsList', { query: {} })).items;
    expect(items).toHaveLength(1);
    return items[0]!;
  };

  /** The runs the sensor created, as their file parameter, in file order (one tick's runs share a creation time). */
  const filesRun = async (): Promise<string[]> => {
    const rows = await server.sql<{ file: string }[]>`
      SELECT parameters->>'file' AS file FROM flow_runs WHERE idempotency_key LIKE 'sensor:%' ORDER BY file`;
    return rows.map((r) => r.file);
  };
  const output = () => workers.map((w, i) => `--- worker ${i + 1}\n${w.output()}`).join('\n');

  it('deploy registers the sensor the entrypoint defines, with its interval and description', async () => {
    const r = await runCli(['deploy'], env, project);
    expect(r.code, r.output).toBe(0);
    expect(await sensor()).toMatchObject({
      name: 'inbox',
      intervalSeconds: 1,
      description: 'one run per new file',
      flowName: 'ingest',
      deploymentName: 'files',
      cursor: null,
      paused: false,
    });
  });

  it('a worker evaluates it: one run per new file, the cursor stored, a skip reason when nothing is new', async () => {
    await startWorker('first');
    await writeFile(join(inbox, 'a.csv'), 'a');
    await writeFile(join(inbox, 'b.csv'), 'b');
    await until('runs for a.csv and b.csv', async () => (await filesRun()).length >= 2, 60_000, output);
    await until('a skipped tick after them', async () => (await sensor()).lastTick?.status === 'SKIPPED', 30_000, output);
    expect(await filesRun()).toEqual(['a.csv', 'b.csv']);
    const s = await sensor();
    expect(s.cursor).toBe('b.csv');
    expect(s.lastTick?.skipReason).toBe('no new files after b.csv');
    const ticks = unwrap(await client.call('sensorsTicks', { params: { id: s.id }, query: {} })).items;
    const requested = ticks.find((t) => t.status === 'REQUESTED');
    expect(requested?.logs.join('\n')).toContain('new files: a.csv, b.csv');
    expect(requested?.runs.map((r) => [r.runKey, r.created])).toEqual([
      ['a.csv', true],
      ['b.csv', true],
    ]);
  });

  it('a worker killed mid-tick and replaced by another repeats no file, and the lost tick says why it failed', async () => {
    await writeFile(join(control, 'HOLD'), '');
    await writeFile(join(inbox, 'c.csv'), 'c');
    const seen = await until(
      'the sensor to hold after seeing c.csv',
      async () => existsSync(join(control, 'holding')) && (await readFile(join(control, 'holding'), 'utf8')),
      30_000,
      output,
    );
    expect(seen).toBe('c.csv');
    // The worker dies with the tick in flight; its sensor process dies with it (the parent watchdog).
    await workers[0]!.stop('SIGKILL');
    await rm(join(control, 'HOLD'));
    expect(await filesRun()).toEqual(['a.csv', 'b.csv']);

    await startWorker('second');
    await until('the run for c.csv', async () => (await filesRun()).includes('c.csv'), 60_000, output);
    await writeFile(join(inbox, 'd.csv'), 'd');
    await until('the run for d.csv', async () => (await filesRun()).includes('d.csv'), 30_000, output);
    await until(
      'a skipped tick after d.csv',
      async () => (await sensor()).cursor === 'd.csv' && (await sensor()).lastTick?.status === 'SKIPPED',
      30_000,
      output,
    );
    expect(await filesRun()).toEqual(['a.csv', 'b.csv', 'c.csv', 'd.csv']);

    const ticks = unwrap(
      await client.call('sensorsTicks', { params: { id: (await sensor()).id }, query: { status: 'FAILED' } }),
    ).items;
    expect(ticks).toHaveLength(1);
    expect(ticks[0]!.error).toMatch(/stopped reporting before its lease ran out/);
    expect(ticks[0]!.cursorBefore).toBe('b.csv');
  }, 120_000);

  it('the runs the sensor requested run on the worker to completion', async () => {
    const states = async () =>
      (await server.sql<{ state_type: string }[]>`SELECT state_type FROM flow_runs WHERE idempotency_key LIKE 'sensor:%'`).map(
        (r) => r.state_type,
      );
    await until('every sensor run to complete', async () => (await states()).every((s) => s === 'COMPLETED'), 60_000, output);
    expect(await states()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
  });

  it('the CLI lists the sensor, shows the lost tick, pauses it, and names a sensor that does not exist', async () => {
    const ls = await runCli(['sensors', 'ls'], env);
    expect(ls.code, ls.output).toBe(0);
    expect(ls.output).toMatch(/ingest\/files\/inbox\s+1s\s+active/);
    const ticks = await runCli(['sensors', 'ticks', 'inbox', '--status', 'failed'], env);
    expect(ticks.code, ticks.output).toBe(0);
    expect(ticks.output).toContain('stopped reporting before its lease ran out');
    const paused = await runCli(['sensors', 'pause', 'ingest/files/inbox'], env);
    expect(paused.code, paused.output).toBe(0);
    expect(paused.output).toContain('paused ingest/files/inbox');
    expect((await sensor()).paused).toBe(true);
    const missing = await runCli(['sensors', 'get', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('no sensor is named "nope"');
  });
});
