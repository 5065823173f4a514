import { UsageMonth } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { booleanOption, type OptionValues, stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { organisationTokenApi } from '../organisation-token.js';
import { json, table } from '../output.js';

/** 1234567 → `1,234,567`. */
const count = (n: number) => n.toLocaleString('en-US');

/** Bytes in the largest unit that keeps a whole number in front: `1.5 MB`. */
export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as hours and minutes: `3h 05m`, `12m 30s`, `45.2s`. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

function month(values: OptionValues, name: 'from' | 'to'): string | undefined {
  const value = stringOption(values, name);
  if (value !== undefined && !UsageMonth.safeParse(value).success) {
    throw new UsageError(`--${name} takes a month as YYYY-MM; got ${value}`);
  }
  return value;
}

export const usage: Command = {
  name: 'usage',
  summary: 'Show what each workspace of an organisation used per month: runs, task runs, compute, logs, events, metadata',
  options: {
    organisation: {
      type: 'string',
      placeholder: '<slug>',
      description: 'the organisation, read with the organisation token in OUTPOST_ORGANISATION_TOKEN (scope usage:read)',
    },
    from: { type: 'string', placeholder: '<YYYY-MM>', description: 'the first month (default: --to)' },
    to: { type: 'string', placeholder: '<YYYY-MM>', description: 'the last month (default: this month, UTC)' },
    workspace: { type: 'string', placeholder: '<slug>', description: 'only this workspace' },
    csv: { type: 'boolean', description: 'print the CSV export (one line per workspace and month) instead of a table' },
  },
  notes: [
    'Counted as each row is written, so a month keeps its figures after retention drops its logs and events.',
    'Compute is the time runs spent RUNNING on workers; metadata is the bytes of the runs, task runs, log lines',
    'and events the workspace wrote. A range covers at most 24 months.',
  ],
  async run(ctx) {
    const organisation = stringOption(ctx.values, 'organisation');
    if (!organisation) throw new UsageError('name the organisation: --organisation <slug>');
    const query = {
      ...(month(ctx.values, 'from') !== undefined ? { from: month(ctx.values, 'from') } : {}),
      ...(month(ctx.values, 'to') !== undefined ? { to: month(ctx.values, 'to') } : {}),
      ...(stringOption(ctx.values, 'workspace') !== undefined ? { workspace: stringOption(ctx.values, 'workspace') } : {}),
    };
    const api = organisationTokenApi(ctx, 'usage:read');
    if (booleanOption(ctx.values, 'csv')) {
      const search = new URLSearchParams(query as Record<string, string>).toString();
      const path = `/organisations/${encodeURIComponent(organisation)}/usage/export${search ? `?${search}` : ''}`;
      const res = await api.openStream(path, 'cannot read the usage export', new AbortController().signal, 'text/csv');
      const text = await res.text().catch((error: Error) => {
        throw new CliError(`the usage export was cut off (${error.message}): run the command again`, EXIT.unreachable);
      });
      ctx.out(text.replace(/\r\n$/, '').replaceAll('\r\n', '\n'));
      return EXIT.ok;
    }
    const answer = await api.call('organisationUsage', { params: { org: organisation }, query }, 'cannot read the usage');
    if (ctx.json) {
      ctx.out(json(answer));
      return EXIT.ok;
    }
    const rows = answer.items.map((u) => [
      u.month,
      u.workspace,
      count(u.runs),
      count(u.taskRuns),
      duration(u.computeSeconds),
      count(u.logLines),
      bytes(u.logBytes),
      count(u.events),
      bytes(u.metadataBytes),
    ]);
    const header = ['MONTH', 'WORKSPACE', 'RUNS', 'TASK RUNS', 'COMPUTE', 'LOG LINES', 'LOG BYTES', 'EVENTS', 'METADATA'];
    for (const line of table(header, rows)) ctx.out(line);
    return EXIT.ok;
  },
};
