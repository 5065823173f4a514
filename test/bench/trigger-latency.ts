import { startTestServer, type TestServer } from '@outpost/api/testing';
import { percentile, type Row, row, waitFor } from './support/row.js';

/**
 * Event stored → run created, through the real automations loop (woken by the ledger's NOTIFY):
 * in a workspace with 1,000 enabled automations (999 that do not match, and one that runs a
 * deployment), against the same with the one automation alone, in the same run on the same
 * database. Each sample stores one event and waits for its run; samples are sequential.
 */
export const timeoutSeconds = 240;

export const notes = `### trigger-latency: what 1,000 automations cost an event
Every event is evaluated against every enabled automation of its workspace (compiled CEL, cached per
automation and version) in the CEL sandbox's threads, under each evaluation's deadline, in batches
of 64 events; the automations are read once per round. The 1-automation baseline is the same loop, event and run creation.`;

const AUTOMATIONS = 1_000;
const SAMPLES = 100;

/** One custom event, stored as the events API stores one. */
async function emit(server: TestServer, kind: string, payload: Record<string, unknown>): Promise<void> {
  await server.sql`
    INSERT INTO events (workspace_id, kind, resource_kind, resource_id, payload, source)
    VALUES (${server.workspaceId}, ${kind}, 'api-key', 'bench', ${server.sql.json(payload as never)}, 'api')`;
}

async function measure(server: TestServer, kind: string, deploymentId: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await emit(server, kind, { i });
    await waitFor(
      `run ${i}`,
      async () => {
        const [r] = await server.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${deploymentId} AND parameters->>'i' = ${String(i)}`;
        return r && r.n > 0 ? true : undefined;
      },
      30_000,
      2,
    );
    times.push(performance.now() - started);
  }
  return times;
}

async function deployment(server: TestServer, name: string): Promise<string> {
  const res = await server.app.request('/api/v1/deployments', {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      flowName: 'bench-triggered',
      name,
      source: 'dir:///bench',
      entrypoint: 'flow.mjs',
      workPool: 'default',
    }),
  });
  if (res.status !== 200) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { deployment: { id: string } }).deployment.id;
}

async function automation(server: TestServer, name: string, match: string, deploymentName: string): Promise<void> {
  await server.sql`
    INSERT INTO automations (workspace_id, name, trigger, actions)
    VALUES (${server.workspaceId}, ${name}, ${server.sql.json({ type: 'event', match } as never)},
            ${server.sql.json([{ type: 'run-deployment', deployment: `bench-triggered/${deploymentName}`, parameters: { i: '{{ event.payload.i }}' } }] as never)})`;
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ automations: { idleMs: 1_000 } });
  try {
    const one = await deployment(server, 'one');
    await automation(server, 'only', 'event.kind == "bench.one"', 'one');
    const baseline = await measure(server, 'bench.one', one);

    const many = await deployment(server, 'many');
    for (let i = 0; i < AUTOMATIONS - 1; i++) {
      await automation(server, `other-${i}`, `event.kind == "bench.other-${i}" && event.payload.i > 0`, 'many');
    }
    await automation(server, 'matching', 'event.kind == "bench.many"', 'many');
    // The first round compiles the 1,000 programs; measured samples start after it.
    await emit(server, 'bench.warm', {});
    const loaded = await measure(server, 'bench.many', many);
    const note = 'the same with 1 automation in the workspace, same run';
    return [
      row(
        `event stored → run created, ${AUTOMATIONS.toLocaleString('en')} automations (p50)`,
        percentile(loaded, 50),
        'ms',
        percentile(baseline, 50),
        note,
      ),
      row(
        `event stored → run created, ${AUTOMATIONS.toLocaleString('en')} automations (p99)`,
        percentile(loaded, 99),
        'ms',
        percentile(baseline, 99),
        note,
      ),
    ];
  } finally {
    await server.close();
  }
}
