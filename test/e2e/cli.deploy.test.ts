import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry } from '../../sdk/test/support/registry.js';
import { startCliWorker } from '../support/cli-worker.js';
import { repoRoot, runCli, type Spawned } from '../support/processes.js';

const HELLO = join(repoRoot, 'sdk/examples/hello');
const SECRET = 'greeting-secret-9f3a71c2';
const REGISTRY_USER = { username: 'deployer', password: 'registry-pw-51d0' };

/** A project outside the repository that resolves @outpost/sdk through the repository's node_modules. */
async function makeProject(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const BOOM_CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'boom',
  registry: 'oci-layout:./registry',
  deployments: [
    { flow: 'boom', name: 'default', entrypoint: 'flows/boom.ts', pool: 'default' },
    { flow: 'boom', name: 'parked', entrypoint: 'flows/boom.ts', pool: 'parked' },
  ],
});
`;
const BOOM_FLOW = `import { flow, log, z } from '@outpost/sdk';
export const boom = flow({ name: 'boom', params: z.object({ reason: z.string().default('on purpose') }) }, async ({ reason }) => {
  log.info('about to fail');
  throw new Error(\`boom: \${reason}\`);
});
`;

const SIGNED_CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'signed',
  registry: 'oci-layout:./registry',
  deployments: [{ flow: 'signed', name: 'default', entrypoint: 'flows/signed.ts', pool: 'signed' }],
});
`;
const SIGNED_FLOW = `import { flow, log } from '@outpost/sdk';
export const signed = flow({ name: 'signed' }, async () => {
  log.info('signed hello');
});
`;

describe('outpost CLI against a real API, registry layout and worker', () => {
  let server: TestServer;
  let scratch: string;
  let env: Record<string, string>;
  let worker: Spawned | null = null;

  beforeAll(async () => {
    server = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'outpost-e2e-cli-'));
    env = {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: server.ownerKey,
      OUTPOST_REGISTRY: `oci-layout://${join(scratch, 'registry')}`,
    };
  });

  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('deploys the example: pushes to an OCI layout and registers a digest-pinned source with the parameter schema', async () => {
    const r = await runCli(['deploy'], env, HELLO);
    expect(r.output).toContain('registered hello/default → oci-layout:///');
    expect(r.code).toBe(0);
    const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    try {
      const got = await client.call('deploymentsGetByName', { params: { flow: 'hello', name: 'default' } });
      expect(got.ok).toBe(true);
      if (!got.ok) return;
      const d = got.data;
      expect(d.source).toMatch(new RegExp(`^oci-layout://${join(scratch, 'registry')}@sha256:[a-f0-9]{64}$`));
      expect(d.entrypoint).toBe('flows/hello.mjs');
      expect(d.workPool).toBe('default');
      expect(d.retries).toBe(1);
      expect(d.jobVariables).toEqual({ env: { GREETING_SECRET: { $secret: 'GREETING_SECRET' } } });
      expect(d.parameterSchema).toMatchObject({ properties: { n: { type: 'integer', minimum: 1, default: 3 } } });
    } finally {
      await client.close();
    }
  });

  it('redeploys an unchanged project as an update whose blobs are all already present', async () => {
    const r = await runCli(['deploy', '--json'], env, HELLO);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/pushed (\d+) blobs \(\1 skipped\)/);
    expect(r.output).toContain('"created": false');
  });

  it('exits 3 and registers nothing when the registry is unreachable', async () => {
    const r = await runCli(['deploy', '--registry', 'oci://127.0.0.1:1/acme/hello'], env, HELLO);
    expect(r.code).toBe(3);
    expect(r.output).toContain('the registry is unreachable');
    const list = await runCli(['deployments', 'ls', '--json'], env);
    const sources = (JSON.parse(list.output) as { source: string }[]).map((d) => d.source);
    expect(sources.some((s) => s.startsWith('oci://127.0.0.1:1/'))).toBe(false);
  });

  it('creates a missing work pool at deploy time', async () => {
    const dir = await makeProject(join(scratch, 'boom'), { 'outpost.config.ts': BOOM_CONFIG, 'flows/boom.ts': BOOM_FLOW });
    const r = await runCli(['deploy'], { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey }, dir);
    expect(r.output).toContain('created work pool parked');
    expect(r.code).toBe(0);
    const pools = await runCli(['pools', 'ls', '--json'], env);
    expect((JSON.parse(pools.output) as { name: string }[]).map((p) => p.name)).toContain('parked');
  });

  it('creates a work pool with a concurrency limit and refuses a duplicate with exit 1', async () => {
    const created = await runCli(['pools', 'create', 'gpu', '--concurrency-limit', '2'], env);
    expect(created.code).toBe(0);
    expect(created.output).toContain('created work pool gpu (concurrency limit 2)');
    const pools = await runCli(['pools', 'ls', '--json'], env);
    expect(
      (JSON.parse(pools.output) as { name: string; concurrencyLimit: number | null }[]).find((p) => p.name === 'gpu'),
    ).toMatchObject({
      concurrencyLimit: 2,
    });
    const again = await runCli(['pools', 'create', 'gpu'], env);
    expect(again.code).toBe(1);
    expect(again.output).toContain('cannot create work pool gpu');
  });

  it('cancels a run that no worker has claimed', async () => {
    const created = await runCli(['run', 'boom/parked'], env);
    expect(created.code).toBe(0);
    const runId = created.output.match(/[0-9a-f]{8}-[0-9a-f-]{27}/)?.[0];
    expect(runId).toBeDefined();
    const cancelled = await runCli(['runs', 'cancel', runId!], env);
    expect(cancelled.code).toBe(0);
    const got = await runCli(['runs', 'get', runId!, '--json'], env);
    expect(['CANCELLING', 'CANCELLED']).toContain((JSON.parse(got.output) as { state: { type: string } }).state.type);
  });

  it('retries a cancelled run as attempt 2, and refuses to retry a run that has not finished', async () => {
    const created = await runCli(['run', 'boom/parked'], env);
    const runId = created.output.match(/[0-9a-f]{8}-[0-9a-f-]{27}/)?.[0];
    expect(runId).toBeDefined();
    const early = await runCli(['runs', 'retry', runId!], env);
    expect(early.output).toContain('only a finished run can be retried');
    expect(early.code).toBe(1);
    expect((await runCli(['runs', 'cancel', runId!], env)).code).toBe(0);
    const retried = await runCli(['runs', 'retry', runId!], env);
    expect(retried.output).toContain('SCHEDULED (AwaitingRetry), attempt 2');
    expect(retried.code).toBe(0);
  });

  describe('with a worker on pool default', () => {
    beforeAll(async () => {
      worker = await startCliWorker(server, scratch, {
        env: {
          GREETING_SECRET: SECRET,
          // The worker pulls with its own registry credentials, never ones from the control plane.
          OUTPOST_REGISTRY_USERNAME: REGISTRY_USER.username,
          OUTPOST_REGISTRY_PASSWORD: REGISTRY_USER.password,
        },
      });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const workers = await runCli(['workers', 'ls', '--pool', 'default', '--json'], env);
        if (workers.code === 0 && (JSON.parse(workers.output) as { status: string }[]).some((w) => w.status === 'ONLINE')) break;
        if (Date.now() > deadline) throw new Error(`the worker did not come online:\n${worker.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });

    it('run --watch prints the logs, with the secret redacted, and exits 0 when the run COMPLETED', async () => {
      const r = await runCli(['run', 'hello/default', '--param', 'n=4', '--watch'], env);
      expect(r.output).toContain('square(4) = 16');
      expect(r.output).toContain('sum of squares 1..4 = 30');
      expect(r.output).toContain('greeting secret: ');
      expect(r.output).not.toContain(SECRET);
      expect(r.output).toMatch(/ended COMPLETED/);
      expect(r.code).toBe(0);
    });

    it('run --watch exits 1 when the run FAILED', async () => {
      const r = await runCli(['run', 'boom/default', '--params-json', '{"reason":"bad input"}', '--watch'], env);
      expect(r.output).toContain('about to fail');
      expect(r.output).toMatch(/ended FAILED/);
      expect(r.code).toBe(1);
    });

    it('logs prints a finished run’s lines in order, and runs ls filters by state', async () => {
      const list = await runCli(['runs', 'ls', '--deployment', 'hello/default', '--state', 'COMPLETED', '--json'], env);
      expect(list.code).toBe(0);
      const runs = JSON.parse(list.output) as { id: string; state: { type: string } }[];
      expect(runs.length).toBeGreaterThan(0);
      expect(runs.every((r) => r.state.type === 'COMPLETED')).toBe(true);
      const logs = await runCli(['logs', runs[0]!.id, '--json'], env);
      expect(logs.code).toBe(0);
      const lines = logs.output
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; message: string });
      const seqs = lines.map((l) => l.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(lines.some((l) => l.message === 'sum of squares 1..4 = 30')).toBe(true);
    });
  });

  describe('with a password-protected registry', () => {
    let registry: { host: string; stop(): Promise<void> };
    let project: string;

    beforeAll(async () => {
      registry = await startRegistry({ htpasswd: REGISTRY_USER });
      project = join(scratch, 'registry-deploy');
      await mkdir(project, { recursive: true });
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('exits 3 when the registry refuses the credentials, and registers nothing', async () => {
      const target = `oci://${registry.host}/acme/hello`;
      await writeFile(
        join(project, '.env'),
        `OUTPOST_REGISTRY=${target}\nOUTPOST_REGISTRY_USERNAME=deployer\nOUTPOST_REGISTRY_PASSWORD=wrong\n`,
      );
      const { OUTPOST_REGISTRY: _layout, ...apiEnv } = env;
      const r = await runCli(['deploy', '--config', join(HELLO, 'outpost.config.ts')], apiEnv, project);
      expect(r.code).toBe(3);
      expect(r.output).toContain(`cannot push the bundle to ${target}: the registry refused the credentials`);
      expect(r.output).not.toContain('wrong');
      const list = await runCli(['deployments', 'ls', '--json'], env);
      expect((JSON.parse(list.output) as { source: string }[]).some((d) => d.source.startsWith(`oci://${registry.host}/`))).toBe(
        false,
      );
    });

    it('deploys with credentials from .env, and the worker pulls the pinned bundle with its own and runs it', async () => {
      const target = `oci://${registry.host}/acme/hello`;
      await writeFile(
        join(project, '.env'),
        `OUTPOST_REGISTRY=${target}\nOUTPOST_REGISTRY_USERNAME=${REGISTRY_USER.username}\nOUTPOST_REGISTRY_PASSWORD=${REGISTRY_USER.password}\n`,
      );
      const { OUTPOST_REGISTRY: _layout, ...apiEnv } = env;
      const r = await runCli(['deploy', '--config', join(HELLO, 'outpost.config.ts')], apiEnv, project);
      expect(r.output).toMatch(new RegExp(`registered hello/default → oci://${registry.host}/acme/hello@sha256:[a-f0-9]{64}`));
      expect(r.code).toBe(0);
      const watched = await runCli(['run', 'hello/default', '--param', 'n=2', '--watch'], env);
      expect(watched.output).toContain(`pulling bundle oci://${registry.host}/acme/hello@sha256:`);
      expect(watched.output).toContain('sum of squares 1..2 = 5');
      expect(watched.code).toBe(0);
    });
  });

  describe('signed deployments', () => {
    let keys: string;
    let project: string;
    let trusting: Spawned | null = null;

    beforeAll(async () => {
      keys = join(scratch, 'deploy-keys');
      project = await makeProject(join(scratch, 'signed-project'), {
        'outpost.config.ts': SIGNED_CONFIG,
        'flows/signed.ts': SIGNED_FLOW,
      });
    });

    afterAll(async () => {
      await trusting?.stop('SIGTERM');
    });

    it('deploy-keys create writes a private key only its owner can read and a public key, and never overwrites them', async () => {
      const r = await runCli(['deploy-keys', 'create', keys], env, scratch);
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/created deploy key [A-Za-z0-9_-]{43}/);
      expect((await stat(join(keys, 'deploy-key.pem'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(keys, 'deploy-key.pub.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
      const again = await runCli(['deploy-keys', 'create', keys], env, scratch);
      expect(again.code).toBe(2);
      expect(again.output).toContain('exists already');
    });

    it('a worker with --trust-key refuses the unsigned deployment and runs the one deploy --sign-key signed', async () => {
      trusting = await startCliWorker(server, scratch, {
        key: await server.createKey('worker', ['signed']),
        name: 'trusting',
        args: ['--pool', 'signed', '--trust-key', join(keys, 'deploy-key.pub.pem')],
      });
      const unsigned = await runCli(['deploy', '--no-typecheck'], env, project);
      expect(unsigned.code).toBe(0);
      const refused = await runCli(['run', 'signed/default', '--watch'], env);
      expect(refused.output).toContain('refused to run: the deployment version is not signed');
      expect(refused.code).toBe(1);

      const signed = await runCli(['deploy', '--no-typecheck', '--sign-key', join(keys, 'deploy-key.pem')], env, project);
      expect(signed.code).toBe(0);
      const ran = await runCli(['run', 'signed/default', '--watch'], env);
      expect(ran.output).toContain('deployment signature verified');
      expect(ran.output).toContain('signed hello');
      expect(ran.code).toBe(0);
    });

    it('deploy exits 2 in one line when the signing key cannot be read', async () => {
      const r = await runCli(['deploy', '--no-typecheck', '--sign-key', join(keys, 'missing.pem')], env, project);
      expect(r.code).toBe(2);
      expect(r.output).toContain('--sign-key: cannot read');
      expect(r.output).not.toMatch(/\n\s+at /);
    });
  });

  it('creates, lists and revokes an API key; the revoked key is refused with exit 3', async () => {
    const created = await runCli(['keys', 'create', 'ci-runner', '--role', 'runner', '--json'], env);
    expect(created.code).toBe(0);
    const { apiKey, key } = JSON.parse(created.output) as { apiKey: { id: string }; key: string };
    const asRunner = await runCli(['runs', 'ls'], { ...env, OUTPOST_API_KEY: key });
    expect(asRunner.code).toBe(0);
    const listed = await runCli(['keys', 'ls'], env);
    expect(listed.output).toContain('ci-runner');
    expect(listed.output).not.toContain(key);
    const revoked = await runCli(['keys', 'revoke', apiKey.id], env);
    expect(revoked.code).toBe(0);
    const refused = await runCli(['runs', 'ls'], { ...env, OUTPOST_API_KEY: key });
    expect(refused.code).toBe(3);
  });
});
