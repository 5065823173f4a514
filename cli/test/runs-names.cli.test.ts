import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { JsonObject, LogLineInput } from '@outpost/sdk/contracts';
import { afterAll, describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';
import { outpost as run, startOutpost } from './cli.support.js';

let worker: OutpostClient;
let asRun: OutpostClient;
let deploymentId: string;
/** `lone-heron`: claimed, RUNNING, with task runs `train` and `evaluate`, logs and artifacts. */
let heronId: string;
let seq = 0;
const trainTask = randomUUID();
const evaluateTask = randomUUID();

function env() {
  return { OUTPOST_API_URL: api.server.url, OUTPOST_API_KEY: api.server.ownerKey };
}
async function createRun(name: string) {
  return unwrap(await api.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { name } })).flowRun;
}
function line(message: string, taskRunId?: string): LogLineInput {
  seq += 1;
  return { seq, timestamp: new Date().toISOString(), level: 'info', message, ...(taskRunId ? { taskRunId } : {}) };
}
async function log(...lines: LogLineInput[]) {
  unwrap(await asRun.call('logsWrite', { params: { id: heronId }, body: { attempt: 1, logs: lines } }));
}
/** Creates task runs in lone-heron's first attempt, each RUNNING from now. */
async function startTasks(...tasks: { id: string; name: string; taskKey: string; dynamicKey: string }[]) {
  const at = new Date().toISOString();
  const events = tasks.map((task) => ({ kind: 'create' as const, ...task, state: { type: 'RUNNING' as const }, at }));
  unwrap(await asRun.call('taskRunsBatch', { params: { id: heronId }, body: { flowRunAttempt: 1, events } }));
}

const api = useTestApi(async ({ server, owner }) => {
  worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker', ['default']) });
  deploymentId = (await deployFromDir(owner, { flowName: 'names', name: 'cli' })).id;
  heronId = (await createRun('lone-heron')).id;
  const [claimed] = unwrap(
    await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 1 } }),
  ).runs;
  if (claimed?.flowRun.id !== heronId) throw new Error('lone-heron was not claimed');
  asRun = new OutpostClient({ baseUrl: server.url, token: claimed.token });
  unwrap(
    await asRun.call('flowRunsSetState', {
      params: { id: heronId },
      body: { transitionId: randomUUID(), state: { type: 'RUNNING', message: 'started on\nthe test worker' } },
    }),
  );
  await startTasks(
    { id: trainTask, name: 'train', taskKey: 'train-0', dynamicKey: '0' },
    { id: evaluateTask, name: 'evaluate', taskKey: 'evaluate-0', dynamicKey: '0' },
  );
  await log(line('flow begins'), line('training epoch 1', trainTask), line('evaluating', evaluateTask));
  const artifact = (key: string, type: 'markdown' | 'table' | 'link' | 'progress', data: JsonObject) =>
    asRun.call('artifactsCreate', { params: { id: heronId }, body: { id: randomUUID(), flowRunAttempt: 1, key, type, data } });
  unwrap(await artifact('report', 'markdown', { markdown: '# Accuracy\n\n0.93 on the holdout set' }));
  unwrap(
    await artifact('scores', 'table', {
      columns: ['model', 'score'],
      rows: [
        ['small', 0.81],
        ['large', null],
      ],
    }),
  );
  unwrap(await artifact('done', 'progress', { progress: 0.5 }));
  await createRun('calm-otter');
  await createRun('calm-otter');
});
const { outpost } = api;
afterAll(async () => {
  await asRun?.close();
  await worker?.close();
});

describe('runs named by name or id', () => {
  test('runs get takes a run’s name as well as its id and shows the same run', async () => {
    const byName = await outpost('runs', 'get', 'lone-heron', '--json');
    expect(byName.stderr).toBe('');
    expect(byName.code).toBe(0);
    const byId = await outpost('runs', 'get', heronId, '--json');
    expect(JSON.parse(byName.stdout).id).toBe(heronId);
    expect(JSON.parse(byId.stdout)).toEqual(JSON.parse(byName.stdout));
  });

  test('a name two runs carry lists both with their ids and exits 1 under one error line', async () => {
    const otters = unwrap(await api.owner.call('flowRunsList', { query: { name: 'calm-otter' } })).items;
    expect(otters).toHaveLength(2);
    const result = await outpost('runs', 'get', 'calm-otter');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('error: 2 runs are named "calm-otter": give its id instead');
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual(otters.map((r) => r.id));
    expect(lines[1]).toMatch(/names\/cli\s+SCHEDULED\s+created \d{4}-\d\d-\d\d /);
  });

  test('a name no run carries is one line and exit 1; cancel and tasks take names too', async () => {
    const missing = await outpost('runs', 'cancel', 'no-such-run');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trimEnd()).toBe('error: no run is named "no-such-run" (see outpost runs ls)');

    const fox = await createRun('quick-fox');
    const cancelled = await outpost('runs', 'cancel', 'quick-fox');
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^run ${fox.id} is CANCELLED`));

    const tasks = await outpost('runs', 'tasks', 'lone-heron');
    expect(tasks.code).toBe(0);
    // Created in the same instant, the two are ordered by id.
    expect(
      new Set(
        tasks.stdout
          .split('\n')
          .slice(1, 3)
          .map((l) => l.split(/\s+/)[0]),
      ),
    ).toEqual(new Set(['train', 'evaluate']));
  });
});

describe('runs states and runs artifacts', () => {
  test('runs states prints every state of the run oldest first, with its attempt and message on one line', async () => {
    const result = await outpost('runs', 'states', 'lone-heron');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+ATTEMPT\s+STATE\s+MESSAGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[2])).toEqual(['SCHEDULED', 'PENDING', 'RUNNING']);
    expect(lines.at(-1)).toMatch(/\s1\s+RUNNING\s+started on the test worker$/);
  });

  test('runs artifacts lists each artifact in one line and --key prints one in full', async () => {
    const listed = await outpost('runs', 'artifacts', 'lone-heron');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KEY\s+TYPE\s+UPDATED \(UTC\)\s+CONTENT$/);
    expect(lines[1]).toMatch(/^report\s+markdown\s+.*# Accuracy 0\.93 on the holdout set$/);
    expect(lines[2]).toMatch(/^scores\s+table\s+.*2 rows × 2 columns$/);
    expect(lines[3]).toMatch(/^done\s+progress\s+.*50%$/);

    const table = await outpost('runs', 'artifacts', heronId, '--key', 'scores');
    expect(table.stdout.trimEnd().split('\n')).toEqual(['model  score', 'small  0.81', 'large  -']);

    const missing = await outpost('runs', 'artifacts', 'lone-heron', '--key', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: run lone-heron has no artifact with key "nope"\n  keys: report, scores, done');
  });
});

describe('runs logs', () => {
  test('--task keeps the lines of that task’s runs, --attempt those of one attempt, and a wrong one is a usage error', async () => {
    const all = await outpost('runs', 'logs', 'lone-heron');
    // A task run's lines name their task; the flow's own lines do not.
    expect(all.stdout).toMatch(/INFO {5}flow begins\n.*INFO {5}\[train\] training epoch 1\n.*INFO {5}\[evaluate\] evaluating\n$/);
    const train = await outpost('runs', 'logs', 'lone-heron', '--task', 'train');
    expect(train.code).toBe(0);
    expect(train.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/INFO\s+\[train\] training epoch 1$/)]);
    const first = await outpost('runs', 'logs', 'lone-heron', '--attempt', '1', '--json');
    expect(
      first.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['flow begins', 'training epoch 1', 'evaluating']);
    const later = await outpost('runs', 'logs', 'lone-heron', '--attempt', '2');
    expect(later.code).toBe(2);
    expect(later.stderr).toContain('error: run lone-heron has 1 attempt so far, not 2');
    const ghost = await outpost('runs', 'logs', 'lone-heron', '--task', 'ghost');
    expect(ghost.code).toBe(1);
    expect(ghost.stderr.split('\n')[0]).toBe(
      'error: run lone-heron has no task runs named "ghost" (see outpost runs tasks lone-heron)',
    );
  });

  // Last: it ends lone-heron.
  test('--follow streams the task’s new lines, including a task run that starts later, until the run ends', async () => {
    const follower = startOutpost(['runs', 'logs', 'lone-heron', '--task', 'train', '--follow'], { env: env() });
    try {
      await follower.waitForStdout(/training epoch 1\n/);
      const retrain = randomUUID();
      await startTasks({ id: retrain, name: 'train', taskKey: 'train-1', dynamicKey: '1' });
      await log(line('training epoch 2', trainTask), line('not this one', evaluateTask), line('second model', retrain));
      await follower.waitForStdout(/second model\n/);
      unwrap(
        await asRun.call('flowRunsSetState', {
          params: { id: heronId },
          body: { transitionId: randomUUID(), state: { type: 'COMPLETED' }, logs: [line('last words', trainTask)] },
        }),
      );
      const done = await follower.exited;
      expect(done.code).toBe(0);
      expect(
        done.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.replace(/^.*INFO\s+/, '')),
      ).toEqual(['[train] training epoch 1', '[train] training epoch 2', '[train] second model', '[train] last words']);
      expect(done.stderr).toBe('run lone-heron ended COMPLETED\n');
    } finally {
      follower.kill();
    }
  });
});

describe('colours', () => {
  const ESC = String.fromCharCode(27);
  const plain = (text: string) => text.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');
  const coloured = (args: string[], extra: Record<string, string>) => run(args, { env: { ...env(), ...extra } });

  test('states and errors are coloured for a terminal, columns stay aligned, and pipes get plain text', async () => {
    const forced = await coloured(['runs', 'ls'], { FORCE_COLOR: '1' });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`${ESC}[2mSCHEDULED${ESC}[22m`);
    const lines = plain(forced.stdout).trimEnd().split('\n');
    const column = lines[0]!.indexOf('ATTEMPT');
    for (const line of lines.slice(1)) expect(line.slice(column - 2, column)).toBe('  ');
    expect(plain(forced.stdout)).toBe((await outpost('runs', 'ls')).stdout);

    const error = await coloured(['runs', 'get', 'no-such-run'], { FORCE_COLOR: '1' });
    expect(error.stderr.startsWith(`${ESC}[31merror:${ESC}[39m no run is named`)).toBe(true);

    const piped = await outpost('runs', 'ls');
    expect(piped.stdout).not.toContain(ESC);
  });

  test('NO_COLOR and --json turn colours off even where they are forced', async () => {
    const noColor = await coloured(['runs', 'ls'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(noColor.stdout).toMatch(/SCHEDULED/);
    expect(noColor.stdout).not.toContain(ESC);
    const json = await coloured(['runs', 'states', 'lone-heron', '--json'], { FORCE_COLOR: '1' });
    expect(json.stdout).not.toContain(ESC);
    expect(JSON.parse(json.stdout).length).toBeGreaterThan(0);
  });
});
