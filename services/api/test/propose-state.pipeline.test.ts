import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { beforeAll, expect, test } from 'vitest';
import { proposeState } from '../src/runs/db/propose-state.js';
import { claim, client, createRun, deploy, useServer } from './helpers.js';

let deploymentId: string;

const api = useServer();

beforeAll(async () => {
  deploymentId = (await deploy(api.owner, { flowName: 'pipe', name: 'p', retries: 1 })).id;
});

/** A claimed run, and a client whose every statement is recorded in the order it reaches the server. */
async function recorded(): Promise<{ runId: string; sql: postgres.Sql; sent: string[] }> {
  await createRun(api.owner, deploymentId);
  const [claimed] = await claim(api.owner);
  const sent: string[] = [];
  const sql = postgres(api.server.databaseUrl, {
    max: 4,
    onnotice: () => {},
    debug: (connection, query) => sent.push(`${connection} ${query.trim().split(/\s+/).slice(0, 2).join(' ')}`),
  });
  // The connection's own start-up queries (array types) are not the proposal's.
  await sql`SELECT 1`;
  sent.length = 0;
  return { runId: claimed.flowRun.id, sql, sent };
}

/*
 * A proposal sends its writes together (propose-state.ts): postgres.js sends a statement only a
 * microtask after it is awaited, so statements meant to go in order are sent with execute(). The
 * order on the wire, inside one transaction on one connection, is checked here.
 */
test('a proposal sends BEGIN, the lock, the carried lines, the state change and COMMIT, in that order, on one connection', async () => {
  const { runId, sql, sent } = await recorded();
  try {
    const answer = await proposeState(sql, null, {
      workspaceId: api.server.workspaceId,
      runId,
      transitionId: randomUUID(),
      state: { type: 'RUNNING' },
      attempt: 1,
      actor: 'run',
      logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'carried', taskRunId: null, stream: 'flow' }],
    });
    expect(answer?.status).toBe('ACCEPT');
    const connection = sent[0]?.split(' ')[0];
    expect(sent.map((line) => line.slice(line.indexOf(' ') + 1))).toEqual([
      'begin',
      'SELECT r.id,',
      'WITH lines',
      'WITH appended',
      'commit',
    ]);
    expect(sent.every((line) => line.startsWith(`${connection} `))).toBe(true);
  } finally {
    await sql.end({ timeout: 5 });
  }
});

test('proposals racing on one run are judged one after another: one crash, the others stale', async () => {
  const { runId, sql } = await recorded();
  try {
    const propose = () =>
      proposeState(sql, null, {
        workspaceId: api.server.workspaceId,
        runId,
        transitionId: randomUUID(),
        state: { type: 'CRASHED', message: 'lease expired' },
        attempt: 1,
        actor: 'system',
      }).then(
        (answer) => answer?.status ?? null,
        (error: { code?: string }) => error.code ?? 'error',
      );
    const answers = await Promise.all([propose(), propose(), propose(), propose()]);
    expect(answers.sort()).toEqual(['ACCEPT', 'stale_attempt', 'stale_attempt', 'stale_attempt']);
    const states = await api.server.sql<{ type: string }[]>`
      SELECT type FROM flow_run_states WHERE flow_run_id = ${runId} ORDER BY seq`;
    expect(states.map((s) => s.type)).toEqual(['SCHEDULED', 'PENDING', 'CRASHED', 'SCHEDULED']);
  } finally {
    await sql.end({ timeout: 5 });
  }
});

test("a run token's state proposal and log batch for its own run check its fence in their first statement, sending none of its own", async () => {
  await createRun(api.owner, deploymentId);
  const [claimed] = await claim(api.owner);
  const run = client(api.server, claimed.token);
  const runId = claimed.flowRun.id;
  const sent: string[] = [];
  const record = async (call: () => Promise<{ status: number }>): Promise<string[]> => {
    sent.length = 0;
    api.server.sql.options.debug = (_connection: number, query: string) =>
      void sent.push(query.trim().split(/\s+/).slice(0, 2).join(' '));
    try {
      expect((await call()).status).toBe(200);
    } finally {
      api.server.sql.options.debug = false as never;
    }
    return [...sent];
  };
  const running = await record(() =>
    run('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } }),
  );
  expect(running).toEqual(['begin', 'SELECT r.id,', 'WITH appended', 'commit']);
  const logged = await record(() =>
    run('POST', `/flow-runs/${runId}/logs`, {
      body: {
        attempt: claimed.flowRun.attempt,
        logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'hi', stream: 'flow' }],
      },
    }),
  );
  expect(logged).toEqual(['SELECT r.attempt,', 'WITH lines']);
});
