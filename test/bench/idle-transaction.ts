import { startTestServer } from '@outpost/api/testing';
import postgres from 'postgres';
import { automation, deployment, measure } from './support/automations.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Event stored → run created, through the real automations loop, while another session of the
 * cluster sits idle in a transaction that holds a transaction id (as a `psql` left open would),
 * against the same loop with no such session, in the same run on the same database.
 */
export const timeoutSeconds = 240;

export const notes = `### idle-transaction: what a stray open transaction costs an automation
The ledger readers compare the snapshot of each round with the one stored by the previous round, so
an open transaction holds back only its own events; the baseline is the same loop with no open
transaction elsewhere. (Before, readers stopped below the oldest running transaction: with the
session open, no event fired at all until it ended.)`;

const SAMPLES = 100;

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ automations: { idleMs: 1_000 } });
  const stray = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
  let release: () => void = () => {};
  try {
    const d = await deployment(server, 'idle');
    await automation(server, 'on-idle', 'event.kind == "bench.idle"', 'idle');
    const baseline = await measure(server, 'bench.idle', d, SAMPLES);
    const decided = new Promise<void>((resolve) => {
      release = resolve;
    });
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const tx = stray.begin(async (t) => {
      await t`SELECT pg_current_xact_id()`;
      opened();
      await decided;
    });
    await isOpen;
    // Numbered on from the baseline's, so each sample waits for its own run.
    const withIdle = await measure(server, 'bench.idle', d, SAMPLES, SAMPLES);
    release();
    await tx;
    const note = 'the same loop and event with no transaction open elsewhere, same run';
    return [
      row(
        'event stored → run created, a session idle in a transaction (p50)',
        percentile(withIdle, 50),
        'ms',
        percentile(baseline, 50),
        note,
      ),
      row(
        'event stored → run created, a session idle in a transaction (p99)',
        percentile(withIdle, 99),
        'ms',
        percentile(baseline, 99),
        note,
      ),
    ];
  } finally {
    release();
    await stray.end({ timeout: 1 });
    await server.close();
  }
}
