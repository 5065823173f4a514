import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import { stop as stopEsbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../sdk/test/support/registry.js';
import { git, makeFlowRepo, removeVendoredSdk } from '../../worker/test/support/git-repo.js';
import { writeBundle } from '../support/bundles.js';
import { type GitHttpsServer, startGitHttps } from '../support/git-https.js';
import { repoRoot, runCli } from '../support/processes.js';
import { runSettled, startWorkerProcess, type WorkerProcess, workerEnv } from '../support/worker-process.js';

const FIXTURE = join(repoRoot, 'test/e2e/fixtures/worker-flows');
const REGISTRY_USER = { username: 'puller', password: 'pull-pw-7c1e' };

describe('worker: every code source', () => {
  let scratch: string;
  let server: TestServer;
  let owner: OutpostClient;
  let registry: TestRegistry;
  let gitServer: GitHttpsServer;
  let worker: WorkerProcess;
  let gpuWorker: WorkerProcess | null = null;
  const sources: Record<string, string> = {};

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-sources-'));
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });

    // 1. The customer's registry, with a password: the deployer's push and the worker's pull each use their own.
    registry = await startRegistry({ htpasswd: REGISTRY_USER });
    const built = await buildBundle({ projectDir: FIXTURE, entrypoints: ['flows/worker.ts'] });
    sources.registry = (await pushBundle(built, `oci://${registry.host}/acme/flows`, { credentials: REGISTRY_USER })).source;
    // A second push with one file of its own, which is then altered on the registry's disk, behind its back.
    const extra = new TextEncoder().encode('export const injected = false;\n');
    const variant = { ...built, files: [...built.files, { path: 'flows/extra.mjs', bytes: extra }] };
    sources.tampered = (await pushBundle(variant, `oci://${registry.host}/acme/flows`, { credentials: REGISTRY_USER })).source;
    const blob = registry.blobDataPath(`sha256:${createHash('sha256').update(extra).digest('hex')}`);
    writeFileSync(blob, `${readFileSync(blob, 'utf8').replace('false', 'true ')}`);

    // 2. A local directory, for development.
    sources.dir = writeBundle(built, join(scratch, 'dir-bundle'));
    await stopEsbuild();

    // 3. A git repository served over HTTPS, deployed with `outpost deploy` from a config with source.git.
    const work = join(scratch, 'repo');
    const bare = join(scratch, 'git-root', 'flows.git');
    gitServer = await startGitHttps(join(scratch, 'git-root'), join(scratch, 'certs'));
    const repoUrl = `${gitServer.url}/flows.git`;
    await makeFlowRepo(work, {
      'flows/worker.ts': readFileSync(join(FIXTURE, 'flows/worker.ts'), 'utf8'),
      'outpost.config.ts': `export default {
  project: 'git-flows',
  source: { git: { url: '${repoUrl}', ref: 'main' } },
  deployments: [{ flow: 'hello', name: 'git', entrypoint: 'flows/worker.ts' }],
};
`,
    });
    mkdirSync(dirname(bare), { recursive: true });
    await git(scratch, 'clone', '--quiet', '--bare', work, bare);
    // The deployer's checkout resolves @outpost/sdk for reading flow schemas; the worker installs from the lockfile.
    symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
    const deployed = await runCli(
      ['deploy'],
      { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey, GIT_SSL_CAINFO: gitServer.caFile, HOME: scratch },
      work,
    );
    expect(deployed.output).toContain('registered hello/git');
    expect(deployed.code).toBe(0);
    sources.git = `git+${repoUrl}#${await git(work, 'rev-parse', 'main')}`;

    const workerKey = await server.createKey('worker', ['default']);
    worker = startWorkerProcess(['--pool', 'default', '--name', 'plain', '--heartbeat-interval', '500ms', '--poll-wait', '1s'], {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: workerKey,
      OUTPOST_REGISTRY_USERNAME: REGISTRY_USER.username,
      OUTPOST_REGISTRY_PASSWORD: REGISTRY_USER.password,
      GIT_SSL_CAINFO: gitServer.caFile,
      HOME: scratch,
      OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
      OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
    });
  });

  afterAll(async () => {
    if (process.env.OUTPOST_E2E_DEBUG) process.stderr.write(`${worker?.output().slice(-8000)}\n`);
    await worker?.stop();
    await gpuWorker?.stop();
    await owner?.close();
    await server?.close();
    await registry?.stop();
    await gitServer?.close();
    await removeVendoredSdk();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function deploy(name: string, source: string, extra: { labels?: Record<string, string> } = {}): Promise<string> {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: 'hello', name, source, entrypoint: 'flows/worker.ts', workPool: 'default', ...extra },
      }),
    );
    return deployment.id;
  }

  async function runOf(deploymentId: string): Promise<string> {
    const { flowRun } = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
    return flowRun.id;
  }

  async function settled(runId: string): Promise<FlowRun> {
    return runSettled(owner, runId, 60_000);
  }

  it('runs a flow pulled from a password-protected registry, a git repository over HTTPS and a local directory', async () => {
    expect(sources.git).toMatch(/^git\+https:\/\/127\.0\.0\.1:\d+\/flows\.git#[0-9a-f]{40}$/);
    const gitDeployment = unwrap(await owner.call('deploymentsGetByName', { params: { flow: 'hello', name: 'git' } }));
    expect(gitDeployment.source).toBe(sources.git);
    const runs = {
      registry: await runOf(await deploy('registry', sources.registry!)),
      git: await runOf(gitDeployment.id),
      dir: await runOf(await deploy('dir', sources.dir!)),
    };
    for (const [kind, runId] of Object.entries(runs)) {
      const run = await settled(runId);
      expect(run.state.type, `${kind}: ${run.state.message}`).toBe('COMPLETED');
      const logs = unwrap(await owner.call('logsRead', { params: { id: runId } })).items.map((l) => l.message);
      expect(logs, kind).toContain(`hello from ${runId}`);
    }
  });

  it('refuses a bundle whose bytes do not match their digest and fails the run saying so', async () => {
    const run = await settled(await runOf(await deploy('tampered', sources.tampered!)));
    expect(run.state.type).toBe('FAILED');
    expect(run.state.message).toContain('refused to run the flow bundle (integrity check failed)');
    const states = unwrap(await owner.call('flowRunsStates', { params: { id: run.id } })).items.map((s) => s.state.type);
    expect(states).not.toContain('RUNNING');
  });

  it('fails `outpost deploy` with exit code 3 when the git repository cannot be reached', async () => {
    const work = join(scratch, 'unreachable');
    mkdirSync(join(work, 'flows'), { recursive: true });
    cpSync(join(FIXTURE, 'flows/worker.ts'), join(work, 'flows/worker.ts'));
    symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
    writeFileSync(
      join(work, 'outpost.config.ts'),
      `export default { project: 'gone', source: { git: { url: 'file://${scratch}/no-such-repo.git', ref: 'main' } },
  deployments: [{ flow: 'hello', name: 'gone', entrypoint: 'flows/worker.ts' }] };\n`,
    );
    const result = await runCli(
      ['deploy'],
      { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey, HOME: scratch },
      work,
    );
    expect(result.code).toBe(3);
    expect(result.output).toContain('cannot resolve main in file://');
    expect((await owner.call('deploymentsGetByName', { params: { flow: 'hello', name: 'gone' } })).ok).toBe(false);
  });

  it('leaves a run that requires a label to a worker that has it', async () => {
    const gpuRun = await runOf(await deploy('gpu', sources.dir!, { labels: { gpu: 'true' } }));
    // A run created after it and claimable by the plain worker: once it is done, the plain worker has polled past the gpu run.
    const plainRun = await runOf(await deploy('dir', sources.dir!));
    expect((await settled(plainRun)).state.type).toBe('COMPLETED');
    expect(unwrap(await owner.call('flowRunsGet', { params: { id: gpuRun } })).state.type).toBe('SCHEDULED');
    gpuWorker = startWorkerProcess(
      ['--pool', 'default', '--name', 'gpu-box', '--label', 'gpu=true', '--heartbeat-interval', '500ms', '--poll-wait', '1s'],
      {
        ...workerEnv({ url: server.url, key: await server.createKey('worker', ['default']) }, scratch, 'gpu'),
      },
    );
    const run = await settled(gpuRun);
    expect(run.state.type).toBe('COMPLETED');
    // Each worker logs the runs it claims: only the labelled one ever had this run.
    expect(gpuWorker.output()).toContain(gpuRun);
    expect(worker.output()).not.toContain(gpuRun);
  });
});
