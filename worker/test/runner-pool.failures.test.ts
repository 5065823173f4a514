import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerPool } from '../src/runner-pool.js';
import { tearDown } from './support/leaks.js';
import { waitFor } from './support/wait.js';

describe('the runner pool', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-pool-unit-'));
    // A runner that says ready and waits, and one that dies at once.
    writeFileSync(
      join(dir, 'good.mjs'),
      "process.send({ t: 'ready' }); process.on('disconnect', () => process.exit(0)); setInterval(() => {}, 1000);\n",
    );
    writeFileSync(join(dir, 'broken.mjs'), 'process.exit(7);\n');
  });

  afterAll(() => tearDown(dir));

  const pool = (script: string, size: number, logger = pino({ level: 'silent' })) =>
    new RunnerPool({
      size,
      script: join(dir, script),
      execArgv: [],
      env: { PATH: process.env.PATH ?? '' },
      cwd: dir,
      logger,
    });

  it('keeps the configured number of processes waiting, hands each out once and starts a replacement', async () => {
    const p = pool('good.mjs', 2);
    p.start();
    try {
      await waitFor(() => p.readyCount === 2, 10_000, 'two ready processes');
      const first = p.take()!;
      expect(first.isReady).toBe(true);
      expect(p.size).toBe(1);
      await waitFor(() => p.readyCount === 2, 10_000, 'the pool to refill');
      const second = p.take()!;
      expect(second.pid).not.toBe(first.pid);
      for (const proc of [first, second]) {
        await proc.kill();
        await proc.reap(0);
      }
    } finally {
      await p.stop();
    }
    expect(p.take()).toBeNull();
  });

  it('starts the replacement of a taken process only after the caller has had the event-loop turn to hand it its run', async () => {
    const p = pool('good.mjs', 1);
    p.start();
    try {
      await waitFor(() => p.readyCount === 1, 10_000, 'a ready process');
      const startedBefore = p.stats.started;
      const taken = p.take()!;
      // Whatever the caller does in this turn (attach, send `start`) is not held up by a spawn.
      expect(p.stats.started).toBe(startedBefore);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(p.stats.started).toBe(startedBefore + 1);
      await waitFor(() => p.readyCount === 1, 10_000, 'the pool to refill');
      await taken.kill();
      await taken.reap(0);
    } finally {
      await p.stop();
    }
  });

  it('backs off instead of respawning a runner that keeps dying', async () => {
    // The pool says how long it waits before each restart; the starts it made are counted.
    const delays: number[] = [];
    const logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg: string; retryInMs?: number };
          if (entry.msg === 'could not keep a flow process started') delays.push(entry.retryInMs as number);
        },
      },
    );
    const p = pool('broken.mjs', 1, logger);
    p.start();
    try {
      await waitFor(() => delays.length >= 3, 20_000, 'three failed starts');
      // Without the backoff a process that exits at once would be restarted every few milliseconds:
      // each start here waited out the delay announced after the previous failure.
      expect(p.stats.started).toBe(delays.length);
      expect(p.size).toBe(0);
      // Doubling from 0.5 s, half of each delay fixed and half random.
      for (const [i, delay] of delays.slice(0, 3).entries()) {
        const ceiling = 500 * 2 ** i;
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    } finally {
      await p.stop();
    }
  });
});
