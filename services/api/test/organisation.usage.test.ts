import { randomUUID } from 'node:crypto';
import { USAGE_MONTHS_MAX, type WorkspaceMonthUsage } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/create-api-key.js';
import { foldUsageDeltas } from '../src/quotas/db/usage.js';
import { type Call, client, startedRun, useServer } from './helpers.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

let aliceIn: PersonSession;
/** A workspace of the default organisation that only this file writes to. */
let team: { id: string; key: Call };
const month = new Date().toISOString().slice(0, 7);

const api = useServer();

beforeAll(async () => {
  const alice = await addPerson(api.server, api.owner, 'owner');
  await confirmAddress(api.server, alice);
  aliceIn = await signInPerson(api.server, alice.email);
  const made = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'usage-team' });
  expect(made.status, made.text).toBe(201);
  const key = await createApiKey(api.server.sql, { workspaceId: made.body.id, name: 'usage', role: 'owner' });
  team = { id: made.body.id, key: client(api.server, key.key) };
  const pool = await team.key('POST', '/work-pools', { body: { name: 'default' } });
  expect(pool.status, pool.text).toBe(201);
});

/** What the tables hold for the workspace now: what its usage must equal, since nothing of it was deleted. */
async function counted(workspaceId: string) {
  const [row] = await api.server.sql<Record<string, number>[]>`
    SELECT (SELECT count(*) FROM flow_runs WHERE workspace_id = ${workspaceId})::int AS runs,
           (SELECT count(*) FROM task_runs WHERE workspace_id = ${workspaceId})::int AS "taskRuns",
           (SELECT count(*) FROM logs WHERE workspace_id = ${workspaceId})::int AS "logLines",
           (SELECT coalesce(sum(octet_length(message)), 0) FROM logs WHERE workspace_id = ${workspaceId})::int AS "logBytes",
           (SELECT count(*) FROM events WHERE workspace_id = ${workspaceId})::int AS events`;
  return row;
}

async function usageOf(slug: string, query = ''): Promise<WorkspaceMonthUsage> {
  const res = await aliceIn.call('GET', `/organisations/default/usage${query}`);
  expect(res.status, res.text).toBe(200);
  const item = (res.body.items as WorkspaceMonthUsage[]).find((i) => i.workspace === slug && i.month === month);
  if (!item) throw new Error(`no usage of ${slug} in ${month}: ${res.text}`);
  return item;
}

describe("an organisation's usage", () => {
  test('counts every run, task run, log line and event its workspace wrote, in this month, and a rolled back write counts nothing', async () => {
    // Through the worker protocol: a run claimed and started, a batch of task runs, log lines, events.
    const { id, asRun } = await startedRunIn(team.key);
    const at = new Date().toISOString();
    const batch = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, {
      body: {
        flowRunAttempt: 1,
        events: Array.from({ length: 3 }, (_, i) => ({
          kind: 'create',
          id: randomUUID(),
          name: `t${i}`,
          taskKey: 't',
          dynamicKey: String(i),
          state: { type: 'COMPLETED' },
          at,
        })),
      },
    });
    expect(batch.status, batch.text).toBe(200);
    const logs = await asRun('POST', `/flow-runs/${id}/logs`, {
      body: {
        attempt: 1,
        logs: [
          { seq: 1, timestamp: at, level: 'info', message: 'loading' },
          { seq: 2, timestamp: at, level: 'info', message: 'héllo wörld' },
        ],
      },
    });
    expect(logs.status, logs.text).toBeLessThan(300);
    const emitted = await team.key('POST', '/events', { body: { events: [{ kind: 'usage.checked', payload: { n: 1 } }] } });
    expect(emitted.status, emitted.text).toBeLessThan(300);

    const usage = await usageOf('usage-team');
    const truth = await counted(team.id);
    expect(truth).toMatchObject({ runs: 1, taskRuns: 3, logLines: 2 });
    expect(truth?.logBytes).toBe(Buffer.byteLength('loading') + Buffer.byteLength('héllo wörld'));
    expect(usage).toMatchObject(truth as object);
    // Every row's bytes as stored, log messages included.
    const [stored] = await api.server.sql<{ bytes: number }[]>`
      SELECT ((SELECT coalesce(sum(pg_column_size(r)), 0) FROM flow_runs r WHERE workspace_id = ${team.id})
            + (SELECT coalesce(sum(pg_column_size(t)), 0) FROM task_runs t WHERE workspace_id = ${team.id})
            + (SELECT coalesce(sum(pg_column_size(l)), 0) FROM logs l WHERE workspace_id = ${team.id})
            + (SELECT coalesce(sum(pg_column_size(e)), 0) FROM events e WHERE workspace_id = ${team.id}))::int AS bytes`;
    // Rows grow after they are written (a run's state, a task run's result), so what they hold now is at least as much.
    expect(usage.metadataBytes).toBeGreaterThan(usage.logBytes);
    expect(usage.metadataBytes).toBeLessThanOrEqual(stored?.bytes ?? 0);

    // A write that does not commit is not counted.
    await api.server.sql
      .begin(async (tx) => {
        await tx`INSERT INTO events (workspace_id, id, occurred_at, kind, resource_kind, resource_id, payload)
                 VALUES (${team.id}, ${randomUUID()}, now(), 'usage.rolled-back', 'test', 'x', '{}')`;
        throw new Error('roll back');
      })
      .catch(() => {});
    expect((await usageOf('usage-team')).events).toBe(usage.events);
  });

  test('counts the seconds a run spent RUNNING through the state machine, renames included, and not its subflows again', async () => {
    const before = (await usageOf('usage-team')).computeSeconds;
    const { id, asRun } = await startedRunIn(team.key);
    const setState = async (runId: string, state: Record<string, unknown>) => {
      const res = await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state } });
      expect(res.body?.status, res.text).toBe('ACCEPT');
    };
    // A subflow runs in the parent's process: its time is the parent's, not counted twice.
    const child = await asRun('POST', `/flow-runs/${id}/child-runs`, {
      body: { id: randomUUID(), attempt: 1, flowName: 'usage-child' },
    });
    expect(child.status, child.text).toBeLessThan(300);
    await setState(child.body.flowRun?.id ?? child.body.id, { type: 'COMPLETED' });
    await setState(id, { type: 'RUNNING', name: 'Training' });
    await setState(id, { type: 'COMPLETED' });
    const states = await api.server.sql<{ type: string; timestamp: Date }[]>`
      SELECT type, timestamp FROM flow_run_states WHERE flow_run_id = ${id} ORDER BY timestamp, id`;
    const running = states.find((s) => s.type === 'RUNNING');
    const completed = states.find((s) => s.type === 'COMPLETED');
    if (!running || !completed) throw new Error(`states: ${JSON.stringify(states)}`);
    const spent = (completed.timestamp.getTime() - running.timestamp.getTime()) / 1000;
    expect((await usageOf('usage-team')).computeSeconds - before).toBeCloseTo(spent, 3);
  });

  test('counts a stretch to the state that ended it, and a run the lease loop crashed only to its lease end', async () => {
    const { id } = await startedRunIn(team.key);
    const before = (await usageOf('usage-team')).computeSeconds;
    const t = Date.now();
    const stamp = (offset: number) => new Date(t - 400_000 + offset * 1000);
    // Ninety seconds RUNNING, a pause, then RUNNING again until the lease lapsed 30 seconds in;
    // the loop noticed 200 seconds later.
    await api.server.sql`UPDATE flow_runs SET state_timestamp = ${stamp(0)} WHERE id = ${id}`;
    await api.server
      .sql`UPDATE flow_runs SET state_type = 'PAUSED', state_name = 'Paused', state_timestamp = ${stamp(90)} WHERE id = ${id}`;
    await api.server.sql`UPDATE flow_runs SET state_type = 'RUNNING', state_name = 'Running', state_timestamp = ${stamp(170)},
                       lease_expires_at = ${stamp(200)} WHERE id = ${id}`;
    await api.server
      .sql`UPDATE flow_runs SET state_type = 'CRASHED', state_name = 'Crashed', state_timestamp = ${stamp(400)} WHERE id = ${id}`;
    expect((await usageOf('usage-team')).computeSeconds - before).toBeCloseTo(120, 3);
  });

  test('takes back a run deleted before it started, such as a scheduled run a paused deployment withdraws', async () => {
    const before = (await usageOf('usage-team')).runs;
    const { id } = await startedRunIn(team.key);
    expect((await usageOf('usage-team')).runs).toBe(before + 1);
    await api.server.sql`DELETE FROM flow_run_states WHERE flow_run_id = ${id}`;
    await api.server.sql`DELETE FROM flow_runs WHERE id = ${id}`;
    expect((await usageOf('usage-team')).runs).toBe(before);
  });

  test('reads the same before and after the retention pass folds the counts, and no count is left to fold', async () => {
    const before = await aliceIn.call('GET', '/organisations/default/usage');
    let folded = 0;
    for (let n = await foldUsageDeltas(api.server.sql, 2); n > 0; n = await foldUsageDeltas(api.server.sql, 2)) folded += n;
    expect(folded).toBeGreaterThan(0);
    const [left] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM usage_deltas`;
    expect(left?.n).toBe(0);
    const after = await aliceIn.call('GET', '/organisations/default/usage');
    expect(after.body).toEqual(before.body);
  });

  test('lists every workspace of the organisation for every month of the range, zeros included, and none of another organisation', async () => {
    const elsewhere = await api.server.createWorkspace();
    await startedRunIn(client(api.server, elsewhere.ownerKey));
    const previous = monthBefore(month);
    const res = await aliceIn.call('GET', `/organisations/default/usage?from=${previous}&to=${month}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ from: previous, to: month });
    const items = res.body.items as WorkspaceMonthUsage[];
    expect(items.map((i) => `${i.month} ${i.workspace}`)).toEqual([
      `${previous} default`,
      `${previous} usage-team`,
      `${month} default`,
      `${month} usage-team`,
    ]);
    expect(items[1]).toEqual({
      workspace: 'usage-team',
      month: previous,
      runs: 0,
      taskRuns: 0,
      computeSeconds: 0,
      logLines: 0,
      logBytes: 0,
      events: 0,
      metadataBytes: 0,
    });
    const one = await aliceIn.call('GET', '/organisations/default/usage?workspace=usage-team');
    expect((one.body.items as WorkspaceMonthUsage[]).map((i) => i.workspace)).toEqual(['usage-team']);
    const [elsewhereSlug] = await api.server.sql<
      { slug: string }[]
    >`SELECT slug FROM workspaces WHERE id = ${elsewhere.workspaceId}`;
    const unknown = await aliceIn.call('GET', `/organisations/default/usage?workspace=${elsewhereSlug?.slug}`);
    expect(unknown.status).toBe(404);
  });

  test('exports the same figures as CSV, a header and one line per workspace and month', async () => {
    const json = await aliceIn.call('GET', '/organisations/default/usage');
    const res = await api.server.app.request('/api/v1/organisations/default/usage/export', {
      headers: { cookie: aliceIn.cookie },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="usage-default-${month}-to-${month}.csv"`);
    const lines = (await res.text()).split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('month,workspace,runs,task_runs,compute_seconds,log_lines,log_bytes,events,metadata_bytes');
    const rows = lines.slice(1).map((line) => line.split(','));
    expect(rows).toEqual(
      (json.body.items as WorkspaceMonthUsage[]).map((i) => [
        i.month,
        i.workspace,
        ...[i.runs, i.taskRuns, i.computeSeconds, i.logLines, i.logBytes, i.events, i.metadataBytes].map(String),
      ]),
    );
  });

  test('refuses a range that ends before it starts, spans too many months, or names no month, with the field named', async () => {
    const backwards = await aliceIn.call('GET', '/organisations/default/usage?from=2026-05&to=2026-04');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([{ path: 'query.to', message: '2026-04 is before 2026-05' }]);
    const long = await aliceIn.call('GET', '/organisations/default/usage?from=2020-01&to=2026-01');
    expect(long.status).toBe(400);
    expect(long.body.errors[0]).toMatchObject({ path: 'query.from' });
    expect(long.body.errors[0].message).toContain(`at most ${USAGE_MONTHS_MAX} months`);
    const notAMonth = await aliceIn.call('GET', '/organisations/default/usage/export?from=2026-13');
    expect(notAMonth.status).toBe(400);
    expect(notAMonth.body.errors).toEqual([{ path: 'query.from', message: 'must be a month as YYYY-MM, from 2000-01' }]);
    // Years past 2999 are not months usage is kept for; 9999-12 would otherwise roll over to a five-digit year.
    const farOff = await aliceIn.call('GET', '/organisations/default/usage?from=9999-01&to=9999-12');
    expect(farOff.status).toBe(400);
    expect(farOff.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.from', 'query.to']);
    const lastMonths = await aliceIn.call('GET', '/organisations/default/usage?from=2999-01&to=2999-12&workspace=usage-team');
    expect(lastMonths.status, lastMonths.text).toBe(200);
    expect((lastMonths.body.items as WorkspaceMonthUsage[]).map((i) => i.month)).toEqual(
      Array.from({ length: 12 }, (_, i) => `2999-${String(i + 1).padStart(2, '0')}`),
    );
  });

  test('is read with an organisation token holding usage:read, which reads no audit log, and an audit token reads no usage', async () => {
    const tokenWith = async (scopes: string[]) => {
      const made = await aliceIn.mutate('POST', '/organisations/default/tokens', { name: `usage ${scopes.join(' ')}`, scopes });
      expect(made.status, made.text).toBe(201);
      return made.body.token as string;
    };
    const get = (token: string, path: string) =>
      api.server.app.request(`/api/v1/organisations/default${path}`, { headers: { authorization: `Bearer ${token}` } });
    const billing = await tokenWith(['usage:read']);
    const json = await get(billing, '/usage?workspace=usage-team');
    expect(json.status).toBe(200);
    expect(((await json.json()) as { items: WorkspaceMonthUsage[] }).items[0]).toMatchObject({ workspace: 'usage-team', month });
    const csv = await get(billing, '/usage/export');
    expect(csv.status).toBe(200);
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^month,workspace,runs,/);
    const audit = await get(billing, '/audit-log/export');
    expect(audit.status).toBe(403);
    expect(await audit.text()).toContain('does not hold the scope \\"audit:read\\"');

    const siem = await tokenWith(['audit:read']);
    expect((await get(siem, '/audit-log/heads')).status).toBe(200);
    expect((await get(siem, '/usage')).status).toBe(403);
  });

  test('is read by owners, admins and auditors of the organisation, not by its members, keys or another organisation', async () => {
    const bob = await addPerson(api.server, api.owner, 'admin');
    await confirmAddress(api.server, bob);
    const bobIn = await signInPerson(api.server, bob.email);
    const refused = await bobIn.call('GET', '/organisations/default/usage');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('needs the organisation role "owner" or "admin" or "auditor"; yours is "member"');
    expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${bob.userId}`, { role: 'auditor' })).status).toBe(200);
    expect((await bobIn.call('GET', '/organisations/default/usage/export')).status).toBe(200);

    const key = await api.owner('GET', '/organisations/default/usage');
    expect(key.status).toBe(403);

    const stranger = await api.server.createWorkspace();
    const [strangerOrg] = await api.server.sql<{ slug: string }[]>`
      SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${stranger.workspaceId}`;
    expect((await aliceIn.call('GET', `/organisations/${strangerOrg?.slug}/usage`)).status).toBe(404);
  });
});

async function startedRunIn(call: Call) {
  return startedRun(api.server, call);
}

function monthBefore(m: string): string {
  const [year, mon] = m.split('-').map(Number) as [number, number];
  return mon === 1 ? `${year - 1}-12` : `${year}-${String(mon - 1).padStart(2, '0')}`;
}
