import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerPool } from '../src/runner-pool.js';
import { expectNoLiveChildren } from './support/leaks.js';
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

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  const pool = (script: string, size: number) =>
    new RunnerPool({
      size,
      script: join(dir, script),
      execArgv: [],
      env: { PATH: process.env.PATH ?? '' },
      cwd: dir,
      logger: pino({ level: 'silent' }),
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

  it('backs off instead of respawning a runner that keeps dying', async () => {
    const p = pool('broken.mjs', 1);
    const started = Date.now();
    p.start();
    try {
      // An observation window, not a wait for a condition: exponential backoff from 0.5 s allows a handful of starts in it.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(p.size).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
      // Without the backoff a process that exits at once would be restarted every few milliseconds.
      expect(p.stats.started).toBeGreaterThanOrEqual(2);
      expect(p.stats.started).toBeLessThanOrEqual(6);
    } finally {
      await p.stop();
    }
  });
});
