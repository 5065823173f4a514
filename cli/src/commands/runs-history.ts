import { type Artifact, type ArtifactType, type Open, openValue } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { printList, shortTime, table } from '../output.js';
import { findRun } from '../resolve.js';
import { stateColor } from '../style.js';

export const runsStates: Command = {
  name: 'runs states',
  args: '<run>',
  summary: "A run's state history, oldest first: every state of every attempt, with its message",
  async run(ctx) {
    const api = ctx.api();
    const run = await findRun(api, ctx.positionals[0]!);
    const { items } = await api.call('flowRunsStates', { params: { id: run.id } }, `cannot read the states of run ${run.name}`);
    return printList(ctx, items, ['TIME (UTC)', 'ATTEMPT', 'STATE', 'MESSAGE'], (e) => [
      shortTime(e.state.timestamp),
      String(e.attempt),
      stateColor(
        ctx.color.out,
        e.state.type,
        e.state.name.toUpperCase() === e.state.type ? e.state.type : `${e.state.type} (${e.state.name})`,
      ),
      oneLine(e.state.message ?? '-'),
    ]);
  },
};

export const runsArtifacts: Command = {
  name: 'runs artifacts',
  args: '<run>',
  summary: "A run's artifacts, oldest first; with --key, one artifact in full",
  options: {
    key: { type: 'string', placeholder: '<key>', description: 'print the artifact of this key in full (the latest, if several)' },
  },
  notes: ['Markdown prints as its text, a table as aligned columns, a link as its URL, progress as a percentage.'],
  async run(ctx) {
    const api = ctx.api();
    const run = await findRun(api, ctx.positionals[0]!);
    const { items } = await api.call('artifactsList', { params: { id: run.id } }, `cannot list the artifacts of run ${run.name}`);
    const key = stringOption(ctx.values, 'key');
    if (key !== undefined) {
      const artifact = items.filter((a) => a.key === key).at(-1);
      if (!artifact)
        throw new CliError(`run ${run.name} has no artifact with key "${key}"`, EXIT.failed, [
          items.length ? `keys: ${[...new Set(items.map((a) => a.key))].join(', ')}` : 'it has no artifacts',
        ]);
      return ctx.result(artifact, render(artifact));
    }
    return printList(
      ctx,
      items,
      ['KEY', 'TYPE', 'UPDATED (UTC)', 'CONTENT'],
      (a) => [a.key, a.type, shortTime(a.updatedAt), summary(a)],
      `run ${run.name} has no artifacts`,
    );
  },
};

function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

type Data = Record<string, unknown>;

/** The artifact in one line: what a person would glance at in the dashboard's list. */
function summary(a: Artifact): string {
  const d = (a.data ?? {}) as Data;
  // A newer server's artifact type arrives as it is (docs/versions.md): shown by its name.
  const type: Open<ArtifactType> = openValue(a.type);
  switch (type) {
    case 'markdown':
      return oneLine(String(d.markdown ?? ''), 60);
    case 'table': {
      const rows = Array.isArray(d.rows) ? d.rows.length : 0;
      const columns = Array.isArray(d.columns) ? d.columns.length : 0;
      return `${rows} row${rows === 1 ? '' : 's'} × ${columns} column${columns === 1 ? '' : 's'}`;
    }
    case 'link':
      return String(d.url ?? '');
    case 'progress':
      return `${Math.round(Number(d.progress ?? 0) * 100)}%`;
    default:
      return `(${type})`;
  }
}

function render(a: Artifact): string[] {
  const d = (a.data ?? {}) as Data;
  const head = a.description ? [a.description, ''] : [];
  const type: Open<ArtifactType> = openValue(a.type);
  switch (type) {
    case 'markdown':
      return [...head, ...String(d.markdown ?? '').split('\n')];
    case 'table': {
      const columns = (Array.isArray(d.columns) ? d.columns : []).map(String);
      const rows = (Array.isArray(d.rows) ? d.rows : []).map((r) =>
        (Array.isArray(r) ? r : []).map((c) => (c === null ? '-' : String(c))),
      );
      return [...head, ...table(columns, rows)];
    }
    case 'link':
      return [...head, d.text ? `${String(d.text)}: ${String(d.url)}` : String(d.url)];
    case 'progress':
      return [...head, summary(a)];
    default:
      return [...head, `(a ${type} artifact, which this CLI cannot show: upgrade it to see it)`];
  }
}
