import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmbeddedPostgres, freePort, startEmbeddedPostgres } from '@outpost/api';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { isTerminal } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { buildWorkerFlows } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * The chaos suite: a whole Outpost — a Postgres of its own, two API replicas, three workers over two
 * pools — under a steady load of runs (short, long, failing then retried, 300-task maps, runs fired
 * by an automation per event, a 50-run backfill) while faults are injected one after another: an
 * API replica or a worker SIGKILLed and restarted, Postgres stopped and started, a worker or a
 * replica frozen (SIGSTOP) past its leases. At the end everything is healed and left to settle,
 * and the invariants are checked from the database and the flows' own marks.
 */

const LEASE_SECONDS = 6;
/** The waiting pool's disconnected tolerance: short, so a frozen worker's runs are judged within a run. */
const WAIT_TOLERANCE_SECONDS = 15;
const SETTLE_MS = 240_000;

export interface ChaosOptions {
  /** How long load and faults go on at least. */
  minutes: number;
  /**
   * Faults to inject at least: past `minutes`, faults and load go on until this many happened. A
   * loaded machine heals each fault more slowly, and fits fewer of them into the same minutes.
   */
  minFaults?: number;
  /** Seeds the fault and load choices, so a run can be repeated. */
  seed: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ChaosResult {
  /** Broken invariants, one line each; empty when all held. */
  violations: string[];
  /** The report, as markdown. */
  report: string;
  /** The faults injected, by kind. */
  faults: Record<string, number>;
  /** Runs and events the API acknowledged while faults went on. */
  acknowledged: { runs: number; events: number };
}

/** mulberry32: small, seedable, good enough to choose faults. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fault {
  kind: string;
  at: number;
  heldMs: number;
}

type RunKind = 'short' | 'long' | 'long-wait' | 'flaky' | 'map';

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const rand = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));

  const scratch = mkdtempSync(join(tmpdir(), 'outpost-chaos-'));
  const marks = join(scratch, 'marks');
  const pgDir = join(scratch, 'pg');
  mkdirSync(marks);
  mkdirSync(pgDir);
  // Postgres may run as another user than this process (as root it must); flows write marks as us.
  chmodSync(scratch, 0o755);
  chmodSync(pgDir, 0o755);
  const pgPort = await freePort();
  let database: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: join(pgDir, 'data'), port: pgPort });
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const apiPorts = [await freePort(), await freePort()];
  const apis: Array<ApiProcess | null> = [null, null];
  const apiEnv = { OUTPOST_LEASE_SECONDS: String(LEASE_SECONDS), OUTPOST_LOG_LEVEL: 'warn' };
  const url = (i: number) => `http://127.0.0.1:${apiPorts[i]}`;
  const startApi = async (i: number, first = false) => {
    apis[i] = await startApiProcess(database.url, apiEnv, { expectOwnerKey: first, port: apiPorts[i] as number });
    return apis[i] as ApiProcess;
  };
  const workers: Array<WorkerProcess | null> = [];
  const faults: Fault[] = [];
  const counts = { runs: 0, events: 0, createFailures: 0 };
  const started = Date.now();
  try {
    const ownerKey = (await startApi(0, true)).ownerKey ?? '';
    await startApi(1);
    /** The owner's calls go to whichever replica answers. */
    const owners = [0, 1].map((i) => new OutpostClient({ baseUrl: url(i), token: ownerKey }));
    const call = async <T>(f: (c: OutpostClient) => Promise<T>): Promise<T> => {
      let last: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          return await f(owners[attempt % 2] as OutpostClient);
        } catch (error) {
          last = error;
          await sleep(500);
        }
      }
      throw last;
    };
    const source = await buildWorkerFlows(join(scratch, 'bundle'));
    await call(async (c) => unwrap(await c.call('poolsCreate', { body: { name: 'chaos-retry' } })));
    await call(async (c) =>
      unwrap(
        await c.call('poolsCreate', {
          body: { name: 'chaos-wait', onWorkerSilence: 'wait', disconnectedToleranceSeconds: WAIT_TOLERANCE_SECONDS },
        }),
      ),
    );
    const workerKey = await call(
      async (c) =>
        unwrap(
          await c.call('apiKeysCreate', {
            body: { name: 'chaos-workers', role: 'worker', pools: ['chaos-retry', 'chaos-wait'] },
          }),
        ).key,
    );
    const deploy = async (name: string, flowName: string, pool: string, extra: Record<string, unknown> = {}) =>
      call(
        async (c) =>
          unwrap(
            await c.call('deploymentsUpsert', {
              body: {
                flowName,
                name,
                source,
                entrypoint: 'flows/worker.ts',
                workPool: pool,
                retries: 3,
                retryDelaySeconds: 0,
                ...extra,
              },
            }),
          ).deployment,
      );
    const deployments = {
      retry: await deploy('retry', 'chaos', 'chaos-retry'),
      wait: await deploy('wait', 'chaos', 'chaos-wait'),
      map: await deploy('map', 'fanout', 'chaos-retry'),
      auto: await deploy('auto', 'chaos', 'chaos-retry', { parameters: { marks, lines: 20, ms: 200 } }),
      backfill: await deploy('backfill', 'chaos', 'chaos-retry', {
        parameters: { marks, lines: 20, ms: 300 },
        schedules: [{ slug: 'hourly', cron: '0 * * * *', active: false }],
      }),
    };
    const automation = await call(async (c) =>
      unwrap(
        await c.call('automationsCreate', {
          body: {
            name: 'chaos-ping',
            trigger: { type: 'event', match: 'event.kind == "chaos.ping"' },
            actions: [{ type: 'run-deployment', deployment: 'chaos/auto' }],
          },
        }),
      ),
    );

    // Three workers: two on the retrying pool (one per replica), one on the waiting pool.
    const workerSpecs = [
      { pool: 'chaos-retry', api: 0 },
      { pool: 'chaos-retry', api: 1 },
      { pool: 'chaos-wait', api: 1 },
    ];
    const startWorker = (j: number) => {
      const spec = workerSpecs[j] as (typeof workerSpecs)[number];
      workers[j] = startWorkerProcess(
        ['--pool', spec.pool, '--name', `chaos-${j}`, '--heartbeat-interval', '1s', '--poll-wait', '1s', '--limit', '4'],
        {
          OUTPOST_API_URL: url(spec.api),
          OUTPOST_API_KEY: workerKey,
          HOME: scratch,
          OUTPOST_WORKER_CACHE_DIR: join(scratch, `cache-${j}`),
          OUTPOST_WORKER_SPOOL_DIR: join(scratch, `spool-${j}`),
          OUTPOST_WORKER_LOG_BATCH_INTERVAL: '200ms',
          OUTPOST_WORKER_PRESTART: '0',
          OUTPOST_LOG_LEVEL: 'warn',
        },
      );
    };
    for (let j = 0; j < workerSpecs.length; j++) startWorker(j);

    // The 50-run backfill, five at a time, over 50 hours of the inactive hourly schedule.
    const end = new Date(Date.UTC(2026, 0, 3, 2));
    const backfill = await call(async (c) =>
      unwrap(
        await c.call('backfillsCreate', {
          params: { id: deployments.backfill.id },
          body: { start: new Date(end.getTime() - 50 * 3_600_000).toISOString(), end: end.toISOString(), maxConcurrent: 5 },
        }),
      ),
    );
    log(`backfill ${backfill.id} created; load and faults for ${options.minutes} min`);

    const acknowledged: Array<{ id: string; kind: RunKind; lines: number | null }> = [];
    const events: string[] = [];
    const until = started + options.minutes * 60_000;
    const minFaults = options.minFaults ?? 0;
    const faulting = () => Date.now() < until || faults.length < minFaults;
    let chaosEnded = false;

    const load = (async () => {
      const kinds: RunKind[] = ['short', 'short', 'long', 'long-wait', 'flaky', 'map'];
      let i = 0;
      while (!chaosEnded) {
        i++;
        try {
          if (i % 3 === 0) {
            const { ids } = await owners[i % 2]!.call('eventsEmit', {
              body: { events: [{ kind: 'chaos.ping', payload: { n: i } }] },
            }).then(unwrap);
            events.push(...ids);
          } else {
            const kind = pick(kinds);
            const shape: Record<
              RunKind,
              { deployment: string; parameters: Record<string, string | number>; lines: number | null }
            > = {
              short: { deployment: deployments.retry.id, parameters: { marks, lines: 30, ms: 300 }, lines: 30 },
              long: { deployment: deployments.retry.id, parameters: { marks, lines: 600, ms: 20_000 }, lines: 600 },
              'long-wait': { deployment: deployments.wait.id, parameters: { marks, lines: 600, ms: 20_000 }, lines: 600 },
              flaky: { deployment: deployments.retry.id, parameters: { marks, lines: 30, ms: 300, failAttempts: 1 }, lines: 30 },
              map: { deployment: deployments.map.id, parameters: { n: 300, concurrency: 32 }, lines: null },
            };
            const s = shape[kind];
            const { flowRun } = unwrap(
              await owners[i % 2]!.call('deploymentsCreateRun', {
                params: { id: s.deployment },
                body: { parameters: s.parameters },
              }),
            );
            acknowledged.push({ id: flowRun.id, kind, lines: s.lines });
          }
        } catch {
          // Not acknowledged (the replica or the database is down): the invariants do not count it.
          counts.createFailures++;
        }
        await sleep(1_500);
      }
    })();

    const chaos = (async () => {
      while (faulting()) {
        await sleep(between(4_000, 10_000));
        if (!faulting()) break;
        const kind = pick(['kill-api', 'kill-worker', 'restart-postgres', 'freeze-worker', 'freeze-api'] as const);
        const at = Date.now() - started;
        const heldMs = kind.startsWith('freeze') ? between(LEASE_SECONDS * 1500, LEASE_SECONDS * 3000) : between(1_000, 8_000);
        faults.push({ kind, at, heldMs });
        log(`${Math.round(at / 1000)}s: ${kind} for ${heldMs} ms`);
        try {
          if (kind === 'kill-api') {
            const i = between(0, 1);
            apis[i]?.child.kill('SIGKILL');
            await apis[i]?.exited;
            await sleep(heldMs);
            await startApi(i);
          } else if (kind === 'freeze-api') {
            const i = between(0, 1);
            apis[i]?.child.kill('SIGSTOP');
            await sleep(heldMs);
            apis[i]?.child.kill('SIGCONT');
          } else if (kind === 'kill-worker') {
            const j = between(0, workerSpecs.length - 1);
            workers[j]?.child.kill('SIGKILL');
            await workers[j]?.exited;
            await sleep(heldMs);
            startWorker(j);
          } else if (kind === 'freeze-worker') {
            const j = between(0, workerSpecs.length - 1);
            workers[j]?.child.kill('SIGSTOP');
            await sleep(heldMs);
            workers[j]?.child.kill('SIGCONT');
          } else {
            const dataDir = database.dataDir;
            await database.stop();
            await sleep(heldMs);
            database = await startEmbeddedPostgres({ dataDir, port: pgPort });
          }
        } catch (error) {
          log(`fault ${kind} could not be healed cleanly: ${(error as Error).message}`);
        }
      }
    })().finally(() => {
      chaosEnded = true;
    });
    await Promise.all([load, chaos]);

    // Heal: every replica and worker up, and give the system time to finish what was acknowledged.
    for (const i of [0, 1]) {
      const api = apis[i];
      if (!api || api.child.exitCode !== null || api.child.signalCode !== null) await startApi(i);
    }
    for (let j = 0; j < workerSpecs.length; j++) {
      const w = workers[j];
      if (!w || w.child.exitCode !== null || w.child.signalCode !== null) startWorker(j);
    }
    log(`load over: ${acknowledged.length} runs and ${events.length} events acknowledged; settling`);
    const settleDeadline = Date.now() + SETTLE_MS;
    const ids = () => acknowledged.map((r) => r.id);
    for (;;) {
      const [open] = await sql<{ runs: number; backfill: number; autos: number }[]>`
        SELECT (SELECT count(*)::int FROM flow_runs WHERE id = ANY(${ids()}::uuid[]) AND state_type NOT IN ('COMPLETED','FAILED','CRASHED','CANCELLED')) AS runs,
               (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${backfill.id}
                  AND state_type NOT IN ('COMPLETED','FAILED','CRASHED','CANCELLED')) AS backfill,
               (SELECT count(*)::int FROM flow_runs WHERE deployment_id = ${deployments.auto.id}
                  AND state_type NOT IN ('COMPLETED','FAILED','CRASHED','CANCELLED')) AS autos`.catch(() => [
        { runs: 1, backfill: 1, autos: 1 },
      ]);
      const [fired] = await sql<{ n: number }[]>`
        SELECT count(DISTINCT e)::int AS n FROM automation_firings f, unnest(f.event_ids) e WHERE f.automation_id = ${automation.id}`.catch(
        () => [{ n: -1 }],
      );
      const [bf] = await sql<{ status: string }[]>`SELECT status FROM backfills WHERE id = ${backfill.id}`.catch(() => []);
      const spooled = workerSpecs.some((_, j) => {
        try {
          return readdirSync(join(scratch, `spool-${j}`)).some((f) => f.endsWith('.ndjson'));
        } catch {
          return false;
        }
      });
      if (
        !spooled &&
        open?.runs === 0 &&
        open.backfill === 0 &&
        open.autos === 0 &&
        fired?.n === events.length &&
        (bf?.status === 'COMPLETED' || bf?.status === 'FAILED')
      )
        break;
      if (Date.now() > settleDeadline) break;
      await sleep(1_000);
    }

    const violations = await checkInvariants(sql, {
      runs: acknowledged,
      events,
      automationId: automation.id,
      autoDeploymentId: deployments.auto.id,
      backfillId: backfill.id,
      marks,
    });
    counts.runs = acknowledged.length;
    counts.events = events.length;
    const states = await sql<{ state_type: string; n: number }[]>`
      SELECT state_type, count(*)::int AS n FROM flow_runs GROUP BY state_type ORDER BY state_type`;
    const [attempts] = await sql<{ retried: number; max: number }[]>`
      SELECT count(*) FILTER (WHERE attempt > 1)::int AS retried, coalesce(max(attempt), 0)::int AS max FROM flow_runs`;
    const [lines] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs`;
    const report = renderReport({
      options,
      durationMs: Date.now() - started,
      faults,
      counts,
      states,
      retried: attempts?.retried ?? 0,
      maxAttempt: attempts?.max ?? 0,
      logLines: lines?.n ?? 0,
      violations,
    });
    for (const c of owners) await c.close();
    const byKind: Record<string, number> = {};
    for (const f of faults) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    return { violations, report, faults: byKind, acknowledged: { runs: acknowledged.length, events: events.length } };
  } finally {
    for (const w of workers) {
      w?.child.kill('SIGCONT');
      await w?.stop(10_000);
    }
    for (const api of apis) {
      api?.child.kill('SIGCONT');
      await api?.stop(10_000);
    }
    await sql.end({ timeout: 5 });
    await database.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface CheckInput {
  runs: Array<{ id: string; kind: RunKind; lines: number | null }>;
  events: string[];
  automationId: string;
  autoDeploymentId: string;
  backfillId: string;
  marks: string;
}

/** Every invariant the suite promises, each broken one as a line. */
export async function checkInvariants(sql: postgres.Sql, input: CheckInput): Promise<string[]> {
  const violations: string[] = [];
  // 1. No attempt executed by two processes: each flow process marks `<run>.<attempt>.<pid>` first.
  const pids = new Map<string, Set<string>>();
  for (const name of readdirSync(input.marks)) {
    const [run, attempt, pid] = name.split('.');
    const key = `${run} attempt ${attempt}`;
    const set = pids.get(key) ?? new Set<string>();
    set.add(pid as string);
    pids.set(key, set);
  }
  for (const [key, set] of pids) if (set.size > 1) violations.push(`run ${key} was executed by ${set.size} processes`);

  // 2. Every acknowledged run ended (the suite's flows never wait on anything).
  const ids = input.runs.map((r) => r.id);
  const rows = await sql<{ id: string; state_type: string; attempt: number }[]>`
    SELECT id, state_type, attempt FROM flow_runs WHERE id = ANY(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const run of input.runs) {
    const row = byId.get(run.id);
    if (!row) violations.push(`acknowledged run ${run.id} (${run.kind}) is missing`);
    else if (!isTerminal(row.state_type as never)) violations.push(`run ${run.id} (${run.kind}) is still ${row.state_type}`);
  }

  // 3. Log lines: none stored twice in any attempt; a COMPLETED run's last attempt has every line.
  const dupes = await sql<{ flow_run_id: string; attempt: number; message: string; n: number }[]>`
    SELECT flow_run_id, attempt, message, count(*)::int AS n FROM logs
    WHERE message LIKE 'chaos %' GROUP BY flow_run_id, attempt, message HAVING count(*) > 1 LIMIT 20`;
  for (const d of dupes) violations.push(`run ${d.flow_run_id} attempt ${d.attempt} stored "${d.message}" ${d.n} times`);
  const complete = await sql<{ id: string; attempt: number; kind_lines: number; stored: number[] }[]>`
    SELECT r.id, r.attempt, (r.parameters->>'lines')::int AS kind_lines,
           ARRAY(SELECT DISTINCT split_part(substr(l.message, 7), '/', 1)::int FROM logs l
                 WHERE l.flow_run_id = r.id AND l.attempt = r.attempt AND l.message LIKE 'chaos %') AS stored
    FROM flow_runs r
    WHERE r.state_type = 'COMPLETED' AND r.parameters ? 'lines'`;
  for (const c of complete) {
    const stored = new Set(c.stored);
    const missing = Array.from({ length: c.kind_lines }, (_, i) => i + 1).filter((n) => !stored.has(n));
    if (missing.length > 0) {
      // The stored seqs say whether a numbered line went missing in transit (a gap) or was never sent.
      const seqs = await sql<{ seq: number; message: string }[]>`
        SELECT seq, message FROM logs WHERE flow_run_id = ${c.id} AND attempt = ${c.attempt} ORDER BY seq`;
      const gaps = seqs.filter((r, i) => i > 0 && r.seq !== (seqs[i - 1]?.seq ?? 0) + 1).map((r) => r.seq);
      violations.push(
        `completed run ${c.id} (attempt ${c.attempt}) is missing ${missing.length} of its ${c.kind_lines} lines: ${missing.slice(0, 10).join(', ')}; stored seqs ${seqs[0]?.seq}..${seqs.at(-1)?.seq} (${seqs.length} lines, gaps before ${gaps.join(', ') || 'none'}), first: ${seqs
          .slice(0, 3)
          .map((r) => JSON.stringify(r.message.slice(0, 80)))
          .join(' | ')}`,
      );
    }
  }

  // 4. The automation fired exactly once per acknowledged event, and each firing made one run.
  const fired = await sql<{ event: string; n: number }[]>`
    SELECT e::text AS event, count(*)::int AS n FROM automation_firings f, unnest(f.event_ids) e
    WHERE f.automation_id = ${input.automationId} GROUP BY e`;
  const firedBy = new Map(fired.map((f) => [f.event, f.n]));
  for (const event of input.events) {
    const n = firedBy.get(event) ?? 0;
    if (n !== 1) violations.push(`event ${event} fired the automation ${n} times`);
  }
  const [autoRuns] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${input.autoDeploymentId}`;
  if ((autoRuns?.n ?? 0) !== fired.length)
    violations.push(`${fired.length} firings of the automation made ${autoRuns?.n ?? 0} runs`);

  // 5. The backfill ran each of its 50 hours exactly once, and finished.
  const hours = await sql<{ t: Date; n: number }[]>`
    SELECT scheduled_time AS t, count(*)::int AS n FROM flow_runs WHERE backfill_id = ${input.backfillId}
    GROUP BY scheduled_time`;
  if (hours.length !== 50) violations.push(`the backfill made runs for ${hours.length} of its 50 hours`);
  for (const h of hours) if (h.n !== 1) violations.push(`the backfill ran hour ${h.t.toISOString()} ${h.n} times`);
  const [bf] = await sql<{ status: string }[]>`SELECT status FROM backfills WHERE id = ${input.backfillId}`;
  // FAILED only if a run spent all its retries, which the run states above then show.
  if (bf?.status !== 'COMPLETED' && bf?.status !== 'FAILED')
    violations.push(`the backfill is ${bf?.status ?? 'missing'}, not finished`);
  return violations;
}

function renderReport(r: {
  options: ChaosOptions;
  durationMs: number;
  faults: Fault[];
  counts: { runs: number; events: number; createFailures: number };
  states: Array<{ state_type: string; n: number }>;
  retried: number;
  maxAttempt: number;
  logLines: number;
  violations: string[];
}): string {
  const byKind = new Map<string, number>();
  for (const f of r.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  const lines = [
    `# Chaos run: ${r.options.minutes} min of faults, seed ${r.options.seed}`,
    '',
    `Outcome: **${r.violations.length === 0 ? 'every invariant held' : `${r.violations.length} violation(s)`}**, in ${Math.round(r.durationMs / 1000)} s including the settle.`,
    '',
    'Setup: a Postgres of its own, two API replicas (lease 6 s, grace 6 s), three workers: two on a',
    `\`retry\` pool (one per replica), one on a \`wait\` pool (tolerance ${WAIT_TOLERANCE_SECONDS} s). Load every 1.5 s: a run`,
    '(short, long on either pool, failing once then retried, a 300-task map) or a `chaos.ping` event',
    'an automation turns into a run; and one 50-run backfill, five at a time.',
    '',
    '## Faults',
    '',
    '| fault | times |',
    '| --- | --- |',
    ...[...byKind].map(([k, n]) => `| ${k} | ${n} |`),
    '',
    '## Load',
    '',
    `- runs acknowledged: ${r.counts.runs}; events acknowledged: ${r.counts.events}; calls not acknowledged (a replica or the database down): ${r.counts.createFailures}`,
    `- runs by final state: ${r.states.map((s) => `${s.state_type} ${s.n}`).join(', ')}`,
    `- runs retried at least once: ${r.retried}; highest attempt: ${r.maxAttempt}; log lines stored: ${r.logLines}`,
    '',
    '## Invariants',
    '',
    '1. no run attempt executed by two processes (each flow process marks run, attempt and pid first);',
    '2. every acknowledged run terminal after the settle;',
    "3. no log line stored twice in an attempt, and a COMPLETED run's last attempt holds every line;",
    '4. the automation fired exactly once per acknowledged event, one run per firing;',
    '5. the backfill ran each of its 50 hours exactly once and finished.',
    '',
    r.violations.length === 0 ? 'All held.' : ['Violations:', '', ...r.violations.map((v) => `- ${v}`)].join('\n'),
    '',
    '## Fault log',
    '',
    ...r.faults.map((f) => `- ${Math.round(f.at / 1000)} s: ${f.kind}, ${f.heldMs} ms`),
    '',
  ];
  return lines.join('\n');
}
