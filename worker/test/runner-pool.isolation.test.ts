import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDemoBundle } from './support/bundle.js';
import { capturedLogger } from './support/test-worker.js';
import { useWorkerOnFakeApi } from './support/worker-on-fake-api.js';

interface Seen {
  pid: number;
  cwd: string;
  run: string;
  jobOnly: string | null;
  leftBehind: string | null;
  results: string | null;
  heapMb: number;
  timeZone: string;
}

describe('pre-started flow processes', () => {
  let bundle: { dir: string; source: string; entrypoint: string };
  const { logger, lines: workerLog } = capturedLogger();
  const suite = useWorkerOnFakeApi('pool', async (scratch) => {
    bundle = await buildDemoBundle();
    return {
      args: ['--limit', '1', '--prestart', '1'],
      vars: { OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}` },
      logger,
      cleanup: [bundle.dir],
    };
  });

  async function runIsolation(env?: Record<string, string>): Promise<Seen> {
    const id = suite.api.enqueue({ ...bundle, flowName: 'isolation', jobVariables: env ? { env } : {} });
    const outcome = await suite.outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const line = [...suite.api.runs.get(id)!.logs.values()].find((l) => l.message.startsWith('{"pid"'));
    return JSON.parse(line!.message) as Seen;
  }

  const started = (runId: string) => workerLog.find((l) => l.msg === 'flow process started' && l.runId === runId);

  it('gives each run its own pre-started process with the run environment and bundle directory, and nothing of the run before', async () => {
    const first = await runIsolation({ JOB_ONLY: 'first-run' });
    expect(first.jobOnly).toBe('first-run');
    expect(first.leftBehind).toBeNull();
    expect(first.cwd).toBe(bundle.dir);
    expect(first.results).toBe(`file://${join(suite.scratch, 'results')}`);
    expect(started(first.run)?.prestarted).toBe(true);
    // The pool refills after each use; the next run gets a new process.
    const second = await runIsolation();
    expect(second.pid).not.toBe(first.pid);
    expect(second.run).not.toBe(first.run);
    expect(second.jobOnly).toBeNull();
    expect(second.leftBehind).toBeNull();
    expect(started(second.run)?.prestarted).toBe(true);
  });

  // Of the variables read at process start, only TZ may be a job variable (NODE_OPTIONS and its kin are refused).
  it('starts a fresh process for a run whose variables only work at process start', async () => {
    const seen = await runIsolation({ TZ: 'Asia/Tokyo' });
    expect(seen.timeZone).toBe('Asia/Tokyo');
    expect(started(seen.run)?.prestarted).toBe(false);
  });
});
