import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { capturedLogger } from './support/test-worker.js';
import { waitFor } from './support/wait.js';
import { useWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

interface Seen {
  pid: number;
  importedBy: number;
  importedAt: number;
  bundleDir: string | null;
  run: string;
  jobOnly: string | null;
  leftBehind: string | null;
  earlierRun: string | null;
  cwd: string;
}

describe('warm starts', () => {
  let source: string;
  const { logger, lines: workerLog } = capturedLogger();
  const suite = useWorkerOnFakeApi(
    'warm',
    async (scratch) => {
      const built = await buildBundle({ projectDir: FIXTURES, entrypoints: ['flows/warm.ts', 'flows/warm-reads-env.ts'] });
      await stopEsbuild();
      ({ source } = await pushBundle(built, `oci-layout://${join(scratch, 'layout')}`));
      return {
        args: ['--limit', '1', '--prestart', '1', '--warm', '2'],
        vars: { OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}` },
        logger,
      };
    },
    120_000,
  );

  const started = (runId: string) => workerLog.find((l) => l.msg === 'flow process started' && l.runId === runId);
  const warmed = (deploymentId: string) =>
    workerLog.filter((l) => l.msg === 'warm flow process ready' && String(l.version).includes(deploymentId));

  async function run(
    deploymentId: string,
    flowName: string,
    entrypoint: string,
    env: Record<string, string>,
  ): Promise<{ id: string; lines: string[] }> {
    const id = suite.api.enqueue({ source, entrypoint, flowName, deploymentId, jobVariables: { env } });
    const outcome = await suite.outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    return { id, lines: [...suite.api.runs.get(id)!.logs.values()].map((l) => l.message) };
  }
  const seenIn = (lines: string[]) => JSON.parse(lines.find((l) => l.startsWith('{"pid"'))!) as Seen;

  it("gives a deployment's next run a process that imported its code before the run existed, with the run's own variables and nothing of the run before", async () => {
    const deployment = crypto.randomUUID();
    const first = await run(deployment, 'warm', 'flows/warm.ts', { JOB_ONLY: 'first' });
    expect(started(first.id)?.warm).toBe(false);
    await waitFor(() => warmed(deployment)[0], 30_000, 'a warm process for the deployment');

    const enqueuedAt = Date.now();
    const second = await run(deployment, 'warm', 'flows/warm.ts', { JOB_ONLY: 'second' });
    expect(started(second.id)?.warm).toBe(true);
    const seen = seenIn(second.lines);
    expect(seen.run).toBe(second.id);
    expect(seen.importedBy).toBe(seen.pid);
    expect(seen.importedAt).toBeLessThan(enqueuedAt);
    expect(seen.pid).not.toBe(seenIn(first.lines).pid);
    expect(seen.jobOnly).toBe('second');
    expect(seen.leftBehind).toBeNull();
    expect(seen.earlierRun).toBeNull();
    expect(seen.cwd).toContain(join(suite.scratch, 'cache'));
    // Read at import, yet no reason to start afresh: every run of this version has the same bundle directory.
    expect(seen.bundleDir).toBe(seen.cwd);
  });

  it('never gives a warm process to another deployment of the same code', async () => {
    const one = crypto.randomUUID();
    await run(one, 'warm', 'flows/warm.ts', {});
    await waitFor(() => warmed(one)[0], 30_000, 'a warm process for the first deployment');
    const other = await run(crypto.randomUUID(), 'warm', 'flows/warm.ts', {});
    expect(started(other.id)?.warm).toBe(false);
  });

  it('starts a run whose variables the code read at import in a fresh process, says why in its logs, and does not warm that version again', async () => {
    const deployment = crypto.randomUUID();
    const env = { API_TOKEN: 'token-of-the-job' };
    await run(deployment, 'reads-env', 'flows/warm-reads-env.ts', env);
    await waitFor(() => warmed(deployment)[0], 30_000, 'a warm process for the deployment');

    const second = await run(deployment, 'reads-env', 'flows/warm-reads-env.ts', env);
    expect(started(second.id)?.warm).toBe(false);
    expect(second.lines.some((l) => l.includes('reads API_TOKEN when imported'))).toBe(true);
    expect(seenIn(second.lines)).toMatchObject({ token: 'token-of-the-job' });

    const third = await run(deployment, 'reads-env', 'flows/warm-reads-env.ts', env);
    expect(started(third.id)?.warm).toBe(false);
    expect(third.lines.some((l) => l.includes('when imported'))).toBe(false);
    expect(warmed(deployment)).toHaveLength(1);
    expect(seenIn(third.lines)).toMatchObject({ token: 'token-of-the-job' });
  });
});
