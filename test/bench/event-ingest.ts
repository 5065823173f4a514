import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { startBenchApi } from './support/api.js';
import { BackendCpu, backendCpuRow, rawBaseline, withBackendCpu } from './support/backend-cpu.js';
import { type Row, row } from './support/row.js';

/**
 * Custom event ingestion through `POST /events` with an API key: 10,000 events in batches of 100,
 * and 2,000 one at a time, each by one sender. Baseline: the same rows inserted into the same
 * `events` table straight from postgres.js (one multi-row INSERT per batch, or one INSERT per
 * event), so the triggers, indexes and NOTIFY of the ledger weigh on both sides alike. For each,
 * the CPU time of the Postgres backends that served it, per event stored.
 */
export const timeoutSeconds = 240;

const BATCH = 100;
const BATCHES = 100;
const SINGLES = 2000;

function events(n: number, i0: number) {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'bench.metrics',
    payload: { step: i0 + i, loss: 1 / (1 + i0 + i), model: 'churn-v7', tags: ['nightly', 'eu'] },
  }));
}

/** Events stored, and per second. */
async function rate(count: number, send: (i: number) => Promise<number>): Promise<{ stored: number; perSecond: number }> {
  let stored = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) stored += await send(i);
  return { stored, perSecond: stored / ((performance.now() - started) / 1000) };
}

export async function run(): Promise<Row[]> {
  const api = await startBenchApi();
  const client = new OutpostClient({ baseUrl: api.server.url, token: api.server.ownerKey });
  const baseline = rawBaseline(api.server.databaseUrl, 4);
  const { sql, cpu: rawCpu } = baseline;
  const apiCpu = new BackendCpu(api.server.databaseUrl, 'outpost-api');
  const raw = (list: ReturnType<typeof events>) =>
    list.map((e) => ({
      workspace_id: api.server.workspaceId,
      kind: e.kind,
      resource_kind: 'api-key',
      resource_id: 'bench',
      payload: sql.json(e.payload),
      source: 'api',
      source_id: 'bench',
    }));
  try {
    const emit = async (list: ReturnType<typeof events>) =>
      unwrap(await client.call('eventsEmit', { body: { events: list } })).ids.length;
    const batched = await withBackendCpu(apiCpu, () => rate(BATCHES, (b) => emit(events(BATCH, b * BATCH))));
    const batchedRaw = await withBackendCpu(rawCpu, () =>
      rate(BATCHES, async (b) => (await sql`INSERT INTO events ${sql(raw(events(BATCH, b * BATCH)))}`).count),
    );
    const singles = await withBackendCpu(apiCpu, () => rate(SINGLES, (i) => emit(events(1, i))));
    const singlesRaw = await withBackendCpu(rawCpu, () =>
      rate(SINGLES, async (i) => (await sql`INSERT INTO events ${sql(raw(events(1, i)))}`).count),
    );
    const note = 'the same rows inserted into the same events table from postgres.js (triggers and NOTIFY included)';
    const batchedLabel = `event ingest, ${BATCH}-event batches (${BATCH * BATCHES} events)`;
    const singlesLabel = `event ingest, one event per request (${SINGLES} events)`;
    const rows = [
      row(batchedLabel, batched.result.perSecond, 'events/s', batchedRaw.result.perSecond, note),
      row(singlesLabel, singles.result.perSecond, 'events/s', singlesRaw.result.perSecond, note),
    ];
    for (const [label, api, base] of [
      [batchedLabel, batched, batchedRaw],
      [singlesLabel, singles, singlesRaw],
    ] as const) {
      const cpu = backendCpuRow(label, 'µs/event', 1000, api, base, note);
      if (cpu) rows.push(cpu);
    }
    return rows;
  } finally {
    await apiCpu.close();
    await baseline.close();
    await client.close();
    await api.close();
  }
}
