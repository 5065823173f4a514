import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createOrganisationToken,
  createTestDatabase,
  createTestWorkspace,
  ledgerReadUpToNow,
  MAX_BUDGET_FAILURES,
  type TestDatabase,
} from '@outpost/api/testing';
import { SCIM_FILTER_TERMS_MAX, SCIM_GROUP_MEMBERS_MAX, SCIM_PATCH_OPERATIONS_MAX, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { waitFor } from '../support/worker-process.js';

/*
 * Two workspaces on one real API process, started as production starts it (default budgets, rate
 * limits and loops). The attacker tries each way a tenant found to stall or kill the control plane;
 * meanwhile a viewer of the victim workspace keeps making a cheap authenticated call, and its p99
 * latency must stay under a second. Each attack is either refused when saved, naming the limit, or
 * accepted and bounded, with the error recorded where the attacker can read it.
 */

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field below
  body: any;
  text: string;
}
type Call = (method: string, path: string, body?: unknown) => Promise<Reply>;

/** The victim's cheap call, and the bound its p99 latency keeps during every attack. */
const PROBE = '/flow-runs?limit=1';
const P99_BOUND_MS = 1000;
/** Pacing of the probe: ten calls a second stays inside one key's default rate limit. */
const PROBE_EVERY_MS = 100;

/** `[1..10].all(x0, [1..10].all(x1, …))` nested `depth` times: 10^depth steps from a few hundred characters. */
function nestedAll(depth: number): string {
  const list = '[1,2,3,4,5,6,7,8,9,10]';
  let source = 'true';
  for (let i = 0; i < depth; i++) source = `${list}.all(x${i}, ${source})`;
  return source;
}
/** Within the save-time estimate (lists assumed 100 long); 25 million steps over a real 5,000-item list. */
const quadratic = (list: string) => `${list}.all(x, ${list}.all(y, x + y >= 0))`;
const longList = (n: number) => Array.from({ length: n }, (_, i) => i % 10);

function caller(base: () => string, token: string): Call {
  return async (method, path, body) => {
    const res = await fetch(`${base()}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, text };
  };
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('security.noisy-neighbour: one workspace cannot stall another', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let api: ApiProcess;
  let attacker: Call;
  let attackerWorker: Call;
  let attackerWorkspace: string;
  let victim: Call;

  /**
   * Runs `attack` while the victim's viewer probes; returns what the attack returned. The probe keeps
   * going until the attack is over and at least 10 calls were made, then the bounds are checked.
   */
  async function watched<T>(attack: () => Promise<T>): Promise<T> {
    const latencies: number[] = [];
    const failures: string[] = [];
    let over = false;
    const probe = (async () => {
      while (!over || latencies.length < 10) {
        const started = performance.now();
        const res = await victim('GET', PROBE);
        latencies.push(performance.now() - started);
        if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
        await delay(PROBE_EVERY_MS);
      }
    })();
    let result: T;
    try {
      result = await attack();
    } finally {
      over = true;
      await probe;
    }
    expect(failures).toEqual([]);
    expect(api.child.exitCode, api.output()).toBeNull();
    expect(percentile(latencies, 99), `victim latencies (ms): ${latencies.map(Math.round).join(', ')}`).toBeLessThan(
      P99_BOUND_MS,
    );
    return result;
  }

  async function cursorCaughtUp(): Promise<boolean> {
    return ledgerReadUpToNow(sql, 'automation_cursor');
  }

  async function emitted(call: Call, events: unknown[]): Promise<string[]> {
    const res = await call('POST', '/events', { events });
    expect(res.status, res.text).toBe(202);
    return res.body.ids;
  }

  /** The attacker's `PUT /deployments` of `<flowName>/d` (never run: its source is never fetched). */
  function deployAs(flowName: string, extra: Record<string, unknown> = {}): Promise<Reply> {
    return attacker('PUT', '/deployments', {
      flowName,
      name: 'd',
      source: `dir:///never-fetched-${randomUUID()}`,
      entrypoint: 'flow.mjs',
      workPool: 'default',
      ...extra,
    });
  }

  async function automation(body: Record<string, unknown>): Promise<{ id: string }> {
    const res = await attacker('POST', '/automations', { name: `a-${randomUUID().slice(0, 8)}`, ...body });
    expect(res.status, res.text).toBe(201);
    return res.body;
  }

  /** The attacker's quarantined events among `ids`, each with the automation it was held for (null: set aside for the workspace). */
  async function quarantined(ids: string[]): Promise<Map<string, string | null>> {
    const rows = await sql<{ event_id: string; automation_id: string | null }[]>`
      SELECT event_id, automation_id FROM automation_quarantine
      WHERE workspace_id = ${attackerWorkspace} AND event_id = ANY(${sql.array(ids)}::uuid[])`;
    return new Map(rows.map((r) => [r.event_id, r.automation_id]));
  }

  /**
   * Each of `ids` (in the order stored) was quarantined, for the automation or set aside for the
   * workspace, up to the event on which the automation was turned off; the events after that one
   * were not evaluated for it at all.
   */
  async function expectQuarantinedUntilOff(ids: string[], automationId: string): Promise<void> {
    const held = await quarantined(ids);
    const off = (await attacker('GET', `/automations/${automationId}`)).body.enabled === false;
    const last = off ? Math.max(...ids.map((id, i) => (held.get(id) === automationId ? i : -1))) : ids.length - 1;
    expect(last).toBeGreaterThanOrEqual(0);
    expect(ids.slice(0, last + 1).filter((id) => !held.has(id))).toEqual([]);
  }

  /** The quarantine as the attacker reads it, for one automation. */
  async function quarantineOf(automationId: string): Promise<{ eventId: string; reason: string }[]> {
    const res = await attacker('GET', '/automation-quarantine');
    expect(res.status, res.text).toBe(200);
    return res.body.items.filter((q: { automationId: string | null }) => q.automationId === automationId);
  }

  async function start(): Promise<void> {
    api = await startApiProcess(db.url, {}, { timeoutMs: 60_000 });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    api = await startApiProcess(db.url, {}, { expectOwnerKey: true });
    const victimOwner = caller(() => api.url, api.ownerKey ?? '');
    const viewer = await victimOwner('POST', '/api-keys', { name: 'viewer', role: 'viewer' });
    expect(viewer.status, viewer.text).toBe(201);
    victim = caller(() => api.url, viewer.body.key);
    const other = await createTestWorkspace(sql);
    attackerWorkspace = other.workspaceId;
    attacker = caller(() => api.url, await other.createKey('developer'));
    attackerWorker = caller(() => api.url, await other.createKey('worker'));
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    await sql?.end({ timeout: 5 });
    await db?.drop();
  });

  it('refuses a CEL bomb in a webhook template when saved, and bounds a template that only its input makes costly', async () => {
    const bomb = await attacker('POST', '/event-webhooks', {
      name: 'bomb',
      template: { kind: 'x.bomb', payload: { n: `{{ ${nestedAll(7)} }}` } },
    });
    expect(bomb.status).toBe(422);
    expect(bomb.body.errors[0].path).toBe('body.template.payload.n');
    expect(bomb.body.errors[0].message).toContain('at most 3 are allowed');

    const created = await attacker('POST', '/event-webhooks', {
      name: 'slow',
      template: { kind: 'x.slow', payload: { n: `{{ ${quadratic('body.items')} }}` } },
    });
    expect(created.status, created.text).toBe(201);
    const { path, secret, webhook } = created.body;
    const payload = JSON.stringify({ items: longList(5000) });
    const signature = `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
    const answers = await watched(async () => {
      const answers: { status: number; detail: string }[] = [];
      // Four senders at once, five deliveries each.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 5; i++) {
            const res = await fetch(`${api.url}${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-outpost-signature': signature },
              body: payload,
            });
            const problem = (await res.json()) as { detail: string };
            answers.push({ status: res.status, detail: problem.detail });
          }
        }),
      );
      return answers;
    });
    // Each delivery is refused for its sender, saying why; nothing is stored.
    expect(answers).toHaveLength(20);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.detail).toContain('budget');
    }
    const [stored] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE workspace_id = ${attackerWorkspace} AND kind = 'x.slow'`;
    expect(stored?.n).toBe(0);
    const hooks = await attacker('GET', '/event-webhooks');
    const hook = hooks.body.items.find((h: { id: string }) => h.id === webhook.id);
    expect(hook.lastError).toContain('budget');
  });

  it('bounds an automation trigger that is costly on its events: the events are quarantined and the automation turned off', async () => {
    const bomb = await attacker('POST', '/automations', {
      name: 'bomb',
      trigger: { type: 'event', match: nestedAll(7) },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    expect(bomb.status).toBe(422);
    expect(bomb.body.errors[0].path).toBe('body.trigger.match');

    const slow = await automation({
      trigger: { type: 'event', match: `event.kind == "t.big" && ${quadratic('event.payload.items')}` },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    // Every costly event is quarantined: for the automation when its evaluation overran, or set aside
    // for the whole workspace once the round's evaluations passed the workspace's budget (which a
    // loaded machine reaches sooner, as thread replacements count too). Events come in threes until
    // the automation has overrun often enough to be turned off.
    const ids: string[] = [];
    await watched(async () => {
      for (let batch = 0; batch < 6; batch++) {
        const events = await emitted(
          attacker,
          Array.from({ length: 3 }, () => ({ kind: 't.big', payload: { items: longList(5000) } })),
        );
        ids.push(...events);
        await waitFor(async () => ((await cursorCaughtUp()) ? true : null), 60_000, 'the loop to read the events');
        if ((await attacker('GET', `/automations/${slow.id}`)).body.enabled === false) return;
      }
    });
    const a = (await attacker('GET', `/automations/${slow.id}`)).body;
    expect(a.enabled).toBe(false);
    expect(a.disabledReason).toContain('budget');
    expect((await quarantineOf(slow.id)).length).toBe(MAX_BUDGET_FAILURES);
    await expectQuarantinedUntilOff(ids, slow.id);
  });

  it("ends an event wait whose match overruns its budget, with the reason, and refuses a bomb in a wait's match", async () => {
    const deployed = await deployAs('waiter');
    expect(deployed.status, deployed.text).toBe(200);
    const run = await attacker('POST', `/deployments/${deployed.body.deployment.id}/runs`, {});
    expect(run.status, run.text).toBe(201);
    const claimed = await attackerWorker('POST', '/work-pools/default/claim', { workerId: randomUUID(), limit: 1 });
    expect(claimed.status, claimed.text).toBe(200);
    const runToken = caller(() => api.url, claimed.body.runs[0].token);
    const runId = claimed.body.runs[0].flowRun.id;
    const running = await runToken('POST', `/flow-runs/${runId}/set-state`, {
      transitionId: randomUUID(),
      state: { type: 'RUNNING' },
    });
    expect(running.body.status).toBe('ACCEPT');
    await emitted(attacker, [{ kind: 'w.big', payload: { items: longList(5000) } }]);

    const bomb = await runToken('POST', `/flow-runs/${runId}/waits`, {
      key: 'bomb',
      spec: { kind: 'event', event: 'w.big', match: nestedAll(7) },
    });
    expect(bomb.status).toBe(422);
    expect(bomb.body.errors[0].path).toBe('body.spec.match');

    const wait = await watched(() =>
      runToken('POST', `/flow-runs/${runId}/waits`, {
        key: 'slow',
        spec: { kind: 'event', event: 'w.big', match: quadratic('event.payload.items') },
      }),
    );
    expect(wait.status, wait.text).toBe(200);
    expect(wait.body.wait.status).toBe('CANCELLED');
    expect(wait.body.wait.value.reason).toContain('ran past its budget');
  });

  it('answers a parameter that a catastrophic pattern would backtrack on at once, as a validation error', async () => {
    const deployed = await deployAs('redos', {
      parameterSchema: { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } },
    });
    expect(deployed.status, deployed.text).toBe(200);
    const id = deployed.body.deployment.id;
    const answers = await watched(async () => {
      const statuses: Reply[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(await attacker('POST', `/deployments/${id}/runs`, { parameters: { name: `${'a'.repeat(40)}!` } }));
      }
      return statuses;
    });
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('body.parameters.name');
    }
  });

  it('refuses an hourly partitions definition from 1900 at deploy, naming the quota', async () => {
    const res = await watched(() =>
      deployAs('assets', {
        assets: [
          {
            key: 'ticks',
            codeVersion: 'v1',
            partitions: { kind: 'time', cadence: 'hourly', start: '1900-01-01T00:00', timezone: 'UTC' },
          },
        ],
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('body.assets.0.partitions');
    expect(res.body.detail).toContain('partitionsPerDefinition');
    expect((await victim('GET', '/assets')).status).toBe(200);
  });

  it('applies SCIM PATCHes at their bounds against a group at its size limit in slices, and refuses one past them, naming the limit', async () => {
    // The attacker's organisation: a directory token, and a group of SCIM_GROUP_MEMBERS_MAX people (seeded with SQL).
    const token = await createOrganisationToken(sql, attackerWorkspace, 'directory', ['scim']);
    const [org] = await sql<{ id: string; slug: string }[]>`
      SELECT o.id, o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${attackerWorkspace}`;
    const people = (
      await sql<{ id: string }[]>`
        WITH made AS (
          INSERT INTO users (email) SELECT 'crowd-' || i || '@noisy.example.com' FROM generate_series(1, ${SCIM_GROUP_MEMBERS_MAX}) i
          RETURNING id, email)
        INSERT INTO directory_users (organisation_id, user_id, user_name) SELECT ${org?.id ?? ''}, id, email FROM made
        RETURNING user_id AS id`
    ).map((r) => r.id);
    const directory = caller(() => api.url, token);
    const scim: Call = (method, path, body) => directory(method, `/organisations/${org?.slug}/scim/v2${path}`, body);
    const made = await scim('POST', '/Groups', {
      schemas: [SCIM_SCHEMAS.group],
      displayName: 'Everyone',
      members: people.map((value) => ({ value })),
    });
    expect(made.status, made.text.slice(0, 300)).toBe(201);
    const group = `/Groups/${made.body.id}`;
    const patchOf = (operations: unknown[]) => ({ schemas: [SCIM_SCHEMAS.patchOp], Operations: operations });
    // SCIM_PATCH_OPERATIONS_MAX removals, each a filter of SCIM_FILTER_TERMS_MAX `value eq` comparisons
    // naming four members, within the longest path; then one add of them all back; then value filters of
    // another kind, each walking the whole group, as many as PATCH_WALK_STEPS_MAX allows.
    const named = 4;
    const removals = patchOf(
      Array.from({ length: SCIM_PATCH_OPERATIONS_MAX }, (_, i) => {
        const terms = [
          ...people.slice(i * named, (i + 1) * named).map((id) => `value eq "${id}"`),
          ...Array.from({ length: SCIM_FILTER_TERMS_MAX - named }, (_, j) => `value eq "${j}"`),
        ];
        return { op: 'remove', path: `members[${terms.join(' or ')}]` };
      }),
    );
    const removed = people.slice(0, SCIM_PATCH_OPERATIONS_MAX * named);
    const readd = patchOf([{ op: 'add', path: 'members', value: removed.map((value) => ({ value })) }]);
    const walk = `members[${Array.from({ length: SCIM_FILTER_TERMS_MAX }, (_, i) => `display eq "${i}"`).join(' or ')}]`;
    const walks = (n: number) => patchOf(Array.from({ length: n }, () => ({ op: 'remove', path: walk })));

    const answers = await watched(async () => {
      const replies: Reply[] = [];
      for (let cycle = 0; cycle < 3; cycle++) {
        replies.push(await scim('PATCH', group, removals));
        replies.push(await scim('PATCH', group, readd));
        replies.push(await scim('PATCH', group, walks(4)));
      }
      return replies;
    });
    for (const res of answers) expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect((await scim('GET', group)).body.members).toHaveLength(SCIM_GROUP_MEMBERS_MAX);

    // Past the bounds: refused with a SCIM error naming the limit, and nothing changed.
    const tooManyWalks = await scim('PATCH', group, walks(5));
    expect(tooManyWalks.status, tooManyWalks.text).toBe(400);
    expect(tooManyWalks.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'tooMany' });
    expect(tooManyWalks.body.detail).toContain('2,000,000 values');
    const tooManyTerms = await scim(
      'PATCH',
      group,
      patchOf([
        {
          op: 'remove',
          path: `members[${Array.from({ length: SCIM_FILTER_TERMS_MAX + 1 }, (_, i) => `value eq "${i}"`).join(' or ')}]`,
        },
      ]),
    );
    expect(tooManyTerms.status, tooManyTerms.text).toBe(400);
    expect(tooManyTerms.body.detail).toContain(`more than ${SCIM_FILTER_TERMS_MAX} comparisons`);
    expect((await scim('GET', group)).body.members).toHaveLength(SCIM_GROUP_MEMBERS_MAX);
  });

  it('stops an automation that runs, twice per firing, the deployment whose runs trigger it', async () => {
    const deployed = await deployAs('loop');
    expect(deployed.status, deployed.text).toBe(200);
    const d = deployed.body.deployment;
    const looping = await automation({
      trigger: { type: 'event', match: `event.kind == "flow-run.scheduled" && event.payload.deploymentId == "${d.id}"` },
      actions: [
        { type: 'run-deployment', deployment: 'loop/d' },
        { type: 'run-deployment', deployment: 'loop/d' },
      ],
    });
    const count = async () =>
      (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${d.id}`)[0]?.n ?? 0;

    const runs = await watched(async () => {
      const manual = await attacker('POST', `/deployments/${d.id}/runs`, {});
      expect(manual.status, manual.text).toBe(201);
      // The chain ends when a firing's actions are skipped and the loop has read everything.
      await waitFor(
        async () => {
          const firings = await attacker('GET', `/automations/${looping.id}/firings`);
          const skipped = firings.body.items.some((f: { actions: { status: string }[] }) =>
            f.actions.every((x) => x.status === 'SKIPPED'),
          );
          return skipped && (await cursorCaughtUp()) ? true : null;
        },
        120_000,
        'the chain to stop',
      );
      return count();
    });
    // One manual run, then at most two runs per firing for five generations: 1 + 2 + 4 + … + 32.
    expect(runs).toBeGreaterThan(1);
    expect(runs).toBeLessThanOrEqual(63);
    // Stopped, not slowed: after the loop reads a later event, no run was added.
    await emitted(attacker, [{ kind: 'marker.after-chain' }]);
    await waitFor(async () => ((await cursorCaughtUp()) ? true : null), 60_000, 'the loop to read the marker');
    expect(await count()).toBe(runs);
  });

  it('comes back from a kill with a costly automation pending, serving the victim and quarantining the events', async () => {
    const slow = await automation({
      trigger: { type: 'event', match: `event.kind == "k.big" && ${quadratic('event.payload.items')}` },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    const ids = await emitted(
      attacker,
      Array.from({ length: 6 }, () => ({ kind: 'k.big', payload: { items: longList(5000) } })),
    );
    api.child.kill('SIGKILL');
    await api.exited;
    await start();
    // Every pending event ends quarantined (for the automation, or set aside for the workspace once
    // a round passed its budget); none is evaluated again and again.
    await watched(() =>
      waitFor(async () => ((await cursorCaughtUp()) ? true : null), 90_000, 'the restarted API to pass the pending events'),
    );
    // Turned off exactly when it overran on three events.
    const forIt = (await quarantineOf(slow.id)).length;
    expect(forIt).toBeLessThanOrEqual(MAX_BUDGET_FAILURES);
    expect((await attacker('GET', `/automations/${slow.id}`)).body.enabled).toBe(forIt < MAX_BUDGET_FAILURES);
    await expectQuarantinedUntilOff(ids, slow.id);
    const [workspace] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM automation_quarantine WHERE workspace_id = ${attackerWorkspace}`;
    expect(workspace?.n).toBeGreaterThanOrEqual(3);
  });
});
