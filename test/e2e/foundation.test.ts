import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../sdk/test/support/registry.js';
import { startCliWorker } from '../support/cli-worker.js';
import { repoRoot, runCli, type Spawned } from '../support/processes.js';

const HELLO = path.join(repoRoot, 'sdk/examples/hello');
const SECRET = 'foundation-secret-6d1c0e94b7';
const REGISTRY_USER = { username: 'acme-deployer', password: 'registry-password-3a9f27' };
/** A fragment of the flow's own source code: it travels in the bundle, and must never reach the control plane. */
const CODE_FRAGMENT = 'squares.push(x * x)';

/**
 * Issue-level walk through the whole product: a real API on real Postgres, Debian's docker-registry
 * with htpasswd as the customer's registry, the CLI deploying the example, a worker process pulling
 * the bundle with its own credentials, and a run followed from the CLI to COMPLETED.
 */
describe('a flow deployed through the CLI runs end to end on a worker inside the customer network', () => {
  let server: TestServer;
  let registry: TestRegistry;
  let worker: Spawned | undefined;
  let scratch: string;
  let env: Record<string, string>;
  let client: OutpostClient;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'outpost-foundation-'));
    server = await startTestServer();
    registry = await startRegistry({ htpasswd: REGISTRY_USER });
    env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  });

  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await client?.close();
    await registry?.stop();
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('deploys the example to the password-protected registry with a digest-pinned source only', async () => {
    const deployed = await runCli(['deploy', '--config', path.join(HELLO, 'outpost.config.ts')], {
      ...env,
      OUTPOST_REGISTRY: `oci://${registry.host}/acme/hello`,
      OUTPOST_REGISTRY_USERNAME: REGISTRY_USER.username,
      OUTPOST_REGISTRY_PASSWORD: REGISTRY_USER.password,
    });
    expect(deployed.output).not.toContain(REGISTRY_USER.password);
    expect(deployed.code).toBe(0);
    const deployment = unwrap(await client.call('deploymentsGetByName', { params: { flow: 'hello', name: 'default' } }));
    expect(deployment.source).toMatch(new RegExp(`^oci://${registry.host}/acme/hello@sha256:[a-f0-9]{64}$`));
    expect(deployment.parameterSchema).toMatchObject({ type: 'object', properties: { n: { type: 'integer' } } });
  });

  it('runs the deployment on a worker and records COMPLETED, task runs and redacted logs', async () => {
    worker = await startCliWorker(server, scratch, {
      pollWait: '2s',
      env: {
        GREETING_SECRET: SECRET,
        OUTPOST_REGISTRY_USERNAME: REGISTRY_USER.username,
        OUTPOST_REGISTRY_PASSWORD: REGISTRY_USER.password,
      },
    });

    const watched = await runCli(['run', 'hello/default', '--param', 'n=3', '--watch'], env);
    expect(watched.output).toContain('sum of squares 1..3 = 14');
    expect(watched.output).not.toContain(SECRET);
    expect(watched.code).toBe(0);

    // The example's weekday schedule adds upcoming SCHEDULED runs; the one run started here is the rest.
    const runs = unwrap(await client.call('flowRunsList', { query: { flow: 'hello' } }));
    const started = runs.items.filter((r) => r.state.type !== 'SCHEDULED');
    expect(started).toHaveLength(1);
    const run = started[0]!;
    expect(run.state.type).toBe('COMPLETED');
    expect(run.parameters).toEqual({ n: 3 });

    const tasks = unwrap(await client.call('taskRunsList', { params: { id: run.id } }));
    expect(tasks.items.map((t) => [t.name, t.state.type]).sort()).toEqual([
      ['square', 'COMPLETED'],
      ['sum', 'COMPLETED'],
    ]);

    const logs = unwrap(await client.call('logsRead', { params: { id: run.id }, query: { limit: 1000 } }));
    const messages = logs.items.map((l) => l.message);
    expect(messages).toContain('square(3) = 9');
    expect(messages.some((m) => m.startsWith('greeting secret: ') && m.includes('***'))).toBe(true);
    const seqs = logs.items.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // The flow's emit() carried the secret too: the worker masked it before posting the event.
    const events = unwrap(await client.call('eventsList', { query: { kind: 'hello.summed' } }));
    expect(events.items).toHaveLength(1);
    const event = events.items[0]!;
    expect(event).toMatchObject({ source: 'run', resource: { kind: 'flow-run', id: run.id }, payload: { n: 3, total: 14 } });
    expect(event.payload.greeting).toBe('secret ***');
  });

  it('leaves no bundle bytes, registry password or secret value anywhere in the control-plane database', async () => {
    const bundleSource = await readFile(path.join(HELLO, 'flows/hello.ts'), 'utf8');
    expect(bundleSource).toContain(CODE_FRAGMENT); // the probe below must look for something the bundle really holds
    const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name
        FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`;
      expect(tables.length).toBeGreaterThan(5);
      let dump = '';
      for (const { name } of tables) {
        const rows = await sql.unsafe<{ row: string }[]>(`SELECT t::text AS row FROM ${name} t`);
        for (const { row } of rows) dump += `${row}\n`;
      }
      expect(dump).toContain('hello'); // the dump holds the run's metadata…
      for (const needle of [SECRET, REGISTRY_USER.password, CODE_FRAGMENT, Buffer.from(SECRET).toString('base64')]) {
        expect(dump.includes(needle), `the database holds ${JSON.stringify(needle)}`).toBe(false); // …and none of these
      }
    } finally {
      await sql.end();
    }
  });
});
