import { type FlowRunAttempt, shortCodeDigest } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { shortTime, table } from '../output.js';
import { findRun } from '../resolve.js';

export const runsAttempts: Command = {
  name: 'runs attempts',
  args: '<run>',
  summary: "List a run's attempts (by name or id): the worker that ran each, when, how it ended and the code it ran",
  notes: ['With --json, the attempts as one JSON array.'],
  async run(ctx) {
    const api = ctx.api();
    const { id } = await findRun(api, ctx.positionals[0]!);
    const { items } = await api.call('flowRunsAttempts', { params: { id } }, `cannot list the attempts of run ${id}`);
    return ctx.result(items, attemptsTable(items));
  },
};

/** One row per attempt; `-` where it has not happened (yet). */
export function attemptsTable(items: readonly FlowRunAttempt[]): string[] {
  if (items.length === 0) return ['no attempt yet: no worker has claimed this run'];
  const rows = items.map((a) => [
    String(a.attempt),
    a.workerName ?? a.workerId,
    shortTime(a.claimedAt),
    shortTime(a.startedAt),
    duration(a),
    a.state ? `${a.state.type}${a.state.name.toUpperCase() === a.state.type ? '' : ` (${a.state.name})`}` : 'running',
    a.exitCode === null ? '-' : String(a.exitCode),
    a.sourceDigest ? shortCodeDigest(a.sourceDigest) : '-',
  ]);
  return table(['ATTEMPT', 'WORKER', 'CLAIMED (UTC)', 'STARTED', 'DURATION', 'ENDED AS', 'EXIT', 'CODE'], rows);
}

function duration(a: FlowRunAttempt): string {
  if (!a.startedAt || !a.endedAt) return '-';
  const ms = Date.parse(a.endedAt) - Date.parse(a.startedAt);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
