import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/*
 * The examples in docs/waits.md are files of a project, each block starting with its path
 * (`// flows/report.ts`). This writes them into a project of their own, on the built SDK, type-checks
 * them with the strict settings `outpost init` gives a project, and runs each flow with `testFlow` in
 * a child process: what a reader copies compiles and does what the page says.
 */

const SDK_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_DIR = path.resolve(SDK_DIR, '..');
const TSC = path.join(REPO_DIR, 'node_modules/typescript/bin/tsc');
const DOC = path.join(REPO_DIR, 'docs/waits.md');

/** The ```ts blocks of a page whose first line names a flow file, by that path. */
function exampleFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of markdown.matchAll(/```ts\n\/\/ (flows\/[a-z0-9-]+\.ts)\n([\s\S]*?)```/g)) {
    const [, file, body] = match;
    if (file && body !== undefined) files.set(file, body);
  }
  return files;
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    outDir: 'out',
    rootDir: '.',
  },
  include: ['flows'],
};

/** Runs each example flow with testFlow, answering its waits, and prints what each returned. */
const RUNNER = `
import { testFlow } from '@outpost/sdk/testing';
import { report } from './out/flows/report.js';
import { release } from './out/flows/release.js';
import { exportTable } from './out/flows/export.js';
import { nightly } from './out/flows/nightly.js';

const outcome = (run) => ({ state: run.state, result: run.result, error: run.error?.message ?? null, waits: run.waits.map((w) => [w.key, w.spec.kind, w.status]), deploymentRuns: run.deploymentRuns.map((r) => [r.deployment, r.parameters]) });
const results = {
  report: outcome(await testFlow(report, { day: '2026-11-23', publishAt: '2026-11-24T06:00:00Z' }, {
    now: new Date('2026-11-23T20:00:00Z'),
    events: { 'warehouse.loaded': { kind: 'warehouse.loaded', payload: { day: '2026-11-23', rows: 1200 } } },
  })),
  released: outcome(await testFlow(release, { model: 'churn-v7' }, { approvals: { 'Release churn-v7?': { approved: true, data: { rollout: 25 } } } })),
  rejected: outcome(await testFlow(release, { model: 'churn-v7' }, { approvals: { 'Release churn-v7?': { approved: false, comment: 'not yet' } } })),
  exported: outcome(await testFlow(exportTable, { table: 'orders' }, { tokens: { 'wait-1': { rows: 1200 }, 'sign-off-orders': 'ok' } })),
  nightly: outcome(await testFlow(nightly, { day: '2026-11-23' }, { deployments: { 'train/gpu': { result: { model: 'm', auc: 0.93 } } } })),
};
process.stdout.write(JSON.stringify(results));
`;

let project: string;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'outpost-waits-doc-'));
  await mkdir(path.join(project, 'flows'));
  await mkdir(path.join(project, 'node_modules/@outpost'), { recursive: true });
  await symlink(SDK_DIR, path.join(project, 'node_modules/@outpost/sdk'), 'dir');
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await writeFile(path.join(project, 'run-examples.mjs'), RUNNER);
});
afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe('the examples in docs/waits.md', () => {
  it('compile as written, strict, against the SDK, and each flow does what the page says under testFlow', {
    timeout: 120_000,
  }, async () => {
    const files = exampleFiles(await readFile(DOC, 'utf8'));
    expect([...files.keys()].sort()).toEqual([
      'flows/export.ts',
      'flows/nightly.ts',
      'flows/release.ts',
      'flows/report.ts',
      'flows/train.ts',
    ]);
    for (const [file, body] of files) await writeFile(path.join(project, file), body);

    const compiled = await run(process.execPath, [TSC, '-p', project], { cwd: project }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(compiled, 'tsc errors in the docs/waits.md examples').toBe('');

    const { stdout } = await run(process.execPath, ['run-examples.mjs'], { cwd: project });
    const results = JSON.parse(stdout) as Record<
      string,
      { state: string; result: unknown; error: string | null; waits: unknown[] }
    >;

    expect(results.report).toMatchObject({
      state: 'COMPLETED',
      result: { day: '2026-11-23', rows: 1200 },
      waits: [
        ['wait-1', 'event', 'RESOLVED'],
        ['wait-2', 'until', 'RESOLVED'],
      ],
    });
    expect(results.released).toMatchObject({ state: 'COMPLETED', result: { released: true } });
    expect(results.rejected).toMatchObject({ state: 'COMPLETED', result: { released: false, comment: 'not yet' } });
    expect(results.exported).toMatchObject({
      state: 'COMPLETED',
      result: { rows: 1200, signOff: 'ok' },
      waits: [
        ['wait-1', 'token', 'RESOLVED'],
        ['wait-2', 'token', 'RESOLVED'],
      ],
    });
    expect(results.nightly).toMatchObject({
      state: 'COMPLETED',
      result: { auc: 0.93 },
      deploymentRuns: [['train/gpu', { features: 's3://features/2026-11-23', epochs: 20 }]],
    });
  });
});
