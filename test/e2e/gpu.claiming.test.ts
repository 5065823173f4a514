import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrap } from '@outpost/sdk/client';
import type { FlowRunAttempt } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

const TAG = 'team:vision';
/** GPUs each of the ten runs asks for, and which carry the quota-limited tag. */
const RUNS: Array<{ gpus: number; tagged: boolean }> = [
  { gpus: 1, tagged: true },
  { gpus: 2, tagged: false },
  { gpus: 3, tagged: false },
  { gpus: 1, tagged: true },
  { gpus: 2, tagged: true },
  { gpus: 1, tagged: false },
  { gpus: 3, tagged: false },
  { gpus: 1, tagged: true },
  { gpus: 2, tagged: false },
  { gpus: 1, tagged: true },
];

interface Interval {
  runId: string;
  gpus: string[];
  tagged: boolean;
  start: number;
  end: number;
}

describe('GPU-aware claiming with a real worker', () => {
  let scratch: string;
  let holdDir: string;
  let plane: Plane;
  let worker: WorkerProcess;
  const runs: Array<{ id: string; gpus: number; tagged: boolean }> = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-gpu-'));
    holdDir = join(scratch, 'hold');
    mkdirSync(holdDir);
    const source = await buildWorkerFlows(join(scratch, 'bundle'));
    plane = await Plane.start();
    unwrap(await plane.owner.call('poolsUpdate', { params: { pool: 'default' }, body: { gpuQuotaByTag: { [TAG]: 2 } } }));
    const deploymentId = await plane.deploy('gpu', source, { resources: { gpus: 1 } });
    worker = startWorkerProcess(
      ['--pool', 'default', '--gpus', '0,1,2,3', '--limit', '10', '--heartbeat-interval', '1s', '--poll-wait', '1s'],
      {
        ...workerEnv({ url: plane.server.url, key: await plane.server.createKey('worker', ['default']) }, scratch),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
      },
    );
    for (const spec of RUNS) {
      const { flowRun } = unwrap(
        await plane.owner.call('deploymentsCreateRun', {
          params: { id: deploymentId },
          body: { parameters: { dir: holdDir }, resources: { gpus: spec.gpus }, ...(spec.tagged ? { tags: [TAG] } : {}) },
        }),
      );
      runs.push({ id: flowRun.id, ...spec });
    }
  });

  afterAll(async () => {
    await worker?.stop();
    await plane?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs all ten, never handing one device to two attempts at once, within the tag quota', async () => {
    // Let the flows go a wave at a time: whatever has started is released once the worker has had
    // a chance to fill its free devices, until every run has ended.
    const released = new Set<string>();
    const unfinished = async () => {
      const left = [];
      for (const run of runs) if (!isTerminal((await plane.get(run.id)).state.type)) left.push(run.id);
      return left;
    };
    for (;;) {
      const left = await unfinished();
      if (left.length === 0) break;
      const started = await waitFor(
        () => {
          const names = readdirSync(holdDir);
          const waiting = left.filter((id) => names.includes(`started-${id}`) && !released.has(id));
          return waiting.length > 0 ? waiting : null;
        },
        60_000,
        'a held run to start',
      );
      for (const id of started) {
        writeFileSync(join(holdDir, `release-${id}`), '');
        released.add(id);
      }
      await waitFor(
        async () => {
          for (const id of started) if (!isTerminal((await plane.get(id)).state.type)) return false;
          return true;
        },
        60_000,
        'the released runs to end',
      );
    }
    expect(released.size).toBe(RUNS.length);

    const intervals: Interval[] = [];
    for (const run of runs) {
      expect((await plane.get(run.id)).state.type).toBe('COMPLETED');
      const attempts: FlowRunAttempt[] = unwrap(await plane.owner.call('flowRunsAttempts', { params: { id: run.id } })).items;
      expect(attempts).toHaveLength(1);
      const [attempt] = attempts as [FlowRunAttempt];
      expect(attempt.assigned?.gpus).toHaveLength(run.gpus);
      for (const id of attempt.assigned?.gpus ?? []) expect(['0', '1', '2', '3']).toContain(id);
      expect(attempt.startedAt).not.toBeNull();
      expect(attempt.endedAt).not.toBeNull();
      intervals.push({
        runId: run.id,
        gpus: attempt.assigned?.gpus ?? [],
        tagged: run.tagged,
        start: Date.parse(attempt.startedAt as string),
        end: Date.parse(attempt.endedAt as string),
      });
      // The flow saw exactly its devices.
      const lines = (await plane.lines(run.id)).map((l) => l.message);
      expect(lines).toContain(`CUDA_VISIBLE_DEVICES=${attempt.assigned?.gpus.join(',')}`);
      expect(lines).toContain(`OUTPOST_ASSIGNED_GPUS=${attempt.assigned?.gpus.join(',')}`);
      expect(existsSync(join(holdDir, `started-${run.id}`))).toBe(true);
    }

    // No device is held by two attempts whose intervals overlap.
    let overlapping = 0;
    for (const [i, a] of intervals.entries()) {
      for (const b of intervals.slice(i + 1)) {
        if (a.start < b.end && b.start < a.end) {
          overlapping++;
          const shared = a.gpus.filter((g) => b.gpus.includes(g));
          expect(shared, `runs ${a.runId} and ${b.runId} overlap and share ${shared.join(',')}`).toEqual([]);
        }
      }
    }
    // Runs did run side by side: the check above compared something.
    expect(overlapping).toBeGreaterThan(0);

    // The tagged runs never held more than 2 GPUs at once: sweep their starts and ends in time order.
    const events = intervals
      .filter((i) => i.tagged)
      .flatMap((i) => [
        { at: i.start, delta: i.gpus.length },
        { at: i.end, delta: -i.gpus.length },
      ])
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    let inUse = 0;
    let peak = 0;
    for (const event of events) {
      inUse += event.delta;
      peak = Math.max(peak, inUse);
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
  });

  it('shows the devices and their use on the pool workers list and the pool metrics', async () => {
    const { items } = unwrap(await plane.owner.call('workersList', { params: { pool: 'default' } }));
    const listed = items.find((w) => (w.resources?.gpus.length ?? 0) > 0);
    expect(listed?.resources?.gpus.map((g) => g.id)).toEqual(['0', '1', '2', '3']);
    expect(listed?.gpus?.every((g) => g.runId === null)).toBe(true);
    const metrics = unwrap(await plane.owner.call('poolsMetrics', { params: { pool: 'default' } }));
    expect(metrics).toMatchObject({ queueDepth: 0, gpusTotal: 4, gpusFree: 4, gpusRequested: 0 });
  });
});
