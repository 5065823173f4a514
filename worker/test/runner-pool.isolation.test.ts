import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import type { WorkerHandle } from '../src/worker.js';
import { buildDemoBundle } from './support/bundle.js';
import { FAKE_WORKER_KEY, FakeApi } from './support/fake-api.js';
import { tearDown } from './support/leaks.js';
import { capturedLogger, startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

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
  let scratch: string;
  let bundle: { dir: string; source: string; entrypoint: string };
  let api: FakeApi;
  let worker: WorkerHandle;
  const outcomes: RunOutcome[] = [];
  const { logger, lines: workerLog } = capturedLogger();

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-pool-'));
    bundle = await buildDemoBundle();
    api = new FakeApi();
    await api.start();
    worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: ['--limit', '1', '--prestart', '1', '--heartbeat-interval', '300ms', '--poll-wait', '200ms'],
      vars: { OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}` },
      logger,
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  });

  afterAll(() => tearDown(worker, api, bundle?.dir, scratch));

  async function runIsolation(env?: Record<string, string>): Promise<Seen> {
    const id = api.enqueue({ ...bundle, flowName: 'isolation', jobVariables: env ? { env } : {} });
    const outcome = await waitFor(() => outcomes.find((o) => o.runId === id), 60_000, `run ${id}`);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const line = [...api.runs.get(id)!.logs.values()].find((l) => l.message.startsWith('{"pid"'));
    return JSON.parse(line!.message) as Seen;
  }

  const started = (runId: string) => workerLog.find((l) => l.msg === 'flow process started' && l.runId === runId);

  it('gives each run its own pre-started process with the run environment and bundle directory, and nothing of the run before', async () => {
    const first = await runIsolation({ JOB_ONLY: 'first-run' });
    expect(first.jobOnly).toBe('first-run');
    expect(first.leftBehind).toBeNull();
    expect(first.cwd).toBe(bundle.dir);
    expect(first.results).toBe(`file://${join(scratch, 'results')}`);
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
