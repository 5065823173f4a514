import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { startBenchApi } from './support/api.js';
import { BackendCpu, backendCpuRow, rawBaseline, withBackendCpu } from './support/backend-cpu.js';
import { type Row, row } from './support/row.js';

/**
 * Log ingestion through `POST /flow-runs/:id/logs` in batches of 1,000 lines (the contract's
 * maximum, what a busy worker sends), with the run token, by 1 and by 4 concurrent senders each on
 * a run of its own. Baseline: the same rows as one multi-row INSERT per batch into the same
 * `logs` table, straight from postgres.js. For each, the CPU time of the Postgres backends that
 * served it (the API's pool, or the raw inserts' connections) per 1,000 lines stored.
 */
export const timeoutSeconds = 240;

const BATCH = 1000;
const BATCHES_PER_SENDER = 40;
const SENDERS = [1, 4] as const;
/** Per measurement: senders stop after this, and the rate counts what was stored. */
const BUDGET_MS = 30_000;

interface Line {
  seq: number;
  timestamp: string;
  level: 'info' | 'warning';
  message: string;
}

/** Lines shaped like a training job's output: ~110 characters, one in ten a warning. */
function batch(firstSeq: number): Line[] {
  const timestamp = new Date().toISOString();
  return Array.from({ length: BATCH }, (_, i) => {
    const seq = firstSeq + i;
    return {
      seq,
      timestamp,
      level: seq % 10 === 0 ? 'warning' : 'info',
      message: `epoch ${Math.floor(seq / 100)} step ${seq}: loss=${(1 / (1 + seq / 1000)).toFixed(6)} lr=0.001 batch=${BATCH} elapsed=${seq * 3}ms shard=${seq % 8}`,
    };
  });
}

/** `senders` loops, each sending its own run's batches in order; lines stored, and per second. */
async function drive(
  senders: number,
  send: (sender: number, lines: Line[]) => Promise<number>,
): Promise<{ stored: number; perSecond: number }> {
  let stored = 0;
  const deadline = Date.now() + BUDGET_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async (_, sender) => {
      for (let b = 0; b < BATCHES_PER_SENDER && Date.now() < deadline; b++) {
        // Not `stored += await send(…)`: that reads `stored` before the await, and concurrent senders
        // would overwrite each other's counts (the 4-sender rows counted about one sender's lines).
        const accepted = await send(sender, batch(b * BATCH + 1));
        stored += accepted;
      }
    }),
  );
  return { stored, perSecond: stored / ((performance.now() - started) / 1000) };
}

export async function run(): Promise<Row[]> {
  const api = await startBenchApi();
  const worker = new OutpostClient({ baseUrl: api.server.url, token: api.workerKey });
  const baseline = rawBaseline(api.server.databaseUrl, 20);
  const { sql, cpu: rawCpu } = baseline;
  const apiCpu = new BackendCpu(api.server.databaseUrl, 'outpost-api');
  try {
    /** A RUNNING run per sender and measurement, held by this worker, with its run token. */
    const runningRuns = async (count: number) => {
      for (let i = 0; i < count; i++) await api.createRun();
      const workerId = randomUUID();
      const { runs } = unwrap(
        await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: count, waitMs: 0 } }),
      );
      if (runs.length !== count) throw new Error(`claimed ${runs.length} runs, expected ${count}`);
      return Promise.all(
        runs.map(async (claimed) => {
          const client = worker.withToken(claimed.token);
          const { id, attempt } = claimed.flowRun;
          unwrap(
            await client.call('flowRunsSetState', {
              params: { id },
              body: { transitionId: randomUUID(), attempt, state: { type: 'RUNNING' } },
            }),
          );
          return { id, attempt, client };
        }),
      );
    };

    const rows: Row[] = [];
    for (const senders of SENDERS) {
      const apiRuns = await runningRuns(senders);
      const viaApi = await withBackendCpu(apiCpu, () =>
        drive(senders, async (sender, lines) => {
          const target = apiRuns[sender];
          if (!target) throw new Error('no run for sender');
          const { accepted } = unwrap(
            await target.client.call('logsWrite', { params: { id: target.id }, body: { attempt: target.attempt, logs: lines } }),
          );
          if (accepted !== lines.length) throw new Error(`stored ${accepted} of ${lines.length} lines`);
          return accepted;
        }),
      );

      const rawRuns = await runningRuns(senders);
      const viaRaw = await withBackendCpu(rawCpu, () =>
        drive(senders, async (sender, lines) => {
          const target = rawRuns[sender];
          if (!target) throw new Error('no run for sender');
          const values = lines.map((l) => ({
            flow_run_id: target.id,
            attempt: target.attempt,
            seq: l.seq,
            workspace_id: api.server.workspaceId,
            timestamp: l.timestamp,
            level: l.level,
            message: l.message,
            stream: 'flow',
          }));
          const result = await sql`INSERT INTO logs ${sql(values)}`;
          return result.count;
        }),
      );
      const label = `log ingestion, ${BATCH}-line batches, ${senders} sender${senders === 1 ? '' : 's'}`;
      const note = 'the same rows as one multi-row INSERT per batch into the same logs table, from postgres.js';
      rows.push(row(label, viaApi.result.perSecond, 'lines/s', viaRaw.result.perSecond, note));
      const cpu = backendCpuRow(label, 'ms/1,000 lines', 1000, viaApi, viaRaw, note);
      if (cpu) rows.push(cpu);
    }
    return rows;
  } finally {
    await apiCpu.close();
    await baseline.close();
    await worker.close();
    await api.close();
  }
}
