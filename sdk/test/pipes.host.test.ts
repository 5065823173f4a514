import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asset, check, flow, materialize, PipesProcessError, type PipesRunOptions, pipes, task } from '../src/index.js';
import { testFlow } from '../src/testing/index.js';
import { buildPipesScript } from './support/pipes-script.js';

let dir: string;
let script: string;
const previousAssetDir = process.env.OUTPOST_ASSET_DIR;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-pipes-test-'));
  process.env.OUTPOST_ASSET_DIR = path.join(dir, 'assets');
  script = await buildPipesScript(dir);
});

afterAll(async () => {
  if (previousAssetDir === undefined) delete process.env.OUTPOST_ASSET_DIR;
  else process.env.OUTPOST_ASSET_DIR = previousAssetDir;
  await rm(dir, { recursive: true, force: true });
});

const node = (mode: string, extras: Record<string, unknown> = {}, options: PipesRunOptions = {}) =>
  pipes.run([process.execPath, script], { ...options, extras: { mode, ...extras } });

/** A flow whose one task runs the script; the test harness records its logs and artifacts. */
function flowRunning(name: string, mode: string, options: PipesRunOptions = {}) {
  const launch = task(`${name}-launch`, () => node(mode, {}, options));
  return flow({ name }, async () => launch());
}

describe('pipes.run', () => {
  for (const channel of ['fd', 'file'] as const) {
    it(`delivers logs in order, output lines, artifacts and the last result over the ${channel} channel`, async () => {
      const run = await testFlow(flowRunning(`pipes-full-${channel}`, 'full', { channel }), undefined, { fakeClock: false });
      const outcome = run.expectCompleted();
      const lines = run.logs.filter((l) => l.taskKey !== null).map((l) => `${l.level} ${l.message}`);
      expect(lines.filter((l) => l.includes('epoch'))).toEqual([
        'info epoch 1: loss 0.40',
        'warning epoch 2: loss 0.30',
        // debug is under the default threshold
        'error epoch 4: loss 0.20',
      ]);
      expect(lines).toContain('info printed on stdout');
      expect(lines).toContain('warning printed on stderr');
      // Every line belongs to the task run that launched the process.
      const launchRun = run.taskRun(`pipes-full-${channel}-launch`);
      expect(run.logs.filter((l) => l.message.includes('epoch')).every((l) => l.taskRunId === launchRun.id)).toBe(true);

      expect(run.artifacts.map((a) => [a.type, a.key, a.taskRunId === launchRun.id])).toEqual([
        ['markdown', 'report', true],
        ['table', 'metrics', true],
        ['link', 'model', true],
        ['progress', 'training', true],
      ]);
      expect(run.artifacts[0]?.description).toBe('the training report');
      expect(run.artifacts[1]?.data).toEqual({
        columns: ['epoch', 'loss'],
        rows: [
          [1, 0.4],
          [2, 0.3],
        ],
      });
      expect(run.artifacts[2]?.data).toEqual({ url: 'https://models.internal/churn/42', text: 'churn model v42' });

      expect(outcome.exitCode).toBe(0);
      expect(outcome.metadata).toEqual({ auc: 0.91, model_path: 's3://ml-bucket/churn/model.pkl' });
      expect(outcome.checks).toEqual([
        { name: 'auc_above_0_8', passed: true, metadata: { auc: 0.91 } },
        { name: 'no_leakage', passed: false, metadata: { leaked: 3 } },
      ]);
      expect(outcome.artifacts.map((a) => a.key)).toEqual(['report', 'metrics', 'model', 'training']);
      const result = outcome.result as { auc: number; context: Record<string, unknown> };
      expect(result.auc).toBe(0.91);
      expect(result.context).toMatchObject({
        protocol: 1,
        run: { id: run.id, flowName: `pipes-full-${channel}`, attempt: 1, deploymentName: null },
        task: { runId: launchRun.id, name: `pipes-full-${channel}-launch`, key: `pipes-full-${channel}-launch-0`, attempt: 1 },
        asset: null,
        partition: null,
        extras: { mode: 'full' },
      });
    });
  }

  it('writes the context file with mode 0600 in a private directory and removes it when the process ends', async () => {
    const outcome = await node('context');
    const seen = outcome.result as { file: string; mode: number; channel: string };
    expect(seen.mode).toBe(0o600);
    expect(seen.channel).toBe('fd:3');
    expect(existsSync(seen.file)).toBe(false);
    expect(existsSync(path.dirname(seen.file))).toBe(false);

    const viaFile = (await node('context', {}, { channel: 'file' })).result as { file: string; channel: string };
    expect(viaFile.channel).toBe(`file:${path.join(path.dirname(viaFile.file), 'messages.jsonl')}`);
    expect(existsSync(path.dirname(viaFile.file))).toBe(false);
  });

  it('fails with the exit status and the error the client reported when the process exits non-zero', async () => {
    const error = await node('fail').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipesProcessError);
    const failure = error as PipesProcessError;
    expect(failure.exitCode).toBe(3);
    expect(failure.signal).toBeNull();
    expect(failure.clientError).toMatchObject({ type: 'Error', message: 'auc is NaN' });
    expect(failure.message).toMatch(/exited with status 3: Error: auc is NaN$/);
  });

  it('fails saying the command could not start when it does not exist', async () => {
    await expect(pipes.run(['outpost-no-such-program-here'])).rejects.toThrow(
      /could not start outpost-no-such-program-here: spawn outpost-no-such-program-here ENOENT/,
    );
  });

  it('delivers every message over the file channel, the last lines written just before exit included', async () => {
    const count = 2000;
    const run = await testFlow(
      flow({ name: 'pipes-many' }, () => task('many', () => node('many', { count }, { channel: 'file' }))()),
      undefined,
      { fakeClock: false },
    );
    const outcome = run.expectCompleted();
    const lines = run.logs.filter((l) => l.message.startsWith('line ')).map((l) => l.message);
    expect(lines).toHaveLength(count);
    expect(lines[0]).toBe(`line 1 of ${count}`);
    expect(lines.at(-1)).toBe(`line ${count} of ${count}`);
    expect(lines).toEqual(Array.from({ length: count }, (_, i) => `line ${i + 1} of ${count}`));
    expect(outcome.result).toEqual({ sent: count });
  });

  for (const channel of ['fd', 'file'] as const) {
    it(`warns about a malformed line, an unknown method and an over-long line, and keeps reading (${channel})`, async () => {
      const run = await testFlow(
        flow({ name: `pipes-malformed-${channel}` }, () => task('malformed', () => node('malformed', {}, { channel }))()),
        undefined,
        { fakeClock: false },
      );
      const outcome = run.expectCompleted();
      expect(outcome.result).toBe('still here');
      const warnings = run.logs.filter((l) => l.level === 'warning').map((l) => l.message);
      expect(warnings.some((w) => w.includes('a message line is not JSON; ignored: this is not json'))).toBe(true);
      expect(warnings.some((w) => w.includes("unknown message method 'teleport'"))).toBe(true);
      expect(warnings.some((w) => w.includes('a log message needs a level'))).toBe(true);
      expect(warnings.some((w) => /a message line of \d+ bytes is longer than 1048576; skipped/.test(w))).toBe(true);
      const infos = run.logs.filter((l) => l.level === 'info').map((l) => l.message);
      expect(infos.indexOf('before the bad lines')).toBeGreaterThanOrEqual(0);
      expect(infos.indexOf('after the bad lines')).toBeGreaterThan(infos.indexOf('before the bad lines'));
    });
  }

  it('stops a process that ignores SIGTERM with SIGKILL after the grace period when its signal aborts', async () => {
    const pidFile = path.join(dir, 'stubborn.pid');
    const controller = new AbortController();
    const running = node('stubborn', { pidFile }, { signal: controller.signal, killGraceMs: 300 }).catch((e: unknown) => e);
    const pid = await vi.waitFor(
      () => {
        const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '';
        if (!/^\d+$/.test(text)) throw new Error('the process has not started yet');
        return Number(text);
      },
      { timeout: 20_000, interval: 20 },
    );
    expect(() => process.kill(pid, 0)).not.toThrow();
    const started = Date.now();
    controller.abort(new Error('cancelled by the test'));
    const error = (await running) as PipesProcessError;
    expect(error).toBeInstanceOf(PipesProcessError);
    expect(error.signal).toBe('SIGKILL');
    expect(error.message).toMatch(/was killed by SIGKILL after it was stopped \(Error: cancelled by the test\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it("stops the process when the task's timeout passes", async () => {
    const pidFile = path.join(dir, 'timeout.pid');
    const slow = task({ name: 'slow', timeoutSeconds: 6 }, () =>
      pipes.run([process.execPath, script], { extras: { mode: 'stubborn', pidFile }, killGraceMs: 100 }),
    );
    const run = await testFlow(
      flow({ name: 'pipes-timeout' }, () => slow()),
      undefined,
      { fakeClock: false },
    );
    run.expectFailed(/timed out/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' })), {
      timeout: 10_000,
      interval: 20,
    });
  });
});

describe('pipes in an asset', () => {
  it("adds the reported metadata to the asset's materialisation and decides pipes.reportedCheck() checks by what was reported", async () => {
    const model = asset(
      {
        key: 'pipes/model',
        checks: [
          check('auc_above_0_8', { blocking: true }, pipes.reportedCheck()),
          check('no_leakage', pipes.reportedCheck()),
          check('never_sent', pipes.reportedCheck()),
          check('renamed', pipes.reportedCheck('auc_above_0_8')),
        ],
      },
      async (ctx) => {
        ctx.addMetadata({ rows: 10 });
        const run = await pipes.run([process.execPath, script], { asset: ctx, extras: { mode: 'full' } });
        return (run.result as { context: unknown }).context;
      },
    );
    const result = await materialize([model]);
    const materialization = result.events.find((e) => e.kind === 'materialization');
    if (materialization?.kind !== 'materialization') throw new Error('expected a materialisation');
    expect(materialization.metadata).toMatchObject({ rows: 10, auc: 0.91, model_path: 's3://ml-bucket/churn/model.pkl' });
    const checks = Object.fromEntries(
      result.events.flatMap((e) => (e.kind === 'check' ? [[e.checkName, { passed: e.passed, metadata: e.metadata }]] : [])),
    );
    expect(checks).toEqual({
      auc_above_0_8: { passed: true, metadata: { auc: 0.91 } },
      no_leakage: { passed: false, metadata: { leaked: 3 } },
      never_sent: { passed: false, metadata: { reported: false } },
      renamed: { passed: true, metadata: { auc: 0.91 } },
    });
    expect(result.valueOf(model)).toMatchObject({
      run: { id: result.runId },
      asset: { key: 'pipes/model', codeVersion: model.codeVersion },
      partition: null,
    });
  });

  it('fails a reported check on a retry whose process never sent it, even though an earlier attempt did', async () => {
    let attempts = 0;
    const flaky = asset(
      { key: 'pipes/flaky', retries: 1, checks: [check('auc_above_0_8', pipes.reportedCheck())] },
      async (ctx) => {
        attempts += 1;
        // The first attempt reports the check and then fails; the second reports nothing.
        await pipes.run([process.execPath, script], { asset: ctx, extras: { mode: attempts === 1 ? 'full' : 'context' } });
        if (attempts === 1) throw new Error('first attempt fails after the process');
        return 1;
      },
    );
    const result = await materialize([flaky]);
    expect(attempts).toBe(2);
    const checkEvent = result.events.find((e) => e.kind === 'check');
    expect(checkEvent).toMatchObject({ checkName: 'auc_above_0_8', passed: false, metadata: { reported: false } });
  });
});
