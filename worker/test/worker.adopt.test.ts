import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdoptedAttempt, Attempt, AttemptExit, AttemptSink, Executor } from '../src/executors/executor.js';
import { createProcessExecutor } from '../src/executors/process.js';
import { parseOptions } from '../src/options.js';
import { startWorker, WorkerStartError } from '../src/worker.js';
import { overriding } from './support/executors.js';
import { FakeApi } from './support/fake-api.js';

const RUN_ID = '00000000-0000-4000-8000-00000000ad09';

/** A flow an earlier worker process left running: a real process that would run for a day and writes as it goes. */
function leftRunning(): { child: ChildProcess; attempt: Attempt } {
  const child = spawn(process.execPath, ['-e', "setInterval(() => console.log('still going'), 20)"], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let hasExited = false;
  const exited = new Promise<AttemptExit>((resolve) =>
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    }),
  );
  const attempt: Attempt = {
    runId: RUN_ID,
    attempt: 2,
    exited,
    get hasExited() {
      return hasExited;
    },
    send: () => false,
    stop: async () => {
      if (!hasExited) child.kill('SIGKILL');
      await exited;
    },
    cleanUp: async () => {},
  };
  return { child, attempt };
}

describe('attempts an earlier worker process left running', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('are stopped before the worker claims anything, and their output reaches no sink', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'outpost-adopt-'));
    cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
    const api = new FakeApi();
    await api.start();
    cleanups.push(() => api.close());
    const left = leftRunning();
    cleanups.push(() => {
      if (left.child.exitCode === null && left.child.signalCode === null) left.child.kill('SIGKILL');
    });
    // The child has started writing before the worker comes up, as a flow left running would have.
    await new Promise<void>((resolve) => left.child.stdout!.once('data', () => resolve()));

    const workerLog: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        workerLog.push(chunk.toString());
        done();
      },
    });
    const adoptedSinks: AttemptSink[] = [];
    const seenAtOpen: { exited: boolean; claims: number }[] = [];
    const worker = await startWorker(
      parseOptions(['--pool', 'default', '--heartbeat-interval', '300ms', '--poll-wait', '200ms', '--prestart', '0'], {
        OUTPOST_API_URL: api.url,
        OUTPOST_API_KEY: 'op_worker_key_for_tests',
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
      }),
      {
        logger: pino({ level: 'trace' }, logStream),
        env: { PATH: process.env.PATH ?? '', HOME: scratch },
        executor: (context): Executor => {
          const processes = createProcessExecutor(context);
          return overriding(processes, {
            kind: 'adopting',
            canAdopt: true,
            open: () => {
              seenAtOpen.push({ exited: left.attempt.hasExited, claims: api.claims });
              processes.open();
            },
            adopt: async (sinkFor): Promise<AdoptedAttempt[]> => {
              const sink = sinkFor({ runId: RUN_ID, attempt: 2 });
              adoptedSinks.push(sink);
              // What an executor that re-attached would do with the output from now on.
              left.child.stdout!.on('data', (chunk: Buffer) => sink.line('stdout', chunk.toString()));
              return [{ runId: RUN_ID, attempt: 2, handle: left.attempt }];
            },
          });
        },
      },
    );
    cleanups.push(() => worker.stop({ graceMs: 0 }));

    expect(adoptedSinks).toHaveLength(1);
    expect(seenAtOpen).toEqual([{ exited: true, claims: 0 }]);
    expect(await left.attempt.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Nothing of the adopted attempt was reported: it has no run token, and its run is retried by the API.
    expect(api.runs.has(RUN_ID)).toBe(false);
    const log = workerLog.join('');
    expect(log).toContain('stopping an attempt an earlier worker process left running');
    expect(log).not.toContain('still going');
  });

  it('that cannot be looked for keep the worker from starting: it claims nothing and says why', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'outpost-adopt-'));
    cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
    const api = new FakeApi();
    await api.start();
    cleanups.push(() => api.close());
    let closed = 0;
    const starting = startWorker(
      parseOptions(['--pool', 'default', '--heartbeat-interval', '300ms', '--poll-wait', '200ms', '--prestart', '0'], {
        OUTPOST_API_URL: api.url,
        OUTPOST_API_KEY: 'op_worker_key_for_tests',
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
      }),
      {
        logger: pino({ level: 'silent' }),
        env: { PATH: process.env.PATH ?? '', HOME: scratch },
        executor: (): Executor => ({
          kind: 'adopting',
          canAdopt: true,
          open: () => {},
          start: () => Promise.reject(new Error('never started')),
          adopt: () => Promise.reject(new Error("could not list this worker's Jobs in namespace runs for 60 s")),
          close: async () => {
            closed++;
          },
        }),
      },
    );
    await expect(starting).rejects.toBeInstanceOf(WorkerStartError);
    await expect(starting).rejects.toThrow(
      /earlier worker process left running: could not list this worker's Jobs in namespace runs/,
    );
    expect(api.claims).toBe(0);
    expect(closed).toBe(1);
  });
});
