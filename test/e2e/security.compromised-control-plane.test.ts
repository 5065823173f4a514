import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import {
  deploymentStatement,
  generateDeployKeyPair,
  keyId,
  parseSigningKey,
  type StatementFields,
  signDeploymentStatement,
} from '@outpost/sdk/signing';
import { stop as stopEsbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../sdk/test/support/registry.js';
import { asVersionB } from '../support/bundles.js';
import { repoRoot } from '../support/processes.js';
import { Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/*
 * The threat: whoever holds the control plane — its owner key, its database, its code — tries to run
 * code of their choosing inside the customer's network, or to read a secret there. The customer
 * signed one deployment with their deploy key; a worker started with `--trust-key` and
 * `--allow-source` pinned to the customer's registry must run that and nothing else. The attacker
 * edits the database directly where the API would refuse them, as an attacker who owns the API's
 * code could. No attacker code may run (no marker file appears in the workers' HOME), no secret may
 * reach the database, and each refused run ends FAILED naming the check that refused it.
 */
const FIXTURE = join(repoRoot, 'test/e2e/fixtures/signed-flows');
const SECRET = 'db-pw/9f2c+Qx7 secret';
const PARAMETER_SCHEMA = {
  type: 'object',
  properties: { count: { type: 'integer', minimum: 0, maximum: 10 } },
  required: ['count'],
  additionalProperties: false,
};

describe('security: a compromised control plane cannot run code on a worker that trusts only signed deployments', () => {
  let scratch: string;
  let plane: Plane;
  let registry: TestRegistry;
  let guarded: WorkerProcess;
  let trusting: WorkerProcess;
  let homes: string[];
  let signedSource: string;
  let unsignedSource: string;
  let tenantEntry: string;
  let otherEntry: string;
  let signKey: ReturnType<typeof parseSigningKey>;
  let attackerKey: ReturnType<typeof parseSigningKey>;
  const runs: string[] = [];

  /** The customer's deployment request for `name` on `pool`, signed with `key` (the customer's, unless said). */
  async function signedRequest(name: string, pool: string, key = signKey, extra: Partial<StatementFields> = {}) {
    const fields = {
      flowName: 'tenant',
      deployment: name,
      workPool: pool,
      source: signedSource,
      entrypoint: tenantEntry,
      jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, GREETING: 'hello' } },
      parameterSchema: PARAMETER_SCHEMA,
      ...extra,
    };
    const signature = await signDeploymentStatement(deploymentStatement(fields), key);
    const { deployment: _, ...body } = fields;
    return { ...body, name, signature };
  }

  async function deploy(body: Record<string, unknown>): Promise<{ id: string; versionId: string }> {
    const { deployment } = unwrap(await plane.owner.call('deploymentsUpsert', { body: body as never }));
    return { id: deployment.id, versionId: deployment.versionId! };
  }

  async function run(deploymentId: string, parameters: Record<string, unknown> = { count: 3 }): Promise<string> {
    const { flowRun } = unwrap(
      await plane.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters: parameters as never } }),
    );
    runs.push(flowRun.id);
    return flowRun.id;
  }

  async function settled(runId: string, worker: WorkerProcess): Promise<FlowRun> {
    try {
      return await plane.settled(runId, 90_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${worker.output()}`);
    }
  }

  /** The attacker's direct write to a deployment version: what a claim of its runs hands the worker. */
  async function tamper(versionId: string, change: Record<string, unknown>): Promise<void> {
    const sql = plane.server.sql;
    for (const [column, value] of Object.entries(change)) {
      if (column === 'job_variables' || column === 'parameter_schema') {
        await sql`UPDATE deployment_versions SET ${sql(column)} = ${sql.json(value as never)} WHERE id = ${versionId}`;
      } else {
        await sql`UPDATE deployment_versions SET ${sql(column)} = ${value as string} WHERE id = ${versionId}`;
      }
    }
  }

  async function expectRefused(runId: string, reason: RegExp): Promise<void> {
    const ended = await settled(runId, guarded);
    expect(ended.state.type).toBe('FAILED');
    expect(ended.state.message).toMatch(reason);
    // Refused before any process started: the attempt has no exit code.
    const { items } = unwrap(await plane.owner.call('flowRunsAttempts', { params: { id: runId } }));
    expect(items.at(-1)?.exitCode ?? null).toBeNull();
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-compromised-'));
    registry = await startRegistry();
    const built = await buildBundle({ projectDir: FIXTURE, entrypoints: ['flows/tenant.ts', 'flows/other.ts'] });
    tenantEntry = built.entrypoints['flows/tenant.ts']!;
    otherEntry = built.entrypoints['flows/other.ts']!;
    signedSource = (await pushBundle(built, `oci://${registry.host}/acme/flows`)).source;
    // Other code in the same repository (an older or unrelated image): its tenant flow is the attacker's.
    const hostile = asVersionB(built);
    hostile.files = hostile.files.map((f) =>
      f.path === tenantEntry ? { ...f, bytes: built.files.find((o) => o.path === otherEntry)!.bytes } : f,
    );
    unsignedSource = (await pushBundle(hostile, `oci://${registry.host}/acme/flows`)).source;
    await stopEsbuild();
    expect(unsignedSource).not.toBe(signedSource);

    // The customer's deploy key; the worker gets its public half only.
    const pair = generateDeployKeyPair();
    signKey = parseSigningKey(pair.privateKeyPem);
    attackerKey = parseSigningKey(generateDeployKeyPair().privateKeyPem);
    const trustKey = join(scratch, 'deploy-key.pub.pem');
    writeFileSync(trustKey, pair.publicKeyPem);

    plane = await Plane.start();
    for (const pool of ['guarded', 'trusting']) {
      unwrap(await plane.owner.call('poolsCreate', { body: { name: pool, type: 'process' } }));
    }
    const common = [
      '--heartbeat-interval',
      '1s',
      '--poll-wait',
      '1s',
      '--prestart',
      '0',
      '--allow-source',
      `oci://${registry.host}/acme/`,
    ];
    homes = [join(scratch, 'home-guarded'), join(scratch, 'home-trusting')];
    for (const home of homes) mkdirSync(home);
    const env = async (pool: string, home: string) => ({
      OUTPOST_API_URL: plane.server.url,
      OUTPOST_API_KEY: await plane.server.createKey('worker', [pool]),
      HOME: home,
      DB_PASSWORD: SECRET,
      OUTPOST_WORKER_CACHE_DIR: join(home, '.cache'),
      OUTPOST_WORKER_SPOOL_DIR: join(home, '.spool'),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
    });
    guarded = startWorkerProcess(['--pool', 'guarded', '--trust-key', trustKey, ...common], await env('guarded', homes[0]!));
    trusting = startWorkerProcess(['--pool', 'trusting', ...common], await env('trusting', homes[1]!));
  }, 120_000);

  afterAll(async () => {
    await guarded?.stop();
    await trusting?.stop();
    await plane?.close();
    await registry?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("runs the customer's signed deployment, with its secret, and says which key it verified", async () => {
    const { id } = await deploy(await signedRequest('signed', 'guarded'));
    const ended = await settled(await run(id), guarded);
    expect(ended.state.type).toBe('COMPLETED');
    const lines = (await plane.lines(ended.id)).map((l) => l.message).join('\n');
    expect(lines).toContain(`deployment signature verified (key ${keyId(signKey)})`);
    expect(lines).toContain('code version A connected as app with ***');
    expect(guarded.output()).toContain('runs only deployments signed by its trust keys');
    expect(trusting.output()).toContain('no --trust-key: this worker trusts the control plane');
  });

  it('refuses NODE_OPTIONS and LD_PRELOAD as job variables at the API, naming the field', async () => {
    for (const name of ['NODE_OPTIONS', 'LD_PRELOAD', 'PATH', 'PYTHONPATH']) {
      const result = await plane.owner.call('deploymentsUpsert', {
        body: {
          flowName: 'tenant',
          name: 'evil-env',
          source: signedSource,
          entrypoint: tenantEntry,
          workPool: 'trusting',
          jobVariables: { env: { [name]: 'x' } },
        },
      });
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).toContain(`body.jobVariables.env.${name}`);
    }
  });

  it('a NODE_OPTIONS written into the database runs nothing, even on a worker that trusts the control plane', async () => {
    const { id, versionId } = await deploy({
      flowName: 'tenant',
      name: 'unsigned-env',
      source: signedSource,
      entrypoint: tenantEntry,
      workPool: 'trusting',
      jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
    });
    const payload =
      "import{writeFileSync}from'node:fs';writeFileSync(process.env.HOME+'/pwned-node-options',process.env.DB_PASSWORD??'')";
    await tamper(versionId, {
      job_variables: {
        env: {
          DB_PASSWORD: { $secret: 'DB_PASSWORD' },
          NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(payload)}`,
        },
      },
    });
    const ended = await settled(await run(id), trusting);
    expect(ended.state.type).toBe('FAILED');
    expect(ended.state.message).toContain('NODE_OPTIONS is read when a process starts');
  });

  it('refuses every change an attacker makes to a signed deployment, naming what did not verify', async () => {
    const cases: Array<{ name: string; change: (versionId: string) => Promise<void>; reason: RegExp; parameters?: object }> = [
      {
        name: 'node-options',
        change: (v) =>
          tamper(v, {
            job_variables: {
              env: {
                DB_PASSWORD: { $secret: 'DB_PASSWORD' },
                GREETING: 'hello',
                NODE_OPTIONS: "--import=data:text/javascript,import'node:fs'",
              },
            },
          }),
        reason: /another job variables \(env\.NODE_OPTIONS\) than the deployment's signature/,
      },
      {
        name: 'ld-preload',
        change: (v) =>
          tamper(v, {
            job_variables: {
              env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, GREETING: 'hello', LD_PRELOAD: '/tmp/evil.so' },
            },
          }),
        reason: /another job variables \(env\.LD_PRELOAD\)/,
      },
      {
        name: 'extra-secret',
        change: (v) =>
          tamper(v, {
            job_variables: {
              env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, GREETING: 'hello', EXFIL: { $secret: 'DB_PASSWORD' } },
            },
          }),
        reason: /another job variables \(env\.EXFIL\)/,
      },
      { name: 'entrypoint', change: (v) => tamper(v, { entrypoint: otherEntry }), reason: /another entrypoint than/ },
      { name: 'digest', change: (v) => tamper(v, { source: unsignedSource }), reason: /another source than/ },
      {
        name: 'parameter-schema',
        // Both copies the control plane keeps: the version's, and the deployment's that run creation checks.
        change: async (v) => {
          await tamper(v, { parameter_schema: { type: 'object' } });
          await plane.server.sql`UPDATE deployments SET parameter_schema = '{"type":"object"}'::jsonb WHERE version_id = ${v}`;
        },
        parameters: { count: 'rm -rf /' },
        reason: /parameters do not satisfy the signed parameter schema: \/count must be integer/,
      },
      { name: 'unsigned', change: (v) => tamper(v, { signature: null }), reason: /deployment version is not signed/ },
    ];
    for (const c of cases) {
      const { id, versionId } = await deploy(await signedRequest(`attacked-${c.name}`, 'guarded'));
      await c.change(versionId);
      await expectRefused(await run(id, (c.parameters as Record<string, unknown>) ?? { count: 1 }), c.reason);
    }
  });

  it("refuses a signature replayed from another deployment, and one made with the attacker's own key", async () => {
    // Replay: deployment B's whole signed version (its code, entrypoint and signature) onto A.
    const a = await deploy(await signedRequest('replay-a', 'guarded'));
    const b = await deploy(await signedRequest('replay-b', 'guarded', signKey, { entrypoint: otherEntry }));
    const [version] = await plane.server.sql<Array<{ entrypoint: string; signature: string }>>`
      SELECT entrypoint, signature FROM deployment_versions WHERE id = ${b.versionId}`;
    await tamper(a.versionId, { entrypoint: version!.entrypoint, signature: version!.signature });
    await expectRefused(await run(a.id), /another deployment name than the deployment's signature/);

    // The attacker signs what they want with a key of their own: the API cannot tell, the worker can.
    const forged = await deploy(await signedRequest('forged', 'guarded', attackerKey, { entrypoint: otherEntry }));
    await expectRefused(await run(forged.id), /signed by a key this worker does not trust/);

    // A signature of the customer's, moved to another pool than it names.
    const moved = await deploy(await signedRequest('moved', 'trusting'));
    const [movedVersion] = await plane.server.sql<Array<{ signature: string }>>`
      SELECT signature FROM deployment_versions WHERE id = ${moved.versionId}`;
    const target = await deploy(await signedRequest('moved-target', 'guarded'));
    await tamper(target.versionId, { signature: movedVersion!.signature });
    await expectRefused(await run(target.id), /another deployment name|another work pool/);
  });

  it('an API that is asked to store a signature of another request refuses it', async () => {
    const body = await signedRequest('mismatched', 'guarded');
    const result = await plane.owner.call('deploymentsUpsert', { body: { ...body, entrypoint: otherEntry } as never });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain('body.signature');
  });

  it('leaves no marker of attacker code on either worker and no form of the secret in the database', async () => {
    for (const id of runs) await plane.settled(id, 90_000);
    for (const home of homes) expect(readdirSync(home).filter((f) => f.startsWith('pwned'))).toEqual([]);
    expect(existsSync(join(homes[1]!, 'pwned-node-options'))).toBe(false);
    const sql = plane.server.sql;
    const tables = await sql<Array<{ name: string }>>`
      SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
      FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`;
    let dump = '';
    for (const { name } of tables) {
      const rows = await sql.unsafe<Array<{ row: string }>>(`SELECT t::text AS row FROM ${name} t`);
      dump += rows.map((r) => r.row).join('\n');
    }
    expect(dump).toContain('connected as app with ***');
    for (const form of [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)]) {
      expect(dump, 'the control plane database holds the secret').not.toContain(form);
    }
  });
});
