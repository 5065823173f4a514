import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CompiledCache } from '../src/automations/compile.js';
import { AutomationEngine, MAX_BUDGET_FAILURES, MAX_CHAIN, POISON_ATTEMPTS } from '../src/automations/engine.js';
import { MAX_COST, MAX_MACRO_NESTING } from '../src/cel/cost.js';
import { CelSandbox } from '../src/cel/sandbox.js';
import { threadCpuClock } from '../src/cel/thread-clock.js';
import type { TestWorkspace } from '../src/testing/index.js';
import { drainAutomations, emitEvent } from './events.support.js';
import { type Call, client, deploy, useServer } from './helpers.js';

/*
 * What a tenant's CEL may cost the control plane: refused when saved over its estimated budget,
 * stopped at its deadline when it runs, and, in the automations loop, recorded and skipped rather
 * than retried. The loop is driven round by round here (no background loops), so each assertion
 * follows from the rounds the test ran.
 */

let other: TestWorkspace;
let otherOwner: Call;
let sandbox: CelSandbox;
let engine: AutomationEngine;

/** The firing limit of this suite's loop: the default (MAX_FIRINGS_PER_MINUTE) made small enough to pass in a test. */
const FIRINGS_PER_MINUTE = 20;

/** A list of `n` numbers as big as an event's payload allows: an expression's real input can pass the estimate's assumption. */
const longList = (n: number) => Array.from({ length: n }, (_, i) => i % 10);

/** Fine by the save-time estimate (two macros over lists assumed 100 long), ruinous over the event's real 5,000 items. */
const QUADRATIC = 'event.payload.items.all(x, event.payload.items.all(y, x + y >= 0))';

/** `[1..10].all(x0, [1..10].all(x1, …))` nested `depth` times: 10^depth steps from a few hundred characters. */
function nestedAll(depth: number): string {
  const list = '[1,2,3,4,5,6,7,8,9,10]';
  let source = 'true';
  for (let i = 0; i < depth; i++) source = `${list}.all(x${i}, ${source})`;
  return source;
}

const api = useServer();

beforeAll(async () => {
  other = await api.server.createWorkspace();
  otherOwner = client(api.server, other.ownerKey);
  sandbox = new CelSandbox({ timeoutMs: 50, threads: 2 });
  engine = new AutomationEngine(new CompiledCache(), { batchSize: 500, sandbox, firingsPerMinute: FIRINGS_PER_MINUTE });
});
afterAll(async () => {
  await sandbox?.close();
});

const emit = (workspaceId: string, kind: string, payload: Record<string, unknown> = {}) =>
  emitEvent(api.server.sql, workspaceId, kind, payload);

const drain = () => drainAutomations(engine, api.server.sql);

async function createAutomation(call: Call, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await call('POST', '/automations', { body: { name: `a-${randomUUID().slice(0, 8)}`, ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.body;
}

describe('save-time budget', () => {
  test('seven nested macros are refused with the nesting limit and the field that holds them', async () => {
    const res = await api.owner('POST', '/automations', {
      body: {
        name: 'bomb',
        trigger: { type: 'event', match: nestedAll(7) },
        actions: [{ type: 'pause-pool', pool: 'default' }],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('body.trigger.match');
    expect(res.body.errors[0].message).toContain(`at most ${MAX_MACRO_NESTING} are allowed`);
  });

  test('three macros over lists read from the event are refused by their estimated cost', async () => {
    const match = 'event.payload.a.all(a, event.payload.b.all(b, event.payload.c.all(c, a + b + c > 0)))';
    const res = await api.owner('POST', '/automations', {
      body: { name: 'costly', trigger: { type: 'event', match }, actions: [{ type: 'pause-pool', pool: 'default' }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toContain(`over the budget of ${MAX_COST}`);
  });

  test('a webhook template with a bomb in one of its strings is refused naming that string', async () => {
    const res = await api.owner('POST', '/event-webhooks', {
      body: { name: 'hook', template: { kind: 'x.y', payload: { n: `{{ ${nestedAll(5)} }}` } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('body.template.payload.n');
  });

  test('a template with more expressions than allowed is refused', async () => {
    const payload = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, '{{ body.x }}']));
    const res = await api.owner('POST', '/event-webhooks', { body: { name: 'wide', template: { kind: 'x.y', payload } } });
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain('at most 100');
  });
});

describe('the sandbox', () => {
  test('an evaluation past its deadline is stopped, and the items around it still get their values', async () => {
    const results = await sandbox.run(
      'w',
      [{ event: { payload: { items: longList(5000) } } }],
      [
        { kind: 'expression', source: 'event.payload.items.size()', variables: ['event'], bindings: 0 },
        { kind: 'expression', source: QUADRATIC, variables: ['event'], bindings: 0 },
        { kind: 'expression', source: 'event.payload.items[3] + 1.0', variables: ['event'], bindings: 0 },
      ],
    );
    expect(results[0]).toEqual({ ok: true, value: 5000 });
    expect(results[1]).toMatchObject({ ok: false, reason: 'timeout' });
    expect(results[2]).toEqual({ ok: true, value: 4 });
  });

  test("a thread starved of the CPU is not charged for the wait: deadlines count the thread's CPU time", async () => {
    // The wall-clock backstops widened, so what is measured is the CPU deadline alone: on a machine
    // busy with other suites, CPU 0 can leave this thread waiting past the default backstop of one
    // evaluation (1 s), which is that bound working, not the deadline charging a wait.
    const starved = new CelSandbox({ threads: 1, timeoutMs: 50, wallTimeoutMs: 20_000, batchWallMs: 120_000 });
    let busy: ChildProcess | null = null;
    try {
      const warm = await starved.run('w', [{}], [{ kind: 'expression', source: '1 + 1', variables: [], bindings: 0 }]);
      expect(warm[0]).toEqual({ ok: true, value: 2 });
      const [tid] = starved.threadIds();
      expect(tid).toBeTypeOf('number');
      const clock = threadCpuClock(tid as number);
      expect(clock).not.toBeNull();
      // The thread on CPU 0 at the lowest priority, beside a process that never yields: it runs in
      // short slices with long waits between them, each longer than the deadline.
      execFileSync('taskset', ['-p', '-c', '0', String(tid)], { stdio: 'ignore' });
      setPriority(tid as number, 19);
      busy = spawn('taskset', ['-c', '0', process.execPath, '-e', 'process.stdout.write("spinning\\n"); for (;;) {}'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      // The busy process has started spinning before the call begins (its start is slow on a loaded machine).
      await new Promise<void>((resolve, reject) => {
        busy?.stdout?.once('data', () => resolve());
        busy?.once('exit', (code) => reject(new Error(`the busy process exited (${code})`)));
      });
      const items = Array.from({ length: 1_000 }, (_, i) => ({
        kind: 'expression' as const,
        source: 'n + 1.0',
        variables: ['n'],
        bindings: i,
      }));
      const cpuBefore = clock?.() as number;
      const started = Date.now();
      const answer = await starved.runMetered(
        'w',
        items.map((_, i) => ({ n: i })),
        items,
      );
      const wall = Date.now() - started;
      const cpu = (clock?.() as number) - cpuBefore;
      // The call waited off the CPU far longer than its deadline, and used less CPU than its budget.
      expect(wall).toBeGreaterThan(4 * starved.options.timeoutMs);
      expect(cpu).toBeLessThan(wall / 4);
      expect(answer.results.filter((r) => !r.ok)).toEqual([]);
      expect(answer.results[999]).toEqual({ ok: true, value: 1_000 });
      // The call is charged its CPU time, not its wall time.
      expect(answer.cpuMs).toBeGreaterThan(0);
      expect(answer.cpuMs).toBeLessThan(wall / 4);
    } finally {
      busy?.kill('SIGKILL');
      await starved.close();
    }
  });

  test('a string that grows past the thread heap ends that evaluation only', async () => {
    const grow = `${'"aaaaaaaaaa"'}${'.replace("a", "aaaaaaaaaa")'.repeat(8)}.size()`;
    const results = await sandbox.run(
      'w',
      [{}],
      [
        { kind: 'expression', source: grow, variables: [], bindings: 0 },
        { kind: 'expression', source: '"ok"', variables: [], bindings: 0 },
      ],
    );
    expect(results[0]?.ok).toBe(false);
    expect(['timeout', 'memory']).toContain(results[0]?.ok === false ? results[0].reason : 'none');
    expect(results[1]).toEqual({ ok: true, value: 'ok' });
  });

  test("one workspace's slow evaluations do not hold up another's queued behind them", async () => {
    const slow = Array.from({ length: 4 }, () =>
      sandbox.run(
        'attacker',
        [{ event: { payload: { items: longList(5000) } } }],
        [
          { kind: 'expression', source: QUADRATIC, variables: ['event'], bindings: 0 },
          { kind: 'expression', source: QUADRATIC, variables: ['event'], bindings: 0 },
        ],
      ),
    );
    let attackerDone = false;
    void Promise.all(slow).then(() => {
      attackerDone = true;
    });
    const results = await sandbox.run('victim', [{}], [{ kind: 'expression', source: '1 + 1', variables: [], bindings: 0 }]);
    expect(results[0]).toEqual({ ok: true, value: 2 });
    // The victim's call was served in its turn, before the attacker's queue drained.
    expect(attackerDone).toBe(false);
    await Promise.all(slow);
  });
});

describe('the automations loop', () => {
  test('an automation over budget skips the event, records why, and is turned off after repeated overruns; the other workspace fires', async () => {
    const slow = await createAutomation(api.owner, {
      trigger: { type: 'event', match: `event.kind == "big" && ${QUADRATIC}` },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    const victim = await createAutomation(otherOwner, {
      trigger: { type: 'event', match: 'event.kind == "small"' },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    const big = [];
    for (let i = 0; i < MAX_BUDGET_FAILURES; i++) big.push(await emit(api.server.workspaceId, 'big', { items: longList(5000) }));
    const small = await emit(other.workspaceId, 'small');
    await drain();

    const firings = await otherOwner('GET', `/automations/${victim.id}/firings`);
    expect(firings.body.items.map((f: { eventIds: string[] }) => f.eventIds)).toEqual([[small]]);

    const a = await api.owner('GET', `/automations/${slow.id}`);
    expect(a.body.enabled).toBe(false);
    expect(a.body.disabledReason).toContain('ran past their budget');
    expect(a.body.lastError).toContain('ran past its budget');
    const quarantine = await api.owner('GET', '/automation-quarantine');
    const mine = quarantine.body.items.filter((q: { automationId: string }) => q.automationId === slow.id);
    expect(mine.map((q: { eventId: string }) => q.eventId).sort()).toEqual([...big].sort());
    // Another workspace never sees these.
    const theirs = await otherOwner('GET', '/automation-quarantine');
    expect(theirs.body.items.filter((q: { automationId: string }) => q.automationId === slow.id)).toEqual([]);

    // Enabled again with the same expressions, it is evaluated again, and its next overrun turns it off at once,
    // however many cheap events (the enable's own audit entry among them) came between.
    expect((await api.owner('POST', `/automations/${slow.id}/enable`)).body.disabledReason).toBeNull();
    await emit(api.server.workspaceId, 'big', { items: longList(5000) });
    await drain();
    expect((await api.owner('GET', `/automations/${slow.id}`)).body.enabled).toBe(false);
    await api.owner('DELETE', `/automations/${slow.id}`);
    await otherOwner('DELETE', `/automations/${victim.id}`);
  });

  test('a round that keeps failing narrows to one event, then steps over it, quarantined for the whole workspace', async () => {
    await drain();
    const poison = await emit(api.server.workspaceId, 'poison');
    const after = await emit(api.server.workspaceId, 'after');
    // As if that many rounds had died at this cursor (the end-to-end suite kills a real process).
    await api.server.sql`UPDATE automation_cursor SET attempts = ${POISON_ATTEMPTS}`;
    const round = await engine.round(api.server.sql);
    expect(round.steppedOver).toBe(1);
    const [cursor] = await api.server.sql<{ attempts: number }[]>`SELECT attempts FROM automation_cursor`;
    expect(cursor?.attempts).toBe(0);
    const quarantine = await api.owner('GET', '/automation-quarantine');
    const entry = quarantine.body.items.find((q: { eventId: string }) => q.eventId === poison);
    expect(entry).toMatchObject({ automationId: null, eventKind: 'poison' });
    expect(quarantine.body.items.some((q: { eventId: string }) => q.eventId === after)).toBe(false);
    // The next event is read normally.
    const next = await engine.round(api.server.sql);
    expect(next.events).toBeGreaterThanOrEqual(1);
  });

  test('a round after one that failed reads a single event', async () => {
    await drain();
    await emit(api.server.workspaceId, 'one');
    await emit(api.server.workspaceId, 'two');
    await api.server.sql`UPDATE automation_cursor SET attempts = 1`;
    expect((await engine.round(api.server.sql)).events).toBe(1);
    expect((await engine.round(api.server.sql)).events).toBe(1);
  });

  test('an automation that runs the deployment whose runs trigger it stops at the chain limit', async () => {
    const d = await deploy(api.owner, { flowName: `loop-${randomUUID().slice(0, 6)}` });
    const a = await createAutomation(api.owner, {
      trigger: { type: 'event', match: `event.kind == "flow-run.scheduled" && event.payload.deploymentId == "${d.id}"` },
      actions: [{ type: 'run-deployment', deployment: `${d.flowName}/${d.name}` }],
    });
    await drain();
    const manual = await api.owner('POST', `/deployments/${d.id}/runs`, { body: {} });
    expect(manual.status).toBe(201);
    await drain();
    const runs = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${d.id}`;
    // The manual run, then one run per firing for MAX_CHAIN generations.
    expect(runs[0]?.n).toBe(1 + MAX_CHAIN);
    const firings = await api.server.sql<{ actions: { status: string; error: string | null }[] }[]>`
      SELECT actions FROM automation_firings WHERE automation_id = ${a.id}`;
    const skipped = firings.filter((f) => f.actions.every((x) => x.status === 'SKIPPED'));
    expect(skipped.length).toBe(1);
    expect(firings.length).toBe(MAX_CHAIN + 1);
    expect(skipped[0]?.actions[0]?.error).toContain(`a chain stops at ${MAX_CHAIN}`);
    await api.owner('DELETE', `/automations/${a.id}`);
  });

  test("an automation's actions run at most its firing limit a minute; the rest are recorded as skipped", async () => {
    const a = await createAutomation(api.owner, {
      trigger: { type: 'event', match: 'event.kind == "tick"' },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    await drain();
    for (let i = 0; i < FIRINGS_PER_MINUTE + 5; i++) await emit(api.server.workspaceId, 'tick');
    await drain();
    const firings = await api.server.sql<{ actions: { status: string }[] }[]>`
      SELECT actions FROM automation_firings WHERE automation_id = ${a.id}`;
    expect(firings.length).toBe(FIRINGS_PER_MINUTE + 5);
    expect(firings.filter((f) => f.actions[0]?.status === 'SUCCEEDED').length).toBe(FIRINGS_PER_MINUTE);
    expect(firings.filter((f) => f.actions[0]?.status === 'SKIPPED').length).toBe(5);
    await api.owner('DELETE', `/automations/${a.id}`);
  });
});
