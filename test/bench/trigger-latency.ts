import { startTestServer } from '@outpost/api/testing';
import { automation, deployment, emit, measure } from './support/automations.js';
import { percentile, type Row, row } from './support/row.js';

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

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ automations: { idleMs: 1_000 } });
  try {
    const one = await deployment(server, 'one');
    await automation(server, 'only', 'event.kind == "bench.one"', 'one');
    const baseline = await measure(server, 'bench.one', one, SAMPLES);

    const many = await deployment(server, 'many');
    for (let i = 0; i < AUTOMATIONS - 1; i++) {
      await automation(server, `other-${i}`, `event.kind == "bench.other-${i}" && event.payload.i > 0`, 'many');
    }
    await automation(server, 'matching', 'event.kind == "bench.many"', 'many');
    // The first round compiles the 1,000 programs; measured samples start after it.
    await emit(server, 'bench.warm', {});
    const loaded = await measure(server, 'bench.many', many, SAMPLES);
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
