import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AssetGateResponse, ProposalStatus, StateProposalResponse, StateType } from '../src/contracts/index.js';
import { RunnerToWorkerMessage } from '../src/runtime/index.js';

const runnerPath = fileURLToPath(new URL('../dist/runtime/runner.js', import.meta.url));
const fixturePath = fileURLToPath(new URL('./fixtures/runtime/flows.ts', import.meta.url));
const assetsFixturePath = fileURLToPath(new URL('./fixtures/runtime/assets.ts', import.meta.url));

let bundleDir: string;
let entry: string;
let assetsEntry: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  if (!existsSync(runnerPath)) throw new Error(`${runnerPath} is missing: build the SDK first (npx tsc -p sdk/tsconfig.json)`);
  bundleDir = await mkdtemp(path.join(tmpdir(), 'outpost-runner-'));
  entry = path.join(bundleDir, 'flows.mjs');
  // Like a real bundle: the flows and their own copy of the SDK in one file.
  assetsEntry = path.join(bundleDir, 'assets.mjs');
  for (const [from, outfile] of [
    [fixturePath, entry],
    [assetsFixturePath, assetsEntry],
  ] as const) {
    await build({
      entryPoints: [from],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'silent',
    });
  }
});

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

interface Answer {
  status: ProposalStatus;
  stateType?: StateType;
}

interface Session {
  child: ChildProcess;
  messages: RunnerToWorkerMessage[];
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor: (predicate: (m: RunnerToWorkerMessage) => boolean) => Promise<void>;
}

interface RunOptions {
  attempt?: number;
  partitionKey?: string;
  env?: Record<string, string>;
  /** The answer to `assetGate`. @default nothing blocked, nothing done */
  gate?: AssetGateResponse;
}

/** Play the worker: spawn the runner with an IPC channel, start the run, answer every rpc. */
function startRun(
  flowName: string,
  parameters: Record<string, unknown> = {},
  answer: (type: StateType) => Answer = () => ({ status: 'ACCEPT' }),
  entryPath = entry,
  options: RunOptions = {},
): Session {
  const attempt = options.attempt ?? 1;
  const runId = randomUUID();
  const child = spawn(process.execPath, [runnerPath], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
    cwd: bundleDir,
    env: {
      PATH: process.env.PATH ?? '',
      OUTPOST_RUN_ID: runId,
      OUTPOST_RUN_ATTEMPT: String(attempt),
      OUTPOST_FLOW_NAME: flowName,
      ...options.env,
    },
  });
  children.add(child);
  const messages: RunnerToWorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', () => {});

  child.on('message', (raw) => {
    const message = RunnerToWorkerMessage.parse(raw);
    messages.push(message);
    for (const wake of waiters) wake();
    if (message.t === 'ready') {
      child.send({
        t: 'start',
        run: {
          id: runId,
          attempt,
          name: 'brave-heron',
          flowName,
          deploymentId: null,
          parameters,
          ...(options.partitionKey ? { partitionKey: options.partitionKey } : {}),
        },
        entry: entryPath,
      });
    } else if (message.t === 'rpc') {
      let result: unknown = {};
      if (message.method === 'setState') {
        const { status, stateType } = answer(message.body.state.type);
        const response: StateProposalResponse = {
          status,
          reason: status === 'ACCEPT' ? null : 'told so by the test',
          waitSeconds: null,
          attempt,
          state: {
            type: stateType ?? message.body.state.type,
            name: 'x',
            message: null,
            timestamp: new Date().toISOString(),
            data: null,
          },
        };
        result = response;
      } else if (message.method === 'assetGate') {
        result = options.gate ?? { blocked: [], materialized: [] };
      } else if (message.method === 'reportAssetEvents') {
        result = { recorded: message.body.events.length };
      } else if (message.method === 'replay') {
        result = { results: [] };
      }
      child.send({ t: 'reply', id: message.id, ok: true, result });
    }
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const waitFor = (predicate: (m: RunnerToWorkerMessage) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (messages.some(predicate)) resolve();
      };
      waiters.push(check);
      check();
    });
  return { child, messages, stdout: () => stdout, exited, waitFor };
}

function describeMessage(m: RunnerToWorkerMessage): string {
  switch (m.t) {
    case 'task':
      return m.event.kind === 'create' ? `createTaskRun ${m.event.taskKey}` : `setTaskRunState ${m.event.state.type}`;
    case 'rpc':
      if (m.method === 'createChildRun') return `createChildRun ${m.body.flowName}`;
      if (m.method === 'createArtifact') return `createArtifact ${m.body.key}`;
      if (m.method === 'assetGate') return 'assetGate';
      if (m.method === 'replay') return 'replay';
      if (m.method === 'addDynamicPartitions') return `addDynamicPartitions ${m.body.name}`;
      if (m.method === 'emitEvent') return `emitEvent ${m.body.event.kind}`;
      if (m.method === 'reportAssetEvents') {
        return `reportAssetEvents ${m.body.events.map((e) => `${e.kind} ${e.assetKey}${e.kind === 'check' ? `:${e.checkName}` : ''}`).join(', ')}`;
      }
      if (m.method === 'setState') return `${m.method} ${m.body.state.type}`;
      return m.method;
    case 'log':
      return `log ${m.level} ${m.message.split('\n')[0]}${m.taskRunId ? ' (task)' : ''}`;
    case 'done':
      return `done ${m.stateType}`;
    case 'ready':
      return 'ready';
    case 'preloaded':
      return `preloaded ${m.ok}`;
  }
}

describe('runner', () => {
  it('runs a bundled flow end to end over IPC and exits 0', async () => {
    const run = startRun('e2e-hello', { n: 2 });

    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.messages.map(describeMessage)).toEqual([
      'ready',
      'setState RUNNING',
      'log info hello body ran with n=2',
      'createTaskRun double-0',
      'log info doubling 1 (task)',
      'log info printed 1 (task)',
      'setTaskRunState COMPLETED',
      'createTaskRun double-1',
      'log info doubling 2 (task)',
      'log info printed 2 (task)',
      'setTaskRunState COMPLETED',
      'setState COMPLETED',
      'done COMPLETED',
    ]);
    const created = run.messages.flatMap((m) => (m.t === 'task' && m.event.kind === 'create' ? [m.event.id] : []));
    const taskLogs = run.messages.filter((m) => m.t === 'log' && m.taskRunId);
    expect(taskLogs.map((m) => m.t === 'log' && m.taskRunId)).toEqual(created.flatMap((id) => [id, id]));
    // console.log inside the flow became log messages, not stdout lines.
    expect(run.stdout()).not.toContain('printed');
  });

  it('reports FAILED when the flow throws, with the stack as an error line', async () => {
    const run = startRun('e2e-fails');

    expect(await run.exited).toEqual({ code: 0, signal: null });
    const failed = run.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'FAILED');
    expect(failed).toMatchObject({ body: { state: { message: 'Error: boom' } } });
    expect(run.messages.some((m) => m.t === 'log' && m.level === 'error' && /Error: boom\n\s+at /.test(m.message))).toBe(true);
    expect(run.messages.at(-1)).toEqual({ t: 'done', stateType: 'FAILED' });
  });

  it('never runs the body when RUNNING is answered ABORT', async () => {
    const run = startRun('e2e-guarded', {}, (type) =>
      type === 'RUNNING' ? { status: 'ABORT', stateType: 'CANCELLED' } : { status: 'ACCEPT' },
    );

    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.messages.map(describeMessage)).toEqual(['ready', 'setState RUNNING', 'done CANCELLED']);
    expect(JSON.stringify(run.messages)).not.toContain('GUARDED BODY RAN');
  });

  it('reports FAILED listing the flows it found when the requested flow is not in the bundle', async () => {
    const run = startRun('no-such-flow');

    expect(await run.exited).toEqual({ code: 0, signal: null });
    const failed = run.messages.find((m) => m.t === 'rpc' && m.method === 'setState');
    expect(failed).toMatchObject({ body: { state: { type: 'FAILED' } } });
    const message = failed?.t === 'rpc' && failed.method === 'setState' ? (failed.body.state.message ?? '') : '';
    expect(message).toContain("flow 'no-such-flow' is not defined");
    expect(message).toContain("'e2e-hello', 'e2e-fails', 'e2e-guarded'");
    expect(run.messages.at(-1)).toEqual({ t: 'done', stateType: 'FAILED' });
  });

  it('reports FAILED with the reason when the bundle module cannot be loaded', async () => {
    const missing = path.join(bundleDir, 'not-there.mjs');
    const run = startRun('e2e-hello', {}, () => ({ status: 'ACCEPT' }), missing);

    expect(await run.exited).toEqual({ code: 0, signal: null });
    const described = run.messages.map(describeMessage);
    expect(described).toHaveLength(4);
    expect(described[1]).toMatch(/^log error could not load \S+not-there\.mjs: Error: Cannot find module/);
    expect([described[0], described[2], described[3]]).toEqual(['ready', 'setState FAILED', 'done FAILED']);
  });

  it('aborts the flow signal on a cancel message and reports CANCELLED', async () => {
    const run = startRun('e2e-waits');
    await run.waitFor((m) => m.t === 'log' && m.message === 'waiting for cancel');

    run.child.send({ t: 'cancel', reason: 'cancelled from the dashboard' });

    expect(await run.exited).toEqual({ code: 0, signal: null });
    const cancelled = run.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'CANCELLED');
    expect(cancelled).toMatchObject({ body: { state: { message: 'cancelled from the dashboard' } } });
    expect(run.messages.at(-1)).toEqual({ t: 'done', stateType: 'CANCELLED' });
  });

  it('ends a run cancelled as it was handed over CANCELLED, without running its flow', async () => {
    const run = startRun('e2e-hello', { n: 2 });
    // startRun answers `ready` with `start`; this listener runs first, so the cancel reaches the
    // runner just ahead of the start message, before it could load the bundle. (A cancel sent just
    // after the start races the bundle's import: the flow's own runtime may be the one to hear it.)
    run.child.prependListener('message', (raw) => {
      if ((raw as { t?: unknown }).t === 'ready') run.child.send({ t: 'cancel', reason: 'cancelled before it began' });
    });

    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.messages.map(describeMessage)).toEqual([
      'ready',
      'log info cancelled before it began',
      'setState CANCELLED',
      'done CANCELLED',
    ]);
  });

  it('refuses a start message without an entry and exits 1 before loading anything', async () => {
    const child = spawn(process.execPath, [runnerPath], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true });
    children.add(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('message', (raw) => {
      if ((raw as { t?: unknown }).t === 'ready') child.send({ t: 'start', run: { flowName: 'e2e-hello' } });
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('malformed start message: entry: expected a path');
  });

  it('exits at once when the IPC channel to the worker disconnects', async () => {
    const run = startRun('e2e-busy');
    await run.waitFor((m) => m.t === 'log' && m.message === 'busy forever');

    run.child.disconnect();

    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.messages.some((m) => m.t === 'done')).toBe(false);
  });
});

describe('runner: the assets flow', () => {
  let assetDir: string;
  const parameters = { assets: ['ipc/raw', 'ipc/sorted', 'ipc/top'], partition: '2026-03-29' };

  beforeAll(async () => {
    assetDir = await mkdtemp(path.join(tmpdir(), 'outpost-runner-assets-'));
  });

  afterAll(async () => {
    await rm(assetDir, { recursive: true, force: true });
  });

  const run = (options: RunOptions = {}) =>
    startRun('assets', parameters, () => ({ status: 'ACCEPT' }), assetsEntry, {
      partitionKey: '2026-03-29',
      env: { ASSET_TEST_DIR: assetDir },
      ...options,
    });

  it('asks the gate, materialises in order as task runs, and reports materialisations and checks over IPC', async () => {
    const session = run();
    expect(await session.exited).toEqual({ code: 0, signal: null });
    const described = session.messages.map(describeMessage).filter((m) => !m.startsWith('log'));
    expect(described).toEqual([
      'ready',
      'setState RUNNING',
      'assetGate',
      'createTaskRun ipc/raw [2026-03-29]-0',
      'setTaskRunState COMPLETED',
      'reportAssetEvents materialization ipc/raw',
      'createTaskRun ipc/sorted [2026-03-29]-0',
      'setTaskRunState COMPLETED',
      'createTaskRun ipc/sorted:ascending [2026-03-29]-0',
      'setTaskRunState COMPLETED',
      'reportAssetEvents materialization ipc/sorted, check ipc/sorted:ascending',
      'createTaskRun ipc/top [2026-03-29]-0',
      'setTaskRunState COMPLETED',
      'reportAssetEvents materialization ipc/top',
      'setState COMPLETED',
      'done COMPLETED',
    ]);
    const reported = session.messages.flatMap((m) => (m.t === 'rpc' && m.method === 'reportAssetEvents' ? m.body.events : []));
    const [raw, sorted, checked] = reported;
    expect(raw).toMatchObject({ partitionKey: '2026-03-29', dataVersion: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(sorted).toMatchObject({ metadata: { rows: 3, bytes: 7 } });
    expect(checked).toMatchObject({ passed: true, blocking: true, materializationId: sorted?.id });
    // ctx.log lines belong to the asset's task run; the partition's window is the DST-short Berlin day.
    const rawTask = session.messages.find(
      (m) => m.t === 'task' && m.event.kind === 'create' && m.event.name === 'ipc/raw [2026-03-29]',
    );
    const line = session.messages.find((m) => m.t === 'log' && m.message.startsWith('loading 2026-03-29'));
    expect(line).toMatchObject({ message: 'loading 2026-03-29, window from 2026-03-28T23:00:00.000Z' });
    expect(line?.t === 'log' && line.taskRunId).toBe(rawTask?.t === 'task' ? rawTask.event.id : 'missing');
    expect(readFileSync(path.join(assetDir, 'ipc', 'top', 'partition=2026-03-29', 'data.json'), 'utf8')).toBe('3');
  });

  it('a retried attempt skips what the gate says an earlier attempt materialised, reading it back from storage', async () => {
    // The first attempt stored every value, then died before its run ended.
    expect(await run().exited).toEqual({ code: 0, signal: null });
    await rm(path.join(assetDir, 'ipc', 'top'), { recursive: true, force: true });
    const done = (assetKey: string) => ({ assetKey, partitionKey: '2026-03-29', id: randomUUID() });
    const session = run({ attempt: 2, gate: { blocked: [], materialized: [done('ipc/raw'), done('ipc/sorted')] } });
    expect(await session.exited).toEqual({ code: 0, signal: null });
    const described = session.messages
      .map(describeMessage)
      .filter((m) => m.startsWith('reportAssetEvents') || m.startsWith('createTaskRun'));
    expect(described).toEqual(['createTaskRun ipc/top [2026-03-29]-0', 'reportAssetEvents materialization ipc/top']);
    expect(session.messages.some((m) => m.t === 'log' && m.message === 'top of 2026-03-29 is 3')).toBe(true);
    expect(session.messages.at(-1)).toEqual({ t: 'done', stateType: 'COMPLETED' });
    expect(readFileSync(path.join(assetDir, 'ipc', 'top', 'partition=2026-03-29', 'data.json'), 'utf8')).toBe('3');
  });

  it('does not materialise what the gate says is blocked, reports why, and ends FAILED', async () => {
    const by = { assetKey: 'ipc/sorted', checkName: 'ascending', partitionKey: '2026-03-29' };
    const session = run({ gate: { blocked: [{ assetKey: 'ipc/top', by }], materialized: [] } });
    expect(await session.exited).toEqual({ code: 0, signal: null });
    const reported = session.messages.flatMap((m) => (m.t === 'rpc' && m.method === 'reportAssetEvents' ? m.body.events : []));
    expect(reported.at(-1)).toMatchObject({
      kind: 'failure',
      assetKey: 'ipc/top',
      message: 'blocked: blocking check ipc/sorted:ascending failed for partition 2026-03-29 and is not waived',
    });
    expect(
      session.messages.some((m) => m.t === 'task' && m.event.kind === 'create' && m.event.name === 'ipc/top [2026-03-29]'),
    ).toBe(false);
    const failed = session.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'FAILED');
    expect(failed).toMatchObject({ body: { state: { message: expect.stringContaining('ipc/top') } } });
  });
});

describe('runner: what a flow process loads before the hand-over', () => {
  it('imports no zod and no contract until it must report a run by itself', async () => {
    // The bundle brings its own copy of the SDK and builds its schemas; the runner's copy would build them again.
    const runnerSource = fileURLToPath(new URL('../src/runtime/runner.ts', import.meta.url));
    const { metafile } = await build({
      entryPoints: [runnerSource],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const staticGraph = new Set<string>();
    const visit = (file: string) => {
      if (staticGraph.has(file)) return;
      staticGraph.add(file);
      for (const edge of metafile.inputs[file]?.imports ?? [])
        if (edge.kind === 'import-statement' && !edge.external) visit(edge.path);
    };
    visit(path.relative(process.cwd(), runnerSource));

    expect([...staticGraph].filter((file) => file.includes('node_modules/zod') || file.includes('/contracts/'))).toEqual([]);
    expect([...staticGraph].some((file) => file.endsWith('runtime/ipc-window.ts'))).toBe(true);
  });
});
