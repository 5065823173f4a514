import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker } from '../support/cli-worker.js';
import { repoRoot, runCli, type Spawned } from '../support/processes.js';

/** Only ever inside a task's result: it must reach the worker's result storage and never the control plane. */
const RESULT_MARKER = 'feature-row-5e8a1f33';

const PIPELINE_CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'pipeline',
  registry: 'oci-layout:./.outpost/registry',
  deployments: [{ flow: 'pipeline', name: 'default', entrypoint: 'flows/pipeline.ts', pool: 'default' }],
});
`;

const PIPELINE_FLOW = `import { artifact, flow, log, task, z } from '@outpost/sdk';

const load = task({ name: 'load', cache: true }, async (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: i, label: '${RESULT_MARKER}-' + i })),
);
const embed = task('embed', async (row: { id: number; label: string }) => row.label.length + row.id);

export const evaluate = flow({ name: 'evaluate', params: z.object({ scores: z.array(z.number()) }) }, async ({ scores }) => {
  log.info('evaluating ' + scores.length + ' scores');
  await artifact.table('scores', scores.map((score, i) => ({ item: i, score })));
  return scores.reduce((a, b) => a + b, 0);
});

export const pipeline = flow({ name: 'pipeline', params: z.object({ n: z.number().int().default(4) }) }, async ({ n }) => {
  const rows = await load(n);
  await artifact.progress('pipeline', 0.5);
  const scores = await embed.map(rows, { concurrency: 2 });
  const total = await evaluate({ scores });
  await artifact.markdown('pipeline-report', '# Pipeline\\n\\nTotal score: **' + total + '**');
  await artifact.link('pipeline-dashboard', 'https://dashboards.example.internal/pipeline', 'pipeline dashboard');
  await artifact.progress('pipeline', 1);
  log.info('pipeline total ' + total);
  return { total };
});
`;

/** Runs a program to completion in `cwd` and returns its exit code and output. */
async function runNode(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

/** Every row of every table of the control plane's database, as text. */
async function databaseDump(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name
      FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`;
    let dump = '';
    for (const { name } of tables) {
      for (const { row } of await sql.unsafe<{ row: string }[]>(`SELECT t::text AS row FROM ${name} t`)) dump += `${row}\n`;
    }
    return dump;
  } finally {
    await sql.end();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('the developer loop: outpost init, vitest, deploy, a worker, logs, and the SDK runtime features end to end', () => {
  let server: TestServer;
  let scratch: string;
  let project: string;
  let env: Record<string, string>;
  let client: OutpostClient;
  let worker: Spawned | undefined;
  let workerResults: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'outpost-e2e-sdk-'));
    project = path.join(scratch, 'churn-model');
    workerResults = path.join(scratch, 'worker-results');
    server = await startTestServer();
    env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  });

  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await client?.close();
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('outpost init scaffolds a project, keeps every file of it when run again, and its vitest test passes against the workspace SDK', async () => {
    const created = await runCli(['init', project], {}, scratch);
    expect(created.output).toContain('created project churn-model');
    expect(created.code).toBe(0);
    for (const file of ['outpost.config.ts', 'flows/example.ts', 'flows/example.test.ts', 'package.json', '.gitignore']) {
      expect(existsSync(path.join(project, file)), file).toBe(true);
    }
    const pkg = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'churn-model', type: 'module', dependencies: { '@outpost/sdk': expect.any(String) } });
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@outpost/cli', '@types/node', 'tsx', 'typescript', 'vitest']);

    // Again in the same directory: an existing project, whose files are each kept as they are.
    const configBefore = await readFile(path.join(project, 'outpost.config.ts'), 'utf8');
    await writeFile(
      path.join(project, 'flows/example.ts'),
      `${await readFile(path.join(project, 'flows/example.ts'), 'utf8')}// mine\n`,
    );
    const again = await runCli(['init', project, '--skip-install'], {}, scratch);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain(`skipped ${path.join(project, 'outpost.config.ts')} (it exists; left as it is)`);
    expect(await readFile(path.join(project, 'outpost.config.ts'), 'utf8')).toBe(configBefore);
    expect(await readFile(path.join(project, 'flows/example.ts'), 'utf8')).toContain('// mine');

    // Instead of installing from a registry: @outpost/sdk is this workspace's SDK, the rest the workspace's own copies.
    await mkdir(path.join(project, 'node_modules', '@outpost'), { recursive: true });
    await symlink(path.join(repoRoot, 'sdk'), path.join(project, 'node_modules', '@outpost', 'sdk'), 'dir');
    // `@types` too: `outpost deploy` type-checks the project, as `npm install` would have let it.
    for (const dep of ['zod', 'vitest', 'tsx', '@types']) {
      await symlink(path.join(repoRoot, 'node_modules', dep), path.join(project, 'node_modules', dep), 'dir');
    }
    const localResults = pathToFileURL(path.join(scratch, 'local-results')).href;
    const tested = await runNode([path.join(project, 'node_modules/vitest/vitest.mjs'), 'run'], project, {
      OUTPOST_RESULT_STORAGE: localResults,
    });
    expect(tested.output).toMatch(/Tests\s+.*3 passed/);
    expect(tested.code).toBe(0);
  });

  it('deploys to an OCI layout; a worker runs it; outpost logs --follow prints its lines and exits when the run ends', async () => {
    const deployed = await runCli(['deploy'], env, project);
    expect(deployed.output).toMatch(/registered example\/default → oci-layout:\/\/\/.*@sha256:[a-f0-9]{64}/);
    expect(deployed.code).toBe(0);

    worker = await startCliWorker(server, scratch, { args: ['--result-storage', pathToFileURL(workerResults).href] });

    const started = await runCli(['run', 'example/default', '--param', 'rows=4'], env);
    expect(started.code).toBe(0);
    const runId = started.output.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0] ?? '';
    expect(runId).not.toBe('');
    // Followed from before the worker has even claimed it, until it ends.
    const followed = await runCli(['logs', runId, '--follow'], env);
    expect(followed.output).toContain('loading 4 rows');
    expect(followed.output).toContain('scored 4 rows, total');
    expect(followed.output).toMatch(/ended COMPLETED/);
    expect(followed.code).toBe(0);

    const tasks = unwrap(await client.call('taskRunsList', { params: { id: runId } })).items;
    expect(
      tasks
        .filter((t) => t.name === 'score')
        .map((t) => t.dynamicKey)
        .sort(),
    ).toEqual(['0', '1', '2', '3']);
    const artifacts = unwrap(await client.call('artifactsList', { params: { id: runId } })).items;
    expect(artifacts.map((a) => [a.key, a.type])).toEqual([['example-summary', 'markdown']]);
  });

  it('runs map, cache, a subflow and artifacts under the worker: the API shows them all and the database holds no result', async () => {
    await writeFile(path.join(project, 'pipeline.config.ts'), PIPELINE_CONFIG);
    await writeFile(path.join(project, 'flows/pipeline.ts'), PIPELINE_FLOW);
    const deployed = await runCli(['deploy', '--config', 'pipeline.config.ts'], env, project);
    expect(deployed.code).toBe(0);

    const runIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const watched = await runCli(['run', 'pipeline/default', '--param', 'n=4', '--watch'], env);
      expect(watched.output).toContain('pipeline total');
      expect(watched.code).toBe(0);
      const runs = unwrap(await client.call('flowRunsList', { query: { flow: 'pipeline' } })).items;
      runIds.push(runs[0]!.id);
    }
    const [first, second] = runIds as [string, string];

    // The cached task ran once: the second run recorded it COMPLETED/Cached with the same key.
    const tasksOf = async (id: string) => unwrap(await client.call('taskRunsList', { params: { id } })).items;
    const loadOf = async (id: string) => (await tasksOf(id)).find((t) => t.name === 'load');
    const [load1, load2] = [await loadOf(first), await loadOf(second)];
    expect(load1?.state).toMatchObject({ type: 'COMPLETED', name: 'Completed' });
    expect(load2?.state).toMatchObject({ type: 'COMPLETED', name: 'Cached' });
    expect(load2?.cacheKey).toMatch(/^[0-9a-f]{64}$/);
    expect(load2?.cacheKey).toBe(load1?.cacheKey);

    const tasks = await tasksOf(second);
    expect(
      tasks
        .filter((t) => t.name === 'embed')
        .map((t) => [t.taskKey, t.dynamicKey, t.state.type])
        .sort(),
    ).toEqual([
      ['embed-0[0]', '0', 'COMPLETED'],
      ['embed-0[1]', '1', 'COMPLETED'],
      ['embed-0[2]', '2', 'COMPLETED'],
      ['embed-0[3]', '3', 'COMPLETED'],
    ]);

    // The subflow is a run of its own, linked to the parent and to the parent's task run for the call.
    const children = unwrap(await client.call('flowRunsChildren', { params: { id: second } })).items;
    expect(children).toHaveLength(1);
    const child = children[0]!;
    const call = tasks.find((t) => t.name === 'evaluate');
    expect(child).toMatchObject({
      flowName: 'evaluate',
      state: { type: 'COMPLETED' },
      parentFlowRunId: second,
      parentTaskRunId: call?.id,
      deploymentId: null,
      parameters: { scores: expect.any(Array) },
    });
    expect(call?.state.type).toBe('COMPLETED');
    const childLogs = unwrap(await client.call('logsRead', { params: { id: child.id }, query: { limit: 100 } })).items;
    expect(childLogs.map((l) => l.message)).toContain('evaluating 4 scores');
    const parentLogs = unwrap(await client.call('logsRead', { params: { id: second }, query: { limit: 1000 } })).items;
    expect(parentLogs.map((l) => l.message)).not.toContain('evaluating 4 scores');

    // Artifacts: the child's table, the parent's report, link and a single progress bar at 100%.
    const childArtifacts = unwrap(await client.call('artifactsList', { params: { id: child.id } })).items;
    expect(childArtifacts.map((a) => [a.key, a.type])).toEqual([['scores', 'table']]);
    expect(childArtifacts[0]?.data).toMatchObject({ columns: ['item', 'score'] });
    const parentArtifacts = unwrap(await client.call('artifactsList', { params: { id: second } })).items;
    expect(parentArtifacts.map((a) => `${a.type}:${a.key}`).sort()).toEqual([
      'link:pipeline-dashboard',
      'markdown:pipeline-report',
      'progress:pipeline',
    ]);
    expect(parentArtifacts.find((a) => a.type === 'progress')?.data).toEqual({ progress: 1 });
    const latest = unwrap(await client.call('artifactsLatest', { query: { key: 'pipeline-report' } })).items;
    expect(latest.map((a) => a.flowRunId)).toEqual([second]);

    // The result lives in the worker's own result storage, and nowhere in the control plane.
    const stored = await Promise.all((await filesUnder(workerResults)).map((f) => readFile(f, 'utf8')));
    expect(stored.some((text) => text.includes(RESULT_MARKER))).toBe(true);
    const dump = await databaseDump(server.databaseUrl);
    expect(dump).toContain(load1?.cacheKey ?? 'no cache key'); // the dump holds the key…
    expect(dump).not.toContain(RESULT_MARKER); // …and not the value
  });
});
